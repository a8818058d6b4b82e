//! Layer compression: detection by magic bytes, streaming decoders, multi-core encoders.
//!
//! Defaults: gzip level 6 (the zlib default, what registries and `docker save` produce),
//! zstd level 3. Both encoders use every core reported by
//! [`std::thread::available_parallelism`]: our own parallel gzip writer (`pargzip`, which
//! stores incompressible stretches instead of deflating them, see `block`) and zstdmt.
//! Which media type names which codec is kept in the `media_type` module, beside every other
//! media type name (`Compression::from_media_type`, `Compression::oci_layer_media_type`).

use std::io::{self, BufRead, Read, Write};

mod block;
mod pargzip;

/// Default gzip level.
pub const DEFAULT_GZIP_LEVEL: i32 = 6;
/// Default zstd level.
pub const DEFAULT_ZSTD_LEVEL: i32 = 3;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

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
        if magic.starts_with(&GZIP_MAGIC) {
            Compression::Gzip
        } else if magic.starts_with(&ZSTD_MAGIC) {
            Compression::Zstd
        } else {
            Compression::None
        }
    }

    /// Parse a user's `--compression-format` value: `gzip`, `zstd`, `none`/`uncompressed`.
    pub fn parse(name: &str) -> Option<Compression> {
        match name {
            "gzip" => Some(Compression::Gzip),
            "zstd" => Some(Compression::Zstd),
            "none" | "uncompressed" => Some(Compression::None),
            _ => None,
        }
    }

    /// The name `parse` accepts for this codec.
    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        }
    }
}

impl std::fmt::Display for Compression {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Wrap a reader, detect its codec from the first bytes (without consuming them) and return a
/// reader of the decompressed stream. A truncated or corrupt stream surfaces as an I/O error
/// from the returned reader.
pub fn decompress<'a, R: BufRead + Send + 'a>(
    mut reader: R,
) -> io::Result<(Compression, Box<dyn Read + Send + 'a>)> {
    // A BufReader's first fill holds its whole capacity unless the source gives short reads;
    // layer sources (files, HTTP bodies through a BufReader) give at least 4 bytes.
    let buf = loop {
        match reader.fill_buf() {
            Ok(b) => break b,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    };
    let codec = Compression::detect(buf);
    let out: Box<dyn Read + Send + 'a> = match codec {
        Compression::None => Box::new(reader),
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(reader)),
        Compression::Zstd => Box::new(ZstdErrors {
            inner: zstd::stream::read::Decoder::with_buffer(reader)?,
        }),
    };
    Ok((codec, out))
}

/// Names the codec in zstd's errors (a truncated frame, junk after the magic) and reports
/// them as `InvalidData`.
struct ZstdErrors<R> {
    inner: R,
}

impl<R: Read> Read for ZstdErrors<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).map_err(|e| {
            if e.kind() == io::ErrorKind::Interrupted {
                e
            } else {
                io::Error::new(io::ErrorKind::InvalidData, format!("zstd: {e}"))
            }
        })
    }
}

/// A writer that must be finished explicitly: `finish` flushes the codec's trailer and returns
/// the sink.
pub trait FinishWrite<W>: Write + Send {
    /// Write the trailer, wait for worker threads, and hand back the sink.
    fn finish(self: Box<Self>) -> io::Result<W>;
}

/// The number of cores to use for compression.
fn cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

struct Plain<W>(W);

impl<W: Write> Write for Plain<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl<W: Write + Send> FinishWrite<W> for Plain<W> {
    fn finish(mut self: Box<Self>) -> io::Result<W> {
        self.0.flush()?;
        Ok(self.0)
    }
}

