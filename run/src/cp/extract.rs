//! Writing side of `cp`: a tar stream → files below one directory, created by berth-layers'
//! [`RootWriter`] from that directory's descriptor, never following a symlink out of it.
//! Whatever the stream or the container does, nothing is created outside that directory:
//! - names are relative; a `..` component refuses the entry;
//! - an existing parent that is a symlink or not a directory refuses the entry (no write
//!   through a symlink); missing parents are made 0755;
//! - a directory does not replace a non-directory, nor the other way round, unless
//!   `overwrite` (Podman's `--overwrite`);
//! - hard links must name an existing non-directory, non-symlink below the root.
//!
//! This file keeps `cp`'s own policy (owners, `--overwrite`, set-id bits, devices, which
//! extended attributes cross); the file system work is the writer's.

use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use berth_layers::inroot::{
    entry_path, Attrs, InRoot, RootWriter, Special, WriteError, XattrFailures,
};
use pathrs::Root;
use rustix::fs::FileType;
use tar::EntryType;

use super::error::CopyError;
use super::xattrs::{self, XattrPolicy};

/// Who owns what is created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// Whoever runs berth (no chown): the host side.
    Caller,
    /// These ids (`-a`: the container's user).
    Fixed(u32, u32),
    /// The ids in the stream (`--archive=false`).
    Keep,
}

/// How to extract.
#[derive(Debug, Clone, Copy)]
pub struct ExtractOptions {
    pub owner: Owner,
    /// Replace a directory by a non-directory and the other way round.
    pub overwrite: bool,
    /// Create device nodes (else they are skipped with a warning).
    pub devices: bool,
    /// Drop set-user-id and set-group-id bits.
    pub strip_setid: bool,
    /// Which extended attributes in the stream are set.
    pub xattrs: XattrPolicy,
}

/// Extended attributes the destination's file system or the caller's privileges refuse are
/// skipped (with a debug line), as Podman's copier skips them.
const XATTR_FAILURES: XattrFailures = XattrFailures {
    skip: &[libc::ENOTSUP, libc::EPERM, libc::EACCES],
    warn: false,
};

/// Extract `input` (an uncompressed tar) below `root`; returns the number of entries.
pub fn extract(
    root: &Root,
    input: impl std::io::Read,
    opts: &ExtractOptions,
) -> Result<u64, CopyError> {
    let top = root
        .as_fd()
        .try_clone_to_owned()
        .map_err(|e| CopyError::io("destination directory", e))?;
    let mut x = Extractor {
        w: RootWriter::new(InRoot::from_fd(top, Path::new(""))).with_xattr_failures(XATTR_FAILURES),
        opts,
        dir_times: Vec::new(),
    };
    let mut archive = tar::Archive::new(input);
    let mut n = 0u64;
    for entry in archive
        .entries()
        .map_err(|e| CopyError::io("tar stream", e))?
    {
        let mut entry = entry.map_err(|e| CopyError::io("tar stream", e))?;
        n += 1;
        x.entry(&mut entry)?;
    }
    for (path, mtime) in x.dir_times.iter().rev() {
        let attrs = Attrs {
            mtime: Some(*mtime),
            ..Attrs::default()
        };
        let _ = x.w.set_attrs(path, false, &attrs);
    }
    Ok(n)
}

struct Extractor<'a> {
    w: RootWriter,
    opts: &'a ExtractOptions,
    dir_times: Vec<(PathBuf, i64)>,
}

/// A writer error for entry `shown`: refusals name the entry, I/O errors their path.
fn copy_error(shown: &str, e: WriteError) -> CopyError {
    match e {
        WriteError::Refused { why, .. } => {
            CopyError::Refused(format!("tar entry {shown:?}: {why}"))
        }
        WriteError::Read { path, source } => CopyError::io(path, source),
        WriteError::Io { path, what, source } => CopyError::io(
            path,
            std::io::Error::new(source.kind(), format!("{what}: {source}")),
        ),
    }
}

