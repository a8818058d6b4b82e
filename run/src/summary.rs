//! A container as `ps` lists it: Podman's STATUS text ([`status_text`]) and the record of
//! `ps --format json` ([`ContainerSummary`], Podman's field names), built from the stored
//! [`Container`] so every front end lists the same thing.

use std::collections::BTreeMap;

use chrono::Utc;
use serde::Serialize;

use crate::container::{Container, State};
use crate::stats::human_age;

/// Podman's STATUS column: `Created`, `Up 3 seconds`, `Exited (0) 2 minutes ago`.
pub fn status_text(c: &Container) -> String {
    match c.state {
        State::Created => "Created".to_string(),
        State::Running => {
            let age = human_age(c.started.or(Some(Utc::now())));
            format!("Up {}", age.trim_end_matches(" ago"))
        }
        State::Exited => {
            let code = c
                .exit_code
                .map(|c| c.to_string())
                .unwrap_or_else(|| "unknown".to_string());
            format!("Exited ({code}) {}", human_age(c.finished))
        }
    }
}

/// One entry of `ps --format json`. Fields are declared in the order `serde_json::Value`
/// prints its keys (sorted), so the struct and its `Value` print alike.
#[derive(Debug, Clone, Serialize)]
pub struct ContainerSummary {
    #[serde(rename = "AutoRemove")]
    pub auto_remove: bool,
    #[serde(rename = "Command")]
    pub command: Vec<String>,
    /// RFC 3339.
    #[serde(rename = "Created")]
    pub created: String,
    #[serde(rename = "ExitCode")]
    pub exit_code: Option<i32>,
    #[serde(rename = "Exited")]
    pub exited: bool,
    #[serde(rename = "ExitedAt")]
    pub exited_at: Option<String>,
    #[serde(rename = "Id")]
    pub id: String,
    #[serde(rename = "Image")]
    pub image: String,
    #[serde(rename = "ImageID")]
    pub image_id: String,
    #[serde(rename = "Labels")]
    pub labels: BTreeMap<String, String>,
    #[serde(rename = "Names")]
    pub names: Vec<String>,
    #[serde(rename = "Pid")]
    pub pid: u32,
    #[serde(rename = "StartedAt")]
    pub started_at: Option<String>,
    #[serde(rename = "State")]
    pub state: &'static str,
    /// [`status_text`], as of when the summary was made.
    #[serde(rename = "Status")]
    pub status: String,
}

impl ContainerSummary {
    /// The summary of `c` now.
    pub fn of(c: &Container) -> ContainerSummary {
        ContainerSummary {
            auto_remove: c.auto_remove,
            command: c.command.clone(),
            created: c.created.to_rfc3339(),
            exit_code: c.exit_code,
            exited: c.state == State::Exited,
            exited_at: c.finished.map(|t| t.to_rfc3339()),
            id: c.id.clone(),
            image: c.image_name.clone(),
            image_id: c
                .image_id
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            labels: c.labels.iter().cloned().collect(),
            names: vec![c.name.clone()],
            pid: c.pid.unwrap_or(0),
            started_at: c.started.map(|t| t.to_rfc3339()),
            state: c.state.as_str(),
            status: status_text(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_struct_prints_as_its_value_does() {
        let s = ContainerSummary {
            auto_remove: true,
            command: vec!["sleep".into(), "1".into()],
            created: "2026-01-01T00:00:00+00:00".into(),
            exit_code: Some(0),
            exited: true,
            exited_at: None,
            id: "abc".into(),
            image: "localhost/bb:1".into(),
            image_id: "sha256:ab".into(),
            labels: BTreeMap::from([("k".into(), "v".into())]),
            names: vec!["c1".into()],
            pid: 0,
            started_at: Some("2026-01-01T00:00:01+00:00".into()),
            state: "exited",
            status: "Exited (0) 2 minutes ago".into(),
        };
        let value = serde_json::to_value(&s).unwrap();
        assert_eq!(
            serde_json::to_string_pretty(&s).unwrap(),
            serde_json::to_string_pretty(&value).unwrap()
        );
        assert_eq!(value["ImageID"], "sha256:ab");
        assert_eq!(value["Names"][0], "c1");
    }
}
