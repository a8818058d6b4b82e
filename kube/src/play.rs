//! `kube play`: a file's documents to volumes, secrets, pods and containers, through the
//! library calls `pod create` and `create --pod` use (`Engine::create_pod`, `Engine::create`,
//! `start_pod`). Order, as Podman 4.3: PersistentVolumeClaims and Secrets first, then each pod
//! (its infra container with the containers' `hostPort`s published, its volumes, its init
//! containers, its containers), then the start: the init containers one after another, each
//! run to completion and removed (Podman's default `once` type), then the pod.
//!
//! Nothing is made when a pod name is taken (Podman's "name … is in use: pod already
//! exists", checked for every pod before the first is made; `--replace` removes them first);
//! when a pod's making fails, that pod and those made before it (and the secrets made) are
//! removed again (Podman leaves them), so the file can be played again as it is.

use std::ffi::OsString;
use std::path::PathBuf;

use anyhow::{anyhow, bail, Context, Result};
use berth_run::names::check_name;
use berth_run::options::NetworkFlags;
use berth_run::pod::{Pod, PodOptions};
use berth_run::restart_policy::RestartPolicy;
use berth_run::secrets::SecretStore;
use berth_run::volumes::Volumes;
use berth_run::{Engine, RunError};
use k8s_openapi::api::core::v1::{ConfigMap, Container, PodSpec};

use crate::documents::{Document, Documents};
use crate::play_container::{request, PodContext};
use crate::play_volumes::{check_file_name, empty_dir_name, known_secrets, resolve, store_secret};
use crate::pods::{planned, PlannedPod};

/// What the front end decides: `kube play`'s flags and how images are found.
pub struct PlayOptions<'a> {
    /// `--replace`: `kube down` of the same file first.
    pub replace: bool,
    /// `--start` (default true).
    pub start: bool,
    /// `--network`: every pod's network instead of the default.
    pub network: Vec<String>,
    /// `--publish`: more ports on every pod's infra container.
    pub publish: Vec<String>,
    /// `--no-hosts`: the pods keep their images' /etc/hosts.
    pub no_hosts: bool,
    /// `--configmap FILE`s, read.
    pub config_maps: Vec<ConfigMap>,
    /// The image to create a container from: `(image, pull policy)` (`missing`, `always`,
    /// `never`) → what to look the image up by (pulled or built first as the front end does).
    pub image: &'a dyn Fn(&str, &str) -> Result<String>,
    /// This berth binary and its global flags (for the containers' monitors).
    pub berth_exe: PathBuf,
    pub global_args: Vec<OsString>,
    /// `create_command` of the pods (`pod inspect`'s CreateCommand).
    pub create_command: Vec<String>,
    /// The front end's defaults every container starts from (containers.conf's
    /// `default_ulimits`, as `run` has them); the YAML's fields go over them.
    pub defaults: berth_run::RunOptions,
}

/// A pod made.
#[derive(Debug, Clone, Default)]
pub struct PlayedPod {
    pub id: String,
    pub containers: Vec<String>,
    pub init_containers: Vec<String>,
}

/// What `kube play` made (Podman's report: volumes, then each pod with its containers).
#[derive(Debug, Clone, Default)]
pub struct PlayReport {
    pub volumes: Vec<String>,
    pub secrets: Vec<String>,
    pub pods: Vec<PlayedPod>,
}

