//! Starting a container and supervising it until it exits: the foreground `run`/`start -a`
//! path (the CLI process supervises, the container's streams are the CLI's own, signals are
//! forwarded) and the detached path (a per-container monitor process, Podman's conmon role,
//! started by re-executing berth with the hidden `container-monitor` command in a new session;
//! it writes the container's output to `ctr.log`, records the exit code and finish time, and
//! releases the rootfs).
//!
//! The supervisor makes itself a child subreaper, so once the runtime's `create` has exited the
//! container's init process is its child and `waitpid` gives the exact exit status; [`crate::reap`]
//! does the waiting (each thread for its own pid) and reaps the orphans nobody waits for.

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Duration;

use berth_image_store::lock::{FileLock, LockMode};

use crate::console::{attach_input, pump_output, ConsoleSocket, RawMode};
use crate::logfile::LogStream;
pub(crate) use crate::reap::{become_subreaper, wait_child};

/// Copy a pipe into a log stream until every writer has closed it.
fn drain(pipe: std::os::fd::OwnedFd, mut to: LogStream) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut from = std::fs::File::from(pipe);
        let _ = std::io::copy(&mut from, &mut to);
    })
}
use crate::container::{Container, State};
use crate::engine::Engine;
use crate::error::{Result, RunError};
use crate::runtime::{ContainerStdio, OciRuntime, TtySink};

/// A running container's terminal: the output pump, and the user's terminal in raw mode.
pub(crate) struct TtySession {
    pump: std::thread::JoinHandle<()>,
    _raw: Option<RawMode>,
}

impl TtySession {
    pub(crate) fn connect(master: std::fs::File, sink: TtySink) -> Result<TtySession> {
        match sink {
            TtySink::User { interactive } => {
                let raw = interactive.then(RawMode::enter);
                let pump = pump_output(&master, Box::new(std::io::stdout()))?;
                attach_input(&master, interactive)?;
                Ok(TtySession { pump, _raw: raw })
            }
            TtySink::File(f) => Ok(TtySession {
                pump: pump_output(&master, f)?,
                _raw: None,
            }),
        }
    }

    /// Wait for the last output, then restore the user's terminal.
    pub(crate) fn finish(self) {
        let _ = self.pump.join();
    }
}

/// The pid signals are forwarded to (0: none yet).
static FORWARD_TO: AtomicI32 = AtomicI32::new(0);

/// Signals a foreground supervisor forwards to the container.
const FORWARDED: &[i32] = &[
    libc::SIGINT,
    libc::SIGTERM,
    libc::SIGHUP,
    libc::SIGQUIT,
    libc::SIGUSR1,
    libc::SIGUSR2,
];

extern "C" fn forward(sig: libc::c_int) {
    let pid = FORWARD_TO.load(Ordering::SeqCst);
    if pid > 0 {
        // SAFETY: kill(2) is async-signal-safe.
        unsafe {
            libc::kill(pid, sig);
        }
    }
}

/// Forward SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 received by this process to
/// the container once it runs (until then they are ignored).
pub fn install_signal_forwarding() {
    for &sig in FORWARDED {
        // SAFETY: installs a handler that only reads an atomic and calls kill(2).
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = forward as *const () as usize;
            sa.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
    }
}

/// Forward signals to `pid` from now on (0: stop forwarding).
pub(crate) fn forward_signals_to(pid: u32) {
    FORWARD_TO.store(pid as i32, Ordering::SeqCst);
}

/// The lock two `start`s of one container take around "is it running? start it": an
/// exclusive `flock` on `<runroot>/containers/<id>/start.lock`, held until the container
/// runs (or failed to start), so the second sees it running instead of starting it again.
pub(crate) struct StartLock {
    _lock: FileLock,
}