impl Extractor<'_> {
    /// Make room for a new entry at `rel`; `dir`: the new entry is a directory. Returns
    /// whether a directory is already there (and stays).
    fn make_room(&mut self, rel: &Path, dir: bool) -> Result<bool, CopyFail> {
        let Some(meta) = self.w.lstat(rel)? else {
            return Ok(false);
        };
        let is_dir = meta.kind == FileType::Directory;
        if dir && is_dir {
            return Ok(true);
        }
        if is_dir != dir && !self.opts.overwrite {
            let (old, new) = if is_dir {
                ("directory", "non-directory")
            } else {
                ("non-directory", "directory")
            };
            return Err(CopyError::Refused(format!(
                "{}: cannot overwrite {old} with {new} (use --overwrite)",
                rel.display()
            ))
            .into());
        }
        self.w.remove(rel, meta.kind)?;
        Ok(false)
    }

    fn mode(&self, mode: u32) -> u32 {
        if self.opts.strip_setid {
            mode & 0o1777
        } else {
            mode & 0o7777
        }
    }

    fn ids(&self, uid: u64, gid: u64) -> Option<(u32, u32)> {
        match self.opts.owner {
            Owner::Caller => None,
            Owner::Fixed(u, g) => Some((u, g)),
            Owner::Keep => Some((uid as u32, gid as u32)),
        }
    }

    fn entry<R: std::io::Read>(&mut self, e: &mut tar::Entry<'_, R>) -> Result<(), CopyError> {
        let (raw, link) = berth_layers::pax::entry_names(e).map_err(|err| {
            CopyError::io(String::from_utf8_lossy(&e.path_bytes()).into_owned(), err)
        })?;
        let shown = String::from_utf8_lossy(&raw).into_owned();
        self.entry_inner(e, &raw, link.as_deref(), &shown)
            .map_err(|f| match f {
                CopyFail::Copy(c) => c,
                CopyFail::Write(w) => copy_error(&shown, w),
            })
    }

    fn entry_inner<R: std::io::Read>(
        &mut self,
        e: &mut tar::Entry<'_, R>,
        raw: &[u8],
        link: Option<&[u8]>,
        shown: &str,
    ) -> Result<(), CopyFail> {
        let bad = |why: String| CopyError::Refused(format!("tar entry {shown:?}: {why}"));
        let Some(rel) = entry_path(raw).map_err(bad)? else {
            return Ok(()); // the root itself keeps its own metadata
        };
        let attrs = xattrs::from_entry(e, self.opts.xattrs).map_err(|x| CopyError::io(&rel, x))?;
        let h = e.header();
        let kind = h.entry_type();
        let mode = h.mode().map_err(|x| bad(x.to_string()))?;
        // Empty numeric fields (some writers leave them blank) read as 0, as GNU tar does.
        let uid = h.uid().unwrap_or(0);
        let gid = h.gid().unwrap_or(0);
        let mtime = h.mtime().unwrap_or(0) as i64;
        let (major, minor) = (
            h.device_major().ok().flatten().unwrap_or(0),
            h.device_minor().ok().flatten().unwrap_or(0),
        );
        let parent = rel.parent().unwrap_or(Path::new(""));
        // Missing parents: 0755, owned as the stream's root would be.
        let made = self.w.mkdirs(parent, 0o755)?;
        let owner = self.ids(0, 0);
        let mut p = parent;
        for _ in 0..made {
            let a = Attrs {
                owner,
                ..Attrs::default()
            };
            self.w.set_attrs(p, false, &a)?;
            p = p.parent().unwrap_or(Path::new(""));
        }
        let mut meta = Attrs {
            owner: self.ids(uid, gid),
            xattrs: &attrs,
            mode: Some(self.mode(mode)),
            mtime: Some(mtime),
        };
        match kind {
            EntryType::Directory => {
                if !self.make_room(&rel, true)? {
                    self.w.mkdir(&rel, 0o700)?;
                }
                meta.mtime = None; // at the end, once its children are in
                self.w.set_attrs(&rel, false, &meta)?;
                self.dir_times.push((rel, mtime));
            }
            EntryType::Regular | EntryType::Continuous => {
                self.make_room(&rel, false)?;
                let mut file = self.w.create_file(&rel)?;
                self.w.write_content(&mut file, &rel, e)?;
                self.w.set_file_attrs(&file, &rel, &meta)?;
            }
            EntryType::Symlink => {
                let target = link.map(<[u8]>::to_vec).unwrap_or_default();
                if target.is_empty() {
                    return Err(bad("symlink with an empty target".into()).into());
                }
                self.make_room(&rel, false)?;
                let target = PathBuf::from(
                    <std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(&target),
                );
                self.w.symlink(&rel, &target)?;
                self.w.set_attrs(&rel, true, &meta)?;
            }
            EntryType::Link => {
                let raw_target = link.map(<[u8]>::to_vec).unwrap_or_default();
                let target = entry_path(&raw_target)
                    .map_err(|w| bad(format!("hard link target: {w}")))?
                    .ok_or_else(|| bad("hard link to the root".into()))?;
                // `None`: a link to itself, nothing to do.
                if let Some(target) = self.w.hardlink_target(&rel, &target)? {
                    self.make_room(&rel, false)?;
                    self.w.hardlink(&rel, &target)?;
                }
            }
            EntryType::Fifo | EntryType::Char | EntryType::Block => {
                if kind != EntryType::Fifo && !self.opts.devices {
                    tracing::warn!(entry = %shown, "skipping a device node");
                    return Ok(());
                }
                self.make_room(&rel, false)?;
                let special = match kind {
                    EntryType::Char => Special::Char(major, minor),
                    EntryType::Block => Special::Block(major, minor),
                    _ => Special::Fifo,
                };
                self.w.mknod(&rel, special, self.mode(mode))?;
                meta.xattrs = &[];
                self.w.set_attrs(&rel, false, &meta)?;
            }
            // PAX and GNU extension headers are merged by the tar crate; others are refused.
            other => {
                return Err(bad(format!(
                    "unsupported entry type {:?}",
                    other.as_byte() as char
                ))
                .into())
            }
        }
        Ok(())
    }
}

/// An entry's failure: `cp`'s own or the writer's.
enum CopyFail {
    Copy(CopyError),
    Write(WriteError),
}

impl From<CopyError> for CopyFail {
    fn from(e: CopyError) -> Self {
        CopyFail::Copy(e)
    }
}

impl From<WriteError> for CopyFail {
    fn from(e: WriteError) -> Self {
        CopyFail::Write(e)
    }
}
