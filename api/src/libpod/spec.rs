//! libpod's create body, Podman's SpecGenerator JSON, mapped to the engine's
//! [`CreateRequest`] through the same option parsers as the CLI's flags (`-v`, `--tmpfs`,
//! `--network`, `-p`, `--dns`, `--add-host`). Fields berth does not know are ignored (Podman's
//! client always sends many of its own: annotations, idmappings, umask…); fields that ask
//! for something berth cannot do are refused with a 400 naming them.

use std::collections::{BTreeMap, HashMap};

use berth_run::options::NetworkFlags;
use berth_run::{CreateRequest, RunOptions};
use serde::Deserialize;
use serde_json::Value;

use crate::error::{ApiError, ApiResult};

/// A namespace choice: `{"nsmode": "host", "value": ""}`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Namespace {
    pub nsmode: String,
    pub value: String,
}

/// One `portmappings` entry (Podman's `types.PortMapping`).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PortMapping {
    pub host_ip: String,
    pub container_port: u16,
    pub host_port: u16,
    pub range: u16,
    /// `tcp`, `udp`, `sctp`, or several joined by commas (empty: tcp).
    pub protocol: String,
}

/// One `mounts` entry (an OCI mount).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Mount {
    pub destination: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub source: String,
    pub options: Vec<String>,
}

/// One `volumes` entry: a named (or anonymous) volume.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct NamedVolume {
    pub name: String,
    pub dest: String,
    pub options: Vec<String>,
    pub is_anonymous: bool,
}

/// The SpecGenerator fields berth serves, and those it refuses when set.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SpecGenerator {
    pub name: String,
    pub image: String,
    pub command: Option<Vec<String>>,
    pub entrypoint: Option<Vec<String>>,
    pub env: Option<BTreeMap<String, String>>,
    pub terminal: bool,
    pub stdin: bool,
    pub remove: bool,
    pub work_dir: String,
    pub user: String,
    pub hostname: String,
    pub labels: Option<BTreeMap<String, String>>,
    pub cap_add: Option<Vec<String>>,
    pub cap_drop: Option<Vec<String>>,
    pub privileged: bool,
    pub no_new_privileges: bool,
    pub read_only_filesystem: bool,
    pub init: bool,
    pub stop_signal: Option<i32>,
    pub oci_runtime: String,
    pub netns: Namespace,
    #[serde(rename = "Networks")]
    pub networks: Option<HashMap<String, Value>>,
    pub portmappings: Option<Vec<PortMapping>>,
    pub publish_image_ports: bool,
    pub mounts: Option<Vec<Mount>>,
    pub volumes: Option<Vec<NamedVolume>>,
    pub dns_server: Option<Vec<String>>,
    pub dns_search: Option<Vec<String>>,
    pub dns_option: Option<Vec<String>>,
    pub hostadd: Option<Vec<String>>,
    pub use_image_hosts: bool,
    pub use_image_resolve_conf: bool,
    pub env_host: bool,
    pub userns: Namespace,
    pub pod: String,
    pub devices: Option<Vec<Value>>,
    pub resource_limits: Option<Value>,
    pub healthconfig: Option<Value>,
    pub secrets: Option<Vec<Value>>,
    pub restart_policy: String,
}

/// Refuse what is set and not served.
fn refuse_unserved(s: &SpecGenerator) -> ApiResult<()> {
    let unserved = |field: &str| {
        Err(ApiError::bad_request(format!(
            "{field}: not served by berth's libpod API yet"
        )))
    };
    if s.devices.as_ref().is_some_and(|d| !d.is_empty()) {
        return unserved("devices");
    }
    if s.resource_limits.as_ref().is_some_and(|r| !r.is_null()) {
        return unserved("resource_limits (--memory, --cpus, --pids-limit)");
    }
    if s.secrets.as_ref().is_some_and(|x| !x.is_empty()) {
        return unserved("secrets");
    }
    if !matches!(s.restart_policy.as_str(), "" | "no") {
        return unserved("restart_policy");
    }
    if !matches!(s.userns.nsmode.as_str(), "" | "host") {
        return unserved("userns");
    }
    if s.env_host {
        return unserved("env_host");
    }
    Ok(())
}

/// `netns` and `Networks` as `--network` values (empty: the CLI's default).
fn network_flags(s: &SpecGenerator) -> ApiResult<Vec<String>> {
    network_values(&s.netns, s.networks.as_ref())
}

