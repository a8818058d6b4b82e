//! Garbage collection: unreferenced blobs, unpacked layers and ingest leftovers.

use berth_layers::Digest;

use crate::error::Result;
use crate::store::Store;

/// What a prune removed.
#[derive(Debug, Clone, Default)]
pub struct PruneReport {
    /// Image records removed (by `prune_images`).
    pub images: Vec<Digest>,
    /// Blobs removed.
    pub blobs: Vec<Digest>,
    /// Unpacked layers (chain ids) removed.
    pub layers: Vec<Digest>,
    /// Ingest leftovers removed.
    pub ingest_files: u64,
    /// Bytes freed on disk.
    pub bytes_freed: u64,
}

impl Store {
    /// Remove dangling images (no names), or with `all` every image not used by a snapshot or
    /// mount, then collect garbage.
    pub fn prune_images(&self, all: bool) -> Result<PruneReport> {
        let _ = all;
        todo!()
    }

    /// Remove blobs no image references, unpacked layers no image or snapshot needs, and
    /// ingest leftovers of processes that are gone. Holds the store lock.
    pub fn gc(&self) -> Result<PruneReport> {
        todo!()
    }
}
