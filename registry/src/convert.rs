//! What `push` sends when it is asked to change the image on the way:
//! `--compression-format gzip|zstd|none` (layers in another codec recompress; with
//! `--force-compression` every layer does), and `--format oci|v2s2` (the manifest and its
//! media types in the other schema; the config bytes stay as they are, so the image id does
//! not change).
//!
//! Recompression streams: the stored blob is decompressed and recompressed on every core into
//! the store's ingest area, hashed on the way, and committed as a blob of the store, so a
//! second push finds it (until `gc`, since no image references it). Memory stays flat.

use std::io::{BufReader, Read};

use berth_image_store::Store;
use berth_layers::compression::{compressor, decompress, Compression};
use berth_layers::Digest;
use oci_spec::image::{Descriptor, ImageManifest, MediaType};
use serde_json::{json, Value};

use berth_layers::media_type::{
    KnownMediaType, Schema, DOCKER_CONFIG, DOCKER_MANIFEST, OCI_MANIFEST,
};

use crate::error::{RegistryError, Result};
use crate::remote::Progress;

/// The manifest schema to push.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManifestFormat {
    /// OCI image manifest.
    Oci,
    /// Docker image manifest v2 schema 2.
    V2s2,
}

impl ManifestFormat {
    /// Parse `--format`: `oci`, `v2s2` (or `docker`).
    pub fn parse(s: &str) -> Option<ManifestFormat> {
        match s {
            "oci" => Some(ManifestFormat::Oci),
            "v2s2" | "docker" => Some(ManifestFormat::V2s2),
            _ => None,
        }
    }
}

/// How push may change the image.
#[derive(Debug, Clone, Copy, Default)]
pub struct PushConversion {
    /// `--compression-format`.
    pub compression: Option<Compression>,
    /// `--compression-level`.
    pub level: Option<i32>,
    /// `--force-compression`: recompress layers already in the wanted codec too.
    pub force: bool,
    /// `--format`.
    pub format: Option<ManifestFormat>,
}

/// The manifest to push and the blobs it names (all present in the store).
pub struct Converted {
    /// Manifest bytes.
    pub bytes: Vec<u8>,
    /// Manifest media type.
    pub media_type: String,
    /// Layers then config, as descriptors of store blobs.
    pub blobs: Vec<Descriptor>,
}

fn is_docker(mt: &MediaType) -> bool {
    KnownMediaType::of(mt).is_some_and(KnownMediaType::is_docker)
}

