//! Diff: a directory's changes → a layer.
//!
//! - [`overlay_upper_to_layer`]: an overlay upper dir, where a 0/0 character device is a
//!   whiteout (→ `.wh.<name>`) and a directory with `trusted.overlay.opaque=y` or
//!   `user.overlay.opaque=y` is opaque (→ `.wh..wh..opq` inside it).
//! - [`dir_diff_to_layer`]: the fallback, comparing two plain directories (or one whole tree
//!   when `lower` is `None`).
//!
//! Both walk the tree parent first, the entries of each directory sorted by name bytewise,
//! and never follow symlinks, so the same tree always gives the same layer.

use std::ffi::OsString;
use std::fs;
use std::io::Write;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use crate::error::{LayerError, Result};
use crate::writer::{read_xattrs, LayerDescriptor, LayerOptions, LayerWriter};

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
    walk_upper(&mut w, upper, "")?;
    w.finish()
}

/// The names in `dir`, sorted bytewise.
fn sorted_names(dir: &Path) -> Result<Vec<OsString>> {
    let mut names = Vec::new();
    for e in fs::read_dir(dir).map_err(|e| LayerError::io(dir, e))? {
        let e = e.map_err(|e| LayerError::io(dir, e))?;
        names.push(e.file_name());
    }
    names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    Ok(names)
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

fn has_xattr_y(path: &Path, names: &[&str]) -> bool {
    names
        .iter()
        .any(|n| matches!(xattr::get(path, n), Ok(Some(v)) if v.as_slice() == b"y"))
}

fn has_xattr(path: &Path, names: &[&str]) -> bool {
    names
        .iter()
        .any(|n| matches!(xattr::get(path, n), Ok(Some(_))))
}

fn walk_upper<W: Write + Send + 'static>(
    w: &mut LayerWriter<W>,
    dir: &Path,
    prefix: &str,
) -> Result<()> {
    for name in sorted_names(dir)? {
        let path = dir.join(&name);
        let meta = fs::symlink_metadata(&path).map_err(|e| LayerError::io(&path, e))?;
        let ft = meta.file_type();
        let full = layer_name(prefix, &name)?;
        let is_whiteout = (ft.is_char_device() && meta.rdev() == 0)
            || (ft.is_file() && meta.len() == 0 && has_xattr(&path, &WHITEOUT_XATTRS));
        if is_whiteout {
            w.append_marker(&format!(
                "{prefix}{WHITEOUT_PREFIX}{}",
                &full[prefix.len()..]
            ))?;
        } else if ft.is_dir() {
            w.append_path(&full, &path)?;
            if has_xattr_y(&path, &OPAQUE_XATTRS) {
                w.append_marker(&format!("{full}/{OPAQUE_MARKER}"))?;
            }
            walk_upper(w, &path, &format!("{full}/"))?;
        } else {
            w.append_path(&full, &path)?;
        }
    }
    Ok(())
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
    walk_diff(&mut w, lower, upper, "")?;
    w.finish()
}

fn walk_diff<W: Write + Send + 'static>(
    w: &mut LayerWriter<W>,
    lower: Option<&Path>,
    upper: &Path,
    prefix: &str,
) -> Result<()> {
    let upper_names = sorted_names(upper)?;
    let lower_names = match lower {
        Some(l) => sorted_names(l)?,
        None => Vec::new(),
    };
    let mut all: Vec<&OsString> = upper_names.iter().chain(lower_names.iter()).collect();
    all.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    all.dedup();
    for name in all {
        let up = upper.join(name);
        let full = layer_name(prefix, name)?;
        let in_upper = upper_names
            .binary_search_by(|n| n.as_bytes().cmp(name.as_bytes()))
            .is_ok();
        let low = lower
            .filter(|_| {
                lower_names
                    .binary_search_by(|n| n.as_bytes().cmp(name.as_bytes()))
                    .is_ok()
            })
            .map(|l| l.join(name));
        if !in_upper {
            let base = OsString::from_vec(name.as_bytes().to_vec());
            w.append_marker(&format!(
                "{prefix}{WHITEOUT_PREFIX}{}",
                base.to_string_lossy()
            ))?;
            continue;
        }
        let um = fs::symlink_metadata(&up).map_err(|e| LayerError::io(&up, e))?;
        let lm = match &low {
            Some(l) => Some(fs::symlink_metadata(l).map_err(|e| LayerError::io(l, e))?),
            None => None,
        };
        match (&lm, &low) {
            (Some(lm), Some(low)) => {
                let both_dirs = um.is_dir() && lm.is_dir();
                if differs(&up, &um, low, lm)? {
                    w.append_path(&full, &up)?;
                }
                if both_dirs {
                    walk_diff(w, Some(low), &up, &format!("{full}/"))?;
                } else if um.is_dir() {
                    walk_diff(w, None, &up, &format!("{full}/"))?;
                }
            }
            _ => {
                w.append_path(&full, &up)?;
                if um.is_dir() {
                    walk_diff(w, None, &up, &format!("{full}/"))?;
                }
            }
        }
    }
    Ok(())
}

fn differs(up: &Path, um: &fs::Metadata, low: &Path, lm: &fs::Metadata) -> Result<bool> {
    let (ut, lt) = (um.file_type(), lm.file_type());
    if um.mode() != lm.mode()
        || um.uid() != lm.uid()
        || um.gid() != lm.gid()
        || um.mtime() != lm.mtime()
        || um.mtime_nsec() != lm.mtime_nsec()
        || (!ut.is_dir() && um.len() != lm.len())
        || ((ut.is_char_device() || ut.is_block_device()) && um.rdev() != lm.rdev())
    {
        return Ok(true);
    }
    if ut.is_symlink() && lt.is_symlink() {
        let a = fs::read_link(up).map_err(|e| LayerError::io(up, e))?;
        let b = fs::read_link(low).map_err(|e| LayerError::io(low, e))?;
        if a != b {
            return Ok(true);
        }
    }
    Ok(read_xattrs(up)? != read_xattrs(low)?)
}
