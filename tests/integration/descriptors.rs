//! Descriptors that lie (issue 19 item 1): a hand-made oci-archive, a docker-archive and a
//! registry whose descriptors disagree with the content (size, digest, a codec the bytes do
//! not have, an unknown layer type, a config that is a layer). Each load or pull fails with
//! one line naming what and where, and the store is as before: same blobs, same images,
//! `system check` clean.

use std::collections::BTreeSet;
use std::io::Write;
use std::sync::Arc;

use flate2::write::GzEncoder;
use serde_json::{json, Value};

use crate::registry_harness::{fails, ok};
use crate::registry_hostile::{resp, serve, sha, Response, Seen};
use crate::util::TestEnv;

const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

fn layer_tar(content: &[u8]) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_ustar();
    h.set_size(content.len() as u64);
    h.set_mode(0o644);
    h.set_mtime(1_700_000_000);
    tar.append_data(&mut h, "lie.txt", content).unwrap();
    tar.into_inner().unwrap()
}

fn gzip(raw: &[u8]) -> Vec<u8> {
    let mut gz = GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(raw).unwrap();
    gz.finish().unwrap()
}

/// An image to lie about: its layer blob, config and manifest (as JSON, to be edited).
struct Parts {
    layer: Vec<u8>,
    config: Vec<u8>,
    manifest: Value,
    /// Extra blobs to put in the archive: (name hex, bytes).
    extra: Vec<(String, Vec<u8>)>,
}

fn parts(layer: Vec<u8>, raw: &[u8], layer_type: &str) -> Parts {
    let config = serde_json::to_vec(&json!({
        "architecture": "amd64", "os": "linux", "config": {},
        "rootfs": {"type": "layers", "diff_ids": [sha(raw)]}
    }))
    .unwrap();
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": sha(&config), "size": config.len()},
        "layers": [{"mediaType": layer_type, "digest": sha(&layer), "size": layer.len()}]
    });
    Parts {
        layer,
        config,
        manifest,
        extra: Vec::new(),
    }
}

fn gzip_parts() -> Parts {
    let raw = layer_tar(b"a lie in a descriptor\n");
    parts(gzip(&raw), &raw, OCI_GZIP)
}

fn tar_of(members: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    for (name, bytes) in members {
        let mut h = tar::Header::new_ustar();
        h.set_size(bytes.len() as u64);
        h.set_mode(0o644);
        tar.append_data(&mut h, name, &bytes[..]).unwrap();
    }
    tar.into_inner().unwrap()
}

fn blob(hex_or_digest: &str) -> String {
    format!(
        "blobs/sha256/{}",
        hex_or_digest.trim_start_matches("sha256:")
    )
}

/// The oci-archive holding `p`: its blobs under their true digests (and `extra` under the
/// names given), the manifest named by `index.json`.
fn oci_archive(p: &Parts) -> Vec<u8> {
    let manifest = serde_json::to_vec(&p.manifest).unwrap();
    let index = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{
            "mediaType": OCI_MANIFEST, "digest": sha(&manifest), "size": manifest.len(),
            "annotations": {"org.opencontainers.image.ref.name": "localhost/lie:1"}
        }]
    });
    let mut members = vec![
        (
            "oci-layout".to_string(),
            br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec(),
        ),
        ("index.json".into(), serde_json::to_vec(&index).unwrap()),
        (blob(&sha(&manifest)), manifest),
        (blob(&sha(&p.config)), p.config.clone()),
        (blob(&sha(&p.layer)), p.layer.clone()),
    ];
    for (hex, bytes) in &p.extra {
        members.push((blob(hex), bytes.clone()));
    }
    tar_of(&members)
}

/// What must not change when a load is refused.
#[derive(Debug, PartialEq)]
struct StoreState {
    blobs: BTreeSet<String>,
    images: String,
}

fn state(env: &TestEnv) -> StoreState {
    let dir = env.root.join("blobs/sha256");
    let blobs = match std::fs::read_dir(&dir) {
        Ok(entries) => entries
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => BTreeSet::new(),
    };
    StoreState {
        blobs,
        images: ok(env, &["images", "-a", "--no-trunc"]),
    }
}

