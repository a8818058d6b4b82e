//! Mounting an overlay whose lower stack is deep.
//!
//! `mount(2)` takes the options as one page (4095 bytes): a lower dir of a store under
//! `/var/lib/…` is about 95 bytes, so a plain `lowerdir=` list holds about 42 layers.
//! - Kernels since 6.8 take lower dirs one by one through the mount API (`fsopen`, then
//!   `fsconfig(…, "lowerdir+", dir)` per layer, `fsmount`, `move_mount`), with no length
//!   limit: only overlay's own stack of [`MAX_LAYERS`].
//! - Older kernels refuse `lowerdir+` (`EINVAL`, or no `fsopen` at all): the option string is
//!   used, and when it does not fit, each lower dir is opened and named by its descriptor
//!   (`/proc/self/fd/<n>`, about 18 bytes), which fits 200 layers or more; past that the mount
//!   fails saying how many layers this kernel can stack.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use rustix::fs::{Mode, OFlags, CWD};
use rustix::io::Errno;
use rustix::mount::{FsMountFlags, FsOpenFlags, MountAttrFlags, MountFlags, MoveMountFlags};

use crate::error::{Result, StoreError};

/// The most bytes of mount data `mount(2)` takes (one page).
pub const MAX_MOUNT_DATA: usize = 4095;

/// The most lower layers overlay stacks (the kernel's `OVL_MAX_STACK`).
pub const MAX_LAYERS: usize = 500;

/// An overlay mount's options, split: lower dirs (top first), the other options, and flags.
struct Parts<'a> {
    lowers: Vec<&'a str>,
    others: Vec<&'a str>,
    flags: MountFlags,
}

fn parts(options: &[String]) -> Parts<'_> {
    let mut out = Parts {
        lowers: Vec::new(),
        others: Vec::new(),
        flags: MountFlags::empty(),
    };
    for o in options {
        match o.as_str() {
            "ro" => out.flags |= MountFlags::RDONLY,
            "nodev" => out.flags |= MountFlags::NODEV,
            "nosuid" => out.flags |= MountFlags::NOSUID,
            "noexec" => out.flags |= MountFlags::NOEXEC,
            o => match o.strip_prefix("lowerdir=") {
                Some(l) => out.lowers.extend(l.split(':').filter(|s| !s.is_empty())),
                None => out.others.push(o),
            },
        }
    }
    out
}

/// How to mount: the mount API when the kernel has it, else the option string.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Api {
    /// `lowerdir+` if the kernel takes it, else [`Api::Legacy`].
    Best,
    /// `mount(2)` with one option string.
    Legacy,
}

/// Set once the kernel refused `lowerdir+`: later mounts go straight to the option string.
static NO_LOWERDIR_PLUS: AtomicBool = AtomicBool::new(false);

/// Mount an overlay of `source` with `options` (`lowerdir=a:b`, `upperdir=…`, `ro`…) at
/// `target`.
pub(crate) fn mount(source: &str, options: &[String], target: &Path, api: Api) -> Result<()> {
    let api = if NO_LOWERDIR_PLUS.load(Ordering::Relaxed) {
        Api::Legacy
    } else {
        api
    };
    let p = parts(options);
    if p.lowers.len() > MAX_LAYERS {
        return Err(StoreError::FailedPrecondition(format!(
            "{}: an overlay of {} layers is deeper than the kernel's limit of {MAX_LAYERS} \
             (squash the image, or build it with fewer layers)",
            target.display(),
            p.lowers.len()
        )));
    }
    if api == Api::Best {
        match mount_api(&p, target) {
            Err(Fallback::No(e)) => return Err(describe(&p, target, e)),
            Err(Fallback::Legacy) => NO_LOWERDIR_PLUS.store(true, Ordering::Relaxed),
            Ok(()) => return Ok(()),
        }
    }
    mount_legacy(source, &p, target)
}

