//! Test images for this crate's tests and its neighbours' (not a stable API).
//!
//! Layers are uncompressed tars (`application/vnd.oci.image.layer.v1.tar`, digest ==
//! diff_id) built with the `tar` crate, so no codec is needed.

use berth_layers::digest::digest_bytes;
use berth_layers::Digest;

use crate::error::{Result, StoreError};
use crate::images::ImageRecord;
use crate::store::Store;

/// An entry of a test layer: a directory (`None`) or a regular file with contents.
pub type Entry<'a> = (&'a str, Option<&'a [u8]>);

/// An uncompressed, deterministic layer tar (mode 0644/0755, uid 0, mtime 0).
pub fn layer_tar(entries: &[Entry<'_>]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in entries {
        let mut h = tar::Header::new_gnu();
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(0);
        match data {
            None => {
                h.set_entry_type(tar::EntryType::Directory);
                h.set_mode(0o755);
                h.set_size(0);
                b.append_data(&mut h, name, std::io::empty())
            }
            Some(d) => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_mode(0o644);
                h.set_size(d.len() as u64);
                b.append_data(&mut h, name, *d)
            }
        }
        .expect("writing a tar into memory");
    }
    b.into_inner().expect("finishing a tar in memory")
}

/// The blobs of a test image put into a store.
#[derive(Debug, Clone)]
pub struct TestImage {
    pub manifest: Digest,
    pub config: Digest,
    pub layers: Vec<Digest>,
}

/// Builds a test image from layer tars.
#[derive(Debug, Clone, Default)]
pub struct ImageBuilder {
    /// Layer tars, bottom first.
    pub layers: Vec<Vec<u8>>,
    /// Override the config's diff_ids (default: the layers' digests).
    pub diff_ids: Option<Vec<Digest>>,
    /// A label value that makes otherwise equal images distinct.
    pub label: String,
    /// Leave these layer indexes out of the content store.
    pub skip_layers: Vec<usize>,
}

impl ImageBuilder {
    /// An image of `layers` with a distinguishing `label`.
    pub fn new(label: &str, layers: Vec<Vec<u8>>) -> ImageBuilder {
        ImageBuilder {
            layers,
            label: label.to_string(),
            ..Default::default()
        }
    }

    /// Put layers, config and manifest into the store (no image record).
    pub fn put(&self, store: &Store) -> Result<TestImage> {
        let content = store.content();
        let mut descs = Vec::new();
        let mut digests = Vec::new();
        for (i, l) in self.layers.iter().enumerate() {
            let d = digest_bytes(l);
            if !self.skip_layers.contains(&i) {
                content.put_bytes(l)?;
            }
            descs.push(serde_json::json!({
                "mediaType": "application/vnd.oci.image.layer.v1.tar",
                "digest": d.to_string(),
                "size": l.len(),
            }));
            digests.push(d);
        }
        let diff_ids: Vec<String> = self
            .diff_ids
            .clone()
            .unwrap_or_else(|| digests.clone())
            .iter()
            .map(|d| d.to_string())
            .collect();
        let config = serde_json::json!({
            "created": "2024-01-02T03:04:05Z",
            "architecture": "amd64",
            "os": "linux",
            "config": { "Labels": { "berth.test": self.label } },
            "rootfs": { "type": "layers", "diff_ids": diff_ids },
        });
        let config = serde_json::to_vec(&config)
            .map_err(|e| StoreError::Invalid(format!("test config: {e}")))?;
        let (config_digest, config_size) = content.put_bytes(&config)?;
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": config_digest.to_string(),
                "size": config_size,
            },
            "layers": descs,
        });
        let manifest = serde_json::to_vec(&manifest)
            .map_err(|e| StoreError::Invalid(format!("test manifest: {e}")))?;
        let (manifest_digest, _) = content.put_bytes(&manifest)?;
        Ok(TestImage {
            manifest: manifest_digest,
            config: config_digest,
            layers: digests,
        })
    }

    /// Put the blobs and record the image with `names`, holding the store lock shared across
    /// both steps (as every put-then-record caller must, or a concurrent gc may collect the
    /// blobs in between).
    pub fn add(&self, store: &Store, names: &[&str]) -> Result<ImageRecord> {
        let _lock = store.lock_shared()?;
        let t = self.put(store)?;
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        store.add_image(&t.manifest, &names)
    }
}

/// A one-layer image holding `/hello` (contents = `label`) and `/etc/`.
pub fn simple_image(store: &Store, label: &str, names: &[&str]) -> Result<ImageRecord> {
    let layer = layer_tar(&[("etc", None), ("hello", Some(label.as_bytes()))]);
    ImageBuilder::new(label, vec![layer]).add(store, names)
}
