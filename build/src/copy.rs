//! COPY and ADD: sources from the build context, another stage's rootfs or a heredoc,
//! written into the step's mounted rootfs.
//!
//! Reading: a source is normalized lexically (`../x` that leaves the context is refused,
//! naming it), then resolved component by component with chroot semantics ([`in_root`],
//! [`Opened`]): a symlink on the way is followed only inside the source root; the last
//! component is never followed (a symlink is copied as a symlink); directory trees are walked
//! from descriptor to descriptor without following symlinks, so a stage's rootfs is never
//! read through a host path string. Writing: the destination is resolved as the image sees
//! it ([`InRoot::resolve`]: symlinks followed inside the rootfs), then every file, directory
//! and link is created by berth-layers' [`RootWriter`] from the rootfs' descriptor, never
//! following a symlink out of it. Owners are 0:0 unless `--chown`; modes are kept unless
//! `--chmod`. This file keeps COPY's own rules (context, `--parents`, `--chown`, `--chmod`).

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use berth_layers::inroot::{self, Attrs, InRoot, Meta, RootWriter};
use rustix::fs::{FileType, Mode, OFlags};

use crate::ignore::Ignore;
use berth_layers::glob::glob;

/// Where sources are read from.
pub enum Source {
    /// A file or tree under `root` (the context dir or a stage's mounted rootfs).
    Path {
        root: PathBuf,
        rel: PathBuf,
        shown: String,
    },
    /// A heredoc: a file named `name`.
    Inline { name: String, content: String },
    /// ADD of a local tar archive (uncompressed, gzip or zstd) at `rel` under `root`:
    /// extracted into the destination directory.
    Archive {
        root: PathBuf,
        rel: PathBuf,
        shown: String,
    },
}

/// A COPY/ADD after expansion.
pub struct CopyRequest {
    pub sources: Vec<Source>,
    /// Absolute destination in the image; a trailing `/` means "a directory".
    pub dest: String,
    /// `--chown` resolved to numbers (default 0:0).
    pub owner: (u32, u32),
    /// Keep each source's own owner instead of `owner` (COPY --from without --chown, as
    /// Buildah).
    pub keep_owner: bool,
    /// `--chmod` (octal), applied to every file and directory copied.
    pub mode: Option<u32>,
    /// The context's ignore rules (for sources from the context).
    pub ignore: Option<Ignore>,
    /// `--exclude` patterns, matched against paths relative to each source (and to the
    /// source root).
    pub exclude: Option<Ignore>,
    /// `--parents`: keep each source's path (relative to its root) under the destination.
    pub parents: bool,
    /// Whether the destination is an existing directory, when that is known from elsewhere
    /// than the rootfs written to (`COPY --link` writes into an empty one).
    pub dest_is_dir: Option<bool>,
}

/// Normalize `p` lexically relative to a root; `None` when `..` leaves the root.
pub fn clean_rel(p: &str) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in Path::new(p).components() {
        match c {
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::Normal(n) => out.push(n),
        }
    }
    Some(out)
}

/// Resolve `rel` under `root` with chroot semantics: symlinks met on the way are followed
/// inside `root` (absolute targets from `root`, `..` stopping at it); the last component is
/// followed only when `follow_last`. Returns the host path (under `root`, no symlink on the
/// way), which may not exist. The walk is [`InRoot::resolve`]'s, from `root`'s descriptor.
pub fn in_root(root: &Path, rel: &Path, follow_last: bool) -> io::Result<PathBuf> {
    let resolved = InRoot::open(root)
        .and_then(|r| r.resolve(rel, follow_last))
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ELOOP) => io::Error::other(format!(
                "{}: too many levels of symbolic links",
                rel.display()
            )),
            _ => e,
        })?;
    Ok(root.join(resolved.path))
}

