//! `system reset`: every container (running ones killed, their anonymous volumes too), every
//! network but the default one, then the store's own files (images, layers, volumes, the
//! build cache, the database: [`berth_image_store::Store::reset`]), leaving an empty store.
//! Network definitions are the user's, not the store's (`berth_network::NetworkDirs`), so a
//! reset removes the user's networks whichever store it resets, as Podman's does.

use std::path::Path;

use berth_image_store::Store;
use berth_network::{Catalog, NetworkDirs};

use crate::engine::Engine;
use crate::error::Result;

/// What a reset removed before the store's files.
#[derive(Debug, Clone, Default)]
pub struct ResetReport {
    /// Container ids.
    pub containers: Vec<String>,
    /// Network names.
    pub networks: Vec<String>,
}

/// Reset `store` (with run root `runroot`); returns the empty store and what was removed.
pub fn reset(store: Store, runroot: &Path) -> Result<(Store, ResetReport)> {
    let mut report = ResetReport::default();
    {
        let engine = Engine::new(&store, runroot)?;
        for c in engine.list()? {
            engine.remove_with(&c, true, true)?;
            report.containers.push(c.id);
        }
        let catalog = Catalog::open(NetworkDirs::for_current_user())?;
        for n in crate::network_admin::prune(Some(&engine), &catalog, &|_| true)? {
            report.networks.push(n.name);
        }
    }
    Ok((store.reset()?, report))
}