/// A store holding one good image (loaded from a good archive), so that "unchanged" means
/// something.
fn store_with_an_image() -> TestEnv {
    let env = TestEnv::new();
    let raw = layer_tar(b"a good image\n");
    let good = parts(gzip(&raw), &raw, OCI_GZIP);
    let path = env.path("good.tar");
    std::fs::write(&path, oci_archive(&good)).unwrap();
    ok(&env, &["load", "-i", path.to_str().unwrap()]);
    env
}

/// Load `archive` into a store with one image: it must fail with one line containing every
/// word of `expect`, the store unchanged. Returns the error line.
fn refused(archive: &[u8], expect: &[&str]) -> String {
    let env = store_with_an_image();
    let before = state(&env);
    let path = env.path("lie.tar");
    std::fs::write(&path, archive).unwrap();
    let err = fails(&env, &["load", "-i", path.to_str().unwrap()]);
    for word in expect {
        assert!(err.contains(word), "{word:?} not in: {err}");
    }
    assert_eq!(state(&env), before, "the refused load changed the store");
    env.assert_check_clean();
    env.assert_canary();
    err
}

fn zstd(raw: &[u8]) -> Vec<u8> {
    zstd::encode_all(raw, 3).unwrap()
}

#[test]
fn oci_archive_layer_size_that_lies_is_refused() {
    let mut p = gzip_parts();
    let real = p.layer.len();
    p.manifest["layers"][0]["size"] = json!(real - 1);
    let err = refused(&oci_archive(&p), &[&sha(&p.layer), "bytes"]);
    assert!(err.contains(&format!("{}", real - 1)), "{err}");
}

#[test]
fn oci_archive_layer_size_that_lies_is_refused_when_the_blob_is_already_stored() {
    // The same layer blob under the true size is in the store from an earlier load.
    let raw = layer_tar(b"a good image\n");
    let mut p = parts(gzip(&raw), &raw, OCI_GZIP);
    p.manifest["layers"][0]["size"] = json!(p.layer.len() + 7);
    // A different config so the manifest is new.
    p.config = serde_json::to_vec(&json!({
        "architecture": "amd64", "os": "linux", "config": {"Env": ["X=1"]},
        "rootfs": {"type": "layers", "diff_ids": [sha(&raw)]}
    }))
    .unwrap();
    p.manifest["config"] =
        json!({"mediaType": OCI_CONFIG, "digest": sha(&p.config), "size": p.config.len()});
    refused(&oci_archive(&p), &[&sha(&p.layer), "bytes"]);
}

/// A config listing two diff_ids for a manifest of one layer: refused before any of the
/// image's blobs (all new to the store) becomes visible.
#[test]
fn oci_archive_config_with_the_wrong_diff_id_count_adds_no_blob() {
    let raw = layer_tar(b"one layer, two diff_ids\n");
    let mut p = parts(gzip(&raw), &raw, OCI_GZIP);
    p.config = serde_json::to_vec(&json!({
        "architecture": "amd64", "os": "linux", "config": {},
        "rootfs": {"type": "layers", "diff_ids": [sha(&raw), sha(&raw)]}
    }))
    .unwrap();
    p.manifest["config"] =
        json!({"mediaType": OCI_CONFIG, "digest": sha(&p.config), "size": p.config.len()});
    refused(&oci_archive(&p), &["1 layers", "2 diff_ids"]);
}

#[test]
fn oci_archive_layer_digest_that_lies_is_refused() {
    let mut p = gzip_parts();
    let other = gzip(&layer_tar(b"other bytes\n"));
    // The descriptor names `other`, whose blob file holds the real layer's bytes.
    p.manifest["layers"][0]["digest"] = json!(sha(&other));
    p.extra.push((sha(&other), p.layer.clone()));
    refused(&oci_archive(&p), &[&sha(&other), "mismatch"]);
}

#[test]
fn oci_archive_gzip_media_type_over_zstd_bytes_is_refused() {
    let raw = layer_tar(b"zstd under a gzip name\n");
    let p = parts(zstd(&raw), &raw, OCI_GZIP);
    refused(&oci_archive(&p), &[&sha(&p.layer), OCI_GZIP, "zstd"]);
}

#[test]
fn oci_archive_unknown_layer_media_type_is_refused() {
    let p = {
        let raw = layer_tar(b"what is this\n");
        parts(gzip(&raw), &raw, "application/vnd.example.layer.v1+weird")
    };
    refused(
        &oci_archive(&p),
        &[
            &sha(&p.layer),
            "unsupported OCIv1 media type",
            "application/vnd.example.layer.v1+weird",
        ],
    );
}

