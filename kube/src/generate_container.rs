//! One berth container as a Kubernetes v1 `Container` (with the pod `Volume`s its mounts need
//! and its DNS settings), as Podman 4.3's `containerToV1Container` (libpod/kube.go) makes it:
//!
//! - `command`/`args`: the entrypoint and the command; the command is left out when it is the
//!   image's `Cmd` or `Entrypoint` (the image gives it already).
//! - `env`: only what differs from the image's environment and the engine's defaults.
//! - `workingDir` when not `/` nor the image's; `ports` with `hostPort` (and `hostIP` when
//!   bound to one); TCP is Kubernetes' default protocol and is not written.
//! - `securityContext`: `privileged`, or the capabilities added and dropped against the
//!   default set; `readOnlyRootFilesystem` (`--read-only`), `allowPrivilegeEscalation: false`
//!   (`no-new-privileges`), `runAsUser`/`runAsGroup` for a `--user` other than the image's.
//! - `resources.limits`: `memory` and `cpu` from the spec's cgroup settings, in Kubernetes
//!   quantities (`64Mi`, `500m`).
//! - `volumeMounts`: a bind mount is a `hostPath` volume named after its path
//!   (`srv-data-host-0`), a named or anonymous volume a `persistentVolumeClaim` (`NAME-pvc`).

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use berth_run::options::VolumeSource;
use berth_run::volumes::Volumes;
use berth_run::{Container, Engine};
use k8s_openapi::api::core::v1 as k8s;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use oci_spec::runtime::Spec;

use crate::generate_error::GenerateError;

/// Podman's default environment: values equal to these are not written (berth's own
/// `container=berth` too).
const DEFAULT_ENV: &[(&str, &str)] = &[
    ("PATH", berth_run::spec::DEFAULT_PATH),
    ("TERM", "xterm"),
    ("container", "podman"),
];

/// What one container contributes to its pod.
pub(crate) struct KubeContainer {
    pub container: k8s::Container,
    pub volumes: Vec<k8s::Volume>,
    pub dns: k8s::PodDNSConfig,
}

/// The parts of a container's image config `kube generate` compares with.
#[derive(Default)]
struct ImageDefaults {
    cmd: Option<Vec<String>>,
    entrypoint: Option<Vec<String>>,
    workdir: Option<String>,
    user: Option<String>,
    env: Vec<String>,
}

fn image_defaults(engine: &Engine<'_>, c: &Container) -> ImageDefaults {
    let store = engine.store();
    let Some(config) = c
        .image_id
        .as_ref()
        .and_then(|id| store.lookup_image(id.as_ref()).ok())
        .and_then(|img| store.image_config(&img).ok())
        .and_then(|cfg| cfg.config().clone())
    else {
        return ImageDefaults::default();
    };
    ImageDefaults {
        cmd: config.cmd().clone(),
        entrypoint: config.entrypoint().clone(),
        workdir: config.working_dir().clone(),
        user: config.user().clone(),
        env: config.env().clone().unwrap_or_default(),
    }
}

/// `c` as a Kubernetes container; `pod_output` keeps the empty `resources: {}` Podman writes
/// for a pod's containers (it leaves it out for lone containers).
pub(crate) fn kube_container(
    engine: &Engine<'_>,
    c: &Container,
    pod_output: bool,
) -> Result<KubeContainer, GenerateError> {
    let opts = &c.options;
    let image = image_defaults(engine, c);
    let spec = c.spec.get()?;

    // Command and arguments, as the inspect record splits them.
    let entrypoint = match &opts.entrypoint {
        Some(e) => e.clone(),
        None => image.entrypoint.clone().unwrap_or_default(),
    };
    let cmd = c
        .command
        .strip_prefix(entrypoint.as_slice())
        .unwrap_or(&c.command)
        .to_vec();
    let (mut command, args) = if entrypoint.is_empty() {
        (cmd, Vec::new())
    } else {
        (entrypoint, cmd)
    };
    if image.cmd.as_ref() == Some(&command) || image.entrypoint.as_ref() == Some(&command) {
        command.clear();
    }

    let cwd = spec
        .process()
        .as_ref()
        .map(|p| p.cwd().display().to_string())
        .unwrap_or_else(|| "/".to_string());
    let working_dir = (cwd != "/" && image.workdir.as_deref() != Some(cwd.as_str())).then_some(cwd);

    let (mounts, volumes) = volume_mounts(engine, c)?;
    Ok(KubeContainer {
        container: k8s::Container {
            name: c.name.replace('_', ""),
            image: Some(c.image_name.clone()),
            command: non_empty(command),
            args: non_empty(args),
            env: non_empty(env_vars(&opts.env, &image.env)),
            working_dir,
            ports: non_empty(container_ports(&opts.ports)),
            security_context: Some(security_context(c, &image, spec)?),
            resources: resources(spec, pod_output),
            tty: opts.terminal.then_some(true),
            volume_mounts: non_empty(mounts),
            ..k8s::Container::default()
        },
        volumes,
        dns: dns_config(opts),
    })
}

