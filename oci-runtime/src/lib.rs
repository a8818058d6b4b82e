//! berth-oci-runtime: berth's embedded OCI runtime, built on youki's `libcontainer`.
//!
//! It needs nothing installed beyond berth. Two entry points share one state directory per
//! container (`<root>/<id>`, libcontainer's layout):
//! - [`cli::main`]: a runc-compatible command line (`create`, `exec`, `start`, `state`, `kill`,
//!   `delete`), which berth runs as `berth oci-runtime …`. Creating a container or an exec'd
//!   process clones new processes, so it runs in a fresh single-threaded process, as runc does.
//! - [`verbs`]: `start`, `state`, `kill` and `delete` called in-process by the run engine, which
//!   saves one process start per verb. They are safe in a multi-threaded caller (a build runs
//!   RUN steps side by side): `start` signals the container itself, since libcontainer's
//!   `Container::start` changes the process-wide working directory.
//!
//! [`forward`]: the signal forwarding of a supervising process (the CLI's foreground commands
//! through berth-run, and `exec` here, which passes what it receives to the exec'd process).
//!
//! [`executor::ProcessExecutor`] starts the container's process and words its failures as runc
//! does (`exec: "x": executable file not found in $PATH`), so callers map them to Podman's exit
//! codes (127, 126). For `create` it is bound to its caller
//! ([`executor::ProcessExecutor::bound_to_caller`]): a container waiting for `start` ends when
//! the berth that created it dies, so a killed berth leaves no init waiting for ever; with the
//! annotation [`executor::DIE_WITH_CALLER`] (a build's RUN step) the payload itself dies with
//! that berth too.

pub mod cli;
pub mod executor;
pub mod forward;
pub mod verbs;

/// An error of the embedded runtime: one line with its causes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(pub String);

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl Error {
    /// `context: error: cause: cause…`, libcontainer's errors chained on one line.
    pub fn chain(context: &str, err: &dyn std::error::Error) -> Error {
        let mut msg = format!("{context}: {err}");
        let mut source = err.source();
        while let Some(s) = source {
            let text = s.to_string();
            if !msg.ends_with(&text) {
                msg.push_str(": ");
                msg.push_str(&text);
            }
            source = s.source();
        }
        Error(msg)
    }
}

pub type Result<T> = std::result::Result<T, Error>;
