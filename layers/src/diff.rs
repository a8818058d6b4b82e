//! Diff: a directory's changes → a layer.
//!
//! - [`overlay_upper_to_layer`]: an overlay upper dir, where a 0/0 character device is a
//!   whiteout (→ `.wh.<name>`) and a directory with `trusted.overlay.opaque=y` or
//!   `user.overlay.opaque=y` is opaque (→ `.wh..wh..opq` inside it);
//!   [`overlay_upper_entries`]: the same walk as a list of paths ([`UpperEntry`]), what
//!   `diff` reads.
//! - [`dir_diff_to_layer`]: the fallback, comparing two plain directories (or one whole tree
//!   when `lower` is `None`).
//!
//! Both walk the tree parent first, the entries of each directory sorted by name bytewise,
//! and never follow symlinks, so the same tree always gives the same layer. The walk goes
//! from directory descriptor to directory descriptor ([`crate::inroot`]), never through a
//! path string: a running container (commit and export do not pause it) that swaps a
//! directory for a symlink meanwhile cannot lead the read out of its tree.

use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use rustix::fs::{FileType, Mode, OFlags};

use crate::error::{LayerError, Result};
use crate::inroot::{self, Meta};
use crate::writer::{read_xattrs_at, LayerDescriptor, LayerOptions, LayerWriter};

/// The opaque marker's file name.
pub const OPAQUE_MARKER: &str = ".wh..wh..opq";
/// The prefix of a whiteout's file name.
pub const WHITEOUT_PREFIX: &str = ".wh.";

const OPAQUE_XATTRS: [&str; 2] = ["trusted.overlay.opaque", "user.overlay.opaque"];
const WHITEOUT_XATTRS: [&str; 2] = ["trusted.overlay.whiteout", "user.overlay.whiteout"];

/// Turn an overlay upper dir into a layer written to `sink`.
///
/// Whiteouts are 0/0 character devices, or (overlayfs ≥ 6.7 "xattr whiteouts") regular
/// files carrying `trusted.overlay.whiteout` / `user.overlay.whiteout`. Overlay redirect and
/// metacopy xattrs are not supported (berth mounts without `redirect_dir` and `metacopy`).
pub fn overlay_upper_to_layer<W: Write + Send + 'static>(
    upper: &Path,
    sink: W,
    options: LayerOptions,
) -> Result<(W, LayerDescriptor)> {
    let mut w = LayerWriter::new(sink, options)?;
    let top = open_top(upper)?;
    walk_upper(
        &mut |seen| match seen {
            Seen::Whiteout(full) => {
                let (dir, name) = full.rsplit_once('/').map_or(("", full), |(d, n)| (d, n));
                let dir = if dir.is_empty() {
                    String::new()
                } else {
                    format!("{dir}/")
                };
                w.append_marker(&format!("{dir}{WHITEOUT_PREFIX}{name}"))
            }
            Seen::Opaque(full) => w.append_marker(&format!("{full}/{OPAQUE_MARKER}")),
            Seen::Entry {
                full,
                dir,
                name,
                meta,
                path,
            } => w.append_at(full, dir, name, meta, path),
        },
        top.as_fd(),
        upper,
        "",
    )?;
    w.finish()
}

/// The top of a tree to walk (berth's own path: an upper dir, a mount point).
fn open_top(path: &Path) -> Result<OwnedFd> {
    rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| LayerError::io(path, e.into()))
}

/// The names in `dir` (shown as `shown`), sorted bytewise.
fn sorted_names(dir: BorrowedFd<'_>, shown: &Path) -> Result<Vec<OsString>> {
    let entries = inroot::read_dir_at(dir).map_err(|e| LayerError::io(shown, e))?;
    Ok(entries.into_iter().map(|(n, _)| n).collect())
}

/// Directory `name` below `dir`, not following a symlink put there since it was looked at.
fn open_sub(dir: BorrowedFd<'_>, name: &OsStr, shown: &Path) -> Result<OwnedFd> {
    inroot::open_dir_at(dir, name).map_err(|e| LayerError::io(shown, e))
}