fn non_empty<T>(v: Vec<T>) -> Option<Vec<T>> {
    (!v.is_empty()).then_some(v)
}

/// The user's `-e` values that differ from the image's and the defaults (later ones win, in
/// the order first given).
fn env_vars(env: &[String], image_env: &[String]) -> Vec<k8s::EnvVar> {
    let image: HashMap<&str, &str> = image_env.iter().filter_map(|e| e.split_once('=')).collect();
    let mut out: Vec<k8s::EnvVar> = Vec::new();
    for (name, value) in env.iter().filter_map(|e| e.split_once('=')) {
        let default = DEFAULT_ENV.iter().any(|(k, v)| *k == name && *v == value)
            || (name == "container" && value == "berth");
        if default || image.get(name) == Some(&value) {
            continue;
        }
        match out.iter_mut().find(|e| e.name == name) {
            Some(e) => e.value = Some(value.to_string()),
            None => out.push(k8s::EnvVar {
                name: name.to_string(),
                value: Some(value.to_string()),
                value_from: None,
            }),
        }
    }
    out
}

/// Port mappings (ranges expanded), as Podman's `portMappingToContainerPort`.
pub(crate) fn container_ports(
    ports: &[berth_network::ports::PortMapping],
) -> Vec<k8s::ContainerPort> {
    let mut out = Vec::new();
    for p in ports {
        let protocol = match p.protocol.as_str() {
            "tcp" => None,
            other => Some(other.to_ascii_uppercase()),
        };
        for i in 0..p.range.max(1) {
            out.push(k8s::ContainerPort {
                container_port: i32::from(p.container_port) + i32::from(i),
                host_port: Some(i32::from(p.host_port) + i32::from(i)),
                host_ip: (!p.host_ip.is_empty()).then(|| p.host_ip.clone()),
                protocol: protocol.clone(),
                name: None,
            });
        }
    }
    out
}

fn security_context(
    c: &Container,
    image: &ImageDefaults,
    spec: &Spec,
) -> Result<k8s::SecurityContext, GenerateError> {
    let opts = &c.options;
    let mut sc = k8s::SecurityContext::default();
    if opts.privileged {
        sc.privileged = Some(true);
    } else {
        sc.capabilities = Some(capabilities(opts)?);
    }
    if opts.no_new_privileges {
        sc.allow_privilege_escalation = Some(false);
    }
    if opts.read_only {
        sc.read_only_root_filesystem = Some(true);
    }
    if let Some(user) = opts.user.as_deref().filter(|u| !u.is_empty()) {
        if image.user.as_deref() != Some(user) {
            if let Some(p) = spec.process().as_ref() {
                sc.run_as_user = Some(i64::from(p.user().uid()));
                sc.run_as_group = Some(i64::from(p.user().gid()));
            }
        }
    }
    Ok(sc)
}

/// The capabilities added to and dropped from berth's default set (Podman's), with the
/// `CAP_` names Kubernetes takes.
fn capabilities(opts: &berth_run::RunOptions) -> Result<k8s::Capabilities, GenerateError> {
    let have: BTreeSet<String> = berth_run::caps::capabilities(opts)?
        .iter()
        .map(|c| format!("CAP_{c}"))
        .collect();
    let defaults: Vec<String> = berth_run::caps::DEFAULT_CAPS
        .iter()
        .map(|c| format!("CAP_{c}"))
        .collect();
    let drop: Vec<String> = defaults
        .iter()
        .filter(|c| !have.contains(*c))
        .cloned()
        .collect();
    let add: Vec<String> = have
        .iter()
        .filter(|c| !defaults.contains(c))
        .cloned()
        .collect();
    Ok(k8s::Capabilities {
        add: non_empty(add),
        drop: non_empty(drop),
    })
}

