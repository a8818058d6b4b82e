//! `cp`: copy files between a container's filesystem and the host (or a tar stream, or
//! another container), with Podman's (and Docker's) rules for the two paths.
//!
//! Everything goes through a tar stream: the source side ([`archive`]) walks an inode opened
//! `O_PATH` and its children, one name at a time and never following a symlink; the
//! destination side ([`extract`]) creates entries below one directory handle with pathrs'
//! in-root resolution. A path inside a container is resolved in-root (openat2
//! `RESOLVE_IN_ROOT`): `..` stops at the container's `/`, absolute symlinks resolve against
//! it, so nothing outside the container's root is read or written even while the container
//! swaps a directory for a symlink. The container's root is its init's `/proc/PID/root`
//! while it runs (its own mount namespace: volumes and tmpfs included), else its snapshot
//! with its volumes, mounted for the copy in a private mount namespace ([`stopped`]).
//!
//! Ownership: into a container, files belong to the container's user (Podman's `--archive`,
//! the default) or keep the ids in the stream (`--archive=false`); on the host they belong
//! to whoever runs berth, set-id bits dropped and device nodes skipped. Extended attributes
//! travel as PAX records ([`xattrs`]): all of them into a container, `user.*` onto the host.

pub mod archive;
pub mod error;
pub mod extract;
pub(crate) mod stopped;
pub mod xattrs;

use std::ffi::{OsStr, OsString};
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use pathrs::{Handle, Root};
use rustix::fs::FileType;

use archive::TarOut;
pub use error::CopyError;
use error::{is_enoent, perr};
use extract::{extract, ExtractOptions, Owner};
pub use stopped::on_private_thread;
use xattrs::XattrPolicy;

/// `cp` flags (Podman's).
#[derive(Debug, Clone, Copy)]
pub struct CopyOptions {
    /// `-a/--archive` (default true): files copied into a container belong to its user;
    /// false keeps the source's ids.
    pub archive: bool,
    /// `-L/--follow-link`: copy what a source symlink points to, not the link.
    pub follow_link: bool,
    /// `--overwrite`: a directory may replace a non-directory and the other way round.
    pub overwrite: bool,
}

impl Default for CopyOptions {
    fn default() -> Self {
        CopyOptions {
            archive: true,
            follow_link: false,
            overwrite: false,
        }
    }
}

/// A path as given, with what its spelling means: a trailing `/` (must be a directory) and
/// a trailing `/.` (the directory's contents).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CpPath {
    /// Lexically cleaned, relative to the container's `/` (container side) or as given (host).
    pub path: PathBuf,
    pub trailing_sep: bool,
    pub contents: bool,
}

impl CpPath {
    /// A path inside a container: relative to its `/`; `..` is cleaned lexically and stops
    /// at `/` (as Podman does before resolving).
    pub fn container(raw: &str) -> CpPath {
        let mut path = PathBuf::new();
        for c in Path::new(raw).components() {
            match c {
                Component::Normal(p) => path.push(p),
                Component::ParentDir => {
                    path.pop();
                }
                _ => {}
            }
        }
        CpPath {
            path,
            trailing_sep: raw.ends_with('/') || raw.ends_with("/."),
            contents: raw.ends_with("/.") || raw == ".",
        }
    }

    /// A host path (kept as given, apart from the markers).
    pub fn host(raw: &Path) -> CpPath {
        let b = raw.as_os_str().as_bytes();
        CpPath {
            path: raw.to_path_buf(),
            trailing_sep: b.ends_with(b"/") || b.ends_with(b"/."),
            contents: b.ends_with(b"/.") || b == b".",
        }
    }

    /// The last component (`None`: the root / nothing to name).
    fn base(&self) -> Option<&OsStr> {
        self.path.components().rev().find_map(|c| match c {
            Component::Normal(p) => Some(p),
            _ => None,
        })
    }
}

/// What is at a destination path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DestState {
    Missing,
    File,
    Dir,
}

/// Where the stream goes and how its top entry is named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    /// Into the destination directory itself; the top entry is `name` (`None`: the source
    /// directory's contents, without the directory).
    Into(Option<OsString>),
    /// Into the destination's parent, as the destination's own name.
    AsDest(OsString),
}