struct Zstd<W: Write>(zstd::stream::write::Encoder<'static, W>);

impl<W: Write> Write for Zstd<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl<W: Write + Send> FinishWrite<W> for Zstd<W> {
    fn finish(self: Box<Self>) -> io::Result<W> {
        let mut w = self.0.finish()?;
        w.flush()?;
        Ok(w)
    }
}

/// A compressing writer over `sink` that uses every core for gzip and zstd. `level` is the
/// codec's own level: gzip 0–9 (default [`DEFAULT_GZIP_LEVEL`]), zstd 1–22 (default
/// [`DEFAULT_ZSTD_LEVEL`]). gzip output is one member whose 512 KiB blocks are compressed in
/// parallel (each primed with the 32 KiB before it), incompressible stretches stored as they
/// are; it depends only on the input and the level, not on the number of threads or on how
/// the input was split into writes.
pub fn compressor<W: Write + Send + 'static>(
    sink: W,
    compression: Compression,
    level: Option<i32>,
) -> io::Result<Box<dyn FinishWrite<W>>> {
    match compression {
        Compression::None => Ok(Box::new(Plain(sink))),
        Compression::Gzip => {
            let level = level.unwrap_or(DEFAULT_GZIP_LEVEL);
            if !(0..=9).contains(&level) {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("gzip level {level} is not in 0..=9"),
                ));
            }
            Ok(Box::new(pargzip::ParGzip::new(sink, level as u32, cores())))
        }
        Compression::Zstd => {
            let level = level.unwrap_or(DEFAULT_ZSTD_LEVEL);
            let mut enc = zstd::stream::write::Encoder::new(sink, level)?;
            let n = cores();
            if n > 1 {
                enc.multithread(n as u32)?;
            }
            Ok(Box::new(Zstd(enc)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(c: Compression) {
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        let mut w = compressor(Vec::new(), c, None).unwrap();
        w.write_all(&data).unwrap();
        let blob = w.finish().unwrap();
        let (got, mut r) = decompress(&blob[..]).unwrap();
        assert_eq!(got, c);
        let mut out = Vec::new();
        r.read_to_end(&mut out).unwrap();
        assert_eq!(out, data);
    }

    #[test]
    fn roundtrips() {
        roundtrip(Compression::None);
        roundtrip(Compression::Gzip);
        roundtrip(Compression::Zstd);
    }

    #[test]
    fn names() {
        for c in [Compression::None, Compression::Gzip, Compression::Zstd] {
            assert_eq!(Compression::parse(c.name()), Some(c));
        }
        assert_eq!(Compression::parse("uncompressed"), Some(Compression::None));
        assert_eq!(Compression::parse("lz4"), None);
    }

    struct Failing;
    impl Write for Failing {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::other("disk full"))
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn failing_sinks_give_errors_not_panics() {
        let data = vec![1u8; 4 << 20];
        for c in [Compression::None, Compression::Gzip, Compression::Zstd] {
            let mut w = compressor(Failing, c, None).unwrap();
            let wrote = w.write_all(&data).and_then(|_| w.write_all(&data));
            let finished = w.finish().map(|_| ());
            assert!(wrote.is_err() || finished.is_err(), "{c}");
            // Dropped without finishing, after writes: no panic either.
            let mut w = compressor(Failing, c, None).unwrap();
            let _ = w.write_all(&data);
            drop(w);
            let mut w = compressor(Vec::new(), c, None).unwrap();
            w.write_all(&data).unwrap();
            drop(w);
        }
    }

    #[test]
    fn truncated_and_junk_streams_fail() {
        for c in [Compression::Gzip, Compression::Zstd] {
            let data = vec![7u8; 100_000];
            let mut w = compressor(Vec::new(), c, None).unwrap();
            w.write_all(&data).unwrap();
            let blob = w.finish().unwrap();
            let cut = &blob[..blob.len() / 2];
            let (_, mut r) = decompress(cut).unwrap();
            assert!(r.read_to_end(&mut Vec::new()).is_err(), "{c} truncated");
            let mut junk = blob[..4].to_vec();
            junk.extend_from_slice(&[0xAB; 64]);
            let (_, mut r) = decompress(&junk[..]).unwrap();
            assert!(r.read_to_end(&mut Vec::new()).is_err(), "{c} junk");
        }
    }
}
