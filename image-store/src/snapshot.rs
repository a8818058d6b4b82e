//! Snapshots: each layer unpacked once by chain id; writable snapshots over a chain.

use std::path::PathBuf;

use berth_layers::Digest;

use crate::error::Result;
use crate::images::ImageRecord;
use crate::mount::Mount;
use crate::store::Store;

/// A writable snapshot: an upper and work dir over the unpacked layers of a parent chain.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Caller's key (container id, build step id).
    pub key: String,
    /// The overlay upper dir (what the diff reads).
    pub upper: PathBuf,
    /// A directory for mounting the snapshot (`merged/`).
    pub mountpoint: PathBuf,
    /// How to mount it (an overlay; a bind of `upper` when the chain is empty).
    pub mounts: Vec<Mount>,
}

impl Store {
    /// Unpack every layer of `image` that is not yet unpacked (each chain id once, marked
    /// incomplete until done, its diff_id checked against the config). Returns the chain ids,
    /// bottom layer first.
    pub fn unpack_image(&self, image: &ImageRecord) -> Result<Vec<Digest>> {
        let _ = image;
        todo!()
    }

    /// Create a writable snapshot `key` over `image`'s layers (unpacking them first), or over
    /// nothing for `None` (FROM scratch).
    pub fn prepare_snapshot(&self, key: &str, image: Option<&ImageRecord>) -> Result<Snapshot> {
        let _ = (key, image);
        todo!()
    }

    /// Look up an existing writable snapshot.
    pub fn snapshot(&self, key: &str) -> Result<Snapshot> {
        let _ = key;
        todo!()
    }

    /// Remove a writable snapshot and its directories (unmounting it if mounted).
    pub fn remove_snapshot(&self, key: &str) -> Result<()> {
        let _ = key;
        todo!()
    }

    /// Mount `image` read-only (refcounted across processes in the database) and return the
    /// mount point; `berth image mount`.
    pub fn mount_image(&self, image: &ImageRecord) -> Result<PathBuf> {
        let _ = image;
        todo!()
    }

    /// Drop one reference to `image`'s read-only mount, unmounting at zero (or always with
    /// `force`). Returns whether it is now unmounted.
    pub fn unmount_image(&self, image: &ImageRecord, force: bool) -> Result<bool> {
        let _ = (image, force);
        todo!()
    }

    /// Images currently mounted, with their mount points.
    pub fn mounted_images(&self) -> Result<Vec<(ImageRecord, PathBuf)>> {
        todo!()
    }
}
