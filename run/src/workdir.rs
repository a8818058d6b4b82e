//! The container's working directory, made before any runtime starts (as Podman does): a
//! missing one is created (mode 0755, owned by the container's root) inside the rootfs, or
//! inside the source of the volume or bind mount it lies under, resolved in-root through
//! pathrs so an image's symlink cannot lead it out. What cannot be made fails in words
//! (`chdir to /w: Not a directory`) instead of a runtime's errno from its init process.

use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};

use oci_spec::runtime::Spec;
use pathrs::Root;

use crate::error::{Result, RunError};

/// Make `spec`'s `process.cwd` exist as a directory, with `rootfs` mounted.
pub(crate) fn prepare(rootfs: &Path, spec: &Spec) -> Result<()> {
    let Some(cwd) = spec.process().as_ref().map(|p| p.cwd().clone()) else {
        return Ok(());
    };
    let (root, rest) = match under_mount(spec, &cwd) {
        Some(Under::Bind(source, rest)) => (source, rest),
        // Made by the runtime (tmpfs), or nothing to make.
        Some(Under::Other) => return Ok(()),
        None => (rootfs.to_path_buf(), cwd.clone()),
    };
    if rest.components().all(|c| matches!(c, Component::RootDir)) {
        return Ok(());
    }
    let fail = |e: pathrs::error::Error| {
        let reason = match crate::error::errno_of(&e) {
            Some(n) => {
                let text = io::Error::from_raw_os_error(n).to_string();
                text.split(" (os error")
                    .next()
                    .unwrap_or_default()
                    .to_string()
            }
            None => e.to_string(),
        };
        RunError::FailedPrecondition(format!("chdir to {}: {reason}", cwd.display()))
    };
    // Symlinks resolved inside `root` first (pathrs will not make a dangling link's target);
    // pathrs then makes what is missing, still in-root.
    let rest = crate::rootfs::resolve_in_root(&root, &rest)?;
    let root = Root::open(&root).map_err(fail)?;
    root.mkdir_all(&rest, &std::fs::Permissions::from_mode(0o755))
        .map_err(fail)?;
    Ok(())
}

enum Under {
    /// A bind mount (or volume): its host source, and `cwd` relative to its destination.
    Bind(PathBuf, PathBuf),
    /// Another mount (tmpfs, proc…).
    Other,
}

/// The deepest of `spec`'s mounts (other than `/`) that `cwd` lies under.
fn under_mount(spec: &Spec, cwd: &Path) -> Option<Under> {
    let mounts = spec.mounts().as_deref().unwrap_or_default();
    let m = mounts
        .iter()
        .filter(|m| m.destination() != Path::new("/") && cwd.starts_with(m.destination()))
        .max_by_key(|m| m.destination().components().count())?;
    let rest = cwd.strip_prefix(m.destination()).ok()?;
    let options = m.options().as_deref().unwrap_or_default();
    let bind =
        m.typ().as_deref() == Some("bind") || options.iter().any(|o| o == "bind" || o == "rbind");
    // A read-only bind is left as it is: the runtime's chdir says what is missing.
    let writable = !options.iter().any(|o| o == "ro");
    match m.source() {
        Some(source) if bind && writable && source.is_dir() => {
            Some(Under::Bind(source.clone(), Path::new("/").join(rest)))
        }
        _ => Some(Under::Other),
    }
}
