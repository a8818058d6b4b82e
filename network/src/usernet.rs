//! What pasta and slirp4netns share: a user-mode network helper is a process berth starts
//! for one container, connected to the container's network namespace, that must end with
//! it. [`UserNet`] is its record (kept in the container's run state, so a later `rm` ends it
//! even after a `kill -9` of the monitor), [`UserNet::is_running`] tells it from a later
//! process that reused its pid (`/proc/PID/stat`'s start time), and [`UserNet::teardown`]
//! ends it by pid and removes the namespace.
//!
//! Files per container, under `<network run dir>/usernet/`: `<id>.log` (the helper's
//! messages), `<id>.pid` (pasta's pid file, read once), `<id>.sock` (slirp4netns's API
//! socket), `<id>` the container id's first 12 characters; the namespace is the persistent one under `<network run dir>/netns/<id>`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::dirs::NetworkDirs;
use crate::error::{NetworkError, Result};

/// A running user-mode network helper of one container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserNet {
    /// `pasta` or `slirp4netns`.
    pub program: String,
    pub pid: u32,
    /// Its start time (clock ticks since boot), so a reused pid is never signalled.
    pub start_time: u64,
    /// The container's network namespace (bind-mounted; removed at teardown).
    pub netns: PathBuf,
    /// slirp4netns's API socket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_socket: Option<PathBuf>,
    /// What the container's `/etc/resolv.conf` names first (pasta's DNS forwarder,
    /// slirp4netns's built-in resolver).
    #[serde(default)]
    pub dns_servers: Vec<std::net::IpAddr>,
    /// The container's address, where the helper fixes it (slirp4netns's guest address).
    #[serde(default)]
    pub addresses: Vec<std::net::IpAddr>,
    /// The host as the container reaches it (slirp4netns's gateway).
    #[serde(default)]
    pub gateway: Option<std::net::IpAddr>,
}

/// Where a container's helper files live (see the module's doc).
pub(crate) fn files_dir(dirs: &NetworkDirs) -> PathBuf {
    dirs.run.join("usernet")
}

/// The helper's log, pid file or socket (`ext`: `log`, `pid`, `sock`) of container `id`,
/// named by its first 12 characters: a unix socket's path must stay under 108 bytes.
pub(crate) fn file(dirs: &NetworkDirs, id: &str, ext: &str) -> PathBuf {
    let short = id.get(..12).unwrap_or(id);
    files_dir(dirs).join(format!("{short}.{ext}"))
}

/// A new persistent namespace for container `id` (a leftover of a crash replaced), and the
/// helper files' directory made.
pub(crate) fn prepare(dirs: &NetworkDirs, id: &str) -> Result<PathBuf> {
    let dir = files_dir(dirs);
    std::fs::create_dir_all(&dir).map_err(|e| NetworkError::io(&dir, e))?;
    crate::netns::create_persistent(&dirs.netns(), id)
}

/// Undo [`prepare`] after a failed start: the namespace and the helper's files removed.
pub(crate) fn discard(dirs: &NetworkDirs, id: &str, netns: &Path) {
    crate::netns::remove(netns);
    remove_files(dirs, id);
}

fn remove_files(dirs: &NetworkDirs, id: &str) {
    for ext in ["sock", "pid", "log"] {
        let _ = std::fs::remove_file(file(dirs, id, ext));
    }
}

/// The helper's messages (its log, syslog noise and a usage text dropped), for an error.
pub(crate) fn messages(log: &Path) -> String {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.starts_with("Failed to send") && !l.trim().is_empty())
        .take_while(|l| !l.starts_with("Usage:"))
        .take(8)
        .collect::<Vec<_>>()
        .join("; ")
}

/// The start time of process `pid` (`None`: gone, or a zombie).
pub fn start_time(pid: u32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command (field 2) may hold spaces and parentheses: split after the last ')'.
    let fields: Vec<&str> = text[text.rfind(')')? + 1..].split_whitespace().collect();
    if fields.first() == Some(&"Z") {
        return None;
    }
    // Field 22 (starttime) is the 20th after the command.
    fields.get(19)?.parse().ok()
}

impl UserNet {
    /// Whether the helper still runs (the same process: pid and start time).
    pub fn is_running(&self) -> bool {
        start_time(self.pid) == Some(self.start_time)
    }

    /// End the helper (SIGTERM, SIGKILL after a second), remove its namespace and files.
    /// Idempotent: a helper already gone, a namespace already removed, do no harm.
    pub fn teardown(&self, dirs: &NetworkDirs, id: &str) {
        self.stop();
        discard(dirs, id, &self.netns);
    }

    /// Signal the helper by its pid (only while it is the process berth started) and wait
    /// until it is gone, reaping it when it is this process's child.
    pub fn stop(&self) {
        for (signal, grace) in [
            (libc::SIGTERM, Duration::from_secs(1)),
            (libc::SIGKILL, Duration::from_secs(2)),
        ] {
            if !self.is_running() {
                return;
            }
            // SAFETY: kill(2) on the helper's pid, checked just above to still be the
            // process berth started (pid and start time).
            unsafe {
                libc::kill(self.pid as i32, signal);
            }
            let until = Instant::now() + grace;
            while Instant::now() < until {
                self.reap();
                if !self.is_running() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }

    /// Reap the helper if it is a zombie child of this process (slirp4netns, which berth
    /// spawns without waiting); nothing otherwise.
    fn reap(&self) {
        let mut status = 0;
        // SAFETY: waitpid writes only to `status`; WNOHANG never blocks, and a pid that is
        // not our child gives ECHILD.
        unsafe {
            libc::waitpid(self.pid as i32, &mut status, libc::WNOHANG);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_running_process_is_known_by_pid_and_start_time_only() {
        let me = std::process::id();
        let start = start_time(me).expect("own start time");
        let h = UserNet {
            program: "test".into(),
            pid: me,
            start_time: start,
            netns: PathBuf::from("/nonexistent"),
            api_socket: None,
            dns_servers: Vec::new(),
            addresses: Vec::new(),
            gateway: None,
        };
        assert!(h.is_running());
        let reused = UserNet {
            start_time: start + 1,
            ..h.clone()
        };
        assert!(!reused.is_running(), "a reused pid is not the helper");
        // Not running: stop signals nothing (it would kill this test otherwise).
        reused.stop();
        let json = serde_json::to_string(&h).unwrap();
        assert_eq!(serde_json::from_str::<UserNet>(&json).unwrap(), h);
    }

    #[test]
    fn messages_drop_syslog_noise() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("x.log");
        std::fs::write(
            &log,
            "Failed to send 51 bytes to syslog\nFailed to open tun socket in namespace\n\n\
             Usage: pasta [OPTION]...\n       pasta --netns\n",
        )
        .unwrap();
        assert_eq!(messages(&log), "Failed to open tun socket in namespace");
    }
}
