//! sha256 digests: typed values (oci-spec's [`Digest`]), a hashing writer and a verifying reader.
//!
//! Every byte that enters berth from outside passes through [`VerifyingReader`] or
//! [`HashingWriter`]; the check belongs to these types, never to their callers.

use std::io::{self, Read, Write};
use std::str::FromStr;

pub use oci_spec::image::{Digest, DigestAlgorithm, Sha256Digest};
use sha2::{Digest as _, Sha256};

/// A running sha256 with a byte count.
#[derive(Clone, Default)]
pub struct Sha256Counter {
    hasher: Sha256,
    len: u64,
}

impl Sha256Counter {
    /// A fresh hash of zero bytes.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feed bytes.
    pub fn update(&mut self, buf: &[u8]) {
        self.hasher.update(buf);
        self.len += buf.len() as u64;
    }

    /// Bytes fed so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True when nothing was fed.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The digest and size of everything fed.
    pub fn finish(self) -> (Digest, u64) {
        let hex = hex::encode(self.hasher.finalize());
        (
            sha256_from_hex(&hex).expect("sha256 hex is valid"),
            self.len,
        )
    }
}

/// Build a sha256 [`Digest`] from 64 lowercase hex characters.
pub fn sha256_from_hex(hex: &str) -> Result<Digest, String> {
    Sha256Digest::from_str(hex)
        .map(Digest::from)
        .map_err(|e| format!("invalid sha256 hex {hex:?}: {e}"))
}

/// Parse `sha256:<hex>` (only sha256 is accepted: the store addresses blobs by it).
pub fn parse_sha256(s: &str) -> Result<Digest, String> {
    let d = Digest::from_str(s).map_err(|e| format!("invalid digest {s:?}: {e}"))?;
    check_supported(&d)?;
    Ok(d)
}

/// Refuse a digest berth cannot verify, before anything is requested by it: sha256 is
/// supported; sha384 and sha512 are valid OCI digests berth does not verify ("unsupported
/// digest algorithm"); any other algorithm is not a registered one ("invalid digest").
pub fn check_supported(d: &Digest) -> Result<(), String> {
    match d.algorithm() {
        DigestAlgorithm::Sha256 => Ok(()),
        DigestAlgorithm::Sha384 | DigestAlgorithm::Sha512 => Err(format!(
            "unsupported digest algorithm {} in {d}: berth verifies sha256 only",
            d.algorithm()
        )),
        other => Err(format!(
            "invalid digest {d}: {other} is not a registered digest algorithm"
        )),
    }
}

/// The sha256 digest of a byte slice.
pub fn digest_bytes(bytes: &[u8]) -> Digest {
    let mut c = Sha256Counter::new();
    c.update(bytes);
    c.finish().0
}

/// Hash a whole stream, returning its digest and length.
pub fn digest_reader(mut r: impl Read) -> io::Result<(Digest, u64)> {
    let mut c = Sha256Counter::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        c.update(&buf[..n]);
    }
    Ok(c.finish())
}

/// A writer that hashes and counts everything written through it.
pub struct HashingWriter<W> {
    inner: W,
    counter: Sha256Counter,
}

impl<W: Write> HashingWriter<W> {
    /// Wrap `inner`.
    pub fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            counter: Sha256Counter::new(),
        }
    }

    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.counter.len()
    }

    /// The inner writer.
    pub fn get_ref(&self) -> &W {
        &self.inner
    }

    /// Return the inner writer with the digest and size of what went through.
    pub fn finish(self) -> (W, Digest, u64) {
        let (d, n) = self.counter.finish();
        (self.inner, d, n)
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.counter.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A reader that hashes what it returns and fails at EOF (with `InvalidData`) when the digest
/// or the size differs from what was expected; it also fails as soon as more bytes than the
/// expected size arrive.
pub struct VerifyingReader<R> {
    inner: R,
    expected: Digest,
    expected_size: Option<u64>,
    counter: Sha256Counter,
    verified: bool,
}

impl<R: Read> VerifyingReader<R> {
    /// Verify `inner` against `expected` (and `expected_size` when known).
    pub fn new(inner: R, expected: Digest, expected_size: Option<u64>) -> Self {
        VerifyingReader {
            inner,
            expected,
            expected_size,
            counter: Sha256Counter::new(),
            verified: false,
        }
    }

    /// True once EOF was reached and everything matched.
    pub fn verified(&self) -> bool {
        self.verified
    }

    /// The inner reader.
    pub fn into_inner(self) -> R {
        self.inner
    }
}

impl<R: Read> Read for VerifyingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 {
            if !self.verified && !buf.is_empty() {
                let (actual, size) = self.counter.clone().finish();
                if let Some(want) = self.expected_size {
                    if size != want {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            format!(
                                "blob {}: size mismatch: expected {want} bytes, got {size}",
                                self.expected
                            ),
                        ));
                    }
                }
                if actual != self.expected {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("digest mismatch: expected {}, got {actual}", self.expected),
                    ));
                }
                self.verified = true;
            }
            return Ok(0);
        }
        self.counter.update(&buf[..n]);
        if let Some(want) = self.expected_size {
            if self.counter.len() > want {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "blob {}: longer than the expected {want} bytes",
                        self.expected
                    ),
                ));
            }
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMPTY: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn empty_digest() {
        assert_eq!(digest_bytes(b"").to_string(), EMPTY);
    }

    #[test]
    fn verifying_reader_accepts_match_and_refuses_mismatch() {
        let d = digest_bytes(b"hello");
        let mut ok = VerifyingReader::new(&b"hello"[..], d.clone(), Some(5));
        let mut out = Vec::new();
        ok.read_to_end(&mut out).unwrap();
        assert!(ok.verified());

        let mut bad = VerifyingReader::new(&b"hellO"[..], d.clone(), Some(5));
        let err = bad.read_to_end(&mut Vec::new()).unwrap_err();
        assert!(err.to_string().contains("digest mismatch"), "{err}");

        let mut long = VerifyingReader::new(&b"hello!"[..], d, Some(5));
        let err = long.read_to_end(&mut Vec::new()).unwrap_err();
        assert!(err.to_string().contains("longer"), "{err}");
    }

    #[test]
    fn parse_refuses_other_algorithms_and_bad_hex() {
        assert!(parse_sha256(EMPTY).is_ok());
        assert!(parse_sha256("sha512:abcd").is_err());
        let sha512 = format!("sha512:{}", "a".repeat(128));
        let err = parse_sha256(&sha512).unwrap_err();
        assert!(err.contains("unsupported digest algorithm sha512"), "{err}");
        let err = parse_sha256("md5:d41d8cd98f00b204e9800998ecf8427e").unwrap_err();
        assert!(
            err.contains("invalid digest") && err.contains("md5"),
            "{err}"
        );
        assert!(parse_sha256("sha256:xyz").is_err());
    }
}
