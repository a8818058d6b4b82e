//! The content store: blobs by sha256, written through `ingest/`, visible only once verified.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use berth_layers::Digest;

use crate::error::Result;

/// Blobs under `blobs/sha256/<hex>`, partial writes under `ingest/`.
pub struct ContentStore {
    root: PathBuf,
}

impl ContentStore {
    /// The content store rooted at a store root.
    pub fn new(root: &Path) -> ContentStore {
        ContentStore {
            root: root.to_path_buf(),
        }
    }

    /// Start writing a blob; nothing is visible until [`IngestWriter::commit`].
    pub fn writer(&self) -> Result<IngestWriter> {
        todo!()
    }

    /// Store bytes already in memory (manifests, configs); returns digest and size.
    pub fn put_bytes(&self, bytes: &[u8]) -> Result<(Digest, u64)> {
        let _ = bytes;
        todo!()
    }

    /// Stream `reader` into the store, refusing it unless it hashes to `expected` (and has
    /// `expected_size` bytes when given). Already present blobs are not rewritten.
    pub fn put_verified(
        &self,
        reader: impl Read,
        expected: &Digest,
        expected_size: Option<u64>,
    ) -> Result<u64> {
        let _ = (reader, expected, expected_size);
        todo!()
    }

    /// Whether the blob is present.
    pub fn contains(&self, digest: &Digest) -> bool {
        let _ = digest;
        todo!()
    }

    /// Open a blob for reading (`StoreError::NotFound` naming the digest if absent).
    pub fn open(&self, digest: &Digest) -> Result<File> {
        let _ = digest;
        todo!()
    }

    /// A blob's size in bytes.
    pub fn size(&self, digest: &Digest) -> Result<u64> {
        let _ = digest;
        todo!()
    }

    /// Read a small blob (manifest, config, index) fully; refuses blobs over `limit` bytes.
    pub fn read_small(&self, digest: &Digest, limit: u64) -> Result<Vec<u8>> {
        let _ = (digest, limit);
        todo!()
    }

    /// Where a blob lives on disk.
    pub fn blob_path(&self, digest: &Digest) -> PathBuf {
        let _ = digest;
        todo!()
    }

    /// Every blob digest present.
    pub fn list(&self) -> Result<Vec<Digest>> {
        todo!()
    }

    /// Remove a blob.
    pub fn delete(&self, digest: &Digest) -> Result<()> {
        let _ = digest;
        todo!()
    }
}

/// A blob being written under `ingest/`; hashes while writing. `Send + 'static`, so it can be
/// the sink of a multi-threaded compressor.
pub struct IngestWriter {
    _private: (),
}

impl IngestWriter {
    /// Verify (when `expected` is given) digest and size, fsync, rename into `blobs/`, fsync the
    /// directory. Returns the digest and size. On mismatch the ingest file is removed.
    pub fn commit(self, expected: Option<(&Digest, u64)>) -> Result<(Digest, u64)> {
        let _ = expected;
        todo!()
    }
}

impl Write for IngestWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let _ = buf;
        todo!()
    }

    fn flush(&mut self) -> io::Result<()> {
        todo!()
    }
}
