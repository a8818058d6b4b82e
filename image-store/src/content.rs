//! The content store: blobs by sha256, written through `ingest/`, visible only once verified.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use berth_layers::digest::{sha256_from_hex, DigestAlgorithm, Sha256Counter};
use berth_layers::Digest;

use crate::error::{Result, StoreError};
use crate::lock::StoreLock;

/// Blobs under `blobs/sha256/<hex>`, partial writes under `ingest/`.
///
/// A committed blob that no image references yet is garbage to `gc`: callers that put blobs
/// and then record an image hold [`crate::Store::lock_shared`] across both steps.
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

    fn blobs_dir(&self) -> PathBuf {
        self.root.join("blobs").join("sha256")
    }

    /// Start writing a blob; nothing is visible until [`IngestWriter::commit`]. The writer
    /// holds the store lock shared, so gc waits for it.
    pub fn writer(&self) -> Result<IngestWriter> {
        let lock = StoreLock::acquire(&self.root, false)?;
        let ingest = self.root.join("ingest");
        loop {
            let path = ingest.join(unique_name().map_err(|e| StoreError::io(&ingest, e))?);
            match OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .custom_flags(libc::O_CLOEXEC)
                .open(&path)
            {
                Ok(file) => {
                    return Ok(IngestWriter {
                        file: Some(file),
                        path,
                        blobs: self.blobs_dir(),
                        counter: Sha256Counter::new(),
                        _lock: lock,
                    })
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(StoreError::io(&path, e)),
            }
        }
    }

    /// Store bytes already in memory (manifests, configs); returns digest and size.
    pub fn put_bytes(&self, bytes: &[u8]) -> Result<(Digest, u64)> {
        let digest = berth_layers::digest::digest_bytes(bytes);
        if self.contains(&digest) {
            return Ok((digest, bytes.len() as u64));
        }
        let mut w = self.writer()?;
        w.write_all(bytes).map_err(|e| w.error(e))?;
        w.commit(Some((&digest, bytes.len() as u64)))
    }

    /// Stream `reader` into the store, refusing it unless it hashes to `expected` (and has
    /// `expected_size` bytes when given). Already present blobs are not rewritten, and the
    /// source is then not read.
    pub fn put_verified(
        &self,
        reader: impl Read,
        expected: &Digest,
        expected_size: Option<u64>,
    ) -> Result<u64> {
        match self.stage_verified(reader, expected, expected_size)? {
            Staged::Present(size) => Ok(size),
            Staged::Verified(w) => {
                let size = w.written();
                w.commit_digest(expected)?;
                Ok(size)
            }
        }
    }

    /// [`ContentStore::put_verified`] without the commit: the blob is written to `ingest/`
    /// and verified, and becomes visible only when the returned writer is committed (a caller
    /// that needs several blobs commits them once all are verified; dropping the writer
    /// removes the file).
    pub fn stage_verified(
        &self,
        mut reader: impl Read,
        expected: &Digest,
        expected_size: Option<u64>,
    ) -> Result<Staged> {
        check_sha256(expected)?;
        if self.contains(expected) {
            let size = self.size(expected)?;
            if let Some(want) = expected_size.filter(|w| *w != size) {
                return Err(StoreError::DigestMismatch {
                    what: format!("blob {expected}"),
                    expected: format!("{want} bytes"),
                    actual: format!("{size} bytes (stored)"),
                });
            }
            return Ok(Staged::Present(size));
        }
        let mut w = self.writer()?;
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(StoreError::Source {
                        what: format!("blob {expected}"),
                        source: e,
                    })
                }
            };
            if let Some(want) = expected_size {
                if w.counter.len() + n as u64 > want {
                    return Err(StoreError::DigestMismatch {
                        what: format!("blob {expected}"),
                        expected: format!("{want} bytes"),
                        actual: format!("more than {want} bytes"),
                    });
                }
            }
            w.write_all(&buf[..n]).map_err(|e| w.error(e))?;
        }
        let size = expected_size.unwrap_or(w.counter.len());
        w.verify(expected, size)?;
        Ok(Staged::Verified(w))
    }

    /// Whether the blob is present.
    pub fn contains(&self, digest: &Digest) -> bool {
        *digest.algorithm() == DigestAlgorithm::Sha256 && self.blob_path(digest).is_file()
    }

    /// Open a blob for reading (`StoreError::NotFound` naming the digest if absent).
    pub fn open(&self, digest: &Digest) -> Result<File> {
        check_sha256(digest)?;
        let path = self.blob_path(digest);
        File::open(&path).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => StoreError::NotFound(format!("blob {digest}")),
            _ => StoreError::io(&path, e),
        })
    }

    /// A blob's size in bytes.
    pub fn size(&self, digest: &Digest) -> Result<u64> {
        check_sha256(digest)?;
        let path = self.blob_path(digest);
        match fs::metadata(&path) {
            Ok(m) => Ok(m.len()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                Err(StoreError::NotFound(format!("blob {digest}")))
            }
            Err(e) => Err(StoreError::io(&path, e)),
        }
    }

    /// Read a small blob (manifest, config, index) fully; refuses blobs over `limit` bytes.
    pub fn read_small(&self, digest: &Digest, limit: u64) -> Result<Vec<u8>> {
        let file = self.open(digest)?;
        let path = self.blob_path(digest);
        let len = file.metadata().map_err(|e| StoreError::io(&path, e))?.len();
        if len > limit {
            return Err(StoreError::Invalid(format!(
                "blob {digest}: {len} bytes is over the {limit} byte limit for this kind of blob"
            )));
        }
        let mut out = Vec::with_capacity(len as usize);
        file.take(limit + 1)
            .read_to_end(&mut out)
            .map_err(|e| StoreError::io(&path, e))?;
        if out.len() as u64 > limit {
            return Err(StoreError::Invalid(format!(
                "blob {digest}: over the {limit} byte limit for this kind of blob"
            )));
        }
        Ok(out)
    }

    /// Where a blob lives on disk.
    pub fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.blobs_dir().join(digest.digest())
    }

    /// Every blob digest present (files with other names are skipped).
    pub fn list(&self) -> Result<Vec<Digest>> {
        let dir = self.blobs_dir();
        let mut out = Vec::new();
        for entry in fs::read_dir(&dir).map_err(|e| StoreError::io(&dir, e))? {
            let entry = entry.map_err(|e| StoreError::io(&dir, e))?;
            if let Some(name) = entry.file_name().to_str() {
                if let Ok(d) = sha256_from_hex(name) {
                    out.push(d);
                }
            }
        }
        out.sort_by(|a, b| a.digest().cmp(b.digest()));
        Ok(out)
    }

    /// Remove a blob (`NotFound` naming it if absent).
    pub fn delete(&self, digest: &Digest) -> Result<()> {
        check_sha256(digest)?;
        let path = self.blob_path(digest);
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                Err(StoreError::NotFound(format!("blob {digest}")))
            }
            Err(e) => Err(StoreError::io(&path, e)),
        }
    }
}

