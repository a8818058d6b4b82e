//! The pods' infra image: `localhost/berth-pause:VERSION`, made locally on first use from the
//! host's static catatonit (Debian's `catatonit` package), as Podman 4.3 builds
//! `localhost/podman-pause` — never pulled. One layer holding `/catatonit`, the entrypoint
//! `/catatonit -P` (catatonit's pause mode: it waits, reaping, until signalled).

use std::path::PathBuf;

use berth_image_store::import::{import_binary, ImportOptions};
use berth_image_store::{Store, StoreError};

use crate::error::{Result, RunError};

/// Where catatonit is looked for on the host (Debian's package, and Podman's link to it).
const CATATONIT: &[&str] = &["/usr/bin/catatonit", "/usr/libexec/podman/catatonit"];

/// The infra image's name for this berth.
pub fn infra_image_name() -> String {
    format!("localhost/berth-pause:{}", env!("CARGO_PKG_VERSION"))
}

/// The host's catatonit.
fn catatonit() -> Result<PathBuf> {
    CATATONIT
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .ok_or_else(|| {
            RunError::FailedPrecondition(
                "a pod's infra container needs catatonit on the host (Debian: apt-get install \
                 catatonit), or --infra-image, or --no-infra"
                    .to_string(),
            )
        })
}

/// The infra image's name, made in `store` from the host's catatonit if it is not there.
pub fn ensure_infra_image(store: &Store) -> Result<String> {
    let name = infra_image_name();
    match store.lookup_image(&name) {
        Ok(_) => return Ok(name),
        Err(StoreError::NotFound(_)) => {}
        Err(e) => return Err(e.into()),
    }
    let options = ImportOptions {
        name: Some(name.clone()),
        changes: vec![r#"ENTRYPOINT ["/catatonit","-P"]"#.to_string()],
        message: Some("berth pod infra image (catatonit)".to_string()),
        ..ImportOptions::default()
    };
    import_binary(store, &catatonit()?, "/catatonit", &options)?;
    Ok(name)
}
