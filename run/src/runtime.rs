//! OCI runtimes behind one trait, fed a bundle directory (`config.json` + the mounted rootfs).
//!
//! [`ExternalRuntime`] drives an installed OCI runtime binary (runc, crun, or a path) with its
//! state under the run root (`<runroot>/<name>`), its own log in the bundle as JSON lines, and
//! maps the runtime's "cannot exec" errors to Podman's exit codes (127 not found, 126 cannot
//! invoke). The same type drives the embedded runtime (`--runtime embedded`, the default as
//! root; crate `berth-oci-runtime`, youki's libcontainer): `create` and `exec` run
//! `berth oci-runtime …` (a fresh single-threaded process clones the container), while
//! `start`, `state`, `kill` and `delete` are called in-process.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::error::{Result, RunError};

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
            stdout: Stdio::inherit(),
            stderr: Stdio::inherit(),
            tty: TtySink::User { interactive: stdin },
        }
    }
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
}

/// An OCI runtime binary on the host.
#[derive(Debug, Clone)]
pub struct ExternalRuntime {
    name: String,
    binary: PathBuf,
    state_root: PathBuf,
    /// berth's own runtime: `binary` is berth, run as `berth oci-runtime`.
    embedded: bool,
}

/// The name of the embedded runtime (`--runtime embedded`).
pub const EMBEDDED: &str = "embedded";

/// Directories searched for runtime binaries.
const SEARCH: &[&str] = &[
    "/usr/local/bin",
    "/usr/local/sbin",
    "/usr/bin",
    "/usr/sbin",
    "/bin",
    "/sbin",
];

/// Installed runtimes tried in order rootless, when none is named: the embedded runtime's
/// cgroup manager cannot run without delegated cgroups (this host kind has cgroup v1), while
/// crun runs without any cgroup manager and runc skips cgroups it cannot create.
const ROOTLESS_ORDER: &[&str] = &["crun", "runc"];

/// Find an executable named `name` in `$PATH` and the usual system directories.
pub fn find_binary(name: &str) -> Option<PathBuf> {
    let path_var = std::env::var("PATH").unwrap_or_default();
    path_var
        .split(':')
        .filter(|d| !d.is_empty())
        .chain(SEARCH.iter().copied())
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file())
}

impl ExternalRuntime {
    /// The runtime `spec` (`embedded`, `runc`, `crun`, or a path to a binary), keeping its
    /// state under `runroot/runtime/<name>`. `None` picks the default: as root the embedded
    /// runtime; rootless crun, else runc (with a one-line notice, as the embedded runtime
    /// needs delegated cgroups), else the embedded runtime.
    pub fn resolve(spec: Option<&str>, runroot: &Path) -> Result<ExternalRuntime> {
        let (name, binary) = match spec {
            Some(EMBEDDED) => return Ok(ExternalRuntime::embedded(runroot)),
            Some(s) if s.contains('/') => {
                let p = PathBuf::from(s);
                if !p.is_file() {
                    return Err(RunError::Invalid(format!("OCI runtime {s}: no such file")));
                }
                let name = p
                    .file_name()
                    .map(|n| n.to_string_lossy().to_string())
                    .unwrap_or_else(|| "runtime".to_string());
                (name, p)
            }
            Some(s) => {
                let p = find_binary(s).ok_or_else(|| {
                    RunError::Invalid(format!("OCI runtime {s:?} not found in $PATH"))
                })?;
                (s.to_string(), p)
            }
            None if crate::rootless::is_rootless() => {
                match ROOTLESS_ORDER
                    .iter()
                    .find_map(|n| find_binary(n).map(|p| (n.to_string(), p)))
                {
                    Some((name, p)) => {
                        static NOTICE: std::sync::Once = std::sync::Once::new();
                        NOTICE.call_once(|| {
                            eprintln!(
                                "berth: rootless without delegated cgroups: using {name} instead of the embedded runtime"
                            )
                        });
                        (name, p)
                    }
                    None => return Ok(ExternalRuntime::embedded(runroot)),
                }
            }
            None => return Ok(ExternalRuntime::embedded(runroot)),
        };
        let state_root = runroot.join("runtime").join(&name);
        Ok(ExternalRuntime {
            name,
            binary,
            state_root,
            embedded: false,
        })
    }

    /// berth's embedded runtime, its state under `runroot/runtime/embedded`.
    pub fn embedded(runroot: &Path) -> ExternalRuntime {
        ExternalRuntime {
            name: EMBEDDED.to_string(),
            // The running berth, even if its file was replaced since it started.
            binary: PathBuf::from("/proc/self/exe"),
            state_root: runroot.join("runtime").join(EMBEDDED),
            embedded: true,
        }
    }

