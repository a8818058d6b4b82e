//! `kube generate`: berth containers and pods as Kubernetes v1 YAML, as Podman 4.3's
//! `podman kube generate` writes it (libpod/kube.go, pkg/domain/infra/abi/generate.go).
//!
//! - A pod becomes one `Pod`: its members (oldest first; the infra container is not one of
//!   them) as containers ([`crate::generate_container`]), the infra container's published
//!   ports on the first member, its `--add-host` entries as `hostAliases`, its DNS settings as
//!   `dnsConfig`; `hostname` (the first member's, unless it is its short id), `restartPolicy`
//!   (the first member's: `Always`, `OnFailure`, else `Never`), `shareProcessNamespace` when
//!   the pod shares its PID namespace, `hostNetwork` when its network is the host's; each
//!   member's annotations as `KEY/CONTAINER`; the label `app: POD`.
//! - Containers that are in no pod become one `Pod` together, named after the first one
//!   (`NAME-pod` when that is also a container's name), without a restart policy.
//! - `--service`: a `NodePort` `Service` per pod of its published ports, node ports drawn at
//!   random in 30000-32767 as Podman does, before the pods.
//! - The documents are separated by `---` after Podman's header comment, naming berth.
//!
//! Every document is a k8s-openapi value serialized by serde_norway (YAML 1.1's booleans
//! quoted, [`crate::generate_yaml`]); nothing is written by hand but the comments Podman writes
//! around them.

use std::collections::BTreeMap;

use berth_run::pod::{Pod, SharedNamespace};
use berth_run::restart_policy::RestartPolicy;
use berth_run::{Container, Engine, RunError};
use k8s_openapi::api::core::v1 as k8s;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use k8s_openapi::chrono::{SubsecRound, Utc};

use crate::generate_container::{container_ports, kube_container, KubeContainer};
pub use crate::generate_error::GenerateError;

/// What `kube generate` was asked for.
#[derive(Debug, Clone, Copy, Default)]
pub struct GenerateOptions {
    /// `--service`: a Service of each pod's published ports.
    pub service: bool,
}

/// Podman's header, with berth's name and version.
fn header() -> String {
    format!(
        "# Save the output of this file and use kubectl create -f to import\n# it into \
         Kubernetes.\n#\n# Created with berth-{}\n",
        env!("CARGO_PKG_VERSION")
    )
}

/// Podman's note for a pod whose namespace sharing is not Kubernetes' (ipc, net and uts).
const SHARING_NOTE: &str = "
# NOTE: The namespace sharing for a pod has been modified by the user and is not the same as the
# default settings for kubernetes. This can lead to unexpected behavior when running the generated
# kube yaml in a kubernetes cluster.
";

/// Podman's note for containers with volumes.
const VOLUMES_NOTE: &str = "
# NOTE: If you generated this yaml from an unprivileged and rootless podman container on an SELinux
# enabled system, check the podman generate kube man page for steps to follow to ensure that your pod/container
# has the right permissions to access the volumes added.
";

