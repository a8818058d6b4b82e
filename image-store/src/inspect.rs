//! An image's inspect record ([`ImageInspect`]): what `podman image inspect` prints, built
//! from the stored manifest and config ([`Store::inspect_image`]); and its list record
//! ([`ImageSummary`]): one entry of `podman images --format json` ([`Store::image_summary`]).

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

/// One entry of `podman images --format json`. Fields are declared in the order
/// `serde_json::Value` prints its keys (sorted), so the struct and its `Value` print alike.
#[derive(Debug, Clone, Serialize)]
pub struct ImageSummary {
    /// Containers using the image (berth does not count them: 0, as before).
    #[serde(rename = "Containers")]
    pub containers: u64,
    /// Seconds since the epoch (0 when unknown).
    #[serde(rename = "Created")]
    pub created: i64,
    /// RFC 3339.
    #[serde(rename = "CreatedAt")]
    pub created_at: Option<String>,
    /// The manifest's digest.
    #[serde(rename = "Digest")]
    pub digest: String,
    /// The config's digest.
    #[serde(rename = "Id")]
    pub id: String,
    #[serde(rename = "Names")]
    pub names: Vec<String>,
    #[serde(rename = "ParentId")]
    pub parent_id: String,
    #[serde(rename = "RepoDigests")]
    pub repo_digests: Vec<String>,
    #[serde(rename = "RepoTags")]
    pub repo_tags: Vec<String>,
    #[serde(rename = "SharedSize")]
    pub shared_size: u64,
    /// The layers uncompressed, plus manifest and config (Podman's size).
    #[serde(rename = "Size")]
    pub size: u64,
    #[serde(rename = "VirtualSize")]
    pub virtual_size: u64,
}

impl ImageRecord {
    /// The list record of this image, `size` being [`Store::uncompressed_size`].
    pub fn summary(&self, size: u64) -> ImageSummary {
        ImageSummary {
            containers: 0,
            created: self.created.map(|c| c.timestamp()).unwrap_or(0),
            created_at: self.created.map(|c| c.to_rfc3339()),
            digest: self.manifest_digest.to_string(),
            id: self.id.digest().to_string(),
            names: self.name_texts(),
            parent_id: String::new(),
            repo_digests: self.repo_digests(),
            repo_tags: self.name_texts(),
            shared_size: 0,
            size,
            virtual_size: size,
        }
    }

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
    /// The `images --format json` record of `img`.
    pub fn image_summary(&self, img: &ImageRecord) -> Result<ImageSummary> {
        Ok(img.summary(self.uncompressed_size(img)?))
    }

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_prints_as_its_value_does() {
        let s = ImageSummary {
            containers: 0,
            created: 1,
            created_at: Some("1970-01-01T00:00:01+00:00".into()),
            digest: "sha256:aa".into(),
            id: "bb".into(),
            names: vec!["localhost/x:1".into()],
            parent_id: String::new(),
            repo_digests: vec!["localhost/x@sha256:aa".into()],
            repo_tags: vec!["localhost/x:1".into()],
            shared_size: 0,
            size: 5,
            virtual_size: 5,
        };
        let value = serde_json::to_value(&s).unwrap();
        assert_eq!(
            serde_json::to_string_pretty(&s).unwrap(),
            serde_json::to_string_pretty(&value).unwrap()
        );
        assert_eq!(value["RepoTags"][0], "localhost/x:1");
    }
}