impl Engine<'_> {
    pub(crate) fn start_lock(&self, c: &Container) -> Result<StartLock> {
        let dir = self.bundle_dir(&c.id);
        crate::bundle::create_dir(&dir)?;
        let path = dir.join("start.lock");
        // Close-on-exec (std opens so): neither the monitor nor the container keeps the lock.
        let file = crate::bundle::private_file(&path, false)?;
        FileLock::on(file, LockMode::Exclusive)
            .map(|l| StartLock { _lock: l })
            .map_err(|e| RunError::io(&path, e))
    }
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
        self.supervise(&c, stdio, Vec::new(), Some(lock))
    }

    /// [`Engine::run_attached`], also waiting for the `drains` (threads copying the
    /// container's output) before the exit is recorded, so a waiter sees all the output.
    fn supervise(
        &self,
        c: &Container,
        stdio: ContainerStdio,
        drains: Vec<std::thread::JoinHandle<()>>,
        lock: Option<StartLock>,
    ) -> Result<Option<i32>> {
        if c.state == State::Running {
            return Err(RunError::FailedPrecondition(format!(
                "container {} is already running",
                c.name
            )));
        }
        become_subreaper();
        let rt = self.runtime_for(c)?;
        let me = std::process::id();
        self.records().set_monitor(&c.id, me)?;
        let started = self.start_process(c, &rt, stdio);
        let pid = match started {
            Ok(pid) => pid,
            Err(e) => {
                self.release(c);
                self.records()
                    .set_start_error(&c.id, &e.to_string(), i32::from(e.exit_code()))?;
                return Err(e);
            }
        };
        let (pid, tty) = pid;
        drop(lock);
        let code = wait_child(pid);
        FORWARD_TO.store(0, Ordering::SeqCst);
        if let Some(tty) = tty {
            tty.finish();
        }
        for d in drains {
            let _ = d.join();
        }
        self.finish(c, code)?;
        Ok(code)
    }

    fn start_process(
        &self,
        c: &Container,
        rt: &dyn OciRuntime,
        mut stdio: ContainerStdio,
    ) -> Result<(u32, Option<TtySession>)> {
        let rootfs = self.mount_rootfs(c)?;
        let mut spec: oci_spec::runtime::Spec =
            serde_json::from_str(&c.spec).map_err(|e| RunError::Spec(e.to_string()))?;
        crate::rootfs::prepare_mounts(&rootfs, &mut spec)?;
        // Held until the runtime's create has joined it.
        let netns = crate::netns::prepare(&mut spec, &self.bundle_dir(&c.id))?;
        let bundle = self.write_bundle(c, &spec)?;
        // A runtime state left by a crash would make create fail.
        let _ = rt.delete(&c.id, true);
        let (pid, tty) = if c.options.terminal {
            let sock_path = self
                .runroot()
                .join(format!("console-{}.sock", c.short_id()));
            let sock = ConsoleSocket::bind(&sock_path)?;
            let sink = std::mem::replace(&mut stdio.tty, TtySink::User { interactive: false });
            stdio.stdin = Stdio::null();
            stdio.stdout = Stdio::null();
            let pid = rt.create(&c.id, &bundle, stdio, Some(sock.path()))?;
            let master = match sock.receive() {
                Ok(m) => m,
                Err(e) => {
                    let _ = rt.delete(&c.id, true);
                    return Err(e);
                }
            };
            (pid, Some(TtySession::connect(master, sink)?))
        } else {
            (rt.create(&c.id, &bundle, stdio, None)?, None)
        };
        drop(netns);
        FORWARD_TO.store(pid as i32, Ordering::SeqCst);
        if let Err(e) = rt.start(&c.id) {
            // SAFETY: kill(2) on the pid the runtime just created.
            unsafe {
                libc::kill(pid as i32, libc::SIGKILL);
            }
            let _ = wait_child(pid);
            FORWARD_TO.store(0, Ordering::SeqCst);
            return Err(e);
        }
        self.records().set_running(&c.id, pid, std::process::id())?;
        Ok((pid, tty))
    }

    /// Record the exit and release the rootfs; remove the container when `--rm`.
    pub fn finish(&self, c: &Container, code: Option<i32>) -> Result<()> {
        self.release(c);
        self.records().set_exited(&c.id, code, None)?;
        if c.auto_remove {
            match self.records().get(&c.id) {
                Ok(now) => self.remove_with(&now, true, true)?,
                // Removed meanwhile (`rm -f` after its monitor had gone).
                Err(RunError::NoSuchContainer(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// The monitor's work (`berth container-monitor ID`): supervise `c` with its output
    /// going to `ctr.log`.
    pub fn monitor(&self, c: &Container) -> Result<Option<i32>> {
        let log_path = self.log_path(&c.id);
        crate::bundle::create_dir(&self.bundle_dir(&c.id))?;
        let log = crate::bundle::private_file(&log_path, true)?;
        // The container writes into pipes; threads turn its output into log records.
        let (out_stream, err_stream) = LogStream::pair(log);
        let pipe = |what: &str| {
            rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)
                .map_err(|e| RunError::io(format!("{} pipe", what), e.into()))
        };
        let (out_r, out_w) = pipe("stdout")?;
        let (err_r, err_w) = pipe("stderr")?;
        let (tty, drains) = if c.options.terminal {
            drop((out_r, err_r, err_stream));
            (TtySink::File(Box::new(out_stream)), Vec::new())
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
            // The `start` that spawned this monitor holds the start lock for it.
            None,
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
        if c.state == State::Running {
            return Err(RunError::FailedPrecondition(format!(
                "container {} is already running",
                c.name
            )));
        }
        let _lock = self.start_lock(c)?;
        if self.records().get(&c.id)?.state == State::Running {
            return Ok(());
        }
        // Before the monitor exists: the last run's `exited` must not read as this run's, and
        // the monitor's own records (monitor, running) must not be overwritten after it wrote
        // them, however late this process gets the CPU.
        self.records().set_starting(&c.id)?;
        let mut cmd = Command::new(berth_exe);
        cmd.args(global_args)
            .arg("container-monitor")
            .arg(&c.id)
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
        let mut child = cmd.spawn().map_err(|e| RunError::io(berth_exe, e))?;
        // In a session of its own, yet reaped here (try_wait), not by the orphan reaper.
        let _claim = crate::reap::Claim::new(child.id());
        loop {
            let now = self.records().get(&c.id)?;
            if matches!(now.state, State::Running | State::Exited) {
                return Ok(());
            }
            let exited = child.try_wait().map_err(|e| RunError::io(berth_exe, e))?;
            if let Some(status) = exited {
                let now = self.records().get(&c.id)?;
                if matches!(now.state, State::Running | State::Exited) {
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