/// Play `docs` (their warnings are the caller's to print first).
pub fn play(engine: &Engine<'_>, docs: &Documents, opts: &PlayOptions<'_>) -> Result<PlayReport> {
    let pods = planned(&docs.documents)?;
    let mut config_maps: Vec<ConfigMap> = Vec::new();
    for doc in &docs.documents {
        if let Document::ConfigMap(cm) = doc {
            config_maps.push((**cm).clone());
        }
    }
    for cm in &opts.config_maps {
        let name = cm.metadata.name.as_deref().unwrap_or("");
        if config_maps
            .iter()
            .any(|c| c.metadata.name.as_deref() == Some(name))
        {
            bail!("ambiguous configuration: the same config map {name} is present in YAML and in --configmaps");
        }
        config_maps.push(cm.clone());
    }
    let played_kinds = docs.documents.iter().any(|d| {
        matches!(
            d,
            Document::Pod(_)
                | Document::Deployment(_)
                | Document::DaemonSet(_)
                | Document::Claim(_)
                | Document::Secret(_)
        )
    });
    if !played_kinds {
        if !config_maps.is_empty() {
            bail!(
                "ConfigMaps in podman are not a standalone object and must be used in a container"
            );
        }
        bail!("YAML document does not contain any supported kube kind");
    }
    // Podman's refusal: the default and host networks are the YAML's to choose.
    if let [only] = opts.network.as_slice() {
        if only == "bridge" || only == "host" {
            bail!("invalid value passed to --network: bridge or host networking must be configured in YAML");
        }
    }
    for p in &pods {
        check_name(&p.name).with_context(|| format!("pod name {:?}", p.name))?;
    }
    // Every key may become a file: checked before anything is made.
    for cm in &config_maps {
        let name = cm.metadata.name.as_deref().unwrap_or("");
        for key in cm.data.iter().flatten().map(|(k, _)| k) {
            check_file_name("ConfigMap key", key).with_context(|| format!("ConfigMap {name}"))?;
        }
    }
    if opts.replace {
        crate::down::down(engine, docs, true, false)?;
    } else {
        for p in &pods {
            match engine.pod(&p.name) {
                Ok(existing) if existing.name == p.name => {
                    return Err(in_pod(p, RunError::PodNameInUse(p.name.clone()).into()));
                }
                Ok(_) | Err(RunError::NoSuchPod(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    let mut report = PlayReport::default();
    let store_volumes = Volumes::open(engine.store().root())?;
    let secrets = SecretStore::new(engine.store().root());
    let made = (|| -> Result<()> {
        for doc in &docs.documents {
            claim_or_secret(doc, &store_volumes, &secrets, &mut report)?;
        }
        Ok(())
    })();
    if let Err(e) = made {
        for name in &report.secrets {
            let _ = secrets.remove(name);
        }
        return Err(e);
    }
    let known = known_secrets(&secrets)?;
    for (i, p) in pods.iter().enumerate() {
        match play_pod(engine, p, &config_maps, &known, &store_volumes, opts) {
            Ok(played) => report.pods.push(played),
            Err(e) => {
                // The file's pods come and go together: what this play made is undone, so
                // the next play (or `kube down`) finds none of it half made.
                for (made, q) in report.pods.iter().zip(&pods[..i]) {
                    if let Ok(pod) = engine.pod(&made.id) {
                        undo_pod(engine, &pod, q);
                    }
                }
                for name in &report.secrets {
                    let _ = secrets.remove(name);
                }
                return Err(in_pod(p, e));
            }
        }
    }
    Ok(report)
}

/// A PersistentVolumeClaim's volume (an existing one reused) or a Secret's keys, into the
/// report.
fn claim_or_secret(
    doc: &Document,
    store_volumes: &Volumes,
    secrets: &SecretStore,
    report: &mut PlayReport,
) -> Result<()> {
    match doc {
        Document::Claim(c) => {
            let name = c.metadata.name.as_deref().unwrap_or("").trim();
            if name.is_empty() {
                bail!("persistent volume claim name can not be empty");
            }
            let labels = c.metadata.labels.clone().unwrap_or_default();
            let vol = match store_volumes.find(name)? {
                Some(v) => v,
                None => store_volumes.create_labelled(Some(name), &labels)?,
            };
            report.volumes.push(vol.name);
        }
        Document::Secret(s) => report.secrets.extend(store_secret(secrets, s)?),
        _ => {}
    }
    Ok(())
}

/// Remove a pod this play made: its containers, the pod, its emptyDir volumes.
fn undo_pod(engine: &Engine<'_>, pod: &Pod, p: &PlannedPod<'_>) {
    let _ = engine.remove_pod(pod, true);
    for v in p.spec.volumes.iter().flatten() {
        if v.empty_dir.is_some() {
            let _ = engine.remove_volume(&empty_dir_name(&p.name, &v.name));
        }
    }
}

/// Podman's context for a Deployment's or DaemonSet's pod.
fn in_pod(p: &PlannedPod<'_>, e: anyhow::Error) -> anyhow::Error {
    match p.kind {
        "Pod" => e,
        _ => e.context(format!("encountered while bringing up pod {}", p.name)),
    }
}

/// The pod's infra options: its name, host name, labels, and network (`hostNetwork`,
/// `dnsConfig`, `hostAliases`, the containers' `hostPort`s, `--network`, `--publish`).
fn pod_options(p: &PlannedPod<'_>, opts: &PlayOptions<'_>) -> Result<PodOptions> {
    let spec = p.spec;
    let mut network = NetworkFlags {
        network: opts.network.clone(),
        publish: opts.publish.clone(),
        no_hosts: opts.no_hosts,
        ..NetworkFlags::default()
    };
    let host_network = spec.host_network == Some(true) && network.network.is_empty();
    if host_network {
        network.network = vec!["host".to_string()];
    }
    // On the host's network a port is the host's already: nothing to publish.
    for c in spec.containers.iter().filter(|_| !host_network) {
        for port in c.ports.iter().flatten() {
            let Some(host) = port.host_port.filter(|p| *p > 0) else {
                continue;
            };
            let proto = port.protocol.as_deref().unwrap_or("TCP").to_lowercase();
            let ip = match port.host_ip.as_deref() {
                Some(ip) if ip.contains(':') => format!("[{ip}]:"),
                Some(ip) if !ip.is_empty() => format!("{ip}:"),
                _ => String::new(),
            };
            network
                .publish
                .push(format!("{ip}{host}:{}/{proto}", port.container_port));
        }
    }
    if let Some(dns) = &spec.dns_config {
        network.dns = dns.nameservers.clone().unwrap_or_default();
        network.dns_search = dns.searches.clone().unwrap_or_default();
        for o in dns.options.iter().flatten() {
            let name = o.name.clone().unwrap_or_default();
            network.dns_option.push(match &o.value {
                Some(v) => format!("{name}:{v}"),
                None => name,
            });
        }
    }
    for alias in spec.host_aliases.iter().flatten() {
        for host in alias.hostnames.iter().flatten() {
            network.add_host.push(format!("{host}:{}", alias.ip));
        }
    }
    Ok(PodOptions {
        name: Some(p.name.clone()),
        hostname: Some(
            spec.hostname
                .clone()
                .filter(|h| !h.is_empty())
                .unwrap_or_else(|| p.name.clone()),
        ),
        labels: p
            .meta
            .labels
            .clone()
            .unwrap_or_default()
            .into_iter()
            .collect(),
        network,
        create_command: opts.create_command.clone(),
        ..PodOptions::default()
    })
}

/// Kubernetes' `restartPolicy` as berth's (default Always).
fn restart_policy(spec: &PodSpec) -> Result<RestartPolicy> {
    Ok(match spec.restart_policy.as_deref() {
        None | Some("Always") => RestartPolicy::Always,
        Some("OnFailure") => RestartPolicy::OnFailure { max_retries: 0 },
        Some("Never") => RestartPolicy::No,
        Some(other) => bail!("restartPolicy {other:?}: use Always, OnFailure or Never"),
    })
}

/// Kubernetes' `imagePullPolicy` as berth's `--pull` (default: pull when missing).
fn pull_policy(c: &Container) -> Result<&'static str> {
    Ok(match c.image_pull_policy.as_deref() {
        None | Some("") | Some("IfNotPresent") => "missing",
        Some("Always") => "always",
        Some("Never") => "never",
        Some(other) => bail!("imagePullPolicy {other:?}: use Always, IfNotPresent or Never"),
    })
}

fn play_pod(
    engine: &Engine<'_>,
    p: &PlannedPod<'_>,
    config_maps: &[ConfigMap],
    secrets: &std::collections::BTreeMap<String, Vec<String>>,
    store_volumes: &Volumes,
    opts: &PlayOptions<'_>,
) -> Result<PlayedPod> {
    let spec = p.spec;
    let mut seen: Vec<&str> = Vec::new();
    for c in spec
        .init_containers
        .iter()
        .flatten()
        .chain(&spec.containers)
    {
        if seen.contains(&c.name.as_str()) {
            bail!(
                "the pod {:?} is invalid; duplicate container name {:?} detected",
                p.name,
                c.name
            );
        }
        seen.push(&c.name);
    }
    let restart = restart_policy(spec)?;
    let pod_opts = pod_options(p, opts)?;
    let pod = engine.create_pod(&pod_opts)?;
    let made = (|| {
        let volumes = resolve(
            &p.name,
            spec.volumes.as_deref().unwrap_or(&[]),
            config_maps,
            secrets,
            store_volumes,
        )?;
        let ctx = PodContext {
            pod_name: &p.name,
            pod_id: &pod.id,
            restart,
            security: spec.security_context.as_ref(),
            config_maps,
            volumes: &volumes,
            secrets,
            labels: pod_opts.labels.clone(),
            defaults: &opts.defaults,
            annotations: p
                .meta
                .annotations
                .clone()
                .unwrap_or_default()
                .into_iter()
                .collect(),
        };
        let mut played = PlayedPod {
            id: pod.id.clone(),
            ..PlayedPod::default()
        };
        let mut inits = Vec::new();
        for (c, init) in spec
            .init_containers
            .iter()
            .flatten()
            .map(|c| (c, true))
            .chain(spec.containers.iter().map(|c| (c, false)))
        {
            let image = c
                .image
                .as_deref()
                .filter(|i| !i.is_empty())
                .ok_or_else(|| anyhow!("container {:?} has no image", c.name))?;
            let image = (opts.image)(image, pull_policy(c)?)?;
            let req =
                request(&ctx, c, image, init).with_context(|| format!("container {:?}", c.name))?;
            let made = engine.create(&req)?;
            match init {
                true => {
                    played.init_containers.push(made.id.clone());
                    inits.push(made);
                }
                false => played.containers.push(made.id),
            }
        }
        if opts.start {
            start(engine, &pod, &inits, opts)?;
        }
        Ok(played)
    })();
    if made.is_err() {
        undo_pod(engine, &pod, p);
    }
    made
}

/// Run the init containers one after another to completion (each removed after), then
/// start the pod.
fn start(
    engine: &Engine<'_>,
    pod: &Pod,
    inits: &[berth_run::Container],
    opts: &PlayOptions<'_>,
) -> Result<()> {
    for c in inits {
        engine.start_dependencies(c, &opts.berth_exe, &opts.global_args)?;
        engine.start_detached(c, &opts.berth_exe, &opts.global_args)?;
        let code = engine.wait(c)?;
        if code != Some(0) {
            bail!(
                "init container {} exited with {}",
                c.name,
                code.map_or("an unknown status".to_string(), |c| c.to_string())
            );
        }
        engine.remove_with(c, true, true)?;
    }
    engine.start_pod(pod, &opts.berth_exe, &opts.global_args)?;
    Ok(())
}
