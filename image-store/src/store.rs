//! [`Store`]: one store root, its database, its content store, and the store-wide lock.
//!
//! Locking across processes: writers (blob ingest, adding images, unpacking layers) hold the
//! `lock` file shared; `gc` and `check` hold it exclusive, so they never see a half-written
//! ingest file or a layer being unpacked. Metadata changes are SQLite transactions.

use std::fs;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use rusqlite::Connection;

use crate::content::ContentStore;
use crate::db;
use crate::error::{Result, StoreError};
use crate::lock::StoreLock;

/// An opened store root.
pub struct Store {
    root: PathBuf,
    content: ContentStore,
    conn: Mutex<Connection>,
}

/// Subdirectories created under every store root.
const SUBDIRS: &[&str] = &["blobs/sha256", "ingest", "overlay", "snapshots", "mounts"];

impl Store {
    /// Open (creating if missing) the store at `root`, mode 0700: a root that exists with
    /// group or other access is tightened, with a notice ([`berth_layers::private_dir`]).
    pub fn open(root: &Path) -> Result<Store> {
        berth_layers::private_dir::ensure_private_dir(root).map_err(|e| StoreError::io(root, e))?;
        for sub in SUBDIRS {
            let p = root.join(sub);
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&p)
                .map_err(|e| StoreError::io(&p, e))?;
        }
        // Absolute and free of symlinks, so mount points match /proc/self/mountinfo.
        let root = &fs::canonicalize(root).map_err(|e| StoreError::io(root, e))?;
        let conn = db::open(&root.join("berth.db"))?;
        Ok(Store {
            root: root.to_path_buf(),
            content: ContentStore::new(root),
            conn: Mutex::new(conn),
        })
    }

    /// The default root: `/var/lib/berth` as root, `$XDG_DATA_HOME/berth` (default
    /// `~/.local/share/berth`) otherwise.
    ///
    /// Root inside a user namespace (`unshare -r`) is still a plain user: it keeps the
    /// rootless store, as Podman does under `podman unshare`.
    pub fn default_root() -> PathBuf {
        if is_host_root() {
            return PathBuf::from("/var/lib/berth");
        }
        if let Some(x) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
            return PathBuf::from(x).join("berth");
        }
        let home = std::env::var_os("HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/"));
        home.join(".local/share/berth")
    }

    /// The store root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The blob store.
    pub fn content(&self) -> &ContentStore {
        &self.content
    }

    /// The database connection (one per `Store`; callers keep the guard short).
    pub(crate) fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Hold the store lock shared: gc and check wait until the guard drops. Callers that put
    /// blobs and then record an image (copy, import, build) hold it across both steps so a
    /// concurrent gc cannot collect the blobs in between.
    pub fn lock_shared(&self) -> Result<StoreLock> {
        StoreLock::acquire(&self.root, false)
    }

    /// Hold the store lock exclusive (gc, check). Never call while this thread holds a shared
    /// guard: that deadlocks.
    pub fn lock_exclusive(&self) -> Result<StoreLock> {
        StoreLock::acquire(&self.root, true)
    }
}

/// Whether this process is root in the initial user namespace (not merely uid 0 inside a
/// user namespace that a plain user made).
pub fn is_host_root() -> bool {
    if !rustix::process::geteuid().is_root() {
        return false;
    }
    // The initial namespace maps the whole 32-bit range onto itself.
    match std::fs::read_to_string("/proc/self/uid_map") {
        Ok(map) => {
            map.split_whitespace().collect::<Vec<_>>().as_slice() == ["0", "0", "4294967295"]
        }
        Err(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_creates_layout_and_reopens() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("store");
        {
            let s = Store::open(&root).unwrap();
            assert!(s.root().join("blobs/sha256").is_dir());
            assert!(s.root().join("berth.db").is_file());
        }
        let _again = Store::open(&root).unwrap();
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(&root).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
    }

    #[test]
    fn shared_locks_coexist() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        let a = s.lock_shared().unwrap();
        let b = s.lock_shared().unwrap();
        drop((a, b));
        let _x = s.lock_exclusive().unwrap();
    }
}