    fn command(&self, log: Option<&Path>) -> Command {
        let mut c = Command::new(&self.binary);
        if self.embedded {
            c.arg("oci-runtime");
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

    /// The embedded runtime's in-process verbs report through here.
    fn embedded_result<T>(
        &self,
        action: &str,
        id: &str,
        r: berth_oci_runtime::Result<T>,
    ) -> Result<T> {
        r.map_err(|e| self.failure(action, id, e.0))
    }

    fn failure(&self, action: &str, id: &str, message: String) -> RunError {
        RunError::Runtime {
            runtime: self.name.clone(),
            action: action.to_string(),
            container: id.to_string(),
            message,
        }
    }

    /// Run a short verb and collect its stderr into the error on failure.
    fn simple(&self, action: &str, id: &str, args: &[&str]) -> Result<String> {
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
}

/// The last error message in a runtime's JSON log (runc and crun write `{"level":"error",
/// "msg":…}` lines), or its last line.
fn last_error(log: &Path) -> Option<String> {
    let text = fs::read_to_string(log).ok()?;
    let mut last = None;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        match serde_json::from_str::<serde_json::Value>(line) {
            Ok(v) => {
                let level = v.get("level").and_then(|l| l.as_str()).unwrap_or("");
                if matches!(level, "error" | "fatal" | "panic") {
                    if let Some(m) = v.get("msg").and_then(|m| m.as_str()) {
                        last = Some(m.to_string());
                    }
                }
            }
            Err(_) => last = Some(line.to_string()),
        }
    }
    last
}

/// After a runtime's `exec` exited non-zero: the error it logged (mapped to 126/127 when the
/// command could not be run), or `None` when the process itself ran and failed.
pub fn exec_failure(runtime: &str, id: &str, log: &Path) -> Option<RunError> {
    let msg = last_error(log)?;
    Some(
        classify_exec_failure(&msg).unwrap_or_else(|| RunError::Runtime {
            runtime: runtime.to_string(),
            action: "exec".to_string(),
            container: id.to_string(),
            message: msg,
        }),
    )
}

/// Podman's mapping of a runtime's exec failure to an error kind (and so an exit code).
pub fn classify_exec_failure(message: &str) -> Option<RunError> {
    let m = message.to_ascii_lowercase();
    let exec_related =
        m.contains("exec") || m.contains("executable") || m.contains("starting container process");
    if !exec_related {
        return None;
    }
    if m.contains("not found") || m.contains("no such file or directory") {
        Some(RunError::CommandNotFound(message.to_string()))
    } else if m.contains("permission denied")
        || m.contains("operation not permitted")
        || m.contains("is a directory")
        || m.contains("exec format error")
    {
        Some(RunError::CannotInvoke(message.to_string()))
    } else {
        None
    }
}

impl OciRuntime for ExternalRuntime {
    fn name(&self) -> &str {
        &self.name
    }

    fn create(
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

    fn start(&self, id: &str) -> Result<()> {
        if self.embedded {
            let r = berth_oci_runtime::verbs::start(&self.state_root, id);
            return self.embedded_result("start", id, r);
        }
        self.simple("start", id, &["start", id]).map(|_| ())
    }

    fn exec(
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
        if let Some(sock) = console_socket {
            crate::bundle::reset_for_runtime(&log.with_extension("pid"))?;
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

    fn state(&self, id: &str) -> Result<RuntimeState> {
        if self.embedded {
            let r = berth_oci_runtime::verbs::state(&self.state_root, id);
            let (status, pid) = self.embedded_result("state", id, r)?;
            return Ok(RuntimeState { status, pid });
        }
        let out = self.simple("state", id, &["state", id])?;
        let v: serde_json::Value = serde_json::from_str(&out)
            .map_err(|e| self.failure("state", id, format!("bad JSON: {e}")))?;
        Ok(RuntimeState {
            status: v
                .get("status")
                .and_then(|s| s.as_str())
                .unwrap_or("unknown")
                .to_string(),
            pid: v.get("pid").and_then(|p| p.as_u64()).unwrap_or(0) as u32,
        })
    }

    fn kill(&self, id: &str, signal: i32) -> Result<()> {
        if self.embedded {
            let r = berth_oci_runtime::verbs::kill(&self.state_root, id, signal);
            return self.embedded_result("kill", id, r);
        }
        self.simple("kill", id, &["kill", id, &signal.to_string()])
            .map(|_| ())
    }

    fn delete(&self, id: &str, force: bool) -> Result<()> {
        // runc and crun keep a container's state in `<root>/<id>`: without it there is
        // nothing to delete, and the runtime need not be started.
        if !self.state_root.join(id).exists() {
            return Ok(());
        }
        if self.embedded {
            let r = berth_oci_runtime::verbs::delete(&self.state_root, id, force);
            return self.embedded_result("delete", id, r);
        }
        let mut args = vec!["delete"];
        if force {
            args.push("--force");
        }
        args.push(id);
        match self.simple("delete", id, &args) {
            Ok(_) => Ok(()),
            Err(RunError::Runtime { message, .. })
                if message.contains("does not exist") || message.contains("not found") =>
            {
                Ok(())
            }
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_failures_map_to_podman_codes() {
        let nf = classify_exec_failure(
            "runc create failed: unable to start container process: exec: \"nosuch\": executable file not found in $PATH",
        );
        assert_eq!(nf.map(|e| e.exit_code()), Some(127));
        let denied = classify_exec_failure(
            "unable to start container process: exec: \"/etc\": permission denied",
        );
        assert_eq!(denied.map(|e| e.exit_code()), Some(126));
        // crun, for a directory as the command.
        let crun = classify_exec_failure("open executable: Operation not permitted");
        assert_eq!(crun.map(|e| e.exit_code()), Some(126));
        assert!(classify_exec_failure("cgroup: something else").is_none());
    }

    #[test]
    fn json_log_last_error() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("log");
        fs::write(
            &p,
            "{\"level\":\"info\",\"msg\":\"x\"}\n{\"level\":\"error\",\"msg\":\"boom\"}\n",
        )
        .unwrap();
        assert_eq!(last_error(&p).as_deref(), Some("boom"));
    }
}
