//! Checks on a container's rootfs before a runtime sees it.
//!
//! Runtimes resolve mount destinations inside the rootfs, but some of their own work below
//! `/dev` (the `/dev/fd`, `/dev/stdin`… links, device nodes) and in `/proc` and `/sys` has
//! followed symlinks out of it: runc 1.1 creates `/dev/fd` and friends through an image's
//! `/dev -> /host/path` link, on the host. So before every start berth refuses a rootfs where
//! any component of a `/dev`, `/proc` or `/sys` mount destination is a symlink or not a
//! directory. It re-checks at each start, since a previous run may have swapped a directory
//! for a link.
//!
//! Every other mount destination (`-v`, `--tmpfs`, volumes) is resolved in the rootfs as if
//! chrooted there (an absolute link restarts at the rootfs, `..` stops at it), and the spec
//! gets the resolved path: each runtime then mounts on a path with no symlink, whether or not
//! it would have resolved links itself (runc does; youki's libcontainer refuses them).
//!
//! Both look at the rootfs from its descriptor, one name at a time ([`InRoot`]), never
//! through a host path string that a link in the image would lead out of it.

use std::path::{Component, Path, PathBuf};

use berth_layers::inroot::InRoot;
use oci_spec::runtime::Spec;
use rustix::fs::FileType;

use crate::error::{Result, RunError};

/// Whether a destination is one the runtime itself populates (`/dev…`, `/proc…`, `/sys…`).
pub(crate) fn runtime_managed(dest: &Path) -> bool {
    matches!(
        dest.components().nth(1),
        Some(Component::Normal(first)) if first == "dev" || first == "proc" || first == "sys"
    )
}

/// Refuse `rootfs` if any component of a runtime-managed mount destination of `spec` is a
/// symlink or a non-directory. Components that do not exist yet are fine (the runtime makes
/// them as directories). Each component is looked up below its parent's descriptor
/// ([`InRoot::lstat`]), never through a host path.
pub fn check_runtime_mounts(rootfs: &Path, spec: &Spec) -> Result<()> {
    let mounts = spec.mounts().as_deref().unwrap_or_default();
    let mut root = None;
    for m in mounts.iter().filter(|m| runtime_managed(m.destination())) {
        let root = match &mut root {
            Some(r) => r,
            None => root.insert(InRoot::open(rootfs).map_err(|e| RunError::io(rootfs, e))?),
        };
        let mut rel = PathBuf::new();
        for comp in m.destination().components() {
            let Component::Normal(name) = comp else {
                continue;
            };
            rel.push(name);
            let shown = Path::new("/").join(&rel).display().to_string();
            let kind = match root.lstat(&rel) {
                Ok(Some(m)) => m.kind,
                Ok(None) => break,
                Err(e) => return Err(RunError::io(rootfs.join(&rel), e)),
            };
            match kind {
                FileType::Directory => {}
                FileType::Symlink => {
                    let target = root
                        .readlink(&rel)
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
                _ => {
                    return Err(RunError::Rootfs {
                        path: shown,
                        reason: format!(
                            "is not a directory in the container; refusing to mount {} there",
                            m.destination().display()
                        ),
                    })
                }
            }
        }
    }
    Ok(())
}

/// `dest` (absolute, in the container) with every symlink resolved inside `rootfs`
/// ([`InRoot::resolve`]). The components from the first that does not exist are kept as they
/// are (the runtime creates them as directories).
pub fn resolve_in_root(rootfs: &Path, dest: &Path) -> Result<PathBuf> {
    let resolved = InRoot::open(rootfs)
        .and_then(|r| r.resolve(dest, true))
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ELOOP) => RunError::Rootfs {
                path: dest.display().to_string(),
                reason: "too many levels of symbolic links".to_string(),
            },
            _ => RunError::io(rootfs.join(dest.strip_prefix("/").unwrap_or(dest)), e),
        })?;
    Ok(Path::new("/").join(resolved.path))
}

/// Check `spec`'s mounts against `rootfs` ([`check_runtime_mounts`]) and replace every other
/// destination by its in-root resolution ([`resolve_in_root`]).
pub fn prepare_mounts(rootfs: &Path, spec: &mut Spec) -> Result<()> {
    check_runtime_mounts(rootfs, spec)?;
    let Some(mounts) = spec.mounts().clone() else {
        return Ok(());
    };
    let mut out = Vec::with_capacity(mounts.len());
    for mut m in mounts {
        if !runtime_managed(m.destination()) {
            let resolved = resolve_in_root(rootfs, m.destination())?;
            m.set_destination(resolved);
        }
        out.push(m);
    }
    spec.set_mounts(Some(out));
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

    #[test]
    fn destinations_resolve_as_if_chrooted() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        std::fs::create_dir_all(r.join("real/sub")).unwrap();
        std::os::unix::fs::symlink("/real", r.join("abs")).unwrap();
        std::os::unix::fs::symlink("../../../real/sub", r.join("real/up")).unwrap();
        std::os::unix::fs::symlink("/etc/host-only", r.join("out")).unwrap();
        std::os::unix::fs::symlink("loop", r.join("loop")).unwrap();
        let res = |p: &str| resolve_in_root(r, Path::new(p));
        assert_eq!(res("/abs/sub").unwrap(), Path::new("/real/sub"));
        assert_eq!(res("/real/up/x/y").unwrap(), Path::new("/real/sub/x/y"));
        assert_eq!(res("/out/z").unwrap(), Path::new("/etc/host-only/z"));
        assert_eq!(res("/../../abs").unwrap(), Path::new("/real"));
        assert!(res("/loop")
            .unwrap_err()
            .to_string()
            .contains("symbolic links"));
        let mut s = spec(&["/abs", "/dev/shm"]);
        prepare_mounts(r, &mut s).unwrap();
        let dests: Vec<_> = s
            .mounts()
            .as_ref()
            .unwrap()
            .iter()
            .map(|m| m.destination().clone())
            .collect();
        assert_eq!(dests, [PathBuf::from("/real"), PathBuf::from("/dev/shm")]);
    }
}
