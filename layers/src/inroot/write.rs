//! Writing inside a root: the one implementation of invariant 4 (nothing written outside the
//! target root), used by layer apply (`apply/entry.rs`), `cp` into a container or onto the host
//! (berth-run) and build COPY/ADD (berth-build). Each keeps only its own policy (whiteouts and
//! OCI rules; ownership and `--overwrite`; `--chown`, `--chmod` and in-root resolution of the
//! destination) and asks a [`RootWriter`] for the file system work.
//!
//! Every path given here is relative to the root (a leading `/` is dropped) and made of plain
//! names: a `..` is refused. The writer reaches an entry's parent from the root's descriptor
//! one name at a time, `O_NOFOLLOW|O_DIRECTORY`: a parent that is a symlink or not a
//! directory refuses the entry ([`WriteError::Refused`], naming it), even a symlink that would
//! resolve inside the root. The entry itself is then created, replaced or changed relative to
//! its parent's descriptor, never following its last component either: files are created
//! `O_CREAT|O_EXCL|O_NOFOLLOW`, owners and times set with `AT_SYMLINK_NOFOLLOW`, modes through
//! an `O_PATH|O_NOFOLLOW` descriptor of the entry (never on a symlink), extended attributes
//! with `lsetxattr` below the parent's `/proc/self/fd` link. A tree that another process
//! reshapes meanwhile (a running container swapping a directory for a symlink) can make an
//! entry fail, never land outside: each descriptor held is a real directory inside the root.
//!
//! A caller that wants the container's view of a path (symlinks followed inside the root, as
//! build COPY does for its destination) resolves it first with [`InRoot::resolve`]
//! ([`RootWriter::root`]) and writes at the symlink-free result.
//!
//! Cost: layer apply is the data plane, so the directories last written into stay open (the
//! chain of their descriptors from the top, up to [`MAX_OPEN`]); an entry in the same
//! directory as the one before costs no lookup, one in a sibling a single `openat`.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use rustix::fs::{AtFlags, FileType, Gid, Mode, OFlags, Timestamps, Uid};
use rustix::io::Errno;

use super::{meta_at, open_dir_at, proc_path, read_dir_at, InRoot, Meta};

/// Directory descriptors kept open along the current path; deeper ones are reopened from the
/// deepest kept one as needed (a hostile layer's thousand-level path must not run out of
/// descriptors).
pub const MAX_OPEN: usize = 64;

/// Why an entry could not be written. Every variant names the path concerned.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// A system call failed; `path` is the host path (the root's path joined with the
    /// entry's).
    #[error("{}: {what}: {source}", path.display())]
    Io {
        path: PathBuf,
        what: String,
        #[source]
        source: io::Error,
    },
    /// Reading the content to write failed (the caller's stream, not the file system).
    #[error("{}: reading the content: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The entry at `path` is refused (a parent is a symlink or not a directory, a `..`, a
    /// hard link to nothing or to a symlink); `why` names the offending path inside the root.
    #[error("{why}")]
    Refused { path: PathBuf, why: String },
}

impl WriteError {
    /// The errno of a failed system call, if that is what this is.
    pub fn errno(&self) -> Option<i32> {
        match self {
            WriteError::Io { source, .. } | WriteError::Read { source, .. } => {
                source.raw_os_error()
            }
            WriteError::Refused { .. } => None,
        }
    }
}

impl From<WriteError> for io::Error {
    fn from(e: WriteError) -> io::Error {
        let kind = match &e {
            WriteError::Io { source, .. } | WriteError::Read { source, .. } => source.kind(),
            WriteError::Refused { .. } => io::ErrorKind::PermissionDenied,
        };
        io::Error::new(kind, e.to_string())
    }
}

type Result<T, E = WriteError> = std::result::Result<T, E>;

/// Which failures to set an extended attribute skip that attribute (with a log line naming
/// it) instead of failing the entry.
#[derive(Debug, Clone, Copy)]
pub struct XattrFailures {
    /// The errnos that skip (`ENOTSUP`: the file system has no such attributes; `EPERM`,
    /// `EACCES`: not permitted to this caller).
    pub skip: &'static [i32],
    /// Log skips as warnings (else at debug level).
    pub warn: bool,
}

