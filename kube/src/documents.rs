//! Multi-document Kubernetes YAML to k8s-openapi types: what `kube play` and `kube down` read.
//!
//! Hostile input is refused with one line before anything is made: more than
//! [`MAX_YAML_BYTES`], a document bomb (serde_norway stops alias expansion past 100 jumps per
//! event, "repetition limit exceeded", and nesting past 128 levels; berth also caps the
//! expanded tree at [`MAX_NODES`] values), a document that is not a Kubernetes object (no
//! `apiVersion`/`kind`), and a kind berth does not play. A `Service` (what `kube generate
//! --service` writes) is read and skipped with a warning.

use anyhow::{anyhow, bail, Result};
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment};
use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolumeClaim, Pod, Secret};
use serde::Deserialize;
use serde_json::Value;

use crate::unsupported;

/// The largest YAML file read (Kubernetes' own request limit is 3 MiB).
pub const MAX_YAML_BYTES: usize = 4 << 20;
/// The most values all documents of a file may hold once aliases are expanded.
pub const MAX_NODES: usize = 500_000;

/// One document of the file, typed.
#[derive(Debug, Clone)]
pub enum Document {
    Pod(Box<Pod>),
    Deployment(Box<Deployment>),
    DaemonSet(Box<DaemonSet>),
    ConfigMap(Box<ConfigMap>),
    Secret(Box<Secret>),
    Claim(Box<PersistentVolumeClaim>),
    /// A kind read and not played (`Service`).
    Skipped {
        kind: String,
    },
}

/// A file's documents and the warnings reading them gave (unsupported fields, skipped kinds).
#[derive(Debug, Clone, Default)]
pub struct Documents {
    pub documents: Vec<Document>,
    pub warnings: Vec<String>,
}

/// The kinds `kube play` makes something of.
pub const PLAYED_KINDS: &str =
    "Pod, Deployment, DaemonSet, ConfigMap, Secret, PersistentVolumeClaim";

/// Read every document of `yaml` (empty documents are skipped).
pub fn parse(yaml: &[u8]) -> Result<Documents> {
    if yaml.len() > MAX_YAML_BYTES {
        bail!(
            "kube YAML of {} bytes refused: berth reads at most {MAX_YAML_BYTES}",
            yaml.len()
        );
    }
    let mut out = Documents::default();
    let mut nodes = 0usize;
    for (i, de) in serde_norway::Deserializer::from_slice(yaml).enumerate() {
        let n = i + 1;
        let value = Value::deserialize(de)
            .map_err(|e| anyhow!("unable to read kube YAML: document {n}: {e}"))?;
        nodes += count_nodes(&value, MAX_NODES - nodes.min(MAX_NODES))
            .ok_or_else(|| anyhow!("unable to read kube YAML: document {n}: more than {MAX_NODES} values once aliases are expanded: refused as a document bomb"))?;
        if value.is_null() {
            continue;
        }
        let (api, kind) = kind_of(&value)
            .ok_or_else(|| anyhow!("unable to read kube YAML: document {n} is not a Kubernetes object (no apiVersion and kind)"))?;
        let doc = typed(&api, &kind, value.clone(), &mut out.warnings)
            .map_err(|e| anyhow!("unable to read kube YAML: document {n}: {e}"))?;
        out.documents.push(doc);
    }
    Ok(out)
}

/// A `--configmap FILE`: one ConfigMap document (Podman's words for another kind).
pub fn parse_configmap(yaml: &[u8]) -> Result<ConfigMap> {
    let docs = parse(yaml)?;
    match docs.documents.as_slice() {
        [Document::ConfigMap(cm)] => Ok((**cm).clone()),
        _ => bail!("invalid YAML kind: [ConfigMap] is the only supported by --configmap"),
    }
}

/// The `apiVersion` and `kind` of a document, when it is a mapping with both as strings.
fn kind_of(value: &Value) -> Option<(String, String)> {
    let api = value.get("apiVersion")?.as_str()?;
    let kind = value.get("kind")?.as_str()?;
    Some((api.to_string(), kind.to_string()))
}