/// Memory and CPU limits from the spec's cgroup settings; `None` for none, unless
/// `keep_empty` (Podman's pods keep `resources: {}`).
fn resources(spec: &Spec, keep_empty: bool) -> Option<k8s::ResourceRequirements> {
    let res = spec.linux().as_ref().and_then(|l| l.resources().as_ref());
    let mut limits = std::collections::BTreeMap::new();
    if let Some(limit) = res
        .and_then(|r| r.memory().as_ref())
        .and_then(|m| m.limit())
    {
        limits.insert("memory".to_string(), Quantity(binary_quantity(limit)));
    }
    if let Some(cpu) = res.and_then(|r| r.cpu().as_ref()) {
        if let (Some(quota), Some(period)) = (cpu.quota(), cpu.period()) {
            if quota > 0 && period > 0 {
                // Podman: 1000 × quota / period, truncated; finer than 1m is not allowed.
                let milli = (1000.0 * quota as f64 / period as f64) as i64;
                if milli >= 1 {
                    limits.insert("cpu".to_string(), Quantity(milli_quantity(milli)));
                }
            }
        }
    }
    if limits.is_empty() {
        return keep_empty.then(k8s::ResourceRequirements::default);
    }
    Some(k8s::ResourceRequirements {
        limits: Some(limits),
        ..k8s::ResourceRequirements::default()
    })
}

