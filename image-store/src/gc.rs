//! Garbage collection: unreferenced blobs, unpacked layers and ingest leftovers.
//!
//! `gc` and `prune_images` hold the store lock exclusive: every writer (ingest, add, unpack,
//! prepare, and a whole build, pull, import or commit) holds it shared, so whatever gc finds
//! under `ingest/` or `overlay/tmp-*` belongs to a process that is gone, every `layers`
//! row still `complete = 0` is a crash leftover, and so is every `build-*` snapshot (a build
//! holds the lock shared from start to end).

use std::collections::HashSet;
use std::fs;
use std::io;

use berth_layers::digest::sha256_from_hex;
use berth_layers::Digest;
use rusqlite::Connection;

use crate::db;
use crate::error::{Result, StoreError};
use crate::fsutil::remove_tree;
use crate::layout::BUILD_SNAPSHOT_PREFIX;
use crate::mount;
use crate::snapshot::{layer_dir, parse_chain};
use crate::store::Store;

/// What a prune removed.
#[derive(Debug, Clone, Default)]
pub struct PruneReport {
    /// Image records removed (by `prune_images`).
    pub images: Vec<Digest>,
    /// Blobs removed.
    pub blobs: Vec<Digest>,
    /// Unpacked layers (chain ids) removed.
    pub layers: Vec<Digest>,
    /// Ingest leftovers removed.
    pub ingest_files: u64,
    /// Bytes freed on disk.
    pub bytes_freed: u64,
}

/// Image rows not used by a snapshot or a mount (and, unless `all`, without names).
const PRUNABLE: &str = "NOT EXISTS (SELECT 1 FROM snapshots s WHERE s.image_id = images.id)
     AND NOT EXISTS (SELECT 1 FROM image_mounts m WHERE m.image_id = images.id AND m.refcount > 0)";
const DANGLING: &str = "NOT EXISTS (SELECT 1 FROM names n WHERE n.image_id = images.id)";

fn strings(conn: &Connection, sql: &str) -> Result<Vec<String>> {
    let mut st = conn.prepare(sql)?;
    let v = st
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(v)
}

impl Store {
    /// Remove dangling images (no names), or with `all` every image not used by a snapshot or
    /// mount, then collect garbage.
    pub fn prune_images(&self, all: bool) -> Result<PruneReport> {
        self.prune_images_among(all, None)
    }

    /// [`Self::prune_images`] limited to the image ids in `among` when given (a filter's
    /// picks: `Store::prune_images_filtered`); each is still checked to be prunable under the lock.
    pub fn prune_images_among(
        &self,
        all: bool,
        among: Option<&HashSet<String>>,
    ) -> Result<PruneReport> {
        // Exclusive from the first row removed: an image a build or pull is about to use or
        // record is never half gone.
        let _lock = self.lock_exclusive()?;
        // Before choosing: a killed build's snapshot no longer holds its image.
        self.remove_killed_builds_snapshots()?;
        let clause = if all {
            PRUNABLE.to_string()
        } else {
            format!("{PRUNABLE} AND {DANGLING}")
        };
        let removed = {
            let mut conn = self.conn();
            db::immediate(&mut conn, |tx| {
                let mut ids = strings(tx, &format!("SELECT id FROM images WHERE {clause}"))?;
                if let Some(among) = among {
                    ids.retain(|id| among.contains(id));
                }
                for id in &ids {
                    tx.execute("DELETE FROM names WHERE image_id = ?1", [id])?;
                    tx.execute("DELETE FROM image_layers WHERE image_id = ?1", [id])?;
                    tx.execute("DELETE FROM image_mounts WHERE image_id = ?1", [id])?;
                    tx.execute("DELETE FROM images WHERE id = ?1", [id])?;
                }
                Ok(ids)
            })?
        };
        let mut report = self.gc_locked()?;
        report.images = removed
            .iter()
            .map(|s| db::digest_col(s))
            .collect::<Result<_>>()?;
        Ok(report)
    }

    /// Remove blobs no image references, unpacked layers no image or snapshot needs, and
    /// ingest leftovers of processes that are gone. Holds the store lock exclusive.
    pub fn gc(&self) -> Result<PruneReport> {
        let _lock = self.lock_exclusive()?;
        self.gc_locked()
    }