/// `netns` and `Networks` (a container's or a pod's create body) as `--network` values.
pub(crate) fn network_values(
    netns: &Namespace,
    networks: Option<&HashMap<String, Value>>,
) -> ApiResult<Vec<String>> {
    let mode = netns.nsmode.as_str();
    let value = netns.value.as_str();
    let mut names: Vec<String> = networks
        .map(|n| n.keys().cloned().collect())
        .unwrap_or_default();
    names.sort();
    Ok(match mode {
        "" if names.is_empty() => Vec::new(),
        "" | "bridge" if !names.is_empty() => names,
        "bridge" | "host" | "none" | "private" | "slirp4netns" | "pasta" => {
            vec![mode.to_string()]
        }
        "container" => vec![format!("container:{value}")],
        "path" => vec![format!("ns:{value}")],
        other => {
            return Err(ApiError::bad_request(format!(
                "netns: network mode {other:?} is not served"
            )))
        }
    })
}

/// A `portmappings` entry as `-p` values (one per protocol).
pub(crate) fn publish_args(p: &PortMapping) -> Vec<String> {
    let range = p.range.max(1);
    let span = |start: u16| {
        if range > 1 {
            format!("{start}-{}", start.saturating_add(range - 1))
        } else {
            start.to_string()
        }
    };
    let container = span(p.container_port);
    let host = if p.host_port == 0 {
        String::new()
    } else {
        span(p.host_port)
    };
    let ip = if p.host_ip.contains(':') {
        format!("[{}]", p.host_ip)
    } else {
        p.host_ip.clone()
    };
    let protocols: Vec<&str> = if p.protocol.is_empty() {
        vec!["tcp"]
    } else {
        p.protocol.split(',').filter(|x| !x.is_empty()).collect()
    };
    protocols
        .into_iter()
        .map(|proto| match (ip.is_empty(), host.is_empty()) {
            (true, true) => format!("{container}/{proto}"),
            (true, false) => format!("{host}:{container}/{proto}"),
            (false, _) => format!("{ip}:{host}:{container}/{proto}"),
        })
        .collect()
}

/// `SOURCE:DEST[:OPTIONS]` as `-v` takes it; the bind flags Podman adds are berth's default.
fn volume_arg(source: &str, dest: &str, options: &[String]) -> String {
    let opts: Vec<&str> = options
        .iter()
        .map(String::as_str)
        .filter(|o| !matches!(*o, "bind" | "rbind"))
        .collect();
    let head = if source.is_empty() {
        dest.to_string()
    } else {
        format!("{source}:{dest}")
    };
    if opts.is_empty() {
        head
    } else {
        format!("{head}:{}", opts.join(","))
    }
}

fn bad(field: &str) -> impl Fn(berth_run::RunError) -> ApiError + '_ {
    move |e| ApiError::bad_request(format!("{field}: {e}"))
}

/// `mounts` and `volumes` into the options: binds and volumes as `-v`, tmpfs as `--tmpfs`.
fn apply_mounts(s: &SpecGenerator, options: &mut RunOptions) -> ApiResult<()> {
    for m in s.mounts.iter().flatten() {
        match m.kind.as_str() {
            "bind" | "" => options.volumes.push(
                volume_arg(&m.source, &m.destination, &m.options)
                    .parse()
                    .map_err(bad("mounts"))?,
            ),
            "tmpfs" => options
                .tmpfs
                .push(volume_arg("", &m.destination, &m.options)),
            other => {
                return Err(ApiError::bad_request(format!(
                    "mounts: a {other} mount is not served by berth's libpod API yet"
                )))
            }
        }
    }
    for v in s.volumes.iter().flatten() {
        let source = if v.is_anonymous { "" } else { v.name.as_str() };
        options.volumes.push(
            volume_arg(source, &v.dest, &v.options)
                .parse()
                .map_err(bad("volumes"))?,
        );
    }
    Ok(())
}

