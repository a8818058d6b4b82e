//! The layer cache shared through a registry (`--cache-from REPO`, `--cache-to REPO`), stored
//! as Buildah 1.28 stores it: each step's result is an ordinary image pushed to `REPO:<key>`,
//! the tag being the step's cache key (64 hex digits, [`crate::cache::KeyBuilder`]), the
//! step's layer its last layer. A build whose local cache misses a step asks each
//! `--cache-from` repository for `REPO:<key>` before running the step.
//!
//! Everything goes through the registry crate's own pull and push: the trust gate (policy.json),
//! each blob checked against its digest while it streams, HEAD-skip of blobs already there.
//! An entry is used only when its image continues the step's parent exactly (the parent's
//! diff_ids, then one layer), and its new layer unpacks to the diff_id its config claims
//! (`Store::unpack_image`); anything else is refused in one line and the step runs.
//!
//! A repository that cannot be reached is left out for the rest of the build, said once; a
//! missing tag is a plain miss. Pushing is best effort as well: a `--cache-to` repository that
//! refuses a push is said once and not tried again (Buildah fails the build instead).
//!
//! The keys are berth's own (Buildah hashes its history texts and its own content digests),
//! so a repository filled by Buildah gives berth no hits, nor the reverse; both can share one
//! repository without clashing (README, "A cache shared through a registry").

use std::collections::HashSet;
use std::sync::Mutex;

use berth_image_store::{ImageRecord, Store};
use berth_layers::reference::Reference;
use berth_registry::error::RegistryError;
use berth_registry::pull::{fetch_verified, store_verified, PullOptions};
use berth_registry::push::{push, PushOptions};

use crate::cache::Entry;
use crate::error::{BuildError, Result};
use crate::image::ImageState;

/// A `--cache-from`/`--cache-to` value: a repository, without tag or digest.
pub fn repository(input: &str) -> std::result::Result<Reference, String> {
    let s = input.strip_prefix("docker://").unwrap_or(input);
    let r =
        Reference::parse_normalized(s).map_err(|e| format!("cache repository {input:?}: {e}"))?;
    if !r.is_name_only() {
        return Err(format!(
            "cache repository {input:?}: name a repository, without a tag or digest (the tags are the step keys)"
        ));
    }
    Ok(r)
}

/// The repositories of one build and what the build learnt of them.
pub struct RegistryCache {
    from: Vec<Reference>,
    to: Vec<Reference>,
    pull: PullOptions,
    /// Repositories found unreachable (or refusing pushes): not asked again.
    down: Mutex<HashSet<String>>,
    /// Images pulled as cache entries, with the name the pull gave them: untagged (and removed
    /// when that was their only name) after the build.
    pulled: Mutex<Vec<(ImageRecord, String)>>,
}

impl RegistryCache {
    /// The cache of a build with these `--cache-from` and `--cache-to` repositories; `pull`
    /// says how to reach registries (TLS, credentials, the trust policy).
    pub fn new(from: &[String], to: &[String], pull: &PullOptions) -> Result<RegistryCache> {
        let parse = |list: &[String]| -> Result<Vec<Reference>> {
            list.iter()
                .map(|r| repository(r).map_err(BuildError::Invalid))
                .collect()
        };
        Ok(RegistryCache {
            from: parse(from)?,
            to: parse(to)?,
            pull: PullOptions {
                // A missing tag is the common answer and an unreachable registry is said
                // once: no retry delays on a lookup.
                retry: 0,
                ..pull.clone()
            },
            down: Mutex::new(HashSet::new()),
            pulled: Mutex::new(Vec::new()),
        })
    }

    /// Whether any `--cache-to` repository is given.
    pub fn pushes(&self) -> bool {
        !self.to.is_empty()
    }

    fn is_down(&self, repo: &Reference) -> bool {
        self.down
            .lock()
            .map(|d| d.contains(&repo.name()))
            .unwrap_or(true)
    }

    fn mark_down(&self, repo: &Reference) {
        if let Ok(mut d) = self.down.lock() {
            d.insert(repo.name());
        }
    }

    /// The entry for step `key` over `parent` from the first `--cache-from` repository that
    /// has a valid one: pulled into `store`, checked, its layer unpacked. `out` gets Buildah's
    /// `--> Cache pulled from remote REPO:KEY`, or one line for a refused entry or a
    /// repository that cannot be reached.
    pub fn lookup(
        &self,
        store: &Store,
        key: &str,
        parent: &ImageState,
        out: &mut (dyn FnMut(&str) + Send),
    ) -> Option<Entry> {
        self.find(store, key, out, &|record| {
            check_entry(store, record, parent)
        })
    }