fn check_sha256(digest: &Digest) -> Result<()> {
    if *digest.algorithm() != DigestAlgorithm::Sha256 {
        return Err(StoreError::Invalid(format!(
            "{digest}: only sha256 digests are stored"
        )));
    }
    Ok(())
}

/// A name no other writer (in this or another process) picks, and no other user can predict
/// (the pid for whoever reads a leftover, 64 random bits; creation is `O_EXCL` anyway).
pub(crate) fn unique_name() -> io::Result<String> {
    let random = berth_layers::atomic_file::random_u64()?;
    Ok(format!("{}-{random:016x}", std::process::id()))
}

/// Fsync a directory (after a rename into it).
pub(crate) fn fsync_dir(dir: &Path) -> Result<()> {
    let f = File::open(dir).map_err(|e| StoreError::io(dir, e))?;
    f.sync_all().map_err(|e| StoreError::io(dir, e))
}

/// What [`ContentStore::stage_verified`] did.
pub enum Staged {
    /// The store already had the blob (its size).
    Present(u64),
    /// Written and verified under `ingest/`, not yet visible.
    Verified(IngestWriter),
}

/// A blob being written under `ingest/`; hashes while writing. `Send + 'static`, so it can be
/// the sink of a multi-threaded compressor. Dropping it uncommitted removes the ingest file.
pub struct IngestWriter {
    file: Option<File>,
    path: PathBuf,
    blobs: PathBuf,
    counter: Sha256Counter,
    _lock: StoreLock,
}