/// The create body → the engine's request (the one `berth create` makes).
pub fn create_request(s: SpecGenerator) -> ApiResult<CreateRequest> {
    if s.image.is_empty() {
        return Err(ApiError::bad_request("image: an image is required"));
    }
    refuse_unserved(&s)?;
    let nonempty = |v: &str| (!v.is_empty()).then(|| v.to_string());
    let mut options = RunOptions {
        entrypoint: s.entrypoint.clone(),
        command: s.command.clone().unwrap_or_default(),
        env: s
            .env
            .iter()
            .flatten()
            .map(|(k, v)| format!("{k}={v}"))
            .collect(),
        workdir: nonempty(&s.work_dir),
        user: nonempty(&s.user),
        hostname: nonempty(&s.hostname),
        terminal: s.terminal,
        cap_add: s.cap_add.clone().unwrap_or_default(),
        cap_drop: s.cap_drop.clone().unwrap_or_default(),
        privileged: s.privileged,
        no_new_privileges: s.no_new_privileges,
        read_only: s.read_only_filesystem,
        stop_signal: s.stop_signal.filter(|&n| n > 0),
        init: s.init,
        // `--pod`: joined at create, as `berth create --pod` (the pod's name or id).
        pod: nonempty(&s.pod),
        ..RunOptions::default()
    };
    apply_mounts(&s, &mut options)?;
    crate::create_health::apply(s.healthconfig.clone(), &mut options)?;
    let mut dns = s.dns_server.clone().unwrap_or_default();
    if s.use_image_resolve_conf {
        dns = vec!["none".to_string()];
    }
    let flags = NetworkFlags {
        network: network_flags(&s)?,
        publish: s
            .portmappings
            .iter()
            .flatten()
            .flat_map(publish_args)
            .collect(),
        publish_all: s.publish_image_ports,
        dns,
        dns_search: s.dns_search.clone().unwrap_or_default(),
        dns_option: s.dns_option.clone().unwrap_or_default(),
        add_host: s.hostadd.clone().unwrap_or_default(),
        no_hosts: s.use_image_hosts,
        ..NetworkFlags::default()
    };
    options.apply_network_flags(&flags)?;
    options.network.ensure_wired()?;
    let _ = s.stdin;
    Ok(CreateRequest {
        image: s.image,
        name: nonempty(&s.name),
        options,
        runtime: nonempty(&s.oci_runtime),
        keep_mounted: false,
        auto_remove: s.remove,
        labels: s.labels.unwrap_or_default().into_iter().collect(),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn spec(v: Value) -> SpecGenerator {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn podmans_run_body_maps_to_the_engine_request() {
        // What `podman --remote run --rm bb echo hi` sent (trimmed).
        let req = create_request(spec(json!({
            "command": ["echo", "hi"], "httpproxy": true, "remove": true, "image": "bb",
            "raw_image_name": "bb", "annotations": {"io.kubernetes.cri-o.TTY": "false"},
            "stop_timeout": 10, "pidns": {}, "utsns": {}, "userns": {}, "netns": {},
            "Networks": null, "idmappings": {"HostUIDMapping": true}, "umask": "0022",
            "name": "", "env": {"A": "1"}, "work_dir": "/tmp", "labels": {"k": "v"},
        })))
        .unwrap();
        assert_eq!(req.image, "bb");
        assert_eq!(req.options.command, ["echo", "hi"]);
        assert_eq!(req.options.env, ["A=1"]);
        assert_eq!(req.options.workdir.as_deref(), Some("/tmp"));
        assert!(req.auto_remove);
        assert_eq!(req.name, None);
        assert_eq!(req.labels, [("k".to_string(), "v".to_string())]);
    }

    #[test]
    fn mounts_volumes_and_ports_go_through_the_cli_parsers() {
        let req = create_request(spec(json!({
            "image": "bb", "name": "web",
            "netns": {"nsmode": "none"},
            "mounts": [
                {"destination": "/b", "type": "bind", "source": "/a", "options": ["rbind", "ro"]},
                {"destination": "/t", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"]},
            ],
            "volumes": [{"Name": "data", "Dest": "/data", "Options": []}],
        })))
        .unwrap();
        assert_eq!(req.name.as_deref(), Some("web"));
        assert_eq!(
            req.options.volumes,
            ["/a:/b:ro".parse().unwrap(), "data:/data".parse().unwrap()]
        );
        assert_eq!(req.options.tmpfs, ["/t:size=1m"]);
        assert_eq!(req.options.network, berth_run::options::Network::None);
        let p = PortMapping {
            host_ip: "127.0.0.1".into(),
            container_port: 80,
            host_port: 8080,
            range: 2,
            protocol: "tcp,udp".into(),
        };
        assert_eq!(
            publish_args(&p),
            [
                "127.0.0.1:8080-8081:80-81/tcp",
                "127.0.0.1:8080-8081:80-81/udp"
            ]
        );
        let p = PortMapping {
            container_port: 80,
            ..PortMapping::default()
        };
        assert_eq!(publish_args(&p), ["80/tcp"]);
    }

    #[test]
    fn a_pod_is_the_run_option_pod() {
        // `podman --remote run --pod p`: served since the pod endpoints (was refused).
        let req = create_request(spec(json!({"image": "bb", "pod": "p"}))).unwrap();
        assert_eq!(req.options.pod.as_deref(), Some("p"));
    }

    #[test]
    fn unserved_fields_are_refused_by_name() {
        for (body, field) in [
            (
                json!({"image": "bb", "devices": [{"path": "/dev/fuse"}]}),
                "devices",
            ),
            (
                json!({"image": "bb", "resource_limits": {"memory": {"limit": 1}}}),
                "resource_limits",
            ),
            (
                json!({"image": "bb", "netns": {"nsmode": "nosuch"}}),
                "netns",
            ),
            (
                json!({"image": "bb", "mounts": [{"destination": "/d", "type": "devpts"}]}),
                "mounts",
            ),
            (json!({}), "image"),
        ] {
            let e = create_request(spec(body)).unwrap_err();
            assert_eq!(e.status, axum::http::StatusCode::BAD_REQUEST);
            assert!(e.message.contains(field), "{}", e.message);
        }
    }
}
