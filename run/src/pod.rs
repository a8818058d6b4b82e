//! Pods (issue 17): the record ([`Pod`], the `pods` table of `berth.db`), what creating one
//! takes ([`PodOptions`]), the namespaces a pod shares ([`SharedNamespace`]) and its state as
//! Podman 4.3 computes it from its containers' ([`PodState`]).
//!
//! A pod is a row (id, unique name, created, [`PodConfig`] as JSON); its containers are the
//! ones whose options name it (`RunOptions::pod`), the infra container among them. The
//! infra container holds the network, IPC and UTS namespaces (and the published ports);
//! members join them (`engine/pod.rs`). The operations are the engine's
//! (`create_pod`, `start_pod`, …).

use std::path::Path;

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::error::{Result, RunError};
use crate::options::NetworkFlags;

/// A namespace the pod's members share with its infra container (`--share`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum SharedNamespace {
    Cgroup,
    Ipc,
    Net,
    Pid,
    Uts,
}

impl SharedNamespace {
    /// Podman's name (`--share`, `SharedNamespaces` of `pod inspect`).
    pub fn as_str(self) -> &'static str {
        match self {
            SharedNamespace::Cgroup => "cgroup",
            SharedNamespace::Ipc => "ipc",
            SharedNamespace::Net => "net",
            SharedNamespace::Pid => "pid",
            SharedNamespace::Uts => "uts",
        }
    }

    /// `--share` (comma-separated; `none` or empty: nothing); Podman 4.3's default is
    /// `ipc,net,uts` ([`SharedNamespace::DEFAULT`]).
    pub fn parse_list(value: &str) -> Result<Vec<SharedNamespace>> {
        let mut out = Vec::new();
        for word in value.split(',').map(str::trim).filter(|w| !w.is_empty()) {
            let ns = match word {
                "none" => continue,
                "cgroup" => SharedNamespace::Cgroup,
                "ipc" => SharedNamespace::Ipc,
                "net" => SharedNamespace::Net,
                "pid" => SharedNamespace::Pid,
                "uts" => SharedNamespace::Uts,
                other => {
                    return Err(RunError::Invalid(format!(
                        "invalid kernel namespace to share: {other}: options are: cgroup, ipc, \
                         net, pid or uts"
                    )))
                }
            };
            if !out.contains(&ns) {
                out.push(ns);
            }
        }
        out.sort();
        Ok(out)
    }

    /// Podman 4.3's default `--share`.
    pub const DEFAULT: [SharedNamespace; 3] = [
        SharedNamespace::Ipc,
        SharedNamespace::Net,
        SharedNamespace::Uts,
    ];
}

/// What a pod does when its last member exits (`--exit-policy`, Podman 4.3's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExitPolicy {
    /// The infra container keeps running (Podman's default).
    #[default]
    Continue,
    /// The pod is stopped: its infra container too.
    Stop,
}

impl ExitPolicy {
    /// Podman's word (`pod inspect`'s `ExitPolicy`).
    pub fn as_str(self) -> &'static str {
        match self {
            ExitPolicy::Continue => "continue",
            ExitPolicy::Stop => "stop",
        }
    }
}

impl std::str::FromStr for ExitPolicy {
    type Err = RunError;
    fn from_str(s: &str) -> Result<ExitPolicy> {
        match s {
            "continue" => Ok(ExitPolicy::Continue),
            "stop" => Ok(ExitPolicy::Stop),
            other => Err(RunError::Invalid(format!(
                "invalid pod exit policy: {other:?}"
            ))),
        }
    }
}

/// What `pod create` takes (Podman's flags); a kube player fills the same.
#[derive(Debug, Clone)]
pub struct PodOptions {
    /// `--name` (default: a random `adjective_noun`).
    pub name: Option<String>,
    /// `--hostname` (default: the pod's name).
    pub hostname: Option<String>,
    /// `--label KEY=VALUE`.
    pub labels: Vec<(String, String)>,
    /// `--infra` (default) / `--no-infra`.
    pub infra: bool,
    /// `--infra-image` (default: berth's pause image, made locally: [`crate::pod_image`]).
    pub infra_image: Option<String>,
    /// `--infra-name` (default: the pod id's first 12 characters and `-infra`).
    pub infra_name: Option<String>,
    /// `--share` (default [`SharedNamespace::DEFAULT`]).
    pub share: Vec<SharedNamespace>,
    /// The infra container's network flags: `--network`, `-p`, `--dns*`, `--add-host`, ….
    pub network: NetworkFlags,
    /// The command line that made it (`CreateCommand` of `pod inspect`).
    pub create_command: Vec<String>,
    /// `--infra-command`: the infra container's command instead of its image's entrypoint.
    pub infra_command: Option<Vec<String>>,
    /// `--exit-policy`.
    pub exit_policy: ExitPolicy,
}

