//! Apply a layer stream into a directory, safely.
//!
//! The tar crate only parses; every file is created by [`crate::inroot::RootWriter`] relative
//! to directory handles, never following a symlink out of the root. Hostile entries are
//! refused with [`crate::LayerError::Entry`] naming the entry; `apply/entry.rs` holds the OCI
//! rules per entry (whiteouts, opaque directories, replacement).
//!
//! Choices where the OCI image spec leaves room:
//! - Names: a leading `/` or `./` is dropped (names are relative to the root); any `..`
//!   component is refused, even one that would stay inside.
//! - An existing parent component that is a symlink refuses the entry (no write through a
//!   symlink, even one that resolves inside the root); a directory entry over an existing
//!   symlink or file replaces it.
//! - Hardlinks must name an existing non-directory, non-symlink inside the root.
//! - Character and block devices need `privileged`; FIFOs do not.
//! - `trusted.overlay.*` / `user.overlay.*` xattrs in the stream are ignored (with a warning):
//!   a layer cannot smuggle overlay whiteouts or opaque markers that way.
//! - Xattrs are not set on symlinks. An xattr the target file system does not support (or,
//!   when not privileged, that the kernel does not permit) is skipped with a warning.
//! - PAX `size` records that differ from the header size (files over 8 GiB written by some
//!   tools) are refused; GNU sparse entries are refused.
//! - Extended headers (PAX, GNU long name/link) are checked against
//!   [`ApplyLimits::max_header_bytes`] before they are read.

mod entry;

use std::io::{self, BufReader, Read};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tar::EntryType;

use crate::compression;
use crate::digest::{Digest, Sha256Counter};
use crate::error::{LayerError, Result};
use crate::inroot::{entry_path, InRoot, RootWriter};
use entry::{Applier, Item};

/// What to do with whiteout entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhiteoutMode {
    /// Flatten: `.wh.<name>` deletes `<name>` from the target, `.wh..wh..opq` empties the
    /// directory of what earlier layers put there (OCI image spec, applied per layer).
    Delete,
    /// Keep them as overlayfs whiteouts for a snapshot used as an overlay lower dir:
    /// `.wh.<name>` → a 0/0 character device, `.wh..wh..opq` → the opaque xattr with the
    /// given prefix (`trusted.overlay.` as root, `user.overlay.` rootless).
    Overlay { user_xattr: bool },
}

/// Caps that stop decompression bombs and hostile archives.
#[derive(Debug, Clone, Copy)]
pub struct ApplyLimits {
    /// Most tar entries in one layer (extension headers count as entries too).
    pub max_entries: u64,
    /// Most bytes of uncompressed tar stream.
    pub max_expanded_bytes: u64,
    /// Most bytes of one entry's extended headers (PAX, GNU long names).
    pub max_header_bytes: u64,
}

impl Default for ApplyLimits {
    fn default() -> Self {
        ApplyLimits {
            max_entries: 1_000_000,
            max_expanded_bytes: 64 << 30,
            max_header_bytes: 1 << 20,
        }
    }
}

/// How to apply a layer.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// Whiteout handling.
    pub whiteouts: WhiteoutMode,
    /// Limits.
    pub limits: ApplyLimits,
    /// Whether device nodes may be created and ownership set (true when running as root,
    /// or inside a user namespace where it works). When false, device nodes are refused and
    /// ownership is left to the caller's uid.
    pub privileged: bool,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            whiteouts: WhiteoutMode::Delete,
            limits: ApplyLimits::default(),
            privileged: rustix::process::geteuid().is_root(),
        }
    }
}

/// What an apply did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplyStats {
    /// sha256 of the uncompressed tar stream (to check against the config's diff_ids).
    pub diff_id: Digest,
    /// Entries processed.
    pub entries: u64,
    /// Uncompressed bytes read.
    pub tar_bytes: u64,
}

/// Apply a layer (any codec, detected) into the existing directory `root`.
pub fn apply_layer(
    layer: impl Read + Send,
    root: &Path,
    options: &ApplyOptions,
) -> Result<ApplyStats> {
    let opened = InRoot::open(root).map_err(|e| LayerError::io(root, e))?;
    apply_layer_in(layer, opened, options)
}

