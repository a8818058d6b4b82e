//! The build cache index: what each cached build step made, by step key (table `build_cache`).
//!
//! berth-build computes the keys and decides when to look up and record (its `cache` module);
//! the store keeps the rows and knows which are live: a step that made a layer is live while
//! the layer's blob is in the content store at the recorded size (gc may remove it), a
//! metadata step (only a history time) always is. [`BuildCache::prune`] removes the rest.
//!
//! Berth before the `build_cache` table kept the index as JSON files under
//! `<root>/build-cache-index/`; they are not read (an upgraded store rebuilds its cache), and
//! [`BuildCache::prune`] removes them.

use std::fs;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

use chrono::Utc;
use oci_spec::image::{Descriptor, MediaType};
use rusqlite::{params, OptionalExtension};

use crate::db;
use crate::error::{Result, StoreError};
use crate::store::Store;

/// The directory of the JSON index files of berth before the `build_cache` table.
pub const LEGACY_INDEX_DIR: &str = "build-cache-index";

/// The layer a cached step made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedLayer {
    /// The layer blob's descriptor (digest, size, media type).
    pub layer: Descriptor,
    /// The layer's diff_id.
    pub diff_id: String,
}

/// One recorded step result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheEntry {
    /// The layer the step made; `None` for a metadata step.
    pub layer: Option<CachedLayer>,
    /// The step's history `created` time, when recorded.
    pub created: Option<String>,
}

/// The build cache index of one store ([`Store::build_cache`]).
pub struct BuildCache<'a> {
    store: &'a Store,
}

impl Store {
    /// The build cache index of this store.
    pub fn build_cache(&self) -> BuildCache<'_> {
        BuildCache { store: self }
    }
}

