//! `inspect`: which object a name is ([`find`]: a container, an image or a volume, in
//! Podman's order), and a container's inspect record ([`ContainerInspect`], the fields of
//! `podman container inspect` that berth has) and a volume's ([`VolumeInspect`]), as serde
//! structs a REST API can return too.

use std::collections::BTreeMap;
use std::str::FromStr;

use berth_image_store::{ImageRecord, StoreError};
use serde::Serialize;
use serde_json::Value;

use crate::container::{Container, State};
use crate::engine::Engine;
use crate::error::{Result, RunError};
use crate::options::{NamespaceKind, RunOptions, VolumeSource, VolumeSpec};
use crate::volumes::{Volume, Volumes};

/// `--type`: which kinds of object a name may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Container,
    Image,
    Volume,
    /// Any of them; a container wins over an image, an image over a volume (Podman's order).
    All,
}

impl FromStr for Kind {
    type Err = RunError;
    fn from_str(s: &str) -> Result<Kind> {
        match s {
            "container" => Ok(Kind::Container),
            "image" => Ok(Kind::Image),
            "volume" => Ok(Kind::Volume),
            "all" => Ok(Kind::All),
            other => Err(RunError::Invalid(format!(
                "invalid type {other:?}: must be container, image, volume or all"
            ))),
        }
    }
}

/// The object a name was found to be.
#[derive(Debug)]
pub enum Found {
    Container(Box<ContainerInspect>),
    Image(Box<ImageRecord>),
    Volume(Volume),
}

