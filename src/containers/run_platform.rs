//! `run`/`create --platform|--arch|--os|--variant` (issue 18 item 3), as Podman: the
//! platform's instance of a list is pulled, a local image of another platform is pulled again
//! for the asked one, and a foreign platform needs its emulator as `build --platform` does.

use anyhow::Result;
use berth_image_store::{Store, StoreError};
use berth_registry::platform::Platform;
use berth_registry::pull_policy::PullPolicy;

// The platform flags of `run` and `create` (a plain comment: a doc comment would become
// the commands' about text through `flatten`).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct PlatformArgs {
    /// Platform of the image to pull and run (default: the host's): OS/ARCH[/VARIANT].
    #[arg(long, value_name = "OS/ARCH[/VARIANT]")]
    pub platform: Option<String>,
    /// Architecture of the image (overrides --platform's).
    #[arg(long, value_name = "ARCH")]
    pub arch: Option<String>,
    /// Operating system of the image (overrides --platform's).
    #[arg(long, value_name = "OS")]
    pub os: Option<String>,
    /// Architecture variant of the image (overrides --platform's).
    #[arg(long, value_name = "VARIANT")]
    pub variant: Option<String>,
}

impl PlatformArgs {
    /// Whether the host runs the asked platform: checked before entering berth's rootless user
    /// namespace, whose /proc hides binfmt_misc.
    pub fn check_before_entering(&self) -> Result<()> {
        if !self.asked() {
            return Ok(());
        }
        let platform = Platform::choose(
            self.platform.as_deref(),
            self.os.as_deref(),
            self.arch.as_deref(),
            self.variant.as_deref(),
        )?;
        if berth_build::platform::is_foreign(&platform) {
            berth_build::platform::check_runnable(&platform, berth_build::platform::BINFMT_DIR)
                .map_err(anyhow::Error::msg)?;
        }
        Ok(())
    }

    fn asked(&self) -> bool {
        self.platform.is_some()
            || self.arch.is_some()
            || self.os.is_some()
            || self.variant.is_some()
    }
}

/// The platform to pull, and the pull policy once a local image of another platform is taken
/// into account: `always` for it (Podman pulls the asked platform's), an error with `never`.
pub fn choose(
    store: &Store,
    image: &str,
    policy: PullPolicy,
    args: &PlatformArgs,
) -> Result<(Platform, PullPolicy)> {
    let platform = Platform::choose(
        args.platform.as_deref(),
        args.os.as_deref(),
        args.arch.as_deref(),
        args.variant.as_deref(),
    )?;
    if !args.asked() {
        return Ok((platform, policy));
    }
    if berth_build::platform::is_foreign(&platform) {
        berth_build::platform::check_here(&platform).map_err(anyhow::Error::msg)?;
    }
    let local = match store.lookup_image(image) {
        Ok(record) => record,
        Err(StoreError::NotFound(_)) => return Ok((platform, policy)),
        Err(e) => return Err(e.into()),
    };
    let have = berth_build::platform::of_config(&store.image_config(&local)?);
    if berth_build::platform::same(&have, &platform) {
        return Ok((platform, policy));
    }
    if policy == PullPolicy::Never {
        anyhow::bail!(
            "image {image:?} is {}, not the platform {} asked for, and --pull=never",
            berth_build::platform::describe(&have),
            berth_build::platform::describe(&platform)
        );
    }
    Ok((platform, PullPolicy::Always))
}
