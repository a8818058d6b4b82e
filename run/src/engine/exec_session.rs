//! `exec -it` with detach keys, as Podman 4.3: the exec session runs under a monitor process
//! of its own (`berth exec-monitor ID TAG`, in a new session, as conmon serves an exec
//! session), which holds the session's terminal and serves it on an attach socket
//! ([`crate::attach`], the machinery of `run -it`); this process attaches the user's terminal
//! to it. On the detach keys the CLI exits 0 and the session runs on in the background (its
//! output is then dropped, as Podman's); when the process exits, the monitor reports its
//! exit code to the attached CLI and goes.
//!
//! The monitor tells the CLI over a pipe (its stdout) whether the process started:
//! `running PID`, or `error CODE MESSAGE` (a runtime's failure, with Podman's exit code).

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::Stdio;

use crate::attach::{attach, AttachEnd, TtySession};
use crate::container::Container;
use crate::error::{Result, RunError};
use crate::reap::wait_child;
use crate::runtime::TtySink;
use crate::signals::forward_signals_to;

use super::exec::{ExecFiles, ExecRequest};
use super::start::monitor_command;
use super::Engine;

/// What an exec monitor tells the CLI that started it.
#[derive(Debug, PartialEq, Eq)]
enum Started {
    Running(u32),
    Failed { code: u8, message: String },
}

impl Started {
    fn line(&self) -> String {
        match self {
            Started::Running(pid) => format!("running {pid}\n"),
            Started::Failed { code, message } => {
                format!("error {code} {}\n", message.replace('\n', " "))
            }
        }
    }

    fn parse(line: &str) -> Option<Started> {
        let line = line.strip_suffix('\n')?;
        if let Some(pid) = line.strip_prefix("running ") {
            return pid.parse().ok().map(Started::Running);
        }
        let (code, message) = line.strip_prefix("error ")?.split_once(' ')?;
        Some(Started::Failed {
            code: code.parse().ok()?,
            message: message.to_string(),
        })
    }
}

/// An exec session with a terminal, served by its monitor ([`Engine::exec_served`]).
pub struct ServedExec {
    /// The exec'd process (in this pid namespace).
    pub pid: u32,
    /// Where its monitor serves the terminal.
    pub socket: PathBuf,
    monitor: std::process::Child,
    _claim: crate::reap::Claim,
}

impl ServedExec {
    /// Wait for the monitor to end (after the process exited and it told the client).
    pub fn wait_monitor(mut self) {
        let _ = self.monitor.wait();
    }
}