#[test]
fn oci_archive_config_descriptor_pointing_at_a_layer_is_refused() {
    let mut p = gzip_parts();
    p.manifest["config"] =
        json!({"mediaType": OCI_CONFIG, "digest": sha(&p.layer), "size": p.layer.len()});
    refused(&oci_archive(&p), &["config", &sha(&p.layer), "gzip"]);
}

#[test]
fn oci_archive_config_with_a_layer_media_type_is_refused() {
    let mut p = gzip_parts();
    p.manifest["config"]["mediaType"] = json!(OCI_GZIP);
    refused(
        &oci_archive(&p),
        &["config", &sha(&p.config), "cannot be a config"],
    );
}

#[test]
fn oci_archive_index_entry_that_is_a_layer_is_refused() {
    let p = gzip_parts();
    let mut archive_parts = gzip_parts();
    archive_parts.layer = p.layer.clone();
    // index.json naming the layer blob as its image.
    let index = json!({
        "schemaVersion": 2,
        "manifests": [{"mediaType": OCI_GZIP, "digest": sha(&p.layer), "size": p.layer.len()}]
    });
    let members = vec![
        (
            "oci-layout".to_string(),
            br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec(),
        ),
        ("index.json".into(), serde_json::to_vec(&index).unwrap()),
        (blob(&sha(&p.layer)), p.layer.clone()),
    ];
    refused(&tar_of(&members), &[&sha(&p.layer), "index"]);
}

/// A docker-archive of `p`'s config and layer with `manifest.json` as given.
fn docker_archive(p: &Parts, entry: Value, blobs_dir: bool) -> Vec<u8> {
    let (config_name, layer_name) = if blobs_dir {
        (blob(&sha(&p.config)), blob(&sha(&p.layer)))
    } else {
        (
            format!("{}.json", sha(&p.config).trim_start_matches("sha256:")),
            "layer/layer.tar".to_string(),
        )
    };
    let mut members = vec![
        (config_name, p.config.clone()),
        (layer_name, p.layer.clone()),
    ];
    for (name, bytes) in &p.extra {
        members.push((name.clone(), bytes.clone()));
    }
    members.push((
        "manifest.json".into(),
        serde_json::to_vec(&json!([entry])).unwrap(),
    ));
    tar_of(&members)
}

#[test]
fn docker_archive_config_digest_that_lies_is_refused() {
    let mut p = gzip_parts();
    let fake = "ab".repeat(32);
    p.extra.push((format!("{fake}.json"), p.config.clone()));
    let entry = json!({"Config": format!("{fake}.json"), "RepoTags": ["lie:1"], "Layers": ["layer/layer.tar"]});
    refused(&docker_archive(&p, entry, false), &[&fake, "mismatch"]);
}

#[test]
fn docker_archive_layer_blob_digest_that_lies_is_refused() {
    // Docker 25's layout: blobs/sha256/<hex> members; the layer's bytes are not its name.
    let mut p = gzip_parts();
    let fake = "cd".repeat(32);
    p.extra.push((blob(&fake), p.layer.clone()));
    let entry = json!({
        "Config": blob(&sha(&p.config)), "RepoTags": ["lie:1"], "Layers": [blob(&fake)]
    });
    refused(&docker_archive(&p, entry, true), &[&fake, "mismatch"]);
}

#[test]
fn docker_archive_layer_that_is_not_the_configs_diff_id_is_refused() {
    let mut p = gzip_parts();
    p.layer = gzip(&layer_tar(b"not what the config says\n"));
    let entry = json!({"Config": blob(&sha(&p.config)), "RepoTags": ["lie:1"], "Layers": [blob(&sha(&p.layer))]});
    refused(&docker_archive(&p, entry, true), &["diff_id", "mismatch"]);
}

#[test]
fn docker_archive_config_that_is_a_layer_is_refused() {
    let p = gzip_parts();
    let entry = json!({
        "Config": blob(&sha(&p.layer)), "RepoTags": ["lie:1"], "Layers": [blob(&sha(&p.layer))]
    });
    refused(
        &docker_archive(&p, entry, true),
        &["config", sha(&p.layer).trim_start_matches("sha256:")],
    );
}

