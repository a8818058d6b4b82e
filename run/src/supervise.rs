//! Starting a container and supervising it until it exits: the foreground `run`/`start -a`
//! path (the CLI process supervises, the container's streams are the CLI's own, signals are
//! forwarded) and the detached path (a per-container monitor process, Podman's conmon role,
//! started by re-executing berth with the hidden `container-monitor` command in a new session;
//! it writes the container's output to `ctr.log`, records the exit code and finish time, and
//! releases the rootfs).
//!
//! The supervisor makes itself a child subreaper, so once the runtime's `create` has exited the
//! container's init process is its child and `waitpid` gives the exact exit status.

use std::ffi::OsString;
use std::fs::OpenOptions;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Duration;

use crate::console::{attach_input, pump_output, ConsoleSocket, RawMode};
use crate::logfile::LogStream;

/// Copy a pipe into a log stream until every writer has closed it.
fn drain(pipe: std::os::fd::OwnedFd, mut to: LogStream) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut from = std::fs::File::from(pipe);
        let _ = std::io::copy(&mut from, &mut to);
    })
}
use crate::container::{alive, Container, State};
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

pub(crate) fn become_subreaper() {
    // SAFETY: prctl(PR_SET_CHILD_SUBREAPER) takes integer arguments only.
    unsafe {
        libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    }
}

/// Wait for `pid` (reaping any other orphans on the way); its exit code, or 128 + signal.
pub(crate) fn wait_child(pid: u32) -> Option<i32> {
    loop {
        let mut status = 0;
        // SAFETY: waitpid writes only to `status`.
        let r = unsafe { libc::waitpid(-1, &mut status, 0) };
        if r == pid as i32 {
            if libc::WIFEXITED(status) {
                return Some(libc::WEXITSTATUS(status));
            }
            if libc::WIFSIGNALED(status) {
                return Some(128 + libc::WTERMSIG(status));
            }
            continue;
        }
        if r < 0 {
            let err = std::io::Error::last_os_error();
            if err.raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            // Not our child after all: poll until it is gone; the code is unknown.
            while alive(Some(pid), None) {
                std::thread::sleep(Duration::from_millis(20));
            }
            return None;
        }
    }
}

impl Engine<'_> {
    /// Start `c` and supervise it in this process until it exits; returns its exit code.
    /// On a start failure the container stays `created` with the error recorded (and the
    /// caller decides about `--rm`).
    pub fn run_attached(&self, c: &Container, stdio: ContainerStdio) -> Result<Option<i32>> {
        self.supervise(c, stdio, Vec::new())
    }

    /// [`Engine::run_attached`], also waiting for the `drains` (threads copying the
    /// container's output) before the exit is recorded, so a waiter sees all the output.
    fn supervise(
        &self,
        c: &Container,
        stdio: ContainerStdio,
        drains: Vec<std::thread::JoinHandle<()>>,
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
        let spec: oci_spec::runtime::Spec =
            serde_json::from_str(&c.spec).map_err(|e| RunError::Spec(e.to_string()))?;
        crate::rootfs::check_runtime_mounts(&rootfs, &spec)?;
        let bundle = self.write_bundle(c)?;
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
            let now = self.records().get(&c.id)?;
            self.remove_with(&now, true, true)?;
        }
        Ok(())
    }

    /// The monitor's work (`berth container-monitor ID`): supervise `c` with its output
    /// going to `ctr.log`.
    pub fn monitor(&self, c: &Container) -> Result<Option<i32>> {
        let log_path = self.log_path(&c.id);
        let dir = self.bundle_dir(&c.id);
        std::fs::create_dir_all(&dir).map_err(|e| RunError::io(&dir, e))?;
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(&log_path)
            .map_err(|e| RunError::io(&log_path, e))?;
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
        )
    }

    /// Start `c` detached: spawn `berth_exe <global_args> container-monitor <id>` in a new
    /// session, and return once the container runs (or report why it could not start).
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
        self.records().set_monitor(&c.id, child.id())?;
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
