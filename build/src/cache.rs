//! The layer cache (`--layers`, on by default in the CLI as in Podman): a filesystem step
//! whose key matches an earlier one reuses that step's layer instead of running.
//!
//! The key of a step hashes what decides its result: the parent's layers (diff_ids), the
//! runtime config it runs with, berth's `--timestamp`, and the step's own inputs (for RUN
//! the command, environment and network; for COPY/ADD the destination, owner, mode and a
//! digest of every source: path, type, mode, owner, bytes or link target, never mtime).
//! RUN steps with `--mount` are never cached. Entries live in the store's database
//! ([`berth_image_store::build_cache`]: the layer's digest, size, media type and diff_id, and
//! the step's created time); a hit whose blob is gone (gc) is a miss.
//!
//! A step's created time is part of its result: a metadata step (ENV, LABEL, CMD…) records
//! only that ([`KeyBuilder::metadata`], [`lookup_created`]). So a rebuild in which every step is
//! cached writes the same history and created times, hence the same image id, as Buildah.

use std::ffi::OsStr;
use std::fs;
use std::io::{self, Read};
use std::os::fd::{AsFd, BorrowedFd};
use std::path::Path;

use berth_image_store::build_cache::{CacheEntry, CachedLayer};
use berth_image_store::layout::BUILD_MOUNT_CACHES;
use berth_image_store::Store;
use berth_layers::inroot::{self, Meta};
use oci_spec::image::Descriptor;
use rustix::fs::FileType;
use sha2::{Digest as _, Sha256};

use crate::copy::{open_file_at, Opened};
use crate::image::ImageState;

/// A cached step result: the layer it made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub layer: Descriptor,
    pub diff_id: String,
    /// The step's history `created` time (absent in entries older than this field).
    pub created: Option<String>,
}

/// Hashes length-prefixed parts, so that no two part lists collide.
#[derive(Clone)]
pub struct KeyBuilder(Sha256);

impl KeyBuilder {
    /// A key over the parent state of a step.
    pub fn new(state: &ImageState, timestamp: Option<i64>) -> KeyBuilder {
        let mut k = KeyBuilder(Sha256::new());
        k.part(b"berth-build-cache-v1");
        for d in state.config.rootfs().diff_ids() {
            k.part(d.as_bytes());
        }
        // Through a `Value` (a sorted map), so label order never changes the key.
        let inner = serde_json::to_value(state.inner()).unwrap_or_default();
        k.part(inner.to_string().as_bytes());
        k.part(format!("{timestamp:?}").as_bytes());
        k
    }

    /// The key of a metadata step: the state before it (`before`), its instruction text,
    /// and the config it leaves (`after`: runtime config, Docker extras, author).
    pub fn metadata(before: &ImageState, after: &ImageState, text: &str) -> String {
        let mut k = KeyBuilder::new(before, before.timestamp);
        k.part(b"metadata").part(text.as_bytes());
        let inner = serde_json::to_value(after.inner()).unwrap_or_default();
        k.part(inner.to_string().as_bytes());
        k.part(
            serde_json::Value::Object(after.extras.0.clone())
                .to_string()
                .as_bytes(),
        );
        k.part(after.config.author().as_deref().unwrap_or("").as_bytes());
        k.finish()
    }

    /// A key that does not depend on the parent state (`COPY --link`).
    pub fn detached(timestamp: Option<i64>) -> KeyBuilder {
        let mut k = KeyBuilder(Sha256::new());
        k.part(b"berth-build-cache-link-v1");
        k.part(format!("{timestamp:?}").as_bytes());
        k
    }

    pub fn part(&mut self, bytes: &[u8]) -> &mut Self {
        self.0.update((bytes.len() as u64).to_le_bytes());
        self.0.update(bytes);
        self
    }

    pub fn finish(self) -> String {
        hex::encode(self.0.finalize())
    }
}

/// Hash a source tree (or file, or symlink) at `rel` under `root` into `k`, walking sorted,
/// never following symlinks: resolved and read from `root`'s descriptor as COPY reads it
/// ([`Opened`]).
pub fn hash_tree(k: &mut KeyBuilder, root: &Path, rel: &Path) -> io::Result<()> {
    let src = Opened::new(root, rel, &rel.display().to_string())?;
    match src.at() {
        (dir, None) => {
            header(k, Path::new(""), &src.meta);
            hash_children(k, dir, Path::new(""))
        }
        (dir, Some(name)) => hash_entry(k, dir, name, Path::new(""), &src.meta),
    }
}

fn header(k: &mut KeyBuilder, rel: &Path, md: &Meta) {
    k.part(rel.as_os_str().as_encoded_bytes());
    k.part(format!("{:o} {} {}", md.mode, md.uid, md.gid).as_bytes());
}

fn hash_children(k: &mut KeyBuilder, dir: BorrowedFd<'_>, rel: &Path) -> io::Result<()> {
    for (n, _) in inroot::read_dir_at(dir)? {
        let md = inroot::meta_at(dir, &n)?;
        hash_entry(k, dir, &n, &rel.join(&n), &md)?;
    }
    Ok(())
}

