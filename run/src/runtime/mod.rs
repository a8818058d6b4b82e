//! OCI runtimes behind one trait, fed a bundle directory (`config.json` + the mounted rootfs).
//!
//! Two kinds of backend implement [`OciRuntime`]:
//! - [`ExternalRuntime`] drives an installed OCI runtime binary (runc, crun, or a path).
//! - [`EmbeddedRuntime`] is berth's own (`--runtime embedded`, the default as root; crate
//!   `berth-oci-runtime`, youki's libcontainer): `create` and `exec` run
//!   `berth oci-runtime …` (a fresh single-threaded process clones the container), while
//!   `start`, `state`, `kill` and `delete` are called in-process.
//!
//! Both keep their state under the run root (`<runroot>/runtime/<name>`), log as JSON lines
//! into the bundle, and share the command-line driving of `create` and `exec` (`command.rs`).
//! [`resolve`] picks one from `--runtime` (rootless without a name: crun or runc, with a
//! notice, as the embedded runtime needs delegated cgroups). [`failure`] maps a runtime's
//! "cannot exec" errors to Podman's exit codes (127 not found, 126 cannot invoke).

use std::os::fd::AsFd;
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;

use crate::error::Result;

mod command;
pub mod embedded;
pub mod external;
pub mod failure;
mod resolve;

pub use embedded::{EmbeddedRuntime, EMBEDDED};
pub use external::ExternalRuntime;
pub use failure::{classify_exec_failure, exec_failure};
pub use resolve::resolve;

/// A runtime as the engine holds it: shared, and usable from the threads that supervise.
pub type Runtime = Arc<dyn OciRuntime + Send + Sync>;

/// The three standard streams handed to the container's process (or, for a container with a
/// terminal, to the runtime itself, while the terminal goes to `tty`).
pub struct ContainerStdio {
    pub stdin: Stdio,
    pub stdout: Stdio,
    pub stderr: Stdio,
    /// Where a container's terminal (`-t`) is connected.
    pub tty: TtySink,
}

/// Where a container's pseudo-terminal is connected.
pub enum TtySink {
    /// The user's terminal: output to stdout, input from stdin when `interactive`.
    User { interactive: bool },
    /// A writer (a detached container's log).
    File(Box<dyn std::io::Write + Send>),
    /// A detached container's log, and an attach socket at `socket` for a client
    /// (`attach`); `await_client`: one is expected (its output is kept for it).
    Served {
        log: Box<dyn std::io::Write + Send>,
        socket: std::path::PathBuf,
        await_client: bool,
    },
}

impl ContainerStdio {
    /// The caller's own streams; stdin only when `stdin` (else `/dev/null`).
    pub fn inherit(stdin: bool) -> ContainerStdio {
        ContainerStdio {
            stdin: if stdin {
                Stdio::inherit()
            } else {
                Stdio::null()
            },
            stdout: inherit_writable(std::io::stdout().as_fd()),
            stderr: inherit_writable(std::io::stderr().as_fd()),
            tty: TtySink::User { interactive: stdin },
        }
    }
}

/// This process's output `fd` for a container, except when it is the null device: youki's
/// libcontainer 0.7 re-opens a container's `/dev/null` stdio inside the container read-only,
/// so `run … >/dev/null` would make every write fail (`write error: Bad file descriptor`).
/// Then the container gets a pipe whose output a thread of this process discards.
fn inherit_writable(fd: std::os::fd::BorrowedFd<'_>) -> Stdio {
    if !is_null_device(fd) {
        return Stdio::inherit();
    }
    match rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC) {
        Ok((read, write)) => {
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut std::fs::File::from(read), &mut std::io::sink());
            });
            Stdio::from(write)
        }
        Err(_) => Stdio::inherit(),
    }
}

/// Whether `fd` is the null device (character device 1:3).
fn is_null_device(fd: std::os::fd::BorrowedFd<'_>) -> bool {
    rustix::fs::fstat(fd).is_ok_and(|st| {
        rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::CharacterDevice
            && rustix::fs::major(st.st_rdev) == 1
            && rustix::fs::minor(st.st_rdev) == 3
    })
}

/// What a runtime reports about a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeState {
    /// `creating`, `created`, `running` or `stopped`.
    pub status: String,
    /// The container's init pid (0 when it has none).
    pub pid: u32,
}

/// An OCI runtime: the verbs of the OCI runtime command line.
pub trait OciRuntime {
    /// Short name (`runc`, `crun`, a path).
    fn name(&self) -> &str;
    /// Create container `id` from `bundle`; its process gets `stdio` and waits for
    /// [`OciRuntime::start`]. Returns the container's init pid.
    /// With `console_socket`, the runtime sends the terminal's master end there.
    fn create(
        &self,
        id: &str,
        bundle: &Path,
        stdio: ContainerStdio,
        console_socket: Option<&Path>,
    ) -> Result<u32>;
    /// Start the created container's process.
    fn start(&self, id: &str) -> Result<()>;
    /// Start another process (`process` is an OCI `process` JSON file) in running container
    /// `id`; returns the runtime's child, which exits with the process's exit code. `log`
    /// receives the runtime's own errors (see [`exec_failure`]). With `console_socket` the
    /// process gets a terminal sent there, the runtime exits once it runs, and its pid is in
    /// `log` with the extension `pid`.
    fn exec(
        &self,
        id: &str,
        process: &Path,
        log: &Path,
        stdio: ContainerStdio,
        console_socket: Option<&Path>,
    ) -> Result<std::process::Child>;
    /// Query the runtime's view of `id`.
    fn state(&self, id: &str) -> Result<RuntimeState>;
    /// Send `signal` to the container's init process.
    fn kill(&self, id: &str, signal: i32) -> Result<()>;
    /// Forget `id` (killing it first when `force`); an unknown container is not an error.
    fn delete(&self, id: &str, force: bool) -> Result<()>;
    /// Whether the runtime mounts a `cgroup` mount read-only when its options say `ro` (runc
    /// and crun do; see `spec::cgroup` for the one that does not).
    fn cgroup_mount_read_only(&self) -> bool {
        true
    }
}

/// Start created container `id` (its init is `pid`, a child of this subreaper); when the
/// runtime cannot, kill and reap the created process, so nothing is left waiting.
pub(crate) fn start_or_kill(rt: &dyn OciRuntime, id: &str, pid: u32) -> Result<()> {
    if let Err(e) = rt.start(id) {
        // SAFETY: kill(2) on the pid the runtime just created.
        unsafe {
            libc::kill(pid as i32, libc::SIGKILL);
        }
        let _ = crate::reap::wait_child(pid);
        return Err(e);
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod fake;