impl Default for PodOptions {
    fn default() -> PodOptions {
        PodOptions {
            name: None,
            hostname: None,
            labels: Vec::new(),
            infra: true,
            infra_image: None,
            infra_name: None,
            share: SharedNamespace::DEFAULT.to_vec(),
            network: NetworkFlags::default(),
            create_command: Vec::new(),
            infra_command: None,
            exit_policy: ExitPolicy::Continue,
        }
    }
}

/// A pod's settings, stored as JSON in its row.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct PodConfig {
    /// The host name its UTS namespace has (members sharing it show it).
    pub hostname: String,
    #[serde(default)]
    pub labels: Vec<(String, String)>,
    /// The infra container's id (`None`: `--no-infra`).
    #[serde(default)]
    pub infra_id: Option<String>,
    /// The namespaces members share with the infra container.
    #[serde(default)]
    pub share: Vec<SharedNamespace>,
    #[serde(default)]
    pub create_command: Vec<String>,
    /// `--exit-policy` (records from before it: `continue`).
    #[serde(default)]
    pub exit_policy: ExitPolicy,
}

/// One pod.
#[derive(Debug, Clone)]
pub struct Pod {
    pub id: String,
    pub name: String,
    pub created: DateTime<Utc>,
    pub config: PodConfig,
}

impl Pod {
    /// The first 12 characters of the id.
    pub fn short_id(&self) -> &str {
        &self.id[..self.id.len().min(12)]
    }

    /// Whether members share `ns` (only with an infra container to hold it).
    pub fn shares(&self, ns: SharedNamespace) -> bool {
        self.config.infra_id.is_some() && self.config.share.contains(&ns)
    }
}

/// A pod's state, as Podman 4.3 shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum PodState {
    Created,
    Running,
    Degraded,
    Paused,
    Exited,
    Stopped,
    Error,
}

impl PodState {
    /// Podman's word.
    pub fn as_str(self) -> &'static str {
        match self {
            PodState::Created => "Created",
            PodState::Running => "Running",
            PodState::Degraded => "Degraded",
            PodState::Paused => "Paused",
            PodState::Exited => "Exited",
            PodState::Stopped => "Stopped",
            PodState::Error => "Error",
        }
    }

    /// Podman 4.3's rule (libpod's `createPodStatusResults`) over its containers' states
    /// (the infra container's included): all running → Running; some → Degraded; all paused
    /// → Paused; all exited → Exited; some → Stopped; else Created (also with none).
    pub fn of(states: impl IntoIterator<Item = MemberState>) -> PodState {
        let (mut n, mut running, mut paused, mut exited) = (0, 0, 0, 0);
        for s in states {
            n += 1;
            match s {
                MemberState::Running => running += 1,
                MemberState::Paused => paused += 1,
                MemberState::Exited => exited += 1,
                MemberState::Created => {}
            }
        }
        match () {
            _ if n == 0 => PodState::Created,
            _ if running == n => PodState::Running,
            _ if running > 0 => PodState::Degraded,
            _ if paused == n => PodState::Paused,
            _ if exited == n => PodState::Exited,
            _ if exited > 0 => PodState::Stopped,
            _ => PodState::Created,
        }
    }
}

/// A member container's state as the pod's state counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberState {
    Created,
    Running,
    Paused,
    Exited,
}

/// The pod table of one store.
pub struct PodRecords {
    conn: Connection,
}

fn from_row(r: &Row<'_>) -> rusqlite::Result<Pod> {
    let config: String = r.get("config")?;
    let created: String = r.get("created")?;
    Ok(Pod {
        id: r.get("id")?,
        name: r.get("name")?,
        created: DateTime::parse_from_rfc3339(&created)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default(),
        config: serde_json::from_str(&config).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(3, rusqlite::types::Type::Text, Box::new(e))
        })?,
    })
}

impl PodRecords {
    /// Open the pod table in the store database under `store_root` (made by the store's
    /// migrations).
    pub fn open(store_root: &Path) -> Result<PodRecords> {
        let conn =
            berth_image_store::db::open(&store_root.join(berth_image_store::layout::DATABASE))?;
        Ok(PodRecords { conn })
    }

