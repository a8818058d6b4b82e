//! `attach C`: join a running container ([`Engine::attach_running`]). One with a terminal is
//! attached through its monitor's attach socket, as `run -it` is ([`crate::attach`]). One
//! without a terminal has no attach socket (its monitor closed its stdin from the start), so
//! its output is followed through its log from now on until it exits ([`crate::logs`]), as
//! Podman's attach to a non-terminal container shows it.

use crate::attach::{attach, connect, relay, AttachEnd};
use crate::console::attach_input;
use crate::container::{Container, State};
use crate::engine::Engine;
use crate::error::{Result, RunError};
use crate::logs::{LogOptions, LogOutput};
use crate::signals::forward_signals_to;

impl Engine<'_> {
    /// `attach C`: join running container `c` until it exits (its exit code) or the `keys`
    /// detach from its terminal (`None`). With `stdin` false the user's input is not sent;
    /// with `sig_proxy` the signals this process gets go to the container (after
    /// [`crate::signals::install_signal_forwarding`]). A container without a terminal has its
    /// output followed from its log into `out`.
    pub fn attach_running(
        &self,
        c: &Container,
        keys: Vec<u8>,
        stdin: bool,
        sig_proxy: bool,
        out: &mut LogOutput<'_>,
    ) -> Result<Option<Option<i32>>> {
        let c = self.get(&c.id)?;
        if c.state != State::Running {
            return Err(RunError::FailedPrecondition(
                "you can only attach to running containers".into(),
            ));
        }
        if sig_proxy {
            if let Some(pid) = c.pid {
                forward_signals_to(pid);
            }
        }
        self.event(&c, "attach");
        let end = if c.options.terminal {
            self.attach_terminal(&c, keys, stdin)
        } else {
            let follow = LogOptions {
                tail: Some(0),
                follow: true,
                ..LogOptions::default()
            };
            self.logs(&c, &follow, out)
                .map(|()| AttachEnd::Exited(None))
        };
        forward_signals_to(0);
        match end? {
            AttachEnd::Detached => Ok(None),
            AttachEnd::Exited(code) => Ok(Some(self.recorded_exit(&c, code)?)),
        }
    }

    /// Attach to the terminal `c`'s monitor serves (stdin sent unless `!stdin`).
    fn attach_terminal(&self, c: &Container, keys: Vec<u8>, stdin: bool) -> Result<AttachEnd> {
        let socket = self.attach_socket(c);
        if !socket.exists() {
            return Err(RunError::FailedPrecondition(format!(
                "container {} has a terminal but no attach socket ({}): it was not started by a berth monitor",
                c.name,
                socket.display()
            )));
        }
        if stdin {
            return attach(&socket, keys);
        }
        let conn = connect(&socket)?;
        // The window size only; the user's terminal stays as it is (Ctrl-C signals berth).
        attach_input(&conn.master, false)?;
        relay(conn, keys, false, std::io::empty(), std::io::stdout())
    }
}