/// Find `name` among the kinds `kind` allows, in Podman's order (container, image, volume);
/// `None` when it is none of them.
pub fn find(engine: &Engine<'_>, name: &str, kind: Kind) -> Result<Option<Found>> {
    let any = kind == Kind::All;
    if any || kind == Kind::Container {
        match engine.get(name) {
            Ok(c) => return Ok(Some(Found::Container(Box::new(inspect(engine, &c)?)))),
            Err(RunError::NoSuchContainer(_)) => {}
            Err(e) => return Err(e),
        }
    }
    if any || kind == Kind::Image {
        match engine.store().lookup_image(name) {
            Ok(img) => return Ok(Some(Found::Image(Box::new(img)))),
            Err(StoreError::NotFound(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    if any || kind == Kind::Volume {
        if let Some(v) = Volumes::open(engine.store().root())?.find(name)? {
            return Ok(Some(Found::Volume(v)));
        }
    }
    Ok(None)
}

/// `podman container inspect`'s record.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerInspect {
    pub id: String,
    pub created: String,
    pub path: String,
    pub args: Vec<String>,
    pub state: StateInspect,
    pub image: String,
    pub image_name: String,
    pub rootfs: String,
    /// The pod's id (empty: none).
    pub pod: String,
    #[serde(rename = "OCIRuntime")]
    pub oci_runtime: String,
    pub name: String,
    pub restart_count: u32,
    pub driver: String,
    pub mountpoint: Option<String>,
    pub bundle_path: String,
    pub log_path: String,
    pub auto_remove: bool,
    pub labels: BTreeMap<String, String>,
    pub mounts: Vec<MountInspect>,
    pub network_settings: NetworkSettings,
    pub config: ConfigInspect,
    pub host_config: HostConfig,
    /// berth's own: the options the container was made with.
    pub options: crate::options::RunOptions,
    /// berth's own: the runtime spec (`config.json`).
    pub spec: Value,
}

/// Go's zero time, which Podman prints for a time that has not happened.
const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StateInspect {
    pub oci_version: String,
    pub status: String,
    pub running: bool,
    pub paused: bool,
    pub restarting: bool,
    #[serde(rename = "OOMKilled")]
    pub oom_killed: bool,
    pub dead: bool,
    pub pid: u32,
    pub conmon_pid: u32,
    pub exit_code: i32,
    pub error: String,
    pub started_at: String,
    pub finished_at: String,
    /// Podman 4.3 prints it for every container: empty status when there is no check.
    pub health: Health,
}

/// A container's health (`.State.Health`): empty for a container without a check.
pub type Health = crate::health::HealthResults;

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct MountInspect {
    /// `volume` or `bind`.
    pub r#type: String,
    pub name: String,
    pub source: String,
    pub destination: String,
    pub driver: String,
    pub mode: String,
    pub options: Vec<String>,
    #[serde(rename = "RW")]
    pub rw: bool,
    pub propagation: String,
}

/// Podman's network settings; host and none networks leave every value empty.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct NetworkSettings {
    #[serde(rename = "EndpointID")]
    pub endpoint_id: String,
    pub gateway: String,
    #[serde(rename = "IPAddress")]
    pub ip_address: String,
    #[serde(rename = "IPPrefixLen")]
    pub ip_prefix_len: u32,
    #[serde(rename = "IPv6Gateway")]
    pub ipv6_gateway: String,
    #[serde(rename = "GlobalIPv6Address")]
    pub global_ipv6_address: String,
    #[serde(rename = "GlobalIPv6PrefixLen")]
    pub global_ipv6_prefix_len: u32,
    pub mac_address: String,
    pub bridge: String,
    #[serde(rename = "SandboxID")]
    pub sandbox_id: String,
    pub hairpin_mode: bool,
    #[serde(rename = "LinkLocalIPv6Address")]
    pub link_local_ipv6_address: String,
    #[serde(rename = "LinkLocalIPv6PrefixLen")]
    pub link_local_ipv6_prefix_len: u32,
    pub ports: BTreeMap<String, Value>,
    pub sandbox_key: String,
    /// Bridge mode: each network (Podman omits the key otherwise).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub networks: BTreeMap<String, crate::published::InspectNetwork>,
}

/// `NetworkSettings` of `c`: its published ports; while it runs on networks, its addresses
/// (the first network's as the top-level ones, as Podman).
pub fn network_settings(engine: &Engine<'_>, c: &Container) -> NetworkSettings {
    let mut out = NetworkSettings {
        ports: crate::published::inspect_ports(&c.options.ports),
        ..NetworkSettings::default()
    };
    let Some(a) = engine.attachment(c) else {
        return out;
    };
    let requests = c.options.network.requests().unwrap_or_default();
    let aliases = |name: &str| {
        let mut v = vec![c.short_id().to_string()];
        if let Some(r) = requests.iter().find(|r| r.network == name) {
            v.extend(r.aliases.iter().cloned());
        }
        v
    };
    out.networks = crate::published::inspect_networks(&a, &aliases);
    out.sandbox_key = a.netns_path.display().to_string();
    if let Some(first) = a
        .networks
        .first()
        .and_then(|n| out.networks.get(&n.network))
    {
        out.gateway = first.gateway.clone();
        out.ip_address = first.ip_address.clone();
        out.ip_prefix_len = u32::from(first.ip_prefix_len);
        out.ipv6_gateway = first.ipv6_gateway.clone();
        out.global_ipv6_address = first.global_ipv6_address.clone();
        out.global_ipv6_prefix_len = u32::from(first.global_ipv6_prefix_len);
        out.mac_address = first.mac_address.clone();
    }
    out
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ConfigInspect {
    pub hostname: String,
    pub domainname: String,
    pub user: String,
    pub attach_stdin: bool,
    pub attach_stdout: bool,
    pub attach_stderr: bool,
    pub tty: bool,
    pub open_stdin: bool,
    pub stdin_once: bool,
    pub env: Vec<String>,
    pub cmd: Vec<String>,
    pub image: String,
    pub volumes: Option<Value>,
    pub working_dir: String,
    /// One string, the entrypoint's words joined by spaces (Podman 4's shape).
    pub entrypoint: String,
    pub on_build: Option<Value>,
    pub labels: Option<BTreeMap<String, String>>,
    pub annotations: BTreeMap<String, String>,
    pub stop_signal: i32,
    pub stop_timeout: u32,
    /// `--secret`s by name and id (issue 20), never their data.
    pub secrets: Vec<crate::inspect_options::SecretInspect>,
    /// The health check, left out when there is none (Podman's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<crate::health::HealthConfig>,
    pub healthcheck_on_failure_action: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct HostConfig {
    pub binds: Vec<String>,
    pub network_mode: String,
    pub port_bindings: BTreeMap<String, Value>,
    pub restart_policy: RestartPolicy,
    pub auto_remove: bool,
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    pub privileged: bool,
    pub readonly_rootfs: bool,
    pub security_opt: Vec<String>,
    pub tmpfs: BTreeMap<String, String>,
    pub init: bool,
    pub runtime: String,
    pub memory: i64,
    pub nano_cpus: i64,
    pub pids_limit: i64,
    /// The daily-use run options' fields (issue 20): log config, ulimits, shm size, devices,
    /// groups, secrets (by name and id).
    #[serde(flatten)]
    pub options: crate::inspect_options::HostConfigOptions,
    // Namespace sharing (issue 17): `private`, `host`, `container:ID`, `ns:PATH`.
    pub ipc_mode: String,
    pub pid_mode: String,
    #[serde(rename = "UTSMode")]
    pub uts_mode: String,
    pub cgroupns_mode: String,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RestartPolicy {
    pub name: String,
    pub maximum_retry_count: u32,
}

/// The seconds `stop` waits by default, as Podman.
const STOP_TIMEOUT: u32 = 10;

/// The inspect record of container `c`.
pub fn inspect(engine: &Engine<'_>, c: &Container) -> Result<ContainerInspect> {
    let spec = c.spec.get()?;
    let store = engine.store();
    let mountpoint = store
        .snapshot(&c.snapshot)
        .ok()
        .map(|s| s.mountpoint.display().to_string());
    let opts = &c.options;
    let process = spec.process().as_ref();
    let image_config = c
        .image_id
        .as_ref()
        .and_then(|id| store.lookup_image(id.as_ref()).ok())
        .and_then(|img| store.image_config(&img).ok())
        .and_then(|cfg| cfg.config().clone());
    let entrypoint = match &opts.entrypoint {
        Some(e) => e.clone(),
        None => image_config
            .as_ref()
            .and_then(|c| c.entrypoint().clone())
            .unwrap_or_default(),
    };
    let cmd = c
        .command
        .strip_prefix(entrypoint.as_slice())
        .unwrap_or(&c.command)
        .to_vec();
    let user = opts
        .user
        .clone()
        .or_else(|| image_config.as_ref().and_then(|c| c.user().clone()))
        .unwrap_or_default();
    let labels: BTreeMap<String, String> = c.labels.iter().cloned().collect();
    let time = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map(|t| t.to_rfc3339())
            .unwrap_or_else(|| ZERO_TIME.to_string())
    };
    let binds = binds(engine, opts, spec)?;
    let network_mode = opts.network.inspect_mode();
    let paused = c.state == State::Running && crate::freezer::is_paused(c.pid);
    Ok(ContainerInspect {
        id: c.id.clone(),
        created: c.created.to_rfc3339(),
        path: c.command.first().cloned().unwrap_or_default(),
        args: c.command.iter().skip(1).cloned().collect(),
        state: StateInspect {
            oci_version: spec.version().clone(),
            status: crate::summary::state_name(c).to_string(),
            running: c.state == State::Running && !paused,
            paused,
            restarting: false,
            oom_killed: crate::oom::was_killed(&engine.bundle_dir(&c.id)),
            dead: false,
            pid: c.pid.unwrap_or(0),
            conmon_pid: c.monitor_pid.unwrap_or(0),
            exit_code: c.exit_code.unwrap_or(0),
            error: c.error.clone().unwrap_or_default(),
            started_at: time(c.started),
            finished_at: time(c.finished),
            health: engine.health(c),
        },
        image: c
            .image_id
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        image_name: c.image_name.clone(),
        rootfs: opts
            .rootfs
            .as_ref()
            .map(|r| r.path.display().to_string())
            .unwrap_or_default(),
        pod: opts.pod.clone().unwrap_or_default(),
        oci_runtime: c.runtime.clone(),
        name: c.name.clone(),
        restart_count: engine.restart_count(&c.id),
        driver: "overlay".to_string(),
        mountpoint,
        bundle_path: engine.bundle_dir(&c.id).display().to_string(),
        log_path: engine.log_path(&c.id).display().to_string(),
        auto_remove: c.auto_remove,
        labels: labels.clone(),
        mounts: binds.iter().map(mount_inspect).collect(),
        network_settings: network_settings(engine, c),
        config: ConfigInspect {
            hostname: crate::spec::etc_files::spec_hostname(spec),
            domainname: String::new(),
            user,
            attach_stdin: false,
            attach_stdout: false,
            attach_stderr: false,
            tty: opts.terminal,
            open_stdin: false,
            stdin_once: false,
            env: process.and_then(|p| p.env().clone()).unwrap_or_default(),
            cmd,
            image: c.image_name.clone(),
            volumes: None,
            working_dir: process.map_or("/".to_string(), |p| p.cwd().display().to_string()),
            entrypoint: entrypoint.join(" "),
            on_build: None,
            labels: (!labels.is_empty()).then_some(labels),
            annotations: opts.annotations.iter().cloned().collect(),
            stop_signal: opts.stop_signal.unwrap_or(libc::SIGTERM),
            stop_timeout: STOP_TIMEOUT,
            secrets: crate::inspect_options::SecretInspect::all(opts),
            healthcheck: opts.healthcheck.clone(),
            healthcheck_on_failure_action: opts.health_on_failure.as_str().to_string(),
        },
        host_config: HostConfig {
            binds: binds.iter().map(bind_text).collect(),
            network_mode: network_mode.to_string(),
            port_bindings: crate::published::inspect_ports(&c.options.ports),
            restart_policy: RestartPolicy {
                name: opts.restart.name().to_string(),
                maximum_retry_count: opts.restart.max_retries(),
            },
            auto_remove: c.auto_remove,
            cap_add: opts.cap_add.clone(),
            cap_drop: opts.cap_drop.clone(),
            privileged: opts.privileged,
            readonly_rootfs: opts.read_only,
            security_opt: security_opt(opts),
            tmpfs: opts
                .tmpfs
                .iter()
                .map(|t| match t.split_once(':') {
                    Some((d, o)) => (d.to_string(), o.to_string()),
                    None => (t.clone(), String::new()),
                })
                .collect(),
            init: opts.init,
            runtime: "oci".to_string(),
            memory: opts.memory.unwrap_or(0),
            nano_cpus: opts.cpus.map(|c| (c * 1e9) as i64).unwrap_or(0),
            pids_limit: opts.pids_limit.unwrap_or(0),
            options: crate::inspect_options::HostConfigOptions::of(
                opts,
                engine.log_path(&c.id).display().to_string(),
            ),
            ipc_mode: namespace_mode(opts, NamespaceKind::Ipc),
            pid_mode: namespace_mode(opts, NamespaceKind::Pid),
            uts_mode: namespace_mode(opts, NamespaceKind::Uts),
            cgroupns_mode: namespace_mode(opts, NamespaceKind::Cgroup),
        },
        options: opts.clone(),
        spec: spec_value(spec),
    })
}

/// `HostConfig.IpcMode`, `PidMode`, … as `podman inspect` shows them: the mode given, else
/// Podman's default (`shareable` for IPC; for the cgroup namespace `private` where the
/// host's cgroup version gives one, else `host`).
fn namespace_mode(opts: &RunOptions, kind: NamespaceKind) -> String {
    match (opts.namespaces.get(kind), kind) {
        (Some(m), _) => m.inspect_mode(),
        (None, NamespaceKind::Ipc) => "shareable".into(),
        (None, NamespaceKind::Cgroup) if !crate::spec::cgroup::wants_namespace() => "host".into(),
        (None, _) => "private".into(),
    }
}

/// The spec as inspect shows it. Its capability sets have no order of their own (a set in
/// `oci_spec`): they are shown sorted, so that two inspections print the same.
fn spec_value(spec: &oci_spec::runtime::Spec) -> Value {
    let mut v = serde_json::to_value(spec).unwrap_or(Value::Null);
    if let Some(Value::Object(caps)) = v.pointer_mut("/process/capabilities") {
        for set in caps.values_mut() {
            if let Value::Array(names) = set {
                names.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
            }
        }
    }
    v
}

fn security_opt(opts: &crate::options::RunOptions) -> Vec<String> {
    let mut out = Vec::new();
    if opts.no_new_privileges {
        out.push("no-new-privileges".to_string());
    }
    if let Some(s) = &opts.seccomp {
        out.push(format!("seccomp={s}"));
    }
    out
}

/// One resolved `-v SOURCE:DEST[:OPTS]`, with the options of its mount in the spec: the
/// volume it is (when its source is the directory of one of the container's named volumes),
/// read-only or not, its propagation and its other options (`rbind` last, as Podman).
struct Bind<'a> {
    source: String,
    dest: &'a str,
    volume: Option<String>,
    read_only: bool,
    propagation: String,
    options: Vec<String>,
}

const PROPAGATIONS: &[&str] = &[
    "shared", "rshared", "slave", "rslave", "private", "rprivate",
];

fn parse_bind<'a>(
    volumes: Option<&Volumes>,
    opts: &crate::options::RunOptions,
    spec: &oci_spec::runtime::Spec,
    v: &'a VolumeSpec,
) -> Bind<'a> {
    // Every `-v` of a record is resolved to a host path.
    let source = match &v.source {
        VolumeSource::Host(p) => p.to_string_lossy().into_owned(),
        VolumeSource::Named(_) | VolumeSource::Anonymous => String::new(),
    };
    let dest = v.destination.as_str();
    // The options the mount really has, else those the user gave.
    let mounted: Vec<String> = spec
        .mounts()
        .as_ref()
        .and_then(|ms| ms.iter().find(|m| m.destination().as_os_str() == dest))
        .and_then(|m| m.options().clone())
        .unwrap_or_else(|| v.options.iter().map(|o| o.as_str().to_string()).collect());
    let volume = volumes.and_then(|vols| {
        opts.named_volumes.iter().find_map(|n| {
            let found = vols
                .find(n)
                .ok()
                .flatten()
                .is_some_and(|vol| vol.mountpoint.as_os_str() == source.as_str());
            found.then(|| n.clone())
        })
    });
    let propagation = mounted
        .iter()
        .find(|o| PROPAGATIONS.contains(&o.as_str()))
        .cloned()
        .unwrap_or_else(|| "rprivate".to_string());
    let mut options: Vec<String> = mounted
        .iter()
        .filter(|o| !matches!(o.as_str(), "ro" | "rw" | "bind" | "rbind"))
        .filter(|o| !PROPAGATIONS.contains(&o.as_str()))
        .cloned()
        .collect();
    options.push("rbind".to_string());
    Bind {
        source,
        dest,
        volume,
        read_only: mounted.iter().any(|o| o == "ro"),
        propagation,
        options,
    }
}

/// The binds and volumes of the container's `-v` options.
fn binds<'a>(
    engine: &Engine<'_>,
    opts: &'a crate::options::RunOptions,
    spec: &oci_spec::runtime::Spec,
) -> Result<Vec<Bind<'a>>> {
    let vols = if opts.named_volumes.is_empty() {
        None
    } else {
        Some(Volumes::open(engine.store().root())?)
    };
    Ok(opts
        .volumes
        .iter()
        .map(|v| parse_bind(vols.as_ref(), opts, spec, v))
        .collect())
}

