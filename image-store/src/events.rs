//! The event log: one file of JSON lines that every berth process appends to (the CLI, a
//! container's monitor, the API service) and that `berth events` and the API's `/events`
//! read. Podman's `file` events backend is the model: its line shape (`ID`, `Image`, `Name`,
//! `Status`, `Time`, `Type`, `Attributes`, `ContainerExitCode`), its place under the run root
//! (`<runroot>/events/events.log`: `/run/berth/events/events.log` as root,
//! `$XDG_RUNTIME_DIR/berth/events/events.log` rootless) and its size cap
//! (containers.conf's `events_logfile_max_size`, default 1 MB, 0 for none).
//!
//! It lives in berth-image-store because that is the lowest crate every writer depends on
//! (image tags and removals here; pulls and pushes in registry; builds; containers, volumes
//! in run; networks), and because its rotation takes berth's one file lock ([`crate::lock`]).
//!
//! The library functions emit ([`emit`]), never a front end, so the API, which calls the
//! same functions as the CLI, emits the same events. Where the log is, is the front end's
//! choice: it calls [`configure`] once per process with the run root it resolved. A process
//! that configured nothing (a library's unit tests) writes no event.
//!
//! Parts: [`log`] (append: one `write` per line with `O_APPEND`, atomic per line between
//! processes; rotation under the lock), [`read`] (the lines, filtered, then followed),
//! [`filter`] (`--filter` and Docker's filters), [`time`] (Go's time formats, `--since`).

pub mod filter;
pub mod log;
pub mod read;
pub mod time;

use std::collections::BTreeMap;
use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use filter::Filters;
pub use log::EventLog;
pub use read::ReadOptions;

/// The kind of object an event is about (Podman's `Type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventType {
    /// A container.
    Container,
    /// An image.
    Image,
    /// A volume.
    Volume,
    /// A network.
    Network,
    /// A pod (issue 17: `create`, `start`, `stop`, `kill`, `pause`, `unpause`, `remove`).
    Pod,
    /// berth itself (the log's rotation).
    System,
}

impl EventType {
    /// The name, as printed and filtered on.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Container => "container",
            EventType::Image => "image",
            EventType::Volume => "volume",
            EventType::Network => "network",
            EventType::Pod => "pod",
            EventType::System => "system",
        }
    }
}

/// One event, as one line of the log (field names and order of Podman 4's `events.Event`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// A container's exit code (`died`).
    #[serde(
        rename = "ContainerExitCode",
        default,
        skip_serializing_if = "no_exit_code"
    )]
    pub exit_code: Option<i32>,
    /// The object's id (empty for volumes and a pull).
    #[serde(rename = "ID", default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    /// A container's image.
    #[serde(rename = "Image", default, skip_serializing_if = "String::is_empty")]
    pub image: String,
    /// The object's name (an image's reference, an archive's path).
    #[serde(rename = "Name", default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// What happened: `create`, `start`, `died`, `tag`…
    #[serde(rename = "Status")]
    pub status: String,
    /// When.
    #[serde(rename = "Time", with = "time::rfc3339")]
    pub time: DateTime<Utc>,
    /// The kind of object.
    #[serde(rename = "Type")]
    pub kind: EventType,
    /// A container's labels; the network of a network event (`name`, `driver`).
    #[serde(rename = "Attributes", default)]
    pub attributes: Option<BTreeMap<String, String>>,
}

/// Podman's `omitempty`: an exit code of 0 is not written.
fn no_exit_code(code: &Option<i32>) -> bool {
    matches!(code, None | Some(0))
}

impl Event {
    /// An event of `kind` now.
    fn new(kind: EventType, status: &str, id: &str, name: &str) -> Event {
        Event {
            exit_code: None,
            id: id.to_string(),
            image: String::new(),
            name: name.to_string(),
            status: status.to_string(),
            time: Utc::now(),
            kind,
            attributes: None,
        }
    }

    /// A container event: `status` of container `id` named `name`, made from `image`.
    pub fn container(status: &str, id: &str, name: &str, image: &str) -> Event {
        let mut e = Event::new(EventType::Container, status, id, name);
        e.image = image.to_string();
        e.attributes = Some(BTreeMap::new());
        e
    }

    /// An image event: `status` of image `id` (may be empty) under `name`.
    pub fn image(status: &str, id: &str, name: &str) -> Event {
        Event::new(EventType::Image, status, id, name)
    }