/// The YAML for `names` (containers or pods, by name or id), as `podman kube generate`.
pub fn generate(
    engine: &Engine<'_>,
    names: &[String],
    opts: GenerateOptions,
) -> Result<String, GenerateError> {
    let mut pods = Vec::new();
    let mut lone = Vec::new();
    for name in names {
        match engine.get(name) {
            Ok(c) => {
                if let Some(pod) = &c.options.pod {
                    return Err(GenerateError::InPod {
                        container: c.id,
                        pod: pod.clone(),
                    });
                }
                lone.push(c);
                continue;
            }
            Err(RunError::NoSuchContainer(_)) => {}
            Err(e) => return Err(e.into()),
        }
        match engine.pod(name) {
            Ok(pod) => pods.push(pod),
            Err(RunError::NoSuchPod(_)) => return Err(GenerateError::NotFound(name.clone())),
            Err(e) => return Err(e.into()),
        }
    }
    let mut content: Vec<String> = Vec::new();
    let mut pod_content: Vec<String> = Vec::new();
    if pods.iter().any(|p| !default_sharing(p)) {
        content.push(SHARING_NOTE.to_string());
    }
    for pod in &pods {
        let (doc, ports) = pod_document(engine, pod)?;
        if opts.service {
            content.push(yaml(&service(&doc, &ports))?);
        }
        pod_content.push(yaml(&doc)?);
    }
    if !lone.is_empty() {
        let doc = containers_document(engine, &lone)?;
        let spec = doc.spec.as_ref();
        if spec.is_some_and(|s| s.volumes.is_some()) {
            content.push(VOLUMES_NOTE.to_string());
        }
        pod_content.push(yaml(&doc)?);
        if opts.service {
            let ports: Vec<k8s::ContainerPort> = spec
                .map(|s| s.containers.iter())
                .into_iter()
                .flatten()
                .flat_map(|c| c.ports.clone().unwrap_or_default())
                .collect();
            content.push(yaml(&service(&doc, &ports))?);
        }
    }
    content.extend(pod_content);
    Ok(header() + &content.join("---\n"))
}

fn yaml<T: serde::Serialize>(value: &T) -> Result<String, GenerateError> {
    crate::generate_yaml::to_yaml(value).map_err(|e| GenerateError::Yaml(e.to_string()))
}

/// Whether a pod shares what a Kubernetes pod shares (IPC, network and UTS).
fn default_sharing(pod: &Pod) -> bool {
    [
        SharedNamespace::Ipc,
        SharedNamespace::Net,
        SharedNamespace::Uts,
    ]
    .into_iter()
    .all(|ns| pod.shares(ns))
}

/// A pod's `metadata`: its name, `app: NAME` and the time of writing.
fn metadata(name: &str, annotations: BTreeMap<String, String>) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_string()),
        labels: Some(BTreeMap::from([("app".to_string(), name.replace('_', ""))])),
        annotations: (!annotations.is_empty()).then_some(annotations),
        creation_timestamp: Some(Time(Utc::now().trunc_subsecs(0))),
        ..ObjectMeta::default()
    }
}

/// Kubernetes only takes annotation values of fewer than 63 characters (Podman truncates).
fn annotation_value(v: &str) -> String {
    v.trim().chars().take(63).collect()
}

/// The annotations Podman writes for a container (its spec's, as `KEY/CONTAINER`): the user's
/// `--annotation`s and Podman's own settings.
fn container_annotations(c: &Container, pod: Option<&Pod>, out: &mut BTreeMap<String, String>) {
    let name = c.name.replace('_', "");
    let upper = |b: bool| if b { "TRUE" } else { "FALSE" }.to_string();
    let mut put = |k: &str, v: String| {
        out.insert(format!("{k}/{name}"), annotation_value(&v));
    };
    let opts = &c.options;
    if let Some(pod) = pod {
        put("io.kubernetes.cri-o.ContainerType", "container".to_string());
        put("io.kubernetes.cri-o.SandboxID", pod.id.clone());
    }
    put("io.kubernetes.cri-o.TTY", opts.terminal.to_string());
    put("io.podman.annotations.autoremove", upper(c.auto_remove));
    put("io.podman.annotations.init", upper(opts.init));
    put("io.podman.annotations.privileged", upper(opts.privileged));
    put("io.podman.annotations.publish-all", upper(opts.publish_all));
    for (k, v) in &opts.annotations {
        put(k, v.clone());
    }
}

/// The host name a pod writes: the container's own, unless it is (part of) its id.
fn hostname_of(c: &Container) -> Option<String> {
    let h = c.options.hostname.as_deref()?;
    (!h.is_empty() && !c.id.contains(h)).then(|| h.to_string())
}