/// A `-v` entry as Podman's `HostConfig.Binds` shows it: a named volume by its name, then
/// `rw|ro,PROPAGATION,OPTIONS…`.
fn bind_text(b: &Bind<'_>) -> String {
    let source = b.volume.as_deref().unwrap_or(&b.source);
    let mut mode = vec![
        if b.read_only { "ro" } else { "rw" }.to_string(),
        b.propagation.clone(),
    ];
    mode.extend(b.options.iter().cloned());
    format!("{source}:{}:{}", b.dest, mode.join(","))
}

/// A `-v` entry as one of Podman's `Mounts`.
fn mount_inspect(b: &Bind<'_>) -> MountInspect {
    MountInspect {
        r#type: if b.volume.is_some() { "volume" } else { "bind" }.to_string(),
        driver: if b.volume.is_some() { "local" } else { "" }.to_string(),
        name: b.volume.clone().unwrap_or_default(),
        source: b.source.clone(),
        destination: b.dest.to_string(),
        mode: String::new(),
        options: b.options.clone(),
        rw: !b.read_only,
        propagation: b.propagation.clone(),
    }
}

/// `podman volume inspect`'s record.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct VolumeInspect {
    pub name: String,
    pub driver: String,
    pub mountpoint: String,
    pub created_at: String,
    pub labels: BTreeMap<String, String>,
    pub scope: String,
    pub options: BTreeMap<String, String>,
}

impl From<&Volume> for VolumeInspect {
    fn from(v: &Volume) -> VolumeInspect {
        VolumeInspect {
            name: v.name.clone(),
            driver: "local".to_string(),
            mountpoint: v.mountpoint.display().to_string(),
            created_at: v.created.to_rfc3339(),
            labels: v.labels.clone(),
            scope: "local".to_string(),
            options: BTreeMap::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The capability sets print sorted, whatever order the set holds them in.
    #[test]
    fn spec_capabilities_print_sorted() {
        let spec = oci_spec::runtime::Spec::default();
        let v = spec_value(&spec);
        let bounding: Vec<&str> = v["process"]["capabilities"]["bounding"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        assert_eq!(
            bounding,
            ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
        );
        assert_eq!(v, spec_value(&spec.clone()));
        assert_eq!(v["ociVersion"], spec.version().as_str());
    }
}
