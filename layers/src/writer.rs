//! The layer writer: one pass tar → diff_id hash → compress → digest hash → sink.
//!
//! Headers are built here (ustar with PAX extensions), not by `tar::Builder`, so that the
//! bytes depend only on the tree and the options: numeric owners with empty user and group
//! names, no atime/ctime, a fixed PAX header name, xattrs sorted by name. Names longer than
//! the 100-byte ustar field go in a PAX `path` record, long link targets in `linkpath`.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs;
use std::io::{self, BufWriter, Read, Write};
use std::os::fd::BorrowedFd;
use std::path::Path;

use rustix::fs::{FileType, Mode, OFlags};

use oci_spec::image::MediaType;
use tar::{EntryType, Header};

use crate::compression::{self, Compression, FinishWrite};
use crate::digest::{Digest, HashingWriter};
use crate::error::{LayerError, Result};
use crate::inroot::{self, Meta};

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

/// Name of the PAX extended header entries (the one GNU tar uses for `--format=posix`
/// with a fixed name, so output stays deterministic).
const PAX_HEADER_NAME: &[u8] = b"././@PaxHeader";
const BLOCK: usize = 512;

type Compressed<W> = Box<dyn FinishWrite<HashingWriter<W>>>;

/// Streams tar entries into a compressed, hashed layer blob.
///
/// Entries are appended by the caller in the order they should appear (the differs sort
/// them for deterministic output). Owners are numeric only, long names and xattrs use PAX.
pub struct LayerWriter<W: Write + Send + 'static> {
    out: BufWriter<HashingWriter<Compressed<W>>>,
    options: LayerOptions,
    /// First layer name of each (dev, ino) with more than one link.
    links: HashMap<(u64, u64), String>,
}

