//! Stopping a container: `kill` (a signal), `stop` (the stop signal, then SIGKILL after a
//! timeout, until the exit is recorded) and `wait` (for the exit code).

use std::time::{Duration, Instant};

use crate::container::{Container, State};
use crate::error::{Result, RunError};
use crate::process::alive;

use super::Engine;

impl Engine<'_> {
    /// Send `signal` to a running container (a paused one is thawed after a SIGKILL, so that
    /// it dies, as Podman's).
    pub fn kill(&self, c: &Container, signal: i32) -> Result<()> {
        if c.state == State::Running {
            self.mark_stopped_by_user(c);
        }
        self.signal(c, signal)?;
        if signal == libc::SIGKILL {
            self.thaw_if_paused(c);
        }
        self.event(c, "kill");
        Ok(())
    }

    /// Send `signal` to a running container.
    fn signal(&self, c: &Container, signal: i32) -> Result<()> {
        if c.state != State::Running {
            return Err(RunError::FailedPrecondition(format!(
                "container {} is not running",
                c.name
            )));
        }
        match self.runtime_for(c)?.kill(&c.id, signal) {
            Ok(()) => Ok(()),
            // The runtime lost track: signal the process directly.
            Err(e) => match c.pid.filter(|_| alive(c.pid, c.pid_start)) {
                Some(pid) => {
                    // SAFETY: kill(2) with a pid and a signal number has no memory effects.
                    let r = unsafe { libc::kill(pid as i32, signal) };
                    if r == 0 {
                        Ok(())
                    } else {
                        Err(e)
                    }
                }
                None => Ok(()),
            },
        }
    }

    /// Stop: the stop signal (`--stop-signal`, the image's, else SIGTERM), then `SIGKILL` after
    /// `timeout` (with a warning, as Podman, unless `timeout` is zero); returns once the exit is recorded, with the record, or `None` when the
    /// container is gone: a `--rm` container's monitor removes it as it ends, and this waits
    /// for that (so that nothing else removes it at the same time).
    pub fn stop(&self, c: &Container, timeout: Duration) -> Result<Option<Container>> {
        let c = self.refresh(c.clone())?;
        // Also between an exit and the restart its policy makes: none follows, and one
        // already under way is waited for, then stopped.
        self.mark_stopped_by_user(&c);
        let c = self.settle_restart(c)?;
        if c.state == State::Initialized {
            return self.stop_initialized(&c).map(Some);
        }
        if c.state != State::Running {
            return Ok(Some(c));
        }
        self.terminate(&c, timeout)?;
        // The monitor records the exit (and removes a `--rm` container); if it is gone,
        // record the exit here. `c` names the monitor: an exit record clears it.
        let monitor_alive = || alive(c.monitor_pid, c.monitor_start);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let now = match self.records.get(&c.id) {
                Ok(now) => now,
                Err(RunError::NoSuchContainer(_)) if c.auto_remove => return Ok(None),
                Err(e) => return Err(e),
            };
            let removal_due = c.auto_remove && monitor_alive();
            if now.state != State::Running && !removal_due {
                return Ok(Some(now));
            }
            if !monitor_alive() || Instant::now() > deadline {
                if now.state == State::Running {
                    self.release(&now);
                    self.records.set_exited(&now.id, None, None)?;
                    self.died_event(&now, None);
                }
                return self.records.get(&c.id).map(Some);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `--health-on-failure=restart` from the monitor: end the running `c` as `stop` does,
    /// without counting as the user's stop (the monitor starts it again).
    pub(super) fn stop_for_restart(&self, c: &Container, timeout: Duration) -> Result<()> {
        self.terminate(c, timeout)
    }

    /// The stop signal, then SIGKILL after `timeout`; returns once the process is gone.
    fn terminate(&self, c: &Container, timeout: Duration) -> Result<()> {
        let signal = c.options.stop_signal.unwrap_or(libc::SIGTERM);
        let _ = self.signal(c, signal);
        // A paused container gets the signal when thawed (Podman's stop does the same).
        self.thaw_if_paused(c);
        self.event(c, "stop");
        if !self.wait_dead(c, timeout) {
            if !timeout.is_zero() {
                // Podman's warning, word for word.
                tracing::warn!(
                    target: "berth_run::engine",
                    "StopSignal {} failed to stop container {} in {} seconds, resorting to SIGKILL",
                    crate::signals::signal_name(signal),
                    c.name,
                    timeout.as_secs()
                );
            }
            let _ = self.signal(c, libc::SIGKILL);
            if !self.wait_dead(c, Duration::from_secs(10)) {
                return Err(RunError::FailedPrecondition(format!(
                    "container {} did not exit after SIGKILL",
                    c.name
                )));
            }
        }
        Ok(())
    }

    fn wait_dead(&self, c: &Container, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if !alive(c.pid, c.pid_start) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Wait until the container is not running; returns its exit code (`None`: unknown).
    pub fn wait(&self, c: &Container) -> Result<Option<i32>> {
        loop {
            let now = self.refresh(self.records.get(&c.id)?)?;
            match now.state {
                State::Running => std::thread::sleep(Duration::from_millis(50)),
                State::Exited => return Ok(now.exit_code),
                State::Created | State::Initialized => return Ok(now.exit_code),
            }
        }
    }
}
