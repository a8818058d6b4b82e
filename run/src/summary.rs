//! A container as `ps` lists it: Podman 4.3's `ps --format json` record
//! ([`ContainerSummary`]: the fields and order of its `ListContainer`, then `Created` as a
//! Unix time, as its CLI prints it), with Podman's STATUS text and COMMAND column, built
//! from the stored [`Container`] ([`ContainerSummary::of`]) so every front end lists the
//! same thing.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::container::{Container, State};
use crate::stats::human_age;

/// Go's zero time as a Unix time, which Podman shows for a start or exit that never was.
const GO_ZERO_UNIX: i64 = -62_135_596_800;

/// How many characters of the command Podman's COMMAND column shows before `...`.
const COMMAND_WIDTH: usize = 17;

/// One entry of `podman ps --format json`, field for field and in its order.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerSummary {
    pub auto_remove: bool,
    pub command: Vec<String>,
    /// Podman's `CreatedAt`: the age as text (`3 minutes ago`), as of the summary.
    pub created_at: String,
    pub exited: bool,
    /// Unix time of the exit (Go's zero time when none).
    pub exited_at: i64,
    /// The exit code (0 when none is known).
    pub exit_code: i32,
    pub id: String,
    /// The name the container was created from.
    pub image: String,
    /// The image id, hex only.
    #[serde(rename = "ImageID")]
    pub image_id: String,
    pub is_infra: bool,
    /// The container's labels, null when none.
    pub labels: Option<BTreeMap<String, String>>,
    /// The container paths of the user's `-v` volumes (Podman's `UserVolumes`).
    pub mounts: Vec<String>,
    pub names: Vec<String>,
    pub namespaces: BTreeMap<String, String>,
    pub networks: Vec<String>,
    pub pid: u32,
    pub pod: String,
    pub pod_name: String,
    pub ports: Option<Vec<berth_network::ports::PortMapping>>,
    pub size: Option<Value>,
    /// Unix time of the start (Go's zero time when none).
    pub started_at: i64,
    /// `created`, `running` or `exited`.
    pub state: String,
    /// Podman's STATUS: `Created`, `Up 3 seconds ago`, `Exited (0) 2 minutes ago`
    /// (`unknown` for an exit code berth could not learn), as of the summary.
    pub status: String,
    /// Printed as a Unix time, kept whole for the front ends' own time formats.
    #[serde(with = "chrono::serde::ts_seconds")]
    pub created: DateTime<Utc>,
}

impl ContainerSummary {
    /// The summary of `c` now.
    pub fn of(c: &Container) -> ContainerSummary {
        ContainerSummary {
            auto_remove: c.auto_remove,
            command: c.command.clone(),
            created_at: human_age(Some(c.created)),
            exited: c.state == State::Exited,
            exited_at: unix_or_zero(c.finished),
            exit_code: c.exit_code.unwrap_or(0),
            id: c.id.clone(),
            image: c.image_name.clone(),
            image_id: c.image_id_hex().to_string(),
            is_infra: false,
            labels: (!c.labels.is_empty()).then(|| c.labels.iter().cloned().collect()),
            mounts: mounts(c),
            names: vec![c.name.clone()],
            namespaces: BTreeMap::new(),
            networks: c
                .options
                .network
                .requests()
                .map(|r| r.into_iter().map(|r| r.network).collect())
                .unwrap_or_default(),
            pid: c.pid.unwrap_or(0),
            pod: c.options.pod.clone().unwrap_or_default(),
            pod_name: String::new(),
            ports: (!c.options.ports.is_empty()).then(|| c.options.ports.clone()),
            size: None,
            started_at: unix_or_zero(c.started),
            state: state_name(c).to_string(),
            status: status_text(c),
            created: c.created,
        }
    }

    /// [`ContainerSummary::of`], the STATUS of a running container with a health check
    /// ending in its health, as Podman's (`Up 3 seconds ago (healthy)`).
    pub fn with_health(engine: &crate::engine::Engine<'_>, c: &Container) -> ContainerSummary {
        let mut s = ContainerSummary::of(c);
        if c.state == State::Running && c.options.healthcheck.is_some() {
            s.status = format!("{} ({})", s.status, engine.health(c).status);
        }
        s
    }

