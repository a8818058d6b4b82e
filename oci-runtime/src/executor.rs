//! Starting the container's process, with runc's wording for failures so that callers map
//! them to Podman's exit codes: "executable file not found" and "no such file or directory"
//! (127), "permission denied", "is a directory" and "exec format error" (126).

use std::ffi::CString;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use libcontainer::oci_spec::runtime::Spec;
use libcontainer::workload::{Executor, ExecutorError, ExecutorValidationError};

/// The annotation that binds a container's process to the life of its caller for good, not
/// only until `start`: with it (value `true`), the payload is started with
/// `PR_SET_PDEATHSIG(SIGKILL)` and dies with the berth that started it, so does its pid
/// namespace. A build's RUN step sets it (`berth_run::ephemeral`): no monitor watches a RUN
/// container, and a killed build left its `RUN sleep 1000` running. A container with a monitor
/// does not: it outlives its monitor, as Podman's outlives conmon.
pub const DIE_WITH_CALLER: &str = "io.berth.die-with-caller";

/// Runs `process.args` of the spec with `execvp`, after checking it can be found and run.
#[derive(Clone, Default)]
pub struct ProcessExecutor {
    /// A pidfd of the process that asked for the container (`create`'s caller): a container
    /// still waiting for `start` when that process dies ends itself ([`Self::bound_to_caller`]).
    caller: Option<i32>,
}

impl ProcessExecutor {
    /// An executor whose container, while it waits to be started, exits as soon as the
    /// process that ran `oci-runtime create` (this process's parent: berth's build or a
    /// container's monitor, the one that would start it) dies. Without it a berth killed
    /// between create and start left the container's init waiting for ever (found by
    /// tests/integration/crash.rs). Plain when the parent cannot be watched (no pidfd).
    pub fn bound_to_caller() -> ProcessExecutor {
        // SAFETY: getppid takes no arguments and cannot fail.
        let parent = unsafe { libc::getppid() };
        // SAFETY: pidfd_open takes a pid and flags; it returns a new descriptor or -1.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, parent, 0) } as i32;
        if fd < 0 {
            return ProcessExecutor::default();
        }
        // SAFETY: as above. A parent that died before the pidfd was opened left this process
        // to another parent: then the pidfd names a process that is not the caller.
        if unsafe { libc::getppid() } != parent {
            // SAFETY: `fd` is ours and not used again.
            unsafe { libc::close(fd) };
            // SAFETY: exiting is what the caller's death asks for; nothing was cloned yet.
            unsafe { libc::_exit(1) };
        }
        // A pidfd is close-on-exec: the container's payload never sees it.
        ProcessExecutor { caller: Some(fd) }
    }

    /// In the container's init, before it waits for `start`: a thread that ends the process
    /// when the caller dies. The payload's `execve` ends the thread.
    fn watch_caller(&self) {
        let Some(fd) = self.caller else { return };
        let _ = std::thread::Builder::new()
            .name("caller-watch".to_string())
            .spawn(move || {
                let mut pfd = libc::pollfd {
                    fd,
                    events: libc::POLLIN,
                    revents: 0,
                };
                loop {
                    // SAFETY: one valid pollfd, alive for the call.
                    let n = unsafe { libc::poll(&mut pfd, 1, -1) };
                    if n > 0 {
                        // SAFETY: the caller is gone and nobody will start this container;
                        // _exit ends every thread of the init (and so the pid namespace).
                        unsafe { libc::_exit(1) };
                    }
                    if n < 0
                        && std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted
                    {
                        return;
                    }
                }
            });
    }
}

impl ProcessExecutor {
    /// Just before the payload's `execve` (credentials, capabilities and seccomp are set, so
    /// nothing clears it but a set-id or file-capability binary): SIGKILL when the parent
    /// dies. The parent is then the caller: `create`'s process has exited and left the init
    /// to the nearest subreaper, the berth that ran it (`berth_run::reap::become_subreaper`).
    /// A caller already gone makes the process exit here instead.
    fn arm_parent_death(&self) {
        let Some(fd) = self.caller else { return };
        // SAFETY: prctl with integer arguments only.
        unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) };
        let mut pfd = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd, alive for the call; a zero timeout does not block.
        if unsafe { libc::poll(&mut pfd, 1, 0) } > 0 {
            // SAFETY: the caller died before the signal was armed; nothing else runs here.
            unsafe { libc::_exit(1) };
        }
    }
}

/// Whether the spec asks for [`DIE_WITH_CALLER`].
fn dies_with_caller(spec: &Spec) -> bool {
    spec.annotations()
        .as_ref()
        .and_then(|a| a.get(DIE_WITH_CALLER))
        .is_some_and(|v| v == "true")
}