impl<W: Write + Send + 'static> LayerWriter<W> {
    /// Start a layer that will be written to `sink`.
    pub fn new(sink: W, options: LayerOptions) -> Result<Self> {
        let comp =
            compression::compressor(HashingWriter::new(sink), options.compression, options.level)
                .map_err(LayerError::Sink)?;
        Ok(LayerWriter {
            out: BufWriter::with_capacity(256 * 1024, HashingWriter::new(comp)),
            options,
            links: HashMap::new(),
        })
    }

    fn clamp_mtime(&self, mtime: i64) -> u64 {
        let m = mtime.max(0) as u64;
        match self.options.mtime {
            Some(max) => m.min(max),
            None => m,
        }
    }

    /// Append the file system object `entry` of the opened directory `dir` under the layer
    /// name `name` (relative, `/`-separated); `meta` is its lstat ([`inroot::meta_at`]),
    /// `shown` its path in errors. Nothing is reached through a path string: the content is
    /// opened below `dir` with `O_NOFOLLOW`, the link target and xattrs read without following
    /// `entry`, so a tree changed meanwhile (a running container's) cannot lead the read out.
    ///
    /// Sockets cannot be stored in a tar and are skipped. A regular file with more than one
    /// link that was already appended (same device and inode) becomes a hardlink entry to the
    /// first name.
    pub fn append_at(
        &mut self,
        name: &str,
        dir: BorrowedFd<'_>,
        entry: &OsStr,
        meta: &Meta,
        shown: &Path,
    ) -> Result<()> {
        let io_err = |e: io::Error| LayerError::io(shown, e);
        let mut name = clean_name(name);
        let mtime = self.clamp_mtime(meta.mtime);
        let mode = meta.mode & 0o7777;
        let mut pax = Vec::new();
        let (kind, size, link): (EntryType, u64, Option<Vec<u8>>) = match meta.kind {
            FileType::Directory => {
                if !name.ends_with('/') {
                    name.push('/');
                }
                (EntryType::Directory, 0, None)
            }
            FileType::RegularFile => {
                if meta.nlink > 1 {
                    let key = (meta.dev, meta.ino);
                    if let Some(first) = self.links.get(&key) {
                        let first = first.clone().into_bytes();
                        (EntryType::Link, 0, Some(first))
                    } else {
                        self.links.insert(key, name.clone());
                        (EntryType::Regular, meta.size, None)
                    }
                } else {
                    (EntryType::Regular, meta.size, None)
                }
            }
            FileType::Symlink => {
                let target =
                    rustix::fs::readlinkat(dir, entry, Vec::new()).map_err(|e| io_err(e.into()))?;
                (EntryType::Symlink, 0, Some(target.into_bytes()))
            }
            FileType::CharacterDevice => (EntryType::Char, 0, None),
            FileType::BlockDevice => (EntryType::Block, 0, None),
            FileType::Fifo => (EntryType::Fifo, 0, None),
            _ => {
                tracing::debug!(path = %shown.display(), "skipping socket: tar cannot store it");
                return Ok(());
            }
        };
        let mut h = new_header(kind, mode, meta.uid as u64, meta.gid as u64, mtime, size);
        if matches!(kind, EntryType::Char | EntryType::Block) {
            set_io(h.set_device_major(rustix::fs::major(meta.rdev)), &name)?;
            set_io(h.set_device_minor(rustix::fs::minor(meta.rdev)), &name)?;
        }
        let xattrs = if kind == EntryType::Link {
            Vec::new() // the first name carries them
        } else {
            read_xattrs_at(dir, entry, shown)?
        };
        for (k, v) in xattrs {
            let mut key = b"SCHILY.xattr.".to_vec();
            key.extend_from_slice(&k);
            pax.push((key, v));
        }
        if kind == EntryType::Regular {
            let fd = rustix::fs::openat(
                dir,
                entry,
                OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .map_err(|e| io_err(e.into()))?;
            let now = Meta::from(&rustix::fs::fstat(&fd).map_err(|e| io_err(e.into()))?);
            if now.kind != FileType::RegularFile || now.ino != meta.ino || now.dev != meta.dev {
                return Err(io_err(io::Error::other(
                    "replaced while the layer was being written",
                )));
            }
            let file = fs::File::from(fd);
            self.emit(h, name.as_bytes(), link.as_deref(), pax, Some(file), shown)
        } else {
            self.emit(
                h,
                name.as_bytes(),
                link.as_deref(),
                pax,
                None::<io::Empty>,
                shown,
            )
        }
    }

    /// Append an empty regular file named `name` (used for whiteouts `.wh.<name>` and the
    /// opaque marker `.wh..wh..opq`), owned by 0:0, mode 0644, mtime the options' mtime or 0.
    pub fn append_marker(&mut self, name: &str) -> Result<()> {
        let name = clean_name(name);
        let h = new_header(
            EntryType::Regular,
            0o644,
            0,
            0,
            self.options.mtime.unwrap_or(0),
            0,
        );
        self.emit(
            h,
            name.as_bytes(),
            None,
            Vec::new(),
            None::<io::Empty>,
            Path::new(&name),
        )
    }

    /// Append a raw entry from another tar stream (used when re-encoding an existing tar).
    /// The header's fields are kept; `name` replaces its name (through PAX when long); the
    /// link name is the header's own field; `data` must hold the header's size in bytes.
    pub fn append_raw(&mut self, header: &tar::Header, name: &str, data: impl Read) -> Result<()> {
        let link = header.link_name_bytes().map(|l| l.into_owned());
        self.append_fields(header, name.as_bytes(), link.as_deref(), Vec::new(), data)
    }

    /// Re-emit a parsed entry with its full path and link name (GNU or PAX long names
    /// resolved by the parser) and its `SCHILY.xattr.*` PAX records.
    ///
    /// Names with `..` components are refused (no layer berth writes can climb out of the
    /// root); PAX global headers are dropped.
    pub fn append_entry<R: Read>(&mut self, entry: &mut tar::Entry<'_, R>) -> Result<()> {
        if entry.header().entry_type() == EntryType::XGlobalHeader {
            return Ok(());
        }
        let (name, link) = crate::pax::entry_names(entry).map_err(|e| {
            LayerError::entry(
                String::from_utf8_lossy(&entry.path_bytes()),
                format!("PAX header: {e}"),
            )
        })?;
        crate::inroot::entry_path(&name)
            .map_err(|why| LayerError::entry(String::from_utf8_lossy(&name), why))?;
        let mut pax = Vec::new();
        let ext = entry.pax_extensions().map_err(|e| {
            LayerError::entry(String::from_utf8_lossy(&name), format!("PAX header: {e}"))
        })?;
        if let Some(ext) = ext {
            for rec in ext {
                let rec = rec.map_err(|e| {
                    LayerError::entry(String::from_utf8_lossy(&name), format!("PAX record: {e}"))
                })?;
                if rec.key_bytes().starts_with(b"SCHILY.xattr.") {
                    pax.push((rec.key_bytes().to_vec(), rec.value_bytes().to_vec()));
                }
            }
        }
        let mut header = entry.header().clone();
        let size = entry.size();
        header.set_size(size);
        self.append_fields(&header, &name, link.as_deref(), pax, entry)
    }

    fn append_fields(
        &mut self,
        header: &tar::Header,
        name: &[u8],
        link: Option<&[u8]>,
        pax: Vec<(Vec<u8>, Vec<u8>)>,
        data: impl Read,
    ) -> Result<()> {
        let shown = String::from_utf8_lossy(name).into_owned();
        let err = |e: io::Error| LayerError::entry(shown.clone(), format!("bad header: {e}"));
        let kind = header.entry_type();
        let size = header.entry_size().map_err(err)?;
        let mut h = new_header(
            kind,
            header.mode().map_err(err)?,
            header.uid().map_err(err)?,
            header.gid().map_err(err)?,
            self.clamp_mtime(header.mtime().map_err(err)? as i64),
            size,
        );
        if let (Ok(Some(ma)), Ok(Some(mi))) = (header.device_major(), header.device_minor()) {
            set_io(h.set_device_major(ma), &shown)?;
            set_io(h.set_device_minor(mi), &shown)?;
        }
        let mut name = clean_name(&String::from_utf8_lossy(name));
        if kind == EntryType::Directory && !name.ends_with('/') {
            name.push('/');
        }
        self.emit(h, name.as_bytes(), link, pax, Some(data), Path::new(&shown))
    }

    /// Write one entry: an optional PAX header, the ustar header, `size` bytes of data and
    /// the padding. `origin` names the entry in errors.
    fn emit(
        &mut self,
        mut h: Header,
        name: &[u8],
        link: Option<&[u8]>,
        mut pax: Vec<(Vec<u8>, Vec<u8>)>,
        data: Option<impl Read>,
        origin: &Path,
    ) -> Result<()> {
        {
            let ustar = h
                .as_ustar_mut()
                .ok_or_else(|| LayerError::Other("internal: header is not ustar".into()))?;
            if name.len() <= ustar.name.len() {
                ustar.name[..name.len()].copy_from_slice(name);
            } else {
                let n = ustar.name.len();
                ustar.name.copy_from_slice(&name[..n]);
                pax.insert(0, (b"path".to_vec(), name.to_vec()));
            }
            if let Some(link) = link {
                if link.len() <= ustar.linkname.len() {
                    ustar.linkname[..link.len()].copy_from_slice(link);
                } else {
                    let n = ustar.linkname.len();
                    ustar.linkname.copy_from_slice(&link[..n]);
                    pax.push((b"linkpath".to_vec(), link.to_vec()));
                }
            }
        }
        if !pax.is_empty() {
            let body = crate::pax::body(&pax);
            let mut ph = new_header(EntryType::XHeader, 0o644, 0, 0, 0, body.len() as u64);
            if let Some(u) = ph.as_ustar_mut() {
                u.name[..PAX_HEADER_NAME.len()].copy_from_slice(PAX_HEADER_NAME);
            }
            ph.set_cksum();
            self.write_block(ph.as_bytes())?;
            self.write_all(&body)?;
            self.pad(body.len() as u64)?;
        }
        h.set_cksum();
        self.write_block(h.as_bytes())?;
        let size = h.size().unwrap_or(0);
        if let Some(mut data) = data {
            let mut left = size;
            let mut buf = vec![0u8; 64 * 1024];
            while left > 0 {
                let want = left.min(buf.len() as u64) as usize;
                let n = match data.read(&mut buf[..want]) {
                    Ok(0) => {
                        return Err(LayerError::io(
                            origin,
                            io::Error::new(
                                io::ErrorKind::UnexpectedEof,
                                format!(
                                    "shrank while being written: {left} of {size} bytes missing"
                                ),
                            ),
                        ))
                    }
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(LayerError::io(origin, e)),
                };
                self.write_all(&buf[..n])?;
                left -= n as u64;
            }
            self.pad(size)?;
        } else if size != 0 {
            return Err(LayerError::Other(format!(
                "internal: entry {} has size {size} but no data",
                origin.display()
            )));
        }
        Ok(())
    }

    fn write_block(&mut self, b: &[u8]) -> Result<()> {
        self.write_all(b)
    }

    fn write_all(&mut self, b: &[u8]) -> Result<()> {
        self.out.write_all(b).map_err(LayerError::Sink)
    }

    fn pad(&mut self, size: u64) -> Result<()> {
        let rem = (size % BLOCK as u64) as usize;
        if rem != 0 {
            self.write_all(&[0u8; BLOCK][..BLOCK - rem])?;
        }
        Ok(())
    }

    /// Finish the tar stream and the codec; return the sink and the layer's descriptor.
    pub fn finish(mut self) -> Result<(W, LayerDescriptor)> {
        self.write_all(&[0u8; 2 * BLOCK])?;
        let hashing = self
            .out
            .into_inner()
            .map_err(|e| LayerError::Sink(e.into_error()))?;
        let (comp, diff_id, _) = hashing.finish();
        let counted = comp.finish().map_err(LayerError::Sink)?;
        let (sink, digest, size) = counted.finish();
        let compression = self.options.compression;
        Ok((
            sink,
            LayerDescriptor {
                digest,
                diff_id,
                size,
                media_type: compression.oci_layer_media_type(),
                compression,
            },
        ))
    }
}

