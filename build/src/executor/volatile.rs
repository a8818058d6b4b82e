//! Build snapshots are mounted with overlay's `volatile` option
//! ([`berth_image_store::volatile`]): a step's upper dir is read into a layer blob (which
//! the content store syncs) and removed, and a crashed build's snapshot is only ever removed,
//! so nothing needs the sync of the whole disk that each unmount would otherwise wait for.

use berth_image_store::mount::MountGuard;
use berth_image_store::snapshot::Snapshot;

use crate::error::{BuildError, Result};

/// Mount a snapshot's mounts on its mount point (volatile where the kernel allows);
/// unmounted when the guards drop.
pub(crate) fn mount_all(snap: &Snapshot) -> Result<Vec<MountGuard>> {
    berth_image_store::volatile::mount_all(snap, true).map_err(BuildError::from)
}