fn meta(dir: BorrowedFd<'_>, name: &OsStr, shown: &Path) -> Result<Meta> {
    inroot::meta_at(dir, name).map_err(|e| LayerError::io(shown, e))
}

fn layer_name(prefix: &str, name: &OsString) -> Result<String> {
    let n = name.to_str().ok_or_else(|| {
        LayerError::Other(format!(
            "{prefix}{}: file name is not UTF-8",
            String::from_utf8_lossy(name.as_bytes())
        ))
    })?;
    Ok(format!("{prefix}{n}"))
}

/// Whether `name` below `dir` (not followed) carries one of `names`, with value `y` when
/// `want_y`.
fn has_xattr(dir: BorrowedFd<'_>, name: &OsStr, names: &[&str], want_y: bool) -> bool {
    let path = inroot::proc_path(dir, name);
    names.iter().any(|n| match xattr::get(&path, n) {
        Ok(Some(v)) => !want_y || v.as_slice() == b"y",
        _ => false,
    })
}

/// Whether `name` below `dir` (with metadata `m`) is an overlay whiteout: a 0/0 character
/// device, or an empty regular file carrying a whiteout xattr.
fn is_whiteout(dir: BorrowedFd<'_>, name: &OsStr, m: &Meta) -> bool {
    (m.kind == FileType::CharacterDevice && m.rdev == 0)
        || (m.kind == FileType::RegularFile
            && m.size == 0
            && has_xattr(dir, name, &WHITEOUT_XATTRS, false))
}

/// What the walk of an upper dir meets, parent first.
enum Seen<'a> {
    /// A whiteout of `full` (the deleted entry's layer path).
    Whiteout(&'a str),
    /// Directory `full` (already seen as an entry) is opaque.
    Opaque(&'a str),
    /// Any other entry.
    Entry {
        full: &'a str,
        dir: BorrowedFd<'a>,
        name: &'a OsStr,
        meta: &'a Meta,
        path: &'a Path,
    },
}

/// Walk an upper dir, calling `visit` for each entry, whiteout and opaque marker: the one
/// reading of overlay's whiteouts and opaque directories, for layers
/// ([`overlay_upper_to_layer`]) and change lists ([`overlay_upper_entries`]).
fn walk_upper(
    visit: &mut dyn FnMut(Seen<'_>) -> Result<()>,
    dir: BorrowedFd<'_>,
    shown: &Path,
    prefix: &str,
) -> Result<()> {
    for name in sorted_names(dir, shown)? {
        let path = shown.join(&name);
        let m = meta(dir, &name, &path)?;
        let full = layer_name(prefix, &name)?;
        let is_whiteout = is_whiteout(dir, &name, &m);
        let entry = Seen::Entry {
            full: &full,
            dir,
            name: &name,
            meta: &m,
            path: &path,
        };
        if is_whiteout {
            visit(Seen::Whiteout(&full))?;
        } else if m.kind == FileType::Directory {
            let sub = open_sub(dir, &name, &path)?;
            visit(entry)?;
            if has_xattr(dir, &name, &OPAQUE_XATTRS, true) {
                visit(Seen::Opaque(&full))?;
            }
            walk_upper(visit, sub.as_fd(), &path, &format!("{full}/"))?;
        } else {
            visit(entry)?;
        }
    }
    Ok(())
}

/// One path of an overlay upper dir (a layer path: relative, `/`-separated).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpperEntry {
    /// An entry the layer holds (added or changed, directories included).
    Present(String),
    /// A whiteout: the entry below is deleted.
    Whiteout(String),
    /// This directory (also listed as present) hides everything below it.
    Opaque(String),
}

/// The entries, whiteouts and opaque directories of an overlay upper dir, parent first (what
/// `diff` lists; the same walk as [`overlay_upper_to_layer`]).
pub fn overlay_upper_entries(upper: &Path) -> Result<Vec<UpperEntry>> {
    let top = open_top(upper)?;
    let mut out = Vec::new();
    walk_upper(
        &mut |seen| {
            out.push(match seen {
                Seen::Whiteout(full) => UpperEntry::Whiteout(full.to_string()),
                Seen::Opaque(full) => UpperEntry::Opaque(full.to_string()),
                Seen::Entry { full, .. } => UpperEntry::Present(full.to_string()),
            });
            Ok(())
        },
        top.as_fd(),
        upper,
        "",
    )?;
    Ok(out)
}

/// What one overlay layer dir says about a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayerLookup {
    /// Not there: the layers below decide.
    Absent,
    /// There (not a whiteout).
    Present,
    /// Deleted here: a whiteout of it or of a parent, a parent that is not a directory, or a
    /// parent that is opaque and lacks it.
    Hidden,
}

