//! `kube down`: remove what `kube play` of the same file made, as Podman 4.3: every pod the
//! file names ([`crate::pods::planned`]) is stopped, then removed with its containers (a pod
//! that is gone: Podman's "no pod with name or ID … found: no such pod", nothing removed). Also
//! removed, since they live and die with the pods: the pods' emptyDir volumes and the berth
//! secrets made from the file's Secret documents. PersistentVolumeClaim and ConfigMap volumes
//! stay, as Podman 4.3 leaves them (data a user keeps; `volume rm` removes them), unless
//! `--force` (Podman 4.4's flag).

use std::time::Duration;

use anyhow::Result;
use berth_run::secrets::SecretStore;
use berth_run::volumes::Volumes;
use berth_run::{Engine, RunError};

use crate::documents::{Document, Documents};
use crate::play_volumes::{empty_dir_name, known_secrets, secret_name};
use crate::pods::planned;

/// How long a pod's containers get to stop: its `terminationGracePeriodSeconds`, else
/// Podman's 10 s.
fn stop_timeout(spec: &k8s_openapi::api::core::v1::PodSpec) -> Duration {
    let secs = spec.termination_grace_period_seconds.unwrap_or(10);
    Duration::from_secs(secs.clamp(0, 3600) as u64)
}

/// What `kube down` removed.
#[derive(Debug, Clone, Default)]
pub struct DownReport {
    /// Pod ids stopped, then removed.
    pub pods: Vec<String>,
    pub volumes: Vec<String>,
    pub secrets: Vec<String>,
}

/// Remove what the file made; `missing_ok` (`play --replace`): pods that are not there are
/// skipped; `force` (Podman 4.4's `kube down --force`): the PersistentVolumeClaim and
/// ConfigMap volumes too (refused while a container uses one).
pub fn down(
    engine: &Engine<'_>,
    docs: &Documents,
    missing_ok: bool,
    force: bool,
) -> Result<DownReport> {
    let planned = planned(&docs.documents)?;
    let mut pods = Vec::new();
    for p in &planned {
        match engine.pod(&p.name) {
            Ok(pod) if pod.name == p.name => pods.push((p, pod)),
            Ok(_) | Err(RunError::NoSuchPod(_)) if missing_ok => {}
            Ok(_) => return Err(RunError::NoSuchPod(p.name.clone()).into()),
            Err(e) => return Err(e.into()),
        }
    }
    let mut report = DownReport::default();
    for (p, pod) in &pods {
        engine.stop_pod(pod, stop_timeout(p.spec))?;
    }
    for (_, pod) in &pods {
        engine.remove_pod(pod, true)?;
        report.pods.push(pod.id.clone());
    }
    let volumes = Volumes::open(engine.store().root())?;
    for (p, _) in &pods {
        for v in p.spec.volumes.iter().flatten() {
            if v.empty_dir.is_some() {
                let name = empty_dir_name(&p.name, &v.name);
                if volumes.find(&name)?.is_some() {
                    engine.remove_volume(&name)?;
                    report.volumes.push(name);
                }
            }
        }
    }
    if force {
        for name in kept_volumes(docs, &pods.iter().map(|(p, _)| *p).collect::<Vec<_>>()) {
            if volumes.find(&name)?.is_some() {
                engine.remove_volume(&name)?;
                report.volumes.push(name);
            }
        }
    }
    let secrets = SecretStore::new(engine.store().root());
    let known = known_secrets(&secrets)?;
    for doc in &docs.documents {
        let Document::Secret(s) = doc else { continue };
        let name = s.metadata.name.as_deref().unwrap_or("");
        for key in known.get(name).into_iter().flatten() {
            let full = secret_name(name, key);
            secrets.remove(&full)?;
            report.secrets.push(full);
        }
    }
    Ok(report)
}

/// The volumes `kube down` keeps unless forced: the file's claims and the ConfigMap volumes
/// of its pods.
fn kept_volumes(docs: &Documents, pods: &[&crate::pods::PlannedPod<'_>]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for doc in &docs.documents {
        if let Document::Claim(c) = doc {
            out.extend(c.metadata.name.clone());
        }
    }
    for p in pods {
        for v in p.spec.volumes.iter().flatten() {
            if let Some(cm) = &v.config_map {
                out.push(cm.name.clone());
            }
        }
    }
    out.sort();
    out.dedup();
    out
}