/// Podman's cp rules (`podman-cp(1)`): the source is a directory or not (`src_dir`), named
/// `src_base`, with `/.` (`contents`); the destination exists as a file, a directory or not
/// at all, with or without a trailing `/`, named `dst_base`.
pub fn place(
    src_dir: bool,
    contents: bool,
    src_base: Option<&OsStr>,
    dst: DestState,
    dst_trailing_sep: bool,
    dst_base: Option<&OsStr>,
) -> Result<Placement, CopyError> {
    let refuse = |m: &str| Err(CopyError::Refused(m.to_string()));
    match (src_dir, dst) {
        (_, DestState::Dir) => {
            if src_dir && (contents || src_base.is_none()) {
                Ok(Placement::Into(None))
            } else {
                Ok(Placement::Into(Some(
                    src_base.unwrap_or(OsStr::new(".")).to_os_string(),
                )))
            }
        }
        (true, DestState::File) => refuse("cannot copy a directory to a file"),
        (false, DestState::File) if dst_trailing_sep => {
            refuse("the destination is a file, not a directory")
        }
        (false, DestState::Missing) if dst_trailing_sep => {
            refuse("the destination directory must exist")
        }
        (_, _) => match dst_base {
            Some(b) => Ok(Placement::AsDest(b.to_os_string())),
            None => refuse("the destination names no file"),
        },
    }
}

/// An opened source: an inode (not followed unless asked) and its kind.
pub struct Source {
    handle: Handle,
    dir: bool,
    base: Option<OsString>,
    contents: bool,
}

impl Source {
    /// The source at `path` inside `root` (a container's root): intermediate symlinks are
    /// followed in-root; the last one only with `follow` (or a trailing `/`).
    pub fn in_root(root: &Root, path: &CpPath, follow: bool) -> Result<Source, CopyError> {
        let shown = Path::new("/").join(&path.path);
        let p = if path.path.as_os_str().is_empty() {
            Path::new("/")
        } else {
            &path.path
        };
        let h = if follow || path.trailing_sep {
            root.resolve(p)
        } else {
            root.resolve_nofollow(p)
        }
        .map_err(|e| perr(&shown, "resolve", e))?;
        Source::new(h, path, &shown)
    }

    /// A host path (followed when `follow`).
    pub fn host(path: &CpPath, follow: bool) -> Result<Source, CopyError> {
        let mut flags = rustix::fs::OFlags::PATH | rustix::fs::OFlags::CLOEXEC;
        if !(follow || path.trailing_sep) {
            flags |= rustix::fs::OFlags::NOFOLLOW;
        }
        let fd = rustix::fs::open(&path.path, flags, rustix::fs::Mode::empty())
            .map_err(|e| CopyError::io(&path.path, e.into()))?;
        Source::new(Handle::from_fd(fd), path, &path.path)
    }

    fn new(handle: Handle, path: &CpPath, shown: &Path) -> Result<Source, CopyError> {
        let st = archive::stat(&handle, shown)?;
        let dir = FileType::from_raw_mode(st.st_mode) == FileType::Directory;
        if path.trailing_sep && !dir {
            return Err(CopyError::Refused(format!(
                "{}: not a directory",
                shown.display()
            )));
        }
        Ok(Source {
            handle,
            dir,
            base: path.base().map(|b| b.to_os_string()),
            contents: path.contents,
        })
    }

    /// The source's own metadata.
    pub fn stat(&self) -> Result<rustix::fs::Stat, CopyError> {
        archive::stat(
            &self.handle,
            Path::new(self.base.as_deref().unwrap_or(OsStr::new("/"))),
        )
    }

    /// Write the source as a tar stream whose top entry is named as `placement` says.
    pub fn write_tar<W: Write>(&self, placement: &Placement, out: W) -> Result<W, CopyError> {
        let mut tar = TarOut::new(out);
        match placement {
            Placement::Into(None) => tar.children(&self.handle, Path::new(""))?,
            Placement::Into(Some(n)) | Placement::AsDest(n) => {
                tar.tree(&self.handle, Path::new(n))?
            }
        }
        tar.finish()
    }

    /// Write the source as a tar stream on its own (`cp C:PATH -`): named by its last
    /// component, or its contents for `/.` and the root.
    pub fn to_stream<W: Write>(&self, out: W) -> Result<W, CopyError> {
        let placement = match (&self.base, self.dir && self.contents) {
            (Some(b), false) => Placement::Into(Some(b.clone())),
            _ => Placement::Into(None),
        };
        self.write_tar(&placement, out)
    }
}

