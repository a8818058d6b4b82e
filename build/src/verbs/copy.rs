//! `copy` and `add`: host files (or, with `--from`, another working container's or an image's
//! files) written into a working container through the build's COPY/ADD code: sources found
//! and globbed by [`crate::copy::glob_sources`], `add`'s archives and URLs as ADD takes them,
//! and [`crate::copy::copy_into`] (berth-layers' `RootWriter`) writing in-root with
//! `--chown`/`--chmod`.

use std::path::PathBuf;

use berth_image_store::Store;

use super::mount::mount_for_step;
use super::record::Records;
use crate::copy::archive_kind;
use crate::copy::{clean_rel, copy_into, glob_sources, CopyRequest, Source};
use crate::error::{BuildError, Result};
use crate::metadata::join_workdir;

/// `copy`/`add`'s options.
#[derive(Debug, Clone, Default)]
pub struct CopyOptions {
    /// `add`: local archives are extracted, URLs downloaded.
    pub add: bool,
    /// Host paths (relative to `cwd`), or paths in `from`'s rootfs; URLs for `add`.
    pub sources: Vec<String>,
    /// In the container; relative to its working directory; none: the working directory.
    pub dest: Option<String>,
    pub chown: Option<String>,
    /// Octal.
    pub chmod: Option<String>,
    /// `--from`: a working container or an image.
    pub from: Option<String>,
    /// Where relative host sources are.
    pub cwd: PathBuf,
    /// A private place for downloads (`add URL`), removed after the copy.
    pub runroot: PathBuf,
}

/// Copy into working container `name`.
pub fn copy(store: &Store, name: &str, opts: &CopyOptions) -> Result<()> {
    let records = Records::new(store);
    let c = records.find(name)?;
    let _lock = records.container_lock(&c)?;
    let state = c.state(store)?;
    let workdir = state.inner().working_dir().clone();
    let dest = match &opts.dest {
        None => workdir.clone().unwrap_or_else(|| "/".to_string()) + "/",
        Some(d) if d.starts_with('/') => d.clone(),
        Some(d) => join_workdir(workdir.as_deref(), d),
    };
    let mode = opts
        .chmod
        .as_deref()
        .map(|m| {
            u32::from_str_radix(m, 8)
                .ok()
                .filter(|m| *m <= 0o7777)
                .ok_or_else(|| BuildError::Invalid(format!("invalid --chmod {m:?}: use octal")))
        })
        .transpose()?;
    // `--from`: the other container's files (mounted for the copy, or as `mount` left
    // them), or an image's (a throwaway snapshot).
    let mut views = Vec::new();
    let from_root = match &opts.from {
        None => None,
        Some(from) => Some(from_root(store, from, &mut views)?),
    };
    let downloads = if opts.add && opts.sources.iter().any(|s| s.contains("://")) {
        std::fs::create_dir_all(&opts.runroot).map_err(|e| BuildError::io(&opts.runroot, e))?;
        Some(
            tempfile::Builder::new()
                .prefix("buildah-add-")
                .tempdir_in(&opts.runroot)
                .map_err(|e| BuildError::io(&opts.runroot, e))?,
        )
    } else {
        None
    };
    let mut sources = Vec::new();
    for src in &opts.sources {
        if let (true, Some(dir)) = (src.contains("://"), &downloads) {
            let sub = PathBuf::from(sources.len().to_string());
            std::fs::create_dir(dir.path().join(&sub))
                .map_err(|e| BuildError::io(dir.path(), e))?;
            let file = crate::fetch::file_name(src);
            let at = dir.path().join(&sub);
            crate::fetch::download(src, &at, &file, None, Default::default())?;
            sources.push(Source::Path {
                root: dir.path().to_path_buf(),
                rel: sub.join(file),
                shown: src.clone(),
            });
            continue;
        }
        let (root, path) = match &from_root {
            Some(root) => (root.clone(), PathBuf::from(src)),
            None => (PathBuf::from("/"), opts.cwd.join(src)),
        };
        let rel = clean_rel(&path.to_string_lossy())
            .ok_or_else(|| BuildError::Invalid(format!("{src}: not a path to copy from")))?;
        let found = glob_sources(&root, &rel).map_err(|e| BuildError::io(root.join(&rel), e))?;
        if found.is_empty() {
            return Err(BuildError::Invalid(format!(
                "{src}: no such file or directory"
            )));
        }
        for rel in found {
            let shown = rel.display().to_string();
            if opts.add {
                match archive_kind(&root, &rel) {
                    Some(true) => {
                        sources.push(Source::Archive {
                            root: root.clone(),
                            rel,
                            shown,
                        });
                        continue;
                    }
                    Some(false) => {
                        return Err(BuildError::Invalid(format!(
                            "{src}: add extracts tar archives that are uncompressed, gzip, \
                             bzip2 or zstd; this one is xz"
                        )))
                    }
                    None => {}
                }
            }
            sources.push(Source::Path {
                root: root.clone(),
                rel,
                shown,
            });
        }
    }
    let (snap, _mounts) = mount_for_step(store, &c)?;
    let owner = crate::copy::resolve_owner(&snap.mountpoint, opts.chown.as_deref())
        .map_err(BuildError::Invalid)?;
    let req = CopyRequest {
        sources,
        dest,
        owner,
        keep_owner: opts.from.is_some() && opts.chown.is_none(),
        mode,
        ignore: None,
        exclude: None,
        parents: false,
        dest_is_dir: None,
    };
    copy_into(&snap.mountpoint, &req).map_err(|e| BuildError::io(&snap.mountpoint, e))?;
    drop(views);
    Ok(())
}

/// A mount that lives as long as the copy (unmounted first, then its snapshot removed).
type View<'s> = (
    Vec<berth_image_store::mount::MountGuard>,
    Option<ViewSnapshot<'s>>,
);

/// A throwaway snapshot of an image, removed when dropped.
struct ViewSnapshot<'s> {
    store: &'s Store,
    key: String,
}

impl Drop for ViewSnapshot<'_> {
    fn drop(&mut self) {
        if let Err(e) = self.store.remove_snapshot(&self.key) {
            tracing::warn!(snapshot = %self.key, error = %e, "removing a copy's snapshot");
        }
    }
}

/// The rootfs `--from` names: a working container's, else a local image's.
fn from_root<'s>(store: &'s Store, from: &str, views: &mut Vec<View<'s>>) -> Result<PathBuf> {
    if let Ok(other) = Records::new(store).find(from) {
        let (snap, guards) = mount_for_step(store, &other)?;
        views.push((guards, None));
        return Ok(snap.mountpoint);
    }
    let image = store.lookup_image(from).map_err(|e| {
        BuildError::Invalid(format!(
            "--from={from}: no such working container or local image: {e}"
        ))
    })?;
    let key = format!("buildah-from-{}", berth_run::names::new_id()?);
    let snap = store.prepare_snapshot(&key, Some(&image))?;
    let view = ViewSnapshot { store, key };
    let guards = berth_image_store::volatile::mount_all(&snap, true)?;
    let root = snap.mountpoint.clone();
    views.push((guards, Some(view)));
    Ok(root)
}