fn set_io(r: io::Result<()>, name: &str) -> Result<()> {
    r.map_err(|e| LayerError::entry(name, format!("cannot encode header field: {e}")))
}

fn new_header(kind: EntryType, mode: u32, uid: u64, gid: u64, mtime: u64, size: u64) -> Header {
    let mut h = Header::new_ustar();
    h.set_entry_type(kind);
    h.set_mode(mode & 0o7777);
    h.set_uid(uid);
    h.set_gid(gid);
    h.set_mtime(mtime);
    h.set_size(size);
    h
}

/// A layer name without leading `./` or `/`.
fn clean_name(name: &str) -> String {
    let mut n = name;
    loop {
        if let Some(rest) = n.strip_prefix("./") {
            n = rest;
        } else if let Some(rest) = n.strip_prefix('/') {
            n = rest;
        } else {
            break;
        }
    }
    n.to_string()
}

/// The xattrs of `entry` below `dir` (not following it) that go into a layer, sorted by
/// name; `shown` names it in errors.
pub(crate) fn read_xattrs_at(
    dir: BorrowedFd<'_>,
    entry: &OsStr,
    shown: &Path,
) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
    crate::xattrs::read(&inroot::proc_path(dir, entry), false).map_err(|e| LayerError::io(shown, e))
}

