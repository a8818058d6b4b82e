//! Snapshots: each layer unpacked once by chain id; writable snapshots over a chain.
//!
//! - `overlay/<chain-hex>/diff`: one unpacked layer. Its `layers` row is inserted with
//!   `complete = 0` before unpacking starts, so a crash leaves a row that `check` and `gc`
//!   find; it is unpacked in `overlay/tmp-<random>/` and renamed into place once its diff_id
//!   matched the config.
//! - `snapshots/<key>/{upper,work,merged}`: a writable snapshot over a chain.
//! - `mounts/<image-hex>/merged`: a read-only image mount, refcounted in `image_mounts`.
//!
//! Chains up to 500 layers deep mount ([`crate::overlay`]); deeper ones fail saying so.

use std::fs;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use berth_layers::{apply_layer, ApplyOptions, Digest, WhiteoutMode};
use rusqlite::{params, OptionalExtension};

use crate::content::{fsync_dir, unique_name};
use crate::db;
use crate::error::{Result, StoreError};
use crate::fsutil::{mkdir_all, remove_tree};
use crate::images::{image_layers, images_where, ImageLayer, ImageRecord};
use crate::mount::{self, Mount};
use crate::store::Store;

/// A writable snapshot: an upper and work dir over the unpacked layers of a parent chain.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Caller's key (container id, build step id).
    pub key: String,
    /// The overlay upper dir (what the diff reads).
    pub upper: PathBuf,
    /// A directory for mounting the snapshot (`merged/`).
    pub mountpoint: PathBuf,
    /// How to mount it (an overlay; a bind of `upper` when the chain is empty).
    pub mounts: Vec<Mount>,
}

/// The directory of an unpacked layer (holding `diff/`).
pub(crate) fn layer_dir(store: &Store, chain: &Digest) -> PathBuf {
    store.root().join("overlay").join(chain.digest())
}

/// How many `image mount` references the image's read-only mount holds, if it has a row.
fn mount_refcount(tx: &rusqlite::Transaction<'_>, image_id: &str) -> Result<Option<i64>> {
    Ok(tx
        .query_row(
            "SELECT refcount FROM image_mounts WHERE image_id = ?1",
            [image_id],
            |r| r.get(0),
        )
        .optional()?)
}

fn snapshot_dir(store: &Store, key: &str) -> PathBuf {
    store.root().join("snapshots").join(key)
}

fn check_key(key: &str) -> Result<()> {
    let ok = !key.is_empty()
        && key.len() <= 128
        && key != "."
        && key != ".."
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if !ok {
        return Err(StoreError::Invalid(format!(
            "invalid snapshot key {key:?}: use up to 128 of [A-Za-z0-9_.-]"
        )));
    }
    Ok(())
}

impl Store {
    /// The directories (`…/diff`) of `chains`, top layer first, as overlay lower dirs.
    pub(crate) fn lower_dirs(&self, chains: &[Digest]) -> Vec<PathBuf> {
        chains
            .iter()
            .rev()
            .map(|c| layer_dir(self, c).join("diff"))
            .collect()
    }

    /// Unpack every layer of `image` that is not yet unpacked (each chain id once, marked
    /// incomplete until done, its diff_id checked against the config). Returns the chain ids,
    /// bottom layer first.
    pub fn unpack_image(&self, image: &ImageRecord) -> Result<Vec<Digest>> {
        let _lock = self.lock_shared()?;
        let layers = image_layers(&self.conn(), &image.id)?;
        let mut parent: Option<&Digest> = None;
        for layer in &layers {
            self.unpack_layer(layer, parent)?;
            parent = Some(&layer.chain_id);
        }
        Ok(layers.into_iter().map(|l| l.chain_id).collect())
    }