impl Default for XattrFailures {
    fn default() -> Self {
        XattrFailures {
            skip: &[libc::ENOTSUP],
            warn: true,
        }
    }
}

/// Metadata to set on an entry; `None` (or no attributes) leaves that part as it is. Applied
/// in this order: owner (which clears set-id bits and file capabilities), extended
/// attributes, mode, mtime.
#[derive(Debug, Clone, Copy, Default)]
pub struct Attrs<'a> {
    pub owner: Option<(u32, u32)>,
    pub xattrs: &'a [(Vec<u8>, Vec<u8>)],
    /// Permission bits with set-id and sticky (`& 0o7777`); never set on a symlink.
    pub mode: Option<u32>,
    /// Modification (and access) time, whole seconds.
    pub mtime: Option<i64>,
}

/// A hard link's target, checked ([`RootWriter::hardlink_target`]): its directory, held
/// open, and its name there.
#[derive(Debug)]
pub struct LinkTarget {
    dir: OwnedFd,
    name: OsString,
}

/// The kinds of special file [`RootWriter::mknod`] makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Special {
    Fifo,
    Char(u32, u32),
    Block(u32, u32),
}

/// Creates, replaces and changes entries inside one root ([`InRoot`]); see the module doc.
#[derive(Debug)]
pub struct RootWriter {
    root: InRoot,
    /// The directory last reached, component by component from the top; a component's
    /// descriptor (`O_PATH`) is `None` past [`MAX_OPEN`] except for the last.
    chain: Vec<(OsString, Option<OwnedFd>)>,
    /// Reused copy buffer.
    buf: Vec<u8>,
    xattr_failures: XattrFailures,
}

impl RootWriter {
    /// A writer into `root`.
    pub fn new(root: InRoot) -> RootWriter {
        RootWriter {
            root,
            chain: Vec::new(),
            buf: Vec::new(),
            xattr_failures: XattrFailures::default(),
        }
    }

    /// A writer into the directory at host path `path` (berth's own path).
    pub fn open(path: &Path) -> Result<RootWriter> {
        let root = InRoot::open(path).map_err(|e| WriteError::Io {
            path: path.to_path_buf(),
            what: "open root".into(),
            source: e,
        })?;
        Ok(RootWriter::new(root))
    }

    /// Which extended attribute failures skip the attribute.
    pub fn with_xattr_failures(mut self, f: XattrFailures) -> RootWriter {
        self.xattr_failures = f;
        self
    }

    /// The root, for reading and in-root resolution.
    pub fn root(&self) -> &InRoot {
        &self.root
    }

    /// The host path of `rel`, for messages.
    pub fn shown(&self, rel: &Path) -> PathBuf {
        self.root.path.join(rel)
    }

    fn io(&self, rel: &Path, what: &str, e: impl Into<io::Error>) -> WriteError {
        WriteError::Io {
            path: self.shown(rel),
            what: what.to_string(),
            source: e.into(),
        }
    }

