//! `mount`, `umount` and `rm`: a working container's snapshot mounted on its own mount point
//! (`snapshots/buildah-<id>/merged`) until `umount` or `rm`, across processes (whether it is
//! mounted is read from the mount table, never recorded); `rm` unmounts, removes the snapshot
//! and then the record.

use std::path::PathBuf;

use berth_image_store::mount::{is_mounted, unmount};
use berth_image_store::snapshot::Snapshot;
use berth_image_store::Store;

use super::record::{Records, WorkingContainer};
use crate::error::Result;

/// The container's snapshot, and whether it is mounted now.
pub fn snapshot(store: &Store, c: &WorkingContainer) -> Result<(Snapshot, bool)> {
    let snap = store.snapshot(&c.snapshot_key())?;
    let mounted = is_mounted(&snap.mountpoint);
    Ok((snap, mounted))
}

/// The container's snapshot as one step uses it: mounted for the step (guards returned), or
/// as `mount` left it (no guards). Never mounted twice: one upper dir under two overlays is
/// undefined behaviour.
pub(crate) fn mount_for_step(
    store: &Store,
    c: &WorkingContainer,
) -> Result<(Snapshot, Vec<berth_image_store::mount::MountGuard>)> {
    let (snap, mounted) = snapshot(store, c)?;
    if mounted {
        return Ok((snap, Vec::new()));
    }
    let guards = berth_image_store::volatile::mount_all(&snap, false)?;
    Ok((snap, guards))
}

/// The container's snapshot for a runtime to mount: with no mounts when `mount` has it
/// mounted already (the runtime then uses the mount point as it is).
pub(crate) fn for_runtime(store: &Store, c: &WorkingContainer) -> Result<Snapshot> {
    let (mut snap, mounted) = snapshot(store, c)?;
    if mounted {
        snap.mounts.clear();
    }
    Ok(snap)
}

/// Mount the container (if it is not yet) and return its mount point.
pub fn mount(store: &Store, c: &WorkingContainer) -> Result<PathBuf> {
    let _lock = Records::new(store).container_lock(c)?;
    let (snap, mounted) = snapshot(store, c)?;
    if !mounted {
        for guard in berth_image_store::volatile::mount_all(&snap, false)? {
            guard.leak();
        }
    }
    Ok(snap.mountpoint)
}

/// The mount point of every mounted working container.
pub fn mounted(store: &Store) -> Result<Vec<(WorkingContainer, PathBuf)>> {
    let mut out = Vec::new();
    for c in Records::new(store).list()? {
        if let Ok((snap, true)) = snapshot(store, &c) {
            out.push((c, snap.mountpoint));
        }
    }
    Ok(out)
}

/// Unmount the container (nothing if it is not mounted).
pub fn umount(store: &Store, c: &WorkingContainer) -> Result<()> {
    let _lock = Records::new(store).container_lock(c)?;
    let (snap, _) = snapshot(store, c)?;
    while is_mounted(&snap.mountpoint) {
        unmount(&snap.mountpoint)?;
    }
    Ok(())
}

/// Remove the container: unmounted, its snapshot removed, then its record. A container whose
/// snapshot is already gone (a crash in between) is still removed.
pub fn remove(store: &Store, c: &WorkingContainer) -> Result<()> {
    let records = Records::new(store);
    let _one = records.container_lock(c)?;
    let _lock = records.lock()?;
    match store.remove_snapshot(&c.snapshot_key()) {
        Ok(()) | Err(berth_image_store::StoreError::NotFound(_)) => {}
        Err(e) => return Err(e.into()),
    }
    records.remove(c)
}
