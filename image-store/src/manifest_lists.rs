//! The directory of manifest lists under the store root (`manifests/`), its files and its lock.
//!
//! A manifest list (`berth manifest …`, berth-registry's `manifest_list`) cannot be an image
//! record or a bare blob: gc deletes every blob no image references. So the store keeps a
//! directory for them instead: one document per list, `<sha256 of the list's normalized
//! name>.json`, written atomically (temp file, fsync, rename, fsync of the directory), and a
//! `lock` file whose exclusive flock a read-modify-write cycle holds. The store does not read
//! the documents: berth-registry gives them their meaning; gc and check leave them alone.

use std::fs;
use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use berth_layers::digest::digest_bytes;

use crate::error::{Result, StoreError};
use crate::layout::MANIFEST_LISTS;
use crate::lock::{FileLock, LockMode};
use crate::store::Store;

/// The manifest list directory of one store ([`Store::manifest_lists`]).
pub struct ManifestListFiles {
    dir: PathBuf,
}

/// The exclusive flock on `manifests/lock`, released on drop.
#[derive(Debug)]
pub struct ListsLock {
    _lock: FileLock,
}

impl Store {
    /// The manifest list directory (created 0700 when missing).
    pub fn manifest_lists(&self) -> Result<ManifestListFiles> {
        let dir = self.root().join(MANIFEST_LISTS);
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(|e| StoreError::io(&dir, e))?;
        Ok(ManifestListFiles { dir })
    }
}

impl ManifestListFiles {
    /// Hold the lists lock (exclusive) for a read-modify-write.
    pub fn lock(&self) -> Result<ListsLock> {
        let path = self.dir.join("lock");
        FileLock::acquire(&path, LockMode::Exclusive)
            .map(|l| ListsLock { _lock: l })
            .map_err(|e| StoreError::io(&path, e))
    }

    /// The file of the list named `name` (normalized), whether it exists or not.
    pub fn path_of(&self, name: &str) -> PathBuf {
        let key = digest_bytes(name.as_bytes());
        self.dir.join(format!("{}.json", key.digest()))
    }

    /// The document of the list named `name` (normalized) and its path, if there is one.
    pub fn read(&self, name: &str) -> Result<Option<(PathBuf, Vec<u8>)>> {
        let path = self.path_of(name);
        Ok(read_file(&path)?.map(|bytes| (path, bytes)))
    }

    /// Every list document with its path, in directory order.
    pub fn all(&self) -> Result<Vec<(PathBuf, Vec<u8>)>> {
        let rd = fs::read_dir(&self.dir).map_err(|e| StoreError::io(&self.dir, e))?;
        let mut out = Vec::new();
        for entry in rd {
            let entry = entry.map_err(|e| StoreError::io(&self.dir, e))?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            // Temporary files of an atomic write start with a dot.
            if name.starts_with('.') || !name.ends_with(".json") {
                continue;
            }
            let path = entry.path();
            if let Some(bytes) = read_file(&path)? {
                out.push((path, bytes));
            }
        }
        Ok(out)
    }

    /// Write the document of the list named `name` (normalized) atomically, mode 0600.
    pub fn write(&self, name: &str, document: &[u8]) -> Result<()> {
        let path = self.path_of(name);
        berth_layers::atomic_file::write_atomically(&path, document, 0o600)
            .map_err(|e| StoreError::io(&path, e))
    }

    /// Remove the list named `name` (normalized).
    pub fn remove(&self, name: &str) -> Result<()> {
        let path = self.path_of(name);
        fs::remove_file(&path).map_err(|e| StoreError::io(&path, e))
    }
}

/// The bytes of `path`, `None` if it is gone (removed by another process meanwhile).
fn read_file(path: &Path) -> Result<Option<Vec<u8>>> {
    match fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(StoreError::io(path, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_are_written_read_listed_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let lists = store.manifest_lists().unwrap();
        let _lock = lists.lock().unwrap();
        assert!(lists.read("localhost/l:latest").unwrap().is_none());
        lists.write("localhost/l:latest", b"{}").unwrap();
        let (path, bytes) = lists.read("localhost/l:latest").unwrap().unwrap();
        assert_eq!(bytes, b"{}");
        assert!(path.starts_with(store.root().join(MANIFEST_LISTS)));
        let all = lists.all().unwrap();
        assert_eq!(all, vec![(path, b"{}".to_vec())]);
        lists.remove("localhost/l:latest").unwrap();
        assert!(lists.all().unwrap().is_empty());
        assert!(lists.remove("localhost/l:latest").is_err());
    }
}