fn args(spec: &Spec) -> Option<&Vec<String>> {
    spec.process()
        .as_ref()
        .and_then(|p| p.args().as_ref())
        .filter(|a| !a.is_empty())
}

fn search_path(spec: &Spec) -> String {
    spec.process()
        .as_ref()
        .and_then(|p| p.env().as_ref())
        .and_then(|env| env.iter().find_map(|e| e.strip_prefix("PATH=")))
        .unwrap_or("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
        .to_string()
}

/// Where `name` resolves: itself when it has a `/`, else the first executable regular file
/// of that name in `path`. The error is runc's message.
pub fn resolve(name: &str, path: &str) -> Result<PathBuf, String> {
    if name.contains('/') {
        let p = Path::new(name);
        return match std::fs::metadata(p) {
            Ok(m) if m.is_dir() => Err(format!("exec: {name:?}: is a directory")),
            Ok(m) if m.permissions().mode() & 0o111 == 0 => {
                Err(format!("exec: {name:?}: permission denied"))
            }
            Ok(_) => Ok(p.to_path_buf()),
            Err(_) => Err(format!(
                "exec: {name:?}: stat {name}: no such file or directory"
            )),
        };
    }
    for dir in path.split(':') {
        let dir = if dir.is_empty() { "." } else { dir };
        let candidate = Path::new(dir).join(name);
        if let Ok(m) = std::fs::metadata(&candidate) {
            if m.is_file() && m.permissions().mode() & 0o111 != 0 {
                return Ok(candidate);
            }
        }
    }
    Err(format!(
        "exec: {name:?}: executable file not found in $PATH"
    ))
}

/// runc's words for an `execve` errno.
fn describe(errno: i32) -> String {
    match errno {
        libc::ENOENT => "no such file or directory".to_string(),
        libc::EACCES => "permission denied".to_string(),
        libc::ENOEXEC => "exec format error".to_string(),
        libc::EISDIR => "is a directory".to_string(),
        _ => std::io::Error::from_raw_os_error(errno).to_string(),
    }
}

impl Executor for ProcessExecutor {
    fn validate(&self, spec: &Spec) -> Result<(), ExecutorValidationError> {
        // libcontainer calls this in the init, just before it waits for `start`.
        self.watch_caller();
        let args = args(spec).ok_or_else(|| {
            ExecutorValidationError::ArgValidationError("the process has no args".to_string())
        })?;
        resolve(&args[0], &search_path(spec))
            .map(|_| ())
            .map_err(ExecutorValidationError::ArgValidationError)
    }

    fn exec(&self, spec: &Spec) -> Result<(), ExecutorError> {
        let args = args(spec).ok_or(ExecutorError::InvalidArg)?;
        if dies_with_caller(spec) {
            self.arm_parent_death();
        }
        let cargs = args
            .iter()
            .map(|a| CString::new(a.as_bytes()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| ExecutorError::Other("an argument contains a NUL byte".to_string()))?;
        let mut argv: Vec<*const libc::c_char> = cargs.iter().map(|a| a.as_ptr()).collect();
        argv.push(std::ptr::null());
        // SAFETY: argv is a NULL-terminated array of pointers into `cargs`, alive for the
        // call; execvp only returns on failure.
        unsafe { libc::execvp(argv[0], argv.as_ptr()) };
        let errno = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
        Err(ExecutorError::Other(format!(
            "exec: {:?}: {}",
            args[0],
            describe(errno)
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_annotation_set_to_true_binds_the_payload() {
        let mut spec = Spec::default();
        assert!(!dies_with_caller(&spec));
        for (value, bound) in [("true", true), ("false", false), ("1", false)] {
            let a = [(DIE_WITH_CALLER.to_string(), value.to_string())];
            spec.set_annotations(Some(a.into_iter().collect()));
            assert_eq!(dies_with_caller(&spec), bound, "{value}");
        }
    }

    #[test]
    fn resolution_uses_runc_wording() {
        assert!(resolve("sh", "/nonexistent:/bin").is_ok());
        let nf = resolve("no-such-cmd", "/bin").unwrap_err();
        assert_eq!(
            nf,
            "exec: \"no-such-cmd\": executable file not found in $PATH"
        );
        assert!(resolve("/etc", "/bin")
            .unwrap_err()
            .ends_with("is a directory"));
        assert!(resolve("/etc/passwd", "/bin")
            .unwrap_err()
            .ends_with("permission denied"));
        assert!(resolve("/nope/x", "/bin")
            .unwrap_err()
            .ends_with("no such file or directory"));
    }
}
