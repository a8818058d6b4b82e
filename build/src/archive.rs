//! ADD's local archives: which sources are tar archives to extract (uncompressed, gzip,
//! bzip2 or zstd; the tar header checked inside the compression, so a compressed file that
//! is no tar is copied as it is, as Buildah and Docker do), and the decoded stream to extract.

use std::fs::File;
use std::io::{self, BufReader, Read};

const BZIP2_MAGIC: &[u8] = b"BZh";
const XZ_MAGIC: &[u8] = &[0xfd, b'7', b'z', b'X', b'Z', 0];

/// Whether the regular file that `open` opens (each call a fresh descriptor) is a tar archive
/// ADD extracts: `Some(true)` an uncompressed, gzip, bzip2 or zstd tar, `Some(false)` an xz
/// file (not supported), `None` no archive.
pub fn tar_kind(open: impl Fn() -> Option<File>) -> Option<bool> {
    let mut magic = [0u8; 6];
    let n = open()?.read(&mut magic).unwrap_or(0);
    if magic[..n].starts_with(XZ_MAGIC) {
        return Some(false);
    }
    let mut head = Vec::with_capacity(512);
    decoded(open()?)
        .ok()?
        .take(512)
        .read_to_end(&mut head)
        .ok()?;
    (head.len() >= 262 && &head[257..262] == b"ustar").then_some(true)
}

/// The tar stream inside archive `file` (bzip2 decoded here; gzip and zstd by berth-layers,
/// which detects them itself).
pub fn decoded(file: File) -> io::Result<Box<dyn Read + Send>> {
    let mut reader = BufReader::new(file);
    let head = io::BufRead::fill_buf(&mut reader)?;
    if head.starts_with(BZIP2_MAGIC) {
        return Ok(Box::new(bzip2::bufread::MultiBzDecoder::new(reader)));
    }
    Ok(berth_layers::compression::decompress(reader)?.1)
}
