//! `init` (Podman's): make a container in the runtime without starting its process, state
//! `initialized`; a later `start` starts it. berth's supervisor must be the process that
//! called the runtime's `create` (it is the container's subreaper parent until the exit), so
//! `init` spawns the container's monitor as `start` does, told by its environment to hold
//! the container between `create` and `start`; `start` then asks that monitor to go on (a
//! `start-now` file in the bundle) instead of spawning another.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::container::{Container, State};
use crate::error::{Result, RunError};
use crate::process::alive;

use super::start::{MonitorMode, INIT_ENV};
use super::Engine;

/// This monitor was started by `init` and has not held its container yet (the first run
/// only: a restart starts at once).
static INIT_PENDING: AtomicBool = AtomicBool::new(false);

/// How often the held container and the `start-now` file are looked at.
const POLL: Duration = Duration::from_millis(5);

impl Engine<'_> {
    fn start_now_file(&self, id: &str) -> PathBuf {
        self.bundle_dir(id).join("start-now")
    }

    /// The monitor: whether `init` started it (read once, at its start).
    pub(super) fn note_init_request() {
        if std::env::var_os(INIT_ENV).is_some() {
            INIT_PENDING.store(true, Ordering::SeqCst);
        }
    }

    /// `init`: make `c` in the runtime under a new monitor and return once it is
    /// `initialized` (an initialized or running container is left as it is).
    pub fn init(&self, c: &Container, berth_exe: &Path, global_args: &[OsString]) -> Result<()> {
        if matches!(c.state, State::Initialized | State::Running) {
            return Ok(());
        }
        self.spawn_monitor(c, berth_exe, global_args, MonitorMode::Init)
    }

    /// In the monitor, between the runtime's `create` and `start` of the first run of an
    /// `init`: record `initialized` and wait for `start` (or for the container's end).
    pub(super) fn hold_for_start(&self, c: &Container, pid: u32) -> Result<()> {
        if !INIT_PENDING.swap(false, Ordering::SeqCst) {
            return Ok(());
        }
        self.records()
            .set_initialized(&c.id, pid, std::process::id())?;
        let file = self.start_now_file(&c.id);
        let start_time = crate::process::proc_start_time(pid);
        loop {
            if std::fs::remove_file(&file).is_ok() {
                return Ok(());
            }
            if !alive(Some(pid), start_time) {
                return Err(RunError::FailedPrecondition(format!(
                    "container {} ended before it was started",
                    c.name
                )));
            }
            match self.records().get(&c.id) {
                Ok(now) if now.state == State::Initialized => {}
                Ok(_) | Err(RunError::NoSuchContainer(_)) => {
                    return Err(RunError::FailedPrecondition(format!(
                        "container {} was stopped or removed before it was started",
                        c.name
                    )))
                }
                Err(e) => return Err(e),
            }
            std::thread::sleep(POLL);
        }
    }

    /// `stop` of an `initialized` container: its process is killed, and its monitor, which
    /// held it, deletes it in the runtime, releases the rest and records it `created` again
    /// (a delete from here could race the process's exit for its cgroup).
    pub(super) fn stop_initialized(&self, c: &Container) -> Result<Container> {
        let rt = self.runtime_for(c)?;
        if rt.kill(&c.id, libc::SIGKILL).is_err() {
            rt.delete(&c.id, true)?;
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let now = self.records().get(&c.id)?;
            if now.state != State::Initialized
                || !alive(c.monitor_pid, c.monitor_start)
                || std::time::Instant::now() > deadline
            {
                return Ok(now);
            }
            std::thread::sleep(POLL);
        }
    }

    /// `start` of an `initialized` container: ask its monitor to start it, and return once
    /// it runs (or has already ended).
    pub(super) fn start_initialized(&self, c: &Container) -> Result<()> {
        crate::bundle::write_json(&self.start_now_file(&c.id), &true)?;
        loop {
            let now = self.refresh(self.records().get(&c.id)?)?;
            match now.state {
                State::Running | State::Exited => return Ok(()),
                _ if !alive(c.monitor_pid, c.monitor_start) => {
                    return Err(RunError::FailedPrecondition(now.error.unwrap_or_else(
                        || format!("container {}: its monitor ended before it started", c.name),
                    )))
                }
                _ => std::thread::sleep(POLL),
            }
        }
    }
}
