//! Image records: an image is a manifest in the content store, its config, and names.

use berth_layers::digest::{digest_bytes, parse_sha256};
use berth_layers::reference::Reference;
use berth_layers::Digest;
use chrono::{DateTime, Utc};
use oci_spec::image::{
    Descriptor, ImageConfiguration, ImageManifest, ImageManifestBuilder, MediaType,
};
use rusqlite::{params, Connection, OptionalExtension};

use crate::db;
use crate::error::{Result, StoreError};
use crate::names::{normalize_docker, normalize_local};
use crate::store::Store;

/// Most bytes of a manifest blob.
pub const MANIFEST_LIMIT: u64 = 4 << 20;
/// Most bytes of a config blob.
pub const CONFIG_LIMIT: u64 = 16 << 20;

/// One image in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRecord {
    /// The image id: the digest of its config blob (as Podman).
    pub id: Digest,
    /// Digest of the manifest blob.
    pub manifest_digest: Digest,
    /// Media type of the manifest (OCI or Docker v2s2).
    pub manifest_media_type: String,
    /// Fully qualified names (`registry/repo:tag`, or `registry/repo@digest`), sorted by their
    /// text; each prints as the store holds it.
    pub names: Vec<Reference>,
    /// The config's `created`, if any.
    pub created: Option<DateTime<Utc>>,
    /// Sum of the compressed layer sizes plus config and manifest.
    pub size: u64,
    /// When the record was added to this store.
    pub added: DateTime<Utc>,
}

impl ImageRecord {
    /// The 12-character short id.
    pub fn short_id(&self) -> &str {
        &self.id.digest()[..12]
    }

    /// The id's hex digits (as events and Podman's output name an image).
    pub fn hex_id(&self) -> &str {
        self.id.digest()
    }

    /// The names as text, as the store holds and prints them.
    pub fn name_texts(&self) -> Vec<String> {
        self.names.iter().map(ToString::to_string).collect()
    }
}

/// One layer of an image as recorded: blob digest, diff_id, chain id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ImageLayer {
    pub digest: Digest,
    pub diff_id: Digest,
    pub chain_id: Digest,
    pub size: u64,
}

/// The OCI ChainID of each layer: `chain_0 = diff_0`, `chain_i = sha256(chain_{i-1} + " " + diff_i)`.
pub fn chain_ids(diff_ids: &[Digest]) -> Vec<Digest> {
    let mut out: Vec<Digest> = Vec::with_capacity(diff_ids.len());
    for d in diff_ids {
        let next = match out.last() {
            None => d.clone(),
            Some(prev) => digest_bytes(format!("{prev} {d}").as_bytes()),
        };
        out.push(next);
    }
    out
}

const IMAGE_COLS: &str = "id, manifest_digest, manifest_media_type, created, size, added";

fn image_from_row(conn: &Connection, row: &rusqlite::Row<'_>) -> Result<ImageRecord> {
    let id: String = row.get(0)?;
    let manifest: String = row.get(1)?;
    let created: Option<String> = row.get(3)?;
    let added: String = row.get(5)?;
    let size: i64 = row.get(4)?;
    Ok(ImageRecord {
        id: db::digest_col(&id)?,
        manifest_digest: db::digest_col(&manifest)?,
        manifest_media_type: row.get(2)?,
        names: names_of(conn, &id)?,
        created: created.as_deref().and_then(db::time_col),
        size: size as u64,
        added: db::time_col(&added).unwrap_or_default(),
    })
}

fn names_of(conn: &Connection, id: &str) -> Result<Vec<Reference>> {
    let mut st = conn.prepare_cached("SELECT name FROM names WHERE image_id = ?1 ORDER BY name")?;
    let names = st
        .query_map([id], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    names.iter().map(|n| db::reference_col(n)).collect()
}

/// Images matching a `WHERE` clause with one parameter.
pub(crate) fn images_where(
    conn: &Connection,
    clause: &str,
    param: &str,
) -> Result<Vec<ImageRecord>> {
    let sql = format!("SELECT {IMAGE_COLS} FROM images WHERE {clause} ORDER BY added DESC, id");
    let mut st = conn.prepare(&sql)?;
    let mut rows = st.query([param])?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(image_from_row(conn, row)?);
    }
    Ok(out)
}

