//! Running a container's health check: once ([`Engine::run_healthcheck`], `healthcheck
//! run`), or on its interval by the container's monitor ([`Engine::health_loop`], started
//! beside each run by `engine/restart.rs`; Podman uses a systemd timer per container, berth
//! has its monitor). The check is an exec through the runtime, as `berth exec`'s; one that
//! outlives its timeout is killed (Podman 4.3 only marks it failed once it ends) and counts
//! as a failure (`ExitCode` -1). The results are the container's `healthcheck.log` (in its
//! bundle, Podman's name), under a lock since the monitor and a `healthcheck run` both
//! write it; `--health-on-failure` acts when a failed check leaves it unhealthy.

use std::io::Read;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use berth_image_store::lock::{FileLock, LockMode};
use chrono::Utc;

use crate::container::{Container, State};
use crate::error::{Result, RunError};
use crate::health::{HealthConfig, HealthLog, HealthResults, OnFailure, UNHEALTHY};
use crate::runtime::{ContainerStdio, TtySink};

use super::exec::ExecRequest;
use super::Engine;

/// How often a running check is looked at (its exit, its timeout).
const POLL: Duration = Duration::from_millis(10);

/// One check's outcome.
#[derive(Debug, Clone)]
pub struct CheckOutcome {
    /// The check passed.
    pub passed: bool,
    /// It outlived its timeout (and was killed).
    pub timed_out: bool,
    /// The container's health after it.
    pub results: HealthResults,
}

/// Go's `Duration.String()` for whole milliseconds: `1s`, `1m30s`, `500ms`, `1h0m0s`.
pub fn go_duration_text(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let secs = d.as_secs_f64() % 60.0;
    let s = if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs() % 60)
    } else {
        format!("{secs}s")
    };
    let (m, h) = ((d.as_secs() / 60) % 60, d.as_secs() / 3600);
    match (h, d.as_secs() / 60) {
        (0, 0) => s,
        (0, _) => format!("{m}m{s}"),
        _ => format!("{h}h{m}m{s}"),
    }
}

