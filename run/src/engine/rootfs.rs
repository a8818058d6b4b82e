//! A container's root file system and bundle: its snapshot, mounted for a start, the bundle's
//! `config.json`, and both released when it stops.

use std::path::PathBuf;

use berth_image_store::mount::{is_mounted, unmount};
use berth_image_store::snapshot::Snapshot;

use crate::container::Container;
use crate::error::Result;

use super::Engine;

impl Engine<'_> {
    /// The container's writable snapshot: over its image, or for `--rootfs` over (or a bind
    /// of) the given directory.
    pub fn container_snapshot(&self, c: &Container) -> Result<Snapshot> {
        let snap = self.store.snapshot(&c.snapshot)?;
        Ok(match &c.options.rootfs {
            Some(r) => r.snapshot(snap),
            None => snap,
        })
    }

    /// Mount the container's snapshot at its mount point (if not already).
    ///
    /// A `--rm` container's snapshot is mounted `volatile`
    /// ([`berth_image_store::volatile`]): it is removed when the container exits, so its
    /// unmount need not wait for a sync of the whole disk.
    pub fn mount_rootfs(&self, c: &Container) -> Result<PathBuf> {
        let snap = self.container_snapshot(c)?;
        if !is_mounted(&snap.mountpoint) {
            for g in berth_image_store::volatile::mount_all(&snap, c.auto_remove)? {
                g.leak();
            }
        }
        Ok(snap.mountpoint)
    }

    /// Write the bundle of `c`: `config.json` from `spec` (its spec, mounts resolved).
    pub fn write_bundle(&self, c: &Container, spec: &oci_spec::runtime::Spec) -> Result<PathBuf> {
        let dir = self.bundle_dir(&c.id);
        crate::bundle::create_dir(&dir)?;
        crate::bundle::write_json(&dir.join("config.json"), spec)?;
        Ok(dir)
    }

    /// Release what a stopped container holds: the runtime's state, its networks and the
    /// rootfs mount (unless `berth mount` holds it).
    pub fn release(&self, c: &Container) {
        if let Ok(rt) = self.runtime_for(c) {
            if let Err(e) = rt.delete(&c.id, true) {
                tracing::warn!(
                    target: "berth_run::engine",
                    container = %c.id,
                    error = %e,
                    "runtime delete failed",
                );
            }
        }
        self.leave_network(c);
        if !c.options.secrets.is_empty() {
            crate::secrets::inject::clean(&self.bundle_dir(&c.id));
        }
        // Still mounted for the user (`berth mount`): it stays.
        if self.user_mounts(c) > 0 {
            return;
        }
        if let Ok(snap) = self.store.snapshot(&c.snapshot) {
            let _ = unmount(&snap.mountpoint);
        }
    }
}
