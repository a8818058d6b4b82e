//! Driving a runtime through its command line (`<binary> [oci-runtime] --root STATE …`): the
//! verbs both backends run as a process, `create` and `exec`, and the short verbs an external
//! runtime runs the same way.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::error::{Result, RunError};

use super::failure::{classify_exec_failure, last_error};
use super::ContainerStdio;

/// One runtime binary and its state directory.
#[derive(Debug, Clone)]
pub(crate) struct RuntimeCommand {
    /// Short name (`runc`, `crun`, `embedded`, a path's file name).
    pub name: String,
    pub binary: PathBuf,
    /// An argument before the global options (`oci-runtime` for berth itself).
    pub subcommand: Option<&'static str>,
    /// `--root`: `<runroot>/runtime/<name>`.
    pub state_root: PathBuf,
}

impl RuntimeCommand {
    fn command(&self, log: Option<&Path>) -> Command {
        let mut c = Command::new(&self.binary);
        if let Some(sub) = self.subcommand {
            c.arg(sub);
        }
        c.arg("--root").arg(&self.state_root);
        if self.name == "crun" && crate::rootless::is_rootless() {
            // A plain user cannot create cgroups on cgroup v1 (and crun refuses this host's
            // hybrid layout): run without a cgroup manager, as Podman does rootless on v1.
            c.arg("--cgroup-manager=disabled");
        }
        if let Some(log) = log {
            c.arg("--log").arg(log).arg("--log-format").arg("json");
        }
        c
    }

    /// A failure of `action` on container `id`, naming this runtime.
    pub fn failure(&self, action: &str, id: &str, message: String) -> RunError {
        RunError::Runtime {
            runtime: self.name.clone(),
            action: action.to_string(),
            container: id.to_string(),
            message,
        }
    }

    /// Whether the runtime keeps a state for `id` (runc, crun and the embedded runtime keep
    /// it in `<root>/<id>`): without it there is nothing to delete.
    pub fn has_state(&self, id: &str) -> bool {
        self.state_root.join(id).exists()
    }

    /// Run a short verb and collect its stderr into the error on failure.
    pub fn simple(&self, action: &str, id: &str, args: &[&str]) -> Result<String> {
        let out = self
            .command(None)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| RunError::io(&self.binary, e))?;
        if !out.status.success() {
            let msg = String::from_utf8_lossy(&out.stderr)
                .trim()
                .replace('\n', " ");
            return Err(self.failure(action, id, msg));
        }
        Ok(String::from_utf8_lossy(&out.stdout).to_string())
    }

    /// `create`: see [`super::OciRuntime::create`].
    pub fn create(
        &self,
        id: &str,
        bundle: &Path,
        stdio: ContainerStdio,
        console_socket: Option<&Path>,
    ) -> Result<u32> {
        crate::bundle::create_dir(&self.state_root)?;
        let log = bundle.join("runtime.log");
        crate::bundle::reset_for_runtime(&log)?;
        let pid_file = bundle.join("pidfile");
        crate::bundle::reset_for_runtime(&pid_file)?;
        let mut cmd = self.command(Some(&log));
        if self.subcommand.is_some() {
            die_with_caller(&mut cmd);
        }
        cmd.arg("create");
        if let Some(sock) = console_socket {
            cmd.arg("--console-socket").arg(sock);
        }
        let status = cmd
            .arg("--bundle")
            .arg(bundle)
            .arg("--pid-file")
            .arg(&pid_file)
            .arg(id)
            .stdin(stdio.stdin)
            .stdout(stdio.stdout)
            .stderr(stdio.stderr)
            .status()
            .map_err(|e| RunError::io(&self.binary, e))?;
        if !status.success() {
            let msg = last_error(&log).unwrap_or_else(|| format!("exited with {status}"));
            return Err(
                classify_exec_failure(&msg).unwrap_or_else(|| self.failure("create", id, msg))
            );
        }
        let text = fs::read_to_string(&pid_file).map_err(|e| RunError::io(&pid_file, e))?;
        text.trim().parse::<u32>().map_err(|_| {
            self.failure(
                "create",
                id,
                format!("{}: bad pid {text:?}", pid_file.display()),
            )
        })
    }

    /// `exec`: see [`super::OciRuntime::exec`].
    pub fn exec(
        &self,
        id: &str,
        process: &Path,
        log: &Path,
        stdio: ContainerStdio,
        console_socket: Option<&Path>,
    ) -> Result<std::process::Child> {
        crate::bundle::reset_for_runtime(log)?;
        let mut cmd = self.command(Some(log));
        cmd.arg("exec").arg("--process").arg(process);
        // The exec'd process's pid, for a caller that must end it (a health check's timeout).
        crate::bundle::reset_for_runtime(&log.with_extension("pid"))?;
        if console_socket.is_none() {
            cmd.arg("--pid-file").arg(log.with_extension("pid"));
        }
        if let Some(sock) = console_socket {
            // Detached: the runtime hands over the terminal and exits once the process runs;
            // the caller (a subreaper) then waits for the process itself.
            cmd.arg("--tty")
                .arg("--detach")
                .arg("--console-socket")
                .arg(sock)
                .arg("--pid-file")
                .arg(log.with_extension("pid"));
        }
        cmd.arg(id)
            .stdin(stdio.stdin)
            .stdout(stdio.stdout)
            .stderr(stdio.stderr)
            .spawn()
            .map_err(|e| RunError::io(&self.binary, e))
    }
}

/// Make the embedded runtime's `create` die with the berth that runs it (`PR_SET_PDEATHSIG`),
/// also when berth died before the signal was armed. The container's init, once `create` has
/// returned, ends itself when berth dies before starting it (`berth_oci_runtime`'s
/// `ProcessExecutor::bound_to_caller`, which needs its parent to be berth). Found by
/// tests/integration/crash.rs: a berth build killed between spawning `create` and its
/// start left the container's init waiting for ever.
fn die_with_caller(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    let caller = std::process::id();
    // SAFETY: between fork and exec the closure calls only async-signal-safe functions
    // (prctl, getppid, _exit) and allocates nothing.
    unsafe {
        cmd.pre_exec(move || {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
            if libc::getppid() as u32 != caller {
                libc::_exit(1);
            }
            Ok(())
        });
    }
}
