//! An image's history as `history` shows it ([`HistoryEntry`], the record of
//! `history --format json`), built by [`Store::image_history`] so every front end shows the
//! same rows: newest first, the image's id on the newest and `<missing>` on the others, each
//! layer's size uncompressed (0 for an empty layer) as Podman shows them.

use chrono::{DateTime, Utc};
use serde::{Serialize, Serializer};

use crate::error::Result;
use crate::images::ImageRecord;
use crate::store::Store;

/// What an entry not the newest shows for its id, as Podman.
pub const MISSING_ID: &str = "<missing>";

/// One row of an image's history. Fields in the order `history --format json` has always
/// printed them (sorted by name).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntry {
    pub comment: String,
    /// When the step ran; null when the config has no (valid RFC 3339) time. Printed as
    /// RFC 3339 with `+00:00`.
    #[serde(serialize_with = "rfc3339")]
    pub created: Option<DateTime<Utc>>,
    pub created_by: String,
    /// The image's full id (`sha256:…`) on the newest entry, [`MISSING_ID`] on the others.
    pub id: String,
    /// The layer's uncompressed size; 0 for an empty layer.
    pub size: u64,
}

impl HistoryEntry {
    /// Whether this entry carries the image's id (the newest one).
    pub fn has_id(&self) -> bool {
        self.id != MISSING_ID
    }
}

fn rfc3339<S: Serializer>(
    time: &Option<DateTime<Utc>>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    match time {
        Some(t) => s.serialize_some(&t.to_rfc3339()),
        None => s.serialize_none(),
    }
}

impl Store {
    /// The history of `image`'s config, newest first.
    pub fn image_history(&self, image: &ImageRecord) -> Result<Vec<HistoryEntry>> {
        let config = self.image_config(image)?;
        let entries = config.history().clone().unwrap_or_default();
        let mut layer_sizes = self.layer_uncompressed_sizes(image)?.into_iter();
        let mut rows: Vec<HistoryEntry> = entries
            .iter()
            .map(|entry| {
                let size = if entry.empty_layer().unwrap_or(false) {
                    0
                } else {
                    layer_sizes.next().unwrap_or(0)
                };
                let created = entry
                    .created()
                    .as_deref()
                    .and_then(|c| DateTime::parse_from_rfc3339(c).ok())
                    .map(|c| c.with_timezone(&Utc));
                HistoryEntry {
                    comment: entry.comment().clone().unwrap_or_default(),
                    created,
                    created_by: entry.created_by().clone().unwrap_or_default(),
                    id: MISSING_ID.to_string(),
                    size,
                }
            })
            .collect();
        rows.reverse();
        if let Some(newest) = rows.first_mut() {
            newest.id = image.id.digest().to_string();
        }
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_as_history_json_always_has() {
        let entry = HistoryEntry {
            comment: String::new(),
            created: Some(
                DateTime::parse_from_rfc3339("2024-01-02T03:04:05.5Z")
                    .unwrap()
                    .with_timezone(&Utc),
            ),
            created_by: "/bin/sh -c true".into(),
            id: MISSING_ID.into(),
            size: 3,
        };
        assert_eq!(
            serde_json::to_string(&entry).unwrap(),
            r#"{"comment":"","created":"2024-01-02T03:04:05.500+00:00","createdBy":"/bin/sh -c true","id":"<missing>","size":3}"#
        );
        assert!(!entry.has_id());
        let none = HistoryEntry {
            created: None,
            ..entry
        };
        assert!(serde_json::to_string(&none)
            .unwrap()
            .contains(r#""created":null"#));
    }
}