/// Expand a source pattern (`*`, `?`, `[…]` in any component) under `root`; a pattern without
/// wildcards is returned as is. Results are relative to `root`, sorted.
pub fn glob_sources(root: &Path, rel: &Path) -> io::Result<Vec<PathBuf>> {
    let text = rel.to_string_lossy();
    if !text.contains(['*', '?', '[']) {
        return Ok(vec![rel.to_path_buf()]);
    }
    let tree = InRoot::open(root)?;
    let mut found = vec![PathBuf::new()];
    for c in rel.components() {
        let name = c.as_os_str().to_string_lossy();
        let mut next = Vec::new();
        for base in &found {
            if !name.contains(['*', '?', '[']) {
                next.push(base.join(&*name));
                continue;
            }
            let resolved = tree.resolve(base, true)?;
            let Ok(dir) = tree.open_dir(&resolved.path) else {
                continue;
            };
            for (n, _) in inroot::read_dir_at(dir.as_fd())? {
                let n = n.to_string_lossy().to_string();
                if glob(&name, &n) {
                    next.push(base.join(n));
                }
            }
        }
        found = next;
    }
    found.sort();
    Ok(found)
}

/// A source opened in its root: `rel` resolved with its last component not followed, and
/// reached from the root's descriptor ([`InRoot`]), never through a host path string (a
/// stage's rootfs is shaped by its RUN steps).
pub struct Opened {
    pub meta: Meta,
    /// The source itself when it is a directory, else its parent; with its name.
    at: (OwnedFd, Option<OsString>),
}

impl Opened {
    /// Open source `rel` under `root`; `shown` names it in errors.
    pub fn new(root: &Path, rel: &Path, shown: &str) -> io::Result<Opened> {
        let named = |e: io::Error| io::Error::new(e.kind(), format!("COPY source {shown}: {e}"));
        let tree = InRoot::open(root).map_err(named)?;
        // A source that is a symlink is followed, inside its root, as Buildah and Docker do
        // (symlinks found inside a copied directory stay symlinks).
        let path = tree.resolve(rel, true).map_err(named)?.path;
        let meta = tree
            .lstat(&path)
            .map_err(named)?
            .ok_or_else(|| named(io::Error::from_raw_os_error(libc::ENOENT)))?;
        let at = if meta.kind == FileType::Directory {
            (tree.open_dir(&path).map_err(named)?, None)
        } else {
            let (dir, name) = tree.parent(&path).map_err(named)?;
            (dir, Some(name.to_os_string()))
        };
        Ok(Opened { meta, at })
    }

    /// The directory (when the source is one) or the parent directory and the name.
    pub fn at(&self) -> (BorrowedFd<'_>, Option<&OsStr>) {
        (self.at.0.as_fd(), self.at.1.as_deref())
    }

    /// The source's content, when it is a regular file.
    pub fn file(&self) -> io::Result<File> {
        match self.at() {
            (dir, Some(name)) => open_file_at(dir, name, &self.meta),
            _ => Err(io::Error::from_raw_os_error(libc::EISDIR)),
        }
    }
}

