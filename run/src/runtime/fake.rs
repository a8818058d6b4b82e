//! A recording fake runtime for unit tests: every verb is recorded; `create` spawns a real
//! shell process (a child of the test, so the supervisor's reaping works on it) and `kill`
//! signals it, so engine, supervise and exec logic runs without root, a rootfs or a runtime.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};

use crate::error::{Result, RunError};

use super::{ContainerStdio, OciRuntime, RuntimeState};

/// Streams for a fake container: none.
pub fn quiet() -> ContainerStdio {
    ContainerStdio {
        stdin: std::process::Stdio::null(),
        stdout: std::process::Stdio::null(),
        stderr: std::process::Stdio::null(),
        tty: super::TtySink::User { interactive: false },
    }
}

/// One recorded verb.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    Create {
        id: String,
        console: bool,
    },
    Start(String),
    /// `exec`, with the process file's `args` and `env` as the runtime read them.
    Exec {
        id: String,
        args: Vec<String>,
        env: Vec<String>,
        cwd: String,
    },
    State(String),
    Kill(String, i32),
    Delete {
        id: String,
        force: bool,
    },
}

/// How the fake behaves.
#[derive(Debug, Clone)]
pub struct Behaviour {
    /// The shell script `create` runs as the container's process.
    pub process: String,
    /// `start` fails with this message.
    pub fail_start: Option<String>,
    /// `kill` fails (the runtime lost track of the container) and signals nothing.
    pub fail_kill: bool,
    /// Signals the container's process ignores (`kill` records them and does nothing).
    pub ignored: Vec<i32>,
    /// The shell script `exec` runs.
    pub exec_script: String,
    /// A line `exec` writes to its log (as a runtime logs its own errors).
    pub exec_log: Option<String>,
}

impl Default for Behaviour {
    fn default() -> Self {
        Behaviour {
            process: "exec sleep 60".to_string(),
            fail_start: None,
            fail_kill: false,
            ignored: Vec::new(),
            exec_script: "exit 0".to_string(),
            exec_log: None,
        }
    }
}

#[derive(Default)]
struct Inner {
    calls: Vec<Call>,
    behaviour: Behaviour,
    pids: HashMap<String, u32>,
}

/// The fake; clones share their record.
#[derive(Clone, Default)]
pub struct FakeRuntime {
    inner: Arc<Mutex<Inner>>,
}

impl FakeRuntime {
    pub fn new(behaviour: Behaviour) -> FakeRuntime {
        let f = FakeRuntime::default();
        f.lock().behaviour = behaviour;
        f
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The verbs called so far.
    pub fn calls(&self) -> Vec<Call> {
        self.lock().calls.clone()
    }

    /// The pid `create` gave container `id`.
    pub fn pid(&self, id: &str) -> Option<u32> {
        self.lock().pids.get(id).copied()
    }

    fn record(&self, call: Call) {
        self.lock().calls.push(call);
    }

    fn failure(action: &str, id: &str, message: &str) -> RunError {
        RunError::Runtime {
            runtime: "fake".to_string(),
            action: action.to_string(),
            container: id.to_string(),
            message: message.to_string(),
        }
    }
}

impl OciRuntime for FakeRuntime {
    fn name(&self) -> &str {
        "fake"
    }

    fn create(
        &self,
        id: &str,
        _bundle: &Path,
        stdio: ContainerStdio,
        console_socket: Option<&Path>,
    ) -> Result<u32> {
        self.record(Call::Create {
            id: id.to_string(),
            console: console_socket.is_some(),
        });
        let script = self.lock().behaviour.process.clone();
        let child = Command::new("sh")
            .args(["-c", &script])
            .stdin(stdio.stdin)
            .stdout(stdio.stdout)
            .stderr(stdio.stderr)
            .spawn()
            .map_err(|e| RunError::io("sh", e))?;
        // Not waited for here: the supervisor reaps it, as a container's init.
        let pid = child.id();
        self.lock().pids.insert(id.to_string(), pid);
        Ok(pid)
    }

    fn start(&self, id: &str) -> Result<()> {
        self.record(Call::Start(id.to_string()));
        match self.lock().behaviour.fail_start.clone() {
            Some(m) => Err(Self::failure("start", id, &m)),
            None => Ok(()),
        }
    }

    fn exec(
        &self,
        id: &str,
        process: &Path,
        log: &Path,
        stdio: ContainerStdio,
        _console_socket: Option<&Path>,
    ) -> Result<std::process::Child> {
        let text = std::fs::read_to_string(process).map_err(|e| RunError::io(process, e))?;
        let p: oci_spec::runtime::Process =
            serde_json::from_str(&text).map_err(|e| RunError::Spec(e.to_string()))?;
        self.record(Call::Exec {
            id: id.to_string(),
            args: p.args().clone().unwrap_or_default(),
            env: p.env().clone().unwrap_or_default(),
            cwd: p.cwd().display().to_string(),
        });
        let (script, line) = {
            let b = &self.lock().behaviour;
            (b.exec_script.clone(), b.exec_log.clone())
        };
        if let Some(line) = line {
            std::fs::write(log, line).map_err(|e| RunError::io(log, e))?;
        }
        Command::new("sh")
            .args(["-c", &script])
            .stdin(stdio.stdin)
            .stdout(stdio.stdout)
            .stderr(stdio.stderr)
            .spawn()
            .map_err(|e| RunError::io("sh", e))
    }

    fn state(&self, id: &str) -> Result<RuntimeState> {
        self.record(Call::State(id.to_string()));
        let pid = self.pid(id).unwrap_or(0);
        let status = if crate::process::alive(Some(pid), None) {
            "running"
        } else {
            "stopped"
        };
        Ok(RuntimeState {
            status: status.to_string(),
            pid,
        })
    }

    fn kill(&self, id: &str, signal: i32) -> Result<()> {
        self.record(Call::Kill(id.to_string(), signal));
        let (fail, ignored) = {
            let b = &self.lock().behaviour;
            (b.fail_kill, b.ignored.contains(&signal))
        };
        if fail {
            return Err(Self::failure("kill", id, "container does not exist"));
        }
        if let (Some(pid), false) = (self.pid(id), ignored) {
            // SAFETY: kill(2) on the pid this fake spawned.
            unsafe {
                libc::kill(pid as i32, signal);
            }
        }
        Ok(())
    }

    fn delete(&self, id: &str, force: bool) -> Result<()> {
        self.record(Call::Delete {
            id: id.to_string(),
            force,
        });
        Ok(())
    }
}
