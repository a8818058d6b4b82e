//! An image as `images` lists it: Podman 4.3's `images --format json` record
//! ([`ImageSummary`]: the fields and order of its `ImageSummary`, then `Created` and
//! `CreatedAt` as its CLI appends them), built by [`Store::image_summary`] so every front end
//! lists the same thing. Podman prints one record per name of an image; choosing the rows is
//! the front end's.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use crate::error::Result;
use crate::images::ImageRecord;
use crate::store::Store;

/// One entry of `podman images --format json`, field for field and in its order.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImageSummary {
    /// The config's digest, hex only.
    pub id: String,
    /// Always empty: berth keeps no parent images.
    pub parent_id: String,
    /// Always null, as Podman 4.3's list: the names are in `names`.
    pub repo_tags: Option<Vec<String>>,
    /// `REPOSITORY@MANIFEST-DIGEST` per name ([`ImageRecord::repo_digests`]).
    pub repo_digests: Vec<String>,
    /// The layers uncompressed, plus manifest and config ([`Store::uncompressed_size`]).
    pub size: u64,
    pub shared_size: u64,
    pub virtual_size: u64,
    /// The config's labels: null when it has none, or when they were not asked for.
    pub labels: Option<BTreeMap<String, String>>,
    /// How many containers were made from the image.
    pub containers: usize,
    /// No name: left out when false.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub dangling: bool,
    /// The image's names; left out when none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<String>,
    /// The manifest's digest.
    pub digest: String,
    /// The names it has had (berth keeps its current ones); left out when none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<String>,
    /// Seconds since the epoch (0 when unknown): Podman keeps a Unix time.
    pub created: i64,
    /// `created` as Go's RFC 3339 (`2026-12-07T17:12:47Z`).
    pub created_at: String,
}

impl ImageSummary {
    /// `created` as a time (the epoch when unknown).
    pub fn created_time(&self) -> DateTime<Utc> {
        DateTime::from_timestamp(self.created, 0).unwrap_or(DateTime::UNIX_EPOCH)
    }
}

impl ImageRecord {
    /// The list record of this image: `size` is [`Store::uncompressed_size`], `labels` the
    /// config's, `containers` how many containers use it.
    pub fn summary(
        &self,
        size: u64,
        labels: Option<BTreeMap<String, String>>,
        containers: usize,
    ) -> ImageSummary {
        let created = self.created.map_or(0, |c| c.timestamp());
        let mut summary = ImageSummary {
            id: self.id.digest().to_string(),
            parent_id: String::new(),
            repo_tags: None,
            repo_digests: self.repo_digests(),
            size,
            shared_size: 0,
            virtual_size: size,
            labels,
            containers,
            dangling: self.names.is_empty(),
            names: self.name_texts(),
            digest: self.manifest_digest.to_string(),
            history: self.name_texts(),
            created,
            created_at: String::new(),
        };
        // Whole seconds: Go's RFC3339Nano prints no fraction for them.
        summary.created_at = summary
            .created_time()
            .to_rfc3339_opts(SecondsFormat::Secs, true);
        summary
    }
}

impl Store {
    /// The list record of `img`, which `containers` containers use (their records are
    /// berth-run's: the caller counts them). Its labels are read from the config only when
    /// `labels` is true (else null): a list that does not show them reads no config.
    pub fn image_summary(
        &self,
        img: &ImageRecord,
        containers: usize,
        labels: bool,
    ) -> Result<ImageSummary> {
        let labels = if labels {
            self.image_config(img)?
                .labels_of_config()
                .map(|l| l.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        } else {
            None
        };
        Ok(img.summary(self.uncompressed_size(img)?, labels, containers))
    }
}

#[cfg(test)]
mod tests {
    use berth_layers::digest::digest_bytes;

    use super::*;

    fn record(names: &[&str], created: Option<DateTime<Utc>>) -> ImageRecord {
        ImageRecord {
            id: digest_bytes(b"config"),
            manifest_digest: digest_bytes(b"manifest"),
            manifest_media_type: String::new(),
            names: names
                .iter()
                .map(|n| n.parse().expect("a reference"))
                .collect(),
            created,
            size: 0,
            added: DateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn a_named_image_prints_podmans_fields_in_its_order() {
        let created = DateTime::from_timestamp(1_796_663_567, 872_770_000);
        let s = record(&["localhost/x:1", "localhost/x:2"], created).summary(5, None, 2);
        let value = serde_json::to_value(&s).unwrap();
        let text = serde_json::to_string(&s).unwrap();
        // The top-level keys in printed order: each string followed by `:`.
        let parts: Vec<&str> = text.split('"').collect();
        let keys: Vec<&str> = parts
            .windows(2)
            .filter(|w| w[1].starts_with(':'))
            .map(|w| w[0])
            .collect();
        assert_eq!(
            keys,
            [
                "Id",
                "ParentId",
                "RepoTags",
                "RepoDigests",
                "Size",
                "SharedSize",
                "VirtualSize",
                "Labels",
                "Containers",
                "Names",
                "Digest",
                "History",
                "Created",
                "CreatedAt"
            ]
        );
        assert_eq!(value["RepoTags"], serde_json::Value::Null);
        assert_eq!(value["RepoDigests"].as_array().unwrap().len(), 1);
        assert_eq!(value["Created"], 1_796_663_567);
        assert_eq!(value["CreatedAt"], "2026-12-07T17:12:47Z");
    }

    #[test]
    fn an_image_without_names_is_dangling() {
        let s = record(&[], None).summary(5, None, 0);
        let value = serde_json::to_value(&s).unwrap();
        assert_eq!(value["Dangling"], true);
        assert!(value.get("Names").is_none() && value.get("History").is_none());
        assert_eq!(value["Created"], 0);
        assert_eq!(value["CreatedAt"], "1970-01-01T00:00:00Z");
    }
}