/// Open the regular file `name` below `dir` for reading, not following a symlink, and check
/// it is still the one `meta` describes.
pub fn open_file_at(dir: BorrowedFd<'_>, name: &OsStr, meta: &Meta) -> io::Result<File> {
    let fd = rustix::fs::openat(
        dir,
        name,
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NOCTTY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let now = Meta::from(&rustix::fs::fstat(&fd)?);
    if now.kind != FileType::RegularFile || now.ino != meta.ino || now.dev != meta.dev {
        return Err(io::Error::other("replaced while being copied"));
    }
    Ok(File::from(fd))
}

/// Do the copy into `rootfs` (the mounted snapshot). Errors name the source or destination.
pub fn copy_into(rootfs: &Path, req: &CopyRequest) -> io::Result<()> {
    let root = RootWriter::open(rootfs)?;
    let dest_rel = clean_rel(&req.dest).unwrap_or_default();
    let dest_is_dir_syntax = req.dest.ends_with('/') || dest_rel.as_os_str().is_empty();
    let dest_exists_dir = req.dest_is_dir.unwrap_or_else(|| {
        let st = root.root().stat(&dest_rel);
        st.ok()
            .flatten()
            .is_some_and(|m| m.kind == FileType::Directory)
    });
    if (req.sources.len() > 1 || req.parents) && !dest_is_dir_syntax && !dest_exists_dir {
        return Err(io::Error::other(format!(
            "destination {} must be a directory (end it with /) when copying several sources",
            req.dest
        )));
    }
    let into_dir = dest_is_dir_syntax || dest_exists_dir;
    let mut w = Writer {
        w: root,
        owner: req.owner,
        keep_owner: req.keep_owner,
        mode: req.mode,
        ignore: req.ignore.as_ref(),
        exclude: req.exclude.as_ref(),
    };
    for src in &req.sources {
        match src {
            Source::Archive {
                root: sroot,
                rel,
                shown,
            } => {
                let dir = w.dest_dir(&dest_rel)?;
                let f = crate::archive::decoded(Opened::new(sroot, rel, shown)?.file()?)?;
                let opts = berth_layers::ApplyOptions::default();
                berth_layers::apply_layer_in(f, dir, &opts)
                    .map_err(|e| io::Error::other(format!("extracting {shown}: {e}")))?;
            }
            Source::Inline { name, content } => {
                let target = if into_dir {
                    dest_rel.join(name)
                } else {
                    dest_rel.clone()
                };
                w.parent(&target)?;
                w.file(&target, &mut content.as_bytes(), 0o644, None)?;
            }
            Source::Path {
                root: sroot,
                rel,
                shown,
            } => {
                let src = Opened::new(sroot, rel, shown)?;
                let md = src.meta;
                if let (dir, None) = src.at() {
                    // A directory's contents go into the destination (under its own path
                    // with `--parents`).
                    let to = if req.parents {
                        dest_rel.join(rel)
                    } else {
                        dest_rel.clone()
                    };
                    w.parent(&to)?;
                    // As Buildah: a destination the copy creates gets 0755 (or --chmod)
                    // and the --chown owner, not the source directory's metadata; one
                    // that exists is left as it is. With --parents the directory itself
                    // is copied.
                    if req.parents {
                        w.dir(&to, Some(&md))?;
                    } else if !matches!(w.w.root().stat(&to), Ok(Some(_))) {
                        w.new_dest_dir(&to)?;
                    }
                    w.tree(dir, &sroot.join(rel), rel, Path::new(""), &to)?;
                } else {
                    let name = rel.file_name().map(PathBuf::from).unwrap_or_default();
                    if w.excluded(rel, &name) {
                        continue;
                    }
                    let target = if req.parents {
                        dest_rel.join(rel)
                    } else if into_dir {
                        dest_rel.join(name)
                    } else {
                        dest_rel.clone()
                    };
                    w.parent(&target)?;
                    let (dir, name) = src.at();
                    let name = name.unwrap_or_default();
                    w.entry(dir, name, &md, &sroot.join(rel), &target)?;
                }
            }
        }
    }
    Ok(())
}

/// `--chown` as numbers: none is `0:0`, a lone numeric uid is also the gid (as Docker and
/// Buildah), names are looked up in the image's `/etc/passwd` and `/etc/group` under
/// `rootfs` (COPY/ADD, `berth buildah copy`).
pub fn resolve_owner(rootfs: &Path, chown: Option<&str>) -> Result<(u32, u32), String> {
    Ok(match chown {
        None => (0, 0),
        Some(spec) => match spec.parse::<u32>() {
            Ok(uid) => (uid, uid),
            Err(_) => {
                let u = berth_run::user::resolve_user(rootfs, spec)
                    .map_err(|e| format!("--chown={spec}: {e}"))?;
                (u.uid, u.gid)
            }
        },
    })
}

/// Whether source `rel` under `root` is a tar archive ADD extracts (see
/// [`crate::archive::tar_kind`]); `None` for anything but a regular file.
pub fn archive_kind(root: &Path, rel: &Path) -> Option<bool> {
    let src = Opened::new(root, rel, "").ok()?;
    if src.meta.kind != FileType::RegularFile {
        return None;
    }
    crate::archive::tar_kind(|| src.file().ok())
}

/// Make directory `dir` in `rootfs` as the image sees the path (symlinks on the way followed
/// inside the rootfs), missing components 0755 owned by `owner`: WORKDIR.
pub fn make_dirs(rootfs: &Path, dir: &Path, owner: (u32, u32)) -> io::Result<()> {
    let mut w = RootWriter::open(rootfs)?;
    let dir = w.root().resolve(dir, true)?.path;
    mkdirs_owned(&mut w, &dir, owner)
}

/// Make every missing directory of `dir` (already resolved) 0755, owned by `owner`.
fn mkdirs_owned(w: &mut RootWriter, dir: &Path, owner: (u32, u32)) -> io::Result<()> {
    if owner == (0, 0) {
        w.mkdirs(dir, 0o755)?;
        return Ok(());
    }
    let mut at = PathBuf::new();
    for c in dir.components() {
        at.push(c);
        if w.lstat(&at)?.is_none() {
            w.mkdir(&at, 0o755)?;
            let attrs = Attrs {
                owner: Some(owner),
                ..Attrs::default()
            };
            w.set_attrs(&at, false, &attrs)?;
        }
    }
    Ok(())
}

/// `COPY --link`: the directories on the destination path that the copy made in its empty
/// rootfs (`rootfs`) but that exist in the parent (`parent`, a mounted view) take the
/// parent's mode and owner, so the layer, once over the parent, changes none of them (a
/// plain COPY leaves existing directories as they are). Both trees are read from their
/// descriptors ([`InRoot`]); ours is changed through real directories only.
pub fn adopt_parent_dirs(rootfs: &Path, parent: &Path, dest: &str) -> io::Result<()> {
    let rel = clean_rel(dest).unwrap_or_default();
    let ours = InRoot::open(rootfs)?;
    let theirs = InRoot::open(parent)?;
    let mut prefix = PathBuf::new();
    for c in rel.components() {
        prefix.push(c);
        let Ok(dir) = ours.open_dir(&prefix) else {
            break;
        };
        let Some(pmd) = theirs.stat(&prefix)? else {
            continue;
        };
        if pmd.kind == FileType::Directory {
            let named = |e: rustix::io::Errno| {
                io::Error::other(format!("{}: {e}", rootfs.join(&prefix).display()))
            };
            rustix::fs::fchown(
                &dir,
                Some(rustix::fs::Uid::from_raw(pmd.uid)),
                Some(rustix::fs::Gid::from_raw(pmd.gid)),
            )
            .map_err(named)?;
            rustix::fs::fchmod(&dir, Mode::from_raw_mode(pmd.mode & 0o7777)).map_err(named)?;
        }
    }
    Ok(())
}

struct Writer<'a> {
    w: RootWriter,
    owner: (u32, u32),
    keep_owner: bool,
    mode: Option<u32>,
    ignore: Option<&'a Ignore>,
    exclude: Option<&'a Ignore>,
}