    /// Podman's COMMAND column: the command joined by spaces, cut to 17 characters and
    /// `...` when `truncate`.
    pub fn command_line(&self, truncate: bool) -> String {
        let cmd = self.command.join(" ");
        if truncate && cmd.chars().count() > COMMAND_WIDTH {
            return cmd.chars().take(COMMAND_WIDTH).collect::<String>() + "...";
        }
        cmd
    }
}

/// The state as Podman names it: `paused` for a running container whose cgroup is frozen.
pub fn state_name(c: &Container) -> &'static str {
    if c.state == State::Running && crate::freezer::is_paused(c.pid) {
        return "paused";
    }
    c.state.as_str()
}

/// Podman's STATUS (its `State()`).
pub fn status_text(c: &Container) -> String {
    match c.state {
        State::Created => "Created".to_string(),
        State::Initialized => "Initialized".to_string(),
        State::Running if crate::freezer::is_paused(c.pid) => "Paused".to_string(),
        State::Running => format!("Up {}", human_age(c.started.or(Some(Utc::now())))),
        State::Exited => {
            let code = c
                .exit_code
                .map(|c| c.to_string())
                .unwrap_or_else(|| "unknown".to_string());
            format!("Exited ({code}) {}", human_age(c.finished))
        }
    }
}

/// The container paths of the user's `-v` volumes.
fn mounts(c: &Container) -> Vec<String> {
    c.options
        .volumes
        .iter()
        .map(|v| v.destination.clone())
        .collect()
}

fn unix_or_zero(t: Option<DateTime<Utc>>) -> i64 {
    t.map_or(GO_ZERO_UNIX, |t| t.timestamp())
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;
    use crate::testutil::container;

    #[test]
    fn a_created_container_prints_podmans_fields_in_its_order() {
        let s = ContainerSummary::of(&container(State::Created));
        let text = serde_json::to_string(&s).unwrap();
        let value: Value = serde_json::from_str(&text).unwrap();
        // The top-level keys in printed order: each string followed by `:`.
        let parts: Vec<&str> = text.split('"').collect();
        let keys: Vec<&str> = parts
            .windows(2)
            .filter(|w| w[1].starts_with(':'))
            .map(|w| w[0])
            .collect();
        assert_eq!(
            keys,
            [
                "AutoRemove",
                "Command",
                "CreatedAt",
                "Exited",
                "ExitedAt",
                "ExitCode",
                "Id",
                "Image",
                "ImageID",
                "IsInfra",
                "Labels",
                "Mounts",
                "Names",
                "Namespaces",
                "Networks",
                "Pid",
                "Pod",
                "PodName",
                "Ports",
                "Size",
                "StartedAt",
                "State",
                "Status",
                "Created"
            ]
        );
        assert_eq!(value["Created"], 1_796_663_567);
        assert_eq!(value["StartedAt"], GO_ZERO_UNIX);
        assert_eq!(
            value["ImageID"],
            "abababababababababababababababababababababababababababababababab"
        );
        assert_eq!(value["Labels"], Value::Null);
        assert_eq!(value["Status"], "Created");
        assert_eq!(value["State"], "created");
        assert_eq!(s.mounts, ["/data", "/anon", "/n", "/cache"]);
    }

    #[test]
    fn the_command_is_cut_at_podmans_width() {
        let s = ContainerSummary::of(&container(State::Created));
        assert_eq!(s.command_line(true), "echo hello world ...");
        assert_eq!(s.command_line(false), "echo hello world this is long");
    }

    #[test]
    fn status_reads_as_podmans() {
        let mut c = container(State::Exited);
        c.finished = Some(Utc::now() - Duration::seconds(3 * 3600));
        assert_eq!(
            ContainerSummary::of(&c).status,
            "Exited (unknown) 3 hours ago"
        );
        c.exit_code = Some(2);
        assert_eq!(ContainerSummary::of(&c).status, "Exited (2) 3 hours ago");
        let mut c = container(State::Running);
        c.started = Some(Utc::now() - Duration::seconds(3 * 3600));
        assert_eq!(ContainerSummary::of(&c).status, "Up 3 hours ago");
    }
}
