//! Layer compression: detection by magic bytes, streaming decoders, multi-core encoders.

use std::io::{self, BufRead, Read, Write};

use oci_spec::image::MediaType;

/// How a layer blob is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Compression {
    /// A plain tar stream.
    None,
    /// gzip (RFC 1952).
    Gzip,
    /// zstd.
    Zstd,
}

impl Compression {
    /// Detect the codec from the first bytes of a stream (at least 4 bytes for a sure answer).
    pub fn detect(magic: &[u8]) -> Compression {
        todo!("detect {}", magic.len())
    }

    /// The OCI layer media type for a layer stored with this codec.
    pub fn oci_layer_media_type(self) -> MediaType {
        todo!()
    }

    /// The codec a layer media type announces (OCI and Docker v2s2 names), if any is known.
    pub fn from_media_type(media_type: &MediaType) -> Option<Compression> {
        todo!("{media_type}")
    }

    /// Parse a user's `--compression-format` value: `gzip`, `zstd`, `none`/`uncompressed`.
    pub fn parse(name: &str) -> Option<Compression> {
        todo!("{name}")
    }
}

/// Wrap a reader, detect its codec from the first bytes (without consuming them) and return a
/// reader of the decompressed stream. A truncated or corrupt stream surfaces as an I/O error
/// from the returned reader.
pub fn decompress<'a, R: BufRead + Send + 'a>(
    reader: R,
) -> io::Result<(Compression, Box<dyn Read + Send + 'a>)> {
    let _ = reader;
    todo!()
}

/// A writer that must be finished explicitly: `finish` flushes the codec's trailer and returns
/// the sink.
pub trait FinishWrite<W>: Write + Send {
    /// Write the trailer, wait for worker threads, and hand back the sink.
    fn finish(self: Box<Self>) -> io::Result<W>;
}

/// A compressing writer over `sink` that uses every core for gzip and zstd. `level` is the
/// codec's own level (default gzip 6... see the implementation for the chosen defaults).
pub fn compressor<W: Write + Send + 'static>(
    sink: W,
    compression: Compression,
    level: Option<i32>,
) -> io::Result<Box<dyn FinishWrite<W>>> {
    let _ = (sink, compression, level);
    todo!()
}
