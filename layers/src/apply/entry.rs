//! Creating one entry inside the root through pathrs (openat2 `RESOLVE_IN_ROOT`).
//!
//! Every path given here is relative, normalized (no `.`, `..` or empty components) and
//! checked component by component: an existing parent that is a symlink or not a directory
//! refuses the entry; missing parents are created 0755.

use std::collections::{BTreeSet, HashSet};
use std::ffi::OsStr;
use std::fs::{File, Permissions};
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use pathrs::flags::OpenFlags;
use pathrs::{Handle, InodeType, Root};
use rustix::fs::{AtFlags, FileType, Gid, Timestamps, Uid};
use tar::EntryType;

use super::{ApplyOptions, WhiteoutMode};
use crate::diff::{OPAQUE_MARKER, WHITEOUT_PREFIX};
use crate::error::{LayerError, Result};
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
    root: Root,
    root_path: PathBuf,
    opts: &'o ApplyOptions,
    /// Paths this layer created or set: its own whiteouts and opaque markers apply only to
    /// what lower layers left (OCI image spec), so these survive them. Ordered so that a
    /// path's descendants follow it.
    created: BTreeSet<PathBuf>,
    /// Reused copy buffer.
    buf: Vec<u8>,
    /// Directories known to exist and be real directories (not symlinks).
    known_dirs: HashSet<PathBuf>,
    /// Directory mode and mtime, set at the end so that creating children does not undo them.
    dir_meta: Vec<(PathBuf, u32, i64)>,
}

fn errno_of(e: &pathrs::error::Error) -> Option<i32> {
    match e.kind() {
        pathrs::error::ErrorKind::OsError(n) => n,
        _ => None,
    }
}

pub(super) fn to_io(e: pathrs::error::Error) -> io::Error {
    match errno_of(&e) {
        Some(n) => io::Error::new(io::Error::from_raw_os_error(n).kind(), e.to_string()),
        None => io::Error::other(e.to_string()),
    }
}

fn is_enoent(e: &pathrs::error::Error) -> bool {
    errno_of(e) == Some(libc::ENOENT)
}

impl<'o> Applier<'o> {
    pub fn new(root: Root, root_path: &Path, opts: &'o ApplyOptions) -> Self {
        Applier {
            root,
            root_path: root_path.to_path_buf(),
            opts,
            created: BTreeSet::new(),
            buf: vec![0u8; 128 * 1024],
            known_dirs: HashSet::new(),
            dir_meta: Vec::new(),
        }
    }

    fn io_err(&self, rel: &Path, what: &str, e: impl Into<io::Error>) -> LayerError {
        let e = e.into();
        LayerError::io(
            self.root_path.join(rel),
            io::Error::new(e.kind(), format!("{what}: {e}")),
        )
    }

    fn perr(&self, rel: &Path, what: &str, e: pathrs::error::Error) -> LayerError {
        self.io_err(rel, what, to_io(e))
    }

    /// The type of what is at `rel` (not following a final symlink), or `None`.
    fn lstat(&self, rel: &Path) -> Result<Option<(Handle, FileType)>> {
        match self.root.resolve_nofollow(rel) {
            Ok(h) => {
                let st = rustix::fs::fstat(&h).map_err(|e| self.io_err(rel, "stat", e))?;
                Ok(Some((h, FileType::from_raw_mode(st.st_mode))))
            }
            Err(e) if is_enoent(&e) => Ok(None),
            Err(e) => Err(self.perr(rel, "resolve", e)),
        }
    }

