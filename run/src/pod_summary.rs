//! A pod as `pod ps` lists it ([`PodSummary`], Podman 4.3's `pod ps --format json` record,
//! fields in its order) and as `pod inspect` shows it ([`PodInspect`]). Built from the
//! record and its containers; every front end prints these.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::container::Container;
use crate::engine::Engine;
use crate::error::Result;
use crate::options::Network;
use crate::pod::{Pod, PodState};

/// One container of a pod, as `pod ps --format json` lists it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PodMember {
    pub id: String,
    pub names: String,
    /// `created`, `running`, `paused` or `exited`.
    pub status: String,
}

/// One entry of `podman pod ps --format json`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PodSummary {
    pub cgroup: String,
    pub containers: Vec<PodMember>,
    pub created: DateTime<Utc>,
    pub id: String,
    pub infra_id: String,
    pub name: String,
    pub namespace: String,
    pub networks: Vec<String>,
    /// Podman's pod state word (`Running`, `Degraded`, …).
    pub status: String,
    pub labels: BTreeMap<String, String>,
}

/// A member container's name, id and state, as `pod inspect` lists it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PodInspectMember {
    pub id: String,
    pub name: String,
    pub state: String,
}

/// The infra container's settings, as `pod inspect`'s `InfraConfig`.
#[derive(Debug, Clone, Serialize)]
pub struct InfraConfig {
    #[serde(rename = "PortBindings")]
    pub port_bindings: BTreeMap<String, Vec<BTreeMap<&'static str, String>>>,
    #[serde(rename = "HostNetwork")]
    pub host_network: bool,
    #[serde(rename = "DNSServer")]
    pub dns_server: Option<Vec<String>>,
    #[serde(rename = "HostAdd")]
    pub host_add: Option<Vec<String>>,
    #[serde(rename = "Networks")]
    pub networks: Vec<String>,
}

/// `podman pod inspect`'s record (the fields berth has).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PodInspect {
    pub id: String,
    pub name: String,
    pub created: DateTime<Utc>,
    pub create_command: Vec<String>,
    pub exit_policy: String,
    pub state: String,
    pub hostname: String,
    pub labels: BTreeMap<String, String>,
    pub create_infra: bool,
    #[serde(rename = "InfraContainerID", skip_serializing_if = "Option::is_none")]
    pub infra_container_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub infra_config: Option<InfraConfig>,
    pub shared_namespaces: Vec<&'static str>,
    pub num_containers: usize,
    pub containers: Vec<PodInspectMember>,
}

/// The names of the networks a container is on.
fn network_names(c: &Container) -> Vec<String> {
    match &c.options.network {
        Network::Bridge(a) => a
            .iter()
            .map(|n| {
                n.name
                    .clone()
                    .unwrap_or_else(|| berth_network::DEFAULT_NETWORK.into())
            })
            .collect(),
        Network::Private => vec![berth_network::DEFAULT_NETWORK.to_string()],
        _ => Vec::new(),
    }
}

impl PodSummary {
    /// The summary of `pod` over its `containers` ([`Engine::pod_containers`]).
    pub fn of(engine: &Engine<'_>, pod: &Pod, containers: &[Container]) -> PodSummary {
        let infra = containers
            .iter()
            .find(|c| Some(&c.id) == pod.config.infra_id.as_ref());
        PodSummary {
            cgroup: String::new(),
            containers: containers
                .iter()
                .map(|c| PodMember {
                    id: c.id.clone(),
                    names: c.name.clone(),
                    status: member_word(engine, c),
                })
                .collect(),
            created: pod.created,
            id: pod.id.clone(),
            infra_id: pod.config.infra_id.clone().unwrap_or_default(),
            name: pod.name.clone(),
            namespace: String::new(),
            networks: infra.map(network_names).unwrap_or_default(),
            status: engine.pod_state(containers).as_str().to_string(),
            labels: pod.config.labels.iter().cloned().collect(),
        }
    }
}

/// A container's state word as pod listings show it.
fn member_word(engine: &Engine<'_>, c: &Container) -> String {
    if engine.is_paused(c) {
        "paused".to_string()
    } else {
        c.state.as_str().to_string()
    }
}

impl PodInspect {
    /// The inspect record of `pod`.
    pub fn of(engine: &Engine<'_>, pod: &Pod) -> Result<PodInspect> {
        let containers = engine.pod_containers(pod)?;
        let infra = containers
            .iter()
            .find(|c| Some(&c.id) == pod.config.infra_id.as_ref());
        let infra_config = infra.map(|c| {
            let mut port_bindings: BTreeMap<String, Vec<BTreeMap<&'static str, String>>> =
                BTreeMap::new();
            for m in &c.options.ports {
                for i in 0..m.range {
                    port_bindings
                        .entry(format!("{}/{}", m.container_port + i, m.protocol))
                        .or_default()
                        .push(BTreeMap::from([
                            ("HostIp", m.host_ip.clone()),
                            ("HostPort", (m.host_port + i).to_string()),
                        ]));
                }
            }
            let dns: Vec<String> = c
                .options
                .dns_servers
                .iter()
                .map(|d| d.to_string())
                .collect();
            let hosts: Vec<String> = c
                .options
                .add_hosts
                .iter()
                .map(|h| format!("{}:{}", h.name, h.ip))
                .collect();
            InfraConfig {
                port_bindings,
                host_network: c.options.network == Network::Host,
                dns_server: (!dns.is_empty()).then_some(dns),
                host_add: (!hosts.is_empty()).then_some(hosts),
                networks: network_names(c),
            }
        });
        let state: PodState = engine.pod_state(&containers);
        Ok(PodInspect {
            id: pod.id.clone(),
            name: pod.name.clone(),
            created: pod.created,
            create_command: pod.config.create_command.clone(),
            exit_policy: pod.config.exit_policy.as_str().to_string(),
            state: state.as_str().to_string(),
            hostname: pod.config.hostname.clone(),
            labels: pod.config.labels.iter().cloned().collect(),
            create_infra: pod.config.infra_id.is_some(),
            infra_container_id: pod.config.infra_id.clone(),
            infra_config,
            shared_namespaces: if pod.config.infra_id.is_some() {
                pod.config.share.iter().map(|s| s.as_str()).collect()
            } else {
                Vec::new()
            },
            num_containers: containers.len(),
            containers: containers
                .iter()
                .map(|c| PodInspectMember {
                    id: c.id.clone(),
                    name: c.name.clone(),
                    state: member_word(engine, c),
                })
                .collect(),
        })
    }
}

/// `ps --pod`: each listed container's pod name (`PodName`), and whether it is its pod's
/// infra container (`IsInfra`), as Podman fills them in its list records.
pub fn fill_pod_names(
    engine: &Engine<'_>,
    list: &mut [crate::summary::ContainerSummary],
) -> Result<()> {
    let pods = engine.pods()?;
    for s in list.iter_mut() {
        if let Some(pod) = pods.iter().find(|p| p.id == s.pod) {
            s.pod_name = pod.name.clone();
            s.is_infra = pod.config.infra_id.as_deref() == Some(s.id.as_str());
        }
    }
    Ok(())
}
