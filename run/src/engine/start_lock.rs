//! The per-container start lock: two `start`s of one container take turns around "is it
//! running? start it".

use berth_image_store::lock::{FileLock, LockMode};

use crate::container::Container;
use crate::error::{Result, RunError};

use super::Engine;

/// The lock two `start`s of one container take around "is it running? start it": an
/// exclusive `flock` on `<runroot>/containers/<id>/start.lock`, held until the container
/// runs (or failed to start), so the second sees it running instead of starting it again.
pub(crate) struct StartLock {
    _lock: FileLock,
}

impl Engine<'_> {
    pub(crate) fn start_lock(&self, c: &Container) -> Result<StartLock> {
        let dir = self.bundle_dir(&c.id);
        crate::bundle::create_dir(&dir)?;
        let path = dir.join("start.lock");
        // Close-on-exec (std opens so): neither the monitor nor the container keeps the lock.
        let file = crate::bundle::private_file(&path, false)?;
        FileLock::on(file, LockMode::Exclusive)
            .map(|l| StartLock { _lock: l })
            .map_err(|e| RunError::io(&path, e))
    }
}
