//! Byte-level transfer progress. Pull and push report each blob's bytes to an [`Observer`]
//! (the CLI draws bars on a terminal); the line-level [`crate::remote::Progress`] stays for
//! plain output. Without an observer nothing is counted.

use std::io::Read;
use std::sync::Arc;

use berth_layers::Digest;

/// Receives the progress of blob transfers (called from several threads at once).
pub trait TransferObserver: Send + Sync {
    /// A transfer of `size` bytes starts (`resumed` bytes already done).
    fn start(&self, digest: &Digest, size: u64, resumed: u64);
    /// `bytes` more were transferred.
    fn advance(&self, digest: &Digest, bytes: u64);
    /// The transfer ended (`ok` false: it failed and may be retried).
    fn finish(&self, digest: &Digest, ok: bool);
}

/// An optional observer; the default observes nothing.
#[derive(Clone, Default)]
pub struct Observer(Option<Arc<dyn TransferObserver>>);

impl std::fmt::Debug for Observer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Observer(Some)"
        } else {
            "Observer(None)"
        })
    }
}

impl Observer {
    /// Report to `o`.
    pub fn new(o: Arc<dyn TransferObserver>) -> Observer {
        Observer(Some(o))
    }

    /// See [`TransferObserver::start`].
    pub fn start(&self, digest: &Digest, size: u64, resumed: u64) {
        if let Some(o) = &self.0 {
            o.start(digest, size, resumed);
        }
    }

    /// See [`TransferObserver::advance`].
    pub fn advance(&self, digest: &Digest, bytes: u64) {
        if let Some(o) = &self.0 {
            o.advance(digest, bytes);
        }
    }

    /// See [`TransferObserver::finish`].
    pub fn finish(&self, digest: &Digest, ok: bool) {
        if let Some(o) = &self.0 {
            o.finish(digest, ok);
        }
    }

    /// Whether anything observes.
    pub fn is_active(&self) -> bool {
        self.0.is_some()
    }
}

/// A reader that reports the bytes it yields.
pub struct Counting<'a, R> {
    inner: R,
    observer: &'a Observer,
    digest: &'a Digest,
}

impl<'a, R> Counting<'a, R> {
    /// Count what `inner` yields as progress of `digest`.
    pub fn new(inner: R, observer: &'a Observer, digest: &'a Digest) -> Self {
        Counting {
            inner,
            observer,
            digest,
        }
    }
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.observer.advance(self.digest, n as u64);
        Ok(n)
    }
}