enum Fallback {
    /// The kernel has no `lowerdir+`: use the option string.
    Legacy,
    /// The mount failed for another reason.
    No(io::Error),
}

fn describe(p: &Parts<'_>, target: &Path, e: io::Error) -> StoreError {
    StoreError::io(
        target,
        io::Error::other(format!(
            "mount overlay of {} layers ({}): {e}",
            p.lowers.len(),
            p.others.join(",")
        )),
    )
}

/// The mount API: every lower dir its own `lowerdir+` (kernels ≥ 6.8).
fn mount_api(p: &Parts<'_>, target: &Path) -> std::result::Result<(), Fallback> {
    let fs = match rustix::mount::fsopen("overlay", FsOpenFlags::FSOPEN_CLOEXEC) {
        Ok(fd) => fd,
        // No mount API, or a seccomp filter that hides it.
        Err(Errno::NOSYS) | Err(Errno::PERM) => return Err(Fallback::Legacy),
        Err(e) => return Err(Fallback::No(e.into())),
    };
    let fail = |what: &str, e: Errno| Fallback::No(with_log(fs.as_fd(), what, e));
    for (i, lower) in p.lowers.iter().enumerate() {
        if let Err(e) = rustix::mount::fsconfig_set_string(&fs, "lowerdir+", *lower) {
            if i == 0 && e == Errno::INVAL {
                return Err(Fallback::Legacy);
            }
            return Err(fail(&format!("lower dir {lower}"), e));
        }
    }
    for o in &p.others {
        let r = match o.split_once('=') {
            Some((k, v)) => rustix::mount::fsconfig_set_string(&fs, k, v),
            None => rustix::mount::fsconfig_set_flag(&fs, *o),
        };
        r.map_err(|e| fail(&format!("option {o}"), e))?;
    }
    if p.flags.contains(MountFlags::RDONLY) {
        rustix::mount::fsconfig_set_flag(&fs, "ro").map_err(|e| fail("option ro", e))?;
    }
    rustix::mount::fsconfig_create(&fs).map_err(|e| fail("create", e))?;
    let mut attrs = MountAttrFlags::empty();
    for (flag, attr) in [
        (MountFlags::RDONLY, MountAttrFlags::MOUNT_ATTR_RDONLY),
        (MountFlags::NODEV, MountAttrFlags::MOUNT_ATTR_NODEV),
        (MountFlags::NOSUID, MountAttrFlags::MOUNT_ATTR_NOSUID),
        (MountFlags::NOEXEC, MountAttrFlags::MOUNT_ATTR_NOEXEC),
    ] {
        if p.flags.contains(flag) {
            attrs |= attr;
        }
    }
    let mnt = rustix::mount::fsmount(&fs, FsMountFlags::FSMOUNT_CLOEXEC, attrs)
        .map_err(|e| fail("fsmount", e))?;
    rustix::mount::move_mount(
        &mnt,
        "",
        CWD,
        target,
        MoveMountFlags::MOVE_MOUNT_F_EMPTY_PATH,
    )
    .map_err(|e| Fallback::No(io::Error::other(format!("move_mount: {e}"))))
}

/// `e` of step `what`, with the kernel's messages from the fs context's log (`overlay: …`).
fn with_log(fs: BorrowedFd<'_>, what: &str, e: Errno) -> io::Error {
    let mut msgs = Vec::new();
    let mut buf = [0u8; 1024];
    for _ in 0..8 {
        match rustix::io::read(fs, &mut buf) {
            Ok(n) if n > 0 => {
                let line = String::from_utf8_lossy(&buf[..n]);
                let line = line.trim();
                msgs.push(line.get(2..).unwrap_or(line).to_string());
            }
            _ => break,
        }
    }
    if msgs.is_empty() {
        io::Error::other(format!("{what}: {e}"))
    } else {
        io::Error::other(format!("{what}: {e} ({})", msgs.join("; ")))
    }
}

