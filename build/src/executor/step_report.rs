//! What the step loop reports besides Buildah's lines: [`crate::step_events`] to
//! [`crate::BuildOptions::events`] (a step's end with its time and layer, cache hits) and the
//! other lines a build says (pulling, ONBUILD, the registry cache's), as `note` events too.

use super::Builder;
use crate::error::Result;
use crate::image::ImageState;
use crate::step_events::StepEvent;

impl Builder<'_> {
    pub(super) fn emit(&self, event: StepEvent) {
        if let Some(sink) = &self.opts.events {
            sink.send(&event);
        }
    }

    /// A line besides the STEP lines: printed, and a `note` event.
    pub(super) fn say(&mut self, line: &str) {
        (self.out)(line);
        self.emit(StepEvent::Note {
            text: line.to_string(),
        });
    }

    /// With events: `cached` if the step's result came from a cache, then `step_finished`
    /// (its time since `started`, the layer it added past `layers_before`).
    pub(super) fn step_finished(
        &self,
        index: usize,
        step: usize,
        started: std::time::Instant,
        layers_before: usize,
        image: &ImageState,
    ) -> Result<()> {
        if self.opts.events.is_none() {
            return Ok(());
        }
        let stage = self.positions.get(&index).copied().unwrap_or(1);
        let id = image.id()?;
        if self.cached {
            self.emit(StepEvent::Cached {
                stage,
                step,
                id: id.clone(),
            });
        }
        let layer = (image.layers.len() > layers_before)
            .then(|| image.layers.last().map(|l| l.digest().to_string()))
            .flatten();
        self.emit(StepEvent::StepFinished {
            stage,
            step,
            duration: started.elapsed().as_secs_f64(),
            layer,
            id,
        });
        Ok(())
    }
}
