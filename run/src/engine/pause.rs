//! `pause` and `unpause` (the cgroup freezer: [`crate::freezer`]) and `rename`.

use crate::container::{Container, State};
use crate::error::{Result, RunError};
use crate::freezer::Freezer;
use crate::options::Network;

use super::Engine;

impl Engine<'_> {
    /// The freezer of running container `c`.
    fn freezer(&self, c: &Container, doing: &str) -> Result<Freezer> {
        let c = self.refresh(c.clone())?;
        match (c.state, c.pid) {
            (State::Running, Some(pid)) => Freezer::of_pid(pid),
            _ => Err(RunError::FailedPrecondition(format!(
                "\"{}\" is not running, can't {doing} it: container state improper",
                c.name
            ))),
        }
    }

    /// Whether running container `c` is paused.
    pub fn is_paused(&self, c: &Container) -> bool {
        c.state == State::Running && crate::freezer::is_paused(c.pid)
    }

    /// Freeze every process of running container `c`.
    pub fn pause(&self, c: &Container) -> Result<()> {
        let f = self.freezer(c, "pause")?;
        if f.is_frozen() {
            return Err(RunError::FailedPrecondition(format!(
                "\"{}\" is paused, can't pause it: container state improper",
                c.name
            )));
        }
        f.set(true)?;
        self.event(c, "pause");
        Ok(())
    }

    /// Thaw paused container `c`.
    pub fn unpause(&self, c: &Container) -> Result<()> {
        let f = self.freezer(c, "unpause")?;
        if !f.is_frozen() {
            return Err(RunError::FailedPrecondition(format!(
                "\"{}\" is not paused, can't unpause: container state improper",
                c.name
            )));
        }
        f.set(false)?;
        self.event(c, "unpause");
        Ok(())
    }

    /// Thaw `c` if it is paused, so that a signal just sent reaches it (stop, kill -9).
    pub(crate) fn thaw_if_paused(&self, c: &Container) {
        if let Some(f) = c.pid.and_then(|p| Freezer::of_pid(p).ok()) {
            if f.is_frozen() {
                let _ = f.set(false);
            }
        }
    }

    /// Rename `c` to `name`: Podman's name rules, and on a bridge network also a DNS
    /// label's length (the name is its DNS name there); a name in use is refused.
    pub fn rename(&self, c: &Container, name: &str) -> Result<Container> {
        crate::names::check_name(name)?;
        if matches!(c.options.network, Network::Bridge(_) | Network::Private) && name.len() > 63 {
            return Err(RunError::Invalid(format!(
                "invalid container name {name:?}: a container on a network is named in its DNS, \
                 where a label has at most 63 characters"
            )));
        }
        if name == c.name {
            return Ok(c.clone());
        }
        if !self.records().set_name(&c.id, name)? {
            let id = self.records().get(name).map(|o| o.id).unwrap_or_default();
            return Err(RunError::NameInUse {
                name: name.to_string(),
                id,
            });
        }
        let renamed = self.records().get(&c.id)?;
        self.event(&renamed, "rename");
        Ok(renamed)
    }
}