    /// A pod event: `status` of pod `id` named `name`.
    pub fn pod(status: &str, id: &str, name: &str) -> Event {
        Event::new(EventType::Pod, status, id, name)
    }

    /// A volume event.
    pub fn volume(status: &str, name: &str) -> Event {
        Event::new(EventType::Volume, status, "", name)
    }

    /// A network event: `status` of network `id` named `name`.
    pub fn network(status: &str, id: &str, name: &str) -> Event {
        Event::new(EventType::Network, status, id, name)
    }

    /// With these attributes (a container's labels) added.
    pub fn with_attributes<'a>(
        mut self,
        attrs: impl IntoIterator<Item = (&'a String, &'a String)>,
    ) -> Event {
        let map = self.attributes.get_or_insert_with(BTreeMap::new);
        for (k, v) in attrs {
            map.insert(k.clone(), v.clone());
        }
        self
    }

    /// With a container's exit code.
    pub fn with_exit_code(mut self, code: i32) -> Event {
        self.exit_code = Some(code);
        self
    }

    /// The line Podman 4.3's `podman events` prints for it.
    pub fn to_human(&self) -> String {
        let t = time::go_string(&self.time);
        let (kind, status, id) = (self.kind.as_str(), &self.status, &self.id);
        match self.kind {
            EventType::Container => {
                let mut s = format!(
                    "{t} {kind} {status} {id} (image={}, name={}",
                    self.image, self.name
                );
                for (k, v) in self.attributes.iter().flatten() {
                    s.push_str(&format!(", {k}={v}"));
                }
                s.push(')');
                s
            }
            // Podman 4.3 prints a pod as a container, with no image.
            EventType::Pod => format!("{t} {kind} {status} {id} (image=, name={})", self.name),
            EventType::Image => format!("{t} {kind} {status} {id} {}", self.name),
            EventType::Network => format!("{t} {kind} {status} {id} (name={})", self.name),
            EventType::Volume => format!("{t} {kind} {status} {}", self.name),
            EventType::System if self.name.is_empty() => format!("{t} {kind} {status}"),
            EventType::System => format!("{t} {kind} {status} {}", self.name),
        }
    }
}

static LOG: OnceLock<Option<EventLog>> = OnceLock::new();
type MakeLog = Box<dyn Fn() -> Option<EventLog> + Send + Sync>;
static MAKE_LOG: OnceLock<MakeLog> = OnceLock::new();

/// Where this process's events go: `make` is called at the first event (so a command that
/// emits none reads no configuration); `None` from it writes no event. The first call wins.
pub fn configure(make: impl Fn() -> Option<EventLog> + Send + Sync + 'static) {
    let _ = MAKE_LOG.set(Box::new(make));
}

/// The log [`configure`] chose, if any.
pub fn configured() -> Option<&'static EventLog> {
    LOG.get_or_init(|| MAKE_LOG.get().and_then(|make| make()))
        .as_ref()
}

/// Append `event` to the configured log. An event that cannot be written is a warning, never
/// the failure of the operation it reports (as Podman's).
pub fn emit(event: Event) {
    if let Some(log) = configured() {
        if let Err(e) = log.append(&event) {
            tracing::warn!("writing an event to {}: {e}", log.path().display());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_podmans() {
        let mut e = Event::container("died", "abc", "web", "localhost/bb:latest").with_exit_code(3);
        e.time = DateTime::parse_from_rfc3339("2026-12-07T16:43:33.9775877Z")
            .unwrap()
            .with_timezone(&Utc);
        let line = serde_json::to_string(&e).unwrap();
        assert_eq!(
            line,
            r#"{"ContainerExitCode":3,"ID":"abc","Image":"localhost/bb:latest","Name":"web","Status":"died","Time":"2026-12-07T16:43:33.9775877Z","Type":"container","Attributes":{}}"#
        );
        assert_eq!(serde_json::from_str::<Event>(&line).unwrap(), e);
        assert_eq!(
            e.to_human(),
            "2026-12-07 16:43:33.9775877 +0000 UTC container died abc (image=localhost/bb:latest, name=web)"
        );
        let mut i = Event::image("tag", "3700", "localhost/pm:latest");
        i.time = e.time;
        assert!(serde_json::to_string(&i)
            .unwrap()
            .ends_with(r#""Type":"image","Attributes":null}"#));
        assert_eq!(
            i.to_human(),
            "2026-12-07 16:43:33.9775877 +0000 UTC image tag 3700 localhost/pm:latest"
        );
    }
}