/// A byte count as Kubernetes' canonical binary-SI quantity (`64Mi`; `1500` when no power of
/// 1024 divides it).
pub(crate) fn binary_quantity(bytes: i64) -> String {
    const SUFFIXES: [&str; 6] = ["Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];
    let mut value = bytes;
    let mut suffix = "";
    for s in SUFFIXES {
        if value == 0 || value % 1024 != 0 {
            break;
        }
        value /= 1024;
        suffix = s;
    }
    format!("{value}{suffix}")
}

/// Thousandths of a unit as Kubernetes' canonical decimal quantity (`500m`, `2`, `1500m`).
pub(crate) fn milli_quantity(milli: i64) -> String {
    if milli % 1000 == 0 {
        let units = milli / 1000;
        if units != 0 && units % 1000 == 0 {
            return binary_free_decimal(units);
        }
        return units.to_string();
    }
    format!("{milli}m")
}

/// Whole units with the largest decimal suffix that keeps them exact (`2k`, `3M`).
fn binary_free_decimal(units: i64) -> String {
    const SUFFIXES: [&str; 6] = ["k", "M", "G", "T", "P", "E"];
    let mut value = units;
    let mut suffix = "";
    for s in SUFFIXES {
        if value % 1000 != 0 {
            break;
        }
        value /= 1000;
        suffix = s;
    }
    format!("{value}{suffix}")
}

/// `--dns`, `--dns-search`, `--dns-option` (`NAME[:VALUE]`).
fn dns_config(opts: &berth_run::RunOptions) -> k8s::PodDNSConfig {
    k8s::PodDNSConfig {
        nameservers: non_empty(opts.dns_servers.iter().map(ToString::to_string).collect()),
        searches: non_empty(opts.dns_search.clone()),
        options: non_empty(
            opts.dns_options
                .iter()
                .map(|o| {
                    let (name, value) = o.split_once(':').unwrap_or((o, ""));
                    k8s::PodDNSConfigOption {
                        name: Some(name.to_string()),
                        value: Some(value.to_string()),
                    }
                })
                .collect(),
        ),
    }
}

/// The container's `-v` mounts: bind mounts first (`PATH-host-INDEX` hostPath volumes), then
/// named and anonymous volumes (`NAME-pvc` claims), as Podman orders them.
fn volume_mounts(
    engine: &Engine<'_>,
    c: &Container,
) -> Result<(Vec<k8s::VolumeMount>, Vec<k8s::Volume>), GenerateError> {
    let opts = &c.options;
    let names: Vec<&String> = opts
        .named_volumes
        .iter()
        .chain(&opts.anonymous_volumes)
        .collect();
    let vols = if names.is_empty() {
        None
    } else {
        Some(Volumes::open(engine.store().root())?)
    };
    let volume_named = |source: &Path| -> Option<String> {
        let vols = vols.as_ref()?;
        names.iter().find_map(|n| {
            vols.find(n)
                .ok()
                .flatten()
                .filter(|v| v.mountpoint == source)
                .map(|v| v.name)
        })
    };
    let (mut mounts, mut volumes) = (Vec::new(), Vec::new());
    let mut claims = Vec::new();
    for v in &opts.volumes {
        let VolumeSource::Host(source) = &v.source else {
            continue;
        };
        let read_only = v.read_only().then_some(true);
        if let Some(name) = volume_named(source) {
            claims.push((name, v.destination.clone(), read_only));
            continue;
        }
        let name = format!("{}-host-{}", volume_path_name(source), mounts.len());
        let kind = match std::fs::metadata(source) {
            Ok(m) if m.is_dir() => "Directory",
            Ok(_) => "File",
            Err(_) => "DirectoryOrCreate",
        };
        mounts.push(k8s::VolumeMount {
            name: name.clone(),
            mount_path: v.destination.clone(),
            read_only,
            ..k8s::VolumeMount::default()
        });
        volumes.push(k8s::Volume {
            name,
            host_path: Some(k8s::HostPathVolumeSource {
                path: source.display().to_string(),
                type_: Some(kind.to_string()),
            }),
            ..k8s::Volume::default()
        });
    }
    for (claim, destination, read_only) in claims {
        let name = format!("{claim}-pvc");
        mounts.push(k8s::VolumeMount {
            name: name.clone(),
            mount_path: destination,
            read_only,
            ..k8s::VolumeMount::default()
        });
        volumes.push(k8s::Volume {
            name,
            persistent_volume_claim: Some(k8s::PersistentVolumeClaimVolumeSource {
                claim_name: claim,
                read_only,
            }),
            ..k8s::Volume::default()
        });
    }
    Ok((mounts, volumes))
}

/// A host path as a volume name: `/` is `root`, else the path without its outer slashes and
/// with `-` for the others (`/srv/data/` → `srv-data`).
fn volume_path_name(path: &Path) -> String {
    let text = path.to_string_lossy();
    match text.trim_matches('/') {
        "" => "root".to_string(),
        trimmed => trimmed.replace('/', "-"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_as_kubernetes_writes_them() {
        assert_eq!(binary_quantity(64 << 20), "64Mi");
        assert_eq!(binary_quantity(1 << 30), "1Gi");
        assert_eq!(binary_quantity(1500), "1500");
        assert_eq!(binary_quantity(6 << 10), "6Ki");
        assert_eq!(milli_quantity(500), "500m");
        assert_eq!(milli_quantity(2000), "2");
        assert_eq!(milli_quantity(1500), "1500m");
    }

    #[test]
    fn env_keeps_only_what_differs() {
        let env = vec![
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_string(),
            "FOO=bar".to_string(),
            "IMG=same".to_string(),
            "IMG2=changed".to_string(),
            "FOO=baz".to_string(),
        ];
        let image = vec!["IMG=same".to_string(), "IMG2=orig".to_string()];
        let got: Vec<(String, Option<String>)> = env_vars(&env, &image)
            .into_iter()
            .map(|e| (e.name, e.value))
            .collect();
        assert_eq!(
            got,
            [
                ("FOO".to_string(), Some("baz".to_string())),
                ("IMG2".to_string(), Some("changed".to_string()))
            ]
        );
    }

    #[test]
    fn volume_names_from_paths() {
        assert_eq!(volume_path_name(Path::new("/")), "root");
        assert_eq!(volume_path_name(Path::new("/srv/data/")), "srv-data");
    }

    #[test]
    fn capabilities_against_the_defaults() {
        let opts = berth_run::RunOptions {
            cap_add: vec!["net_admin".into()],
            cap_drop: vec!["CHOWN".into()],
            ..berth_run::RunOptions::default()
        };
        let caps = capabilities(&opts).unwrap();
        assert_eq!(caps.add.unwrap(), ["CAP_NET_ADMIN"]);
        assert_eq!(caps.drop.unwrap(), ["CAP_CHOWN"]);
        let caps = capabilities(&berth_run::RunOptions::default()).unwrap();
        assert!(caps.add.is_none() && caps.drop.is_none());
    }
}
