//! [`EmbeddedRuntime`]: berth's own runtime (crate `berth-oci-runtime`, youki's
//! libcontainer). `create` and `exec` run `berth oci-runtime …` (a fresh single-threaded
//! process clones the container); `start`, `state`, `kill` and `delete` are called
//! in-process.

use std::path::{Path, PathBuf};

use crate::error::Result;

use super::command::RuntimeCommand;
use super::{ContainerStdio, OciRuntime, RuntimeState};

/// The name of the embedded runtime (`--runtime embedded`).
pub const EMBEDDED: &str = "embedded";

/// berth's embedded runtime.
#[derive(Debug, Clone)]
pub struct EmbeddedRuntime {
    cmd: RuntimeCommand,
}

impl EmbeddedRuntime {
    /// The embedded runtime, its state under `runroot/runtime/embedded`.
    pub fn new(runroot: &Path) -> EmbeddedRuntime {
        EmbeddedRuntime {
            cmd: RuntimeCommand {
                name: EMBEDDED.to_string(),
                // The running berth, even if its file was replaced since it started.
                binary: PathBuf::from("/proc/self/exe"),
                subcommand: Some("oci-runtime"),
                state_root: runroot.join("runtime").join(EMBEDDED),
            },
        }
    }

    /// The in-process verbs report through here.
    fn result<T>(&self, action: &str, id: &str, r: berth_oci_runtime::Result<T>) -> Result<T> {
        r.map_err(|e| self.cmd.failure(action, id, e.0))
    }
}

impl OciRuntime for EmbeddedRuntime {
    fn name(&self) -> &str {
        &self.cmd.name
    }

    fn create(
        &self,
        id: &str,
        bundle: &Path,
        stdio: ContainerStdio,
        console_socket: Option<&Path>,
    ) -> Result<u32> {
        self.cmd.create(id, bundle, stdio, console_socket)
    }

    fn start(&self, id: &str) -> Result<()> {
        let r = berth_oci_runtime::verbs::start(&self.cmd.state_root, id);
        self.result("start", id, r)
    }

    fn exec(
        &self,
        id: &str,
        process: &Path,
        log: &Path,
        stdio: ContainerStdio,
        console_socket: Option<&Path>,
    ) -> Result<std::process::Child> {
        self.cmd.exec(id, process, log, stdio, console_socket)
    }

    fn state(&self, id: &str) -> Result<RuntimeState> {
        let r = berth_oci_runtime::verbs::state(&self.cmd.state_root, id);
        let (status, pid) = self.result("state", id, r)?;
        Ok(RuntimeState { status, pid })
    }

    fn kill(&self, id: &str, signal: i32) -> Result<()> {
        let r = berth_oci_runtime::verbs::kill(&self.cmd.state_root, id, signal);
        self.result("kill", id, r)
    }

    fn delete(&self, id: &str, force: bool) -> Result<()> {
        if !self.cmd.has_state(id) {
            return Ok(());
        }
        let r = berth_oci_runtime::verbs::delete(&self.cmd.state_root, id, force);
        self.result("delete", id, r)
    }

    /// No: libcontainer 0.7 binds the v1 hierarchies read-write whatever the options say.
    fn cgroup_mount_read_only(&self) -> bool {
        false
    }
}
