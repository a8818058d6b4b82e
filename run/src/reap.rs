//! One way of reaping children for the whole process, so that several threads can supervise
//! containers at once (`berth build --jobs N` runs `RUN` steps side by side).
//!
//! A supervisor is a child subreaper ([`become_subreaper`]): once the runtime's `create` has
//! exited, the container's init process is re-parented to this process. Each thread that
//! waits for a container calls [`wait_child`] with that container's pid, which *claims* the
//! pid and waits for it with `waitpid(pid)`: a status is only ever collected by the thread
//! that asked for it, and nobody calls `waitpid(-1)`, so the children other threads (or
//! `std::process::Command`) wait for keep their status.
//!
//! Orphans re-parented to the subreaper that nobody waits for (a container's processes when
//! it shares the host's pid namespace, helpers that double-fork) are reaped by a background
//! thread started with the first [`become_subreaper`]: every [`SCAN_EVERY`] it lists this
//! process's zombie children and reaps those that are neither claimed nor in this process's
//! session. (Children made with `Command` stay in the session unless they call `setsid`, and
//! whoever spawned them reaps them; a process re-parented here has left it: the runtimes make
//! each container a session of its own.) Each status it collects is kept in a short table,
//! so a thread that claims a pid only after its process was reaped there (a container that
//! died before its supervisor knew its pid) still gets the status.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Mutex, MutexGuard, Once};
use std::time::Duration;

use crate::process::alive;

/// How often the orphan reaper looks for zombies.
pub const SCAN_EVERY: Duration = Duration::from_millis(200);

/// How many statuses of orphans nobody claimed are kept.
const KEPT: usize = 256;

#[derive(Default)]
struct Table {
    /// Pids a thread waits for (or is about to): the orphan reaper leaves them alone.
    claimed: HashSet<i32>,
    /// Raw wait statuses of the orphans the reaper collected, newest last in `order`.
    reaped: HashMap<i32, i32>,
    order: VecDeque<i32>,
}

static TABLE: Mutex<Option<Table>> = Mutex::new(None);
static REAPER: Once = Once::new();

fn table() -> MutexGuard<'static, Option<Table>> {
    TABLE.lock().unwrap_or_else(|p| p.into_inner())
}

fn with_table<T>(f: impl FnOnce(&mut Table) -> T) -> T {
    let mut t = table();
    f(t.get_or_insert_with(Table::default))
}

/// Make this process a child subreaper and start the orphan reaper (once).
pub fn become_subreaper() {
    // SAFETY: prctl(PR_SET_CHILD_SUBREAPER) takes integer arguments only.
    unsafe {
        libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    }
    REAPER.call_once(|| {
        let spawned = std::thread::Builder::new()
            .name("berth-reaper".into())
            .spawn(|| loop {
                std::thread::sleep(SCAN_EVERY);
                reap_orphans();
            });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "no orphan reaper: orphans stay zombies until exit");
        }
    });
}

/// A pid this thread waits for (or that some other code will reap itself): the orphan
/// reaper leaves it alone while the claim lives.
pub struct Claim(i32);

impl Claim {
    pub fn new(pid: u32) -> Claim {
        let pid = pid as i32;
        with_table(|t| t.claimed.insert(pid));
        Claim(pid)
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        with_table(|t| t.claimed.remove(&self.0));
    }
}

/// Exit code of a raw wait status: the code, or 128 + signal; `None` for a stop.
fn code_of(status: i32) -> Option<i32> {
    if libc::WIFEXITED(status) {
        Some(libc::WEXITSTATUS(status))
    } else if libc::WIFSIGNALED(status) {
        Some(128 + libc::WTERMSIG(status))
    } else {
        None
    }
}

/// Wait for `pid` to exit; its exit code, or 128 + signal (`None` when it is not a child of
/// this process and its status cannot be known). Safe to call from several threads at once,
/// each for its own pid.
pub fn wait_child(pid: u32) -> Option<i32> {
    let _claim = Claim::new(pid);
    loop {
        let mut status = 0;
        // SAFETY: waitpid writes only to `status`.
        let r = unsafe { libc::waitpid(pid as i32, &mut status, 0) };
        if r == pid as i32 {
            match code_of(status) {
                Some(code) => {
                    // A status kept for an earlier process with this pid is stale now.
                    with_table(|t| t.reaped.remove(&r));
                    return Some(code);
                }
                None => continue,
            }
        }
        let err = std::io::Error::last_os_error();
        if r < 0 && err.raw_os_error() == Some(libc::EINTR) {
            continue;
        }
        // Not (or no longer) a child: the orphan reaper may have collected it before the
        // claim was made.
        if let Some(status) = with_table(|t| t.reaped.remove(&(pid as i32))) {
            return code_of(status);
        }
        // Not our child after all: poll until it is gone; the code is unknown.
        while alive(Some(pid), None) {
            std::thread::sleep(Duration::from_millis(20));
        }
        return None;
    }
}

/// The session of this process.
fn own_session() -> i32 {
    // SAFETY: getsid(0) has no pointer arguments.
    unsafe { libc::getsid(0) }
}

