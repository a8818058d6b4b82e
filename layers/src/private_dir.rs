//! Directories only their owner may enter: the store root and the run root, which hold
//! container environments, logs, credentials and bundles.
//!
//! [`ensure_private_dir`] creates a missing directory (and its parents) and sets it to mode
//! 0700 exactly, whatever the umask; a directory that exists with group or other bits is
//! tightened to 0700 with a one-line notice on stderr naming it and its old mode (Podman keeps
//! these roots 0700 too).

use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::path::Path;

use rustix::fs::{Mode, OFlags};

/// Create `path` (mode 0700) or tighten it to 0700; returns the old mode when it was wider.
pub fn ensure_private_dir(path: &Path) -> io::Result<Option<u32>> {
    let created = match std::fs::DirBuilder::new().mode(0o700).create(path) {
        Ok(()) => true,
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => false,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(path)?;
            true
        }
        Err(e) => return Err(e),
    };
    let dir = rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let old = rustix::fs::fstat(&dir)?.st_mode & 0o7777;
    if old == 0o700 {
        return Ok(None);
    }
    rustix::fs::fchmod(&dir, Mode::from_raw_mode(0o700))?;
    if created || old & 0o077 == 0 {
        // Our own mkdir narrowed by the umask, or an owner-only directory: nothing to say.
        return Ok(None);
    }
    tracing::warn!(
        "{}: was mode {old:04o}, now 0700 (it may hold secrets: only its owner may read it)",
        path.display()
    );
    Ok(Some(old))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode_of(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn creates_missing_with_parents_and_tightens_existing() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path().join("a/b/root");
        assert_eq!(ensure_private_dir(&root).unwrap(), None);
        assert_eq!(mode_of(&root), 0o700);
        std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(ensure_private_dir(&root).unwrap(), Some(0o755));
        assert_eq!(mode_of(&root), 0o700);
        assert_eq!(ensure_private_dir(&root).unwrap(), None);
    }

    #[test]
    fn a_file_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("f");
        std::fs::write(&f, "").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(ensure_private_dir(&f).is_err());
        assert_eq!(mode_of(&f), 0o644);
    }
}
