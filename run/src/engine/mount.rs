//! `mount`/`umount` of containers: the rootfs mounted for the user, with a mount count as
//! Podman keeps one (c/storage's, in its run root): each `mount` adds one, each `umount`
//! takes one, the last unmounts (`umount -f`: all at once). A running container's rootfs
//! stays mounted whatever the count; a stopped one's stays while the count is above zero
//! ([`Engine::release`] asks [`Engine::user_mounts`]). The count lives in the container's
//! bundle dir (`mount-count`, under the run root: gone at reboot like the mounts it counts),
//! changed under `mount.lock` beside it.

use std::fs;
use std::path::PathBuf;

use berth_image_store::lock::{FileLock, LockMode};
use berth_image_store::mount::{is_mounted, unmount};

use crate::container::{Container, State};
use crate::error::{Result, RunError};

use super::Engine;

impl Engine<'_> {
    fn mount_count_path(&self, c: &Container) -> PathBuf {
        self.bundle_dir(&c.id).join("mount-count")
    }

    fn mount_lock(&self, c: &Container) -> Result<FileLock> {
        let dir = self.bundle_dir(&c.id);
        crate::bundle::create_dir(&dir)?;
        let path = dir.join("mount.lock");
        FileLock::acquire(&path, LockMode::Exclusive).map_err(|e| RunError::io(&path, e))
    }

    /// How many `mount`s of `c` no `umount` has undone yet.
    pub fn user_mounts(&self, c: &Container) -> u32 {
        fs::read_to_string(self.mount_count_path(c))
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0)
    }

    fn set_user_mounts(&self, c: &Container, n: u32) -> Result<()> {
        let path = self.mount_count_path(c);
        if n == 0 {
            return match fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(RunError::io(&path, e)),
                _ => Ok(()),
            };
        }
        berth_layers::atomic_file::write_atomically(&path, format!("{n}\n").as_bytes(), 0o600)
            .map_err(|e| RunError::io(&path, e))
    }

    /// `mount C`: mount `c`'s rootfs (if not already) and count one mount more; its path.
    pub fn mount_container(&self, c: &Container) -> Result<PathBuf> {
        let _lock = self.mount_lock(c)?;
        let path = self.mount_rootfs(c)?;
        self.set_user_mounts(c, self.user_mounts(c) + 1)?;
        Ok(path)
    }

    /// `umount C`: count one mount less (`force`: none left); at none, unmount the rootfs
    /// unless the container runs.
    pub fn unmount_container(&self, c: &Container, force: bool) -> Result<()> {
        let _lock = self.mount_lock(c)?;
        let left = if force {
            0
        } else {
            self.user_mounts(c).saturating_sub(1)
        };
        self.set_user_mounts(c, left)?;
        let now = self.get(&c.id)?;
        if left == 0 && now.state != State::Running {
            let snap = self.container_snapshot(c)?;
            while is_mounted(&snap.mountpoint) {
                unmount(&snap.mountpoint)?;
            }
        }
        Ok(())
    }

    /// Containers whose rootfs is mounted (running ones too, as Podman lists them), with
    /// the mount point.
    pub fn mounted_containers(&self) -> Result<Vec<(Container, PathBuf)>> {
        let mut out = Vec::new();
        for c in self.list()? {
            let Ok(snap) = self.container_snapshot(&c) else {
                continue;
            };
            if is_mounted(&snap.mountpoint) {
                out.push((c, snap.mountpoint));
            }
        }
        Ok(out)
    }
}