    /// The created time of metadata step `key` (ENV, LABEL…) that left `after`, from the first
    /// `--cache-from` repository with a valid entry: an image with `after`'s layers whose last
    /// history entry is an empty layer's.
    pub fn lookup_created(
        &self,
        store: &Store,
        key: &str,
        after: &ImageState,
        out: &mut (dyn FnMut(&str) + Send),
    ) -> Option<String> {
        self.find(store, key, out, &|record| {
            check_metadata(store, record, after)
        })
    }

    /// Pull `REPO:KEY` from each `--cache-from` repository in turn until `check` accepts one.
    fn find<T>(
        &self,
        store: &Store,
        key: &str,
        out: &mut (dyn FnMut(&str) + Send),
        check: &dyn Fn(&ImageRecord) -> std::result::Result<T, String>,
    ) -> Option<T> {
        for repo in &self.from {
            if self.is_down(repo) {
                continue;
            }
            let name = format!("{}:{key}", repo.name());
            let fetched = match fetch_verified(&name, &self.pull, &|_| {}) {
                Ok(f) => f,
                Err(e) if is_miss(&e) => continue,
                Err(e) if is_unreachable(&e) => {
                    self.mark_down(repo);
                    out(&format!(
                        "--> Cache repository {} unreachable, building without it: {}",
                        repo.name(),
                        one_line(&e.to_string())
                    ));
                    continue;
                }
                Err(e) => {
                    out(&refused(&name, &e.to_string()));
                    continue;
                }
            };
            let record = match store_verified(store, &fetched, &self.pull, &|_| {}) {
                Ok(r) => r,
                Err(e) => {
                    out(&refused(&name, &e.to_string()));
                    continue;
                }
            };
            let stored_name = fetched.reference.store_name();
            match check(&record) {
                Ok(entry) => {
                    if let Ok(mut p) = self.pulled.lock() {
                        p.push((record, stored_name));
                    }
                    out(&format!("--> Cache pulled from remote {name}"));
                    return Some(entry);
                }
                Err(why) => {
                    drop_pulled(store, &record, &stored_name);
                    out(&refused(&name, &why));
                }
            }
        }
        None
    }

    /// Push `image` (the state right after step `key`, recorded in `store`) to every
    /// `--cache-to` repository as `REPO:KEY`, saying Buildah's `--> Pushing cache REPO:KEY`.
    pub fn push(
        &self,
        store: &Store,
        image: &ImageRecord,
        key: &str,
        out: &mut (dyn FnMut(&str) + Send),
    ) {
        for repo in &self.to {
            if self.is_down(repo) {
                continue;
            }
            let dest = match Reference::from_parts(
                repo.registry(),
                repo.repository(),
                Some(key.to_string()),
                None,
            ) {
                Ok(d) => d,
                Err(e) => {
                    out(&format!("--> Cache not pushed to {}: {e}", repo.name()));
                    continue;
                }
            };
            out(&format!("--> Pushing cache {dest}"));
            let opts = PushOptions {
                connect: self.pull.connect.clone(),
                ..PushOptions::default()
            };
            if let Err(e) = push(store, image.id.as_ref(), &dest, &opts, &|_| {}) {
                self.mark_down(repo);
                out(&format!(
                    "--> Cache not pushed to {}, not trying it again in this build: {}",
                    repo.name(),
                    one_line(&e.to_string())
                ));
            }
        }
    }

    /// Take the names the cache pulls gave off their images (removing an image that had no
    /// other name), once the build is done with them; `keep` is the build's result.
    pub fn release(&self, store: &Store, keep: Option<&ImageRecord>) {
        let pulled = self
            .pulled
            .lock()
            .map(|mut p| std::mem::take(&mut *p))
            .unwrap_or_default();
        for (record, name) in pulled {
            if keep.is_some_and(|k| k.id == record.id) {
                let _ = store
                    .lookup_image(record.id.as_ref())
                    .and_then(|r| store.untag_image(&r, &name));
                continue;
            }
            drop_pulled(store, &record, &name);
        }
    }
}

/// Remove the name a cache pull gave `record`, and the image too when that was its only name.
fn drop_pulled(store: &Store, record: &ImageRecord, name: &str) {
    let Ok(now) = store.lookup_image(record.id.as_ref()) else {
        return;
    };
    let others = now.names.iter().any(|n| *n != name);
    let result = if others {
        store.untag_image(&now, name)
    } else {
        store.remove_image(now.id.as_ref(), true).map(|_| ())
    };
    if let Err(e) = result {
        tracing::warn!(image = %record.id, error = %e, "removing a pulled cache image");
    }
}

