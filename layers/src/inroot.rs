//! File system work inside a tree that untrusted code may have shaped: a container's root
//! file system, an overlay upper dir, a snapshot, an image's content.
//!
//! A host path string into such a tree (`upper.join(rel)`) is walked by the kernel, which
//! follows any symlink a container or an image left on the way, out of the tree
//! (CVE-2024-23652: a build deleting host files through a swapped parent). Here every
//! operation starts from a descriptor of the tree's top and goes down one name at a time,
//! `O_NOFOLLOW`, so nothing outside the tree is ever reached:
//!
//! - [`InRoot::resolve`]: a path as the container sees it: symlinks followed inside the tree
//!   (an absolute target from its top, `..` stopping there), the part that does not exist kept
//!   as written. The result has no symlink in it. For mount destinations and copy sources.
//! - [`InRoot::lstat`], [`InRoot::readlink`], [`InRoot::open_dir`], [`InRoot::parent`],
//!   [`InRoot::remove_file`], [`InRoot::remove_empty_dirs`]: an exact path through real
//!   directories only; a symlink (or a non-directory) before its last component is an error,
//!   never followed. For entries berth made itself (the mount points a runtime created): once
//!   something replaced a directory on their path, they are not berth's to touch any more;
//!   and for reading what [`InRoot::resolve`] found.
//! - [`open_dir_at`], [`read_dir_at`], [`meta_at`], [`proc_path`], [`remove_empty_dirs_at`]:
//!   one level below an opened directory, for walks (the layer differ, COPY sources, tree
//!   removal in the store).
//!
//! - [`write::RootWriter`]: creating, replacing and changing entries inside a root, the one
//!   implementation of invariant 4, for layer apply, `cp` in berth-run and COPY/ADD in
//!   berth-build.

use std::ffi::{OsStr, OsString};
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use rustix::fs::{AtFlags, FileType, Mode, OFlags, Stat};
use rustix::io::Errno;

pub mod write;

pub use write::{entry_path, Attrs, LinkTarget, RootWriter, Special, WriteError, XattrFailures};

/// Symlinks followed at most while resolving one path (Linux's own limit).
pub const MAX_LINKS: usize = 40;

/// A path resolved inside a root ([`InRoot::resolve`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// Relative to the root; no component is a symlink (as far as it exists), none is `..`.
    pub path: PathBuf,
    /// How many leading components of `path` exist.
    pub existing: usize,
}

impl Resolved {
    /// Whether the whole path exists.
    pub fn exists(&self) -> bool {
        self.existing == self.path.components().count()
    }

    /// The shallowest component that does not exist (with its parents), if any.
    pub fn first_missing(&self) -> Option<PathBuf> {
        (!self.exists()).then(|| self.path.components().take(self.existing + 1).collect())
    }
}

/// The fields of a `stat` berth uses, in the same types on every architecture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Meta {
    pub kind: FileType,
    /// `st_mode`: type and permission bits.
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    pub mtime: i64,
    pub mtime_nsec: i64,
    pub nlink: u64,
    pub dev: u64,
    pub ino: u64,
    pub rdev: u64,
}

impl From<&Stat> for Meta {
    // The field types differ between architectures: the casts are no-ops on some.
    #[allow(clippy::unnecessary_cast)]
    fn from(st: &Stat) -> Meta {
        Meta {
            kind: FileType::from_raw_mode(st.st_mode as u32),
            mode: st.st_mode as u32,
            uid: st.st_uid as u32,
            gid: st.st_gid as u32,
            size: st.st_size as u64,
            mtime: st.st_mtime as i64,
            mtime_nsec: st.st_mtime_nsec as i64,
            nlink: st.st_nlink as u64,
            dev: st.st_dev as u64,
            ino: st.st_ino as u64,
            rdev: st.st_rdev as u64,
        }
    }
}

/// A tree opened by its top directory; paths given to its methods are relative to it (a
/// leading `/` is dropped). Errors keep the errno (`raw_os_error`); callers name the path.
#[derive(Debug)]
pub struct InRoot {
    top: OwnedFd,
    path: PathBuf,
}

