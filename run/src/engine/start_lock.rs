//! The per-container start lock: two `start`s of one container take turns around "is it
//! running? start it".

use crate::container::Container;
use crate::error::{Result, RunError};

use super::Engine;

/// The lock two `start`s of one container take around "is it running? start it": an
/// exclusive `flock` on `<runroot>/containers/<id>/start.lock`, held until the container
/// runs (or failed to start), so the second sees it running instead of starting it again.
pub(crate) struct StartLock {
    _file: std::fs::File,
}

impl Engine<'_> {
    pub(crate) fn start_lock(&self, c: &Container) -> Result<StartLock> {
        let dir = self.bundle_dir(&c.id);
        crate::bundle::create_dir(&dir)?;
        let path = dir.join("start.lock");
        let file = crate::bundle::private_file(&path, false)?;
        let fd = std::os::fd::AsRawFd::as_raw_fd(&file);
        loop {
            // SAFETY: flock(2) on a descriptor this function owns (close-on-exec: neither the
            // monitor nor the container keeps the lock).
            if unsafe { libc::flock(fd, libc::LOCK_EX) } == 0 {
                return Ok(StartLock { _file: file });
            }
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::EINTR) {
                return Err(RunError::io(&path, e));
            }
        }
    }
}
