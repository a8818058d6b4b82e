//! [`Store`]: one store root, its database, its content store.

use std::path::{Path, PathBuf};

use crate::content::ContentStore;
use crate::error::Result;

/// An opened store root.
pub struct Store {
    root: PathBuf,
    content: ContentStore,
}

impl Store {
    /// Open (creating if missing, mode 0700) the store at `root`.
    pub fn open(root: &Path) -> Result<Store> {
        let _ = root;
        todo!()
    }

    /// The default root: `/var/lib/berth` as root, `$XDG_DATA_HOME/berth` (default
    /// `~/.local/share/berth`) otherwise.
    pub fn default_root() -> PathBuf {
        todo!()
    }

    /// The store root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The blob store.
    pub fn content(&self) -> &ContentStore {
        &self.content
    }
}
