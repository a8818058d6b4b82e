//! What a build reports step by step, as data (`build --progress=json|tty`): a step started,
//! its result came from a cache, it finished (how long it took, the layer it made), besides
//! Buildah's text lines ([`crate::progress`]), which stay as they are.
//!
//! The executor sends each [`StepEvent`] to [`crate::BuildOptions::events`] when set. RUN's
//! output and the build's end (its image, or its error) are known only to whoever runs the
//! build and reads RUN's output pipe; [`StepEvent::Output`], [`StepEvent::Built`] and
//! [`StepEvent::Error`] are the same vocabulary for them, so one JSON line format covers a
//! whole build.

use std::fmt;
use std::sync::Arc;

use serde::Serialize;

/// One thing that happened in a build. Serialised as one JSON object per event, named by
/// its `event` field (`step_started`, `output`, `cached`, `step_finished`, `note`, `built`,
/// `error`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum StepEvent {
    /// A step begins: `step` of `steps` in the `stage`-th of `stages` built stages (from 1),
    /// FROM being step 1; `instruction` as the STEP line shows it.
    StepStarted {
        stage: usize,
        stages: usize,
        step: usize,
        steps: usize,
        instruction: String,
    },
    /// A line RUN printed (stdout and stderr together), during the step last started.
    Output { line: String },
    /// The step's result came from a cache (the local one, or a `--cache-from` repository).
    Cached {
        stage: usize,
        step: usize,
        /// The id the result has as an image.
        id: String,
    },
    /// The step is done.
    StepFinished {
        stage: usize,
        step: usize,
        /// Wall-clock time of the step, in seconds.
        duration: f64,
        /// The digest of the layer the step added, if it added one.
        #[serde(skip_serializing_if = "Option::is_none")]
        layer: Option<String>,
        /// The id the stage's image has after the step.
        id: String,
    },
    /// Any other line the build says (pulling a base image, the registry cache's lines).
    Note { text: String },
    /// The build's image.
    Built { id: String, names: Vec<String> },
    /// The build failed.
    Error { message: String },
}

impl StepEvent {
    /// The event as one line of JSON (no newline).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|e| {
            serde_json::json!({"event": "error", "message": e.to_string()}).to_string()
        })
    }
}

/// Where a build's events go (called from the build's threads, one event at a time each).
#[derive(Clone)]
pub struct EventSink(pub Arc<dyn Fn(&StepEvent) + Send + Sync>);

impl EventSink {
    pub fn send(&self, event: &StepEvent) {
        (self.0)(event)
    }
}

impl fmt::Debug for EventSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EventSink")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_json_objects_named_by_their_event_field() {
        let e = StepEvent::StepFinished {
            stage: 1,
            step: 3,
            duration: 0.25,
            layer: Some("sha256:ab".into()),
            id: "cd".into(),
        };
        let v: serde_json::Value = serde_json::from_str(&e.to_json()).unwrap();
        assert_eq!(v["event"], "step_finished");
        assert_eq!(v["duration"], 0.25);
        assert_eq!(v["layer"], "sha256:ab");
        let none = StepEvent::StepFinished {
            stage: 1,
            step: 1,
            duration: 0.0,
            layer: None,
            id: "cd".into(),
        };
        assert!(!none.to_json().contains("layer"), "{}", none.to_json());
        let out = StepEvent::Output {
            line: "a \"quoted\" line".into(),
        };
        assert_eq!(
            out.to_json(),
            r#"{"event":"output","line":"a \"quoted\" line"}"#
        );
    }
}