/// Every image, newest first.
pub(crate) fn all_images(conn: &Connection) -> Result<Vec<ImageRecord>> {
    images_where(conn, "?1 = ?1", "")
}

/// The recorded layers of an image, bottom first.
pub(crate) fn image_layers(conn: &Connection, id: &Digest) -> Result<Vec<ImageLayer>> {
    let mut st = conn.prepare_cached(
        "SELECT digest, diff_id, chain_id, size FROM image_layers WHERE image_id = ?1 ORDER BY idx",
    )?;
    let mut rows = st.query([id.to_string()])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let (d, diff, chain): (String, String, String) = (r.get(0)?, r.get(1)?, r.get(2)?);
        let size: i64 = r.get(3)?;
        out.push(ImageLayer {
            digest: db::digest_col(&d)?,
            diff_id: db::digest_col(&diff)?,
            chain_id: db::digest_col(&chain)?,
            size: size as u64,
        });
    }
    Ok(out)
}

/// Parse a manifest blob's bytes.
pub(crate) fn parse_manifest(digest: &Digest, bytes: &[u8]) -> Result<ImageManifest> {
    ImageManifest::from_reader(bytes)
        .map_err(|e| StoreError::Invalid(format!("manifest {digest}: not an image manifest: {e}")))
}

/// Parse a config blob's bytes.
pub(crate) fn parse_config(digest: &Digest, bytes: &[u8]) -> Result<ImageConfiguration> {
    ImageConfiguration::from_reader(bytes)
        .map_err(|e| StoreError::Invalid(format!("config {digest}: not an image config: {e}")))
}

/// Parse the config of `manifest` from `cbytes` and check that its diff_ids match the
/// manifest's layers one for one; the config and its diff_ids. What [`Store::add_image`]
/// requires, also checked by a store destination before it commits any blob.
pub(crate) fn config_fits(
    manifest_digest: &Digest,
    manifest: &ImageManifest,
    cbytes: &[u8],
) -> Result<(ImageConfiguration, Vec<Digest>)> {
    let config_digest = manifest.config().digest();
    let config = parse_config(config_digest, cbytes)?;
    let diffs = diff_ids(config_digest, &config)?;
    if diffs.len() != manifest.layers().len() {
        return Err(StoreError::Invalid(format!(
            "manifest {manifest_digest}: {} layers but its config {config_digest} lists {} diff_ids",
            manifest.layers().len(),
            diffs.len()
        )));
    }
    Ok((config, diffs))
}

/// The config's diff_ids, parsed.
pub(crate) fn diff_ids(config_digest: &Digest, config: &ImageConfiguration) -> Result<Vec<Digest>> {
    config
        .rootfs()
        .diff_ids()
        .iter()
        .map(|s| {
            parse_sha256(s).map_err(|e| StoreError::Invalid(format!("config {config_digest}: {e}")))
        })
        .collect()
}

/// An OCI image manifest (schema 2) over a config and layers.
pub fn oci_manifest(config: Descriptor, layers: Vec<Descriptor>) -> Result<ImageManifest> {
    ImageManifestBuilder::default()
        .schema_version(2u32)
        .media_type(MediaType::ImageManifest)
        .config(config)
        .layers(layers)
        .build()
        .map_err(|e| StoreError::Invalid(format!("building an OCI manifest: {e}")))
}

impl Store {
    /// Store `config` and an OCI manifest over `layers` (whose blobs are already in the
    /// content store) and record the image with `names`. Callers hold [`Store::lock_shared`]
    /// from writing the layers until this returns, so gc cannot collect them in between.
    pub fn commit_image(
        &self,
        config: &ImageConfiguration,
        layers: Vec<Descriptor>,
        names: &[String],
    ) -> Result<ImageRecord> {
        let config_bytes = serde_json::to_vec(config)
            .map_err(|e| StoreError::Invalid(format!("encoding an image config: {e}")))?;
        let (config_digest, config_size) = self.content().put_bytes(&config_bytes)?;
        let config = Descriptor::new(MediaType::ImageConfig, config_size, config_digest);
        let manifest_bytes = serde_json::to_vec(&oci_manifest(config, layers)?)
            .map_err(|e| StoreError::Invalid(format!("encoding an image manifest: {e}")))?;
        let (manifest_digest, _) = self.content().put_bytes(&manifest_bytes)?;
        self.add_image(&manifest_digest, names)
    }

