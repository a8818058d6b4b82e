//! `system reset`'s last step: the store's own files removed, leaving an empty store. Image
//! mounts and snapshots (builds' included) are unmounted first; then every path the store
//! keeps under its root (the layout in this crate's doc) is removed, nothing else: a root
//! that holds other files keeps them. The store is opened again, so what is left is a usable
//! empty store with its database migrated.

use std::path::Path;

use crate::error::{Result, StoreError};
use crate::fsutil::remove_tree;
use crate::layout;
use crate::store::Store;

/// The fixed names under a store root (see the layout in the crate doc).
const ENTRIES: &[&str] = &[
    "blobs",
    "ingest",
    "overlay",
    "snapshots",
    "mounts",
    layout::DATABASE,
    "berth.db-wal",
    "berth.db-shm",
    "lock",
    "berth.open-lock",
    layout::MANIFEST_LISTS,
    layout::VOLUMES,
    layout::BUILD_MOUNT_CACHES,
    "build-cache-index",
    layout::WORKING_CONTAINERS,
    layout::SECRETS,
];

/// Prefixes of the store's temporary entries (`save-<random>/`, `load-<random>`).
const TEMP_PREFIXES: &[&str] = &["save-", "load-"];

impl Store {
    /// Remove every image, layer, snapshot, volume directory, build cache and record of this
    /// store, and return the empty store made in its place. The caller removes containers
    /// (and their volumes' users) first.
    pub fn reset(self) -> Result<Store> {
        {
            let _lock = self.lock_exclusive()?;
            for (image, _) in self.mounted_images()? {
                self.unmount_image(&image, true)?;
            }
            for key in self.list_snapshots()? {
                self.remove_snapshot(&key)?;
            }
        }
        let root = self.root().to_path_buf();
        drop(self);
        remove_entries(&root)?;
        Store::open(&root)
    }
}

fn remove_entries(root: &Path) -> Result<()> {
    for name in ENTRIES {
        remove_tree(&root.join(name))?;
    }
    let entries = std::fs::read_dir(root).map_err(|e| StoreError::io(root, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| StoreError::io(root, e))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if TEMP_PREFIXES.iter().any(|p| name.starts_with(p)) {
            remove_tree(&entry.path())?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reset_leaves_an_empty_usable_store_and_foreign_files() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path().join("store");
        let store = Store::open(&root).unwrap();
        std::fs::create_dir_all(root.join("volumes/v/_data")).unwrap();
        std::fs::write(root.join("save-x"), "partial").unwrap();
        std::fs::write(root.join("mine.txt"), "not berth's").unwrap();
        let store = store.reset().unwrap();
        assert!(store.list_images().unwrap().is_empty());
        assert!(!root.join("volumes/v").exists());
        assert!(!root.join("save-x").exists());
        assert!(root.join("mine.txt").exists());
        assert!(root.join(layout::DATABASE).exists());
    }
}
