//! Mounts as plain data, and a guard that unmounts on drop.

use std::io;
use std::path::{Path, PathBuf};

use rustix::mount::{MountFlags, UnmountFlags};

use crate::error::{Result, StoreError};

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
    /// An overlay over `lowers` (top first) with an upper and work dir.
    pub fn overlay(lowers: &[PathBuf], upper: &Path, work: &Path) -> Mount {
        let mut options = vec![format!("lowerdir={}", join_lowers(lowers))];
        options.push(format!("upperdir={}", upper.display()));
        options.push(format!("workdir={}", work.display()));
        // Overlay's trusted.* xattrs need root in the initial user namespace.
        if !crate::store::is_host_root() {
            options.push("userxattr".to_string());
        }
        Mount {
            kind: "overlay".to_string(),
            source: "overlay".to_string(),
            options,
        }
    }

    /// A read-only overlay of `lowers` alone (top first; the kernel wants at least two).
    pub fn overlay_ro(lowers: &[PathBuf]) -> Mount {
        let mut options = vec![format!("lowerdir={}", join_lowers(lowers))];
        // Overlay's trusted.* xattrs need root in the initial user namespace.
        if !crate::store::is_host_root() {
            options.push("userxattr".to_string());
        }
        options.push("ro".to_string());
        Mount {
            kind: "overlay".to_string(),
            source: "overlay".to_string(),
            options,
        }
    }

    /// A bind mount of `source`, read-only when `readonly`.
    pub fn bind(source: &Path, readonly: bool) -> Mount {
        let mut options = vec!["rbind".to_string()];
        if readonly {
            options.push("ro".to_string());
        }
        Mount {
            kind: "bind".to_string(),
            source: source.display().to_string(),
            options,
        }
    }

    /// Mount at `target`; the returned guard unmounts when dropped.
    pub fn mount(&self, target: &Path) -> Result<MountGuard> {
        let readonly = self.options.iter().any(|o| o == "ro");
        let err = |e: rustix::io::Errno| {
            StoreError::io(
                target,
                io::Error::other(format!(
                    "mount {} {} ({}): {e}",
                    self.kind,
                    self.source,
                    self.options.join(",")
                )),
            )
        };
        match self.kind.as_str() {
            "bind" => {
                rustix::mount::mount_bind_recursive(self.source.as_str(), target).map_err(err)?;
                let guard = MountGuard {
                    target: target.to_path_buf(),
                    active: true,
                };
                if readonly {
                    rustix::mount::mount_remount(target, MountFlags::BIND | MountFlags::RDONLY, "")
                        .map_err(err)?;
                }
                Ok(guard)
            }
            "overlay" => {
                crate::overlay::mount(
                    &self.source,
                    &self.options,
                    target,
                    crate::overlay::Api::Best,
                )?;
                Ok(MountGuard {
                    target: target.to_path_buf(),
                    active: true,
                })
            }
            other => Err(StoreError::Invalid(format!(
                "{}: unknown mount type {other}",
                target.display()
            ))),
        }
    }
}

/// `lowerdir=` value: paths joined by `:` (top first).
fn join_lowers(lowers: &[PathBuf]) -> String {
    lowers
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(":")
}

/// Whether `path` is a mount point (its device differs from its parent's, or it is listed
/// in `/proc/self/mountinfo`).
pub fn is_mounted(path: &Path) -> bool {
    let Ok(info) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return false;
    };
    let want = path.display().to_string();
    info.lines().any(|l| {
        l.split(' ')
            .nth(4)
            .is_some_and(|mp| unescape_mountinfo(mp) == want)
    })
}

fn unescape_mountinfo(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 4], 8) {
                out.push(v as char);
                i += 4;
                continue;
            }
        }
        out.push(b[i] as char);
        i += 1;
    }
    out
}

/// Unmount `target` lazily (`MNT_DETACH`); not mounted is fine.
pub fn unmount(target: &Path) -> Result<()> {
    match rustix::mount::unmount(target, UnmountFlags::DETACH) {
        Ok(()) => Ok(()),
        Err(rustix::io::Errno::INVAL) | Err(rustix::io::Errno::NOENT) => Ok(()),
        Err(e) => Err(StoreError::io(target, e.into())),
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
            let _ = rustix::mount::unmount(&self.target, UnmountFlags::DETACH);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlay_options() {
        let m = Mount::overlay(
            &[PathBuf::from("/a"), PathBuf::from("/b")],
            Path::new("/u"),
            Path::new("/w"),
        );
        assert_eq!(m.kind, "overlay");
        assert_eq!(m.options[0], "lowerdir=/a:/b");
        assert_eq!(m.options[1], "upperdir=/u");
        assert_eq!(m.options[2], "workdir=/w");
        assert_eq!(unescape_mountinfo("/a\\040b"), "/a b");
    }
}
