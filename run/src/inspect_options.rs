//! The `HostConfig` fields of a container's inspect record that the daily-use run options
//! fill (issue 20), in Podman 4.3's shape: `LogConfig`, `Ulimits`, `ShmSize`, `Devices`,
//! `GroupAdd`, flattened into the inspect record's `HostConfig`; and `Config.Secrets`
//! ([`SecretInspect`]: name and id, never the data).

use serde::Serialize;

use crate::options::limits::{GroupAdd, Ulimit};
use crate::options::RunOptions;

/// Podman's default `/dev/shm` size, as its inspect shows it.
const DEFAULT_SHM_SIZE: i64 = 65_536_000;

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct HostConfigOptions {
    pub log_config: LogConfigInspect,
    pub ulimits: Vec<UlimitInspect>,
    pub shm_size: i64,
    pub devices: Vec<DeviceInspect>,
    pub group_add: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LogConfigInspect {
    #[serde(rename = "Type")]
    pub typ: String,
    pub config: Option<()>,
    pub path: String,
    pub tag: String,
    pub size: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct UlimitInspect {
    pub name: String,
    pub soft: i64,
    pub hard: i64,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeviceInspect {
    pub path_on_host: String,
    pub path_in_container: String,
    pub cgroup_permissions: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct SecretInspect {
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "UID")]
    pub uid: u32,
    #[serde(rename = "GID")]
    pub gid: u32,
    #[serde(rename = "Mode")]
    pub mode: u32,
}

impl HostConfigOptions {
    /// From a container's options; `log_path` is where its log is (or would be).
    pub fn of(opts: &RunOptions, log_path: String) -> HostConfigOptions {
        let log = &opts.log;
        HostConfigOptions {
            log_config: LogConfigInspect {
                typ: log.driver.name().to_string(),
                config: None,
                path: if log.driver.writes_file() {
                    log_path
                } else {
                    String::new()
                },
                tag: log.tag.clone().unwrap_or_default(),
                size: log.size_text(),
            },
            ulimits: opts
                .ulimits
                .iter()
                .map(|u: &Ulimit| UlimitInspect {
                    name: u.rlimit_name().to_string(),
                    soft: u.soft,
                    hard: u.hard,
                })
                .collect(),
            shm_size: opts.shm_size.unwrap_or(DEFAULT_SHM_SIZE),
            devices: opts
                .devices
                .iter()
                .map(|d| DeviceInspect {
                    path_on_host: d.host.clone(),
                    path_in_container: d.container.clone(),
                    cgroup_permissions: d.permissions.clone(),
                })
                .collect(),
            group_add: match &opts.group_add {
                None => Vec::new(),
                Some(GroupAdd::KeepGroups) => vec!["keep-groups".to_string()],
                Some(GroupAdd::Groups(g)) => g.clone(),
            },
        }
    }
}

impl SecretInspect {
    /// `Config.Secrets`: a container's `--secret`s.
    pub fn all(opts: &RunOptions) -> Vec<SecretInspect> {
        opts.secrets
            .iter()
            .map(|s| SecretInspect {
                name: s.name.clone(),
                id: s.id.clone(),
                uid: s.uid,
                gid: s.gid,
                mode: s.mode,
            })
            .collect()
    }
}