    /// The descriptor of the directory the chain ends at (the top for an empty chain).
    fn cur(&self) -> BorrowedFd<'_> {
        match self.chain.last() {
            Some((_, Some(fd))) => fd.as_fd(),
            _ => self.root.top.as_fd(),
        }
    }

    /// Make the chain reach directory `dir` through real directories only, creating missing
    /// ones with `mode` when given. Returns how many (trailing) components were created, or
    /// `None` when one is missing and nothing is created.
    fn descend(&mut self, dir: &Path, create: Option<u32>) -> Result<Option<usize>> {
        let mut names = Vec::new();
        for c in dir.components() {
            match c {
                Component::Normal(n) => names.push(n),
                Component::RootDir | Component::CurDir => {}
                _ => {
                    return Err(WriteError::Refused {
                        path: dir.to_path_buf(),
                        why: format!(
                            "{}: a '..' in a path inside the root: refused",
                            dir.display()
                        ),
                    })
                }
            }
        }
        let mut depth = 0;
        while depth < self.chain.len() && depth < names.len() && self.chain[depth].0 == names[depth]
        {
            depth += 1;
        }
        // Resume from the deepest component still open.
        while depth > 0 && self.chain[depth - 1].1.is_none() {
            depth -= 1;
        }
        self.chain.truncate(depth);
        let mut created = 0;
        for (i, name) in names.iter().enumerate().skip(depth) {
            let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
            let fd = match rustix::fs::openat(self.cur(), *name, flags, Mode::empty()) {
                Ok(fd) => fd,
                Err(Errno::NOENT) => {
                    let Some(mode) = create else {
                        return Ok(None);
                    };
                    let here = || names[..=i].iter().collect::<PathBuf>();
                    match rustix::fs::mkdirat(self.cur(), *name, Mode::from_raw_mode(mode)) {
                        Ok(()) => created += 1,
                        Err(Errno::EXIST) => {}
                        Err(e) => return Err(self.io(&here(), "create directory", e)),
                    }
                    rustix::fs::openat(self.cur(), *name, flags, Mode::empty())
                        .map_err(|e| self.refusal_or_io(&here(), e))?
                }
                Err(e) => {
                    let here: PathBuf = names[..=i].iter().collect();
                    return Err(self.refusal_or_io(&here, e));
                }
            };
            if self.chain.len() >= MAX_OPEN {
                if let Some(last) = self.chain.last_mut() {
                    last.1 = None;
                }
            }
            self.chain.push((name.to_os_string(), Some(fd)));
        }
        Ok(Some(created))
    }

    /// Opening directory `here` (whose parent the chain ends at) failed with `e`: a symlink or
    /// a non-directory there refuses the entry, anything else is an I/O error.
    fn refusal_or_io(&self, here: &Path, e: Errno) -> WriteError {
        if matches!(e, Errno::NOTDIR | Errno::LOOP) {
            let name = here.file_name().unwrap_or_default();
            let why = match meta_at(self.cur(), name) {
                Ok(m) if m.kind == FileType::Symlink => {
                    "is a symlink: refusing to write through it"
                }
                _ => "is not a directory",
            };
            return WriteError::Refused {
                path: here.to_path_buf(),
                why: format!("parent {} {why}", here.display()),
            };
        }
        self.io(here, "open directory", e)
    }

    /// Position the chain at `rel`'s parent (which must exist) and return `rel`'s name.
    fn enter_parent<'a>(&mut self, rel: &'a Path) -> Result<&'a OsStr> {
        let name = last_name(rel)?;
        let parent = rel.parent().unwrap_or(Path::new(""));
        match self.descend(parent, None)? {
            Some(_) => Ok(name),
            None => Err(self.io(
                parent,
                "open directory",
                io::Error::from_raw_os_error(libc::ENOENT),
            )),
        }
    }

    /// Every component of `dir` is a real directory afterwards (missing ones are created with
    /// `mode`, less the umask); returns how many trailing components were created. A symlink
    /// or a non-directory on the way refuses.
    pub fn mkdirs(&mut self, dir: &Path, mode: u32) -> Result<usize> {
        Ok(self.descend(dir, Some(mode))?.unwrap_or(0))
    }

    /// Whether every component of `dir` exists as a real directory (a symlink or a
    /// non-directory on the way refuses).
    pub fn dirs_exist(&mut self, dir: &Path) -> Result<bool> {
        Ok(self.descend(dir, None)?.is_some())
    }

    /// What is at `rel` itself (not followed), reached through real directories; `None` when
    /// it or a parent does not exist.
    pub fn lstat(&mut self, rel: &Path) -> Result<Option<Meta>> {
        let name = last_name(rel)?;
        if self
            .descend(rel.parent().unwrap_or(Path::new("")), None)?
            .is_none()
        {
            return Ok(None);
        }
        match meta_at(self.cur(), name) {
            Ok(m) => Ok(Some(m)),
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(None),
            Err(e) => Err(self.io(rel, "stat", e)),
        }
    }

    /// Remove what is at `rel`, of type `kind` (as [`Self::lstat`] found it): a whole tree
    /// for a directory (never following a symlink in it), else the entry itself.
    pub fn remove(&mut self, rel: &Path, kind: FileType) -> Result<()> {
        let name = self.enter_parent(rel)?;
        let dir = self.cur();
        let r = if kind == FileType::Directory {
            remove_tree_at(dir, name)
        } else {
            rustix::fs::unlinkat(dir, name, AtFlags::empty()).map_err(io::Error::from)
        };
        r.map_err(|e| self.io(rel, "remove", e))?;
        if kind == FileType::Directory {
            // Descriptors below it name a removed directory now.
            let depth = rel.components().count();
            let inside = self.chain.len() >= depth
                && self
                    .chain
                    .iter()
                    .map(|(n, _)| n.as_os_str())
                    .zip(rel.components().map(|c| c.as_os_str()))
                    .all(|(a, b)| a == b);
            if inside {
                self.chain.truncate(depth - 1);
            }
        }
        Ok(())
    }

    /// Create directory `rel` with `mode` (less the umask); its parent must exist.
    pub fn mkdir(&mut self, rel: &Path, mode: u32) -> Result<()> {
        let name = self.enter_parent(rel)?;
        rustix::fs::mkdirat(self.cur(), name, Mode::from_raw_mode(mode))
            .map_err(|e| self.io(rel, "create directory", e))
    }

    /// Create the regular file `rel` (mode 0600 until [`Self::set_file_attrs`]); nothing may
    /// be there yet.
    pub fn create_file(&mut self, rel: &Path) -> Result<File> {
        let name = self.enter_parent(rel)?;
        rustix::fs::openat(
            self.cur(),
            name,
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o600),
        )
        .map(File::from)
        .map_err(|e| self.io(rel, "create", e))
    }

    /// Stream `data` into `file` (made by [`Self::create_file`] for `rel`); returns the bytes
    /// written. A failure to read `data` is [`WriteError::Read`].
    pub fn write_content(
        &mut self,
        file: &mut File,
        rel: &Path,
        data: &mut dyn Read,
    ) -> Result<u64> {
        if self.buf.is_empty() {
            self.buf = vec![0u8; 128 * 1024];
        }
        let mut total = 0u64;
        loop {
            let n = match data.read(&mut self.buf) {
                Ok(0) => return Ok(total),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(WriteError::Read {
                        path: self.shown(rel),
                        source: e,
                    })
                }
            };
            if let Err(e) = file.write_all(&self.buf[..n]) {
                return Err(self.io(rel, "write", e));
            }
            total += n as u64;
        }
    }

    /// Create the symlink `rel` → `target` (kept as given: it is resolved, if ever, inside the
    /// container).
    pub fn symlink(&mut self, rel: &Path, target: &Path) -> Result<()> {
        let name = self.enter_parent(rel)?;
        rustix::fs::symlinkat(target, self.cur(), name).map_err(|e| self.io(rel, "symlink", e))
    }

    /// Check the target of a hard link to be made at `rel`: `target` is a path inside the
    /// root resolved as the container sees it (symlinks on the way followed inside the root)
    /// and must be an existing non-directory, not a symlink. `None`: it is `rel` itself, and
    /// there is nothing to do. Checked before the caller removes what is at `rel`.
    pub fn hardlink_target(&mut self, rel: &Path, target: &Path) -> Result<Option<LinkTarget>> {
        let refused = |why: String| WriteError::Refused {
            path: rel.to_path_buf(),
            why,
        };
        let resolved = self
            .root
            .resolve(target, false)
            .map_err(|e| self.io(target, "resolve hardlink target", e))?;
        let missing = || {
            refused(format!(
                "hardlink target {} does not exist",
                target.display()
            ))
        };
        if !resolved.exists() || resolved.path.as_os_str().is_empty() {
            return Err(missing());
        }
        // No symlink left on the way: reached through real directories, `O_PATH` (no read
        // permission needed), the descriptor kept for the link.
        let tname = last_name(&resolved.path)?;
        if self
            .descend(resolved.path.parent().unwrap_or(Path::new("")), None)?
            .is_none()
        {
            return Err(missing());
        }
        match meta_at(self.cur(), tname) {
            Ok(m) if m.kind == FileType::Symlink => {
                return Err(refused(format!(
                    "hardlink target {} is a symlink: refused",
                    target.display()
                )))
            }
            Ok(m) if m.kind == FileType::Directory => {
                return Err(refused(format!(
                    "hardlink target {} is a directory",
                    target.display()
                )))
            }
            Ok(_) => {}
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Err(missing()),
            Err(e) => return Err(self.io(target, "stat hardlink target", e)),
        }
        if resolved.path == rel {
            return Ok(None);
        }
        let dir = self
            .cur()
            .try_clone_to_owned()
            .map_err(|e| self.io(target, "open hardlink target's directory", e))?;
        Ok(Some(LinkTarget {
            name: tname.to_os_string(),
            dir,
        }))
    }

    /// Make the hard link `rel` to a target [`Self::hardlink_target`] checked; nothing may be
    /// at `rel`.
    pub fn hardlink(&mut self, rel: &Path, target: &LinkTarget) -> Result<()> {
        let name = self.enter_parent(rel)?;
        rustix::fs::linkat(
            target.dir.as_fd(),
            &target.name,
            self.cur(),
            name,
            AtFlags::empty(),
        )
        .map_err(|e| self.io(rel, "hardlink", e))
    }

    /// Make the FIFO or device node `rel` with permission bits `perm` (less the umask).
    pub fn mknod(&mut self, rel: &Path, kind: Special, perm: u32) -> Result<()> {
        let name = self.enter_parent(rel)?;
        let (ft, dev) = match kind {
            Special::Fifo => (FileType::Fifo, 0),
            Special::Char(a, b) => (FileType::CharacterDevice, rustix::fs::makedev(a, b)),
            Special::Block(a, b) => (FileType::BlockDevice, rustix::fs::makedev(a, b)),
        };
        rustix::fs::mknodat(self.cur(), name, ft, Mode::from_raw_mode(perm & 0o777), dev)
            .map_err(|e| self.io(rel, "mknod", e))
    }

    /// Set `attrs` on the entry at `rel` (not followed); `symlink`: it is one (no mode, no
    /// extended attributes).
    pub fn set_attrs(&mut self, rel: &Path, symlink: bool, attrs: &Attrs<'_>) -> Result<()> {
        let name = self.enter_parent(rel)?;
        let dir = self.cur();
        if let Some((u, g)) = attrs.owner {
            rustix::fs::chownat(
                dir,
                name,
                Some(Uid::from_raw(u)),
                Some(Gid::from_raw(g)),
                AtFlags::SYMLINK_NOFOLLOW,
            )
            .map_err(|e| self.io(rel, &format!("chown {u}:{g}"), e))?;
        }
        if !symlink {
            if !attrs.xattrs.is_empty() {
                // lsetxattr below the parent's /proc/self/fd link: the name is not followed.
                let at = proc_path(dir, name);
                for (k, v) in attrs.xattrs {
                    let r = xattr::set(&at, OsStr::from_bytes(k), v);
                    self.xattr_result(rel, k, r)?;
                }
            }
            if let Some(mode) = attrs.mode {
                self.chmod_at(rel, dir, name, mode)?;
            }
        }
        if let Some(t) = attrs.mtime {
            rustix::fs::utimensat(dir, name, &times(t), AtFlags::SYMLINK_NOFOLLOW)
                .map_err(|e| self.io(rel, "set times", e))?;
        }
        Ok(())
    }

    /// chmod what is at `name` below `dir`, through a descriptor of it opened without
    /// following it: a symlink put there meanwhile is refused, never followed.
    fn chmod_at(&self, rel: &Path, dir: BorrowedFd<'_>, name: &OsStr, mode: u32) -> Result<()> {
        let fd = rustix::fs::openat(
            dir,
            name,
            OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| self.io(rel, "chmod", e))?;
        if Meta::from(&rustix::fs::fstat(&fd).map_err(|e| self.io(rel, "chmod", e))?).kind
            == FileType::Symlink
        {
            return Err(WriteError::Refused {
                path: rel.to_path_buf(),
                why: format!("{} became a symlink: not changing its mode", rel.display()),
            });
        }
        // The descriptor's /proc link leads to that very inode; `fchmod` does not take an
        // O_PATH descriptor.
        use std::os::fd::AsRawFd;
        let at = format!("/proc/self/fd/{}", fd.as_raw_fd());
        rustix::fs::chmod(at.as_str(), Mode::from_raw_mode(mode & 0o7777))
            .map_err(|e| self.io(rel, "chmod", e))
    }

    /// Set `attrs` on a file this writer created, through its descriptor.
    pub fn set_file_attrs(&self, file: &File, rel: &Path, attrs: &Attrs<'_>) -> Result<()> {
        use xattr::FileExt;
        if let Some((u, g)) = attrs.owner {
            rustix::fs::fchown(file, Some(Uid::from_raw(u)), Some(Gid::from_raw(g)))
                .map_err(|e| self.io(rel, &format!("chown {u}:{g}"), e))?;
        }
        for (k, v) in attrs.xattrs {
            let r = file.set_xattr(OsStr::from_bytes(k), v);
            self.xattr_result(rel, k, r)?;
        }
        if let Some(mode) = attrs.mode {
            rustix::fs::fchmod(file, Mode::from_raw_mode(mode & 0o7777))
                .map_err(|e| self.io(rel, "chmod", e))?;
        }
        if let Some(t) = attrs.mtime {
            rustix::fs::futimens(file, &times(t)).map_err(|e| self.io(rel, "set times", e))?;
        }
        Ok(())
    }

    fn xattr_result(&self, rel: &Path, k: &[u8], r: io::Result<()>) -> Result<()> {
        let Err(e) = r else {
            return Ok(());
        };
        let name = String::from_utf8_lossy(k);
        if e.raw_os_error()
            .is_some_and(|n| self.xattr_failures.skip.contains(&n))
        {
            let path = self.shown(rel);
            if self.xattr_failures.warn {
                tracing::warn!(path = %path.display(), xattr = %name, error = %e, "xattr not supported by the target file system or not permitted: skipped");
            } else {
                tracing::debug!(path = %path.display(), xattr = %name, error = %e, "xattr not set");
            }
            return Ok(());
        }
        Err(self.io(rel, &format!("set xattr {name}"), e))
    }

    /// The directory at `rel` (the root itself for an empty path), reached through real
    /// directories and opened for reading.
    pub fn open_dir(&mut self, rel: &Path) -> Result<OwnedFd> {
        if rel
            .components()
            .all(|c| matches!(c, Component::RootDir | Component::CurDir))
        {
            return self
                .root
                .top_dir()
                .map_err(|e| self.io(rel, "open directory", e));
        }
        let name = self.enter_parent(rel)?;
        open_dir_at(self.cur(), name).map_err(|e| self.io(rel, "open directory", e))
    }

    /// The names in directory `rel` with their types, sorted.
    pub fn read_dir(&mut self, rel: &Path) -> Result<Vec<(OsString, FileType)>> {
        let dir = self.open_dir(rel)?;
        read_dir_at(dir.as_fd()).map_err(|e| self.io(rel, "read directory", e))
    }
}

