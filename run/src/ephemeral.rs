//! One-off containers over a snapshot the caller prepared and owns (a build's `RUN` step):
//! no record, no monitor; the rootfs is mounted for the run and the bundle removed after it.

use std::fs;
use std::path::Path;

use berth_image_store::snapshot::Snapshot;
use oci_spec::image::ImageConfiguration;

use crate::error::{Result, RunError};
use crate::names::new_id;
use crate::runtime::{ContainerStdio, ExternalRuntime, OciRuntime};
use crate::spec::{generate, RunOptions, SpecInput};
use crate::supervise::{become_subreaper, wait_child};

/// What an ephemeral run needs besides the snapshot.
pub struct Ephemeral<'a> {
    /// The image config (env, user, working dir, entrypoint/cmd defaults).
    pub image: &'a ImageConfiguration,
    /// The step's options (command, env, user, mounts, network…); `terminal` is refused.
    pub options: &'a RunOptions,
    /// `runc`, `crun`, a path, or `None` for the default.
    pub runtime: Option<&'a str>,
    /// The run root (bundles go to `<runroot>/containers/<id>/`).
    pub runroot: &'a Path,
}

/// Run a command in a container over `snapshot` and wait for it; returns its exit code
/// (`None` when it could not be observed). The snapshot stays; its mount is released.
pub fn run_ephemeral(
    snapshot: &Snapshot,
    run: &Ephemeral<'_>,
    stdio: ContainerStdio,
) -> Result<Option<i32>> {
    if run.options.terminal {
        return Err(RunError::Invalid(
            "an ephemeral container has no terminal".to_string(),
        ));
    }
    if crate::rootless::is_rootless() && !crate::rootless::in_user_namespace() {
        return Err(RunError::FailedPrecondition(
            "a container as a plain user runs in berth's user namespace: run the command \
             inside `berth unshare` (for example `berth unshare berth build …`)"
                .to_string(),
        ));
    }
    let id = new_id()?;
    let rt = ExternalRuntime::resolve(run.runtime, run.runroot)?;
    let mut guards = Vec::new();
    for m in &snapshot.mounts {
        guards.push(m.mount(&snapshot.mountpoint)?);
    }
    let mut spec = generate(
        &SpecInput {
            id: &id,
            image: run.image,
            rootfs: &snapshot.mountpoint,
        },
        run.options,
    )?;
    crate::rootfs::prepare_mounts(&snapshot.mountpoint, &mut spec)?;
    let bundle = run.runroot.join("containers").join(&id);
    crate::bundle::create_dir(&bundle)?;
    let result = (|| {
        // Held until the runtime's create has joined it.
        let netns = crate::netns::prepare(&mut spec, &bundle)?;
        crate::bundle::write_json(&bundle.join("config.json"), &spec)?;
        become_subreaper();
        let pid = rt.create(&id, &bundle, stdio, None)?;
        drop(netns);
        if let Err(e) = rt.start(&id) {
            // SAFETY: kill(2) on the pid the runtime just created.
            unsafe {
                libc::kill(pid as i32, libc::SIGKILL);
            }
            let _ = wait_child(pid);
            return Err(e);
        }
        Ok(wait_child(pid))
    })();
    let _ = rt.delete(&id, true);
    let _ = fs::remove_dir_all(&bundle);
    drop(guards);
    result
}
