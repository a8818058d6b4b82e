//! Rootless: berth as a plain user runs in one long-lived user namespace (with a mount
//! namespace of its own), the way Podman does.
//!
//! - The namespace maps container uid 0 to the user and container uids `1..=N` to the user's
//!   subordinate range from `/etc/subuid` (gids likewise from `/etc/subgid`), written by the
//!   setuid helpers `newuidmap`/`newgidmap` (Debian's `uidmap` package).
//! - A pause process keeps it alive (Podman's pause process): the first berth command that
//!   needs it re-executes berth as `berth container userns-pause` in a new user + mount
//!   namespace, maps the ids on its pid, and records `<runroot>/pause.pid` (pid and start
//!   time, so a reused pid is never joined).
//! - Every later command joins that pause process's namespaces with `setns(2)` (a process must
//!   be single-threaded to join a user namespace, so this is the first thing a command does),
//!   so all of them see the same overlay mounts and file owners. Inside it the process is uid 0
//!   with every capability over the mapped ids; unpacked layers get their owners, overlay
//!   mounts are native (`userxattr`), and the OCI runtime runs rootless (no cgroups on
//!   cgroup v1: `spec::rootless`).
//!
//! Root in the initial namespace never enters one; nor does a process already in a user
//! namespace (`berth unshare`, `unshare -r`).

use std::ffi::OsString;
use std::fs::{self, File};
use std::os::fd::AsFd;
use std::os::unix::fs::DirBuilderExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::error::{Result, RunError};
use crate::process::{alive, find_binary, proc_start_time};
use berth_image_store::lock::{FileLock, LockMode};
use berth_image_store::store::is_host_root;

/// The environment variable set inside `berth unshare` (and its value, the store root).
pub const UNSHARE_ENV: &str = "BERTH_UNSHARE";

/// How many ids of the subordinate range are mapped (container ids 1..=65536), as Podman.
pub const MAPPED_IDS: u64 = 65536;

/// One subordinate id range: `start`, `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdRange {
    pub start: u64,
    pub count: u64,
}

/// Whether berth runs rootless (not root in the initial user namespace).
pub fn is_rootless() -> bool {
    !is_host_root()
}

/// Whether this process is uid 0 inside a user namespace (berth's own, `berth unshare`, or
/// `unshare -r`): mounts and ownership changes work here.
pub fn in_user_namespace() -> bool {
    rustix::process::geteuid().is_root() && !is_host_root()
}

/// The host uid this process runs as: its own uid outside a user namespace, else the host uid
/// its namespace maps its uid to (read from `/proc/self/uid_map`).
pub fn host_uid() -> u32 {
    host_id("/proc/self/uid_map", rustix::process::getuid().as_raw())
}

/// [`host_uid`] for the group: the host gid this process runs as (`/proc/self/gid_map`).
pub fn host_gid() -> u32 {
    host_id("/proc/self/gid_map", rustix::process::getgid().as_raw())
}

fn host_id(map_file: &str, me: u32) -> u32 {
    let Ok(map) = fs::read_to_string(map_file) else {
        return me;
    };
    for line in map.lines() {
        let f: Vec<u64> = line
            .split_whitespace()
            .filter_map(|x| x.parse().ok())
            .collect();
        if let [inside, outside, count] = f[..] {
            let me = u64::from(me);
            if me >= inside && me < inside + count {
                return (outside + (me - inside)) as u32;
            }
        }
    }
    me
}

/// The first range of `user` (name or numeric uid) in an `/etc/subuid`-style text.
pub fn parse_subid(text: &str, user: &str, uid: u32) -> Option<IdRange> {
    let uid = uid.to_string();
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let mut f = l.split(':');
            let (who, start, count) = (f.next()?, f.next()?, f.next()?);
            if who != user && who != uid {
                return None;
            }
            let range = IdRange {
                start: start.trim().parse().ok()?,
                count: count.trim().parse().ok()?,
            };
            (range.count > 0).then_some(range)
        })
        .next()
}

