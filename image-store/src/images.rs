//! Image records: an image is a manifest in the content store, its config, and names.

use berth_layers::Digest;
use chrono::{DateTime, Utc};
use oci_spec::image::{ImageConfiguration, ImageManifest};

use crate::error::Result;
use crate::store::Store;

/// One image in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRecord {
    /// The image id: the digest of its config blob (as Podman).
    pub id: Digest,
    /// Digest of the manifest blob.
    pub manifest_digest: Digest,
    /// Media type of the manifest (OCI or Docker v2s2).
    pub manifest_media_type: String,
    /// Fully qualified names (`registry/repo:tag`), sorted.
    pub names: Vec<String>,
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
}

impl Store {
    /// Record the image whose manifest (and config and layers) are already in the content
    /// store, and give it `names` (moving each name away from any image that had it). Adding
    /// an image that exists only adds the names.
    pub fn add_image(&self, manifest_digest: &Digest, names: &[String]) -> Result<ImageRecord> {
        let _ = (manifest_digest, names);
        todo!()
    }

    /// Every image, newest first.
    pub fn list_images(&self) -> Result<Vec<ImageRecord>> {
        todo!()
    }

    /// Find an image by name (normalized as Podman: `busybox` matches
    /// `localhost/busybox:latest` and `docker.io/library/busybox:latest`), by full id, by id
    /// prefix (at least 3 hex chars, unique) or by `sha256:` manifest digest.
    pub fn lookup_image(&self, name_or_id: &str) -> Result<ImageRecord> {
        let _ = name_or_id;
        todo!()
    }

    /// The parsed manifest of an image.
    pub fn image_manifest(&self, image: &ImageRecord) -> Result<ImageManifest> {
        let _ = image;
        todo!()
    }

    /// The parsed config of an image.
    pub fn image_config(&self, image: &ImageRecord) -> Result<ImageConfiguration> {
        let _ = image;
        todo!()
    }

    /// Add a name to an image (normalized; moved from any other image that had it).
    pub fn tag_image(&self, image: &ImageRecord, name: &str) -> Result<()> {
        let _ = (image, name);
        todo!()
    }

    /// Remove a name from an image.
    pub fn untag_image(&self, image: &ImageRecord, name: &str) -> Result<()> {
        let _ = (image, name);
        todo!()
    }

    /// Remove an image record (its blobs go at the next gc). When the image has several names
    /// and `name_or_id` is a name, only that name is removed (as `podman rmi`). Refused while
    /// the image is mounted or used by a snapshot unless `force`. Returns what happened.
    pub fn remove_image(&self, name_or_id: &str, force: bool) -> Result<RemoveOutcome> {
        let _ = (name_or_id, force);
        todo!()
    }
}

/// What `remove_image` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoveOutcome {
    /// Only this name was removed; the image stays.
    Untagged(String),
    /// The image record was deleted.
    Deleted(Digest),
}
