//! Removing a container: its runtime state, mount, snapshot, bundle and record (and with
//! `-v` its anonymous volumes); a running one only when forced.

use std::fs;
use std::time::Duration;

use berth_image_store::StoreError;

use crate::container::{Container, State};
use crate::error::{Result, RunError};

use super::Engine;

impl Engine<'_> {
    /// Remove a container: its runtime state, mount, snapshot, bundle and record. A running
    /// container is refused unless `force` (which kills it).
    pub fn remove(&self, c: &Container, force: bool) -> Result<()> {
        self.remove_with(c, force, false)
    }

    /// `container prune`: remove every container that is not running; returns their ids,
    /// in the order removed.
    pub fn prune_stopped(&self) -> Result<Vec<String>> {
        let mut removed = Vec::new();
        for c in self.list()? {
            // A pod's infra container goes with its pod (`pod rm`, `pod prune`); one shared
            // with a container not pruned stays.
            if c.state != State::Running
                && self.infra_of(&c)?.is_none()
                && self
                    .dependents(&c)?
                    .iter()
                    .all(|d| d.state != State::Running)
            {
                self.remove(&c, false)?;
                removed.push(c.id);
            }
        }
        Ok(removed)
    }

    /// [`Engine::remove`], also removing the container's anonymous volumes when `volumes`
    /// (`rm -v`, `--rm`).
    pub fn remove_with(&self, c: &Container, force: bool, volumes: bool) -> Result<()> {
        if let Some(pod) = self.infra_of(c)? {
            return Err(RunError::InfraContainer {
                id: c.id.clone(),
                pod: pod.id,
            });
        }
        self.remove_member(c, force, volumes)
    }

    /// [`Engine::remove_with`] of any container, a pod's infra container too (`pod rm`);
    /// refused while another container shares one of its namespaces.
    pub(crate) fn remove_member(&self, c: &Container, force: bool, volumes: bool) -> Result<()> {
        self.refuse_if_depended_on(c)?;
        let c = self.refresh(c.clone())?;
        // A restart under way (`--restart`) is abandoned or waited for, not raced.
        self.mark_stopped_by_user(&c);
        let c = self.settle_restart(c)?;
        if c.state == State::Running {
            if !force {
                return Err(RunError::FailedPrecondition(format!(
                    "container {} is running: stop it first, or use rm -f",
                    c.name
                )));
            }
            if self.stop(&c, Duration::ZERO)?.is_none() {
                // A `--rm` container: its monitor removed it.
                return Ok(());
            }
        }
        self.release(&c);
        match self.store.remove_snapshot(&c.snapshot) {
            Ok(()) | Err(StoreError::NotFound(_)) => {}
            Err(e) => return Err(e.into()),
        }
        let dir = self.bundle_dir(&c.id);
        match fs::remove_dir_all(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(RunError::io(&dir, e)),
        }
        self.records.delete(&c.id)?;
        self.event(&c, "remove");
        if volumes {
            self.remove_anonymous_volumes(&c.options);
        }
        Ok(())
    }
}