/// Re-encode a tar stream in any codec (detected) into a layer blob written to `sink`; used by
/// `import` of a rootfs tarball. Every entry is passed through as parsed by the tar crate.
pub fn tar_stream_to_layer<W: Write + Send + 'static>(
    input: impl Read + Send,
    sink: W,
    options: LayerOptions,
) -> Result<(W, LayerDescriptor)> {
    let (_, reader) = compression::decompress(io::BufReader::with_capacity(256 * 1024, input))
        .map_err(LayerError::Stream)?;
    let mut archive = tar::Archive::new(reader);
    let mut w = LayerWriter::new(sink, options)?;
    for entry in archive.entries().map_err(LayerError::Stream)? {
        let mut entry = entry.map_err(LayerError::Stream)?;
        w.append_entry(&mut entry)?;
    }
    w.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_names_and_markers_parse_back() {
        let long = format!("{}/file", "d".repeat(150));
        let mut w = LayerWriter::new(
            Vec::new(),
            LayerOptions {
                compression: Compression::None,
                ..Default::default()
            },
        )
        .unwrap();
        w.append_marker(&long).unwrap();
        w.append_marker("./.wh.x").unwrap();
        let (tarball, desc) = w.finish().unwrap();
        assert_eq!(desc.digest, desc.diff_id);
        let mut ar = tar::Archive::new(&tarball[..]);
        let names: Vec<String> = ar
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, vec![long, ".wh.x".to_string()]);
    }
}
