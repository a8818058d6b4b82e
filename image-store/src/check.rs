//! `berth system check`: prove the store consistent, or list the damage.
//!
//! Runs under the exclusive store lock, so nothing is half-written while it looks.

use std::collections::HashSet;

use berth_layers::digest::digest_reader;
use berth_layers::Digest;

use crate::db;
use crate::error::{Result, StoreError};
use crate::fsutil::remove_tree;
use crate::images::{all_images, image_layers, parse_config, parse_manifest, ImageRecord};
use crate::images::{CONFIG_LIMIT, MANIFEST_LIMIT};
use crate::layout::BUILD_SNAPSHOT_PREFIX;
use crate::snapshot::{layer_dir, parse_chain};
use crate::store::Store;

/// One problem found by [`Store::check`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// What is damaged: `blob sha256:…`, `image <id>`, `layer <chain id>`, `name …`.
    pub what: String,
    /// Why, in one line.
    pub reason: String,
}

/// The result of a check.
#[derive(Debug, Clone, Default)]
pub struct CheckReport {
    /// Everything found damaged.
    pub problems: Vec<Problem>,
    /// What `--repair` removed.
    pub repaired: Vec<String>,
    /// Blobs, images and layers examined.
    pub blobs_checked: u64,
    pub images_checked: u64,
    pub layers_checked: u64,
}

impl CheckReport {
    /// True when nothing is damaged.
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }

    fn problem(&mut self, what: impl Into<String>, reason: impl Into<String>) {
        self.problems.push(Problem {
            what: what.into(),
            reason: reason.into(),
        });
    }
}

impl Store {
    /// Verify every blob's digest, every unpacked layer's completeness, every image's
    /// manifest, config and layers, every name, every snapshot. With `repair`, remove what is
    /// damaged (images whose content is missing or corrupt, corrupt blobs, incomplete layers,
    /// snapshots of killed builds).
    pub fn check(&self, repair: bool) -> Result<CheckReport> {
        let _lock = self.lock_exclusive()?;
        let mut report = CheckReport::default();

        // Blobs: each must hash to its name.
        let mut bad_blobs: HashSet<Digest> = HashSet::new();
        for d in self.content().list()? {
            report.blobs_checked += 1;
            let path = self.content().blob_path(&d);
            let hashed = self
                .content()
                .open(&d)
                .and_then(|f| digest_reader(f).map_err(|e| StoreError::io(&path, e)));
            match hashed {
                Ok((actual, _)) if actual == d => {}
                Ok((actual, _)) => {
                    report.problem(format!("blob {d}"), format!("content hashes to {actual}"));
                    bad_blobs.insert(d);
                }
                Err(e) => {
                    report.problem(format!("blob {d}"), format!("unreadable: {e}"));
                    bad_blobs.insert(d);
                }
            }
        }

        // Images: manifest, config and layers present, intact and parseable.
        let images = all_images(&self.conn())?;
        let mut bad_images = Vec::new();
        for img in &images {
            report.images_checked += 1;
            if let Some(reason) = self.image_damage(img, &bad_blobs)? {
                let mut what = format!("image {}", img.id);
                if !img.names.is_empty() {
                    what.push_str(&format!(" ({})", img.name_texts().join(", ")));
                }
                report.problem(what, reason);
                bad_images.push(img.id.to_string());
            }
        }

        // Unpacked layers: complete, with their directory.
        let rows = {
            let conn = self.conn();
            let mut st = conn.prepare("SELECT chain_id, complete FROM layers ORDER BY chain_id")?;
            let v = st
                .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, bool>(1)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            v
        };
        let mut bad_layers = Vec::new();
        for (chain, complete) in rows {
            report.layers_checked += 1;
            let digest = db::digest_col(&chain)?;
            let dir = layer_dir(self, &digest).join("diff");
            let reason = if !complete {
                Some("unpacking never finished (incomplete)".to_string())
            } else if !dir.is_dir() {
                Some(format!("{} is missing", dir.display()))
            } else {
                None
            };
            if let Some(r) = reason {
                report.problem(format!("layer {chain}"), r);
                bad_layers.push(digest);
            }
        }

        // Names and snapshots.
        let orphan_names = strings(
            &self.conn(),
            "SELECT name FROM names WHERE image_id NOT IN (SELECT id FROM images)",
        )?;
        for n in &orphan_names {
            report.problem(format!("name {n}"), "points to no image");
        }
        let snaps = {
            let conn = self.conn();
            let mut st = conn.prepare("SELECT key, chain FROM snapshots ORDER BY key")?;
            let v = st
                .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            v
        };
        let mut stale_snapshots = Vec::new();
        for (key, chain) in &snaps {
            if key.starts_with(BUILD_SNAPSHOT_PREFIX) {
                // No build runs while the lock is held exclusive (a build holds it shared
                // throughout): this one's build was killed.
                report.problem(format!("snapshot {key}"), "left by a build that is gone");
                stale_snapshots.push(key.clone());
                continue;
            }
            let upper = self.root().join("snapshots").join(key).join("upper");
            if !upper.is_dir() {
                report.problem(
                    format!("snapshot {key}"),
                    format!("{} is missing", upper.display()),
                );
            }
            for c in parse_chain(chain)? {
                if !layer_dir(self, &c).join("diff").is_dir() {
                    report.problem(
                        format!("snapshot {key}"),
                        format!("layer {c} is not unpacked"),
                    );
                }
            }
        }

        if repair {
            self.repair(
                &mut report,
                &bad_images,
                &bad_layers,
                &orphan_names,
                &bad_blobs,
            )?;
            for key in &stale_snapshots {
                self.remove_snapshot(key)?;
                report.repaired.push(format!("snapshot {key}"));
            }
        }
        Ok(report)
    }