impl IngestWriter {
    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.counter.len()
    }

    /// A write error of this writer as the store's error, naming the ingest file once (the
    /// [`Write`] impl already puts the path in the message for callers that only see
    /// `io::Error`).
    fn error(&self, e: io::Error) -> StoreError {
        match e
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<NamedIoError>())
        {
            Some(named) => StoreError::io(&self.path, io::Error::new(e.kind(), named.0.clone())),
            None => StoreError::io(&self.path, e),
        }
    }

    /// The first bytes written (up to berth-layers' `media_type::HEAD_LEN`), read back from
    /// the ingest file: what the blob's media type is checked against.
    pub fn head(&mut self) -> Result<Vec<u8>> {
        if let Some(f) = self.file.as_mut() {
            f.flush().map_err(|e| StoreError::io(&self.path, e))?;
        }
        let mut file = File::open(&self.path).map_err(|e| StoreError::io(&self.path, e))?;
        berth_layers::media_type::read_head(&mut file).map_err(|e| StoreError::io(&self.path, e))
    }

    /// The whole blob written so far, read back from the ingest file, refused past `limit`
    /// bytes (a config checked before its image's blobs are committed).
    pub fn read_back(&mut self, limit: u64) -> Result<Vec<u8>> {
        if self.counter.len() > limit {
            return Err(StoreError::Invalid(format!(
                "{}: {} bytes, more than the {limit} allowed",
                self.path.display(),
                self.counter.len()
            )));
        }
        if let Some(f) = self.file.as_mut() {
            f.flush().map_err(|e| StoreError::io(&self.path, e))?;
        }
        fs::read(&self.path).map_err(|e| StoreError::io(&self.path, e))
    }

    /// Verify (when `expected` is given) digest and size, fsync, rename into `blobs/`, fsync the
    /// directory. Returns the digest and size. On mismatch the ingest file is removed.
    pub fn commit(self, expected: Option<(&Digest, u64)>) -> Result<(Digest, u64)> {
        if let Some((digest, size)) = expected {
            if self.counter.len() != size {
                return Err(StoreError::DigestMismatch {
                    what: format!("blob {digest}"),
                    expected: format!("{size} bytes"),
                    actual: format!("{} bytes", self.counter.len()),
                });
            }
        }
        self.finish(expected.map(|(d, _)| d))
    }

    /// Check digest and size as [`IngestWriter::commit`] would, without committing: the
    /// caller commits once every blob it needs is verified.
    pub fn verify(&self, digest: &Digest, size: u64) -> Result<()> {
        let (actual, len) = self.counter.clone().finish();
        if len != size {
            return Err(StoreError::DigestMismatch {
                what: format!("blob {digest}"),
                expected: format!("{size} bytes"),
                actual: format!("{len} bytes"),
            });
        }
        if actual != *digest {
            return Err(StoreError::DigestMismatch {
                what: format!("blob {digest}"),
                expected: digest.to_string(),
                actual: actual.to_string(),
            });
        }
        Ok(())
    }

    /// Like [`IngestWriter::commit`] when only the digest is known.
    pub fn commit_digest(self, expected: &Digest) -> Result<(Digest, u64)> {
        self.finish(Some(expected))
    }

    fn finish(mut self, expected: Option<&Digest>) -> Result<(Digest, u64)> {
        let (digest, size) = self.counter.clone().finish();
        if let Some(want) = expected {
            if *want != digest {
                return Err(StoreError::DigestMismatch {
                    what: format!("blob {want}"),
                    expected: want.to_string(),
                    actual: digest.to_string(),
                });
            }
        }
        let file = match self.file.take() {
            Some(f) => f,
            None => {
                return Err(StoreError::Invalid(format!(
                    "blob {digest}: committed twice"
                )))
            }
        };
        file.sync_all().map_err(|e| StoreError::io(&self.path, e))?;
        rustix::fs::fchmod(&file, rustix::fs::Mode::from_raw_mode(0o444))
            .map_err(|e| StoreError::io(&self.path, e.into()))?;
        drop(file);
        let target = self.blobs.join(digest.digest());
        if target.is_file() {
            // Someone else committed the same bytes first; ours is dropped in `Drop`.
            return Ok((digest, size));
        }
        fs::rename(&self.path, &target).map_err(|e| StoreError::io(&target, e))?;
        // The file is gone from ingest/; nothing left for Drop to remove.
        self.path = PathBuf::new();
        fsync_dir(&self.blobs)?;
        Ok((digest, size))
    }
}

