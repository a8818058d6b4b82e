//! An image's inspect record ([`ImageInspect`]): what `podman image inspect` prints, built
//! from the stored manifest and config ([`Store::inspect_image`]). Its list record is
//! [`crate::summary`]'s.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{json, Value};

use crate::error::Result;
use crate::images::{ImageRecord, CONFIG_LIMIT};
use crate::store::Store;

/// `podman image inspect`'s record.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImageInspect {
    pub id: String,
    pub digest: String,
    pub repo_tags: Vec<String>,
    pub repo_digests: Vec<String>,
    pub parent: String,
    pub comment: String,
    pub created: Option<String>,
    /// The config's `config` object, as stored (Docker's fields included).
    pub config: Value,
    pub version: String,
    pub author: String,
    pub architecture: String,
    pub os: String,
    pub size: u64,
    pub virtual_size: u64,
    pub graph_driver: Value,
    #[serde(rename = "RootFS")]
    pub root_fs: Value,
    pub labels: Value,
    pub annotations: BTreeMap<String, String>,
    pub manifest_type: String,
    pub user: Value,
    pub history: Value,
    pub names_history: Vec<String>,
    /// The config's `HEALTHCHECK`, left out when there is none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<Value>,
}

impl ImageRecord {
    /// `REPOSITORY@MANIFEST-DIGEST` for each of the image's names, as Podman's `RepoDigests`.
    pub fn repo_digests(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .names
            .iter()
            .map(|n| format!("{}@{}", n.name(), self.manifest_digest))
            .collect();
        out.dedup();
        out
    }
}

impl Store {
    /// The inspect record of `img`.
    pub fn inspect_image(&self, img: &ImageRecord) -> Result<ImageInspect> {
        let manifest = self.image_manifest(img)?;
        let config = self.image_config(img)?;
        let raw_config = serde_json::to_value(&config).unwrap_or(Value::Null);
        let inner = raw_config.get("config").cloned().unwrap_or(json!({}));
        // Docker's config fields the OCI types drop, read from the blob itself.
        let raw = self.content().read_small(&img.id, CONFIG_LIMIT)?;
        let raw: Value = serde_json::from_slice(&raw).unwrap_or(Value::Null);
        let size = self.uncompressed_size(img)?;
        Ok(ImageInspect {
            id: img.id.digest().to_string(),
            digest: img.manifest_digest.to_string(),
            repo_tags: img.name_texts(),
            repo_digests: img.repo_digests(),
            parent: String::new(),
            comment: config
                .history()
                .as_ref()
                .and_then(|h| h.last())
                .and_then(|h| h.comment().clone())
                .unwrap_or_default(),
            created: config.created().clone(),
            labels: inner.get("Labels").cloned().unwrap_or(Value::Null),
            user: inner.get("User").cloned().unwrap_or(json!("")),
            config: inner,
            version: String::new(),
            author: config.author().clone().unwrap_or_default(),
            architecture: config.architecture().to_string(),
            os: config.os().to_string(),
            size,
            virtual_size: size,
            graph_driver: json!({ "Name": "overlay", "Data": {} }),
            root_fs: json!({ "Type": "layers", "Layers": config.rootfs().diff_ids() }),
            annotations: manifest
                .annotations()
                .clone()
                .unwrap_or_default()
                .into_iter()
                .collect(),
            manifest_type: img.manifest_media_type.clone(),
            history: raw_config.get("history").cloned().unwrap_or(json!([])),
            names_history: img.name_texts(),
            healthcheck: healthcheck(&raw),
        })
    }
}

impl Store {
    /// The `HEALTHCHECK` of `img`'s config (see [`ImageInspect::healthcheck`]), which a
    /// container made from it runs.
    pub fn image_healthcheck(&self, img: &ImageRecord) -> Result<Option<Value>> {
        let raw = self.content().read_small(&img.id, CONFIG_LIMIT)?;
        let raw: Value = serde_json::from_slice(&raw).unwrap_or(Value::Null);
        Ok(healthcheck(&raw))
    }
}

/// The config's `HEALTHCHECK` as `podman image inspect` shows it (top-level `Healthcheck`):
/// `Test`, `StartPeriod`, `Interval`, `Timeout` (nanoseconds) and `Retries`, each left out
/// when empty or zero.
fn healthcheck(config: &Value) -> Option<Value> {
    let h = config.get("config")?.get("Healthcheck")?.as_object()?;
    let mut out = serde_json::Map::new();
    for key in ["Test", "StartPeriod", "Interval", "Timeout", "Retries"] {
        let Some(v) = h.get(key) else { continue };
        let empty = match v {
            Value::Null => true,
            Value::Array(a) => a.is_empty(),
            Value::Number(n) => n.as_f64() == Some(0.0),
            _ => false,
        };
        if !empty {
            out.insert(key.to_string(), v.clone());
        }
    }
    (!out.is_empty()).then_some(Value::Object(out))
}