    fn unpack_layer(&self, layer: &ImageLayer, parent: Option<&Digest>) -> Result<()> {
        let chain = layer.chain_id.to_string();
        let dir = layer_dir(self, &layer.chain_id);
        {
            let mut conn = self.conn();
            let complete: Option<bool> = conn
                .query_row(
                    "SELECT complete FROM layers WHERE chain_id = ?1",
                    [&chain],
                    |r| r.get(0),
                )
                .optional()?;
            if complete == Some(true) && dir.join("diff").is_dir() {
                return Ok(());
            }
            db::immediate(&mut conn, |tx| {
                tx.execute(
                    "INSERT INTO layers (chain_id, diff_id, parent, digest, size, complete, created)
                     VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6)
                     ON CONFLICT(chain_id) DO UPDATE SET complete = 0
                     WHERE complete = 1",
                    params![
                        chain,
                        layer.diff_id.to_string(),
                        parent.map(|p| p.to_string()),
                        layer.digest.to_string(),
                        layer.size as i64,
                        db::now()
                    ],
                )?;
                Ok(())
            })?;
        }
        if !dir.join("diff").is_dir() {
            if let Err(e) = self.unpack_into_place(layer, &dir) {
                // A refused or failed unpack leaves nothing behind: only a crash leaves an
                // incomplete row for check and gc to find.
                if !dir.join("diff").is_dir() {
                    let mut conn = self.conn();
                    db::immediate(&mut conn, |tx| {
                        tx.execute(
                            "DELETE FROM layers WHERE chain_id = ?1 AND complete = 0",
                            [&chain],
                        )?;
                        Ok(())
                    })?;
                }
                return Err(e);
            }
        }
        let mut conn = self.conn();
        db::immediate(&mut conn, |tx| {
            // An upsert: a concurrent failed unpacker may have deleted the incomplete row.
            tx.execute(
                "INSERT INTO layers (chain_id, diff_id, parent, digest, size, complete, created)
                 VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6)
                 ON CONFLICT(chain_id) DO UPDATE SET complete = 1",
                params![
                    chain,
                    layer.diff_id.to_string(),
                    parent.map(|p| p.to_string()),
                    layer.digest.to_string(),
                    layer.size as i64,
                    db::now()
                ],
            )?;
            Ok(())
        })
    }

    /// Unpack into `overlay/tmp-<random>/diff`, check the diff_id, rename to `dir`.
    fn unpack_into_place(&self, layer: &ImageLayer, dir: &Path) -> Result<()> {
        let overlay = self.root().join("overlay");
        let name = unique_name().map_err(|e| StoreError::io(&overlay, e))?;
        let tmp = overlay.join(format!("tmp-{name}"));
        let diff = tmp.join("diff");
        mkdir_all(&diff, 0o755)?;
        // Synced before the rename: once `<chain>/` exists (and its row says complete), a
        // power loss cannot leave its files short or empty.
        let result = self
            .apply_checked(layer, &diff)
            .and_then(|()| crate::fsutil::sync_tree(&diff));
        if let Err(e) = result {
            let _ = remove_tree(&tmp);
            return Err(e);
        }
        match fs::rename(&tmp, dir) {
            Ok(()) => fsync_dir(&overlay),
            Err(e) if dir.join("diff").is_dir() => {
                // Another process won the race; its copy is as good as ours.
                tracing::debug!(layer = %layer.chain_id, error = %e, "layer unpacked concurrently");
                remove_tree(&tmp).map(|_| ())
            }
            Err(e) => {
                let _ = remove_tree(&tmp);
                Err(StoreError::io(dir, e))
            }
        }
    }

    fn apply_checked(&self, layer: &ImageLayer, diff: &Path) -> Result<()> {
        // Owners can be set as uid 0 (also in a user namespace, over its mapped ids); the
        // trusted.overlay.* xattrs only as root in the initial namespace.
        let root = rustix::process::geteuid().is_root();
        let options = ApplyOptions {
            whiteouts: WhiteoutMode::Overlay {
                user_xattr: !crate::store::is_host_root(),
            },
            privileged: root,
            ..ApplyOptions::default()
        };
        let blob = self.content().open(&layer.digest)?;
        let stats = apply_layer(BufReader::with_capacity(256 * 1024, blob), diff, &options)
            .map_err(|source| StoreError::Unpack {
                layer: layer.digest.to_string(),
                source,
            })?;
        if stats.diff_id != layer.diff_id {
            return Err(StoreError::DigestMismatch {
                what: format!("layer {} diff_id", layer.digest),
                expected: layer.diff_id.to_string(),
                actual: stats.diff_id.to_string(),
            });
        }
        self.record_diff_size(&layer.diff_id, stats.tar_bytes)
    }

    /// Create a writable snapshot `key` over `image`'s layers (unpacking them first), or over
    /// nothing for `None` (FROM scratch).
    pub fn prepare_snapshot(&self, key: &str, image: Option<&ImageRecord>) -> Result<Snapshot> {
        check_key(key)?;
        // Held across unpack and record, so gc cannot take the layers in between.
        let _lock = self.lock_shared()?;
        let chains = match image {
            Some(img) => self.unpack_image(img)?,
            None => Vec::new(),
        };
        let chain_text = chains
            .iter()
            .map(|c| c.to_string())
            .collect::<Vec<_>>()
            .join(",");
        {
            let mut conn = self.conn();
            db::immediate(&mut conn, |tx| {
                let exists = tx
                    .query_row("SELECT 1 FROM snapshots WHERE key = ?1", [key], |_| Ok(()))
                    .optional()?
                    .is_some();
                if exists {
                    return Err(StoreError::AlreadyExists(format!("snapshot {key}")));
                }
                tx.execute(
                    "INSERT INTO snapshots (key, image_id, chain, created) VALUES (?1, ?2, ?3, ?4)",
                    params![key, image.map(|i| i.id.to_string()), chain_text, db::now()],
                )?;
                Ok(())
            })?;
        }
        let dir = snapshot_dir(self, key);
        let made = ["upper", "work", "merged"]
            .iter()
            .try_for_each(|d| mkdir_all(&dir.join(d), 0o755));
        if let Err(e) = made {
            let _ = remove_tree(&dir);
            let mut conn = self.conn();
            let _ = db::immediate(&mut conn, |tx| {
                tx.execute("DELETE FROM snapshots WHERE key = ?1", [key])?;
                Ok(())
            });
            return Err(e);
        }
        Ok(self.snapshot_value(key, &chains))
    }

    fn snapshot_value(&self, key: &str, chains: &[Digest]) -> Snapshot {
        let dir = snapshot_dir(self, key);
        let upper = dir.join("upper");
        let mounts = if chains.is_empty() {
            vec![Mount::bind(&upper, false)]
        } else {
            vec![Mount::overlay(
                &self.lower_dirs(chains),
                &upper,
                &dir.join("work"),
            )]
        };
        Snapshot {
            key: key.to_string(),
            upper,
            mountpoint: dir.join("merged"),
            mounts,
        }
    }

    /// Look up an existing writable snapshot.
    pub fn snapshot(&self, key: &str) -> Result<Snapshot> {
        let chains = self.snapshot_chain(key)?;
        Ok(self.snapshot_value(key, &chains))
    }

    /// The chain ids under writable snapshot `key`, bottom layer first.
    pub(crate) fn snapshot_chain(&self, key: &str) -> Result<Vec<Digest>> {
        check_key(key)?;
        let chain: Option<String> = self
            .conn()
            .query_row("SELECT chain FROM snapshots WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()?;
        let chain = chain.ok_or_else(|| StoreError::NotFound(format!("snapshot {key}")))?;
        parse_chain(&chain)
    }

    /// Keys of every writable snapshot.
    pub fn list_snapshots(&self) -> Result<Vec<String>> {
        let conn = self.conn();
        let mut st = conn.prepare("SELECT key FROM snapshots ORDER BY key")?;
        let keys = st
            .query_map([], |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(keys)
    }

    /// Remove a writable snapshot and its directories (unmounting it if mounted).
    pub fn remove_snapshot(&self, key: &str) -> Result<()> {
        check_key(key)?;
        let exists = self
            .conn()
            .query_row("SELECT 1 FROM snapshots WHERE key = ?1", [key], |_| Ok(()))
            .optional()?
            .is_some();
        if !exists {
            return Err(StoreError::NotFound(format!("snapshot {key}")));
        }
        let dir = snapshot_dir(self, key);
        let merged = dir.join("merged");
        mount::unmount(&merged)?;
        while mount::is_mounted(&merged) {
            mount::unmount(&merged)?;
        }
        remove_tree(&dir)?;
        let mut conn = self.conn();
        db::immediate(&mut conn, |tx| {
            tx.execute("DELETE FROM snapshots WHERE key = ?1", [key])?;
            Ok(())
        })
    }

    /// Mount `image` read-only (refcounted across processes in the database) and return the
    /// mount point; `berth image mount`.
    pub fn mount_image(&self, image: &ImageRecord) -> Result<PathBuf> {
        let _lock = self.lock_shared()?;
        let chains = self.unpack_image(image)?;
        let base = self.root().join("mounts").join(image.id.digest());
        let merged = base.join("merged");
        let id = image.id.to_string();
        let mut conn = self.conn();
        db::immediate(&mut conn, |tx| {
            let refs = mount_refcount(tx, &id)?;
            if let Some(n) = refs.filter(|n| *n > 0) {
                if mount::is_mounted(&merged) {
                    tx.execute(
                        "UPDATE image_mounts SET refcount = ?2 WHERE image_id = ?1",
                        params![id, n + 1],
                    )?;
                    return Ok(());
                }
            }
            mkdir_all(&merged, 0o755)?;
            let m = match chains.len() {
                0 => {
                    let empty = base.join("empty");
                    mkdir_all(&empty, 0o755)?;
                    Mount::bind(&empty, true)
                }
                1 => Mount::bind(&layer_dir(self, &chains[0]).join("diff"), true),
                _ => Mount::overlay_ro(&self.lower_dirs(&chains)),
            };
            m.mount(&merged)?.leak();
            tx.execute(
                "INSERT INTO image_mounts (image_id, refcount, mountpoint) VALUES (?1, 1, ?2)
                 ON CONFLICT(image_id) DO UPDATE SET refcount = 1, mountpoint = excluded.mountpoint",
                params![id, merged.display().to_string()],
            )?;
            Ok(())
        })?;
        Ok(merged)
    }

    /// Drop one reference to `image`'s read-only mount, unmounting at zero (or always with
    /// `force`). Returns whether it is now unmounted.
    pub fn unmount_image(&self, image: &ImageRecord, force: bool) -> Result<bool> {
        let base = self.root().join("mounts").join(image.id.digest());
        let merged = base.join("merged");
        let id = image.id.to_string();
        let mut conn = self.conn();
        db::immediate(&mut conn, |tx| {
            let refs = mount_refcount(tx, &id)?;
            let left = refs.unwrap_or(0) - 1;
            if left > 0 && !force {
                tx.execute(
                    "UPDATE image_mounts SET refcount = ?2 WHERE image_id = ?1",
                    params![id, left],
                )?;
                return Ok(false);
            }
            mount::unmount(&merged)?;
            while mount::is_mounted(&merged) {
                mount::unmount(&merged)?;
            }
            remove_tree(&base)?;
            tx.execute("DELETE FROM image_mounts WHERE image_id = ?1", [&id])?;
            Ok(true)
        })
    }

    /// Images currently mounted, with their mount points.
    pub fn mounted_images(&self) -> Result<Vec<(ImageRecord, PathBuf)>> {
        let conn = self.conn();
        let mut st = conn.prepare(
            "SELECT image_id, mountpoint FROM image_mounts WHERE refcount > 0 ORDER BY image_id",
        )?;
        let rows = st
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut out = Vec::new();
        for (id, mp) in rows {
            if let Some(img) = images_where(&conn, "id = ?1", &id)?.pop() {
                out.push((img, PathBuf::from(mp)));
            }
        }
        Ok(out)
    }
}

/// Parse a snapshot's `chain` column (comma-separated chain ids).
pub(crate) fn parse_chain(s: &str) -> Result<Vec<Digest>> {
    s.split(',')
        .filter(|c| !c.is_empty())
        .map(db::digest_col)
        .collect()
}
