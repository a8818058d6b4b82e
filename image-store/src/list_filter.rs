//! Which images a list shows: Podman 4.3's image filters (`images --filter`, the libpod
//! API) and Docker's (`GET /images/json?filters=`), one parser and one matcher for both
//! front ends.
//!
//! Kinds: `dangling`, `label` and `label!`, `reference` (the image a name or id names, a
//! `repo` or `repo:tag`, or a glob over the full or the short name), `before`,
//! `since`/`after` (another image), `until` (a time), `id` (a prefix), `digest` (the manifest's), `containers` (used by a container),
//! `intermediate` and `readonly` (berth has neither kind of image: `true` matches none).
//! Values of one kind are alternatives, except `label`, which must all hold; different kinds
//! must all hold (Podman's rule, its `--filter` documentation).

use std::collections::HashSet;

use berth_layers::glob::glob;
use chrono::{DateTime, Utc};

use crate::error::{Result, StoreError};
use crate::events::time::parse_input_time;
use crate::images::ImageRecord;
use crate::names::name_matches;
use crate::prune_filter::LabelFilter;
use crate::store::Store;

/// A parsed set of image filters. Built by [`ImageFilters::parse`]; empty matches every image.
#[derive(Debug, Default, Clone)]
pub struct ImageFilters {
    dangling: Vec<bool>,
    labels: Vec<LabelFilter>,
    /// The filter's text, and the image it names when it is a name or an id the store
    /// resolves (as libimage's reference filter looks it up first).
    references: Vec<(String, Option<String>)>,
    before: Vec<DateTime<Utc>>,
    since: Vec<DateTime<Utc>>,
    until: Vec<DateTime<Utc>>,
    ids: Vec<String>,
    digests: Vec<String>,
    containers: Vec<bool>,
    /// `intermediate` or `readonly` values: berth's images are neither.
    neither: Vec<bool>,
}

impl ImageFilters {
    /// `pairs` of kind and value (`images --filter KIND=VALUE`, or the API's map flattened).
    /// `before` and `since` name another image of `store`, looked up now. An unknown kind or
    /// a value that is not one of its kind is an error naming it.
    pub fn parse<'a>(
        store: &Store,
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<ImageFilters> {
        let mut f = ImageFilters::default();
        for (kind, value) in pairs {
            match kind {
                "dangling" => f.dangling.push(boolean(kind, value)?),
                "label" => f.labels.push(LabelFilter::parse(value, false)),
                "label!" => f.labels.push(LabelFilter::parse(value, true)),
                "reference" => f.references.push((
                    value.to_string(),
                    store.lookup_image(value).ok().map(|i| i.id.to_string()),
                )),
                "before" => f.before.push(created_of(store, kind, value)?),
                "since" | "after" => f.since.push(created_of(store, kind, value)?),
                "until" => f.until.push(
                    parse_input_time(value, Utc::now())
                        .map_err(|e| invalid(format!("until filter: {e}")))?,
                ),
                "id" => f.ids.push(value.trim_start_matches("sha256:").to_string()),
                "digest" => f.digests.push(value.to_string()),
                "containers" => f.containers.push(boolean(kind, value)?),
                "intermediate" | "readonly" => f.neither.push(boolean(kind, value)?),
                other => return Err(invalid(format!("unsupported image filter {other:?}"))),
            }
        }
        Ok(f)
    }

    /// `KIND=VALUE` texts as `--filter` takes them.
    pub fn parse_texts(store: &Store, texts: &[String]) -> Result<ImageFilters> {
        ImageFilters::parse(store, split_filters(texts)?)
    }

    pub fn is_empty(&self) -> bool {
        self.dangling.is_empty()
            && self.labels.is_empty()
            && self.references.is_empty()
            && self.before.is_empty()
            && self.since.is_empty()
            && self.until.is_empty()
            && self.ids.is_empty()
            && self.digests.is_empty()
            && self.containers.is_empty()
            && self.neither.is_empty()
    }

    /// The images of `images` these filters keep, in their order. Reads an image's config
    /// only when a label filter needs it, and the store's container snapshots only for
    /// `containers`.
    pub fn apply(&self, store: &Store, images: Vec<ImageRecord>) -> Result<Vec<ImageRecord>> {
        if self.is_empty() {
            return Ok(images);
        }
        let used = if self.containers.is_empty() {
            HashSet::new()
        } else {
            store.images_in_containers()?
        };
        let mut out = Vec::new();
        for img in images {
            if !self.matches_record(&img, &used) {
                continue;
            }
            if !self.labels.is_empty() {
                let config = store.image_config(&img)?;
                let labels = config.labels_of_config();
                let value = |k: &str| labels.and_then(|l| l.get(k)).map(String::as_str);
                if !self.labels.iter().all(|l| l.holds(value(&l.key))) {
                    continue;
                }
            }
            out.push(img);
        }
        Ok(out)
    }