/// `rel`'s last name; the root itself has none and is never an entry.
fn last_name(rel: &Path) -> Result<&OsStr> {
    match rel.components().next_back() {
        Some(Component::Normal(n)) => Ok(n),
        _ => Err(WriteError::Refused {
            path: rel.to_path_buf(),
            why: format!("{:?} names no entry below the root", rel),
        }),
    }
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

/// Remove `name` below `dir` and, for a directory, everything in it, from descriptor to
/// descriptor, never following a symlink.
pub fn remove_tree_at(dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<()> {
    let d = match open_dir_at(dir, name) {
        Ok(d) => d,
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENOTDIR | libc::ELOOP)) => {
            return Ok(rustix::fs::unlinkat(dir, name, AtFlags::empty())?)
        }
        Err(e) => return Err(e),
    };
    for (n, ft) in read_dir_at(d.as_fd())? {
        if ft == FileType::Directory {
            remove_tree_at(d.as_fd(), &n)?;
        } else {
            rustix::fs::unlinkat(d.as_fd(), &n, AtFlags::empty())?;
        }
    }
    drop(d);
    Ok(rustix::fs::unlinkat(dir, name, AtFlags::REMOVEDIR)?)
}

/// A tar entry's name as a path relative to the root: leading `/` and `.` components dropped,
/// `..` refused (even one that would stay inside). `None` names the root itself.
pub fn entry_path(name: &[u8]) -> std::result::Result<Option<PathBuf>, String> {
    if name.contains(&0) {
        return Err("name contains a NUL byte".into());
    }
    let mut out = PathBuf::new();
    for comp in name.split(|&b| b == b'/') {
        match comp {
            b"" | b"." => {}
            b".." => return Err("name contains a '..' component: refused".into()),
            c => out.push(OsStr::from_bytes(c)),
        }
    }
    Ok((!out.as_os_str().is_empty()).then_some(out))
}

#[cfg(test)]
#[path = "write_tests.rs"]
mod tests;