fn hash_entry(
    k: &mut KeyBuilder,
    dir: BorrowedFd<'_>,
    name: &OsStr,
    rel: &Path,
    md: &Meta,
) -> io::Result<()> {
    header(k, rel, md);
    match md.kind {
        FileType::Symlink => {
            k.part(rustix::fs::readlinkat(dir, name, Vec::new())?.as_bytes());
        }
        FileType::RegularFile => {
            let mut f = open_file_at(dir, name, md)?;
            let mut h = Sha256::new();
            let mut buf = vec![0u8; 256 * 1024];
            loop {
                let n = f.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                h.update(&buf[..n]);
            }
            k.part(&h.finalize());
        }
        FileType::Directory => {
            let sub = inroot::open_dir_at(dir, name)?;
            hash_children(k, sub.as_fd(), rel)?;
        }
        _ => {}
    }
    Ok(())
}

/// The entry for `key`, if recorded (within `ttl`, when given) and its layer blob is still
/// in the store. A database error is a miss (logged).
pub fn lookup(store: &Store, key: &str, ttl: Option<std::time::Duration>) -> Option<Entry> {
    let entry = read(store, key, ttl)?;
    if !store.build_cache().is_live(&entry) {
        return None;
    }
    let CachedLayer { layer, diff_id } = entry.layer?;
    Some(Entry {
        layer,
        diff_id,
        created: entry.created,
    })
}

/// The created time recorded for a metadata step's `key` (within `ttl`, when given).
pub fn lookup_created(
    store: &Store,
    key: &str,
    ttl: Option<std::time::Duration>,
) -> Option<String> {
    read(store, key, ttl)?.created
}

/// The index entry at `key`, if recorded (within `ttl`, when given).
fn read(store: &Store, key: &str, ttl: Option<std::time::Duration>) -> Option<CacheEntry> {
    store.build_cache().get(key, ttl).unwrap_or_else(|e| {
        tracing::warn!(key, error = %e, "reading the build cache");
        None
    })
}

/// Record `entry` under `key` (best effort: a cache that cannot be written is a warning).
pub fn save(store: &Store, key: &str, entry: &Entry) {
    write(
        store,
        key,
        &CacheEntry {
            layer: Some(CachedLayer {
                layer: entry.layer.clone(),
                diff_id: entry.diff_id.clone(),
            }),
            created: entry.created.clone(),
        },
    );
}

/// Record a metadata step's created time under `key` (best effort, as [`save`]).
pub fn save_created(store: &Store, key: &str, created: &str) {
    write(
        store,
        key,
        &CacheEntry {
            layer: None,
            created: Some(created.to_string()),
        },
    );
}

fn write(store: &Store, key: &str, entry: &CacheEntry) {
    if let Err(e) = store.build_cache().put(key, entry) {
        tracing::warn!(key, error = %e, "writing the build cache");
    }
}

/// What [`prune`] removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PruneStats {
    /// Index entries removed.
    pub entries: u64,
    /// Whether the `RUN --mount=type=cache` directories were removed.
    pub mount_caches: bool,
}

/// Remove cache index entries whose layer blob is gone; with `all`, every entry and the
/// `RUN --mount=type=cache` directories as well (`berth system prune -a`). Holds the store's
/// exclusive lock, so no build runs meanwhile.
pub fn prune(store: &Store, all: bool) -> berth_image_store::Result<PruneStats> {
    let _lock = store.lock_exclusive()?;
    let mut stats = PruneStats {
        entries: store.build_cache().prune(all)?,
        mount_caches: false,
    };
    let mounts = store.root().join(BUILD_MOUNT_CACHES);
    if all && mounts.exists() {
        fs::remove_dir_all(&mounts).map_err(|e| berth_image_store::StoreError::io(&mounts, e))?;
        stats.mount_caches = true;
    }
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key_of(dir: &Path) -> String {
        let mut k = KeyBuilder(Sha256::new());
        hash_tree(&mut k, dir, Path::new("")).unwrap();
        k.finish()
    }

    #[test]
    fn tree_hash_sees_content_and_mode_not_mtime() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        fs::create_dir(d.path().join("sub")).unwrap();
        fs::write(d.path().join("sub/a"), "one").unwrap();
        let first = key_of(d.path());
        let f = fs::File::options()
            .write(true)
            .open(d.path().join("sub/a"))
            .unwrap();
        f.set_modified(std::time::SystemTime::UNIX_EPOCH).unwrap();
        assert_eq!(key_of(d.path()), first, "mtime must not matter");
        fs::write(d.path().join("sub/a"), "two").unwrap();
        let second = key_of(d.path());
        assert_ne!(second, first);
        fs::set_permissions(d.path().join("sub/a"), fs::Permissions::from_mode(0o600)).unwrap();
        assert_ne!(key_of(d.path()), second);
    }

    #[test]
    fn parts_are_length_prefixed() {
        let mut a = KeyBuilder(Sha256::new());
        a.part(b"ab").part(b"c");
        let mut b = KeyBuilder(Sha256::new());
        b.part(b"a").part(b"bc");
        assert_ne!(a.finish(), b.finish());
    }
}