/// [`apply_layer`] into a directory already opened (a directory resolved inside a container's
/// rootfs, say).
pub fn apply_layer_in(
    layer: impl Read + Send,
    root: InRoot,
    options: &ApplyOptions,
) -> Result<ApplyStats> {
    let limits = options.limits;
    let over = Arc::new(AtomicBool::new(false));
    let (_, decoded) = compression::decompress(BufReader::with_capacity(256 * 1024, layer))
        .map_err(LayerError::Stream)?;
    let counted = Counting {
        inner: decoded,
        hash: Sha256Counter::new(),
        max: limits.max_expanded_bytes,
        over: over.clone(),
    };
    let stream_err = |e: io::Error| -> LayerError {
        if over.load(Ordering::Relaxed) {
            LayerError::Limit(format!(
                "more than {} bytes of uncompressed tar (max_expanded_bytes)",
                limits.max_expanded_bytes
            ))
        } else {
            LayerError::Stream(e)
        }
    };
    let mut applier = Applier::new(RootWriter::new(root), options);
    let mut archive = tar::Archive::new(counted);
    let mut entries = 0u64;
    {
        let iter = archive.entries().map_err(stream_err)?.raw(true);
        let mut ext = Extensions::default();
        for raw in iter {
            let mut e = raw.map_err(stream_err)?;
            entries += 1;
            if entries > limits.max_entries {
                return Err(LayerError::Limit(format!(
                    "more than {} entries (max_entries)",
                    limits.max_entries
                )));
            }
            let header = e.header().clone();
            let kind = header.entry_type();
            let raw_name = String::from_utf8_lossy(&e.path_bytes()).into_owned();
            if matches!(
                kind,
                EntryType::XHeader
                    | EntryType::XGlobalHeader
                    | EntryType::GNULongName
                    | EntryType::GNULongLink
            ) {
                let size = header
                    .entry_size()
                    .map_err(|err| LayerError::entry(&raw_name, format!("bad size: {err}")))?;
                ext.bytes = ext.bytes.saturating_add(size);
                if ext.bytes > limits.max_header_bytes {
                    return Err(LayerError::Limit(format!(
                        "extended header {raw_name:?} of {size} bytes exceeds max_header_bytes ({})",
                        limits.max_header_bytes
                    )));
                }
                let mut buf = Vec::with_capacity(size as usize);
                (&mut e)
                    .take(size)
                    .read_to_end(&mut buf)
                    .map_err(stream_err)?;
                if buf.len() as u64 != size {
                    return Err(LayerError::Stream(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!("extended header {raw_name:?} truncated"),
                    )));
                }
                ext.absorb(kind, buf, &raw_name)?;
                continue;
            }
            let item = ext.take_item(&header, &e.path_bytes(), e.link_name_bytes().as_deref())?;
            applier.apply(&item, &mut e).map_err(|err| match err {
                LayerError::Stream(io) => stream_err(io),
                other => other,
            })?;
        }
        if ext.local {
            return Err(LayerError::Stream(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "extended header at the end of the stream describes no entry",
            )));
        }
    }
    applier.finish()?;
    // Hash the end-of-archive blocks and anything after them, so diff_id covers the stream.
    let mut counted = archive.into_inner();
    io::copy(&mut counted, &mut io::sink()).map_err(stream_err)?;
    let (diff_id, tar_bytes) = counted.hash.finish();
    Ok(ApplyStats {
        diff_id,
        entries,
        tar_bytes,
    })
}

/// Hashes and counts the uncompressed stream, failing once it grows past `max`.
struct Counting<R> {
    inner: R,
    hash: Sha256Counter,
    max: u64,
    over: Arc<AtomicBool>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        if self.hash.len() > self.max {
            self.over.store(true, Ordering::Relaxed);
            return Err(io::Error::other("uncompressed size limit exceeded"));
        }
        Ok(n)
    }
}

/// PAX and GNU records gathered for the next entry.
#[derive(Default)]
struct Extensions {
    bytes: u64,
    /// A local record (PAX `x`, GNU `L`/`K`) is waiting for its entry.
    local: bool,
    /// GNU `L` and `K` names.
    path: Option<Vec<u8>>,
    link: Option<Vec<u8>>,
    /// PAX `path` and `linkpath`: they win over GNU names in either order, as GNU tar reads
    /// them (GHSA-3cv2-h65g-fgmm: a parser that let a later `L` override an earlier PAX
    /// `path` wrote another name than GNU tar and Python's tarfile list).
    pax_path: Option<Vec<u8>>,
    pax_link: Option<Vec<u8>>,
    uid: Option<u64>,
    gid: Option<u64>,
    mtime: Option<i64>,
    size: Option<u64>,
    xattrs: Vec<(Vec<u8>, Vec<u8>)>,
}

fn trim_nul(mut v: Vec<u8>) -> Vec<u8> {
    while v.last() == Some(&0) {
        v.pop();
    }
    v
}

