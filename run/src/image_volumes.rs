//! The image's `VOLUME`s, as Podman's `--image-volume` (default `bind`): each one that the
//! user did not mount something on gets a new anonymous volume, filled from the image's
//! content at that path (copy-up: owners, modes and links kept, through `cp`'s in-root
//! reading), and mounted there. `tmpfs` mounts a tmpfs instead, `ignore` leaves the path in
//! the container's root file system. `rm -v` and `--rm` remove these volumes.

use std::path::{Component, Path, PathBuf};

use pathrs::Root;
use rustix::fs::{Gid, Mode, Uid};

use crate::cp::extract::{ExtractOptions, Owner};
use crate::cp::xattrs::XattrPolicy;
use crate::cp::{transfer, CpPath, Dest, Source};
use crate::error::{Result, RunError};
use crate::options::VolumeSpec;
use crate::options::{ImageVolumeMode, RunOptions};
use crate::volumes::Volumes;

/// A container path, cleaned (`/a/./b/` → `/a/b`).
fn clean(p: &str) -> PathBuf {
    let mut out = PathBuf::from("/");
    for c in Path::new(p).components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::ParentDir => {
                out.pop();
            }
            _ => {}
        }
    }
    out
}

/// The container paths the user mounts something on (`-v`, `--tmpfs`).
fn user_destinations(opts: &RunOptions) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for v in &opts.volumes {
        out.push(clean(&v.destination));
    }
    for t in &opts.tmpfs {
        out.push(clean(t.split(':').next().unwrap_or(t)));
    }
    out
}

/// Add the image's volumes to `opts` (mounted rootfs at `rootfs`) as `mode` says; new
/// anonymous volumes are recorded in `opts.anonymous_volumes` and `opts.named_volumes`.
pub(crate) fn add_image_volumes(
    store_root: &Path,
    rootfs: &Path,
    config: &oci_spec::image::ImageConfiguration,
    opts: &mut RunOptions,
) -> Result<()> {
    let Some(vols) = config.config().as_ref().and_then(|c| c.volumes().clone()) else {
        return Ok(());
    };
    if opts.image_volume == ImageVolumeMode::Ignore {
        return Ok(());
    }
    let taken = user_destinations(opts);
    let mut paths: Vec<PathBuf> = vols.iter().map(|v| clean(v)).collect();
    paths.sort();
    paths.dedup();
    let mut volumes = None;
    for path in paths {
        if path == Path::new("/") || taken.contains(&path) {
            continue;
        }
        let shown = path.display().to_string();
        if opts.image_volume == ImageVolumeMode::Tmpfs {
            opts.tmpfs.push(shown);
            continue;
        }
        if volumes.is_none() {
            volumes = Some(Volumes::open(store_root)?);
        }
        let vol = volumes.as_ref().expect("opened above").create(None)?;
        opts.named_volumes.push(vol.name.clone());
        opts.anonymous_volumes.push(vol.name.clone());
        opts.volumes
            .push(VolumeSpec::bind(vol.mountpoint.clone(), &shown)?);
        copy_up(rootfs, &shown, &vol.mountpoint)?;
    }
    Ok(())
}

/// Fill the new volume at `dir` with the image's content at `path`, if it is a directory.
fn copy_up(rootfs: &Path, path: &str, dir: &Path) -> Result<()> {
    let root = Root::open(rootfs).map_err(|e| RunError::io(rootfs, std::io::Error::other(e)))?;
    let src = CpPath::container(&format!("{path}/."));
    let source = match Source::in_root(&root, &src, true) {
        Ok(s) => s,
        // Missing or not a directory: an empty volume (the runtime makes the mount point).
        Err(_) => return Ok(()),
    };
    let st = source.stat().map_err(RunError::from)?;
    let mut dest = Dest::host(&CpPath::host(dir)).map_err(RunError::from)?;
    let opts = ExtractOptions {
        owner: Owner::Keep,
        overwrite: false,
        devices: rustix::process::geteuid().is_root(),
        strip_setid: false,
        xattrs: XattrPolicy::Keep,
    };
    transfer(source, &mut dest, &opts).map_err(RunError::from)?;
    rustix::fs::chown(
        dir,
        Some(Uid::from_raw(st.st_uid)),
        Some(Gid::from_raw(st.st_gid)),
    )
    .map_err(|e| RunError::io(dir, e.into()))?;
    rustix::fs::chmod(dir, Mode::from_raw_mode(st.st_mode & 0o7777))
        .map_err(|e| RunError::io(dir, e.into()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_mounts_win_over_image_volumes() {
        let o = RunOptions {
            volumes: vec![
                "/srv:/data/".parse().unwrap(),
                "/anon:ro".parse().unwrap(),
                "named:/n:ro".parse().unwrap(),
            ],
            tmpfs: vec!["/t:size=1m".into()],
            ..RunOptions::default()
        };
        let d = user_destinations(&o);
        for p in ["/data", "/anon", "/n", "/t"] {
            assert!(d.contains(&PathBuf::from(p)), "{p} in {d:?}");
        }
        assert_eq!(clean("/a/./b/../c/"), PathBuf::from("/a/c"));
        assert_eq!(
            "tmpfs".parse::<ImageVolumeMode>().unwrap(),
            ImageVolumeMode::Tmpfs
        );
        assert!("x".parse::<ImageVolumeMode>().is_err());
    }
}