impl Engine<'_> {
    /// Where the monitor of exec session `tag` serves its terminal.
    fn exec_socket(&self, tag: &str) -> PathBuf {
        self.runroot().join(format!("attach-exec-{tag}.sock"))
    }

    /// `exec -it`: run `req` in `c` under an exec monitor (`berth_exe <global_args>
    /// exec-monitor …`) and attach this terminal to it, the `keys` detaching (empty: never).
    /// Returns the process's exit code, or `None` when the user detached and it runs on.
    /// Signals this process gets go to the exec'd process.
    pub fn exec_interactive(
        &self,
        c: &Container,
        req: &ExecRequest,
        berth_exe: &Path,
        global_args: &[OsString],
        keys: Vec<u8>,
    ) -> Result<Option<Option<i32>>> {
        let served = self.exec_served(c, req, berth_exe, global_args)?;
        forward_signals_to(served.pid);
        let end = attach(&served.socket, keys);
        forward_signals_to(0);
        match end? {
            AttachEnd::Detached => Ok(None),
            AttachEnd::Exited(code) => {
                // It has told the exit; it removes the session's files and goes.
                served.wait_monitor();
                Ok(Some(code))
            }
        }
    }

    /// Start `req` in `c` with a terminal under an exec monitor (`berth_exe <global_args>
    /// exec-monitor …`), which serves the terminal on an attach socket for one client
    /// ([`crate::attach::connect`]): `exec -it`'s first half, and the API's exec with `Tty`.
    pub fn exec_served(
        &self,
        c: &Container,
        req: &ExecRequest,
        berth_exe: &Path,
        global_args: &[OsString],
    ) -> Result<ServedExec> {
        let (c, files) = self.prepare_exec(c, req)?;
        let (ready_r, ready_w) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)
            .map_err(|e| RunError::io("exec monitor pipe", e.into()))?;
        let mut cmd = monitor_command(berth_exe, global_args);
        cmd.arg("exec-monitor")
            .arg(&c.id)
            .arg(&files.tag)
            .stdout(Stdio::from(ready_w));
        let spawned = cmd.spawn();
        // The pipe's write end is the monitor's alone: its end reads as EOF here.
        drop(cmd);
        let mut monitor = match spawned {
            Ok(child) => child,
            Err(e) => {
                files.remove();
                return Err(RunError::io(berth_exe, e));
            }
        };
        let claim = crate::reap::Claim::new(monitor.id());
        let mut line = String::new();
        let _ = BufReader::new(std::fs::File::from(ready_r)).read_line(&mut line);
        match Started::parse(&line) {
            Some(Started::Running(pid)) => Ok(ServedExec {
                pid,
                socket: self.exec_socket(&files.tag),
                monitor,
                _claim: claim,
            }),
            Some(Started::Failed { code, message }) => {
                let _ = monitor.wait();
                Err(RunError::Relayed { message, code })
            }
            None => {
                let status = monitor.wait().map_err(|e| RunError::io(berth_exe, e))?;
                files.remove();
                Err(RunError::ExecStart(format!(
                    "the exec monitor of {} exited with {status} before the process started",
                    c.name
                )))
            }
        }
    }

    /// The exec monitor's work (`berth exec-monitor ID TAG`): start exec session `tag` of
    /// container `id` with a terminal, tell `ready` whether it started, serve its terminal
    /// until it exits, and remove its files. Returns its exit code.
    pub fn exec_monitor(&self, id: &str, tag: &str, ready: &mut dyn Write) -> Result<Option<i32>> {
        let files = ExecFiles::new(&self.bundle_dir(id), tag);
        let started = self.records().get(id).and_then(|c| {
            let rt = self.runtime_for(&c)?;
            let (pid, master) = self.exec_with_console(&c, rt.as_ref(), &files)?;
            let sink = TtySink::Served {
                log: Box::new(std::io::sink()),
                socket: self.exec_socket(tag),
                await_client: true,
            };
            match TtySession::connect(master, sink) {
                Ok(session) => Ok((pid, session)),
                Err(e) => {
                    // SAFETY: kill(2) on the process this monitor just started.
                    unsafe { libc::kill(pid as i32, libc::SIGKILL) };
                    let _ = wait_child(pid);
                    Err(e)
                }
            }
        });
        let (pid, session) = match started {
            Ok(s) => s,
            Err(e) => {
                files.remove();
                let failed = Started::Failed {
                    code: e.exit_code(),
                    message: e.to_string(),
                };
                let _ = ready.write_all(failed.line().as_bytes());
                return Err(e);
            }
        };
        let _ = ready
            .write_all(Started::Running(pid).line().as_bytes())
            .and_then(|()| ready.flush());
        if let Ok(c) = self.records().get(id) {
            self.event(&c, "exec");
        }
        let code = wait_child(pid);
        session.finish(code);
        files.remove();
        if let Ok(c) = self.records().get(id) {
            self.exec_died_event(&c, code);
        }
        Ok(code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_monitor_lines_round_trip() {
        for s in [
            Started::Running(42),
            Started::Failed {
                code: 127,
                message: "no such file: sh".to_string(),
            },
        ] {
            assert_eq!(Started::parse(&s.line()), Some(s));
        }
        let multi = Started::Failed {
            code: 125,
            message: "a\nb".to_string(),
        };
        assert_eq!(multi.line(), "error 125 a b\n");
        assert_eq!(Started::parse(""), None);
        assert_eq!(Started::parse("running x\n"), None);
    }
}
