//! `exec`: another process in a running container, from the container's own process spec with
//! the command, environment, user and working directory replaced; run through the runtime's
//! `exec`, with a terminal (`-t`) from a console socket.

use std::fs::{self, File};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use oci_spec::runtime::Process;

use crate::attach::TtySession;
use crate::console::ConsoleSocket;
use crate::container::{Container, State};
use crate::error::{Result, RunError};
use crate::names::new_id;
use crate::reap::{become_subreaper, wait_child};
use crate::runtime::{exec_failure, ContainerStdio, OciRuntime, TtySink};
use crate::signals::forward_signals_to;
use crate::spec::merge_env;
use crate::user::resolve_user;

use super::Engine;

/// What `exec` runs.
#[derive(Debug, Clone, Default)]
pub struct ExecRequest {
    /// Command and arguments.
    pub command: Vec<String>,
    /// `KEY=VALUE` pairs added to the container's environment.
    pub env: Vec<String>,
    /// `-u user[:group]`, resolved in the container's files.
    pub user: Option<String>,
    /// `-w`.
    pub workdir: Option<String>,
    /// `-i`.
    pub interactive: bool,
    /// `-t`.
    pub tty: bool,
    /// `--privileged`: every capability berth holds, for this process only (as Podman's
    /// `exec --privileged`: bounding, effective and permitted; none inheritable or ambient,
    /// so a non-root user gets them only in its bounding set).
    pub privileged: bool,
}

/// Refuse an exec whose working directory is missing (exit 127) or not a directory (255) in
/// the running container (`pid`'s root, its mounts included), with Podman's (crun's) words;
/// every runtime then fails alike, and the embedded one would only say `failed to unix
/// syscall`. Whatever cannot be checked from here is left to the runtime.
fn check_exec_cwd(pid: u32, cwd: &Path) -> Result<()> {
    // `/proc/PID/root` is a magic link, which pathrs' own open does not follow.
    let Ok(dir) = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC)
        .open(format!("/proc/{pid}/root"))
    else {
        return Ok(());
    };
    let root = pathrs::Root::from_fd(dir);
    let shown = cwd.display();
    let errno = match root.resolve(cwd) {
        Ok(h) => match h
            .reopen(pathrs::flags::OpenFlags::O_RDONLY | pathrs::flags::OpenFlags::O_DIRECTORY)
        {
            Ok(_) => return Ok(()),
            Err(e) => crate::error::errno_of(&e),
        },
        Err(e) => crate::error::errno_of(&e),
    };
    match errno {
        Some(libc::ENOENT) => Err(RunError::CommandNotFound(format!(
            "chdir `{shown}`: No such file or directory: OCI runtime attempted to invoke a command that was not found"
        ))),
        Some(libc::ENOTDIR) => Err(RunError::ExecStart(format!("chdir `{shown}`: Not a directory"))),
        _ => Ok(()),
    }
}