impl Writer<'_> {
    /// Whether `--exclude` names `rel` (in the source root) or `srel` (under the source).
    fn excluded(&self, rel: &Path, srel: &Path) -> bool {
        self.exclude
            .is_some_and(|x| x.excluded(rel) || x.excluded(srel))
    }

    /// `to` as the image sees it: symlinks on the way followed inside the rootfs (the last
    /// one too with `follow_last`); the result has no symlink before its last component.
    fn resolved(&self, to: &Path, follow_last: bool) -> io::Result<PathBuf> {
        let r = self.w.root().resolve(to, follow_last).map_err(|e| {
            let e = match e.raw_os_error() {
                Some(libc::ELOOP) => io::Error::other("too many levels of symbolic links"),
                _ => e,
            };
            io::Error::new(e.kind(), format!("{}: {e}", self.w.shown(to).display()))
        })?;
        Ok(r.path)
    }

    /// Make the directories above `target` where missing: 0755, owned by the `--chown` owner
    /// (root without one), as Buildah.
    fn parent(&mut self, target: &Path) -> io::Result<()> {
        let Some(p) = target.parent().filter(|p| !p.as_os_str().is_empty()) else {
            return Ok(());
        };
        let p = self.resolved(p, true)?;
        mkdirs_owned(&mut self.w, &p, self.owner)
    }

    /// Copy the contents of source directory `src` (opened; `from` in messages, `rel` in the
    /// source root, `srel` under the source) into `dest` (already a directory), skipping what
    /// the ignore rules and `--exclude` exclude. Walked from descriptor to descriptor, never
    /// following a symlink.
    fn tree(
        &mut self,
        src: BorrowedFd<'_>,
        from: &Path,
        rel: &Path,
        srel: &Path,
        dest: &Path,
    ) -> io::Result<()> {
        self.walk(src, from, rel, srel, dest, true)
    }

    /// [`Self::tree`]'s walk; `dest_made` false: `dest` is made (as a missing parent is)
    /// only when something under it is copied, for a directory the ignore rules exclude but
    /// a `!` rule may re-include something in.
    fn walk(
        &mut self,
        src: BorrowedFd<'_>,
        from: &Path,
        rel: &Path,
        srel: &Path,
        dest: &Path,
        dest_made: bool,
    ) -> io::Result<()> {
        for (n, _) in inroot::read_dir_at(src)? {
            let from = from.join(&n);
            let to = dest.join(&n);
            let rel = rel.join(&n);
            let srel = srel.join(&n);
            if self.excluded(&rel, &srel) {
                continue;
            }
            let md = inroot::meta_at(src, &n)?;
            if let Some(ignore) = self.ignore.filter(|i| i.excluded(&rel)) {
                if md.kind == FileType::Directory && ignore.may_reinclude_below(&rel) {
                    let sub = inroot::open_dir_at(src, &n)?;
                    self.walk(sub.as_fd(), &from, &rel, &srel, &to, false)?;
                }
                continue;
            }
            if !dest_made {
                self.parent(&to)?;
            }
            if md.kind == FileType::Directory {
                let sub = inroot::open_dir_at(src, &n)?;
                self.dir(&to, Some(&md))?;
                self.walk(sub.as_fd(), &from, &rel, &srel, &to, true)?;
            } else {
                self.entry(src, &n, &md, &from, &to)?;
            }
        }
        Ok(())
    }

    /// Copy the non-directory `name` below `dir` (`from` in messages, metadata `md`) to `to`.
    fn entry(
        &mut self,
        dir: BorrowedFd<'_>,
        name: &OsStr,
        md: &Meta,
        from: &Path,
        to: &Path,
    ) -> io::Result<()> {
        match md.kind {
            FileType::Symlink => {
                let target = rustix::fs::readlinkat(dir, name, Vec::new())?;
                let target = PathBuf::from(OsStr::from_bytes(target.as_bytes()));
                let to = self.replace(to)?;
                self.w.symlink(&to, &target)?;
                let attrs = Attrs {
                    owner: Some(self.owner_of(Some(md))),
                    ..Attrs::default()
                };
                self.w.set_attrs(&to, true, &attrs)?;
                Ok(())
            }
            FileType::RegularFile => {
                let mut f = open_file_at(dir, name, md)
                    .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", from.display())))?;
                self.file(to, &mut f, md.mode, Some(md))
            }
            _ => Err(io::Error::other(format!(
                "{}: not a regular file, directory or symlink",
                from.display()
            ))),
        }
    }

    /// Create directory `to` in the root (resolved as the image sees it; what is missing
    /// owned by the `--chown` owner, as Buildah) and open it as a root of its own, for an
    /// archive to be extracted into.
    fn dest_dir(&mut self, to: &Path) -> io::Result<InRoot> {
        let to = self.resolved(to, true)?;
        mkdirs_owned(&mut self.w, &to, self.owner)?;
        let dir = self.w.open_dir(&to)?;
        Ok(InRoot::from_fd(dir, &self.w.shown(&to)))
    }

    /// Remove a non-directory at `to` (its last component not followed) so it can be created
    /// again; returns where that is, resolved as the image sees it.
    fn replace(&mut self, to: &Path) -> io::Result<PathBuf> {
        let to = self.resolved(to, false)?;
        if let Some(m) = self.w.lstat(&to)? {
            if m.kind == FileType::Directory {
                return Err(io::Error::other(format!(
                    "{} is a directory in the image",
                    to.display()
                )));
            }
            self.w.remove(&to, m.kind)?;
        }
        Ok(to)
    }

    /// The owner of a copy of a source with metadata `md` (`None`: made by the copy).
    fn owner_of(&self, md: Option<&Meta>) -> (u32, u32) {
        match md {
            Some(md) if self.keep_owner => (md.uid, md.gid),
            _ => self.owner,
        }
    }

    fn file(
        &mut self,
        to: &Path,
        data: &mut dyn Read,
        mode: u32,
        md: Option<&Meta>,
    ) -> io::Result<()> {
        let to = self.replace(to)?;
        let mut f = self.w.create_file(&to)?;
        self.w.write_content(&mut f, &to, data)?;
        let attrs = Attrs {
            owner: Some(self.owner_of(md)),
            mode: Some(self.mode.unwrap_or(mode & 0o7777)),
            ..Attrs::default()
        };
        self.w.set_file_attrs(&f, &to, &attrs)?;
        f.flush()
    }

    /// Copy a source directory's metadata (`md`) to directory `to`, made if missing.
    fn dir(&mut self, to: &Path, md: Option<&Meta>) -> io::Result<()> {
        let mode = md.map_or(0o755, |m| m.mode & 0o7777);
        self.dir_with(to, self.mode.unwrap_or(mode), self.owner_of(md))
    }

    /// The destination directory a copy of a directory's contents creates: 0755 (not
    /// `--chmod`), owned by the `--chown` owner, as Buildah.
    fn new_dest_dir(&mut self, to: &Path) -> io::Result<()> {
        self.dir_with(to, 0o755, self.owner)
    }

    fn dir_with(&mut self, to: &Path, mode: u32, owner: (u32, u32)) -> io::Result<()> {
        if to.as_os_str().is_empty() {
            return Ok(());
        }
        let to = self.resolved(to, true)?;
        mkdirs_owned(&mut self.w, &to, self.owner)?;
        let dir = self.w.open_dir(&to)?;
        let named = |e: rustix::io::Errno| {
            io::Error::new(
                io::Error::from(e).kind(),
                format!("{}: {e}", self.w.shown(&to).display()),
            )
        };
        rustix::fs::fchown(
            &dir,
            Some(rustix::fs::Uid::from_raw(owner.0)),
            Some(rustix::fs::Gid::from_raw(owner.1)),
        )
        .map_err(named)?;
        rustix::fs::fchmod(&dir, Mode::from_raw_mode(mode)).map_err(named)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::{self, Permissions};
    use std::os::unix::fs::{symlink, PermissionsExt};

    #[test]
    fn clean_rel_refuses_escape() {
        assert_eq!(clean_rel("a/./b/../c").unwrap(), PathBuf::from("a/c"));
        assert_eq!(clean_rel("/abs/x").unwrap(), PathBuf::from("abs/x"));
        assert!(clean_rel("../outside").is_none());
        assert!(clean_rel("a/../../x").is_none());
    }

    #[test]
    fn in_root_keeps_symlinks_inside() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        fs::create_dir_all(r.join("real")).unwrap();
        symlink("/real", r.join("abs")).unwrap();
        symlink("../../../../etc", r.join("up")).unwrap();
        assert_eq!(
            in_root(r, Path::new("abs/f"), false).unwrap(),
            r.join("real/f")
        );
        assert_eq!(
            in_root(r, Path::new("up/shadow"), false).unwrap(),
            r.join("etc/shadow")
        );
        // The last component is not followed.
        assert_eq!(in_root(r, Path::new("abs"), false).unwrap(), r.join("abs"));
        symlink("loop", r.join("loop")).unwrap();
        assert!(in_root(r, Path::new("loop/x"), false).is_err());
    }

    #[test]
    fn link_copies_take_the_parents_directory_metadata() {
        let d = tempfile::tempdir().unwrap();
        let (ours, parent) = (d.path().join("ours"), d.path().join("parent"));
        fs::create_dir_all(ours.join("tmp/new")).unwrap();
        fs::write(ours.join("tmp/new/f"), "f").unwrap();
        fs::create_dir_all(parent.join("real")).unwrap();
        fs::set_permissions(parent.join("real"), Permissions::from_mode(0o1777)).unwrap();
        // The parent's /tmp is a symlink to /real: its target's metadata counts.
        symlink("/real", parent.join("tmp")).unwrap();
        adopt_parent_dirs(&ours, &parent, "/tmp/new/f").unwrap();
        let mode = |p: &str| fs::metadata(ours.join(p)).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode("tmp"), 0o1777);
        // Not in the parent: left as the copy made it.
        assert_eq!(mode("tmp/new"), 0o755);
    }

    #[test]
    fn globs_expand_sorted() {
        let d = tempfile::tempdir().unwrap();
        for f in ["b.txt", "a.txt", "c.md"] {
            fs::write(d.path().join(f), "x").unwrap();
        }
        let got = glob_sources(d.path(), Path::new("*.txt")).unwrap();
        assert_eq!(got, vec![PathBuf::from("a.txt"), PathBuf::from("b.txt")]);
    }
}