/// Check a pulled entry against the step's parent and unpack its new layer (its diff_id
/// checked); the step's cache entry, or why it is refused.
fn check_entry(
    store: &Store,
    record: &ImageRecord,
    parent: &ImageState,
) -> std::result::Result<Entry, String> {
    let manifest = store.image_manifest(record).map_err(|e| e.to_string())?;
    let config = store.image_config(record).map_err(|e| e.to_string())?;
    let theirs = config.rootfs().diff_ids();
    let ours = parent.config.rootfs().diff_ids();
    if theirs.len() != ours.len() + 1 || theirs[..ours.len()] != ours[..] {
        return Err("its layers do not continue this step's parent".into());
    }
    let (Some(layer), Some(diff_id)) = (manifest.layers().last(), theirs.last()) else {
        return Err("it has no layer".into());
    };
    if manifest.layers().len() != theirs.len() {
        return Err("its manifest and config list different numbers of layers".into());
    }
    store
        .unpack_image(record)
        .map_err(|e| format!("its layer does not match its config: {e}"))?;
    let created = config
        .history()
        .as_ref()
        .and_then(|h| h.last())
        .and_then(|h| h.created().clone());
    Ok(Entry {
        layer: layer.clone(),
        diff_id: diff_id.clone(),
        created,
    })
}

/// Check a pulled metadata step's entry against the state the step left (`after`): the same
/// layers, its last history entry an empty layer's with a time.
fn check_metadata(
    store: &Store,
    record: &ImageRecord,
    after: &ImageState,
) -> std::result::Result<String, String> {
    let config = store.image_config(record).map_err(|e| e.to_string())?;
    if config.rootfs().diff_ids() != after.config.rootfs().diff_ids() {
        return Err("its layers are not this step's".into());
    }
    let last = config.history().as_ref().and_then(|h| h.last().cloned());
    match last {
        Some(h) if h.empty_layer() == Some(true) => h
            .created()
            .clone()
            .ok_or_else(|| "its last step has no time".into()),
        _ => Err("its last step made a layer".into()),
    }
}

/// The line for an entry that is not used.
fn refused(name: &str, why: &str) -> String {
    format!(
        "--> Cache entry {name} refused, running the step: {}",
        one_line(why)
    )
}

fn one_line(s: &str) -> String {
    s.replace('\n', " ")
}

/// A tag (or the repository) the registry does not have.
fn is_miss(e: &RegistryError) -> bool {
    match e {
        RegistryError::ManifestUnknown { .. } => true,
        RegistryError::Status { status, .. } => *status == 404,
        RegistryError::AllFailed { errors, .. } => errors.iter().all(is_miss),
        _ => false,
    }
}

/// The registry could not be reached at all.
fn is_unreachable(e: &RegistryError) -> bool {
    match e {
        RegistryError::Http { .. } => true,
        RegistryError::AllFailed { errors, .. } => errors.iter().all(is_unreachable),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cache_repository_has_no_tag() {
        assert_eq!(
            repository("127.0.0.1:5000/ci/cache").unwrap().name(),
            "127.0.0.1:5000/ci/cache"
        );
        assert_eq!(
            repository("docker://quay.io/x/cache").unwrap().name(),
            "quay.io/x/cache"
        );
        for bad in [
            "127.0.0.1:5000/cache:v1",
            "quay.io/x@sha256:abc",
            "UPPER/case",
        ] {
            assert!(repository(bad).is_err(), "{bad}");
        }
        let e = repository("127.0.0.1:5000/cache:v1").unwrap_err();
        assert!(e.contains("without a tag"), "{e}");
    }

    #[test]
    fn a_missing_tag_is_a_miss_and_a_refused_connection_is_unreachable() {
        let miss = RegistryError::ManifestUnknown {
            reference: "r".into(),
            url: "u".into(),
        };
        assert!(is_miss(&miss) && !is_unreachable(&miss));
        let down = RegistryError::Http {
            method: "GET".into(),
            url: "u".into(),
            message: "refused".into(),
            failure: berth_registry::error::NetFailure::Refused,
        };
        assert!(is_unreachable(&down) && !is_miss(&down));
        let bad = RegistryError::Invalid {
            what: "w".into(),
            message: "m".into(),
        };
        assert!(!is_miss(&bad) && !is_unreachable(&bad));
    }
}