impl Engine<'_> {
    fn exec_process(&self, c: &Container, req: &ExecRequest) -> Result<Process> {
        let spec = c.spec.get()?;
        let mut process = spec
            .process()
            .clone()
            .ok_or_else(|| RunError::Spec(format!("container {} has no process", c.name)))?;
        if req.command.is_empty() {
            return Err(RunError::Invalid("exec needs a command".to_string()));
        }
        process.set_args(Some(req.command.clone()));
        let env = process.env().clone().unwrap_or_default();
        let secrets = crate::secrets::inject::env_entries(
            &crate::secrets::SecretStore::new(self.store().root()),
            &c.options.secrets,
        )?;
        process.set_env(Some(merge_env([
            env.as_slice(),
            secrets.as_slice(),
            req.env.as_slice(),
        ])));
        if let Some(w) = &req.workdir {
            if !w.starts_with('/') {
                return Err(RunError::Invalid(format!(
                    "working directory {w:?} must be an absolute path in the container"
                )));
            }
            process.set_cwd(w.into());
        }
        if let Some(u) = &req.user {
            let rootfs = self.store().snapshot(&c.snapshot)?.mountpoint;
            let resolved = resolve_user(&rootfs, u)?;
            let mut user = process.user().clone();
            user.set_uid(resolved.uid);
            user.set_gid(resolved.gid);
            user.set_additional_gids(Some(resolved.additional_gids));
            process.set_user(user);
        }
        if req.privileged {
            let all = crate::caps::all_available();
            let caps = oci_spec::runtime::LinuxCapabilitiesBuilder::default()
                .bounding(all.clone())
                .effective(all.clone())
                .permitted(all)
                .inheritable(std::collections::HashSet::new())
                .ambient(std::collections::HashSet::new())
                .build()?;
            process.set_capabilities(Some(caps));
        }
        process.set_terminal(Some(req.tty));
        if req.tty {
            // The process starts before berth gets the terminal: size it up front.
            let stdin = std::io::stdin();
            if let Ok(size) = rustix::termios::tcgetwinsize(std::os::fd::AsFd::as_fd(&stdin)) {
                let size = oci_spec::runtime::BoxBuilder::default()
                    .height(u64::from(size.ws_row))
                    .width(u64::from(size.ws_col))
                    .build()?;
                process.set_console_size(Some(size));
            }
        }
        Ok(process)
    }

    /// Check that `c` runs, and write `req`'s process into its bundle (with `c` as it is
    /// now): what every exec does before the runtime runs it.
    pub(super) fn prepare_exec(
        &self,
        c: &Container,
        req: &ExecRequest,
    ) -> Result<(Container, ExecFiles)> {
        let c = self.refresh(c.clone())?;
        if c.state != State::Running {
            return Err(RunError::StateImproper(format!(
                "can only create exec sessions on running containers ({} is {})",
                c.name,
                c.state.as_str()
            )));
        }
        if self.is_paused(&c) {
            return Err(RunError::StateImproper(format!(
                "{} is paused: cannot exec into a paused container",
                c.name
            )));
        }
        let process = self.exec_process(&c, req)?;
        if let Some(pid) = c.pid {
            check_exec_cwd(pid, process.cwd())?;
        }
        let tag: String = new_id()?.chars().take(12).collect();
        let files = ExecFiles::new(&self.bundle_dir(&c.id), &tag);
        crate::bundle::write_json(&files.process, &process)?;
        Ok((c, files))
    }

    /// Run `req` in running container `c` with this process's streams; returns its exit
    /// code (126/127 errors when it could not be invoked or found).
    pub fn exec(&self, c: &Container, req: &ExecRequest) -> Result<Option<i32>> {
        if !req.tty {
            let child = self.exec_spawn(c, req, ContainerStdio::inherit(req.interactive))?;
            forward_signals_to(child.pid());
            let code = child.wait();
            forward_signals_to(0);
            return code;
        }
        let (c, files) = self.prepare_exec(c, req)?;
        let rt = self.runtime_for(&c)?;
        self.event(&c, "exec");
        let result = self.exec_tty(&c, rt.as_ref(), req, &files);
        files.remove();
        if let Ok(code) = &result {
            self.exec_died_event(&c, *code);
        }
        result
    }

    /// Start `req` (without a terminal) in running container `c` with the given streams (the
    /// CLI's own, or the API's pipes); [`ExecChild::wait`] gives its exit code.
    pub fn exec_spawn(
        &self,
        c: &Container,
        req: &ExecRequest,
        stdio: ContainerStdio,
    ) -> Result<ExecChild> {
        let (c, files) = self.prepare_exec(c, req)?;
        let rt = self.runtime_for(&c)?;
        match rt.exec(&c.id, &files.process, &files.log, stdio, None) {
            Ok(child) => {
                self.event(&c, "exec");
                Ok(ExecChild {
                    child,
                    files,
                    runtime: rt.name().to_string(),
                    container: c.id.clone(),
                    died: super::events::container_event(&c, "exec_died"),
                })
            }
            Err(e) => {
                files.remove();
                Err(e)
            }
        }
    }

    /// `exec -t` supervised by this process: see [`Engine::exec_with_console`]; the terminal
    /// goes to the user's.
    fn exec_tty(
        &self,
        c: &Container,
        rt: &dyn OciRuntime,
        req: &ExecRequest,
        files: &ExecFiles,
    ) -> Result<Option<i32>> {
        let (pid, master) = self.exec_with_console(c, rt, files)?;
        let session = TtySession::connect(
            master,
            TtySink::User {
                interactive: req.interactive,
            },
        )?;
        forward_signals_to(pid);
        let code = wait_child(pid);
        forward_signals_to(0);
        session.finish(None);
        Ok(code)
    }

    /// The runtime starts the process of `files` detached with a terminal sent to a console
    /// socket; this process becomes a subreaper, so the exec'd process is its child. Returns
    /// the process's pid and the terminal's master.
    pub(super) fn exec_with_console(
        &self,
        c: &Container,
        rt: &dyn OciRuntime,
        files: &ExecFiles,
    ) -> Result<(u32, File)> {
        become_subreaper();
        let sock_path = self
            .runroot()
            .join(format!("console-exec-{}.sock", std::process::id()));
        let sock = ConsoleSocket::bind(&sock_path)?;
        let stdio = ContainerStdio {
            stdin: Stdio::null(),
            stdout: Stdio::null(),
            stderr: Stdio::inherit(),
            tty: TtySink::User { interactive: false },
        };
        let log = &files.log;
        let status = rt
            .exec(&c.id, &files.process, log, stdio, Some(sock.path()))?
            .wait()
            .map_err(|e| RunError::io(log, e))?;
        let pid_path = log.with_extension("pid");
        let pid = fs::read_to_string(&pid_path)
            .ok()
            .and_then(|t| t.trim().parse::<u32>().ok());
        let _ = fs::remove_file(&pid_path);
        let pid = match (status.success(), pid) {
            (true, Some(pid)) => pid,
            _ => {
                return Err(exec_failure(rt.name(), &c.id, log).unwrap_or_else(|| {
                    RunError::Runtime {
                        runtime: rt.name().to_string(),
                        action: "exec".to_string(),
                        container: c.id.clone(),
                        message: format!("exited with {status}"),
                    }
                }))
            }
        };
        Ok((pid, sock.receive()?))
    }
}