#[test]
fn docker_archive_layer_that_is_a_config_is_refused() {
    let p = gzip_parts();
    let entry = json!({
        "Config": blob(&sha(&p.config)), "RepoTags": ["lie:1"], "Layers": [blob(&sha(&p.config))]
    });
    refused(
        &docker_archive(&p, entry, true),
        &["layer member", &sha(&p.config)[7..], "JSON object"],
    );
}

/// Serve `p` at `lie/app:1` on 127.0.0.1 (blobs by their true digest, extra blobs by name).
fn registry(p: &Parts) -> String {
    let manifest = serde_json::to_vec(&p.manifest).unwrap();
    let mut blobs: Vec<(String, Vec<u8>)> = vec![
        (sha(&p.config), p.config.clone()),
        (sha(&p.layer), p.layer.clone()),
    ];
    blobs.extend(p.extra.iter().cloned());
    let (addr, _) = serve(
        "127.0.0.1",
        Arc::new(move |seen: &Seen| -> Response {
            let path = seen.path.as_str();
            if path == "/v2/" {
                return resp(200, b"{}");
            }
            if path == "/v2/lie/app/manifests/1" {
                return Response {
                    status: 200,
                    headers: vec![("Content-Type".into(), OCI_MANIFEST.into())],
                    body: manifest.clone(),
                };
            }
            for (digest, bytes) in &blobs {
                if path == format!("/v2/lie/app/blobs/{digest}") {
                    return resp(200, bytes);
                }
            }
            resp(404, b"{}")
        }),
    );
    addr
}

/// Pull `p` from a lying registry into a store with one image: one line with every word of
/// `expect`, the store unchanged.
fn refused_pull(p: &Parts, expect: &[&str]) -> String {
    let addr = registry(p);
    let env = store_with_an_image();
    let before = state(&env);
    let err = fails(
        &env,
        &[
            "pull",
            "--tls-verify=false",
            "--retry=0",
            &format!("{addr}/lie/app:1"),
        ],
    );
    for word in expect {
        assert!(err.contains(word), "{word:?} not in: {err}");
    }
    assert_eq!(state(&env), before, "the refused pull changed the store");
    env.assert_check_clean();
    err
}

#[test]
fn registry_layer_size_that_lies_is_refused() {
    let mut p = gzip_parts();
    p.manifest["layers"][0]["size"] = json!(p.layer.len() - 3);
    refused_pull(&p, &[&sha(&p.layer), "bytes"]);
}

#[test]
fn registry_gzip_media_type_over_zstd_bytes_is_refused() {
    let raw = layer_tar(b"zstd under a gzip name\n");
    let p = parts(zstd(&raw), &raw, OCI_GZIP);
    refused_pull(&p, &[&sha(&p.layer), OCI_GZIP, "zstd"]);
}

#[test]
fn registry_unknown_layer_media_type_is_refused() {
    let raw = layer_tar(b"what is this\n");
    let p = parts(gzip(&raw), &raw, "application/vnd.example.layer.v1+weird");
    refused_pull(&p, &[&sha(&p.layer), "unsupported OCIv1 media type"]);
}

#[test]
fn registry_config_descriptor_pointing_at_a_layer_is_refused() {
    let mut p = gzip_parts();
    p.manifest["config"] =
        json!({"mediaType": OCI_CONFIG, "digest": sha(&p.layer), "size": p.layer.len()});
    refused_pull(&p, &["config", &sha(&p.layer), "gzip"]);
}

#[test]
fn registry_config_with_a_layer_media_type_is_refused() {
    let mut p = gzip_parts();
    p.manifest["config"]["mediaType"] = json!(OCI_GZIP);
    refused_pull(&p, &["config", "cannot be a config"]);
}

#[test]
fn copy_from_a_lying_registry_to_an_oci_dir_is_refused() {
    let raw = layer_tar(b"zstd under a gzip name\n");
    let p = parts(zstd(&raw), &raw, OCI_GZIP);
    let addr = registry(&p);
    let env = TestEnv::new();
    let out = env.path("out");
    let err = fails(
        &env,
        &[
            "copy",
            "--src-tls-verify=false",
            &format!("docker://{addr}/lie/app:1"),
            &format!("oci:{}", out.display()),
        ],
    );
    assert!(
        err.contains("zstd") && err.contains(&sha(&p.layer)),
        "{err}"
    );
}
