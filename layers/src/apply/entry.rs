//! One layer entry applied inside the root: the OCI image spec's rules (whiteouts, opaque
//! directories, what a layer's own entries survive, device nodes only when privileged), with
//! the file system work done by [`RootWriter`] (parents reached through real directories
//! only, created 0755 when missing; nothing followed out of the root).

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use rustix::fs::FileType;
use tar::EntryType;

use super::{ApplyOptions, WhiteoutMode};
use crate::diff::{OPAQUE_MARKER, WHITEOUT_PREFIX};
use crate::error::{LayerError, Result};
use crate::inroot::{Attrs, RootWriter, Special, WriteError, XattrFailures};
use crate::xattrs::is_overlay as is_overlay_xattr;

/// One parsed entry, with PAX and GNU extensions already merged.
pub(super) struct Item {
    /// The name as in the layer, for messages.
    pub name: String,
    /// Normalized relative path; `None` for the root itself (`./`).
    pub path: Option<PathBuf>,
    pub kind: EntryType,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub mtime: i64,
    pub size: u64,
    /// Link target (symlinks: raw; hardlinks: a layer name).
    pub link: Option<Vec<u8>>,
    pub xattrs: Vec<(Vec<u8>, Vec<u8>)>,
    pub device: (u32, u32),
}

/// The state of one apply.
pub(super) struct Applier<'o> {
    w: RootWriter,
    opts: &'o ApplyOptions,
    /// Paths this layer created or set: its own whiteouts and opaque markers apply only to
    /// what lower layers left (OCI image spec), so these survive them. Ordered so that a
    /// path's descendants follow it.
    created: BTreeSet<PathBuf>,
    /// Directory mode and mtime, set at the end so that creating children does not undo them.
    dir_meta: Vec<(PathBuf, u32, i64)>,
}