/// A running exec without a terminal ([`Engine::exec_spawn`]).
pub struct ExecChild {
    child: std::process::Child,
    files: ExecFiles,
    runtime: String,
    container: String,
    /// `exec_died`, emitted with the exit code once it is known.
    died: berth_image_store::events::Event,
}

impl ExecChild {
    /// The runtime's process (which waits for the exec'd one).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Wait for the exit code (126/127 errors when the command could not be invoked or
    /// found); the session's files are removed.
    pub fn wait(mut self) -> Result<Option<i32>> {
        let log = &self.files.log;
        let status = self.child.wait().map_err(|e| RunError::io(log, e));
        let result = match status {
            Err(e) => Err(e),
            Ok(s) if s.success() => Ok(Some(0)),
            Ok(s) => match exec_failure(&self.runtime, &self.container, log) {
                Some(err) => Err(err),
                None => Ok(s.code()),
            },
        };
        self.files.remove();
        if let Ok(code) = &result {
            berth_image_store::events::emit(self.died.with_exit_code(code.unwrap_or(-1)));
        }
        result
    }
}

/// An exec session's files in the container's bundle: its process (`exec-TAG.json`) and the
/// runtime's log (`exec-TAG.log`).
pub(super) struct ExecFiles {
    pub(super) tag: String,
    pub(super) process: PathBuf,
    pub(super) log: PathBuf,
}

impl ExecFiles {
    pub(super) fn new(bundle: &Path, tag: &str) -> ExecFiles {
        ExecFiles {
            tag: tag.to_string(),
            process: bundle.join(format!("exec-{tag}.json")),
            log: bundle.join(format!("exec-{tag}.log")),
        }
    }

    /// The exec'd process's pid file (the runtime writes it).
    pub(super) fn pid_file(&self) -> PathBuf {
        self.log.with_extension("pid")
    }

    pub(super) fn remove(&self) {
        let _ = fs::remove_file(&self.process);
        let _ = fs::remove_file(&self.log);
        let _ = fs::remove_file(self.pid_file());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_cwd_checked_in_the_process_root() {
        let me = std::process::id();
        check_exec_cwd(me, Path::new("/")).unwrap();
        let missing = check_exec_cwd(me, Path::new("/nonexistent-berth-dir")).unwrap_err();
        assert_eq!(missing.exit_code(), 127, "{missing}");
        let file = check_exec_cwd(me, Path::new("/proc/self/status")).unwrap_err();
        assert_eq!(file.exit_code(), 255, "{file}");
    }
}