/// Look `rel` (a layer path) up in overlay layer dir `layer`, component by component from
/// directory descriptor to descriptor (never following a symlink), with the whiteout and
/// opaque rules of [`overlay_upper_entries`].
pub fn overlay_lookup(layer: &Path, rel: &str) -> Result<LayerLookup> {
    let parts: Vec<&str> = rel.split('/').filter(|p| !p.is_empty()).collect();
    let mut dir = open_top(layer)?;
    let mut shown = layer.to_path_buf();
    let mut opaque = false;
    for (i, part) in parts.iter().enumerate() {
        let name = OsStr::new(part);
        shown.push(part);
        let m = match inroot::meta_at(dir.as_fd(), name) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(if opaque {
                    LayerLookup::Hidden
                } else {
                    LayerLookup::Absent
                })
            }
            Err(e) => return Err(LayerError::io(&shown, e)),
        };
        if is_whiteout(dir.as_fd(), name, &m) {
            return Ok(LayerLookup::Hidden);
        }
        if i + 1 == parts.len() {
            return Ok(LayerLookup::Present);
        }
        if m.kind != FileType::Directory {
            return Ok(LayerLookup::Hidden);
        }
        opaque = has_xattr(dir.as_fd(), name, &OPAQUE_XATTRS, true);
        dir = open_sub(dir.as_fd(), name, &shown)?;
    }
    Ok(LayerLookup::Present)
}

/// Turn the difference from `lower` to `upper` into a layer written to `sink`: added and
/// changed entries of `upper`, and a whiteout for every entry of `lower` missing from `upper`.
/// With `lower = None`, the whole of `upper` becomes the layer.
///
/// An entry counts as changed when its type, mode, owner, size, mtime, device number,
/// symlink target or xattrs differ (contents are not compared: a same-size rewrite that
/// also kept the mtime is not seen, as with other metadata-based differs).
pub fn dir_diff_to_layer<W: Write + Send + 'static>(
    lower: Option<&Path>,
    upper: &Path,
    sink: W,
    options: LayerOptions,
) -> Result<(W, LayerDescriptor)> {
    let mut w = LayerWriter::new(sink, options)?;
    let low = lower.map(|l| open_top(l).map(|fd| (fd, l))).transpose()?;
    let up = open_top(upper)?;
    let low = low.as_ref().map(|(fd, l)| Side {
        dir: fd.as_fd(),
        shown: l,
    });
    let up = Side {
        dir: up.as_fd(),
        shown: upper,
    };
    walk_diff(&mut w, low, up, "")?;
    w.finish()
}

/// An opened directory of one of the two trees, and its path for messages.
#[derive(Clone, Copy)]
struct Side<'a> {
    dir: BorrowedFd<'a>,
    shown: &'a Path,
}

