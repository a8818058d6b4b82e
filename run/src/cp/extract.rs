//! Writing side of `cp`: a tar stream → files below one directory, created through pathrs
//! with in-root resolution (openat2 `RESOLVE_IN_ROOT`), the directory's handle being the
//! root. Whatever the stream or the container does, nothing is created outside that
//! directory:
//! - names are relative; a `..` component refuses the entry;
//! - an existing parent that is a symlink or not a directory refuses the entry (no write
//!   through a symlink); missing parents are made 0755;
//! - a directory does not replace a non-directory, nor the other way round, unless
//!   `overwrite` (Podman's `--overwrite`);
//! - hard links must name an existing non-directory, non-symlink below the root.

use std::collections::HashSet;
use std::ffi::OsStr;
use std::fs::Permissions;
use std::io::{self, Read};
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};

use pathrs::flags::OpenFlags;
use pathrs::{InodeType, Root};
use rustix::fs::{AtFlags, FileType, Gid, Timestamps, Uid};
use tar::EntryType;

use super::error::{is_enoent, perr, CopyError};
use super::xattrs::{self, XattrPolicy, Xattrs};

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

/// Extract `input` (an uncompressed tar) below `root`; returns the number of entries.
pub fn extract(root: &Root, input: impl Read, opts: &ExtractOptions) -> Result<u64, CopyError> {
    let mut x = Extractor {
        root,
        opts,
        known_dirs: HashSet::new(),
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
        let _ = x.set_times(path, *mtime);
    }
    Ok(n)
}

/// A tar name as a relative path without `.`; `None` for the root. `..` is refused.
pub(crate) fn normalize(raw: &[u8]) -> Result<Option<PathBuf>, String> {
    let mut out = PathBuf::new();
    for c in Path::new(OsStr::from_bytes(raw)).components() {
        match c {
            Component::Normal(p) => out.push(p),
            Component::CurDir | Component::RootDir => {}
            Component::ParentDir => return Err("a \"..\" component".to_string()),
            Component::Prefix(_) => return Err("a path prefix".to_string()),
        }
    }
    Ok((!out.as_os_str().is_empty()).then_some(out))
}

struct Extractor<'a> {
    root: &'a Root,
    opts: &'a ExtractOptions,
    known_dirs: HashSet<PathBuf>,
    dir_times: Vec<(PathBuf, i64)>,
}