/// The user's name from `/etc/passwd` (or `$USER`, else the uid as text).
fn user_name(uid: u32) -> String {
    if let Ok(text) = fs::read_to_string("/etc/passwd") {
        for l in text.lines() {
            let f: Vec<&str> = l.split(':').collect();
            if f.len() > 2 && f[2] == uid.to_string() {
                return f[0].to_string();
            }
        }
    }
    std::env::var("USER").unwrap_or_else(|_| uid.to_string())
}

/// The user's range in `file` (`/etc/subuid` or `/etc/subgid`), or a one-line error naming
/// the file and the user.
fn subid_range(file: &str, user: &str, uid: u32) -> Result<IdRange> {
    let text = fs::read_to_string(file).unwrap_or_default();
    parse_subid(&text, user, uid).ok_or_else(|| {
        RunError::FailedPrecondition(format!(
            "no subordinate id range for user {user} (uid {uid}) in {file}: rootless containers \
             need one, e.g. `usermod --add-subuids 100000-165535 --add-subgids 100000-165535 {user}` as root"
        ))
    })
}

/// `newuidmap` or `newgidmap`, or an error naming the package.
fn helper(name: &str) -> Result<PathBuf> {
    find_binary(name).ok_or_else(|| {
        RunError::FailedPrecondition(format!(
            "{name} not found: rootless containers need it, install the uidmap package \
             (apt-get install uidmap)"
        ))
    })
}

/// Enter berth's user namespace, creating it (and its pause process) on first use. Does
/// nothing as root or when already inside a user namespace. Must be called while the process
/// is single-threaded (first thing in a command). `runroot` holds `pause.pid`.
pub fn enter(runroot: &Path) -> Result<()> {
    if rustix::process::geteuid().is_root() {
        return Ok(());
    }
    let uid = rustix::process::getuid().as_raw();
    let gid = rustix::process::getgid().as_raw();
    let user = user_name(uid);
    let subuid = subid_range("/etc/subuid", &user, uid)?;
    let subgid = subid_range("/etc/subgid", &user, uid)?;
    let newuidmap = helper("newuidmap")?;
    let newgidmap = helper("newgidmap")?;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(runroot)
        .map_err(|e| RunError::io(runroot, e))?;
    // The run root may be in /tmp: never trust one someone else made (or a symlink).
    let meta = fs::symlink_metadata(runroot).map_err(|e| RunError::io(runroot, e))?;
    if !meta.is_dir() || std::os::unix::fs::MetadataExt::uid(&meta) != uid {
        return Err(RunError::FailedPrecondition(format!(
            "{}: the run root must be a directory owned by {user} (uid {uid}): remove it or \
             pass --runroot",
            runroot.display()
        )));
    }
    let lock_path = runroot.join("pause.lock");
    let lock = FileLock::acquire(&lock_path, LockMode::Exclusive)
        .map_err(|e| RunError::io(&lock_path, e))?;
    let pid_path = runroot.join("pause.pid");
    let pid = match read_pause_pid(&pid_path) {
        Some(pid) => pid,
        None => {
            let pid = start_pause(&newuidmap, &newgidmap, uid, gid, subuid, subgid)?;
            let start = proc_start_time(pid).unwrap_or(0);
            let text = format!("{pid} {start}\n");
            berth_layers::atomic_file::write_atomically(&pid_path, text.as_bytes(), 0o600)
                .map_err(|e| RunError::io(&pid_path, e))?;
            pid
        }
    };
    join(pid)?;
    drop(lock);
    Ok(())
}

