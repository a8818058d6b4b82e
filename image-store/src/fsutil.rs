//! File-system helpers: size, removal and fsync of trees that may hold read-only directories.

use std::ffi::OsStr;
use std::fs;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::Path;

use berth_layers::inroot;
use rustix::fs::{FileType, Mode, OFlags};

use crate::error::{Result, StoreError};

/// Bytes used by the regular files in directory `dir` and below (symlinks not followed).
fn tree_size_at(dir: BorrowedFd<'_>) -> u64 {
    let Ok(entries) = inroot::read_dir_at(dir) else {
        return 0;
    };
    let mut total = 0;
    for (name, kind) in entries {
        total += match kind {
            FileType::Directory => match inroot::open_dir_at(dir, &name) {
                Ok(sub) => tree_size_at(sub.as_fd()),
                Err(_) => 0,
            },
            FileType::RegularFile => inroot::meta_at(dir, &name).map_or(0, |m| m.size),
            _ => 0,
        };
    }
    total
}

/// Bytes used by the regular files under directory `path` (0 when it cannot be read): what
/// `system df` counts for a container's writable layer or a volume.
pub fn tree_size(path: &Path) -> u64 {
    open_dir(path).map_or(0, |d| tree_size_at(d.as_fd()))
}

/// Fsync every regular file under directory `dir` and, after its entries, each directory
/// (symlinks not followed). A file this process may not open (a mode-0 file of another id
/// as a plain user) is left to the file system's own writeback.
fn sync_tree_at(dir: BorrowedFd<'_>) -> io::Result<()> {
    for (name, kind) in inroot::read_dir_at(dir)? {
        match kind {
            FileType::Directory => sync_tree_at(inroot::open_dir_at(dir, &name)?.as_fd())?,
            FileType::RegularFile => {
                let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NOCTTY;
                match rustix::fs::openat(dir, name.as_os_str(), flags, Mode::empty()) {
                    Ok(f) => rustix::fs::fsync(&f)?,
                    Err(rustix::io::Errno::ACCESS) | Err(rustix::io::Errno::PERM) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            _ => {}
        }
    }
    rustix::fs::fsync(dir).map_err(io::Error::from)
}

/// Fsync the tree under directory `path`: its files' data and its directories' entries
/// reach the disk before the caller renames it into place (an unpacked layer).
pub(crate) fn sync_tree(path: &Path) -> Result<()> {
    open_dir(path)
        .and_then(|d| sync_tree_at(d.as_fd()))
        .map_err(|e| StoreError::io(path, e))
}

/// Open the directory at `path` (berth's own path) for reading, not following a symlink.
fn open_dir(path: &Path) -> std::io::Result<OwnedFd> {
    inroot::open_dir_at(rustix::fs::CWD, path.as_os_str())
}

/// Remove `path` (file or tree), making read-only directories writable when that is what
/// stops the removal. Missing is fine. Returns the bytes freed.
///
/// The trees removed here (snapshots, unpacked layers) were shaped by containers and images:
/// nothing below `path` is reached through a path string. `std::fs::remove_dir_all` works
/// from directory descriptors and never follows a symlink (Rust ≥ 1.58.1, CVE-2022-21658);
/// sizing and making writable walk descriptors too ([`berth_layers::inroot`]).
pub(crate) fn remove_tree(path: &Path) -> Result<u64> {
    let meta = match fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(StoreError::io(path, e)),
    };
    if !meta.is_dir() {
        fs::remove_file(path).map_err(|e| StoreError::io(path, e))?;
        return Ok(if meta.is_file() { meta.len() } else { 0 });
    }
    let size = open_dir(path).map_or(0, |d| tree_size_at(d.as_fd()));
    if fs::remove_dir_all(path).is_err() {
        make_writable(rustix::fs::CWD, path.as_os_str());
        match fs::remove_dir_all(path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(StoreError::io(path, e)),
        }
    }
    Ok(size)
}

/// Give directory `name` below `dir` and every directory in it mode 0700 (best effort),
/// never following a symlink: each is opened `O_PATH|O_NOFOLLOW` and changed through its
/// descriptor's `/proc/self/fd` link (`fchmod` does not take an `O_PATH` descriptor, and a
/// directory without read permission cannot be opened otherwise).
fn make_writable(dir: BorrowedFd<'_>, name: &OsStr) {
    let Ok(fd) = rustix::fs::openat(
        dir,
        name,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    ) else {
        return;
    };
    let _ = rustix::fs::chmod(
        format!("/proc/self/fd/{}", fd.as_raw_fd()).as_str(),
        Mode::from_raw_mode(0o700),
    );
    let Ok(readable) = inroot::open_dir_at(fd.as_fd(), OsStr::new(".")) else {
        return;
    };
    for (child, kind) in inroot::read_dir_at(readable.as_fd()).unwrap_or_default() {
        if kind == FileType::Directory {
            make_writable(readable.as_fd(), &child);
        }
    }
}

/// Create `path` and its parents with `mode`.
pub(crate) fn mkdir_all(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(mode)
        .create(path)
        .map_err(|e| StoreError::io(path, e))
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn read_only_trees_open_up_without_following_links() {
        let d = tempfile::tempdir().unwrap();
        let outside = d.path().join("outside");
        fs::create_dir(&outside).unwrap();
        fs::set_permissions(&outside, fs::Permissions::from_mode(0o555)).unwrap();
        let tree = d.path().join("tree");
        fs::create_dir_all(tree.join("a/b")).unwrap();
        fs::write(tree.join("a/f"), b"12345").unwrap();
        std::os::unix::fs::symlink(&outside, tree.join("a/out")).unwrap();
        fs::set_permissions(tree.join("a/b"), fs::Permissions::from_mode(0o000)).unwrap();
        fs::set_permissions(tree.join("a"), fs::Permissions::from_mode(0o500)).unwrap();
        make_writable(rustix::fs::CWD, tree.as_os_str());
        let mode = |p: &Path| fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode(&tree.join("a")), 0o700);
        assert_eq!(mode(&tree.join("a/b")), 0o700);
        assert_eq!(mode(&outside), 0o555, "followed a link out of the tree");
        assert_eq!(remove_tree(&tree).unwrap(), 5);
        assert!(!tree.exists() && outside.is_dir());
    }
}