/// A pod's `Pod` document and the ports its Service would publish.
fn pod_document(
    engine: &Engine<'_>,
    pod: &Pod,
) -> Result<(k8s::Pod, Vec<k8s::ContainerPort>), GenerateError> {
    let all = engine.pod_containers(pod)?;
    let infra_id = pod.config.infra_id.as_deref();
    let infra = all.iter().find(|c| Some(c.id.as_str()) == infra_id);
    let mut members: Vec<&Container> = all
        .iter()
        .filter(|c| Some(c.id.as_str()) != infra_id)
        .collect();
    if members.is_empty() {
        return Err(GenerateError::Empty {
            pod: pod.id.clone(),
            only_infra: infra.is_some(),
        });
    }
    members.sort_by_key(|c| c.created);

    let ports = infra
        .map(|i| container_ports(&i.options.ports))
        .unwrap_or_default();
    let mut annotations = BTreeMap::new();
    let mut containers = Vec::new();
    let mut volumes: Vec<k8s::Volume> = Vec::new();
    let mut hostname = None;
    let mut first = true;
    for c in &members {
        container_annotations(c, Some(pod), &mut annotations);
        if hostname.is_none() {
            hostname = hostname_of(c);
        }
        let KubeContainer {
            mut container,
            volumes: vols,
            ..
        } = kube_container(engine, c, true)?;
        if pod.shares(SharedNamespace::Net) {
            container.ports = None;
            if first && !ports.is_empty() {
                container.ports = Some(ports.clone());
                first = false;
            }
        }
        containers.push(container);
        for v in vols {
            if !volumes.iter().any(|have| have.name == v.name) {
                volumes.push(v);
            }
        }
    }
    let mut spec = pod_spec(containers, volumes, hostname);
    spec.restart_policy = Some(restart_policy(members[0].options.restart).to_string());
    if let Some(infra) = infra {
        let opts = &infra.options;
        let aliases: Vec<k8s::HostAlias> = opts
            .add_hosts
            .iter()
            .map(|h| k8s::HostAlias {
                ip: h.ip.to_string(),
                hostnames: Some(vec![h.name.clone()]),
            })
            .collect();
        spec.host_aliases = (!aliases.is_empty()).then_some(aliases);
        spec.host_network = (opts.network == berth_run::options::Network::Host).then_some(true);
        let dns = kube_container(engine, infra, true)?.dns;
        if dns != k8s::PodDNSConfig::default() {
            spec.dns_config = Some(dns);
        }
    }
    if pod.shares(SharedNamespace::Pid) {
        spec.share_process_namespace = Some(true);
    }
    let doc = k8s::Pod {
        metadata: metadata(&pod.name, annotations),
        spec: Some(spec),
        // Podman writes an empty status for a pod (not for lone containers).
        status: Some(k8s::PodStatus::default()),
    };
    Ok((doc, ports))
}

/// Podman's restart policy of a pod: its first member's.
fn restart_policy(policy: RestartPolicy) -> &'static str {
    match policy {
        RestartPolicy::Always => "Always",
        RestartPolicy::OnFailure { .. } => "OnFailure",
        // Podman 4.3 writes `Never` for no policy and for `unless-stopped` alike.
        RestartPolicy::No | RestartPolicy::UnlessStopped => "Never",
    }
}

fn pod_spec(
    containers: Vec<k8s::Container>,
    volumes: Vec<k8s::Volume>,
    hostname: Option<String>,
) -> k8s::PodSpec {
    k8s::PodSpec {
        containers,
        volumes: (!volumes.is_empty()).then_some(volumes),
        hostname,
        // Podman uses neither service links nor service account tokens.
        enable_service_links: Some(false),
        automount_service_account_token: Some(false),
        ..k8s::PodSpec::default()
    }
}

