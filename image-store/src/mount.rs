//! Mounts as plain data, and a guard that unmounts on drop.

use std::path::{Path, PathBuf};

use crate::error::Result;

/// A mount, as containerd models it: `mount -t <kind> -o <options> <source> <target>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// File system type: `overlay` or `bind`.
    pub kind: String,
    /// Source (`overlay`, or a host path for bind).
    pub source: String,
    /// Options, e.g. `lowerdir=a:b`, `upperdir=…`, `workdir=…`, `ro`.
    pub options: Vec<String>,
}

impl Mount {
    /// Mount at `target`; the returned guard unmounts when dropped.
    pub fn mount(&self, target: &Path) -> Result<MountGuard> {
        let _ = target;
        todo!()
    }
}

/// Unmounts its target on drop (lazily if busy).
pub struct MountGuard {
    target: PathBuf,
    active: bool,
}

impl MountGuard {
    /// The mount point.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Keep the mount after the guard is dropped (used by `berth image mount`).
    pub fn leak(mut self) -> PathBuf {
        self.active = false;
        self.target.clone()
    }
}

impl Drop for MountGuard {
    fn drop(&mut self) {
        if self.active {
            let _ = rustix::mount::unmount(&self.target, rustix::mount::UnmountFlags::DETACH);
        }
    }
}