    /// [`Self::gc`], the exclusive lock held by the caller.
    fn gc_locked(&self) -> Result<PruneReport> {
        self.remove_killed_builds_snapshots()?;
        // Records removed (rmi, prune) are on disk before any file they named is unlinked.
        db::make_durable(&self.root().join(crate::layout::DATABASE))?;
        let mut report = PruneReport::default();
        let mut conn = self.conn();

        // Blobs.
        let referenced: HashSet<String> = strings(
            &conn,
            "SELECT id FROM images UNION SELECT manifest_digest FROM images
             UNION SELECT digest FROM image_layers",
        )?
        .into_iter()
        .collect();
        for d in self.content().list()? {
            if referenced.contains(&d.to_string()) {
                continue;
            }
            let size = self.content().size(&d).unwrap_or(0);
            match self.content().delete(&d) {
                Ok(()) | Err(StoreError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
            report.bytes_freed += size;
            report.blobs.push(d);
        }

        // Unpacked layers.
        let mut needed: HashSet<String> = strings(&conn, "SELECT chain_id FROM image_layers")?
            .into_iter()
            .collect();
        for chain in strings(&conn, "SELECT chain FROM snapshots")? {
            needed.extend(parse_chain(&chain)?.iter().map(|c| c.to_string()));
        }
        let rows = {
            let mut st = conn.prepare("SELECT chain_id, complete FROM layers")?;
            let v = st
                .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, bool>(1)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            v
        };
        let mut drop_rows = Vec::new();
        let mut kept_dirs = HashSet::new();
        for (chain, complete) in rows {
            let digest = db::digest_col(&chain)?;
            if complete && needed.contains(&chain) {
                kept_dirs.insert(digest.digest().to_string());
                continue;
            }
            report.bytes_freed += remove_tree(&layer_dir(self, &digest))?;
            report.layers.push(digest);
            drop_rows.push(chain);
        }
        db::immediate(&mut conn, |tx| {
            for chain in &drop_rows {
                tx.execute("DELETE FROM layers WHERE chain_id = ?1", [chain])?;
            }
            Ok(())
        })?;
        // Directories without a row: `tmp-*` leftovers and orphans.
        let overlay = self.root().join("overlay");
        for entry in read_dir(&overlay)? {
            let name = entry.file_name().to_string_lossy().into_owned();
            if kept_dirs.contains(&name) {
                continue;
            }
            report.bytes_freed += remove_tree(&entry.path())?;
            if let Ok(d) = sha256_from_hex(&name) {
                if !report.layers.contains(&d) {
                    report.layers.push(d);
                }
            }
        }

        // Ingest leftovers: no writer is active while we hold the lock exclusive.
        let ingest = self.root().join("ingest");
        for entry in read_dir(&ingest)? {
            report.bytes_freed += remove_tree(&entry.path())?;
            report.ingest_files += 1;
        }

        // Snapshot and mount directories without a row.
        let keys: HashSet<String> = strings(&conn, "SELECT key FROM snapshots")?
            .into_iter()
            .collect();
        for entry in read_dir(&self.root().join("snapshots"))? {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !keys.contains(&name) && !mount::is_mounted(&entry.path().join("merged")) {
                report.bytes_freed += remove_tree(&entry.path())?;
            }
        }
        let mounted: HashSet<String> = strings(&conn, "SELECT image_id FROM image_mounts")?
            .into_iter()
            .filter_map(|s| s.strip_prefix("sha256:").map(str::to_string))
            .collect();
        for entry in read_dir(&self.root().join("mounts"))? {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !mounted.contains(&name) && !mount::is_mounted(&entry.path().join("merged")) {
                remove_tree(&entry.path())?;
            }
        }
        Ok(report)
    }
}

impl Store {
    /// Unmount and remove the snapshots of builds that were killed; the caller holds the
    /// lock exclusive, and a running build holds it shared throughout, so every snapshot
    /// keyed [`BUILD_SNAPSHOT_PREFIX`] found now is one.
    fn remove_killed_builds_snapshots(&self) -> Result<()> {
        let stale = strings(
            &self.conn(),
            &format!("SELECT key FROM snapshots WHERE key LIKE '{BUILD_SNAPSHOT_PREFIX}%'"),
        )?;
        for key in &stale {
            self.remove_snapshot(key)?;
        }
        Ok(())
    }
}

/// The entries of a store directory (missing is empty).
pub(crate) fn read_dir(dir: &std::path::Path) -> Result<Vec<fs::DirEntry>> {
    match fs::read_dir(dir) {
        Ok(rd) => rd
            .collect::<io::Result<Vec<_>>>()
            .map_err(|e| StoreError::io(dir, e)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(StoreError::io(dir, e)),
    }
}
