//! Snapshots mounted with overlay's `volatile` option, for upper dirs that never need to
//! survive a crash: a build step's (read into a layer blob, which the content store syncs,
//! then removed) and a `--rm` container's (removed when it exits).
//!
//! Without it, the last unmount of an overlay with an upper dir syncs the whole upper file
//! system (`ovl_sync_fs` → `sync_filesystem`): every dirty page on the host's disk, not just
//! the snapshot's, so the unmount waits for the writeback of whatever else was writing (0.05
//! to 0.6 s per unmount measured next to a 1 GiB write). `volatile` skips those syncs (and the
//! container's own `fsync`s).
//!
//! A volatile mount leaves `<workdir>/work/incompat/volatile`, and overlay refuses to mount
//! that work dir again while it is there; every mount here removes it first, as the overlay
//! documentation allows when the system has not crashed since. Kernels without `volatile`
//! (before 5.10) refuse the option: the first mount finds that out and every later one
//! mounts as before.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU8, Ordering};

use crate::error::Result;
use crate::mount::{Mount, MountGuard};
use crate::snapshot::Snapshot;

const UNKNOWN: u8 = 0;
const SUPPORTED: u8 = 1;
const UNSUPPORTED: u8 = 2;

/// Whether the kernel takes overlay's `volatile` option (found by the first mount).
static VOLATILE: AtomicU8 = AtomicU8::new(UNKNOWN);

/// Mount a snapshot's mounts on its mount point, volatile when `volatile` and the kernel
/// allows; unmounted when the guards drop.
pub fn mount_all(snap: &Snapshot, volatile: bool) -> Result<Vec<MountGuard>> {
    let try_volatile = volatile && VOLATILE.load(Ordering::Relaxed) != UNSUPPORTED;
    match mount_with(snap, try_volatile) {
        Ok(guards) => {
            if try_volatile && has_overlay(snap) {
                VOLATILE.store(SUPPORTED, Ordering::Relaxed);
            }
            Ok(guards)
        }
        Err(e) if try_volatile && VOLATILE.load(Ordering::Relaxed) == UNKNOWN => {
            match mount_with(snap, false) {
                Ok(guards) => {
                    tracing::debug!(error = %e, "overlay without the volatile option");
                    VOLATILE.store(UNSUPPORTED, Ordering::Relaxed);
                    Ok(guards)
                }
                Err(_) => Err(e),
            }
        }
        Err(e) => Err(e),
    }
}

/// `snap` as another mounter (a runtime, a later step) should mount it: volatile when
/// `volatile` and an earlier mount found the kernel takes it, with the marker of that earlier
/// mount removed.
pub fn for_mounting(snap: &Snapshot, volatile: bool) -> Snapshot {
    let volatile = volatile && VOLATILE.load(Ordering::Relaxed) == SUPPORTED;
    let mut out = snap.clone();
    if volatile {
        out.mounts = snap.mounts.iter().map(with_volatile).collect();
    }
    clear_markers(&snap.mounts);
    out
}

fn mount_with(snap: &Snapshot, volatile: bool) -> Result<Vec<MountGuard>> {
    clear_markers(&snap.mounts);
    snap.mounts
        .iter()
        .map(|m| {
            let m = if volatile {
                with_volatile(m)
            } else {
                m.clone()
            };
            m.mount(&snap.mountpoint)
        })
        .collect()
}

fn has_overlay(snap: &Snapshot) -> bool {
    snap.mounts.iter().any(|m| workdir(m).is_some())
}

/// An overlay mount with an upper dir, made volatile; any other mount as it is.
fn with_volatile(m: &Mount) -> Mount {
    let mut m = m.clone();
    if workdir(&m).is_some() && !m.options.iter().any(|o| o == "volatile") {
        m.options.push("volatile".to_string());
    }
    m
}

/// The `workdir=` of an overlay mount.
fn workdir(m: &Mount) -> Option<PathBuf> {
    if m.kind != "overlay" {
        return None;
    }
    m.options
        .iter()
        .find_map(|o| o.strip_prefix("workdir="))
        .map(PathBuf::from)
}

/// Remove what an earlier volatile mount of these work dirs left (`work/incompat`).
fn clear_markers(mounts: &[Mount]) {
    for dir in mounts.iter().filter_map(workdir) {
        remove_marker(&dir);
    }
}

fn remove_marker(workdir: &Path) {
    let incompat = workdir.join("work").join("incompat");
    match std::fs::remove_dir_all(&incompat) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            tracing::debug!(path = %incompat.display(), error = %e, "overlay marker kept");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_overlays_with_a_work_dir_become_volatile() {
        let ov = Mount::overlay(
            &[PathBuf::from("/l")],
            Path::new("/s/upper"),
            Path::new("/s/work"),
        );
        let v = with_volatile(&ov);
        assert_eq!(v.options.last().map(String::as_str), Some("volatile"));
        assert_eq!(with_volatile(&v).options, v.options, "added once");
        assert_eq!(workdir(&ov), Some(PathBuf::from("/s/work")));
        let bind = Mount::bind(Path::new("/s/upper"), false);
        assert_eq!(with_volatile(&bind), bind);
        let ro = Mount::overlay_ro(&[PathBuf::from("/a"), PathBuf::from("/b")]);
        assert_eq!(with_volatile(&ro), ro);
    }

    #[test]
    fn markers_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let work = dir.path().join("work");
        let marker = work.join("work/incompat/volatile/dirty");
        std::fs::create_dir_all(&marker).unwrap();
        let m = Mount::overlay(&[PathBuf::from("/l")], &dir.path().join("upper"), &work);
        clear_markers(std::slice::from_ref(&m));
        assert!(!work.join("work/incompat").exists());
        assert!(work.join("work").exists());
        clear_markers(&[m]);
    }
}
