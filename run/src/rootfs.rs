//! Checks on a container's rootfs before a runtime sees it.
//!
//! Runtimes resolve mount destinations inside the rootfs, but some of their own work below
//! `/dev` (the `/dev/fd`, `/dev/stdin`… links, device nodes) and in `/proc` and `/sys` has
//! followed symlinks out of it: runc 1.1 creates `/dev/fd` and friends through an image's
//! `/dev -> /host/path` link, on the host. So before every start berth refuses a rootfs where
//! any component of a `/dev`, `/proc` or `/sys` mount destination is a symlink or not a
//! directory. It re-checks at each start, since a previous run may have swapped a directory
//! for a link.

use std::path::{Component, Path};

use oci_spec::runtime::Spec;

use crate::error::{Result, RunError};

/// Whether a destination is one the runtime itself populates (`/dev…`, `/proc…`, `/sys…`).
fn runtime_managed(dest: &Path) -> bool {
    matches!(
        dest.components().nth(1),
        Some(Component::Normal(first)) if first == "dev" || first == "proc" || first == "sys"
    )
}

/// Refuse `rootfs` if any component of a runtime-managed mount destination of `spec` is a
/// symlink or a non-directory. Components that do not exist yet are fine (the runtime makes
/// them as directories).
pub fn check_runtime_mounts(rootfs: &Path, spec: &Spec) -> Result<()> {
    let mounts = spec.mounts().as_deref().unwrap_or_default();
    for m in mounts.iter().filter(|m| runtime_managed(m.destination())) {
        let mut host = rootfs.to_path_buf();
        let mut shown = String::new();
        for comp in m.destination().components() {
            let Component::Normal(name) = comp else {
                continue;
            };
            host.push(name);
            shown.push('/');
            shown.push_str(&name.to_string_lossy());
            let md = match std::fs::symlink_metadata(&host) {
                Ok(md) => md,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
                Err(e) => return Err(RunError::io(&host, e)),
            };
            if md.file_type().is_symlink() {
                let target = std::fs::read_link(&host)
                    .map(|t| t.display().to_string())
                    .unwrap_or_default();
                return Err(RunError::Rootfs {
                    path: shown,
                    reason: format!(
                        "is a symlink in the container (to {target:?}); refusing to mount {} there",
                        m.destination().display()
                    ),
                });
            }
            if !md.is_dir() {
                return Err(RunError::Rootfs {
                    path: shown,
                    reason: format!(
                        "is not a directory in the container; refusing to mount {} there",
                        m.destination().display()
                    ),
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::{MountBuilder, SpecBuilder};

    fn spec(dests: &[&str]) -> Spec {
        let mounts = dests
            .iter()
            .map(|d| MountBuilder::default().destination(*d).build().unwrap())
            .collect::<Vec<_>>();
        SpecBuilder::default().mounts(mounts).build().unwrap()
    }

    #[test]
    fn symlinks_under_dev_proc_sys_are_refused() {
        let d = tempfile::tempdir().unwrap();
        let host = tempfile::tempdir().unwrap();
        let s = spec(&["/proc", "/dev", "/dev/pts", "/sys", "/data"]);
        check_runtime_mounts(d.path(), &s).unwrap();
        std::fs::create_dir(d.path().join("dev")).unwrap();
        std::os::unix::fs::symlink(host.path(), d.path().join("dev/pts")).unwrap();
        let err = check_runtime_mounts(d.path(), &s).unwrap_err().to_string();
        assert!(err.contains("/dev/pts") && err.contains("symlink"), "{err}");
        std::fs::remove_file(d.path().join("dev/pts")).unwrap();
        std::fs::write(d.path().join("proc"), b"").unwrap();
        let err = check_runtime_mounts(d.path(), &s).unwrap_err().to_string();
        assert!(
            err.contains("/proc") && err.contains("not a directory"),
            "{err}"
        );
        std::fs::remove_file(d.path().join("proc")).unwrap();
        // Other destinations are left to the runtime's in-root resolution.
        std::os::unix::fs::symlink(host.path(), d.path().join("data")).unwrap();
        check_runtime_mounts(d.path(), &s).unwrap();
    }
}
