//! `--restart`: the monitor's loop ([`Engine::monitor`]) starts its container again after an
//! exit its policy matches, as Podman 4.3's `handleRestartPolicy` (run by `podman container
//! cleanup` when conmon sees the exit) does: right away, with no delay between attempts
//! (Podman has no back-off), counting each restart (`RestartCount`), never after the user's
//! `stop` or `kill`, and for `on-failure:N` at most N times. The health check runs beside
//! each run (`engine/health.rs`).
//!
//! Two files in the bundle hold what several processes share: `restarts` (the count since
//! the user's last start, written by the monitor) and `stopped-by-user` (written by `stop`
//! and `kill` before they signal, so the monitor sees it when the exit comes). A user's
//! start removes both.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;

use crate::container::{Container, State};
use crate::error::{Result, RunError};

use super::Engine;

const RESTARTS: &str = "restarts";
const STOPPED_BY_USER: &str = "stopped-by-user";

impl Engine<'_> {
    fn restart_file(&self, id: &str, name: &str) -> PathBuf {
        self.bundle_dir(id).join(name)
    }

    /// How many times the monitor restarted `id` since its user started it (`RestartCount`).
    pub fn restart_count(&self, id: &str) -> u32 {
        std::fs::read_to_string(self.restart_file(id, RESTARTS))
            .ok()
            .and_then(|t| t.trim().parse().ok())
            .unwrap_or(0)
    }

    /// The monitor's pid file (`<bundle>/monitor.pid`), while a monitor runs the container.
    pub fn monitor_pid_file(&self, id: &str) -> PathBuf {
        self.restart_file(id, "monitor.pid")
    }

    /// Whether the user stopped or killed `id` since its last start by the user.
    pub fn stopped_by_user(&self, id: &str) -> bool {
        self.restart_file(id, STOPPED_BY_USER).exists()
    }

    /// `stop`/`kill`: no restart after this exit (a container without a bundle has nothing
    /// to restart).
    pub(super) fn mark_stopped_by_user(&self, c: &Container) {
        let restarts = c.options.restart != crate::restart_policy::RestartPolicy::No
            || c.options.health_on_failure == crate::health::OnFailure::Restart;
        if !restarts || !self.bundle_dir(&c.id).is_dir() {
            return;
        }
        let path = self.restart_file(&c.id, STOPPED_BY_USER);
        if let Err(e) = crate::bundle::write_json(&path, &true) {
            tracing::warn!(target: "berth_run::engine", error = %e, "the restart policy will apply");
        }
    }

    /// A start by the user: the count starts again and an earlier stop is forgotten.
    pub(super) fn reset_restarts(&self, c: &Container) {
        for name in [RESTARTS, STOPPED_BY_USER] {
            let _ = std::fs::remove_file(self.restart_file(&c.id, name));
        }
    }

    fn count_restart(&self, id: &str) {
        let n = self.restart_count(id) + 1;
        let path = self.restart_file(id, RESTARTS);
        if let Err(e) =
            berth_layers::atomic_file::write_atomically(&path, n.to_string().as_bytes(), 0o600)
        {
            tracing::warn!(target: "berth_run::engine", error = %e, "restart count not kept");
        }
    }

    /// After a run this process supervised in the foreground (`run` without `-d`) exited
    /// with `code`: when its restart policy says so, the container goes on detached under a
    /// monitor, as Podman's cleanup process restarts it in the background once the client
    /// has its exit code. Whether it was restarted.
    pub fn restart_detached_if_due(
        &self,
        c: &Container,
        code: Option<i32>,
        berth_exe: &std::path::Path,
        global_args: &[std::ffi::OsString],
    ) -> Result<bool> {
        let now = match self.records().get(&c.id) {
            Ok(now) => now,
            Err(RunError::NoSuchContainer(_)) => return Ok(false),
            Err(e) => return Err(e),
        };
        let due = now.options.restart.should_restart(
            code,
            self.restart_count(&c.id),
            self.stopped_by_user(&c.id),
        );
        if now.state != State::Exited || !due {
            return Ok(false);
        }
        self.event(&now, "restart");
        self.count_restart(&c.id);
        self.spawn_monitor(
            &now,
            berth_exe,
            global_args,
            super::start::MonitorMode::Restart,
        )?;
        Ok(true)
    }

    /// `c` once a restart its monitor has under way is over: running, or (the monitor saw
    /// the user's stop first) not; `c` as it is when no restart is under way.
    pub(super) fn settle_restart(&self, c: Container) -> Result<Container> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        // As the record is now: `c` may be from before the last restart.
        let mut c = match self.records().get(&c.id) {
            Ok(now) => self.refresh(now)?,
            Err(RunError::NoSuchContainer(_)) => return Ok(c),
            Err(e) => return Err(e),
        };
        while matches!(c.state, State::Created | State::Exited)
            && crate::process::alive(c.monitor_pid, c.monitor_start)
            && std::time::Instant::now() < deadline
        {
            std::thread::sleep(std::time::Duration::from_millis(10));
            c = self.refresh(self.records().get(&c.id)?)?;
        }
        Ok(c)
    }

    /// `start --all [--filter KIND=VALUE]…`: the containers not running, oldest first, kept
    /// by the filters `ps --filter` takes (Podman's boot-time unit starts
    /// `restart-policy=always`).
    pub fn startable(&self, filters: &[String]) -> Result<Vec<Container>> {
        let mut list = self.list()?;
        let filters = crate::list_filter::ContainerFilters::parse_texts(filters, &list)?;
        list.reverse();
        list.retain(|c| c.state != State::Running && filters.matches(c));
        Ok(list)
    }

    /// The monitor's work (`berth container-monitor ID`): run `c` with its output going to
    /// `ctr.log` and its health check beside it, and start it again each time its restart
    /// policy (or `--health-on-failure=restart`) says so. Returns the last exit code.
    pub fn monitor(&self, c: &Container) -> Result<Option<i32>> {
        Engine::note_init_request();
        let mut c = c.clone();
        // What a systemd unit of type `forking` follows (`generate systemd`'s `PIDFile`).
        crate::bundle::create_dir(&self.bundle_dir(&c.id))?;
        let pid_file = self.monitor_pid_file(&c.id);
        if let Err(e) = berth_layers::atomic_file::write_atomically(
            &pid_file,
            std::process::id().to_string().as_bytes(),
            0o600,
        ) {
            tracing::warn!(target: "berth_run::engine", error = %e, "no monitor pid file");
        }
        // The first run: the `start` that spawned this monitor holds the start lock.
        let mut lock = None;
        let health_restart = AtomicBool::new(false);
        let mut restarted = false;
        loop {
            let policy = c.options.restart;
            let (due, counted) = (AtomicBool::new(false), AtomicBool::new(false));
            let restarting = |code: Option<i32>| {
                let asked = health_restart.swap(false, Ordering::SeqCst);
                let by_policy = policy.should_restart(code, self.restart_count(&c.id), false);
                let restart = !self.stopped_by_user(&c.id) && (asked || by_policy);
                counted.store(restart && by_policy, Ordering::SeqCst);
                due.store(restart, Ordering::SeqCst);
                restart
            };
            let code = std::thread::scope(|s| {
                let (stop, stopped) = mpsc::channel::<()>();
                if let Some(hc) = &c.options.healthcheck {
                    let (store, runroot, runtime) =
                        (self.store, self.runroot.clone(), self.runtime.clone());
                    let (c, flag) = (&c, &health_restart);
                    s.spawn(move || {
                        let Ok(mut engine) = Engine::new(store, &runroot) else {
                            return;
                        };
                        engine.runtime = runtime;
                        engine.health_loop(c, hc, &stopped, flag);
                    });
                }
                let code = self.monitor_run(&c, lock.take(), restarted, &restarting);
                drop(stop);
                code
            })?;
            if !due.load(Ordering::SeqCst) {
                return Ok(code);
            }
            self.event(&c, "restart");
            // Take turns with a user's `start`, which may have come first.
            let next = self.start_lock(&c)?;
            c = match self.records().get(&c.id) {
                Ok(now) => now,
                Err(RunError::NoSuchContainer(_)) => {
                    // Removed meanwhile: the start lock made its bundle directory again.
                    let _ = std::fs::remove_dir_all(self.bundle_dir(&c.id));
                    return Ok(code);
                }
                Err(e) => return Err(e),
            };
            if c.state == State::Running || self.stopped_by_user(&c.id) {
                self.records()
                    .clear_exited_monitor(&c.id, std::process::id())?;
                return Ok(code);
            }
            if counted.load(Ordering::SeqCst) {
                self.count_restart(&c.id);
            }
            lock = Some(next);
            restarted = true;
        }
    }

    /// Record an exit the monitor follows with a restart: as [`Engine::finish`] (release,
    /// `died`, `cleanup`), the monitor kept in the record.
    pub(super) fn finish_before_restart(&self, c: &Container, code: Option<i32>) -> Result<()> {
        self.release(c);
        self.records().set_exited_restarting(&c.id, code)?;
        let now = self.records().get(&c.id).unwrap_or_else(|_| c.clone());
        self.died_event(&now, code);
        self.event(&now, "cleanup");
        Ok(())
    }
}
