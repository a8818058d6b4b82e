//! `build --platform linux/amd64,linux/arm64 --manifest NAME` (issue 18 item 3): the
//! platforms of a build, and the images built for them added to a local manifest list
//! (`berth manifest`'s library: `berth_registry::manifest_list`), pushed with
//! `manifest push --all`.

use anyhow::{bail, Context as _, Result};
use berth_image_store::{ImageRecord, Store};
use berth_registry::manifest_list::{self, AddOptions, Lists};
use berth_registry::platform::Platform;

/// The platforms `--platform` (comma-separated), `--os`, `--arch`, `--variant` name: one
/// build each. More than one needs `--manifest` to gather them.
pub fn platforms(
    platform: Option<&str>,
    os: Option<&str>,
    arch: Option<&str>,
    variant: Option<&str>,
    manifest: Option<&str>,
) -> Result<Vec<Platform>> {
    let specs: Vec<Option<&str>> = match platform {
        Some(list) if list.contains(',') => list.split(',').map(Some).collect(),
        one => vec![one],
    };
    if specs.len() > 1 && manifest.is_none() {
        bail!(
            "--platform {:?}: more than one platform needs --manifest NAME",
            platform.unwrap_or_default()
        );
    }
    let mut out: Vec<Platform> = Vec::new();
    for spec in specs {
        let p = Platform::choose(spec, os, arch, variant)?;
        if out.contains(&p) {
            bail!(
                "--platform {:?}: {} is named twice",
                platform.unwrap_or_default(),
                berth_build::platform::describe(&p)
            );
        }
        out.push(p);
    }
    Ok(out)
}

/// Add the images built (one per platform) to the local manifest list `name`, made if
/// missing (as Buildah's `--manifest`); an instance of the same platform already there is
/// replaced, so a rebuild does not grow the list.
pub fn add_to_list(store: &Store, name: &str, images: &[ImageRecord]) -> Result<()> {
    let lists = Lists::new(store)?;
    let _lock = lists.lock()?;
    let mut list = lists
        .create(name, true)
        .with_context(|| format!("creating manifest list {name}"))?;
    let opts = AddOptions {
        connect: Default::default(),
        all: false,
        platform: Platform::host(),
    };
    for image in images {
        let id = image.id.to_string();
        for (desc, src) in manifest_list::describe(store, &id, &opts)
            .with_context(|| format!("adding {id} to manifest list {name}"))?
        {
            let same_platform: Vec<_> = list
                .index
                .manifests()
                .iter()
                .filter(|m| m.platform() == desc.platform())
                .map(|m| m.digest().clone())
                .collect();
            for digest in same_platform {
                list.remove(&digest)?;
            }
            list.add(desc, Some(src));
        }
    }
    lists.save(&list)?;
    Ok(())
}