impl Extractor<'_> {
    fn lstat(&self, rel: &Path) -> Result<Option<FileType>, CopyError> {
        match self.root.resolve_nofollow(rel) {
            Ok(h) => {
                let st = rustix::fs::fstat(&h).map_err(|e| CopyError::io(rel, e.into()))?;
                Ok(Some(FileType::from_raw_mode(st.st_mode)))
            }
            Err(e) if is_enoent(&e) => Ok(None),
            Err(e) => Err(perr(rel, "resolve", e)),
        }
    }

    /// Every component of `dir` is a real directory (missing ones are made).
    fn parents(&mut self, dir: &Path) -> Result<(), CopyError> {
        let mut cur = PathBuf::new();
        for c in dir.components() {
            cur.push(c);
            if self.known_dirs.contains(&cur) {
                continue;
            }
            match self.lstat(&cur)? {
                Some(FileType::Directory) => {}
                Some(FileType::Symlink) => {
                    return Err(CopyError::Refused(format!(
                        "{}: a symlink: refusing to write through it",
                        cur.display()
                    )))
                }
                Some(_) => {
                    return Err(CopyError::Refused(format!(
                        "{}: not a directory",
                        cur.display()
                    )))
                }
                None => {
                    self.root
                        .create(&cur, &InodeType::Directory(Permissions::from_mode(0o755)))
                        .map_err(|e| perr(&cur, "mkdir", e))?;
                    self.chown(&cur, 0, 0)?;
                }
            }
            self.known_dirs.insert(cur.clone());
        }
        Ok(())
    }

    fn remove(&mut self, rel: &Path, ft: FileType) -> Result<(), CopyError> {
        if ft == FileType::Directory {
            self.root
                .remove_all(rel)
                .map_err(|e| perr(rel, "remove", e))?;
            self.known_dirs.retain(|d| !d.starts_with(rel));
        } else {
            self.root
                .remove_file(rel)
                .map_err(|e| perr(rel, "remove", e))?;
        }
        Ok(())
    }

    /// Make room for a new entry at `rel`; `dir`: the new entry is a directory. Returns
    /// whether a directory is already there (and stays).
    fn make_room(&mut self, rel: &Path, dir: bool) -> Result<bool, CopyError> {
        let Some(ft) = self.lstat(rel)? else {
            return Ok(false);
        };
        let is_dir = ft == FileType::Directory;
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
            )));
        }
        self.remove(rel, ft)?;
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

    /// chown (not following) what is at `rel` to `ids(uid, gid)`.
    fn chown(&self, rel: &Path, uid: u64, gid: u64) -> Result<(), CopyError> {
        let Some((u, g)) = self.ids(uid, gid) else {
            return Ok(());
        };
        let (parent, name) = split(rel);
        let dir = self
            .root
            .resolve_nofollow(parent)
            .map_err(|e| perr(rel, "open parent", e))?;
        rustix::fs::chownat(
            &dir,
            name,
            Some(Uid::from_raw(u)),
            Some(Gid::from_raw(g)),
            AtFlags::SYMLINK_NOFOLLOW,
        )
        .map_err(|e| CopyError::io(rel, io::Error::other(format!("chown {u}:{g}: {e}"))))
    }

    fn set_times(&self, rel: &Path, mtime: i64) -> Result<(), CopyError> {
        let (parent, name) = split(rel);
        let dir = self
            .root
            .resolve_nofollow(parent)
            .map_err(|e| perr(rel, "open parent", e))?;
        let t = rustix::fs::Timespec {
            tv_sec: mtime,
            tv_nsec: 0,
        };
        rustix::fs::utimensat(
            &dir,
            name,
            &Timestamps {
                last_access: t,
                last_modification: t,
            },
            AtFlags::SYMLINK_NOFOLLOW,
        )
        .map_err(|e| CopyError::io(rel, e.into()))
    }

    fn chmod(&self, rel: &Path, mode: u32) -> Result<(), CopyError> {
        let (parent, name) = split(rel);
        let dir = self
            .root
            .resolve_nofollow(parent)
            .map_err(|e| perr(rel, "open parent", e))?;
        rustix::fs::chmodat(
            &dir,
            name,
            rustix::fs::Mode::from_raw_mode(self.mode(mode)),
            AtFlags::empty(),
        )
        .map_err(|e| CopyError::io(rel, e.into()))
    }

    /// Set `attrs` on the directory at `rel`, reached without following a link.
    fn set_xattrs(&self, rel: &Path, attrs: &Xattrs, shown: &str) -> Result<(), CopyError> {
        if attrs.is_empty() {
            return Ok(());
        }
        let h = self
            .root
            .resolve_nofollow(rel)
            .map_err(|e| perr(rel, "open", e))?;
        xattrs::apply(&h.as_fd(), attrs, shown).map_err(|e| CopyError::io(rel, e))
    }

    fn entry<R: Read>(&mut self, e: &mut tar::Entry<'_, R>) -> Result<(), CopyError> {
        let raw = e.path_bytes().into_owned();
        let shown = String::from_utf8_lossy(&raw).into_owned();
        let bad = |why: String| CopyError::Refused(format!("tar entry {shown:?}: {why}"));
        let Some(rel) = normalize(&raw).map_err(bad)? else {
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
        let (parent, _) = split(&rel);
        let parent = parent.to_path_buf();
        self.parents(&parent)?;
        match kind {
            EntryType::Directory => {
                if !self.make_room(&rel, true)? {
                    self.root
                        .create(&rel, &InodeType::Directory(Permissions::from_mode(0o700)))
                        .map_err(|x| perr(&rel, "mkdir", x))?;
                }
                self.known_dirs.insert(rel.clone());
                self.chown(&rel, uid, gid)?;
                self.chmod(&rel, mode)?;
                self.set_xattrs(&rel, &attrs, &shown)?;
                self.dir_times.push((rel, mtime));
            }
            EntryType::Regular | EntryType::Continuous => {
                self.make_room(&rel, false)?;
                let flags = OpenFlags::O_WRONLY | OpenFlags::O_EXCL | OpenFlags::O_NOFOLLOW;
                let mut file = self
                    .root
                    .create_file(&rel, flags, &Permissions::from_mode(0o600))
                    .map_err(|x| perr(&rel, "create", x))?;
                io::copy(e, &mut file).map_err(|x| CopyError::io(&rel, x))?;
                if let Some((u, g)) = self.ids(uid, gid) {
                    rustix::fs::fchown(&file, Some(Uid::from_raw(u)), Some(Gid::from_raw(g)))
                        .map_err(|x| {
                            CopyError::io(&rel, io::Error::other(format!("chown {u}:{g}: {x}")))
                        })?;
                }
                rustix::fs::fchmod(&file, rustix::fs::Mode::from_raw_mode(self.mode(mode)))
                    .map_err(|x| CopyError::io(&rel, x.into()))?;
                // After the chown, which clears file capabilities.
                xattrs::apply(&file, &attrs, &shown).map_err(|x| CopyError::io(&rel, x))?;
                drop(file);
                self.set_times(&rel, mtime)?;
            }
            EntryType::Symlink => {
                let target = e
                    .link_name_bytes()
                    .map(|t| t.into_owned())
                    .unwrap_or_default();
                if target.is_empty() {
                    return Err(bad("symlink with an empty target".into()));
                }
                self.make_room(&rel, false)?;
                self.root
                    .create(
                        &rel,
                        &InodeType::Symlink(PathBuf::from(OsStr::from_bytes(&target))),
                    )
                    .map_err(|x| perr(&rel, "symlink", x))?;
                self.chown(&rel, uid, gid)?;
                self.set_times(&rel, mtime)?;
            }
            EntryType::Link => {
                let raw_target = e
                    .link_name_bytes()
                    .map(|t| t.into_owned())
                    .unwrap_or_default();
                let target = normalize(&raw_target)
                    .map_err(|w| bad(format!("hard link target: {w}")))?
                    .ok_or_else(|| bad("hard link to the root".into()))?;
                match self.lstat(&target)? {
                    None => return Err(bad(format!("hard link target {target:?} is missing"))),
                    Some(FileType::Directory) | Some(FileType::Symlink) => {
                        return Err(bad(format!(
                            "hard link target {target:?} is a directory or a symlink"
                        )))
                    }
                    Some(_) => {}
                }
                if target == rel {
                    return Ok(());
                }
                self.make_room(&rel, false)?;
                self.root
                    .create(&rel, &InodeType::Hardlink(target))
                    .map_err(|x| perr(&rel, "link", x))?;
            }
            EntryType::Fifo | EntryType::Char | EntryType::Block => {
                if kind != EntryType::Fifo && !self.opts.devices {
                    tracing::warn!(entry = %shown, "skipping a device node");
                    return Ok(());
                }
                self.make_room(&rel, false)?;
                let perm = Permissions::from_mode(self.mode(mode) & 0o777);
                let dev = rustix::fs::makedev(
                    h.device_major().ok().flatten().unwrap_or(0),
                    h.device_minor().ok().flatten().unwrap_or(0),
                );
                let t = match kind {
                    EntryType::Char => InodeType::CharacterDevice(perm, dev),
                    EntryType::Block => InodeType::BlockDevice(perm, dev),
                    _ => InodeType::Fifo(perm),
                };
                self.root
                    .create(&rel, &t)
                    .map_err(|x| perr(&rel, "mknod", x))?;
                self.chown(&rel, uid, gid)?;
                self.chmod(&rel, mode)?;
                self.set_times(&rel, mtime)?;
            }
            // PAX and GNU extension headers are merged by the tar crate; others are refused.
            other => {
                return Err(bad(format!(
                    "unsupported entry type {:?}",
                    other.as_byte() as char
                )))
            }
        }
        Ok(())
    }
}

/// `a/b/c` → (`a/b`, `c`); a one-component path's parent is the root (`/`).
fn split(rel: &Path) -> (&Path, &OsStr) {
    let name = rel.file_name().unwrap_or_default();
    let parent = match rel.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("/"),
    };
    (parent, name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_relative_and_never_climb() {
        assert_eq!(normalize(b"./a/b/").unwrap(), Some(PathBuf::from("a/b")));
        assert_eq!(normalize(b"/etc/x").unwrap(), Some(PathBuf::from("etc/x")));
        assert_eq!(normalize(b"./").unwrap(), None);
        assert!(normalize(b"a/../../x").is_err());
    }
}