/// Apply `conv` to `manifest` (an image's stored manifest). `None` when nothing changes, so
/// the caller pushes the stored manifest bytes unchanged.
pub fn convert(
    store: &Store,
    manifest: &ImageManifest,
    stored_media_type: &str,
    conv: &PushConversion,
    progress: Progress<'_>,
) -> Result<Option<Converted>> {
    let stored_format = if stored_media_type == DOCKER_MANIFEST {
        ManifestFormat::V2s2
    } else {
        ManifestFormat::Oci
    };
    let format = conv.format.unwrap_or(stored_format);
    if format == ManifestFormat::V2s2 && conv.compression == Some(Compression::Zstd) {
        return Err(RegistryError::Invalid {
            what: "push --format v2s2".into(),
            message: "Docker v2s2 manifests cannot carry zstd layers; use --compression-format gzip or --format oci".into(),
        });
    }
    let mut changed = format != stored_format;
    let mut layers = Vec::with_capacity(manifest.layers().len());
    for layer in manifest.layers() {
        let current = Compression::from_media_type(layer.media_type()).ok_or_else(|| {
            RegistryError::Invalid {
                what: format!("layer {}", layer.digest()),
                message: format!("unknown layer media type {}", layer.media_type()),
            }
        })?;
        let mut wanted = conv.compression.unwrap_or(current);
        if format == ManifestFormat::V2s2 && wanted == Compression::Zstd {
            // v2s2 has no zstd layer type: such layers go as gzip.
            wanted = Compression::Gzip;
        }
        let (digest, size) = if wanted != current || (conv.force && conv.compression.is_some()) {
            changed = true;
            progress(&format!(
                "Compressing blob {} ({current} → {wanted})",
                layer.digest()
            ));
            recompress(store, layer.digest(), wanted, conv.level)?
        } else {
            (layer.digest().clone(), layer.size())
        };
        let media_type = match format {
            ManifestFormat::Oci => wanted.oci_layer_media_type().to_string(),
            // zstd became gzip above: v2s2 has plain and gzip layers.
            ManifestFormat::V2s2 => KnownMediaType::layer(Schema::DockerV2s2, wanted)
                .expect("a v2s2 layer codec")
                .to_string(),
        };
        let mut desc = json!({
            "mediaType": media_type,
            "size": size,
            "digest": digest.to_string(),
        });
        if let Some(a) = layer.annotations().as_ref().filter(|a| !a.is_empty()) {
            if format == ManifestFormat::Oci {
                desc["annotations"] = json!(a);
            }
        }
        layers.push(desc);
    }
    if !changed {
        return Ok(None);
    }
    let config = manifest.config();
    let (manifest_type, config_type) = match format {
        ManifestFormat::Oci => (OCI_MANIFEST, MediaType::ImageConfig.to_string()),
        ManifestFormat::V2s2 => (DOCKER_MANIFEST, DOCKER_CONFIG.to_string()),
    };
    let config_type = if format == stored_format && !is_docker(config.media_type()) {
        config.media_type().to_string()
    } else {
        config_type
    };
    let mut out = json!({
        "schemaVersion": 2,
        "mediaType": manifest_type,
        "config": {
            "mediaType": config_type,
            "size": config.size(),
            "digest": config.digest().to_string(),
        },
        "layers": layers,
    });
    if format == ManifestFormat::Oci {
        if let Some(a) = manifest.annotations().as_ref().filter(|a| !a.is_empty()) {
            out["annotations"] = json!(a);
        }
    }
    let bytes = serde_json::to_vec_pretty(&out).map_err(|e| RegistryError::Invalid {
        what: "converted manifest".into(),
        message: e.to_string(),
    })?;
    let blobs = descriptors(&out)?;
    Ok(Some(Converted {
        bytes,
        media_type: manifest_type.to_string(),
        blobs,
    }))
}

/// Layers then config of a manifest JSON, as descriptors.
fn descriptors(manifest: &Value) -> Result<Vec<Descriptor>> {
    let one = |v: &Value| -> Result<Descriptor> {
        serde_json::from_value(v.clone()).map_err(|e| RegistryError::Invalid {
            what: "converted manifest".into(),
            message: e.to_string(),
        })
    };
    let mut out = Vec::new();
    for l in manifest["layers"].as_array().into_iter().flatten() {
        out.push(one(l)?);
    }
    out.push(one(&manifest["config"])?);
    Ok(out)
}

/// Decompress a stored blob and recompress it with `to` into a new store blob.
fn recompress(
    store: &Store,
    digest: &Digest,
    to: Compression,
    level: Option<i32>,
) -> Result<(Digest, u64)> {
    let file = store.content().open(digest)?;
    let io_err = |e: std::io::Error| RegistryError::Invalid {
        what: format!("recompressing layer {digest}"),
        message: e.to_string(),
    };
    let (_, mut plain) = decompress(BufReader::with_capacity(1 << 20, file)).map_err(io_err)?;
    let sink = store.content().writer()?;
    let mut enc = compressor(sink, to, level).map_err(io_err)?;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = plain.read(&mut buf).map_err(io_err)?;
        if n == 0 {
            break;
        }
        std::io::Write::write_all(&mut enc, &buf[..n]).map_err(io_err)?;
    }
    let sink = enc.finish().map_err(io_err)?;
    Ok(sink.commit(None)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_parse() {
        assert_eq!(ManifestFormat::parse("oci"), Some(ManifestFormat::Oci));
        assert_eq!(ManifestFormat::parse("v2s2"), Some(ManifestFormat::V2s2));
        assert_eq!(ManifestFormat::parse("docker"), Some(ManifestFormat::V2s2));
        assert_eq!(ManifestFormat::parse("v1"), None);
    }
}
