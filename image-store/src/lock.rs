//! File locks: berth's one lock primitive ([`FileLock`], `flock(2)` through rustix, no
//! `unsafe`), and the store-wide lock built on it ([`StoreLock`]).
//!
//! It lives here because berth-image-store is the lowest crate that takes a lock (berth-layers
//! takes none); the upper crates use it for their own lock files: registry (manifest lists),
//! build (`RUN --mount=type=cache` directories), run (start, cp, the rootless pause process).
//! `std::fs::File::lock` does the same since Rust 1.89; the workspace's `rust-version` is 1.85.
//!
//! Every lock file is opened (created mode 0600) without following a symlink, close-on-exec
//! (neither a monitor nor a container inherits a lock); a wait interrupted by a signal goes on
//! waiting. Each guard has its own open file description, so two guards in one process
//! conflict exactly as two processes do. The lock is released when the guard drops.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use rustix::fs::FlockOperation;

use crate::error::{Result, StoreError};

/// Shared (many holders) or exclusive (one holder).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockMode {
    /// Many shared holders at once; excludes exclusive holders.
    Shared,
    /// One holder.
    Exclusive,
}

/// A held `flock` on a file; released on drop.
#[derive(Debug)]
pub struct FileLock {
    _file: File,
}

impl FileLock {
    /// Open (creating) the lock file `path` and wait for the lock.
    pub fn acquire(path: &Path, mode: LockMode) -> io::Result<FileLock> {
        FileLock::on(open(path)?, mode)
    }

    /// Open (creating) the lock file `path` and take the lock if it is free now; `None` when
    /// another holder has it.
    pub fn try_acquire(path: &Path, mode: LockMode) -> io::Result<Option<FileLock>> {
        let file = open(path)?;
        Ok(flock(&file, mode, false)?.then_some(FileLock { _file: file }))
    }

    /// [`FileLock::acquire`], calling `busy` first when the lock is held elsewhere (to say
    /// why nothing happens while it waits).
    pub fn acquire_or_tell(
        path: &Path,
        mode: LockMode,
        busy: impl FnOnce(),
    ) -> io::Result<FileLock> {
        let file = open(path)?;
        if !flock(&file, mode, false)? {
            busy();
            flock(&file, mode, true)?;
        }
        Ok(FileLock { _file: file })
    }

    /// Wait for the lock on `file`, a lock file the caller opened itself.
    pub fn on(file: File, mode: LockMode) -> io::Result<FileLock> {
        flock(&file, mode, true)?;
        Ok(FileLock { _file: file })
    }
}

/// Open the lock file `path`: created 0600, never through a symlink, close-on-exec.
fn open(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
}

/// Take the lock on `file`: waiting (`wait`, interrupted waits resumed), or `false` when it
/// is held elsewhere.
fn flock(file: &File, mode: LockMode, wait: bool) -> io::Result<bool> {
    let op = match (mode, wait) {
        (LockMode::Shared, true) => FlockOperation::LockShared,
        (LockMode::Shared, false) => FlockOperation::NonBlockingLockShared,
        (LockMode::Exclusive, true) => FlockOperation::LockExclusive,
        (LockMode::Exclusive, false) => FlockOperation::NonBlockingLockExclusive,
    };
    loop {
        match rustix::fs::flock(file, op) {
            Ok(()) => return Ok(true),
            Err(rustix::io::Errno::INTR) => continue,
            Err(rustix::io::Errno::WOULDBLOCK) if !wait => return Ok(false),
            Err(e) => return Err(e.into()),
        }
    }
}

/// A held store lock (`<root>/lock`): writers hold it shared, gc and check exclusive.
#[derive(Debug)]
pub struct StoreLock {
    _lock: FileLock,
}

impl StoreLock {
    /// Take the lock of the store at `root`, shared or exclusive. An exclusive taker that
    /// has to wait says so (a build can hold the store for minutes).
    pub(crate) fn acquire(root: &Path, exclusive: bool) -> Result<StoreLock> {
        let path = root.join("lock");
        let lock = if exclusive {
            FileLock::acquire_or_tell(&path, LockMode::Exclusive, || {
                tracing::warn!("waiting for the store: another berth process is writing to it");
            })
        } else {
            FileLock::acquire(&path, LockMode::Shared)
        };
        lock.map(|l| StoreLock { _lock: l })
            .map_err(|e| StoreError::io(&path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_guards_coexist_and_exclude_an_exclusive_one() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("lock");
        let a = FileLock::acquire(&p, LockMode::Shared).unwrap();
        let b = FileLock::try_acquire(&p, LockMode::Shared).unwrap();
        assert!(b.is_some());
        assert!(FileLock::try_acquire(&p, LockMode::Exclusive)
            .unwrap()
            .is_none());
        drop((a, b));
        let x = FileLock::try_acquire(&p, LockMode::Exclusive).unwrap();
        assert!(x.is_some());
        assert!(FileLock::try_acquire(&p, LockMode::Shared)
            .unwrap()
            .is_none());
    }

    #[test]
    fn busy_is_told_only_when_the_lock_is_held() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("lock");
        let mut told = false;
        let held = FileLock::acquire_or_tell(&p, LockMode::Exclusive, || told = true).unwrap();
        assert!(!told);
        let (tx, rx) = std::sync::mpsc::channel();
        let waiter = std::thread::spawn({
            let p = p.clone();
            move || FileLock::acquire_or_tell(&p, LockMode::Exclusive, || tx.send(()).unwrap())
        });
        // The waiter says it is waiting before the holder lets go.
        rx.recv_timeout(std::time::Duration::from_secs(10))
            .expect("the waiter was told the lock is busy");
        drop(held);
        assert!(waiter.join().unwrap().is_ok());
    }

    #[test]
    fn lock_files_are_private_and_never_followed() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("lock");
        let _l = FileLock::acquire(&p, LockMode::Exclusive).unwrap();
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let link = d.path().join("link");
        std::os::unix::fs::symlink(&p, &link).unwrap();
        assert!(FileLock::acquire(&link, LockMode::Shared).is_err());
    }
}