    /// Why an image is damaged, if it is.
    fn image_damage(&self, img: &ImageRecord, bad: &HashSet<Digest>) -> Result<Option<String>> {
        let content = self.content();
        let usable = |d: &Digest, what: &str| -> Option<String> {
            if bad.contains(d) {
                Some(format!("{what} {d} is corrupt"))
            } else if !content.contains(d) {
                Some(format!("{what} {d} is missing"))
            } else {
                None
            }
        };
        if let Some(r) = usable(&img.manifest_digest, "manifest") {
            return Ok(Some(r));
        }
        let manifest = match content
            .read_small(&img.manifest_digest, MANIFEST_LIMIT)
            .and_then(|b| parse_manifest(&img.manifest_digest, &b))
        {
            Ok(m) => m,
            Err(e) => return Ok(Some(e.to_string())),
        };
        if *manifest.config().digest() != img.id {
            return Ok(Some(format!(
                "manifest {} names config {}, not the image id",
                img.manifest_digest,
                manifest.config().digest()
            )));
        }
        if let Some(r) = usable(&img.id, "config") {
            return Ok(Some(r));
        }
        if let Err(e) = content
            .read_small(&img.id, CONFIG_LIMIT)
            .and_then(|b| parse_config(&img.id, &b))
        {
            return Ok(Some(e.to_string()));
        }
        let recorded = image_layers(&self.conn(), &img.id)?;
        if recorded.len() != manifest.layers().len() {
            return Ok(Some(format!(
                "{} layers recorded, manifest has {}",
                recorded.len(),
                manifest.layers().len()
            )));
        }
        for l in &recorded {
            if let Some(r) = usable(&l.digest, "layer") {
                return Ok(Some(r));
            }
        }
        Ok(None)
    }

    fn repair(
        &self,
        report: &mut CheckReport,
        bad_images: &[String],
        bad_layers: &[Digest],
        orphan_names: &[String],
        bad_blobs: &HashSet<Digest>,
    ) -> Result<()> {
        let mut conn = self.conn();
        db::immediate(&mut conn, |tx| {
            for id in bad_images {
                tx.execute("DELETE FROM names WHERE image_id = ?1", [id])?;
                tx.execute("DELETE FROM image_layers WHERE image_id = ?1", [id])?;
                tx.execute("DELETE FROM image_mounts WHERE image_id = ?1", [id])?;
                tx.execute("DELETE FROM images WHERE id = ?1", [id])?;
            }
            for n in orphan_names {
                tx.execute("DELETE FROM names WHERE name = ?1", [n])?;
            }
            Ok(())
        })?;
        report
            .repaired
            .extend(bad_images.iter().map(|id| format!("image {id}")));
        report
            .repaired
            .extend(orphan_names.iter().map(|n| format!("name {n}")));
        for chain in bad_layers {
            remove_tree(&layer_dir(self, chain))?;
            db::immediate(&mut conn, |tx| {
                tx.execute(
                    "DELETE FROM layers WHERE chain_id = ?1",
                    [chain.to_string()],
                )?;
                Ok(())
            })?;
            report.repaired.push(format!("layer {chain}"));
        }
        let mut blobs: Vec<_> = bad_blobs.iter().collect();
        blobs.sort_by(|a, b| a.digest().cmp(b.digest()));
        for d in blobs {
            match self.content().delete(d) {
                Ok(()) | Err(StoreError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
            report.repaired.push(format!("blob {d}"));
        }
        Ok(())
    }
}

fn strings(conn: &rusqlite::Connection, sql: &str) -> Result<Vec<String>> {
    let mut st = conn.prepare(sql)?;
    let v = st
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_killed_builds_snapshot_is_reported_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let key = format!("{BUILD_SNAPSHOT_PREFIX}killed");
        store.prepare_snapshot(&key, None).unwrap();
        store.prepare_snapshot("container", None).unwrap();
        let report = store.check(false).unwrap();
        assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
        assert_eq!(report.problems[0].what, format!("snapshot {key}"));
        let report = store.check(true).unwrap();
        assert_eq!(report.repaired, vec![format!("snapshot {key}")]);
        assert!(store.check(false).unwrap().is_clean());
        assert_eq!(store.list_snapshots().unwrap(), vec!["container"]);
        // gc removes one as well; a container's snapshot stays.
        store.prepare_snapshot(&key, None).unwrap();
        store.gc().unwrap();
        assert_eq!(store.list_snapshots().unwrap(), vec!["container"]);
        assert!(!dir.path().join("snapshots").join(&key).exists());
    }
}