    /// Check that every component of `dir` is a real directory, creating missing ones.
    fn ensure_dir_chain(&mut self, entry: &str, dir: &Path) -> Result<()> {
        if dir.as_os_str().is_empty() || self.known_dirs.contains(dir) {
            return Ok(());
        }
        let mut cur = PathBuf::new();
        let comps: Vec<_> = dir.components().collect();
        for (i, c) in comps.iter().enumerate() {
            cur.push(c);
            if self.known_dirs.contains(&cur) {
                continue;
            }
            match self.lstat(&cur)? {
                Some((_, FileType::Directory)) => {
                    self.known_dirs.insert(cur.clone());
                }
                Some((_, FileType::Symlink)) => {
                    return Err(LayerError::entry(
                        entry,
                        format!(
                            "parent {} is a symlink: refusing to write through it",
                            cur.display()
                        ),
                    ))
                }
                Some(_) => {
                    return Err(LayerError::entry(
                        entry,
                        format!("parent {} is not a directory", cur.display()),
                    ))
                }
                None => {
                    self.root
                        .mkdir_all(dir, &Permissions::from_mode(0o755))
                        .map_err(|e| self.perr(dir, "create parent directories", e))?;
                    for c in &comps[i + 1..] {
                        self.known_dirs.insert(cur.clone());
                        self.created.insert(cur.clone());
                        cur.push(c);
                    }
                    self.known_dirs.insert(cur.clone());
                    self.created.insert(cur);
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    /// Whether every component of `dir` exists; a symlink or non-directory among them
    /// refuses the entry as in [`Self::ensure_dir_chain`].
    fn dir_chain_exists(&mut self, dir: &Path) -> Result<bool> {
        let mut cur = PathBuf::new();
        for c in dir.components() {
            cur.push(c);
            if self.known_dirs.contains(&cur) {
                continue;
            }
            match self.lstat(&cur)? {
                None => return Ok(false),
                Some((_, FileType::Directory)) => {
                    self.known_dirs.insert(cur.clone());
                }
                Some(_) => break, // ensure_dir_chain names the problem
            }
        }
        Ok(true)
    }

    /// Remove whatever is at `rel` (a whole subtree for a directory).
    fn remove(&mut self, rel: &Path, ft: FileType) -> Result<()> {
        if ft == FileType::Directory {
            self.root
                .remove_all(rel)
                .map_err(|e| self.perr(rel, "remove directory", e))?;
            self.known_dirs.clear();
        } else {
            self.root
                .remove_file(rel)
                .map_err(|e| self.perr(rel, "remove", e))?;
        }
        Ok(())
    }

    /// Apply one entry; `data` holds its content for regular files.
    pub fn apply(&mut self, item: &Item, data: &mut dyn Read) -> Result<()> {
        let Some(path) = item.path.clone() else {
            if item.kind == EntryType::Directory {
                return Ok(()); // the root itself: keep the target's own metadata
            }
            return Err(LayerError::entry(
                &item.name,
                "a non-directory names the root",
            ));
        };
        let parent = path.parent().unwrap_or(Path::new("")).to_path_buf();
        let base = path.file_name().unwrap_or_default().as_bytes().to_vec();
        if base.starts_with(WHITEOUT_PREFIX.as_bytes()) {
            return self.whiteout(item, &parent, &base);
        }
        self.ensure_dir_chain(&item.name, &parent)?;
        let existing = self.lstat(&path)?;
        match item.kind {
            EntryType::Directory => {
                match existing {
                    Some((_, FileType::Directory)) => {}
                    other => {
                        if let Some((_, ft)) = other {
                            self.remove(&path, ft)?;
                        }
                        self.root
                            .create(&path, &InodeType::Directory(Permissions::from_mode(0o700)))
                            .map_err(|e| self.perr(&path, "mkdir", e))?;
                    }
                }
                self.known_dirs.insert(path.clone());
                self.set_meta_at(item, &parent, &path, false)?;
                self.dir_meta.push((path.clone(), item.mode, item.mtime));
            }
            EntryType::Regular | EntryType::Continuous => {
                if let Some((_, ft)) = existing {
                    self.remove(&path, ft)?;
                }
                let flags = OpenFlags::O_WRONLY
                    | OpenFlags::O_EXCL
                    | OpenFlags::O_NOFOLLOW
                    | OpenFlags::O_CLOEXEC;
                let mut file = self
                    .root
                    .create_file(&path, flags, &Permissions::from_mode(0o600))
                    .map_err(|e| self.perr(&path, "create", e))?;
                let n = self.copy_data(data, &mut file, &path)?;
                if n != item.size {
                    return Err(LayerError::Stream(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!(
                            "entry {:?}: stream ends after {n} of {} bytes",
                            item.name, item.size
                        ),
                    )));
                }
                self.set_file_meta(item, &path, &file)?;
            }
            EntryType::Symlink => {
                if let Some((_, ft)) = existing {
                    self.remove(&path, ft)?;
                }
                let target = item.link.clone().unwrap_or_default();
                if target.is_empty() {
                    return Err(LayerError::entry(
                        &item.name,
                        "symlink with an empty target",
                    ));
                }
                self.root
                    .create(
                        &path,
                        &InodeType::Symlink(PathBuf::from(OsStr::from_bytes(&target))),
                    )
                    .map_err(|e| self.perr(&path, "symlink", e))?;
                self.set_meta_at(item, &parent, &path, true)?;
            }
            EntryType::Link => self.hardlink(item, &path, existing)?,
            EntryType::Char | EntryType::Block | EntryType::Fifo => {
                if item.kind != EntryType::Fifo && !self.opts.privileged {
                    return Err(LayerError::entry(
                        &item.name,
                        "device node refused: not privileged to create devices",
                    ));
                }
                if let Some((_, ft)) = existing {
                    self.remove(&path, ft)?;
                }
                let perm = Permissions::from_mode(item.mode & 0o777);
                let dev = rustix::fs::makedev(item.device.0, item.device.1);
                let t = match item.kind {
                    EntryType::Char => InodeType::CharacterDevice(perm, dev),
                    EntryType::Block => InodeType::BlockDevice(perm, dev),
                    _ => InodeType::Fifo(perm),
                };
                self.root
                    .create(&path, &t)
                    .map_err(|e| self.perr(&path, "mknod", e))?;
                self.set_meta_at(item, &parent, &path, false)?;
                self.chmod_at(&parent, &path, item.mode)?;
            }
            other => {
                return Err(LayerError::entry(
                    &item.name,
                    format!("unsupported entry type {:?}", other.as_byte() as char),
                ))
            }
        }
        self.created.insert(path);
        Ok(())
    }

    /// Copy an entry's content, telling stream errors (reading the layer) from errors
    /// writing the file.
    fn copy_data(&mut self, data: &mut dyn Read, file: &mut File, path: &Path) -> Result<u64> {
        let mut buf = std::mem::take(&mut self.buf);
        let r = self.copy_with(&mut buf, data, file, path);
        self.buf = buf;
        r
    }

    fn copy_with(
        &self,
        buf: &mut [u8],
        data: &mut dyn Read,
        file: &mut File,
        path: &Path,
    ) -> Result<u64> {
        let mut total = 0u64;
        loop {
            let n = match data.read(buf) {
                Ok(0) => return Ok(total),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(LayerError::Stream(e)),
            };
            file.write_all(&buf[..n])
                .map_err(|e| self.io_err(path, "write", e))?;
            total += n as u64;
        }
    }

    fn hardlink(
        &mut self,
        item: &Item,
        path: &Path,
        existing: Option<(Handle, FileType)>,
    ) -> Result<()> {
        let raw = item.link.clone().unwrap_or_default();
        let target = super::normalize(&raw)
            .map_err(|why| LayerError::entry(&item.name, format!("hardlink target: {why}")))?
            .ok_or_else(|| LayerError::entry(&item.name, "hardlink to the root"))?;
        match self.lstat(&target)? {
            None => {
                return Err(LayerError::entry(
                    &item.name,
                    format!("hardlink target {} does not exist", target.display()),
                ))
            }
            Some((_, FileType::Symlink)) => {
                return Err(LayerError::entry(
                    &item.name,
                    format!("hardlink target {} is a symlink: refused", target.display()),
                ))
            }
            Some((_, FileType::Directory)) => {
                return Err(LayerError::entry(
                    &item.name,
                    format!("hardlink target {} is a directory", target.display()),
                ))
            }
            Some(_) => {}
        }
        if target == path {
            return Ok(());
        }
        if let Some((_, ft)) = existing {
            self.remove(path, ft)?;
        }
        self.root
            .create(path, &InodeType::Hardlink(target))
            .map_err(|e| self.perr(path, "hardlink", e))?;
        self.created.insert(path.to_path_buf());
        Ok(())
    }

    fn parent_handle(&self, parent: &Path) -> Result<Handle> {
        let p = if parent.as_os_str().is_empty() {
            Path::new("/")
        } else {
            parent
        };
        self.root
            .resolve_nofollow(p)
            .map_err(|e| self.perr(parent, "open parent", e))
    }

    fn xattrs_allowed<'a>(&self, item: &'a Item) -> impl Iterator<Item = &'a (Vec<u8>, Vec<u8>)> {
        item.xattrs.iter().filter(|(k, _)| {
            if is_overlay_xattr(k) {
                tracing::warn!(entry = %item.name, xattr = %String::from_utf8_lossy(k), "ignoring overlayfs xattr in layer");
                false
            } else {
                true
            }
        })
    }

    fn xattr_result(&self, item: &Item, k: &[u8], r: io::Result<()>) -> Result<()> {
        match r {
            Ok(()) => Ok(()),
            Err(e)
                if e.raw_os_error() == Some(libc::ENOTSUP)
                    || (!self.opts.privileged && e.raw_os_error() == Some(libc::EPERM)) =>
            {
                tracing::warn!(entry = %item.name, xattr = %String::from_utf8_lossy(k), "xattr not supported by the target file system or not permitted");
                Ok(())
            }
            Err(e) => Err(LayerError::entry(
                &item.name,
                format!("set xattr {}: {e}", String::from_utf8_lossy(k)),
            )),
        }
    }

    fn set_file_meta(&self, item: &Item, path: &Path, file: &File) -> Result<()> {
        use xattr::FileExt;
        if self.opts.privileged {
            rustix::fs::fchown(file, Some(uid(item.uid)), Some(gid(item.gid)))
                .map_err(|e| self.io_err(path, "chown", e))?;
        }
        for (k, v) in self.xattrs_allowed(item) {
            let r = file.set_xattr(OsStr::from_bytes(k), v);
            self.xattr_result(item, k, r)?;
        }
        rustix::fs::fchmod(file, rustix::fs::Mode::from_raw_mode(item.mode & 0o7777))
            .map_err(|e| self.io_err(path, "chmod", e))?;
        rustix::fs::futimens(file, &times(item.mtime))
            .map_err(|e| self.io_err(path, "set times", e))
    }

    /// Owner, xattrs and (except for directories, done at the end) mtime of a non-regular
    /// entry, through its parent's handle and its own name without following it.
    fn set_meta_at(&self, item: &Item, parent: &Path, path: &Path, symlink: bool) -> Result<()> {
        let dir = self.parent_handle(parent)?;
        let name = path.file_name().unwrap_or_default();
        if self.opts.privileged {
            rustix::fs::chownat(
                &dir,
                name,
                Some(uid(item.uid)),
                Some(gid(item.gid)),
                AtFlags::SYMLINK_NOFOLLOW,
            )
            .map_err(|e| self.io_err(path, "chown", e))?;
        }
        if !symlink {
            // lsetxattr through the parent's /proc/self/fd link: the final name is not followed.
            let proc_path =
                PathBuf::from(format!("/proc/self/fd/{}", dir.as_fd().as_raw_fd())).join(name);
            for (k, v) in self.xattrs_allowed(item) {
                let r = xattr::set(&proc_path, OsStr::from_bytes(k), v);
                self.xattr_result(item, k, r)?;
            }
        }
        if item.kind != EntryType::Directory {
            rustix::fs::utimensat(&dir, name, &times(item.mtime), AtFlags::SYMLINK_NOFOLLOW)
                .map_err(|e| self.io_err(path, "set times", e))?;
        }
        Ok(())
    }

    fn chmod_at(&self, parent: &Path, path: &Path, mode: u32) -> Result<()> {
        let dir = self.parent_handle(parent)?;
        let name = path.file_name().unwrap_or_default();
        rustix::fs::chmodat(
            &dir,
            name,
            rustix::fs::Mode::from_raw_mode(mode & 0o7777),
            AtFlags::empty(),
        )
        .map_err(|e| self.io_err(path, "chmod", e))
    }

    fn whiteout(&mut self, item: &Item, parent: &Path, base: &[u8]) -> Result<()> {
        let target = &base[WHITEOUT_PREFIX.len()..];
        if base == OPAQUE_MARKER.as_bytes() {
            self.ensure_dir_chain(&item.name, parent)?;
            return match self.opts.whiteouts {
                WhiteoutMode::Delete => self.clear_lower_children(parent),
                WhiteoutMode::Overlay { user_xattr } => {
                    let key = if user_xattr {
                        "user.overlay.opaque"
                    } else {
                        "trusted.overlay.opaque"
                    };
                    let h = self.parent_handle(parent)?;
                    let f = h
                        .reopen(OpenFlags::O_RDONLY | OpenFlags::O_DIRECTORY | OpenFlags::O_CLOEXEC)
                        .map_err(|e| self.perr(parent, "open directory", e))?;
                    use xattr::FileExt;
                    f.set_xattr(key, b"y")
                        .map_err(|e| LayerError::entry(&item.name, format!("set {key}: {e}")))
                }
            };
        }
        if target.is_empty() || target == b"." || target == b".." {
            return Err(LayerError::entry(&item.name, "whiteout names no file"));
        }
        if target.starts_with(WHITEOUT_PREFIX.as_bytes()) {
            // AUFS metadata (.wh..wh.plnk, .wh..wh.aufs): meaningless here.
            return Ok(());
        }
        let victim = parent.join(OsStr::from_bytes(target));
        if self.opts.whiteouts == WhiteoutMode::Delete && !self.dir_chain_exists(parent)? {
            return Ok(()); // nothing below a missing directory to delete
        }
        self.ensure_dir_chain(&item.name, parent)?;
        let existing = self.lstat(&victim)?;
        match self.opts.whiteouts {
            WhiteoutMode::Delete => match existing {
                _ if self.created.contains(&victim) => {} // same layer: survives
                Some((_, FileType::Directory)) if self.has_created_under(&victim) => {
                    self.clear_lower_children(&victim)?;
                }
                Some((_, ft)) => self.remove(&victim, ft)?,
                None => {}
            },
            WhiteoutMode::Overlay { .. } => {
                if !self.opts.privileged {
                    return Err(LayerError::entry(
                        &item.name,
                        "overlay whiteout needs a 0/0 character device: not privileged",
                    ));
                }
                if self.created.contains(&victim) || self.has_created_under(&victim) {
                    return Ok(()); // same layer: survives
                }
                if let Some((_, ft)) = existing {
                    self.remove(&victim, ft)?;
                }
                self.root
                    .create(
                        &victim,
                        &InodeType::CharacterDevice(Permissions::from_mode(0o000), 0),
                    )
                    .map_err(|e| self.perr(&victim, "mknod whiteout", e))?;
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
    fn clear_lower_children(&mut self, dir: &Path) -> Result<()> {
        let h = self.parent_handle(dir)?;
        let f = h
            .reopen(OpenFlags::O_RDONLY | OpenFlags::O_DIRECTORY | OpenFlags::O_CLOEXEC)
            .map_err(|e| self.perr(dir, "open directory", e))?;
        let mut names = Vec::new();
        let mut rd =
            rustix::fs::Dir::read_from(&f).map_err(|e| self.io_err(dir, "read directory", e))?;
        while let Some(ent) = rd.read() {
            let ent = ent.map_err(|e| self.io_err(dir, "read directory", e))?;
            let n = ent.file_name().to_bytes();
            if n != b"." && n != b".." {
                names.push(n.to_vec());
            }
        }
        drop(rd);
        for n in names {
            let child = dir.join(OsStr::from_bytes(&n));
            let Some((_, ft)) = self.lstat(&child)? else {
                continue;
            };
            let keep = self.created.contains(&child) || self.has_created_under(&child);
            if !keep {
                self.remove(&child, ft)?;
            } else if ft == FileType::Directory {
                self.clear_lower_children(&child)?;
            }
        }
        Ok(())
    }

    /// Set directory modes and mtimes (in entry order, so a later entry for the same
    /// directory wins).
    pub fn finish(self) -> Result<()> {
        for (path, mode, mtime) in &self.dir_meta {
            let parent = path.parent().unwrap_or(Path::new(""));
            match self.lstat(path)? {
                Some((_, FileType::Directory)) => {}
                _ => continue, // removed or replaced later in this layer
            }
            self.chmod_at(parent, path, *mode)?;
            let dir = self.parent_handle(parent)?;
            let name = path.file_name().unwrap_or_default();
            rustix::fs::utimensat(&dir, name, &times(*mtime), AtFlags::SYMLINK_NOFOLLOW)
                .map_err(|e| self.io_err(path, "set times", e))?;
        }
        Ok(())
    }
}

fn uid(u: u64) -> Uid {
    Uid::from_raw(u as u32)
}

fn gid(g: u64) -> Gid {
    Gid::from_raw(g as u32)
}

fn times(mtime: i64) -> Timestamps {
    let t = rustix::fs::Timespec {
        tv_sec: mtime,
        tv_nsec: 0,
    };
    Timestamps {
        last_access: t,
        last_modification: t,
    }
}