/// An ingest write's error, its text without the path (see [`IngestWriter::error`]).
#[derive(Debug)]
struct NamedIoError(String, String);

impl std::fmt::Display for NamedIoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.1, self.0)
    }
}

impl std::error::Error for NamedIoError {}

impl Write for IngestWriter {
    /// Errors keep their kind and name the ingest file (a full disk is an ENOSPC on a path
    /// the user can look at, also where the caller only sees an `io::Error`, as a layer
    /// writer's sink does).
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let file = self
            .file
            .as_mut()
            .ok_or_else(|| io::Error::other("ingest writer already committed"))?;
        let n = file.write(buf).map_err(|e| {
            io::Error::new(
                e.kind(),
                NamedIoError(e.to_string(), self.path.display().to_string()),
            )
        })?;
        self.counter.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        match self.file.as_mut() {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }
}

impl Drop for IngestWriter {
    fn drop(&mut self) {
        if !self.path.as_os_str().is_empty() {
            let _ = fs::remove_file(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, ContentStore) {
        let dir = tempfile::tempdir().unwrap();
        for d in ["blobs/sha256", "ingest"] {
            fs::create_dir_all(dir.path().join(d)).unwrap();
        }
        let cs = ContentStore::new(dir.path());
        (dir, cs)
    }

    fn ingest_count(dir: &Path) -> usize {
        fs::read_dir(dir.join("ingest")).unwrap().count()
    }

    #[test]
    fn put_and_read_back() {
        let (dir, cs) = store();
        let (d, n) = cs.put_bytes(b"hello").unwrap();
        assert_eq!(n, 5);
        assert!(cs.contains(&d));
        assert_eq!(cs.read_small(&d, 10).unwrap(), b"hello");
        assert!(cs.read_small(&d, 4).is_err());
        assert_eq!(cs.size(&d).unwrap(), 5);
        assert_eq!(cs.list().unwrap(), vec![d.clone()]);
        // Idempotent.
        cs.put_bytes(b"hello").unwrap();
        assert_eq!(ingest_count(dir.path()), 0);
        cs.delete(&d).unwrap();
        assert!(matches!(cs.open(&d), Err(StoreError::NotFound(m)) if m.contains(d.digest())));
    }

    #[test]
    fn mismatch_is_refused_and_cleaned() {
        let (dir, cs) = store();
        let want = berth_layers::digest::digest_bytes(b"good");
        let err = cs.put_verified(&b"evil"[..], &want, Some(4)).unwrap_err();
        assert!(matches!(err, StoreError::DigestMismatch { .. }), "{err}");
        assert!(err.to_string().contains(want.digest()), "{err}");
        assert!(!cs.contains(&want));
        assert_eq!(ingest_count(dir.path()), 0);
        let err = cs.put_verified(&b"good!"[..], &want, Some(4)).unwrap_err();
        assert!(matches!(err, StoreError::DigestMismatch { .. }), "{err}");
        assert_eq!(cs.put_verified(&b"good"[..], &want, Some(4)).unwrap(), 4);
        assert!(cs.contains(&want));
    }

    #[test]
    fn present_blob_is_not_read_again() {
        struct Panics;
        impl Read for Panics {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                panic!("source read although the blob is present");
            }
        }
        let (_dir, cs) = store();
        let (d, _) = cs.put_bytes(b"abc").unwrap();
        assert_eq!(cs.put_verified(Panics, &d, Some(3)).unwrap(), 3);
        assert_eq!(cs.put_verified(Panics, &d, None).unwrap(), 3);
        assert!(cs.put_verified(Panics, &d, Some(4)).is_err());
    }

    #[test]
    fn writer_is_send_static_and_drop_cleans() {
        fn assert_send<T: Write + Send + 'static>(_: &T) {}
        let (dir, cs) = store();
        let mut w = cs.writer().unwrap();
        assert_send(&w);
        w.write_all(b"partial").unwrap();
        assert_eq!(ingest_count(dir.path()), 1);
        drop(w);
        assert_eq!(ingest_count(dir.path()), 0);
        let mut w = cs.writer().unwrap();
        w.write_all(b"x").unwrap();
        let (d, _) = w.commit(None).unwrap();
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(cs.blob_path(&d)).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o444);
    }
}
