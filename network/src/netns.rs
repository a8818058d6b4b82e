//! Network namespaces made by berth before the runtime runs, as Podman does: a new namespace
//! whose loopback is up (the kernel gives `lo` 127.0.0.1 and ::1 as it comes up), so a
//! process can talk to itself. A runtime asked for a new network namespace makes one with
//! `lo` down (runc, crun and the embedded youki alike); asked to join one by path, each
//! joins it the same way.
//!
//! A namespace is bind-mounted on a file ([`NetNs`]): for `--network none` a file in the
//! container's bundle, unmounted once the runtime's `create` has returned (the container's
//! processes keep it alive from then on); for a container on networks a persistent one under
//! the network run directory ([`create_persistent`]), which netavark configures and which
//! lives until [`remove`] (the container's networks are torn down).

use std::ffi::CString;
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::error::{NetworkError, Result};

/// A network namespace bind-mounted on a file; unmounted and the file removed on drop.
#[derive(Debug)]
pub struct NetNs {
    path: PathBuf,
    /// Left mounted on drop ([`NetNs::persist`]).
    keep: bool,
}

impl NetNs {
    /// A new network namespace with `lo` up, bind-mounted on `path` (a new file).
    pub fn create(path: &Path) -> Result<NetNs> {
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).map_err(|e| NetworkError::io(dir, e))?;
        }
        // A leftover of a crash would make the mount stack: start clean.
        remove(path);
        fs::File::create(path).map_err(|e| NetworkError::io(path, e))?;
        let ns = NetNs {
            path: path.to_path_buf(),
            keep: false,
        };
        let target = CString::new(path.as_os_str().as_bytes())
            .map_err(|_| NetworkError::Invalid(format!("{}: a NUL byte", path.display())))?;
        // unshare(CLONE_NEWNET) moves only the calling thread: a thread of its own makes the
        // namespace, brings `lo` up in it, pins it on the file and ends.
        let made = std::thread::spawn(move || make_pinned(&target))
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the namespace thread panicked")));
        made.map_err(|e| NetworkError::io(format!("network namespace {}", path.display()), e))?;
        Ok(ns)
    }

    /// Where the namespace is mounted.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Keep the namespace mounted after this guard has gone; [`remove`] unmounts it.
    pub fn persist(mut self) -> PathBuf {
        self.keep = true;
        self.path.clone()
    }
}

/// A persistent namespace named `name` under `dir` (the network run directory's `netns/`),
/// `lo` up; the path it is mounted on.
pub fn create_persistent(dir: &Path, name: &str) -> Result<PathBuf> {
    if name.is_empty() || name.contains('/') || name.starts_with('.') {
        return Err(NetworkError::Invalid(format!(
            "network namespace name {name:?} invalid"
        )));
    }
    Ok(NetNs::create(&dir.join(name))?.persist())
}

impl Drop for NetNs {
    fn drop(&mut self) {
        if !self.keep {
            remove(&self.path);
        }
    }
}

/// Unmount (if mounted) and remove the file at `path`; nothing if it is missing (so a
/// second call, or one after a crash, does no harm).
pub fn remove(path: &Path) {
    let Ok(c) = CString::new(path.as_os_str().as_bytes()) else {
        return;
    };
    // SAFETY: umount2(2) with a NUL-terminated path; EINVAL when nothing is mounted there.
    unsafe {
        libc::umount2(c.as_ptr(), libc::MNT_DETACH);
    }
    let _ = fs::remove_file(path);
}

/// In this thread: a new network namespace, `lo` up, and the namespace bind-mounted on
/// `target`.
fn make_pinned(target: &CString) -> io::Result<()> {
    // SAFETY: unshare(2) of the network namespace only, in a thread that ends right after.
    if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
        return Err(io::Error::last_os_error());
    }
    loopback_up()?;
    let source = c"/proc/thread-self/ns/net";
    // SAFETY: mount(2) with NUL-terminated paths and no data.
    let r = unsafe {
        libc::mount(
            source.as_ptr(),
            target.as_ptr(),
            std::ptr::null(),
            libc::MS_BIND,
            std::ptr::null(),
        )
    };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Set `lo` up in this thread's network namespace (SIOCSIFFLAGS, as `ip link set lo up`).
fn loopback_up() -> io::Result<()> {
    // SAFETY: socket(2); the descriptor is owned below.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a descriptor socket(2) just returned, owned by nothing else.
    let sock = unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) };
    let raw = std::os::fd::AsRawFd::as_raw_fd(&sock);
    // SAFETY: an all-zero ifreq is valid; the name is NUL-terminated within IFNAMSIZ.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in req.ifr_name.iter_mut().zip(b"lo\0") {
        *dst = *src as libc::c_char;
    }
    // SAFETY: SIOCGIFFLAGS/SIOCSIFFLAGS read and write the ifreq passed by pointer.
    unsafe {
        if libc::ioctl(raw, libc::SIOCGIFFLAGS, &mut req) != 0 {
            return Err(io::Error::last_os_error());
        }
        req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
        if libc::ioctl(raw, libc::SIOCSIFFLAGS, &req) != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}
