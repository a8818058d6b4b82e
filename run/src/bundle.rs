//! The files of a container's bundle under the run root, all of which can hold its secrets
//! (`config.json` and exec specs carry the environment; logs carry its output): directories
//! 0700, files 0600 from creation whatever the umask.
//!
//! [`create_dir`] makes `<runroot>/containers/<id>` (and the runtime's state root);
//! [`write_json`] replaces a JSON file through [`berth_layers::atomic_file`];
//! [`private_file`] opens (creating) a lock or log file; [`reset_for_runtime`] leaves an empty
//! 0600 file for the runtime to write into (its log, its pid file), so the runtime's own
//! `O_CREAT` keeps that mode.

use std::fs::{DirBuilder, File, OpenOptions};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;

use crate::error::{Result, RunError};

/// Create `dir` and its missing parents, mode 0700.
pub fn create_dir(dir: &Path) -> Result<()> {
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| RunError::io(dir, e))
}

/// Replace `path` with `value` as JSON, mode 0600 from creation.
pub fn write_json(path: &Path, value: &impl serde::Serialize) -> Result<()> {
    let text = serde_json::to_vec(value).map_err(|e| RunError::Spec(e.to_string()))?;
    berth_layers::atomic_file::write_atomically(path, &text, 0o600)
        .map_err(|e| RunError::io(path, e))
}

/// Open `path` for writing, created 0600 if missing (an existing file is tightened to 0600),
/// never through a symlink; `append` for logs, otherwise neither truncated nor appended.
pub fn private_file(path: &Path, append: bool) -> Result<File> {
    let file = OpenOptions::new()
        .write(true)
        .append(append)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| RunError::io(path, e))?;
    rustix::fs::fchmod(&file, rustix::fs::Mode::from_raw_mode(0o600))
        .map_err(|e| RunError::io(path, e.into()))?;
    Ok(file)
}

/// Leave an empty 0600 file at `path` for a runtime to write (it opens with `O_CREAT`, which
/// keeps an existing file's mode).
pub fn reset_for_runtime(path: &Path) -> Result<()> {
    let f = private_file(path, false)?;
    f.set_len(0).map_err(|e| RunError::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode_of(p: &Path) -> u32 {
        std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn bundle_files_are_private() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("containers/abc");
        create_dir(&dir).unwrap();
        assert_eq!(mode_of(&d.path().join("containers")), 0o700);
        assert_eq!(mode_of(&dir), 0o700);
        let config = dir.join("config.json");
        write_json(&config, &serde_json::json!({"env": ["DB_PASSWORD=x"]})).unwrap();
        assert_eq!(mode_of(&config), 0o600);
        let log = dir.join("runtime.log");
        std::fs::write(&log, "old").unwrap();
        std::fs::set_permissions(&log, std::fs::Permissions::from_mode(0o644)).unwrap();
        reset_for_runtime(&log).unwrap();
        assert_eq!(mode_of(&log), 0o600);
        assert_eq!(std::fs::read(&log).unwrap(), b"");
        let link = dir.join("cp.lock");
        std::os::unix::fs::symlink(&config, &link).unwrap();
        assert!(
            private_file(&link, false).is_err(),
            "a symlink is not followed"
        );
    }
}
