//! [`ExternalRuntime`]: an installed OCI runtime binary (runc, crun, or a path), every verb a
//! run of it.

use std::path::{Path, PathBuf};

use crate::error::{Result, RunError};

use super::command::RuntimeCommand;
use super::{ContainerStdio, OciRuntime, RuntimeState};

/// An OCI runtime binary on the host.
#[derive(Debug, Clone)]
pub struct ExternalRuntime {
    cmd: RuntimeCommand,
}

impl ExternalRuntime {
    /// The binary `binary`, called `name`, its state under `runroot/runtime/<name>`.
    pub fn new(name: &str, binary: PathBuf, runroot: &Path) -> ExternalRuntime {
        ExternalRuntime {
            cmd: RuntimeCommand {
                name: name.to_string(),
                binary,
                subcommand: None,
                state_root: runroot.join("runtime").join(name),
            },
        }
    }
}

impl OciRuntime for ExternalRuntime {
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
        self.cmd.simple("start", id, &["start", id]).map(|_| ())
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
        let out = self.cmd.simple("state", id, &["state", id])?;
        let v: serde_json::Value = serde_json::from_str(&out)
            .map_err(|e| self.cmd.failure("state", id, format!("bad JSON: {e}")))?;
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
        self.cmd
            .simple("kill", id, &["kill", id, &signal.to_string()])
            .map(|_| ())
    }

    fn delete(&self, id: &str, force: bool) -> Result<()> {
        if !self.cmd.has_state(id) {
            return Ok(());
        }
        let mut args = vec!["delete"];
        if force {
            args.push("--force");
        }
        args.push(id);
        match self.cmd.simple("delete", id, &args) {
            Ok(_) => Ok(()),
            Err(RunError::Runtime { message, .. }) if super::failure::already_gone(&message) => {
                Ok(())
            }
            Err(e) => Err(e),
        }
    }
}
