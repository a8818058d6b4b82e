//! The layer writer: one pass tar → diff_id hash → compress → digest hash → sink.

use std::io::{Read, Write};
use std::path::Path;

use oci_spec::image::MediaType;

use crate::compression::Compression;
use crate::digest::Digest;
use crate::error::Result;

/// How to write a layer.
#[derive(Debug, Clone)]
pub struct LayerOptions {
    /// Codec of the blob (default gzip).
    pub compression: Compression,
    /// Codec level; `None` picks berth's default for the codec.
    pub level: Option<i32>,
    /// When set, every entry's mtime is clamped to this value (seconds since the epoch), for
    /// reproducible layers.
    pub mtime: Option<u64>,
}

impl Default for LayerOptions {
    fn default() -> Self {
        LayerOptions {
            compression: Compression::Gzip,
            level: None,
            mtime: None,
        }
    }
}

/// What a written layer is: the values a manifest and a config need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerDescriptor {
    /// sha256 of the compressed blob.
    pub digest: Digest,
    /// sha256 of the uncompressed tar stream.
    pub diff_id: Digest,
    /// Size of the compressed blob in bytes.
    pub size: u64,
    /// OCI media type matching `compression`.
    pub media_type: MediaType,
    /// Codec of the blob.
    pub compression: Compression,
}

/// Streams tar entries into a compressed, hashed layer blob.
///
/// Entries are appended by the caller in the order they should appear; [`crate::diff`]
/// sorts them for deterministic output. Owners are numeric only, long names and xattrs use PAX.
pub struct LayerWriter<W: Write + Send + 'static> {
    _sink: std::marker::PhantomData<W>,
}

impl<W: Write + Send + 'static> LayerWriter<W> {
    /// Start a layer that will be written to `sink`.
    pub fn new(sink: W, options: LayerOptions) -> Result<Self> {
        let _ = (sink, options);
        todo!()
    }

    /// Append the file system object at host path `path` under the layer name `name`
    /// (relative, `/`-separated), reading metadata with lstat and xattrs from the host.
    pub fn append_path(&mut self, name: &str, path: &Path) -> Result<()> {
        let _ = (name, path);
        todo!()
    }

    /// Append an empty regular file named `name` (used for whiteouts `.wh.<name>` and the
    /// opaque marker `.wh..wh..opq`), owned by 0:0, mode 0644... set by the implementation.
    pub fn append_marker(&mut self, name: &str) -> Result<()> {
        let _ = name;
        todo!()
    }

    /// Append a raw entry from another tar stream (used when re-encoding an existing tar).
    pub fn append_raw(&mut self, header: &tar::Header, name: &str, data: impl Read) -> Result<()> {
        let _ = (header, name, data);
        todo!()
    }

    /// Finish the tar stream and the codec; return the sink and the layer's descriptor.
    pub fn finish(self) -> Result<(W, LayerDescriptor)> {
        todo!()
    }
}

/// Re-encode a tar stream in any codec (detected) into a layer blob written to `sink`; used by
/// `import` of a rootfs tarball. Every entry is passed through as parsed by the tar crate.
pub fn tar_stream_to_layer<W: Write + Send + 'static>(
    input: impl Read + Send,
    sink: W,
    options: LayerOptions,
) -> Result<(W, LayerDescriptor)> {
    let _ = (input, sink, options);
    todo!()
}