/// Containers of no pod as one `Pod`, as Podman's `simplePodWithV1Containers`.
fn containers_document(
    engine: &Engine<'_>,
    containers: &[Container],
) -> Result<k8s::Pod, GenerateError> {
    let mut annotations = BTreeMap::new();
    let mut kube = Vec::new();
    let mut volumes = Vec::new();
    let mut hostname = None;
    let mut host_network = true;
    let mut dns = k8s::PodDNSConfig::default();
    for c in containers {
        container_annotations(c, None, &mut annotations);
        if hostname.is_none() {
            hostname = hostname_of(c);
        }
        host_network &= c.options.network == berth_run::options::Network::Host;
        let made = kube_container(engine, c, false)?;
        kube.push(made.container);
        volumes.extend(made.volumes);
        merge_dns(&mut dns, made.dns);
    }
    let names: Vec<&str> = kube.iter().map(|c| c.name.as_str()).collect();
    let mut name = containers[0].name.replace('_', "");
    if names.contains(&name.as_str()) {
        name.push_str("-pod");
    }
    let mut spec = pod_spec(kube, volumes, hostname);
    spec.host_network = host_network.then_some(true);
    if dns != k8s::PodDNSConfig::default() {
        spec.dns_config = Some(dns);
    }
    Ok(k8s::Pod {
        metadata: metadata(&name, annotations),
        spec: Some(spec),
        status: None,
    })
}

/// Podman's sum of its containers' DNS settings: servers and search domains once each.
fn merge_dns(into: &mut k8s::PodDNSConfig, from: k8s::PodDNSConfig) {
    for s in from.nameservers.unwrap_or_default() {
        let have = into.nameservers.get_or_insert_with(Vec::new);
        if !have.contains(&s) {
            have.push(s);
        }
    }
    for s in from.searches.unwrap_or_default() {
        let have = into.searches.get_or_insert_with(Vec::new);
        if !have.contains(&s) {
            have.push(s);
        }
    }
    if let Some(options) = from.options {
        into.options.get_or_insert_with(Vec::new).extend(options);
    }
}

/// A `NodePort` Service of `ports` for `pod` (its name and labels, no annotations).
fn service(pod: &k8s::Pod, ports: &[k8s::ContainerPort]) -> k8s::Service {
    let mut used = Vec::new();
    let ports = ports
        .iter()
        .map(|p| k8s::ServicePort {
            name: Some(p.container_port.to_string()),
            node_port: Some(node_port(&mut used)),
            port: p.container_port,
            protocol: p.protocol.clone(),
            target_port: Some(IntOrString::Int(p.container_port)),
            ..k8s::ServicePort::default()
        })
        .collect();
    let app = pod
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get("app"))
        .cloned()
        .unwrap_or_default();
    k8s::Service {
        metadata: ObjectMeta {
            annotations: None,
            ..pod.metadata.clone()
        },
        spec: Some(k8s::ServiceSpec {
            ports: Some(ports),
            selector: Some(BTreeMap::from([("app".to_string(), app)])),
            type_: Some("NodePort".to_string()),
            ..k8s::ServiceSpec::default()
        }),
        status: None,
    }
}

/// A node port in Kubernetes' range (30000-32767) not in `used`, drawn at random as Podman
/// draws it.
fn node_port(used: &mut Vec<i32>) -> i32 {
    use std::hash::{BuildHasher, Hasher};
    let state = std::collections::hash_map::RandomState::new();
    let mut n = 0u64;
    loop {
        let mut h = state.build_hasher();
        h.write_u64(n);
        n += 1;
        let port = 30000 + (h.finish() % (32767 - 30000 + 1)) as i32;
        if !used.contains(&port) {
            used.push(port);
            return port;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_ports_are_in_range_and_distinct() {
        let mut used = Vec::new();
        for _ in 0..200 {
            let p = node_port(&mut used);
            assert!((30000..=32767).contains(&p));
        }
        let mut sorted = used.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), 200);
    }

    #[test]
    fn restart_policies_as_podman() {
        assert_eq!(restart_policy(RestartPolicy::Always), "Always");
        assert_eq!(
            restart_policy(RestartPolicy::OnFailure { max_retries: 3 }),
            "OnFailure"
        );
        assert_eq!(restart_policy(RestartPolicy::No), "Never");
        assert_eq!(restart_policy(RestartPolicy::UnlessStopped), "Never");
    }

    #[test]
    fn annotation_values_are_cut_at_63() {
        assert_eq!(annotation_value(&"a".repeat(64)).len(), 63);
        assert_eq!(annotation_value(" x "), "x");
    }
}