/// [`enter`] when the user has subordinate ranges and the uidmap helpers are installed;
/// otherwise stay outside (single-owner images still work there) and return false. For store
/// commands (`rmi`, `image prune`, `pull`, `build`…), so layers unpacked with several owners
/// stay removable.
pub fn enter_if_configured(runroot: &Path) -> Result<bool> {
    if rustix::process::geteuid().is_root() {
        return Ok(false);
    }
    let uid = rustix::process::getuid().as_raw();
    let user = user_name(uid);
    let configured = subid_range("/etc/subuid", &user, uid).is_ok()
        && subid_range("/etc/subgid", &user, uid).is_ok()
        && helper("newuidmap").is_ok()
        && helper("newgidmap").is_ok();
    if !configured {
        return Ok(false);
    }
    enter(runroot).map(|_| true)
}

/// The pause process recorded in `path`, if it still runs.
pub fn read_pause_pid(path: &Path) -> Option<u32> {
    let text = fs::read_to_string(path).ok()?;
    let mut f = text.split_whitespace();
    let pid: u32 = f.next()?.parse().ok()?;
    let start: u64 = f.next()?.parse().ok()?;
    alive(Some(pid), Some(start)).then_some(pid)
}

/// Start the pause process in a new user and mount namespace and map its ids.
fn start_pause(
    newuidmap: &Path,
    newgidmap: &Path,
    uid: u32,
    gid: u32,
    subuid: IdRange,
    subgid: IdRange,
) -> Result<u32> {
    let exe = std::env::current_exe().map_err(|e| RunError::io("/proc/self/exe", e))?;
    let mut cmd = Command::new(&exe);
    cmd.args(["container", "userns-pause"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .current_dir("/");
    // SAFETY: setsid(2) and unshare(2) are async-signal-safe; the pause process leaves the
    // caller's session and makes the namespaces before it executes berth again.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            if libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNS) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().map_err(|e| {
        RunError::FailedPrecondition(format!(
            "cannot create a user namespace ({e}): check that unprivileged user namespaces are \
             enabled (sysctl user.max_user_namespaces)"
        ))
    })?;
    let pid = child.id();
    let mapped = |tool: &Path, own: u32, range: IdRange| -> Result<()> {
        let count = range.count.min(MAPPED_IDS);
        let out = Command::new(tool)
            .arg(pid.to_string())
            .args(["0", &own.to_string(), "1"])
            .args(["1", &range.start.to_string(), &count.to_string()])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| RunError::io(tool, e))?;
        if out.status.success() {
            return Ok(());
        }
        Err(RunError::FailedPrecondition(format!(
            "{} {pid} 0 {own} 1 1 {} {count}: {}",
            tool.display(),
            range.start,
            String::from_utf8_lossy(&out.stderr)
                .trim()
                .replace('\n', " ")
        )))
    };
    let result = mapped(newuidmap, uid, subuid).and_then(|_| mapped(newgidmap, gid, subgid));
    if let Err(e) = result {
        let _ = child.kill();
        let _ = child.wait();
        return Err(e);
    }
    // The pause process is reaped by init once this process exits; forget the handle.
    drop(child);
    Ok(pid)
}