    /// Insert a new pod; a taken name is Podman's error.
    pub fn insert(&self, pod: &Pod) -> Result<()> {
        let config =
            serde_json::to_string(&pod.config).map_err(|e| RunError::Spec(e.to_string()))?;
        let res = self.conn.execute(
            "INSERT INTO pods (id, name, created, config) VALUES (?1, ?2, ?3, ?4)",
            params![
                pod.id,
                pod.name,
                pod.created
                    .to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
                config
            ],
        );
        match res {
            Ok(_) => Ok(()),
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                Err(RunError::PodNameInUse(pod.name.clone()))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Replace a pod's settings.
    pub fn set_config(&self, id: &str, config: &PodConfig) -> Result<()> {
        let config = serde_json::to_string(config).map_err(|e| RunError::Spec(e.to_string()))?;
        self.conn.execute(
            "UPDATE pods SET config = ?2 WHERE id = ?1",
            params![id, config],
        )?;
        Ok(())
    }

    /// Find by full id, name, or unique id prefix.
    pub fn get(&self, name_or_id: &str) -> Result<Pod> {
        let exact = self
            .conn
            .query_row(
                "SELECT * FROM pods WHERE id = ?1 OR name = ?1",
                [name_or_id],
                from_row,
            )
            .optional()?;
        if let Some(p) = exact {
            return Ok(p);
        }
        if !name_or_id.is_empty() && name_or_id.bytes().all(|b| b.is_ascii_hexdigit()) {
            let mut st = self
                .conn
                .prepare("SELECT * FROM pods WHERE id LIKE ?1 || '%'")?;
            let found = st
                .query_map([name_or_id], from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            if found.len() == 1 {
                return Ok(found.into_iter().next().expect("one row"));
            }
            if found.len() > 1 {
                return Err(RunError::Invalid(format!(
                    "more than one result for pod ID {name_or_id}"
                )));
            }
        }
        Err(RunError::NoSuchPod(name_or_id.to_string()))
    }

    /// Every pod, newest first.
    pub fn list(&self) -> Result<Vec<Pod>> {
        let mut st = self
            .conn
            .prepare("SELECT * FROM pods ORDER BY created DESC")?;
        let rows = st
            .query_map([], from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Delete a pod's row (its containers are removed first, by the engine).
    pub fn delete(&self, id: &str) -> Result<()> {
        self.conn.execute("DELETE FROM pods WHERE id = ?1", [id])?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use MemberState::*;

    #[test]
    fn podman_state_rule() {
        assert_eq!(PodState::of([]), PodState::Created);
        assert_eq!(PodState::of([Running, Running]), PodState::Running);
        assert_eq!(PodState::of([Running, Exited]), PodState::Degraded);
        assert_eq!(PodState::of([Running, Created]), PodState::Degraded);
        assert_eq!(PodState::of([Paused, Paused]), PodState::Paused);
        assert_eq!(PodState::of([Exited, Exited]), PodState::Exited);
        assert_eq!(PodState::of([Exited, Created]), PodState::Stopped);
        assert_eq!(PodState::of([Paused, Exited]), PodState::Stopped);
        assert_eq!(PodState::of([Created, Created]), PodState::Created);
    }

    #[test]
    fn exit_policies() {
        assert_eq!("stop".parse::<ExitPolicy>().unwrap(), ExitPolicy::Stop);
        assert_eq!(
            "bogus".parse::<ExitPolicy>().unwrap_err().to_string(),
            "invalid pod exit policy: \"bogus\""
        );
        let old: PodConfig = serde_json::from_str(r#"{"hostname":"h"}"#).unwrap();
        assert_eq!(old.exit_policy, ExitPolicy::Continue);
    }

    #[test]
    fn share_list() {
        assert_eq!(
            SharedNamespace::parse_list("uts,net,ipc").unwrap(),
            SharedNamespace::DEFAULT
        );
        assert!(SharedNamespace::parse_list("none").unwrap().is_empty());
        assert!(SharedNamespace::parse_list("user")
            .unwrap_err()
            .to_string()
            .contains("user"));
    }

    #[test]
    fn records_round_trip_and_name_in_use() {
        let dir = tempfile::tempdir().unwrap();
        let r = PodRecords::open(dir.path()).unwrap();
        let pod = Pod {
            id: "ab".repeat(32),
            name: "web".into(),
            created: Utc::now(),
            config: PodConfig {
                hostname: "web".into(),
                share: SharedNamespace::DEFAULT.to_vec(),
                ..PodConfig::default()
            },
        };
        r.insert(&pod).unwrap();
        assert_eq!(r.get("web").unwrap().id, pod.id);
        assert_eq!(r.get("abab").unwrap().name, "web");
        let again = Pod {
            id: "cd".repeat(32),
            ..pod.clone()
        };
        assert_eq!(
            r.insert(&again).unwrap_err().to_string(),
            "adding pod to state: name \"web\" is in use: pod already exists"
        );
        r.delete(&pod.id).unwrap();
        assert!(matches!(r.get("web"), Err(RunError::NoSuchPod(_))));
    }
}