impl InRoot {
    /// Open the tree at host path `path` (berth's own path: a store directory, a mount
    /// point, the build context).
    pub fn open(path: &Path) -> io::Result<InRoot> {
        let top = rustix::fs::open(
            path,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        Ok(InRoot {
            top,
            path: path.to_path_buf(),
        })
    }

    /// The tree whose top directory is `top` (any directory descriptor, `O_PATH` is
    /// enough), shown as `path` in messages.
    pub fn from_fd(top: OwnedFd, path: &Path) -> InRoot {
        InRoot {
            top,
            path: path.to_path_buf(),
        }
    }

    /// The host path the tree was opened at (for messages).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `rel` as the container sees it; the last component is followed only with
    /// `follow_last`. Components from the first that does not exist (or sits below a
    /// non-directory) are kept as written, with `..` among them still stopping at the top.
    pub fn resolve(&self, rel: &Path, follow_last: bool) -> io::Result<Resolved> {
        self.resolve_fd(rel, follow_last).map(|(r, _)| r)
    }

    /// What `rel` leads to with every symlink followed inside the tree, or `None` when it
    /// does not exist.
    pub fn stat(&self, rel: &Path) -> io::Result<Option<Meta>> {
        match self.resolve_fd(rel, true)? {
            (r, Some(fd)) if r.exists() => Ok(Some(Meta::from(&rustix::fs::fstat(&fd)?))),
            _ => Ok(None),
        }
    }

    /// [`Self::resolve`], with a descriptor (`O_PATH`) of the deepest existing component.
    fn resolve_fd(&self, rel: &Path, follow_last: bool) -> io::Result<(Resolved, Option<OwnedFd>)> {
        let mut todo = Vec::new();
        push_reversed(&mut todo, rel);
        let mut names: Vec<OsString> = Vec::new();
        // fds[i] is `names[..=i]`, for the components that exist.
        let mut fds: Vec<OwnedFd> = Vec::new();
        let mut links = 0;
        while let Some(c) = todo.pop() {
            if c == ".." {
                names.pop();
                fds.truncate(names.len());
                continue;
            }
            if fds.len() < names.len() {
                names.push(c);
                continue;
            }
            let dir = fds.last().map_or(self.top.as_fd(), |f| f.as_fd());
            let fd = match rustix::fs::openat(
                dir,
                c.as_os_str(),
                OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
            ) {
                Ok(fd) => fd,
                Err(Errno::NOENT | Errno::NOTDIR) => {
                    names.push(c);
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            let link = Meta::from(&rustix::fs::fstat(&fd)?).kind == FileType::Symlink;
            if link && (follow_last || !todo.is_empty()) {
                links += 1;
                if links > MAX_LINKS {
                    return Err(io::Error::from_raw_os_error(libc::ELOOP));
                }
                let target = rustix::fs::readlinkat(&fd, "", Vec::new())?;
                let target = Path::new(OsStr::from_bytes(target.as_bytes()));
                if target.is_absolute() {
                    names.clear();
                    fds.clear();
                }
                push_reversed(&mut todo, target);
                continue;
            }
            names.push(c);
            fds.push(fd);
        }
        let existing = fds.len();
        Ok((
            Resolved {
                path: names.iter().collect(),
                existing,
            },
            fds.pop(),
        ))
    }

    /// The top directory, opened for reading.
    fn top_dir(&self) -> io::Result<OwnedFd> {
        Ok(rustix::fs::openat(
            self.top.as_fd(),
            ".",
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?)
    }

    /// The parent directory of `rel` (opened for reading, reached through real directories
    /// only) and `rel`'s last name, for `*at` calls on the entry itself. `rel` must name
    /// something below the top.
    pub fn parent<'a>(&self, rel: &'a Path) -> io::Result<(OwnedFd, &'a OsStr)> {
        let (dirs, last) = exact_components(rel)?;
        let last = last.ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "the top of the tree itself")
        })?;
        let mut cur = self.top_dir()?;
        for d in dirs {
            cur = open_dir_at(cur.as_fd(), d)?;
        }
        Ok((cur, last))
    }