/// `(state, ppid, session)` from `/proc/<pid>/stat`.
fn stat_of(pid: i32) -> Option<(char, i32, i32)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: the fields start after the last ')'.
    let rest = &text[text.rfind(')')? + 1..];
    let mut f = rest.split_whitespace();
    let state = f.next()?.chars().next()?;
    let ppid = f.next()?.parse().ok()?;
    let _pgrp = f.next()?;
    let session = f.next()?.parse().ok()?;
    Some((state, ppid, session))
}

/// This process's children: from each thread's `children` list, or (a kernel without
/// `CONFIG_PROC_CHILDREN`) by scanning `/proc`.
fn children() -> Vec<i32> {
    let me = std::process::id() as i32;
    let mut out = Vec::new();
    let mut listed = false;
    if let Ok(tasks) = std::fs::read_dir("/proc/self/task") {
        for task in tasks.flatten() {
            if let Ok(text) = std::fs::read_to_string(task.path().join("children")) {
                listed = true;
                out.extend(
                    text.split_whitespace()
                        .filter_map(|p| p.parse::<i32>().ok()),
                );
            }
        }
    }
    if !listed {
        if let Ok(procs) = std::fs::read_dir("/proc") {
            out.extend(
                procs
                    .flatten()
                    .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
                    .filter(|&p| stat_of(p).is_some_and(|(_, ppid, _)| ppid == me)),
            );
        }
    }
    out
}

/// Reap the zombie children that are neither claimed nor in this process's session, keeping
/// their statuses for a late claim. Returns how many were reaped.
pub fn reap_orphans() -> usize {
    let me = std::process::id() as i32;
    let session = own_session();
    let zombies: Vec<i32> = children()
        .into_iter()
        .filter(|&p| {
            stat_of(p).is_some_and(|(s, ppid, sid)| s == 'Z' && ppid == me && sid != session)
        })
        .collect();
    if zombies.is_empty() {
        return 0;
    }
    with_table(|t| {
        let mut n = 0;
        for pid in zombies {
            if t.claimed.contains(&pid) {
                continue;
            }
            let mut status = 0;
            // SAFETY: waitpid writes only to `status`; WNOHANG never blocks under the lock.
            let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
            if r != pid {
                continue;
            }
            n += 1;
            if t.reaped.insert(pid, status).is_none() {
                t.order.push_back(pid);
            }
            while t.order.len() > KEPT {
                if let Some(old) = t.order.pop_front() {
                    t.reaped.remove(&old);
                }
            }
        }
        n
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::{Command, Stdio};

    /// A child that `wait_child` (not its `Child`) reaps.
    #[allow(clippy::zombie_processes)]
    fn spawn(script: &str) -> u32 {
        let child = Command::new("sh")
            .args(["-c", script])
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        // `Child` does not wait when dropped: the pid stays ours to reap.
        child.id()
    }

    /// Regression (`berth build --jobs`): threads supervising children at once each get the
    /// exit code of their own child, however their exits interleave.
    #[test]
    fn threads_waiting_at_once_each_get_their_own_status() {
        become_subreaper();
        let handles: Vec<_> = (0..8)
            .map(|i| {
                std::thread::spawn(move || {
                    let mut got = Vec::new();
                    for round in 0..5 {
                        let code = (i * 10 + round) % 120 + 1;
                        // Staggered exits: some threads' children end while others wait.
                        let ms = (7 * i + 3 * round) % 11;
                        let pid = spawn(&format!("sleep 0.0{ms}; exit {code}"));
                        got.push((wait_child(pid), Some(code)));
                    }
                    got
                })
            })
            .collect();
        for h in handles {
            for (got, want) in h.join().unwrap() {
                assert_eq!(got, want);
            }
        }
    }

    #[test]
    fn a_signal_gives_128_plus_its_number() {
        become_subreaper();
        let pid = spawn("kill -9 $$");
        assert_eq!(wait_child(pid), Some(128 + 9));
    }

    /// An orphan in a session of its own (as a container's processes are) that nobody waits
    /// for is reaped; and a claim made after that still gets its status.
    #[test]
    fn orphans_are_reaped_and_a_late_claim_gets_the_status() {
        become_subreaper();
        let out = Command::new("sh")
            .args([
                "-c",
                "setsid sh -c 'sleep 0.1; exit 9' >/dev/null 2>&1 & echo $!",
            ])
            .output()
            .unwrap();
        let pid: u32 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
        // Gone, not even a zombie: the reaper collected it.
        let proc_dir = std::path::PathBuf::from(format!("/proc/{pid}"));
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while proc_dir.exists() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(!proc_dir.exists(), "orphan {pid} was not reaped");
        assert_eq!(wait_child(pid), Some(9));
    }

    /// Children spawned with `Command` in this session are left to whoever spawned them.
    #[test]
    fn command_children_keep_their_status() {
        become_subreaper();
        for _ in 0..5 {
            let mut child = Command::new("sh").args(["-c", "exit 3"]).spawn().unwrap();
            std::thread::sleep(SCAN_EVERY + Duration::from_millis(100));
            assert_eq!(child.wait().unwrap().code(), Some(3));
        }
    }
}
