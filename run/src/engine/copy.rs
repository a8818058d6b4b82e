//! A container's root file system opened for `cp` ([`crate::cp`]): the running container's
//! own mount namespace through its init's `/proc/PID/root`, or its snapshot and volumes
//! mounted for the copy.

use std::path::PathBuf;

use pathrs::Root;

use crate::container::{Container, State};
use crate::cp::error::perr;
use crate::cp::stopped;
use crate::error::{Result, RunError};
use crate::process::alive;

use super::Engine;

/// A container's root opened for a copy; unmounts on drop what it mounted.
pub struct ContainerRoot {
    pub root: Root,
    /// The container's process user (uid, gid), the owner of files copied in.
    pub user: (u32, u32),
    _guards: Vec<berth_image_store::mount::MountGuard>,
    /// A stopped container's copy lock.
    _lock: Option<berth_image_store::lock::FileLock>,
}

impl Engine<'_> {
    /// Open `c`'s root filesystem for `cp`: the running container's mount, or the snapshot
    /// mounted for the copy.
    ///
    /// A running container is seen through its init's `/proc/<pid>/root`: the root of its
    /// own mount namespace, so paths under its volumes, tmpfs and bind mounts reach them (as
    /// Podman copies in the container's mount namespace). A stopped container's snapshot and
    /// volumes are mounted in this process's private mount namespace, one copy at a time (else,
    /// without a private namespace, its snapshot alone on the shared mount point).
    pub fn copy_root(&self, c: &Container) -> Result<ContainerRoot> {
        let spec = c.spec.get()?;
        let user = spec
            .process()
            .as_ref()
            .map(|p| (p.user().uid(), p.user().gid()))
            .unwrap_or((0, 0));
        let c = self.refresh(c.clone())?;
        if let (State::Running, Some(pid)) = (c.state, c.pid) {
            let proc_root = PathBuf::from(format!("/proc/{pid}/root"));
            // A magic link, which pathrs will not follow: open it directly.
            let opened = rustix::fs::open(
                &proc_root,
                rustix::fs::OFlags::PATH
                    | rustix::fs::OFlags::DIRECTORY
                    | rustix::fs::OFlags::CLOEXEC,
                rustix::fs::Mode::empty(),
            );
            tracing::debug!(
                target: "berth_run::cp",
                container = %c.id,
                ok = opened.is_ok(),
                "cp through /proc/{pid}/root",
            );
            if let Ok(fd) = opened {
                let root = Root::from_fd(fd);
                // Opened before checking: a reused pid cannot slip in between.
                if alive(c.pid, c.pid_start) {
                    return Ok(ContainerRoot {
                        root,
                        user,
                        _guards: Vec::new(),
                        _lock: None,
                    });
                }
            }
        }
        let snap = self.container_snapshot(&c)?;
        let lock = stopped::lock(&self.bundle_dir(&c.id))?;
        let private = stopped::private_mounts();
        let mut guards = Vec::new();
        if !berth_image_store::mount::is_mounted(&snap.mountpoint) {
            // As the container's own mount: a volatile one's leftover marker is cleared first.
            guards = berth_image_store::volatile::mount_all(&snap, c.auto_remove)?;
        }
        if private {
            stopped::mount_binds(&snap.mountpoint, spec)?;
            // The namespace ends with this process, and its mounts with it.
            guards.into_iter().for_each(|g| {
                g.leak();
            });
            guards = Vec::new();
        }
        let root = Root::open(&snap.mountpoint)
            .map_err(|e| RunError::from(perr(&snap.mountpoint, "open", e)))?;
        Ok(ContainerRoot {
            root,
            user,
            _guards: guards,
            _lock: Some(lock),
        })
    }
}
