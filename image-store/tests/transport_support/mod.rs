//! Helpers for the transport tests: a temp store and small hand-made images.
#![allow(dead_code)]

use std::io::Write;

use berth_image_store::{ImageRecord, Store};
use berth_layers::compression::compressor;
use berth_layers::digest::digest_bytes;
use berth_layers::{Compression, Digest};
use serde_json::json;
use tempfile::TempDir;

/// A fresh store in a temp dir (keep the `TempDir` alive).
pub fn store() -> (TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("root")).unwrap();
    (dir, store)
}

/// An uncompressed tar holding `files` (name, contents).
pub fn layer_tar(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(0);
        h.set_uid(0);
        h.set_gid(0);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, name, *data).unwrap();
    }
    b.into_inner().unwrap()
}

/// A config JSON for the given diff_ids.
pub fn config_json(diff_ids: &[Digest]) -> Vec<u8> {
    let ids: Vec<String> = diff_ids.iter().map(|d| d.to_string()).collect();
    serde_json::to_vec(&json!({
        "created": "2024-01-01T00:00:00Z",
        "architecture": "amd64",
        "os": "linux",
        "config": {"Cmd": ["/bin/sh"], "Env": ["PATH=/bin"]},
        "rootfs": {"type": "layers", "diff_ids": ids},
        "history": [{"created": "2024-01-01T00:00:00Z", "created_by": "test"}]
    }))
    .unwrap()
}

/// `data` compressed with `codec`.
pub fn compress(data: &[u8], codec: Compression) -> Vec<u8> {
    let mut w = compressor(Vec::new(), codec, None).unwrap();
    w.write_all(data).unwrap();
    w.finish().unwrap()
}

/// A manifest JSON (OCI, or Docker v2s2 with `docker`) for a config and layer blobs.
pub fn manifest_json(
    config: &[u8],
    layers: &[Vec<u8>],
    codec: Compression,
    docker: bool,
) -> Vec<u8> {
    let layer_type = if docker {
        "application/vnd.docker.image.rootfs.diff.tar.gzip".to_string()
    } else {
        codec.oci_layer_media_type().to_string()
    };
    let layers: Vec<_> = layers
        .iter()
        .map(|l| {
            json!({
                "mediaType": layer_type,
                "digest": digest_bytes(l).to_string(),
                "size": l.len(),
            })
        })
        .collect();
    let (manifest_type, config_type) = if docker {
        (
            "application/vnd.docker.distribution.manifest.v2+json",
            "application/vnd.docker.container.image.v1+json",
        )
    } else {
        (
            "application/vnd.oci.image.manifest.v1+json",
            "application/vnd.oci.image.config.v1+json",
        )
    };
    serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": manifest_type,
        "config": {
            "mediaType": config_type,
            "digest": digest_bytes(config).to_string(),
            "size": config.len(),
        },
        "layers": layers,
    }))
    .unwrap()
}

/// The blobs of a two-layer image: (layers, config, manifest).
pub fn image_blobs(
    seed: &str,
    codec: Compression,
    docker: bool,
) -> (Vec<Vec<u8>>, Vec<u8>, Vec<u8>) {
    let l1 = layer_tar(&[("etc/hello", format!("hello {seed}").as_bytes())]);
    let l2 = layer_tar(&[
        ("bin/tool", b"#!/bin/sh\necho tool\n"),
        ("etc/seed", seed.as_bytes()),
    ]);
    let config = config_json(&[digest_bytes(&l1), digest_bytes(&l2)]);
    let layers = vec![compress(&l1, codec), compress(&l2, codec)];
    let manifest = manifest_json(&config, &layers, codec, docker);
    (layers, config, manifest)
}

/// Put a two-layer image (uncompressed layers) into `store` with `names`.
pub fn make_image(store: &Store, seed: &str, names: &[&str]) -> ImageRecord {
    make_image_with(store, seed, names, Compression::None)
}

/// Put a two-layer image with `codec` layers into `store` with `names`.
pub fn make_image_with(
    store: &Store,
    seed: &str,
    names: &[&str],
    codec: Compression,
) -> ImageRecord {
    let (layers, config, manifest) = image_blobs(seed, codec, false);
    for blob in layers.iter().chain([&config, &manifest]) {
        store.content().put_bytes(blob).unwrap();
    }
    let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    store.add_image(&digest_bytes(&manifest), &names).unwrap()
}

/// Append a member with a raw (unchecked) name; the tar crate refuses `..` in `append_data`.
pub fn append_raw<W: Write>(
    b: &mut tar::Builder<W>,
    name: &str,
    data: &[u8],
    kind: tar::EntryType,
) {
    let mut h = tar::Header::new_old();
    {
        let raw = h.as_old_mut();
        raw.name[..name.len()].copy_from_slice(name.as_bytes());
    }
    h.set_size(data.len() as u64);
    h.set_mode(0o644);
    h.set_entry_type(kind);
    h.set_cksum();
    b.append(&h, data).unwrap();
}

/// Append a normal member.
pub fn append<W: Write>(b: &mut tar::Builder<W>, name: &str, data: &[u8]) {
    let mut h = tar::Header::new_gnu();
    h.set_size(data.len() as u64);
    h.set_mode(0o644);
    h.set_entry_type(tar::EntryType::Regular);
    b.append_data(&mut h, name, data).unwrap();
}

/// Sorted names of every image in a store.
pub fn all_names(store: &Store) -> Vec<String> {
    let mut v: Vec<String> = store
        .list_images()
        .unwrap()
        .into_iter()
        .flat_map(|i| i.name_texts())
        .collect();
    v.sort();
    v
}