fn typed(api: &str, kind: &str, value: Value, warnings: &mut Vec<String>) -> Result<Document> {
    let name = value
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let shape = match kind {
        "Pod" => &unsupported::POD,
        "Deployment" => &unsupported::DEPLOYMENT,
        "DaemonSet" => &unsupported::DAEMON_SET,
        "ConfigMap" => &unsupported::CONFIG_MAP,
        "Secret" => &unsupported::SECRET,
        "PersistentVolumeClaim" => &unsupported::CLAIM,
        "Service" => {
            warnings.push(format!(
                "kube play: ignoring {kind} {name:?}: berth publishes a pod's ports from its containers' hostPort"
            ));
            return Ok(Document::Skipped {
                kind: kind.to_string(),
            });
        }
        other => bail!("kind {other:?} ({api}) is not supported: berth plays {PLAYED_KINDS}"),
    };
    for field in unsupported::fields(&value, shape) {
        warnings.push(format!(
            "kube play: ignoring unsupported field {field} of {kind} {name:?}"
        ));
    }
    let doc = match kind {
        "Pod" => Document::Pod(Box::new(serde_json::from_value(value)?)),
        "Deployment" => Document::Deployment(Box::new(serde_json::from_value(value)?)),
        "DaemonSet" => Document::DaemonSet(Box::new(serde_json::from_value(value)?)),
        "ConfigMap" => Document::ConfigMap(Box::new(serde_json::from_value(value)?)),
        "Secret" => Document::Secret(Box::new(serde_json::from_value(value)?)),
        _ => Document::Claim(Box::new(serde_json::from_value(value)?)),
    };
    Ok(doc)
}

/// The values in `value` (itself included), or `None` past `limit`.
fn count_nodes(value: &Value, limit: usize) -> Option<usize> {
    let mut count = 0usize;
    let mut stack = vec![value];
    while let Some(v) = stack.pop() {
        count += 1;
        if count > limit {
            return None;
        }
        match v {
            Value::Array(items) => stack.extend(items),
            Value::Object(map) => stack.extend(map.values()),
            _ => {}
        }
    }
    Some(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    const POD: &str = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  containers:\n  - name: c\n    image: busybox\n    lifecycle: {}\n";

    #[test]
    fn documents_are_typed_and_unsupported_fields_warned() {
        let yaml = format!("{POD}---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  a: b\n---\n");
        let docs = parse(yaml.as_bytes()).unwrap();
        assert_eq!(docs.documents.len(), 2);
        assert!(
            matches!(&docs.documents[0], Document::Pod(p) if p.metadata.name.as_deref() == Some("web"))
        );
        assert!(matches!(&docs.documents[1], Document::ConfigMap(_)));
        assert_eq!(
            docs.warnings,
            ["kube play: ignoring unsupported field spec.containers[0].lifecycle of Pod \"web\""]
        );
    }

    #[test]
    fn hostile_or_foreign_yaml_is_refused_in_one_line() {
        let err = parse(b"hello: world\n").unwrap_err().to_string();
        assert!(err.contains("not a Kubernetes object"), "{err}");
        let err = parse(b"apiVersion: v1\nkind: Foo\nmetadata: {name: x}\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("kind \"Foo\" (v1) is not supported"), "{err}");
        let err = parse(b"apiVersion: v2\nkind: Pod\nmetadata: {name: x}\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("document 1"), "{err}");
        // A billion laughs: nine aliases per level, nine levels.
        let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let p = i - 1;
            bomb.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        let started = std::time::Instant::now();
        let err = parse(bomb.as_bytes()).unwrap_err().to_string();
        assert!(
            err.contains("repetition limit exceeded") || err.contains("document bomb"),
            "{err}"
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        let deep = format!("{}x{}", "[".repeat(200), "]".repeat(200));
        let err = parse(deep.as_bytes()).unwrap_err().to_string();
        assert!(err.contains("recursion limit exceeded"), "{err}");
        let big = vec![b' '; MAX_YAML_BYTES + 1];
        assert!(parse(&big).unwrap_err().to_string().contains("refused"));
    }

    #[test]
    fn a_service_is_skipped_with_a_warning() {
        let docs = parse(b"apiVersion: v1\nkind: Service\nmetadata: {name: s}\n").unwrap();
        assert!(matches!(docs.documents[0], Document::Skipped { .. }));
        assert_eq!(docs.warnings.len(), 1);
    }
}
