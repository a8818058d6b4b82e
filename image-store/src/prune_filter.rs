//! `image prune`'s filters (Docker's `until` and `label`, as its API's `filters` carry them):
//! which images a prune may remove, on top of [`crate::gc`]'s rules (not used by a container
//! or a mount; unless `all`, without a name).

use std::collections::HashSet;

use chrono::{DateTime, Utc};

use crate::error::Result;
use crate::gc::PruneReport;
use crate::store::Store;

/// One `label` filter: `KEY`, `KEY=VALUE`, or with `negate` (`label!=`) their opposite.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelFilter {
    pub key: String,
    pub value: Option<String>,
    pub negate: bool,
}

impl LabelFilter {
    /// `KEY` or `KEY=VALUE`.
    pub fn parse(text: &str, negate: bool) -> LabelFilter {
        let (key, value) = match text.split_once('=') {
            Some((k, v)) => (k.to_string(), Some(v.to_string())),
            None => (text.to_string(), None),
        };
        LabelFilter { key, value, negate }
    }

    /// Whether a label filter holds for `value`, the value of its key where the labels
    /// have it.
    pub fn holds(&self, value: Option<&str>) -> bool {
        let found = value.is_some_and(|v| self.value.as_ref().is_none_or(|want| want == v));
        found != self.negate
    }

    fn matches(&self, labels: Option<&std::collections::BTreeMap<String, String>>) -> bool {
        self.holds(labels.and_then(|l| l.get(&self.key)).map(String::as_str))
    }
}

/// What an image prune removes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImagePruneFilter {
    /// Named images too, not only dangling ones.
    pub all: bool,
    /// Only images created before this.
    pub until: Option<DateTime<Utc>>,
    /// Every one must match.
    pub labels: Vec<LabelFilter>,
}

impl Store {
    /// Prune the images `filter` picks (see [`Store::prune_images`] for what goes with them).
    pub fn prune_images_filtered(&self, filter: &ImagePruneFilter) -> Result<PruneReport> {
        if filter.until.is_none() && filter.labels.is_empty() {
            return self.prune_images(filter.all);
        }
        let mut among = HashSet::new();
        for img in self.list_images()? {
            let created = img.created.unwrap_or(img.added);
            if filter.until.is_some_and(|until| created >= until) {
                continue;
            }
            if !filter.labels.is_empty() {
                let summary = self.image_summary(&img, 0, true)?;
                if !filter
                    .labels
                    .iter()
                    .all(|l| l.matches(summary.labels.as_ref()))
                {
                    continue;
                }
            }
            among.insert(img.id.to_string());
        }
        self.prune_images_among(filter.all, Some(&among))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_filters() {
        let mut labels = std::collections::BTreeMap::new();
        labels.insert("a".to_string(), "1".to_string());
        assert!(LabelFilter::parse("a", false).matches(Some(&labels)));
        assert!(LabelFilter::parse("a=1", false).matches(Some(&labels)));
        assert!(!LabelFilter::parse("a=2", false).matches(Some(&labels)));
        assert!(LabelFilter::parse("a=2", true).matches(Some(&labels)));
        assert!(!LabelFilter::parse("a", true).matches(Some(&labels)));
        assert!(!LabelFilter::parse("b", false).matches(None));
    }
}