fn walk_diff<W: Write + Send + 'static>(
    w: &mut LayerWriter<W>,
    lower: Option<Side<'_>>,
    upper: Side<'_>,
    prefix: &str,
) -> Result<()> {
    let upper_names = sorted_names(upper.dir, upper.shown)?;
    let lower_names = match lower {
        Some(l) => sorted_names(l.dir, l.shown)?,
        None => Vec::new(),
    };
    let mut all: Vec<&OsString> = upper_names.iter().chain(lower_names.iter()).collect();
    all.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    all.dedup();
    for name in all {
        let up = upper.shown.join(name);
        let full = layer_name(prefix, name)?;
        let in_upper = upper_names
            .binary_search_by(|n| n.as_bytes().cmp(name.as_bytes()))
            .is_ok();
        let low = lower.filter(|_| {
            lower_names
                .binary_search_by(|n| n.as_bytes().cmp(name.as_bytes()))
                .is_ok()
        });
        if !in_upper {
            w.append_marker(&format!(
                "{prefix}{WHITEOUT_PREFIX}{}",
                name.to_string_lossy()
            ))?;
            continue;
        }
        let um = meta(upper.dir, name, &up)?;
        let sub_prefix = format!("{full}/");
        match low {
            Some(l) => {
                let low_path = l.shown.join(name);
                let lm = meta(l.dir, name, &low_path)?;
                let both_dirs = um.kind == FileType::Directory && lm.kind == FileType::Directory;
                let changed = differs((upper.dir, name, &um, &up), (l.dir, name, &lm, &low_path))?;
                let up_sub = (um.kind == FileType::Directory)
                    .then(|| open_sub(upper.dir, name, &up))
                    .transpose()?;
                if changed {
                    w.append_at(&full, upper.dir, name, &um, &up)?;
                }
                if let Some(up_sub) = up_sub {
                    let up_side = Side {
                        dir: up_sub.as_fd(),
                        shown: &up,
                    };
                    if both_dirs {
                        let low_sub = open_sub(l.dir, name, &low_path)?;
                        let low_side = Side {
                            dir: low_sub.as_fd(),
                            shown: &low_path,
                        };
                        walk_diff(w, Some(low_side), up_side, &sub_prefix)?;
                    } else {
                        walk_diff(w, None, up_side, &sub_prefix)?;
                    }
                }
            }
            None => {
                let up_sub = (um.kind == FileType::Directory)
                    .then(|| open_sub(upper.dir, name, &up))
                    .transpose()?;
                w.append_at(&full, upper.dir, name, &um, &up)?;
                if let Some(up_sub) = up_sub {
                    let up_side = Side {
                        dir: up_sub.as_fd(),
                        shown: &up,
                    };
                    walk_diff(w, None, up_side, &sub_prefix)?;
                }
            }
        }
    }
    Ok(())
}

/// One entry to compare: its directory, name, metadata and path for messages.
type Looked<'a> = (BorrowedFd<'a>, &'a OsStr, &'a Meta, &'a Path);

fn differs(up: Looked<'_>, low: Looked<'_>) -> Result<bool> {
    let (udir, uname, um, upath) = up;
    let (ldir, lname, lm, lpath) = low;
    if um.mode != lm.mode
        || um.uid != lm.uid
        || um.gid != lm.gid
        || um.mtime != lm.mtime
        || um.mtime_nsec != lm.mtime_nsec
        || (um.kind != FileType::Directory && um.size != lm.size)
        || (matches!(um.kind, FileType::CharacterDevice | FileType::BlockDevice)
            && um.rdev != lm.rdev)
    {
        return Ok(true);
    }
    if um.kind == FileType::Symlink && lm.kind == FileType::Symlink {
        let a = rustix::fs::readlinkat(udir, uname, Vec::new())
            .map_err(|e| LayerError::io(upath, e.into()))?;
        let b = rustix::fs::readlinkat(ldir, lname, Vec::new())
            .map_err(|e| LayerError::io(lpath, e.into()))?;
        if a != b {
            return Ok(true);
        }
    }
    Ok(read_xattrs_at(udir, uname, upath)? != read_xattrs_at(ldir, lname, lpath)?)
}