impl Extensions {
    fn absorb(&mut self, kind: EntryType, buf: Vec<u8>, raw_name: &str) -> Result<()> {
        self.local |= kind != EntryType::XGlobalHeader;
        match kind {
            EntryType::GNULongName => self.path = Some(trim_nul(buf)),
            EntryType::GNULongLink => self.link = Some(trim_nul(buf)),
            EntryType::XGlobalHeader => {
                tracing::debug!(entry = raw_name, "ignoring PAX global header");
            }
            _ => {
                for rec in crate::pax::records(&buf) {
                    let (k, v) = rec
                        .map_err(|e| LayerError::entry(raw_name, format!("bad PAX record: {e}")))?;
                    let num = |what: &str| -> Result<u64> {
                        let s = std::str::from_utf8(v).unwrap_or("");
                        let int = s.split('.').next().unwrap_or("");
                        int.parse::<u64>().map_err(|_| {
                            LayerError::entry(
                                raw_name,
                                format!("bad PAX {what} {:?}", String::from_utf8_lossy(v)),
                            )
                        })
                    };
                    match k {
                        b"path" => self.pax_path = Some(v.to_vec()),
                        b"linkpath" => self.pax_link = Some(v.to_vec()),
                        b"uid" => self.uid = Some(num("uid")?),
                        b"gid" => self.gid = Some(num("gid")?),
                        // Fractional or negative times: keep the whole seconds; an
                        // unreadable value falls back to the header's field.
                        b"mtime" => {
                            self.mtime = std::str::from_utf8(v)
                                .ok()
                                .and_then(|t| t.split('.').next())
                                .and_then(|t| t.parse::<i64>().ok())
                        }
                        b"size" => self.size = Some(num("size")?),
                        _ => {
                            if let Some(name) = k.strip_prefix(b"SCHILY.xattr.") {
                                self.xattrs.push((name.to_vec(), v.to_vec()));
                            }
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Merge the gathered records with `header` into an [`Item`], and reset.
    fn take_item(
        &mut self,
        header: &tar::Header,
        name: &[u8],
        link: Option<&[u8]>,
    ) -> Result<Item> {
        let ext = std::mem::take(self);
        let name = ext.pax_path.or(ext.path).unwrap_or_else(|| name.to_vec());
        let shown = String::from_utf8_lossy(&name).into_owned();
        let bad = |what: &str, e: io::Error| LayerError::entry(&shown, format!("bad {what}: {e}"));
        let kind = header.entry_type();
        let old = header.as_old();
        let size = header.entry_size().map_err(|e| bad("size", e))?;
        if let Some(s) = ext.size {
            if s != size {
                return Err(LayerError::entry(
                    &shown,
                    format!("PAX size {s} differs from header size {size}: unsupported"),
                ));
            }
        }
        if kind == EntryType::GNUSparse {
            return Err(LayerError::entry(
                &shown,
                "GNU sparse entries are not supported",
            ));
        }
        let path = entry_path(&name).map_err(|why| LayerError::entry(&shown, why))?;
        let device = match kind {
            EntryType::Char | EntryType::Block => (
                header
                    .device_major()
                    .or_else(|e| match header.as_ustar() {
                        Some(u) => lenient(Err(e), &u.dev_major),
                        None => Err(e),
                    })
                    .map_err(|e| bad("device major", e))?
                    .unwrap_or(0),
                header
                    .device_minor()
                    .or_else(|e| match header.as_ustar() {
                        Some(u) => lenient(Err(e), &u.dev_minor),
                        None => Err(e),
                    })
                    .map_err(|e| bad("device minor", e))?
                    .unwrap_or(0),
            ),
            _ => (0, 0),
        };
        Ok(Item {
            path,
            kind,
            mode: lenient(header.mode(), &old.mode).map_err(|e| bad("mode", e))?,
            uid: match ext.uid {
                Some(u) => u,
                None => lenient(header.uid(), &old.uid).map_err(|e| bad("uid", e))?,
            },
            gid: match ext.gid {
                Some(g) => g,
                None => lenient(header.gid(), &old.gid).map_err(|e| bad("gid", e))?,
            },
            mtime: match ext.mtime {
                Some(m) => m,
                None => lenient(header.mtime(), &old.mtime).map_err(|e| bad("mtime", e))? as i64,
            },
            size,
            link: ext
                .pax_link
                .or(ext.link)
                .or_else(|| link.map(|l| l.to_vec())),
            xattrs: ext.xattrs,
            device,
            name: shown,
        })
    }
}

/// A numeric header field, where an empty field (all NUL or spaces, as some writers leave
/// unused fields) reads as 0.
fn lenient<T: Default>(parsed: io::Result<T>, raw: &[u8]) -> io::Result<T> {
    match parsed {
        Err(_) if raw.iter().all(|&b| b == 0 || b == b' ') => Ok(T::default()),
        other => other,
    }
}