/// An opened destination: its state and the handles it needs.
pub struct Dest {
    state: DestState,
    /// The destination itself when it is a directory.
    dir: Option<Handle>,
    /// Its parent (resolved lazily: it must exist when the destination does not).
    parent: Option<Result<Handle, CopyError>>,
    path: CpPath,
    shown: PathBuf,
}

impl Dest {
    /// The destination `path` inside `root`, resolved in-root (symlinks followed inside it).
    pub fn in_root(root: &Root, path: &CpPath) -> Result<Dest, CopyError> {
        let shown = Path::new("/").join(&path.path);
        let p = if path.path.as_os_str().is_empty() {
            Path::new("/")
        } else {
            &path.path
        };
        let (state, dir) = match root.resolve(p) {
            Ok(h) => {
                let st = archive::stat(&h, &shown)?;
                if FileType::from_raw_mode(st.st_mode) == FileType::Directory {
                    (DestState::Dir, Some(h))
                } else {
                    (DestState::File, None)
                }
            }
            Err(e) if is_enoent(&e) => (DestState::Missing, None),
            Err(e) => return Err(perr(&shown, "resolve", e)),
        };
        let parent = if state == DestState::Dir {
            None
        } else {
            let pp = p.parent().filter(|x| !x.as_os_str().is_empty());
            let pp = pp.unwrap_or(Path::new("/"));
            Some(
                root.resolve(pp)
                    .map_err(|e| perr(&Path::new("/").join(pp), "resolve parent", e)),
            )
        };
        Ok(Dest {
            state,
            dir,
            parent,
            path: path.clone(),
            shown,
        })
    }

    /// A host destination.
    pub fn host(path: &CpPath) -> Result<Dest, CopyError> {
        let open = |p: &Path| -> Result<Handle, CopyError> {
            let fd = rustix::fs::open(
                p,
                rustix::fs::OFlags::PATH
                    | rustix::fs::OFlags::DIRECTORY
                    | rustix::fs::OFlags::CLOEXEC,
                rustix::fs::Mode::empty(),
            )
            .map_err(|e| CopyError::io(p, e.into()))?;
            Ok(Handle::from_fd(fd))
        };
        let (state, dir) = match std::fs::metadata(&path.path) {
            Ok(m) if m.is_dir() => (DestState::Dir, Some(open(&path.path)?)),
            Ok(_) => (DestState::File, None),
            Err(e) if e.kind() == io::ErrorKind::NotFound => (DestState::Missing, None),
            Err(e) => return Err(CopyError::io(&path.path, e)),
        };
        let parent = if state == DestState::Dir {
            None
        } else {
            let pp = match path.path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                _ => PathBuf::from("."),
            };
            Some(open(&pp))
        };
        Ok(Dest {
            state,
            dir,
            parent,
            shown: path.path.clone(),
            path: path.clone(),
        })
    }

    /// Where a source goes, and the directory (as a pathrs root) that receives the stream.
    pub fn target(&mut self, src: &Source) -> Result<(Placement, Root), CopyError> {
        let placement = place(
            src.dir,
            src.contents,
            src.base.as_deref(),
            self.state,
            self.path.trailing_sep,
            self.path.base(),
        )?;
        let root = self.root_for(&placement)?;
        Ok((placement, root))
    }

    /// The directory receiving a tar stream as is (`cp - C:PATH`): it must exist.
    pub fn stream_target(&mut self) -> Result<Root, CopyError> {
        if self.state != DestState::Dir {
            return Err(CopyError::Refused(format!(
                "{}: a tar stream is extracted into a directory, and this is not one",
                self.shown.display()
            )));
        }
        self.root_for(&Placement::Into(None))
    }

    fn root_for(&mut self, placement: &Placement) -> Result<Root, CopyError> {
        let h = match placement {
            Placement::Into(_) => self.dir.take(),
            Placement::AsDest(_) => match self.parent.take() {
                Some(r) => Some(r?),
                None => None,
            },
        };
        let h = h.ok_or_else(|| {
            CopyError::Refused(format!(
                "{}: no directory to copy into",
                self.shown.display()
            ))
        })?;
        let st = archive::stat(&h, &self.shown)?;
        if FileType::from_raw_mode(st.st_mode) != FileType::Directory {
            return Err(CopyError::Refused(format!(
                "{}: the parent is not a directory",
                self.shown.display()
            )));
        }
        Ok(Root::from_fd(h))
    }
}