/// Join the user and mount namespaces of `pid`, then become uid/gid 0 there with no
/// supplementary groups, keeping the working directory.
fn join(pid: u32) -> Result<()> {
    let threads = fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Threads:").map(|v| v.trim().to_string()))
        })
        .unwrap_or_else(|| "1".to_string());
    if threads != "1" {
        return Err(RunError::FailedPrecondition(format!(
            "cannot join berth's user namespace from a multi-threaded process ({threads} threads): \
             run the command inside `berth unshare`"
        )));
    }
    let cwd = std::env::current_dir().ok();
    let open = |ns: &str| {
        let p = format!("/proc/{pid}/ns/{ns}");
        File::open(&p).map_err(|e| RunError::io(p, e))
    };
    let (user, mnt) = (open("user")?, open("mnt")?);
    let setns = |f: &File, kind: libc::c_int, what: &str| -> Result<()> {
        // SAFETY: setns(2) on an open namespace file descriptor.
        let r = unsafe { libc::setns(std::os::fd::AsRawFd::as_raw_fd(&f.as_fd()), kind) };
        if r != 0 {
            return Err(RunError::io(
                format!("/proc/{pid}/ns/{what}"),
                std::io::Error::last_os_error(),
            ));
        }
        Ok(())
    };
    setns(&user, libc::CLONE_NEWUSER, "user")?;
    setns(&mnt, libc::CLONE_NEWNS, "mnt")?;
    // SAFETY: plain credential syscalls with integer arguments.
    unsafe {
        libc::setgroups(0, std::ptr::null());
        if libc::setresgid(0, 0, 0) != 0 || libc::setresuid(0, 0, 0) != 0 {
            return Err(RunError::FailedPrecondition(format!(
                "cannot become root in berth's user namespace (pause process {pid}): {}",
                std::io::Error::last_os_error()
            )));
        }
    }
    if let Some(dir) = cwd {
        let _ = std::env::set_current_dir(dir);
    }
    Ok(())
}

/// The pause process's work: hold the namespaces until killed.
pub fn pause_forever() -> ! {
    loop {
        // SAFETY: pause(2) only waits for a signal.
        unsafe {
            libc::pause();
        }
    }
}

/// `berth unshare [CMD…]`: run `command` (default `$SHELL`, else `/bin/sh`) inside berth's
/// user namespace with `BERTH_UNSHARE`, `CONTAINERS_GRAPHROOT` and `CONTAINERS_RUNROOT` set.
/// Replaces this process; returns only on failure.
pub fn unshare_exec(store_root: &Path, runroot: &Path, command: &[OsString]) -> RunError {
    if is_host_root() {
        return RunError::FailedPrecondition(
            "berth unshare is for rootless use: as root, run the command directly".to_string(),
        );
    }
    if let Err(e) = enter(runroot) {
        return e;
    }
    let (program, args) = match command.split_first() {
        Some((p, a)) => (p.clone(), a.to_vec()),
        None => (
            std::env::var_os("SHELL")
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "/bin/sh".into()),
            Vec::new(),
        ),
    };
    let err = Command::new(&program)
        .args(&args)
        .env(UNSHARE_ENV, "1")
        .env("CONTAINERS_GRAPHROOT", store_root)
        .env("CONTAINERS_RUNROOT", runroot)
        .exec();
    let what = program.to_string_lossy().to_string();
    match err.kind() {
        std::io::ErrorKind::NotFound => {
            RunError::CommandNotFound(format!("{what}: command not found"))
        }
        _ => RunError::CannotInvoke(format!("{what}: {err}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subid_lines() {
        let text = "# comment\nalice:100000:65536\n1001:200000:1000\nbob:300000:0\n";
        assert_eq!(
            parse_subid(text, "alice", 1000),
            Some(IdRange {
                start: 100000,
                count: 65536
            })
        );
        assert_eq!(
            parse_subid(text, "carol", 1001),
            Some(IdRange {
                start: 200000,
                count: 1000
            })
        );
        assert_eq!(parse_subid(text, "bob", 5), None);
        assert_eq!(parse_subid(text, "dave", 6), None);
    }

    #[test]
    fn missing_range_names_file_and_user() {
        let err = subid_range("/nonexistent-berth-subuid", "zed", 4242)
            .unwrap_err()
            .to_string();
        assert!(err.contains("/nonexistent-berth-subuid"), "{err}");
        assert!(err.contains("zed"), "{err}");
        assert!(!err.contains('\n'));
        let err = helper("berth-no-such-helper").unwrap_err().to_string();
        assert!(err.contains("uidmap"), "{err}");
    }

    #[test]
    fn host_uid_outside_a_namespace_is_own_uid() {
        if !in_user_namespace() {
            assert_eq!(host_uid(), rustix::process::getuid().as_raw());
        }
    }
}