/// `mount(2)` with one option string; lower dirs named by descriptor when their paths do
/// not fit.
fn mount_legacy(source: &str, p: &Parts<'_>, target: &Path) -> Result<()> {
    let with_lowers = |lowers: &str| {
        std::iter::once(format!("lowerdir={lowers}"))
            .chain(p.others.iter().map(|o| o.to_string()))
            .collect::<Vec<_>>()
            .join(",")
    };
    let mut data = with_lowers(&p.lowers.join(":"));
    // Held open until the mount is made.
    let mut fds: Vec<OwnedFd> = Vec::new();
    if data.len() > MAX_MOUNT_DATA {
        for lower in &p.lowers {
            let fd = rustix::fs::open(
                *lower,
                OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .map_err(|e| StoreError::io(*lower, e.into()))?;
            fds.push(fd);
        }
        let names: Vec<String> = fds
            .iter()
            .map(|fd| format!("/proc/self/fd/{}", fd.as_raw_fd()))
            .collect();
        data = with_lowers(&names.join(":"));
    }
    if data.len() > MAX_MOUNT_DATA {
        return Err(StoreError::FailedPrecondition(format!(
            "{}: an overlay of {} layers needs {} bytes of mount options, over the kernel's \
             {MAX_MOUNT_DATA} byte limit (this kernel has no overlay lowerdir+, Linux 6.8, \
             which stacks up to {MAX_LAYERS} layers)",
            target.display(),
            p.lowers.len(),
            data.len()
        )));
    }
    let cdata = CString::new(data).map_err(|_| {
        StoreError::Invalid(format!("{}: mount options contain NUL", target.display()))
    })?;
    rustix::mount::mount(source, target, "overlay", p.flags, cdata.as_c_str())
        .map_err(|e| describe(p, target, e.into()))?;
    drop(fds);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    /// `n` lower dirs with long paths, the `i`th holding the file `f<i>`, top first.
    fn lowers(dir: &Path, n: usize) -> Vec<PathBuf> {
        (0..n)
            .rev()
            .map(|i| {
                let d = dir.join(format!("{:0>64}", i)).join("diff");
                std::fs::create_dir_all(&d).unwrap();
                std::fs::write(d.join(format!("f{i}")), b"").unwrap();
                d
            })
            .collect()
    }

    /// The options of a read-only overlay of `lowers` (top first).
    fn read_only(lowers: &[PathBuf]) -> Vec<String> {
        let joined: Vec<String> = lowers.iter().map(|p| p.display().to_string()).collect();
        vec![format!("lowerdir={}", joined.join(":")), "ro".to_string()]
    }

    fn mounts_deep(n: usize, api: Api) {
        let dir = tempfile::tempdir().unwrap();
        let lowers = lowers(dir.path(), n);
        let target = dir.path().join("merged");
        std::fs::create_dir(&target).unwrap();
        mount("overlay", &read_only(&lowers), &target, api).unwrap();
        let seen = target.join("f0").exists() && target.join(format!("f{}", n - 1)).exists();
        crate::mount::unmount(&target).unwrap();
        assert!(
            seen,
            "{n} layers through {api:?}: bottom and top are visible"
        );
    }

    #[test]
    fn the_mount_api_stacks_500_layers() {
        mounts_deep(MAX_LAYERS, Api::Best);
    }

    #[test]
    fn the_option_string_stacks_127_layers() {
        mounts_deep(127, Api::Legacy);
    }

    #[test]
    fn deeper_than_overlay_allows_is_refused() {
        let lowers: Vec<PathBuf> = (0..=MAX_LAYERS)
            .map(|i| PathBuf::from(format!("/x/{i}")))
            .collect();
        let err = mount(
            "overlay",
            &read_only(&lowers),
            Path::new("/nonexistent"),
            Api::Best,
        )
        .unwrap_err();
        assert!(err.to_string().contains("limit of 500"), "{err}");
    }
}