impl Engine<'_> {
    /// The container's `healthcheck.log`.
    fn health_log_path(&self, id: &str) -> PathBuf {
        self.bundle_dir(id).join("healthcheck.log")
    }

    /// `c`'s health as inspect shows it (`.State.Health`): empty when it has no check.
    pub fn health(&self, c: &Container) -> HealthResults {
        if c.options.healthcheck.is_none() {
            return HealthResults::default();
        }
        let r = HealthResults::read(&self.health_log_path(&c.id));
        if r.status.is_empty() {
            return HealthResults::starting();
        }
        r
    }

    /// Change the results under the container's health lock.
    fn update_health<T>(
        &self,
        c: &Container,
        f: impl FnOnce(&mut HealthResults) -> T,
    ) -> Result<(T, HealthResults)> {
        let dir = self.bundle_dir(&c.id);
        crate::bundle::create_dir(&dir)?;
        let lock_path = dir.join("healthcheck.lock");
        let file = crate::bundle::private_file(&lock_path, false)?;
        let _lock =
            FileLock::on(file, LockMode::Exclusive).map_err(|e| RunError::io(&lock_path, e))?;
        let path = self.health_log_path(&c.id);
        let mut r = HealthResults::read(&path);
        let out = f(&mut r);
        r.write(&path)?;
        Ok((out, r))
    }

    /// A start: the health is `starting` again (its log kept), as Podman's.
    fn health_starting(&self, c: &Container) {
        let _ = self.update_health(c, |r| {
            r.status = crate::health::STARTING.to_string();
            r.failing_streak = 0;
        });
    }

    /// `healthcheck run`: run `c`'s check once, record it, and act on `--health-on-failure`
    /// when it leaves the container unhealthy. Podman's errors for a container that is not
    /// running or has no check.
    pub fn run_healthcheck(&self, c: &Container) -> Result<CheckOutcome> {
        let c = self.refresh(c.clone())?;
        if c.state != State::Running {
            return Err(RunError::FailedPrecondition(format!(
                "container {} is not running",
                c.id
            )));
        }
        let Some(hc) = c.options.healthcheck.clone() else {
            return Err(RunError::FailedPrecondition(format!(
                "container {} has no defined healthcheck",
                c.id
            )));
        };
        let outcome = self.check_once(&c, &hc)?;
        self.act_on_failure(&c, &outcome, None);
        Ok(outcome)
    }

    /// Run the check, record its result by libpod's rules, emit `health_status`.
    fn check_once(&self, c: &Container, hc: &HealthConfig) -> Result<CheckOutcome> {
        let start = Utc::now();
        let (code, output, timed_out) = self.exec_check(c, hc, hc.timeout)?;
        let end = Utc::now();
        let exit_code = match (timed_out, code) {
            (true, _) => -1,
            (false, 0) => 0,
            (false, _) => 1,
        };
        let in_start_period = c.started.is_some_and(|t| {
            start < t + chrono::Duration::from_std(hc.start_period).unwrap_or_default()
        });
        let log = HealthLog::new(start, end, exit_code, &output);
        let ((), results) =
            self.update_health(c, |r| r.record(log, hc.retries, in_start_period))?;
        berth_image_store::events::emit(
            super::events::container_event(c, "health_status")
                .with_attributes([(&"health_status".to_string(), &results.status)]),
        );
        Ok(CheckOutcome {
            passed: exit_code == 0,
            timed_out,
            results,
        })
    }

    /// Exec the check's command in `c` with its stdout and stderr in one pipe; kill it at
    /// `timeout`. Returns its exit code (nonzero when it could not run), its output, and
    /// whether it timed out.
    fn exec_check(
        &self,
        c: &Container,
        hc: &HealthConfig,
        timeout: Duration,
    ) -> Result<(i32, String, bool)> {
        let req = ExecRequest {
            command: hc.command(),
            ..ExecRequest::default()
        };
        let (c, files) = self.prepare_exec(c, &req)?;
        let (mut reader, writer) =
            std::io::pipe().map_err(|e| RunError::io("health check pipe", e))?;
        let writer2 = writer
            .try_clone()
            .map_err(|e| RunError::io("health check pipe", e))?;
        let stdio = ContainerStdio {
            stdin: Stdio::null(),
            stdout: Stdio::from(writer),
            stderr: Stdio::from(writer2),
            tty: TtySink::User { interactive: false },
        };
        let rt = self.runtime_for(&c)?;
        let mut child = match rt.exec(&c.id, &files.process, &files.log, stdio, None) {
            Ok(child) => child,
            Err(e) => {
                files.remove();
                // A command that cannot run is a failed check, as Podman's.
                return Ok((1, e.to_string(), false));
            }
        };
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut out = Vec::new();
            let _ = reader.read_to_end(&mut out);
            let _ = tx.send(out);
        });
        let deadline = Instant::now() + timeout;
        let mut timed_out = false;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) => {}
                Err(_) => break None,
            }
            if !timed_out && Instant::now() >= deadline {
                timed_out = true;
                self.kill_exec(&files.pid_file(), child.id());
            }
            std::thread::sleep(POLL);
        };
        files.remove();
        // The output is whole once every writer has gone (a process the check left
        // behind may keep it open: then what came in time).
        let output = rx
            .recv_timeout(Duration::from_secs(1))
            .map(|o| String::from_utf8_lossy(&o).into_owned())
            .unwrap_or_default();
        let code = status.and_then(|s| s.code()).unwrap_or(1);
        Ok((code, output, timed_out))
    }

    /// End a check that outlived its timeout: its process (from the runtime's pid file),
    /// which the runtime then reaps as it ends; the runtime itself only when the pid file
    /// says nothing (its process would be left a zombie under the container's init).
    fn kill_exec(&self, pid_file: &std::path::Path, runtime_pid: u32) {
        let pid = std::fs::read_to_string(pid_file)
            .ok()
            .and_then(|t| t.trim().parse::<i32>().ok())
            .filter(|p| *p > 0)
            .unwrap_or(runtime_pid as i32);
        // SAFETY: kill(2) with a pid and a signal number has no memory effects.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }

    /// `--health-on-failure`: act when a failed check left `c` unhealthy. `restart` asks the
    /// monitor (through `restart_flag`) to start it again once it has stopped; without a
    /// monitor to ask (`healthcheck run`), it is a `restart` the monitor's policy sees as the
    /// user's stop.
    fn act_on_failure(&self, c: &Container, o: &CheckOutcome, restart_flag: Option<&AtomicBool>) {
        if o.passed || o.results.status != UNHEALTHY {
            return;
        }
        let stop_timeout = Duration::from_secs(10);
        let done = match c.options.health_on_failure {
            OnFailure::None => Ok(()),
            OnFailure::Kill => self.kill(c, libc::SIGKILL),
            OnFailure::Stop => self.stop(c, stop_timeout).map(|_| ()),
            OnFailure::Restart => match restart_flag {
                Some(flag) => {
                    flag.store(true, Ordering::SeqCst);
                    self.stop_for_restart(c, stop_timeout)
                }
                None => self.stop(c, stop_timeout).map(|_| ()),
            },
        };
        if let Err(e) = done {
            tracing::warn!(target: "berth_run::engine", error = %e, "--health-on-failure");
        }
    }

    /// The monitor's health thread for one run of `c`: `starting`, then a check every
    /// interval (none when it is zero) until `stop` says the run is over.
    pub(super) fn health_loop(
        &self,
        c: &Container,
        hc: &HealthConfig,
        stop: &mpsc::Receiver<()>,
        restart_flag: &AtomicBool,
    ) {
        // Wait for this run to be running (the record's pid), or for its end.
        let c = loop {
            match self.records().get(&c.id) {
                Ok(now) if now.state == State::Running => break now,
                Ok(_) => {}
                Err(_) => return,
            }
            match stop.recv_timeout(POLL) {
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                _ => return,
            }
        };
        self.health_starting(&c);
        if hc.interval.is_zero() {
            let _ = stop.recv();
            return;
        }
        while let Err(mpsc::RecvTimeoutError::Timeout) = stop.recv_timeout(hc.interval) {
            match self.check_once(&c, hc) {
                Ok(o) => self.act_on_failure(&c, &o, Some(restart_flag)),
                // The container went meanwhile: the run is over.
                Err(_) => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_gos() {
        assert_eq!(go_duration_text(Duration::from_secs(1)), "1s");
        assert_eq!(go_duration_text(Duration::from_secs(30)), "30s");
        assert_eq!(go_duration_text(Duration::from_secs(90)), "1m30s");
        assert_eq!(go_duration_text(Duration::from_secs(3600)), "1h0m0s");
        assert_eq!(go_duration_text(Duration::from_millis(500)), "500ms");
        assert_eq!(go_duration_text(Duration::from_millis(1500)), "1.5s");
    }
}