/// Copy `src` to `dst` through a pipe: a thread writes the tar, this one extracts it.
pub fn transfer(src: Source, dst: &mut Dest, opts: &ExtractOptions) -> Result<(), CopyError> {
    let (placement, root) = dst.target(&src)?;
    let (r, w) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)
        .map_err(|e| CopyError::io("pipe", e.into()))?;
    let writer = std::thread::spawn(move || {
        let out = std::fs::File::from(w);
        src.write_tar(&placement, io::BufWriter::with_capacity(256 * 1024, out))
            .and_then(|mut b| b.flush().map_err(|e| CopyError::io("pipe", e)))
            .map(|_| ())
    });
    let extracted = extract(
        &root,
        io::BufReader::with_capacity(256 * 1024, std::fs::File::from(r)),
        opts,
    );
    let written = writer
        .join()
        .unwrap_or_else(|_| Err(CopyError::Refused("the tar writer panicked".to_string())));
    // The writer's error explains an extract error from a cut stream.
    written?;
    extracted.map(|_| ())
}

/// Extract a tar stream (`cp - C:PATH`), gzip or zstd compressed or not.
pub fn extract_stream(
    input: impl Read + Send,
    dst: &mut Dest,
    opts: &ExtractOptions,
) -> Result<(), CopyError> {
    let root = dst.stream_target()?;
    let (_, decoded) =
        berth_layers::compression::decompress(io::BufReader::with_capacity(256 * 1024, input))
            .map_err(|e| CopyError::io("tar stream", e))?;
    extract(&root, decoded, opts).map(|_| ())
}

/// Extract options for a destination: `container` (with the container's user) or the host.
pub fn extract_options(container_user: Option<(u32, u32)>, opts: &CopyOptions) -> ExtractOptions {
    match container_user {
        Some((u, g)) => ExtractOptions {
            owner: if opts.archive {
                Owner::Fixed(u, g)
            } else {
                Owner::Keep
            },
            overwrite: opts.overwrite,
            devices: rustix::process::geteuid().is_root(),
            strip_setid: false,
            xattrs: XattrPolicy::Keep,
        },
        None => ExtractOptions {
            owner: Owner::Caller,
            overwrite: opts.overwrite,
            devices: false,
            strip_setid: true,
            xattrs: XattrPolicy::UserOnly,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(src_dir: bool, contents: bool, dst: DestState, sep: bool) -> Result<Placement, CopyError> {
        place(
            src_dir,
            contents,
            Some(OsStr::new("src")),
            dst,
            sep,
            Some(OsStr::new("dst")),
        )
    }

    fn into(n: &str) -> Placement {
        Placement::Into(Some(n.into()))
    }

    #[test]
    fn podman_cp_rules() {
        use DestState::*;
        // A file.
        assert_eq!(
            p(false, false, Missing, false).unwrap(),
            Placement::AsDest("dst".into())
        );
        assert!(p(false, false, Missing, true).is_err());
        assert_eq!(
            p(false, false, File, false).unwrap(),
            Placement::AsDest("dst".into())
        );
        assert!(p(false, false, File, true).is_err());
        assert_eq!(p(false, false, Dir, false).unwrap(), into("src"));
        assert_eq!(p(false, false, Dir, true).unwrap(), into("src"));
        // A directory.
        assert_eq!(
            p(true, false, Missing, false).unwrap(),
            Placement::AsDest("dst".into())
        );
        assert_eq!(
            p(true, false, Missing, true).unwrap(),
            Placement::AsDest("dst".into())
        );
        assert!(p(true, false, File, false).is_err());
        assert_eq!(p(true, false, Dir, false).unwrap(), into("src"));
        assert_eq!(p(true, true, Dir, false).unwrap(), Placement::Into(None));
        assert_eq!(
            p(true, true, Missing, false).unwrap(),
            Placement::AsDest("dst".into())
        );
    }

    #[test]
    fn container_paths_stay_below_root() {
        let c = CpPath::container("../../etc/../x/");
        assert_eq!(c.path, PathBuf::from("x"));
        assert!(c.trailing_sep && !c.contents);
        let c = CpPath::container("/d/.");
        assert_eq!(c.path, PathBuf::from("d"));
        assert!(c.contents);
        assert_eq!(CpPath::container("/").path, PathBuf::new());
        let h = CpPath::host(Path::new("out/"));
        assert!(h.trailing_sep && !h.contents);
    }
}