impl BuildCache<'_> {
    /// The entry recorded under `key` (written within `ttl`, when given), live or not.
    pub fn get(&self, key: &str, ttl: Option<Duration>) -> Result<Option<CacheEntry>> {
        let conn = self.store.conn();
        let row = conn
            .query_row(
                "SELECT digest, size, media_type, diff_id, created, written
                 FROM build_cache WHERE key = ?1",
                params![key],
                |r| {
                    Ok((
                        r.get::<_, Option<String>>(0)?,
                        r.get::<_, Option<i64>>(1)?,
                        r.get::<_, Option<String>>(2)?,
                        r.get::<_, Option<String>>(3)?,
                        r.get::<_, Option<String>>(4)?,
                        r.get::<_, String>(5)?,
                    ))
                },
            )
            .optional()?;
        let Some((digest, size, media_type, diff_id, created, written)) = row else {
            return Ok(None);
        };
        if let Some(ttl) = ttl {
            let fresh = db::time_col(&written)
                .is_some_and(|t| (Utc::now() - t).to_std().is_ok_and(|age| age <= ttl));
            if !fresh {
                return Ok(None);
            }
        }
        let layer = match (digest, size, media_type, diff_id) {
            (Some(digest), Some(size), Some(media_type), Some(diff_id)) => Some(CachedLayer {
                layer: Descriptor::new(
                    MediaType::from(media_type.as_str()),
                    u64::try_from(size).map_err(|_| {
                        StoreError::Invalid(format!("build cache entry {key}: size {size}"))
                    })?,
                    db::digest_col(&digest)?,
                ),
                diff_id,
            }),
            _ => None,
        };
        Ok(Some(CacheEntry { layer, created }))
    }

    /// Record `entry` under `key` (replacing what was there), written now.
    pub fn put(&self, key: &str, entry: &CacheEntry) -> Result<()> {
        let layer = entry.layer.as_ref();
        let size = layer
            .map(|l| i64::try_from(l.layer.size()))
            .transpose()
            .map_err(|_| StoreError::Invalid(format!("build cache entry {key}: size")))?;
        self.store.conn().execute(
            "INSERT OR REPLACE INTO build_cache
                 (key, digest, size, media_type, diff_id, created, written)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                key,
                layer.map(|l| l.layer.digest().to_string()),
                size,
                layer.map(|l| l.layer.media_type().to_string()),
                layer.map(|l| l.diff_id.as_str()),
                entry.created,
                db::now(),
            ],
        )?;
        Ok(())
    }

    /// Every recorded key, sorted.
    pub fn keys(&self) -> Result<Vec<String>> {
        let conn = self.store.conn();
        let mut stmt = conn.prepare("SELECT key FROM build_cache ORDER BY key")?;
        let keys = stmt.query_map([], |r| r.get(0))?;
        Ok(keys.collect::<rusqlite::Result<_>>()?)
    }

    /// Whether `entry` can still be used: a metadata entry always, a layer entry while its
    /// blob is in the content store at the recorded size.
    pub fn is_live(&self, entry: &CacheEntry) -> bool {
        let Some(l) = &entry.layer else {
            return true;
        };
        let content = self.store.content();
        content.contains(l.layer.digest())
            && content.size(l.layer.digest()).ok() == Some(l.layer.size())
    }

    /// Remove the entries that are no longer live (with `all`, every entry), and the JSON
    /// index of berth before the table; returns how many entries went. Callers that must not
    /// race a build hold the store's exclusive lock.
    pub fn prune(&self, all: bool) -> Result<u64> {
        let mut removed = self.prune_legacy_index()?;
        let mut dead = Vec::new();
        for key in self.keys()? {
            let live = self
                .get(&key, None)?
                .is_some_and(|entry| self.is_live(&entry));
            if all || !live {
                dead.push(key);
            }
        }
        db::immediate(&mut self.store.conn(), |tx| {
            for key in &dead {
                tx.execute("DELETE FROM build_cache WHERE key = ?1", params![key])?;
            }
            Ok(())
        })?;
        removed += dead.len() as u64;
        Ok(removed)
    }

    /// Remove `build-cache-index/` left by berth before the table; returns how many entry
    /// files it held.
    fn prune_legacy_index(&self) -> Result<u64> {
        let dir: PathBuf = self.store.root().join(LEGACY_INDEX_DIR);
        let files = match fs::read_dir(&dir) {
            Ok(rd) => rd.count() as u64,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(StoreError::io(&dir, e)),
        };
        fs::remove_dir_all(&dir).map_err(|e| StoreError::io(&dir, e))?;
        Ok(files)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_layers::digest::digest_bytes;

    fn layer_entry(store: &Store, bytes: &[u8], created: Option<&str>) -> CacheEntry {
        let (digest, _) = store.content().put_bytes(bytes).unwrap();
        CacheEntry {
            layer: Some(CachedLayer {
                layer: Descriptor::new(MediaType::ImageLayer, bytes.len() as u64, digest),
                diff_id: digest_bytes(b"diff").to_string(),
            }),
            created: created.map(str::to_string),
        }
    }

    #[test]
    fn put_get_replace() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let cache = store.build_cache();
        assert_eq!(cache.get("k", None).unwrap(), None);
        let entry = layer_entry(&store, b"layer", None);
        cache.put("k", &entry).unwrap();
        assert_eq!(cache.get("k", None).unwrap().as_ref(), Some(&entry));
        assert!(cache.is_live(&entry));
        let later = CacheEntry {
            created: Some("2026-01-01T00:00:00Z".into()),
            ..entry
        };
        cache.put("k", &later).unwrap();
        assert_eq!(cache.get("k", None).unwrap(), Some(later));
        let meta = CacheEntry {
            layer: None,
            created: Some("t".into()),
        };
        cache.put("m", &meta).unwrap();
        assert_eq!(cache.get("m", None).unwrap(), Some(meta));
    }

    #[test]
    fn ttl_counts_from_the_last_write() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let cache = store.build_cache();
        let entry = layer_entry(&store, b"layer", Some("t"));
        cache.put("k", &entry).unwrap();
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(cache.get("k", Some(Duration::from_nanos(1))).unwrap(), None);
        assert!(cache
            .get("k", Some(Duration::from_secs(3600)))
            .unwrap()
            .is_some());
    }

    #[test]
    fn prune_removes_entries_whose_blob_is_gone_and_the_legacy_index() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let cache = store.build_cache();
        let kept = layer_entry(&store, b"kept", None);
        let gone = layer_entry(&store, b"gone", None);
        cache.put("kept", &kept).unwrap();
        cache.put("gone", &gone).unwrap();
        let meta = CacheEntry {
            layer: None,
            created: Some("t".into()),
        };
        cache.put("meta", &meta).unwrap();
        let blob = dir
            .path()
            .join("blobs/sha256")
            .join(gone.layer.as_ref().unwrap().layer.digest().digest());
        fs::remove_file(blob).unwrap();
        assert!(!cache.is_live(&gone));
        let legacy = dir.path().join(LEGACY_INDEX_DIR);
        fs::create_dir(&legacy).unwrap();
        fs::write(legacy.join("abc"), "{}").unwrap();

        assert_eq!(cache.prune(false).unwrap(), 2);
        assert!(!legacy.exists());
        assert_eq!(cache.get("gone", None).unwrap(), None);
        assert!(cache.get("kept", None).unwrap().is_some());
        assert!(cache.get("meta", None).unwrap().is_some());

        assert_eq!(cache.prune(true).unwrap(), 2);
        assert_eq!(cache.get("kept", None).unwrap(), None);
        assert_eq!(cache.get("meta", None).unwrap(), None);
    }
}