    /// The type and metadata of what is at `rel` (the top itself for an empty `rel`), its
    /// last component not followed; `None` when it does not exist. A component before the
    /// last that is a symlink or not a directory is an error (`ELOOP`, `ENOTDIR`).
    pub fn lstat(&self, rel: &Path) -> io::Result<Option<Meta>> {
        if exact_components(rel)?.1.is_none() {
            return Ok(Some(Meta::from(&rustix::fs::fstat(&self.top)?)));
        }
        let (dir, name) = match self.parent(rel) {
            Ok(p) => p,
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Ok(None),
            Err(e) => return Err(e),
        };
        match meta_at(dir.as_fd(), name) {
            Ok(m) => Ok(Some(m)),
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The target of the symlink at `rel` (as [`Self::lstat`] reaches it).
    pub fn readlink(&self, rel: &Path) -> io::Result<PathBuf> {
        let (dir, name) = self.parent(rel)?;
        let t = rustix::fs::readlinkat(dir.as_fd(), name, Vec::new())?;
        Ok(PathBuf::from(OsStr::from_bytes(t.as_bytes())))
    }

    /// The directory at `rel` (as [`Self::lstat`] reaches it, the last component a real
    /// directory too; the top itself for an empty `rel`), opened for reading: `fchown`,
    /// `fchmod`, [`read_dir_at`] work on it.
    pub fn open_dir(&self, rel: &Path) -> io::Result<OwnedFd> {
        if exact_components(rel)?.1.is_none() {
            return self.top_dir();
        }
        let (dir, name) = self.parent(rel)?;
        open_dir_at(dir.as_fd(), name)
    }

    /// Unlink the non-directory at `rel` (as [`Self::lstat`] reaches it; a symlink is
    /// removed itself).
    pub fn remove_file(&self, rel: &Path) -> io::Result<()> {
        let (dir, name) = self.parent(rel)?;
        Ok(rustix::fs::unlinkat(dir.as_fd(), name, AtFlags::empty())?)
    }

    /// Remove the directory at `rel` if it holds only directories that hold nothing else
    /// (recursively); returns whether it is gone. Anything else (a symlink, a file) on the
    /// way keeps it.
    pub fn remove_empty_dirs(&self, rel: &Path) -> io::Result<bool> {
        let (dir, name) = self.parent(rel)?;
        remove_empty_dirs_at(dir.as_fd(), name)
    }
}

/// `rel`'s components, which must be plain names (a leading `/` and `.` are dropped), split
/// into the directories and the last name.
fn exact_components(rel: &Path) -> io::Result<(Vec<&OsStr>, Option<&OsStr>)> {
    let mut names = Vec::new();
    for c in rel.components() {
        match c {
            Component::Normal(n) => names.push(n),
            Component::RootDir | Component::CurDir => {}
            _ => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("{}: '..' in a path inside a root", rel.display()),
                ))
            }
        }
    }
    let last = names.pop();
    Ok((names, last))
}

/// Push `p`'s components (names and `..`) onto `todo`, last first, so popping walks them in
/// order.
fn push_reversed(todo: &mut Vec<OsString>, p: &Path) {
    for c in p.components().rev() {
        match c {
            Component::Normal(n) => todo.push(n.to_os_string()),
            Component::ParentDir => todo.push(OsString::from("..")),
            _ => {}
        }
    }
}

/// Open directory `name` below `dir` for reading, not following a symlink.
pub fn open_dir_at(dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<OwnedFd> {
    rustix::fs::openat(
        dir,
        name,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(Into::into)
}

/// The metadata of `name` below `dir`, not following a symlink.
fn stat_at(dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<Stat> {
    rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW).map_err(Into::into)
}

/// The metadata of `name` below `dir`, not following a symlink.
pub fn meta_at(dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<Meta> {
    stat_at(dir, name).map(|st| Meta::from(&st))
}

/// A path naming `name` below `dir` for calls that only take paths (`lgetxattr`): the
/// directory's `/proc/self/fd` link, which leads to that very directory, then `name`, which
/// the `l*` calls do not follow.
pub fn proc_path(dir: BorrowedFd<'_>, name: &OsStr) -> PathBuf {
    use std::os::fd::AsRawFd;
    Path::new(&format!("/proc/self/fd/{}", dir.as_raw_fd())).join(name)
}

/// The names in directory `dir` (opened for reading), sorted bytewise, with their types.
pub fn read_dir_at(dir: BorrowedFd<'_>) -> io::Result<Vec<(OsString, FileType)>> {
    let mut out = Vec::new();
    let mut rd = rustix::fs::Dir::read_from(dir)?;
    while let Some(ent) = rd.read() {
        let ent = ent?;
        let n = ent.file_name().to_bytes();
        if n == b"." || n == b".." {
            continue;
        }
        let name = OsStr::from_bytes(n).to_os_string();
        let ft = match ent.file_type() {
            FileType::Unknown => FileType::from_raw_mode(stat_at(dir, &name)?.st_mode),
            t => t,
        };
        out.push((name, ft));
    }
    out.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    Ok(out)
}

/// [`InRoot::remove_empty_dirs`] for `name` below `dir`.
pub fn remove_empty_dirs_at(dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<bool> {
    let d = match open_dir_at(dir, name) {
        Ok(d) => d,
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENOTDIR | libc::ELOOP)) => {
            return Ok(false)
        }
        Err(e) => return Err(e),
    };
    let mut empty = true;
    for (n, ft) in read_dir_at(d.as_fd())? {
        if !(ft == FileType::Directory && remove_empty_dirs_at(d.as_fd(), &n)?) {
            empty = false;
        }
    }
    if !empty {
        return Ok(false);
    }
    match rustix::fs::unlinkat(dir, name, AtFlags::REMOVEDIR) {
        Ok(()) => Ok(true),
        Err(Errno::NOTEMPTY | Errno::EXIST) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests;
