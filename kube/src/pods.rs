//! Which pods a file makes, named as Podman 4.3 names them: a Pod by its `metadata.name`, a
//! Deployment's replicas `<name>-pod-0` … `<name>-pod-N-1`, a DaemonSet one pod
//! `<name>-pod` (one node). `kube play` makes them and `kube down` removes them by these names.

use anyhow::{bail, Result};
use k8s_openapi::api::core::v1::PodSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::documents::Document;

/// The most pods one Deployment may ask for.
pub const MAX_REPLICAS: i32 = 100;

/// One pod a file makes.
#[derive(Debug, Clone)]
pub struct PlannedPod<'a> {
    pub name: String,
    /// The document's kind (`Pod`, `Deployment`, `DaemonSet`).
    pub kind: &'static str,
    pub meta: &'a ObjectMeta,
    pub spec: &'a PodSpec,
}

fn named<'a>(meta: &'a ObjectMeta, kind: &str) -> Result<&'a str> {
    match meta.name.as_deref() {
        Some(n) if !n.is_empty() => Ok(n),
        _ => bail!("{} does not have a name", kind.to_lowercase()),
    }
}

/// The pods of `documents`, in file order; a name twice is refused.
pub fn planned(documents: &[Document]) -> Result<Vec<PlannedPod<'_>>> {
    let mut out: Vec<PlannedPod<'_>> = Vec::new();
    for doc in documents {
        match doc {
            Document::Pod(p) => {
                let Some(spec) = &p.spec else {
                    bail!(
                        "pod {:?} has no spec",
                        p.metadata.name.as_deref().unwrap_or("")
                    );
                };
                out.push(PlannedPod {
                    name: named(&p.metadata, "Pod")?.to_string(),
                    kind: "Pod",
                    meta: &p.metadata,
                    spec,
                });
            }
            Document::Deployment(d) => {
                let name = named(&d.metadata, "Deployment")?;
                let Some(spec) = &d.spec else {
                    bail!("deployment {name:?} has no spec");
                };
                let replicas = spec.replicas.unwrap_or(1);
                if !(0..=MAX_REPLICAS).contains(&replicas) {
                    bail!("deployment {name:?}: replicas {replicas} refused: berth plays 0 to {MAX_REPLICAS}");
                }
                let Some(pod_spec) = &spec.template.spec else {
                    bail!("deployment {name:?} has no pod template spec");
                };
                let host_port = pod_spec
                    .containers
                    .iter()
                    .flat_map(|c| c.ports.iter().flatten())
                    .find_map(|p| p.host_port.filter(|h| *h > 0));
                if let (Some(port), true) = (host_port, replicas > 1) {
                    bail!("deployment {name:?}: {replicas} replicas cannot all publish hostPort {port} on one host: use 1 replica, or no hostPort");
                }
                let meta = spec.template.metadata.as_ref().unwrap_or(&d.metadata);
                for i in 0..replicas {
                    out.push(PlannedPod {
                        name: format!("{name}-pod-{i}"),
                        kind: "Deployment",
                        meta,
                        spec: pod_spec,
                    });
                }
            }
            Document::DaemonSet(d) => {
                let name = named(&d.metadata, "DaemonSet")?;
                let Some(pod_spec) = d.spec.as_ref().and_then(|s| s.template.spec.as_ref()) else {
                    bail!("daemonset {name:?} has no pod template spec");
                };
                let meta = d
                    .spec
                    .as_ref()
                    .and_then(|s| s.template.metadata.as_ref())
                    .unwrap_or(&d.metadata);
                out.push(PlannedPod {
                    name: format!("{name}-pod"),
                    kind: "DaemonSet",
                    meta,
                    spec: pod_spec,
                });
            }
            _ => {}
        }
    }
    for (i, p) in out.iter().enumerate() {
        if out[..i].iter().any(|q| q.name == p.name) {
            bail!("the file makes the pod {:?} twice", p.name);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::documents::parse;

    #[test]
    fn pods_are_named_as_podman_names_them() {
        let yaml = "apiVersion: v1\nkind: Pod\nmetadata: {name: solo}\nspec:\n  containers: [{name: c, image: i}]\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replicas: 2\n  selector: {matchLabels: {a: b}}\n  template:\n    metadata: {labels: {a: b}}\n    spec:\n      containers: [{name: c, image: i}]\n---\napiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: agent}\nspec:\n  selector: {matchLabels: {a: b}}\n  template:\n    spec:\n      containers: [{name: c, image: i}]\n";
        let docs = parse(yaml.as_bytes()).unwrap();
        let names: Vec<String> = planned(&docs.documents)
            .unwrap()
            .into_iter()
            .map(|p| p.name)
            .collect();
        assert_eq!(names, ["solo", "web-pod-0", "web-pod-1", "agent-pod"]);
        let twice = format!("{yaml}---\napiVersion: v1\nkind: Pod\nmetadata: {{name: solo}}\nspec:\n  containers: [{{name: c, image: i}}]\n");
        let docs = parse(twice.as_bytes()).unwrap();
        assert!(planned(&docs.documents)
            .unwrap_err()
            .to_string()
            .contains("twice"));
    }
}
