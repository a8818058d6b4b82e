//! `--rootfs PATH[:O]`: run an exploded root filesystem instead of an image (Podman's
//! `--rootfs`).
//!
//! As in Podman, the directory is the container's root as is by default: it is bind-mounted,
//! and what the container changes is changed in the directory. With `:O` an overlay goes on
//! top (the directory is its lower layer, the container's snapshot its upper), so the
//! directory stays untouched and the changes go when the container is removed.

use std::path::PathBuf;

use berth_image_store::mount::Mount;
use berth_image_store::snapshot::Snapshot;

use crate::error::{Result, RunError};

/// An exploded root filesystem.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ExplodedRootfs {
    /// Absolute path of the directory.
    pub path: PathBuf,
    /// `:O`: an overlay over the directory instead of the directory itself.
    pub overlay: bool,
}

impl ExplodedRootfs {
    /// Parse `PATH[:O]`; the path must be a directory (relative paths are taken from the
    /// current directory).
    pub fn parse(arg: &str) -> Result<ExplodedRootfs> {
        let (path, overlay) = match arg.strip_suffix(":O") {
            Some(p) => (p, true),
            None => (arg, false),
        };
        if path.is_empty() {
            return Err(RunError::Invalid("--rootfs needs a directory".to_string()));
        }
        let abs = std::fs::canonicalize(path).map_err(|e| RunError::io(path, e))?;
        if !abs.is_dir() {
            return Err(RunError::Invalid(format!(
                "--rootfs {path}: not a directory"
            )));
        }
        if abs == std::path::Path::new("/") {
            return Err(RunError::Invalid(
                "--rootfs /: refusing to run the host's root as a container".to_string(),
            ));
        }
        Ok(ExplodedRootfs { path: abs, overlay })
    }

    /// The container's snapshot with its mounts pointed at this directory.
    pub fn snapshot(&self, mut snap: Snapshot) -> Snapshot {
        let work = snap
            .upper
            .parent()
            .map(|d| d.join("work"))
            .unwrap_or_else(|| snap.upper.join("../work"));
        snap.mounts = if self.overlay {
            vec![Mount::overlay(
                std::slice::from_ref(&self.path),
                &snap.upper,
                &work,
            )]
        } else {
            vec![Mount::bind(&self.path, false)]
        };
        snap
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_rootfs() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().to_str().unwrap();
        let r = ExplodedRootfs::parse(p).unwrap();
        assert!(!r.overlay);
        let r = ExplodedRootfs::parse(&format!("{p}:O")).unwrap();
        assert!(r.overlay);
        assert!(ExplodedRootfs::parse("/nonexistent-berth-rootfs").is_err());
        assert!(ExplodedRootfs::parse("/").is_err());
    }
}
