//! Finding containers: by id, name or id prefix, every one, and a record made true (a
//! `running` container whose monitor and process are gone is recorded as exited).

use crate::container::{Container, State};
use crate::error::{Result, RunError};
use crate::process::alive;

use super::Engine;

impl Engine<'_> {
    /// Look a container up by id, name or id prefix, with its liveness checked.
    pub fn get(&self, name_or_id: &str) -> Result<Container> {
        let c = self.records.get(name_or_id)?;
        self.refresh(c)
    }

    /// Every container, newest first, each with its liveness checked.
    pub fn list(&self) -> Result<Vec<Container>> {
        self.records
            .list()?
            .into_iter()
            .map(|c| self.refresh(c))
            .collect()
    }

    /// `c` refreshed, with its init's pid, when it runs; otherwise `container NAME is not
    /// running` followed by `detail` (empty, or `": …"`).
    pub(crate) fn running_pid(&self, c: &Container, detail: &str) -> Result<(Container, u32)> {
        let c = self.refresh(c.clone())?;
        match (c.state, c.pid) {
            (State::Running, Some(pid)) => Ok((c, pid)),
            _ => Err(RunError::FailedPrecondition(format!(
                "container {} is not running{detail}",
                c.name
            ))),
        }
    }

    /// Make a `running` record true: when its monitor and its process are both gone, nobody
    /// will record the exit, so record it now (exit code unknown) and release the rootfs.
    pub fn refresh(&self, c: Container) -> Result<Container> {
        if c.state != State::Running
            || alive(c.monitor_pid, c.monitor_start)
            || alive(c.pid, c.pid_start)
        {
            return Ok(c);
        }
        tracing::warn!(
            target: "berth_run::engine",
            container = %c.id,
            "monitor and container died unexpectedly",
        );
        self.release(&c);
        self.records.set_exited(
            &c.id,
            None,
            Some("the container's monitor and process died unexpectedly"),
        )?;
        self.died_event(&c, None);
        self.records.get(&c.id)
    }
}
