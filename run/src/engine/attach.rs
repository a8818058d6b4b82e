//! `run -it` in the foreground: the container runs under its monitor (as a detached one) and
//! this process attaches the user's terminal to it ([`crate::attach`]), so the detach keys
//! can leave it running. (`attach C` to one already running: [`crate::attach_running`].)

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::attach::{attach, AttachEnd};
use crate::container::{Container, State};
use crate::error::{Result, RunError};
use crate::signals::forward_signals_to;

use super::Engine;

/// How long the monitor may take to record the exit it reported.
const RECORD_WAIT: Duration = Duration::from_secs(10);

impl Engine<'_> {
    /// Where the monitor of terminal container `c` serves its attach socket (short: a unix
    /// socket path has 107 bytes at most).
    pub fn attach_socket(&self, c: &Container) -> PathBuf {
        self.runroot().join(format!("attach-{}.sock", c.short_id()))
    }

    /// Start terminal container `c` under its monitor and attach this terminal to it, the
    /// `keys` detaching (empty: never; [`crate::detach`]). Returns its exit code, or `None`
    /// when the user detached and it runs on. Signals this process gets go to the container
    /// (after [`crate::signals::install_signal_forwarding`]).
    pub fn run_interactive(
        &self,
        c: &Container,
        berth_exe: &Path,
        global_args: &[OsString],
        keys: Vec<u8>,
    ) -> Result<Option<Option<i32>>> {
        self.start_attaching(c, berth_exe, global_args)?;
        self.event(c, "attach");
        if let Some(pid) = self.records().get(&c.id).ok().and_then(|now| now.pid) {
            forward_signals_to(pid);
        }
        let end = attach(&self.attach_socket(c), keys);
        forward_signals_to(0);
        match end? {
            AttachEnd::Detached => Ok(None),
            AttachEnd::Exited(code) => Ok(Some(self.recorded_exit(c, code)?)),
        }
    }

    /// Wait for the monitor to record `c`'s exit (or to remove it, `--rm`); its exit code,
    /// `reported` first.
    pub(crate) fn recorded_exit(
        &self,
        c: &Container,
        reported: Option<i32>,
    ) -> Result<Option<i32>> {
        let deadline = Instant::now() + RECORD_WAIT;
        loop {
            match self.records().get(&c.id) {
                Err(RunError::NoSuchContainer(_)) => return Ok(reported),
                Err(e) => return Err(e),
                Ok(now) if now.state == State::Exited && !c.auto_remove => {
                    return Ok(reported.or(now.exit_code))
                }
                Ok(now) if Instant::now() >= deadline => return Ok(reported.or(now.exit_code)),
                Ok(_) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
    }
}
