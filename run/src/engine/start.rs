//! Starting a container: attached (this process supervises it, see `supervise.rs`) or
//! detached (a per-container monitor process, Podman's conmon role, started by re-executing
//! berth with the hidden `container-monitor` command in a new session; it writes the
//! container's output to `ctr.log`, records the exit code and finish time, and releases the
//! rootfs). Two starts of one container take turns under its start lock.

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::container::{Container, State};
use crate::error::{Result, RunError};
use crate::logfile::LogStream;
use crate::runtime::{ContainerStdio, TtySink};

use super::start_lock::StartLock;
use super::Engine;

/// What a monitor is spawned for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MonitorMode {
    /// `start`.
    Start,
    /// A client is about to attach to its terminal.
    Attaching,
    /// `init`: hold the container between the runtime's `create` and `start`.
    Init,
    /// A restart its policy makes (its restart count kept).
    Restart,
}

/// Set in a monitor's environment by `init` (`engine/init.rs`).
pub(super) const INIT_ENV: &str = "_BERTH_MONITOR_INIT";

/// Set in a monitor's environment when a client is about to attach to its terminal.
const AWAIT_ATTACH_ENV: &str = "_BERTH_MONITOR_AWAIT_ATTACH";

/// Copy a pipe into a log stream until every writer has closed it.
fn drain(pipe: std::os::fd::OwnedFd, mut to: LogStream) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut from = std::fs::File::from(pipe);
        let _ = std::io::copy(&mut from, &mut to);
    })
}
/// `berth_exe <global_args>` as a monitor (the caller adds the hidden command): in a new
/// session with no streams, so it outlives the CLI and its terminal.
pub(crate) fn monitor_command(berth_exe: &Path, global_args: &[OsString]) -> Command {
    let mut cmd = Command::new(berth_exe);
    cmd.args(global_args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: setsid(2) is async-signal-safe; the monitor leaves the CLI's session and
    // process group, so it outlives the CLI and its terminal.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    cmd
}

impl Engine<'_> {
    /// Start `c` and supervise it in this process until it exits; returns its exit code.
    /// On a start failure the container stays `created` with the error recorded (and the
    /// caller decides about `--rm`).
    /// A concurrent start of the same container waits for this one to have started it, and
    /// then finds it running.
    pub fn run_attached(&self, c: &Container, stdio: ContainerStdio) -> Result<Option<i32>> {
        let lock = self.start_lock(c)?;
        let c = self.records().get(&c.id)?;
        if c.state == State::Initialized {
            // Its monitor holds it, and its output.
            return Err(RunError::FailedPrecondition(format!(
                "container {} is initialized: start it without --attach",
                c.name
            )));
        }
        self.event(&c, "attach");
        self.reset_restarts(&c);
        self.supervise(&c, stdio, Vec::new(), Some(lock), &|_| false)
    }

    /// One run of the monitor's container (see [`Engine::monitor`]): supervise `c` with its
    /// output going to `ctr.log`; `lock` is the start lock when this process took it.
    pub(super) fn monitor_run(
        &self,
        c: &Container,
        lock: Option<StartLock>,
        restarted: bool,
        restarting: &dyn Fn(Option<i32>) -> bool,
    ) -> Result<Option<i32>> {
        let log_path = self.log_path(&c.id);
        crate::bundle::create_dir(&self.bundle_dir(&c.id))?;
        // `--log-driver none|passthrough`: the output goes nowhere (no log file is made).
        let (out_stream, err_stream) = if c.options.log.driver.writes_file() {
            let log = crate::bundle::private_file(&log_path, true)?;
            LogStream::pair_capped(log, log_path, c.options.log.max_size)
        } else {
            let null = std::fs::OpenOptions::new()
                .write(true)
                .open("/dev/null")
                .map_err(|e| RunError::io("/dev/null", e))?;
            LogStream::pair(null)
        };
        // The container writes into pipes; threads turn its output into log records.
        let pipe = |what: &str| {
            rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)
                .map_err(|e| RunError::io(format!("{} pipe", what), e.into()))
        };
        let (out_r, out_w) = pipe("stdout")?;
        let (err_r, err_w) = pipe("stderr")?;
        let (tty, drains) = if c.options.terminal {
            drop((out_r, err_r, err_stream));
            let sink = TtySink::Served {
                log: Box::new(out_stream),
                socket: self.attach_socket(c),
                // Only the first run has a client about to attach.
                await_client: !restarted && std::env::var_os(AWAIT_ATTACH_ENV).is_some(),
            };
            (sink, Vec::new())
        } else {
            (
                TtySink::User { interactive: false },
                vec![drain(out_r, out_stream), drain(err_r, err_stream)],
            )
        };
        self.supervise(
            c,
            ContainerStdio {
                stdin: Stdio::null(),
                stdout: Stdio::from(out_w),
                stderr: Stdio::from(err_w),
                tty,
            },
            drains,
            // The first run: the `start` that spawned this monitor holds the start lock.
            lock,
            restarting,
        )
    }

    /// Start `c` detached: spawn `berth_exe <global_args> container-monitor <id>` in a new
    /// session, and return once the container runs (or report why it could not start).
    /// Under the container's start lock: when a concurrent start has started it meanwhile,
    /// there is nothing to do (as `podman start` on a running container).
    pub fn start_detached(
        &self,
        c: &Container,
        berth_exe: &Path,
        global_args: &[OsString],
    ) -> Result<()> {
        self.spawn_monitor(c, berth_exe, global_args, MonitorMode::Start)
    }

    /// Start terminal container `c` detached, its monitor keeping the output for the client
    /// about to attach to [`Engine::attach_socket`] (`run -it`, the API's attach-then-start).
    pub fn start_attaching(
        &self,
        c: &Container,
        berth_exe: &Path,
        global_args: &[OsString],
    ) -> Result<()> {
        self.spawn_monitor(c, berth_exe, global_args, MonitorMode::Attaching)
    }

    /// `restart`: stop `c` (see [`Engine::stop`]) and start it again detached. `None` when it
    /// was removed as it stopped (`--rm`): nothing to start again.
    pub fn restart(
        &self,
        c: &Container,
        timeout: std::time::Duration,
        berth_exe: &Path,
        global_args: &[OsString],
    ) -> Result<Option<Container>> {
        let Some(c) = self.stop(c, timeout)? else {
            return Ok(None);
        };
        self.start_detached(&c, berth_exe, global_args)?;
        Ok(Some(self.records().get(&c.id)?))
    }

    /// [`Engine::start_detached`]; `Attaching`: the monitor of a terminal container keeps
    /// the output for the client about to attach ([`crate::attach`]); `Init`: the monitor
    /// holds the container made in the runtime until a `start` (`engine/init.rs`).
    pub(crate) fn spawn_monitor(
        &self,
        c: &Container,
        berth_exe: &Path,
        global_args: &[OsString],
        mode: MonitorMode,
    ) -> Result<()> {
        if c.state == State::Running {
            return Err(RunError::FailedPrecondition(format!(
                "container {} is already running",
                c.name
            )));
        }
        self.start_dependencies(c, berth_exe, global_args)?;
        let _lock = self.start_lock(c)?;
        let now = self.refresh(self.records().get(&c.id)?)?;
        match (now.state, mode) {
            (State::Running, _) | (State::Initialized, MonitorMode::Init) => return Ok(()),
            (State::Initialized, _) => return self.start_initialized(&now),
            _ => {}
        }
        // A start by the user: its restarts count from here, and a stop before is forgotten.
        if mode != MonitorMode::Restart {
            self.reset_restarts(c);
        }
        // Before the monitor exists: the last run's `exited` must not read as this run's, and
        // the monitor's own records (monitor, running) must not be overwritten after it wrote
        // them, however late this process gets the CPU.
        self.records().set_starting(&c.id)?;
        let mut cmd = monitor_command(berth_exe, global_args);
        cmd.arg("container-monitor").arg(&c.id);
        cmd.env_remove(AWAIT_ATTACH_ENV).env_remove(INIT_ENV);
        match mode {
            MonitorMode::Start | MonitorMode::Restart => {}
            MonitorMode::Attaching => {
                cmd.env(AWAIT_ATTACH_ENV, "1");
            }
            MonitorMode::Init => {
                cmd.env(INIT_ENV, "1");
            }
        }
        let mut child = cmd.spawn().map_err(|e| RunError::io(berth_exe, e))?;
        // In a session of its own, yet reaped here (try_wait), not by the orphan reaper.
        let _claim = crate::reap::Claim::new(child.id());
        loop {
            let now = self.records().get(&c.id)?;
            if matches!(
                now.state,
                State::Running | State::Exited | State::Initialized
            ) {
                return Ok(());
            }
            let exited = child.try_wait().map_err(|e| RunError::io(berth_exe, e))?;
            if let Some(status) = exited {
                let now = self.records().get(&c.id)?;
                if matches!(
                    now.state,
                    State::Running | State::Exited | State::Initialized
                ) {
                    return Ok(());
                }
                let msg = now.error.clone().unwrap_or_else(|| {
                    format!(
                        "container {}: its monitor exited with {status} before it started",
                        c.name
                    )
                });
                return Err(match now.exit_code {
                    Some(127) => RunError::CommandNotFound(msg),
                    Some(126) => RunError::CannotInvoke(msg),
                    _ => RunError::FailedPrecondition(msg),
                });
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}