impl<'o> Applier<'o> {
    pub fn new(w: RootWriter, opts: &'o ApplyOptions) -> Self {
        let skip: &'static [i32] = if opts.privileged {
            &[libc::ENOTSUP]
        } else {
            &[libc::ENOTSUP, libc::EPERM]
        };
        Applier {
            w: w.with_xattr_failures(XattrFailures { skip, warn: true }),
            opts,
            created: BTreeSet::new(),
            dir_meta: Vec::new(),
        }
    }

    /// Apply one entry; `data` holds its content for regular files.
    pub fn apply(&mut self, item: &Item, data: &mut dyn Read) -> Result<()> {
        self.apply_inner(item, data).map_err(|e| match e {
            Failed::Layer(e) => e,
            Failed::Write(e) => for_entry(&item.name, e),
        })
    }

    fn apply_inner(&mut self, item: &Item, data: &mut dyn Read) -> Result<(), Failed> {
        let Some(path) = item.path.clone() else {
            if item.kind == EntryType::Directory {
                return Ok(()); // the root itself: keep the target's own metadata
            }
            return Err(LayerError::entry(&item.name, "a non-directory names the root").into());
        };
        let parent = path.parent().unwrap_or(Path::new("")).to_path_buf();
        let base = path.file_name().unwrap_or_default().as_bytes();
        if base.starts_with(WHITEOUT_PREFIX.as_bytes()) {
            return self.whiteout(item, &parent, base);
        }
        self.parents(&parent)?;
        let existing = self.w.lstat(&path)?.map(|m| m.kind);
        let owner = self
            .opts
            .privileged
            .then_some((item.uid as u32, item.gid as u32));
        let xattrs = self.xattrs_allowed(item);
        match item.kind {
            EntryType::Directory => {
                if existing != Some(FileType::Directory) {
                    if let Some(ft) = existing {
                        self.w.remove(&path, ft)?;
                    }
                    self.w.mkdir(&path, 0o700)?;
                }
                let attrs = Attrs {
                    owner,
                    xattrs: &xattrs,
                    ..Attrs::default()
                };
                self.w.set_attrs(&path, false, &attrs)?;
                self.dir_meta.push((path.clone(), item.mode, item.mtime));
            }
            EntryType::Regular | EntryType::Continuous => {
                if let Some(ft) = existing {
                    self.w.remove(&path, ft)?;
                }
                let mut file = self.w.create_file(&path)?;
                let n = self.w.write_content(&mut file, &path, data)?;
                if n != item.size {
                    return Err(LayerError::Stream(std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        format!(
                            "entry {:?}: stream ends after {n} of {} bytes",
                            item.name, item.size
                        ),
                    ))
                    .into());
                }
                let attrs = Attrs {
                    owner,
                    xattrs: &xattrs,
                    mode: Some(item.mode),
                    mtime: Some(item.mtime),
                };
                self.w.set_file_attrs(&file, &path, &attrs)?;
            }
            EntryType::Symlink => {
                let target = item.link.as_deref().unwrap_or_default();
                if target.is_empty() {
                    return Err(
                        LayerError::entry(&item.name, "symlink with an empty target").into(),
                    );
                }
                if let Some(ft) = existing {
                    self.w.remove(&path, ft)?;
                }
                self.w
                    .symlink(&path, Path::new(OsStr::from_bytes(target)))?;
                let attrs = Attrs {
                    owner,
                    mtime: Some(item.mtime),
                    ..Attrs::default()
                };
                self.w.set_attrs(&path, true, &attrs)?;
            }
            EntryType::Link => {
                let raw = item.link.as_deref().unwrap_or_default();
                let target = crate::inroot::entry_path(raw)
                    .map_err(|why| {
                        LayerError::entry(&item.name, format!("hardlink target: {why}"))
                    })?
                    .ok_or_else(|| LayerError::entry(&item.name, "hardlink to the root"))?;
                // Checked before anything is removed: a refused link leaves `path` as it was.
                // `None`: a link to itself, nothing to do.
                if let Some(target) = self.w.hardlink_target(&path, &target)? {
                    if let Some(ft) = existing {
                        self.w.remove(&path, ft)?;
                    }
                    self.w.hardlink(&path, &target)?;
                }
            }
            EntryType::Char | EntryType::Block | EntryType::Fifo => {
                if item.kind != EntryType::Fifo && !self.opts.privileged {
                    return Err(LayerError::entry(
                        &item.name,
                        "device node refused: not privileged to create devices",
                    )
                    .into());
                }
                if let Some(ft) = existing {
                    self.w.remove(&path, ft)?;
                }
                let (major, minor) = item.device;
                let kind = match item.kind {
                    EntryType::Char => Special::Char(major, minor),
                    EntryType::Block => Special::Block(major, minor),
                    _ => Special::Fifo,
                };
                self.w.mknod(&path, kind, item.mode)?;
                let attrs = Attrs {
                    owner,
                    xattrs: &xattrs,
                    mode: Some(item.mode),
                    mtime: Some(item.mtime),
                };
                self.w.set_attrs(&path, false, &attrs)?;
            }
            other => {
                return Err(LayerError::entry(
                    &item.name,
                    format!("unsupported entry type {:?}", other.as_byte() as char),
                )
                .into())
            }
        }
        self.created.insert(path);
        Ok(())
    }

    /// Every component of `dir` is a real directory afterwards; the ones made are this
    /// layer's.
    fn parents(&mut self, dir: &Path) -> Result<(), Failed> {
        let made = self.w.mkdirs(dir, 0o755)?;
        let mut p = dir;
        for _ in 0..made {
            self.created.insert(p.to_path_buf());
            p = p.parent().unwrap_or(Path::new(""));
        }
        Ok(())
    }

    /// The entry's extended attributes less overlayfs' own (a layer cannot smuggle whiteouts
    /// or opaque markers that way).
    fn xattrs_allowed(&self, item: &Item) -> Vec<(Vec<u8>, Vec<u8>)> {
        if !item.xattrs.iter().any(|(k, _)| is_overlay_xattr(k)) {
            return item.xattrs.clone();
        }
        item.xattrs
            .iter()
            .filter(|(k, _)| {
                let overlay = is_overlay_xattr(k);
                if overlay {
                    tracing::warn!(entry = %item.name, xattr = %String::from_utf8_lossy(k), "ignoring overlayfs xattr in layer");
                }
                !overlay
            })
            .cloned()
            .collect()
    }

    fn whiteout(&mut self, item: &Item, parent: &Path, base: &[u8]) -> Result<(), Failed> {
        let target = &base[WHITEOUT_PREFIX.len()..];
        if base == OPAQUE_MARKER.as_bytes() {
            self.parents(parent)?;
            return match self.opts.whiteouts {
                WhiteoutMode::Delete => self.clear_lower_children(parent),
                WhiteoutMode::Overlay { user_xattr } => {
                    let key = if user_xattr {
                        "user.overlay.opaque"
                    } else {
                        "trusted.overlay.opaque"
                    };
                    let dir = std::fs::File::from(self.w.open_dir(parent)?);
                    use xattr::FileExt;
                    dir.set_xattr(key, b"y").map_err(|e| {
                        LayerError::entry(&item.name, format!("set {key}: {e}")).into()
                    })
                }
            };
        }
        if target.is_empty() || target == b"." || target == b".." {
            return Err(LayerError::entry(&item.name, "whiteout names no file").into());
        }
        if target.starts_with(WHITEOUT_PREFIX.as_bytes()) {
            // AUFS metadata (.wh..wh.plnk, .wh..wh.aufs): meaningless here.
            return Ok(());
        }
        let victim = parent.join(OsStr::from_bytes(target));
        if self.opts.whiteouts == WhiteoutMode::Delete && !self.w.dirs_exist(parent)? {
            return Ok(()); // nothing below a missing directory to delete
        }
        self.parents(parent)?;
        let existing = self.w.lstat(&victim)?.map(|m| m.kind);
        match self.opts.whiteouts {
            WhiteoutMode::Delete => match existing {
                _ if self.created.contains(&victim) => {} // same layer: survives
                Some(FileType::Directory) if self.has_created_under(&victim) => {
                    self.clear_lower_children(&victim)?;
                }
                Some(ft) => self.w.remove(&victim, ft)?,
                None => {}
            },
            WhiteoutMode::Overlay { .. } => {
                if !self.opts.privileged {
                    return Err(LayerError::entry(
                        &item.name,
                        "overlay whiteout needs a 0/0 character device: not privileged",
                    )
                    .into());
                }
                if self.created.contains(&victim) || self.has_created_under(&victim) {
                    return Ok(()); // same layer: survives
                }
                if let Some(ft) = existing {
                    self.w.remove(&victim, ft)?;
                }
                self.w.mknod(&victim, Special::Char(0, 0), 0)?;
                self.created.insert(victim);
            }
        }
        Ok(())
    }

    /// Whether this layer created something below `p`.
    fn has_created_under(&self, p: &Path) -> bool {
        use std::ops::Bound;
        self.created
            .range::<Path, _>((Bound::Excluded(p), Bound::Unbounded))
            .next()
            .is_some_and(|q| q.starts_with(p))
    }

    /// Opaque marker in Delete mode: remove every child of `dir` (recursively) that this
    /// layer did not create.
    fn clear_lower_children(&mut self, dir: &Path) -> Result<(), Failed> {
        for (n, ft) in self.w.read_dir(dir)? {
            let child = dir.join(&n);
            let keep = self.created.contains(&child) || self.has_created_under(&child);
            if !keep {
                self.w.remove(&child, ft)?;
            } else if ft == FileType::Directory {
                self.clear_lower_children(&child)?;
            }
        }
        Ok(())
    }

    /// Set directory modes and mtimes (in entry order, so a later entry for the same
    /// directory wins).
    pub fn finish(mut self) -> Result<()> {
        let dirs = std::mem::take(&mut self.dir_meta);
        for (path, mode, mtime) in &dirs {
            match self.w.lstat(path) {
                Ok(Some(m)) if m.kind == FileType::Directory => {}
                // Removed or replaced later in this layer (a parent too).
                Ok(_) | Err(WriteError::Refused { .. }) => continue,
                Err(e) => return Err(for_entry(&path.to_string_lossy(), e)),
            }
            let attrs = Attrs {
                mode: Some(*mode),
                mtime: Some(*mtime),
                ..Attrs::default()
            };
            self.w
                .set_attrs(path, false, &attrs)
                .map_err(|e| for_entry(&path.to_string_lossy(), e))?;
        }
        Ok(())
    }
}

/// An entry's failure: the apply's own ([`LayerError`]) or the writer's.
enum Failed {
    Layer(LayerError),
    Write(WriteError),
}

impl From<LayerError> for Failed {
    fn from(e: LayerError) -> Self {
        Failed::Layer(e)
    }
}

impl From<WriteError> for Failed {
    fn from(e: WriteError) -> Self {
        Failed::Write(e)
    }
}

/// A writer error for entry `name`: a refusal names the entry, an I/O error its host path,
/// a read error is the layer stream's.
fn for_entry(name: &str, e: WriteError) -> LayerError {
    match e {
        WriteError::Refused { why, .. } => LayerError::entry(name, why),
        WriteError::Read { source, .. } => LayerError::Stream(source),
        WriteError::Io { path, what, source } => LayerError::io(
            path,
            std::io::Error::new(source.kind(), format!("{what}: {source}")),
        ),
    }
}