    /// Record the image whose manifest (and config and layers) are already in the content
    /// store, and give it `names` (normalized as local names, moving each name away from any
    /// image that had it). Adding an image that exists only adds the names. A missing layer
    /// blob is `NotFound` naming it, and nothing is recorded.
    pub fn add_image(&self, manifest_digest: &Digest, names: &[String]) -> Result<ImageRecord> {
        let _lock = self.lock_shared()?;
        let content = self.content();
        let mbytes = content.read_small(manifest_digest, MANIFEST_LIMIT)?;
        let manifest = parse_manifest(manifest_digest, &mbytes)?;
        let media_type = manifest
            .media_type()
            .clone()
            .unwrap_or(MediaType::ImageManifest)
            .to_string();
        let config_digest = manifest.config().digest().clone();
        let cbytes = content.read_small(&config_digest, CONFIG_LIMIT)?;
        let (config, diffs) = config_fits(manifest_digest, &manifest, &cbytes)?;
        let chains = chain_ids(&diffs);
        let mut size = mbytes.len() as u64 + cbytes.len() as u64;
        let mut layers = Vec::new();
        for ((desc, diff), chain) in manifest.layers().iter().zip(&diffs).zip(&chains) {
            let lsize = content.size(desc.digest())?;
            size += lsize;
            layers.push(ImageLayer {
                digest: desc.digest().clone(),
                diff_id: diff.clone(),
                chain_id: chain.clone(),
                size: lsize,
            });
        }
        let names = names
            .iter()
            .map(|n| normalize_local(n))
            .collect::<Result<Vec<_>>>()?;
        let created = config.created().clone();
        let id = config_digest.to_string();
        let mut conn = self.conn();
        db::immediate(&mut conn, |tx| {
            let exists: bool = tx
                .query_row("SELECT 1 FROM images WHERE id = ?1", [&id], |_| Ok(()))
                .optional()?
                .is_some();
            if !exists {
                tx.execute(
                    "INSERT INTO images (id, manifest_digest, manifest_media_type, created, size, added)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![
                        id,
                        manifest_digest.to_string(),
                        media_type,
                        created,
                        size as i64,
                        db::now()
                    ],
                )?;
                for (i, l) in layers.iter().enumerate() {
                    tx.execute(
                        "INSERT INTO image_layers (image_id, idx, digest, diff_id, chain_id, size)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                        params![
                            id,
                            i as i64,
                            l.digest.to_string(),
                            l.diff_id.to_string(),
                            l.chain_id.to_string(),
                            l.size as i64
                        ],
                    )?;
                }
            }
            for n in &names {
                set_name(tx, n, &id)?;
            }
            Ok(())
        })?;
        let mut found = images_where(&conn, "id = ?1", &id)?;
        found
            .pop()
            .ok_or_else(|| StoreError::NotFound(format!("image {id}")))
    }

    /// Every image, newest first.
    pub fn list_images(&self) -> Result<Vec<ImageRecord>> {
        all_images(&self.conn())
    }

    /// The ids (`sha256:…`) of the images a container's snapshot is made from.
    pub fn images_in_containers(&self) -> Result<std::collections::HashSet<String>> {
        let conn = self.conn();
        let mut st =
            conn.prepare("SELECT DISTINCT image_id FROM snapshots WHERE image_id IS NOT NULL")?;
        let ids = st
            .query_map([], |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(ids)
    }

    /// Find an image by name (normalized as Podman: `busybox` matches
    /// `localhost/busybox:latest` and `docker.io/library/busybox:latest`), by full id, by id
    /// prefix (at least 3 hex chars, unique) or by `sha256:` manifest digest.
    pub fn lookup_image(&self, name_or_id: &str) -> Result<ImageRecord> {
        self.resolve(name_or_id).map(|(img, _)| img)
    }

    /// Like `lookup_image`, also returning the name that matched (None for an id).
    pub(crate) fn resolve(&self, input: &str) -> Result<(ImageRecord, Option<String>)> {
        let conn = self.conn();
        if let Some(hex) = input.strip_prefix("sha256:") {
            if let Ok(d) = parse_sha256(input) {
                let s = d.to_string();
                if let Some(img) = images_where(&conn, "id = ?1 OR manifest_digest = ?1", &s)?.pop()
                {
                    return Ok((img, None));
                }
                return Err(StoreError::NotFound(format!("image {input}")));
            }
            return by_id_prefix(&conn, input, hex).map(|i| (i, None));
        }
        if let Some(found) = by_name(&conn, input)? {
            return Ok(found);
        }
        if input.len() >= 3 && input.len() <= 64 && input.bytes().all(|b| b.is_ascii_hexdigit()) {
            return by_id_prefix(&conn, input, &input.to_ascii_lowercase()).map(|i| (i, None));
        }
        Err(StoreError::NotFound(format!("image {input}")))
    }

    /// The parsed manifest of an image.
    pub fn image_manifest(&self, image: &ImageRecord) -> Result<ImageManifest> {
        let bytes = self
            .content()
            .read_small(&image.manifest_digest, MANIFEST_LIMIT)?;
        parse_manifest(&image.manifest_digest, &bytes)
    }

    /// The parsed config of an image.
    pub fn image_config(&self, image: &ImageRecord) -> Result<ImageConfiguration> {
        let bytes = self.content().read_small(&image.id, CONFIG_LIMIT)?;
        parse_config(&image.id, &bytes)
    }

    /// Add a name to an image (normalized; moved from any other image that had it).
    pub fn tag_image(&self, image: &ImageRecord, name: &str) -> Result<()> {
        let name = normalize_local(name)?;
        let id = image.id.to_string();
        let mut conn = self.conn();
        db::immediate(&mut conn, |tx| {
            let exists = tx
                .query_row("SELECT 1 FROM images WHERE id = ?1", [&id], |_| Ok(()))
                .optional()?
                .is_some();
            if !exists {
                return Err(StoreError::NotFound(format!("image {id}")));
            }
            set_name(tx, &name, &id)
        })?;
        crate::events::emit(crate::events::Event::image("tag", image.hex_id(), &name));
        Ok(())
    }

    /// Remove a name from an image (`NotFound` if the image lacks that name).
    pub fn untag_image(&self, image: &ImageRecord, name: &str) -> Result<()> {
        let wanted = normalize_local(name)?;
        let id = image.id.to_string();
        let mut conn = self.conn();
        db::immediate(&mut conn, |tx| {
            let mut n = tx.execute(
                "DELETE FROM names WHERE name = ?1 AND image_id = ?2",
                params![wanted, id],
            )?;
            if n == 0 {
                if let Ok(docker) = normalize_docker(name) {
                    n = tx.execute(
                        "DELETE FROM names WHERE name = ?1 AND image_id = ?2",
                        params![docker, id],
                    )?;
                }
            }
            if n == 0 {
                return Err(StoreError::NotFound(format!(
                    "image {} has no name {name}",
                    image.short_id()
                )));
            }
            Ok(())
        })?;
        crate::events::emit(crate::events::Event::image(
            "untag",
            image.hex_id(),
            &wanted,
        ));
        Ok(())
    }

    /// The image that [`Store::remove_image`] of `name_or_id` would delete, or `None` when it
    /// would only remove that name (the image keeps its others). A caller that owns containers
    /// asks this before removing them with the image (`rmi -f`).
    pub fn image_to_delete(&self, name_or_id: &str) -> Result<Option<ImageRecord>> {
        let (image, matched) = self.resolve(name_or_id)?;
        Ok(match matched {
            Some(_) if image.names.len() > 1 => None,
            _ => Some(image),
        })
    }

    /// Remove an image record (its blobs go at the next gc). When the image has several names
    /// and `name_or_id` is a name, only that name is removed (as `podman rmi`). Refused while
    /// the image is mounted or used by a snapshot unless `force` (which removes those
    /// snapshots and the mount), and, by id, while it has several names unless `force`.
    /// Returns what happened.
    pub fn remove_image(&self, name_or_id: &str, force: bool) -> Result<RemoveOutcome> {
        let (image, matched) = self.resolve(name_or_id)?;
        if let Some(name) = matched {
            if image.names.len() > 1 {
                self.untag_image(&image, &name)?;
                return Ok(RemoveOutcome::Untagged(name));
            }
        } else if image.names.len() > 1 && !force {
            return Err(StoreError::FailedPrecondition(format!(
                "image {} is referenced by several names ({}): remove them by name or force",
                image.short_id(),
                image.name_texts().join(", ")
            )));
        }
        let id = image.id.to_string();
        let (snapshots, mounted) = {
            let conn = self.conn();
            let mut st =
                conn.prepare("SELECT key FROM snapshots WHERE image_id = ?1 ORDER BY key")?;
            let snaps = st
                .query_map([&id], |r| r.get::<_, String>(0))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let mounted: bool = conn
                .query_row(
                    "SELECT 1 FROM image_mounts WHERE image_id = ?1 AND refcount > 0",
                    [&id],
                    |_| Ok(()),
                )
                .optional()?
                .is_some();
            (snaps, mounted)
        };
        if !force && (mounted || !snapshots.is_empty()) {
            let mut why = Vec::new();
            if mounted {
                why.push("it is mounted".to_string());
            }
            if !snapshots.is_empty() {
                why.push(format!("snapshots use it: {}", snapshots.join(", ")));
            }
            return Err(StoreError::FailedPrecondition(format!(
                "image {} is in use ({}): remove with force",
                image.short_id(),
                why.join("; ")
            )));
        }
        for key in &snapshots {
            self.remove_snapshot(key)?;
        }
        if mounted {
            self.unmount_image(&image, true)?;
        }
        let mut conn = self.conn();
        db::immediate(&mut conn, |tx| {
            tx.execute("DELETE FROM image_mounts WHERE image_id = ?1", [&id])?;
            tx.execute("DELETE FROM names WHERE image_id = ?1", [&id])?;
            tx.execute("DELETE FROM image_layers WHERE image_id = ?1", [&id])?;
            let n = tx.execute("DELETE FROM images WHERE id = ?1", [&id])?;
            if n == 0 {
                return Err(StoreError::NotFound(format!("image {id}")));
            }
            Ok(())
        })?;
        let names = image.name_texts();
        for name in &names {
            crate::events::emit(crate::events::Event::image("untag", image.hex_id(), name));
        }
        let name = names.first().map(String::as_str).unwrap_or_default();
        crate::events::emit(crate::events::Event::image("remove", image.hex_id(), name));
        Ok(RemoveOutcome::Deleted(image.id))
    }
}

