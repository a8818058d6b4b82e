//! The engine's events ([`berth_image_store::events`]): a container's, with its image and
//! labels, as Podman's.

use berth_image_store::events::{emit, Event};

use crate::container::Container;

use super::Engine;

impl Engine<'_> {
    /// Emit `status` (`create`, `start`, `died`…) for `c`.
    pub(crate) fn event(&self, c: &Container, status: &str) {
        emit(container_event(c, status));
    }

    /// Emit `died` for `c` with its exit code.
    pub(crate) fn died_event(&self, c: &Container, code: Option<i32>) {
        emit(container_event(c, "died").with_exit_code(code.unwrap_or(-1)));
    }
}

impl Engine<'_> {
    /// Emit `exec_died` for `c` with the exec'd process's exit code.
    pub(crate) fn exec_died_event(&self, c: &Container, code: Option<i32>) {
        emit(container_event(c, "exec_died").with_exit_code(code.unwrap_or(-1)));
    }
}

/// `status` for `c`, not yet emitted.
pub(super) fn container_event(c: &Container, status: &str) -> Event {
    Event::container(status, &c.id, &c.name, &c.image_name)
        .with_attributes(c.labels.iter().map(|(k, v)| (k, v)))
}
