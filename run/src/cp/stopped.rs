//! A stopped container's filesystem for `cp`, as the container sees it: its snapshot with
//! its bind mounts (named and anonymous volumes, `-v HOST:CTR`) on top, as Podman mounts a
//! stopped container's volumes for a copy. The mounts are made in a mount namespace private
//! to this berth process, so the host never sees them and they end with the command; a lock
//! per container makes copies into one stopped container take turns.

use std::os::fd::{AsFd, AsRawFd};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use berth_image_store::lock::{FileLock, LockMode};
use berth_image_store::mount::Mount;
use oci_spec::runtime::Spec;
use pathrs::Root;

use crate::error::{Result, RunError};

/// Move this process into a mount namespace of its own (once), its mounts slaves of the
/// host's: what is mounted here stays here. False when that is impossible (a thread shares
/// the file system context, or no privilege); cp then works on the shared mount, without the
/// container's volumes.
pub(crate) fn private_mounts() -> bool {
    static PRIVATE: OnceLock<bool> = OnceLock::new();
    if THREAD_PRIVATE.get() {
        return true;
    }
    *PRIVATE.get_or_init(|| {
        // SAFETY: unshare(2) takes no pointers; CLONE_NEWNS only changes this process's view
        // of mounts (it fails, harmlessly, when another thread shares the fs context).
        let unshared = match unsafe { libc::unshare(libc::CLONE_NEWNS) } {
            0 => Ok(()),
            _ => Err(
                rustix::io::Errno::from_io_error(&std::io::Error::last_os_error())
                    .unwrap_or(rustix::io::Errno::INVAL),
            ),
        }
        .and_then(|_| {
            rustix::mount::mount_change(
                "/",
                rustix::mount::MountPropagationFlags::DOWNSTREAM
                    | rustix::mount::MountPropagationFlags::REC,
            )
        });
        if let Err(e) = &unshared {
            tracing::debug!(error = %e, "cp: no private mount namespace");
        }
        unshared.is_ok()
    })
}

thread_local! {
    /// This thread has a mount namespace of its own ([`on_private_thread`]).
    static THREAD_PRIVATE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Run `f` on a new thread with a mount namespace of its own (its file system context
/// unshared from the process's, its mounts slaves of the host's): what a copy from a stopped
/// container mounts there stays there and ends with the thread. For a process that copies
/// from several threads and must not move as a whole (the API service). Without the
/// privilege for it, `f` runs as the CLI's copy does without one.
pub fn on_private_thread<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> std::thread::JoinHandle<T> {
    std::thread::spawn(move || {
        // SAFETY: unshare(2) takes no pointers; CLONE_FS | CLONE_NEWNS changes only this
        // thread's file system context and its view of mounts.
        let unshared = unsafe { libc::unshare(libc::CLONE_FS | libc::CLONE_NEWNS) } == 0
            && rustix::mount::mount_change(
                "/",
                rustix::mount::MountPropagationFlags::DOWNSTREAM
                    | rustix::mount::MountPropagationFlags::REC,
            )
            .is_ok();
        if unshared {
            THREAD_PRIVATE.set(true);
        } else {
            tracing::debug!("cp: no private mount namespace for this thread");
        }
        f()
    })
}

/// Hold the per-container copy lock (`<bundle>/cp.lock`) until dropped.
pub(crate) fn lock(bundle: &Path) -> Result<FileLock> {
    crate::bundle::create_dir(bundle)?;
    let path = bundle.join("cp.lock");
    let f = crate::bundle::private_file(&path, false)?;
    FileLock::on(f, LockMode::Exclusive).map_err(|e| RunError::io(&path, e))
}

/// The bind mounts of `spec` that cp should see: every `bind` mount outside `/dev`, `/proc`
/// and `/sys` (those the runtime makes), as (source, destination, read-only).
fn binds(spec: &Spec) -> Vec<(PathBuf, PathBuf, bool)> {
    let mounts = spec.mounts().as_deref().unwrap_or_default();
    mounts
        .iter()
        .filter(|m| {
            let opts = m.options().as_deref().unwrap_or_default();
            m.typ().as_deref() == Some("bind") || opts.iter().any(|o| o == "bind" || o == "rbind")
        })
        .filter(|m| !crate::rootfs::runtime_managed(m.destination()))
        .filter_map(|m| {
            let ro = m
                .options()
                .as_deref()
                .unwrap_or_default()
                .iter()
                .any(|o| o == "ro");
            m.source().clone().map(|s| (s, m.destination().clone(), ro))
        })
        .collect()
}

/// Mount `spec`'s bind mounts over `rootfs` (in this process's private namespace), each on
/// its destination resolved inside the rootfs, made when missing (a directory, or an empty
/// file for a file source) as the runtime would at start.
pub(crate) fn mount_binds(rootfs: &Path, spec: &Spec) -> Result<()> {
    let root = Root::open(rootfs).map_err(|e| RunError::Rootfs {
        path: rootfs.display().to_string(),
        reason: e.to_string(),
    })?;
    for (source, dest, ro) in binds(spec) {
        let resolved = crate::rootfs::resolve_in_root(rootfs, &dest)?;
        let is_dir = std::fs::metadata(&source)
            .map_err(|e| RunError::io(&source, e))?
            .is_dir();
        let fail = |e: pathrs::error::Error| RunError::Rootfs {
            path: dest.display().to_string(),
            reason: e.to_string(),
        };
        let perm = std::os::unix::fs::PermissionsExt::from_mode(0o755);
        let handle = if is_dir {
            root.mkdir_all(&resolved, &perm).map_err(fail)?
        } else {
            match root.resolve(&resolved) {
                Ok(h) => h,
                Err(_) => {
                    let parent = resolved.parent().unwrap_or(Path::new("/"));
                    root.mkdir_all(parent, &perm).map_err(fail)?;
                    let flags = pathrs::flags::OpenFlags::O_WRONLY;
                    let file_perm = std::os::unix::fs::PermissionsExt::from_mode(0o644);
                    drop(
                        root.create_file(&resolved, flags, &file_perm)
                            .map_err(fail)?,
                    );
                    root.resolve(&resolved).map_err(fail)?
                }
            }
        };
        // Mount on the inode resolved in-root, through its descriptor: no path walk again.
        let target = PathBuf::from(format!("/proc/self/fd/{}", handle.as_fd().as_raw_fd()));
        Mount::bind(&source, false).mount(&target)?.leak();
        if ro {
            // The descriptor still names the covered inode: resolve the path again in-root,
            // which now ends on the new mount, and remount that through its descriptor (a
            // volume shared with a running container could have been changed meanwhile).
            let mounted = root.resolve(&resolved).map_err(fail)?;
            let target = PathBuf::from(format!("/proc/self/fd/{}", mounted.as_fd().as_raw_fd()));
            rustix::mount::mount_remount(
                &target,
                rustix::mount::MountFlags::BIND | rustix::mount::MountFlags::RDONLY,
                "",
            )
            .map_err(|e| {
                RunError::io(
                    rootfs.join(resolved.strip_prefix("/").unwrap_or(&resolved)),
                    e.into(),
                )
            })?;
        }
    }
    Ok(())
}
