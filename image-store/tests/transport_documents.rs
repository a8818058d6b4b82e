//! Ambiguous or unverifiable documents in OCI layouts and oci-archives (CVE-2021-41190): a
//! manifest carrying `manifests`, an index.json carrying `config`/`layers`, an index entry
//! whose media type the manifest contradicts, a layer digest berth cannot verify, a config
//! descriptor over the config limit. Each is refused by `load` with a one-line error, and
//! nothing is recorded.

mod transport_support;

use std::fs;
use std::path::Path;

use berth_image_store::transports::load;
use berth_image_store::Store;
use berth_layers::digest::digest_bytes;
use berth_layers::Compression;
use serde_json::{json, Value};
use transport_support::*;

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";

/// Write `blobs` and an index.json listing `manifest` (as `entry_type`) into a layout at
/// `dir`; `index_extra` is merged into index.json.
fn write_layout(
    dir: &Path,
    blobs: &[&[u8]],
    manifest: &[u8],
    entry_type: &str,
    index_extra: Value,
) {
    fs::create_dir_all(dir.join("blobs/sha256")).unwrap();
    fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    for blob in blobs.iter().chain([&manifest]) {
        let d = digest_bytes(blob);
        fs::write(dir.join("blobs/sha256").join(d.digest()), blob).unwrap();
    }
    let mut index = json!({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [{
            "mediaType": entry_type,
            "digest": digest_bytes(manifest).to_string(),
            "size": manifest.len(),
            "annotations": {"org.opencontainers.image.ref.name": "localhost/doc:1"},
        }],
    });
    if let (Value::Object(i), Value::Object(extra)) = (&mut index, index_extra) {
        i.extend(extra);
    }
    fs::write(dir.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
}

/// The layout at `dir` as an oci-archive at `out`.
fn tar_layout(dir: &Path, out: &Path) {
    let mut b = tar::Builder::new(fs::File::create(out).unwrap());
    for name in ["oci-layout", "index.json"] {
        append(&mut b, name, &fs::read(dir.join(name)).unwrap());
    }
    for e in fs::read_dir(dir.join("blobs/sha256")).unwrap() {
        let e = e.unwrap();
        let name = format!("blobs/sha256/{}", e.file_name().to_string_lossy());
        append(&mut b, &name, &fs::read(e.path()).unwrap());
    }
    b.finish().unwrap();
}

/// Load the crafted layout as a directory and as an oci-archive; both must fail with an
/// error containing every string in `expect`, recording nothing.
fn refused(
    blobs: &[&[u8]],
    manifest: &[u8],
    entry_type: &str,
    index_extra: Value,
    expect: &[&str],
) {
    let tmp = tempfile::tempdir().unwrap();
    let layout = tmp.path().join("layout");
    write_layout(&layout, blobs, manifest, entry_type, index_extra);
    let archive = tmp.path().join("layout.tar");
    tar_layout(&layout, &archive);
    for input in [&layout, &archive] {
        let (_d, store) = store();
        let err = load(&store, input).unwrap_err().to_string();
        for e in expect {
            assert!(err.contains(e), "{}: {err}", input.display());
        }
        assert!(!err.contains('\n'), "one line: {err}");
        assert!(all_names(&store).is_empty(), "{}", input.display());
    }
}

/// The blobs of an image and its manifest as JSON to edit.
fn parts() -> (Vec<Vec<u8>>, Vec<u8>, Value) {
    let (layers, config, manifest) = image_blobs("doc", Compression::None, false);
    let value: Value = serde_json::from_slice(&manifest).unwrap();
    (layers, config, value)
}

fn blob_refs<'a>(layers: &'a [Vec<u8>], config: &'a [u8]) -> Vec<&'a [u8]> {
    layers.iter().map(Vec::as_slice).chain([config]).collect()
}

fn load_ok(blobs: &[&[u8]], manifest: &[u8], entry_type: &str) -> (tempfile::TempDir, Store) {
    let tmp = tempfile::tempdir().unwrap();
    let layout = tmp.path().join("layout");
    write_layout(&layout, blobs, manifest, entry_type, json!({}));
    let (dir, store) = store();
    let loaded = load(&store, &layout).unwrap();
    assert_eq!(loaded.len(), 1);
    (dir, store)
}

#[test]
fn a_manifest_carrying_manifests_is_refused() {
    let (layers, config, mut m) = parts();
    m["manifests"] = json!([{
        "mediaType": OCI_MANIFEST,
        "digest": digest_bytes(b"other").to_string(),
        "size": 5,
    }]);
    let manifest = serde_json::to_vec(&m).unwrap();
    refused(
        &blob_refs(&layers, &config),
        &manifest,
        OCI_MANIFEST,
        json!({}),
        &[
            digest_bytes(&manifest).as_ref(),
            r#"rejecting ambiguous manifest, unexpected fields ["manifests"]"#,
        ],
    );
}

#[test]
fn an_index_json_carrying_config_or_layers_is_refused() {
    let (layers, config, m) = parts();
    let manifest = serde_json::to_vec(&m).unwrap();
    refused(
        &blob_refs(&layers, &config),
        &manifest,
        OCI_MANIFEST,
        json!({"config": m["config"].clone(), "layers": m["layers"].clone()}),
        &[
            "index.json",
            r#"unexpected fields ["config", "layers"] in supposedly application/vnd.oci.image.index.v1+json"#,
        ],
    );
}

#[test]
fn an_entry_type_the_manifest_contradicts_is_refused() {
    let (layers, config, m) = parts();
    let manifest = serde_json::to_vec(&m).unwrap();
    refused(
        &blob_refs(&layers, &config),
        &manifest,
        DOCKER_MANIFEST,
        json!({}),
        &[&format!(
            "descriptor {DOCKER_MANIFEST} disagrees with the body's mediaType {OCI_MANIFEST}"
        )],
    );
}

#[test]
fn a_manifest_without_media_type_takes_its_descriptors() {
    let (layers, config, mut m) = parts();
    m.as_object_mut().unwrap().remove("mediaType");
    let manifest = serde_json::to_vec(&m).unwrap();
    let (_dir, store) = load_ok(&blob_refs(&layers, &config), &manifest, OCI_MANIFEST);
    assert_eq!(all_names(&store), vec!["localhost/doc:1".to_string()]);
}

#[test]
fn unverifiable_layer_digests_are_refused() {
    let (layers, config, mut m) = parts();
    let sha512 = format!("sha512:{}", "ab".repeat(64));
    m["layers"][1]["digest"] = json!(sha512);
    let manifest = serde_json::to_vec(&m).unwrap();
    refused(
        &blob_refs(&layers, &config),
        &manifest,
        OCI_MANIFEST,
        json!({}),
        &[&format!(
            "layer: unsupported digest algorithm sha512 in {sha512}"
        )],
    );
    m["layers"][1]["digest"] = json!("md5:d41d8cd98f00b204e9800998ecf8427e");
    let manifest = serde_json::to_vec(&m).unwrap();
    refused(
        &blob_refs(&layers, &config),
        &manifest,
        OCI_MANIFEST,
        json!({}),
        &["layer: invalid digest md5:d41d8cd98f00b204e9800998ecf8427e"],
    );
}

#[test]
fn a_config_descriptor_over_the_limit_is_refused_before_reading() {
    let (layers, config, mut m) = parts();
    m["config"]["size"] = json!(200u64 << 20);
    let manifest = serde_json::to_vec(&m).unwrap();
    refused(
        &blob_refs(&layers, &config),
        &manifest,
        OCI_MANIFEST,
        json!({}),
        &[
            digest_bytes(&config).as_ref(),
            "claims 209715200 bytes, over the 16777216 byte limit for a config",
        ],
    );
}