/// Point `name` at image `id`, taking it from any other image.
fn set_name(tx: &rusqlite::Transaction<'_>, name: &str, id: &str) -> Result<()> {
    tx.execute(
        "INSERT INTO names (name, image_id) VALUES (?1, ?2)
         ON CONFLICT(name) DO UPDATE SET image_id = excluded.image_id",
        params![name, id],
    )?;
    Ok(())
}

fn by_id_prefix(conn: &Connection, input: &str, hex: &str) -> Result<ImageRecord> {
    if hex.len() < 3 || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(StoreError::NotFound(format!("image {input}")));
    }
    let mut found = images_where(conn, "substr(id, 8, length(?1)) = ?1", hex)?;
    match found.len() {
        0 => Err(StoreError::NotFound(format!("image {input}"))),
        1 => Ok(found.remove(0)),
        n => Err(StoreError::Ambiguous(format!(
            "image id prefix {input} is ambiguous: {n} images match"
        ))),
    }
}

fn image_by_name(conn: &Connection, name: &str) -> Result<Option<ImageRecord>> {
    Ok(images_where(
        conn,
        "id = (SELECT image_id FROM names WHERE name = ?1)",
        name,
    )?
    .pop())
}

/// Exact local name, exact Docker name, then any name ending in `/<input>[:latest]`.
fn by_name(conn: &Connection, input: &str) -> Result<Option<(ImageRecord, Option<String>)>> {
    let mut tried = Vec::new();
    for n in [normalize_local(input), normalize_docker(input)]
        .into_iter()
        .flatten()
    {
        if let Some(img) = image_by_name(conn, &n)? {
            return Ok(Some((img, Some(n))));
        }
        tried.push(n);
    }
    let Some(local) = tried.first() else {
        return Ok(None);
    };
    // `repo@digest`: an image with that manifest digest and a name in that repository.
    if let Some((repo, digest)) = local.split_once('@') {
        for img in images_where(conn, "manifest_digest = ?1", digest)? {
            let hit = img.name_texts().into_iter().find(|n| {
                n.strip_prefix(repo)
                    .is_some_and(|rest| rest.starts_with(':') || rest.starts_with('@'))
            });
            if let Some(n) = hit {
                return Ok(Some((img, Some(n))));
            }
        }
        return Ok(None);
    }
    // The user's text as typed, with `:latest` when it has no tag.
    let has_tag = input
        .rfind(':')
        .is_some_and(|c| !input[c + 1..].contains('/'));
    let suffix = if has_tag {
        format!("/{input}")
    } else {
        format!("/{input}:latest")
    };
    let mut st = conn.prepare(
        "SELECT name, image_id FROM names WHERE substr(name, -length(?1)) = ?1 ORDER BY name",
    )?;
    let hits = st
        .query_map([&suffix], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let Some((first_name, first_id)) = hits.first().cloned() else {
        return Ok(None);
    };
    if hits.iter().any(|(_, id)| *id != first_id) {
        let names: Vec<_> = hits.into_iter().map(|(n, _)| n).collect();
        return Err(StoreError::Ambiguous(format!(
            "short name {input} is ambiguous: {}",
            names.join(", ")
        )));
    }
    let img = images_where(conn, "id = ?1", &first_id)?.pop();
    Ok(img.map(|i| (i, Some(first_name))))
}

/// What `remove_image` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoveOutcome {
    /// Only this name was removed; the image stays.
    Untagged(String),
    /// The image record was deleted.
    Deleted(Digest),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn insert_fake(store: &Store, hex_prefix: &str) {
        let id = format!("sha256:{hex_prefix:0<64}");
        store
            .conn()
            .execute(
                "INSERT INTO images (id, manifest_digest, manifest_media_type, size, added)
                 VALUES (?1, ?1, 'm', 0, ?2)",
                params![id, db::now()],
            )
            .unwrap();
    }

    #[test]
    fn id_prefixes_must_be_unique_and_long_enough() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        insert_fake(&store, "abc1");
        insert_fake(&store, "abc2");
        let err = store.lookup_image("abc").unwrap_err();
        assert!(
            matches!(err, StoreError::Ambiguous(ref m) if m.contains("ambiguous")),
            "{err}"
        );
        let err = store.lookup_image("sha256:abc").unwrap_err();
        assert!(matches!(err, StoreError::Ambiguous(_)), "{err}");
        assert!(store.lookup_image("abc1").is_ok());
        assert!(store.lookup_image("sha256:abc2").is_ok());
        assert!(matches!(
            store.lookup_image("ab"),
            Err(StoreError::NotFound(_))
        ));
        assert!(matches!(
            store.lookup_image("abd"),
            Err(StoreError::NotFound(_))
        ));
    }

    #[test]
    fn store_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Store>();
    }

    #[test]
    fn chain_ids_follow_the_spec() {
        let a = digest_bytes(b"a");
        let b = digest_bytes(b"b");
        let c = chain_ids(&[a.clone(), b.clone()]);
        assert_eq!(c[0], a);
        assert_eq!(c[1], digest_bytes(format!("{a} {b}").as_bytes()));
    }
}
