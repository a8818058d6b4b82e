//! `system prune`: what goes, in which order. Images (dangling, or with `all` every image not
//! in use) and the garbage they leave in the store, then the build cache entries that no
//! longer point at a layer (with `all`, every entry and the `RUN --mount=type=cache`
//! directories). This crate is the lowest that sees both the store and the build cache, so
//! the composition lives here; front ends confirm, call [`prune_system`] and print.

use berth_image_store::gc::PruneReport;
use berth_image_store::Store;

use crate::cache::{self, PruneStats};

/// What `system prune` removed.
#[derive(Debug, Default)]
pub struct SystemPruneReport {
    /// Images, blobs, unpacked layers and ingest leftovers, and the bytes freed.
    pub store: PruneReport,
    /// Build cache entries and mount caches.
    pub build_cache: PruneStats,
}

/// Prune the store, then the build cache (each under the store's exclusive lock).
pub fn prune_system(store: &Store, all: bool) -> berth_image_store::Result<SystemPruneReport> {
    let report = store.prune_images(all)?;
    let build_cache = cache::prune(store, all)?;
    Ok(SystemPruneReport {
        store: report,
        build_cache,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_store_prunes_to_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let report = prune_system(&store, true).unwrap();
        assert!(report.store.images.is_empty());
        assert_eq!(report.store.bytes_freed, 0);
        assert_eq!(report.build_cache.entries, 0);
    }
}