    /// Every kind but `label` (which needs the config).
    fn matches_record(&self, img: &ImageRecord, used: &HashSet<String>) -> bool {
        let created = img.created.unwrap_or(img.added);
        let names = img.name_texts();
        let any = |values: &[bool], f: &dyn Fn(bool) -> bool| {
            values.is_empty() || values.iter().any(|v| f(*v))
        };
        any(&self.dangling, &|d| names.is_empty() == d)
            && any(&self.containers, &|c| {
                used.contains(&img.id.to_string()) == c
            })
            && any(&self.neither, &|v| !v)
            && (self.references.is_empty()
                || self.references.iter().any(|(r, named)| {
                    named.as_ref() == Some(&img.id.to_string())
                        || names.iter().any(|n| reference_matches(n, r))
                }))
            && (self.before.is_empty() || self.before.iter().any(|t| created < *t))
            && (self.since.is_empty() || self.since.iter().any(|t| created > *t))
            && (self.until.is_empty() || self.until.iter().any(|t| created < *t))
            && (self.ids.is_empty() || self.ids.iter().any(|p| img.hex_id().starts_with(p)))
            && (self.digests.is_empty()
                || self
                    .digests
                    .iter()
                    .any(|d| img.manifest_digest.to_string() == *d))
    }
}

/// `--filter` texts as kind and value pairs, for every list's filter parser.
pub fn split_filters(texts: &[String]) -> Result<Vec<(&str, &str)>> {
    texts.iter().map(|t| split_filter(t)).collect()
}

/// `KIND=VALUE` (or `KIND!=VALUE`, returned as the kind `KIND!`).
fn split_filter(text: &str) -> Result<(&str, &str)> {
    let (k, v) = text
        .split_once('=')
        .ok_or_else(|| invalid(format!("invalid filter {text:?}: expected KEY=VALUE")))?;
    Ok((k, v))
}

/// A name the store holds (`registry/repo:tag`) against a `reference` filter: the name
/// rules of [`name_matches`] (`repo`, `repo:tag`, a suffix of path components), or a glob
/// over the full name or the name without its registry, with or without the tag.
fn reference_matches(name: &str, filter: &str) -> bool {
    if name_matches(name, filter) {
        return true;
    }
    let short = name.split_once('/').map_or(name, |(_, rest)| rest);
    let untagged = |n: &'_ str| -> String { crate::names::split_repo_tag(n).0.to_string() };
    [name, short]
        .iter()
        .any(|n| glob(filter, n) || glob(filter, &untagged(n)))
}

/// A filter's `true`/`1` or `false`/`0` (`dangling`, `containers`…).
pub fn boolean(kind: &str, value: &str) -> Result<bool> {
    match value {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(invalid(format!(
            "invalid {kind} filter value {value:?}: true or false"
        ))),
    }
}

fn created_of(store: &Store, kind: &str, name: &str) -> Result<DateTime<Utc>> {
    let img = store
        .lookup_image(name)
        .map_err(|e| invalid(format!("{kind} filter: {e}")))?;
    Ok(img.created.unwrap_or(img.added))
}

fn invalid(msg: String) -> StoreError {
    StoreError::Invalid(msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_match_names_and_globs() {
        let n = "docker.io/library/busybox:latest";
        assert!(reference_matches(n, "busybox"));
        assert!(reference_matches(n, "busybox:latest"));
        assert!(!reference_matches(n, "busybox:1"));
        assert!(reference_matches(n, "library/busy*"));
        assert!(reference_matches(n, "docker.io/*"));
        assert!(reference_matches(n, "*box:latest"));
        assert!(!reference_matches(n, "alpine*"));
        assert!(reference_matches("localhost/web:1", "localhost/web"));
    }

    #[test]
    fn filters_pick_images_from_a_store() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let named = crate::testutil::simple_image(&store, "a", &["localhost/web:1"]).unwrap();
        let dangling = crate::testutil::simple_image(&store, "b", &[]).unwrap();
        let ids = |texts: &[&str]| -> Vec<String> {
            let texts: Vec<String> = texts.iter().map(|t| t.to_string()).collect();
            let f = ImageFilters::parse_texts(&store, &texts).unwrap();
            let mut v: Vec<String> = f
                .apply(&store, store.list_images().unwrap())
                .unwrap()
                .into_iter()
                .map(|i| i.id.to_string())
                .collect();
            v.sort();
            v
        };
        let (a, b) = (named.id.to_string(), dangling.id.to_string());
        let mut both = vec![a.clone(), b.clone()];
        both.sort();
        assert_eq!(ids(&[]), both);
        assert_eq!(ids(&["dangling=true"]), vec![b.clone()]);
        assert_eq!(ids(&["dangling=false"]), vec![a.clone()]);
        assert_eq!(ids(&["reference=web"]), vec![a.clone()]);
        assert_eq!(ids(&["reference=localhost/*"]), vec![a.clone()]);
        assert_eq!(ids(&["reference=nothing"]), Vec::<String>::new());
        // One kind: alternatives; two kinds: both must hold.
        assert_eq!(
            ids(&["reference=web", "reference=nothing"]),
            vec![a.clone()]
        );
        assert_eq!(
            ids(&["reference=web", "dangling=true"]),
            Vec::<String>::new()
        );
        assert_eq!(ids(&[&format!("id={}", &b[7..14])]), vec![b.clone()]);
        assert_eq!(ids(&["intermediate=true"]), Vec::<String>::new());
        assert_eq!(ids(&["containers=false"]), both);
        let err = ImageFilters::parse_texts(&store, &["colour=red".to_string()]).unwrap_err();
        assert!(
            err.to_string()
                .contains("unsupported image filter \"colour\""),
            "{err}"
        );
        assert!(ImageFilters::parse_texts(&store, &["before=missing".to_string()]).is_err());
    }

    #[test]
    fn bad_filters_are_named() {
        assert!(split_filter("dangling").is_err());
        assert_eq!(split_filter("label!=a=b").unwrap(), ("label!", "a=b"));
        assert!(boolean("dangling", "yes").is_err());
        assert!(boolean("dangling", "true").unwrap());
    }
}
