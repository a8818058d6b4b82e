//! save → load round trips and hostile archives for oci-archive, docker-archive and oci-dir.

mod transport_support;

use std::fs;
use std::path::Path;

use berth_image_store::transports::{load, save, ArchiveFormat, SaveItem};
use berth_image_store::{ImageRecord, Store};
use berth_layers::digest::digest_bytes;
use berth_layers::Compression;
use serde_json::json;
use transport_support::*;

fn save_one(store: &Store, image: &ImageRecord, name: &str, format: ArchiveFormat, out: &Path) {
    let item = SaveItem {
        image: image.clone(),
        name: Some(name.to_string()),
    };
    save(store, &[item], format, out).unwrap();
}

fn round_trip(format: ArchiveFormat, name: &str) {
    let (dir, src) = store();
    let image = make_image(&src, "rt", &[name]);
    let out = dir.path().join("out");
    save_one(&src, &image, name, format, &out);
    // Only the output is left beside it: no temp files.
    let left: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left.len(), 2, "{left:?}");

    let (_d2, dst) = store();
    let loaded = load(&dst, &out).unwrap();
    assert_eq!(loaded.len(), 1);
    assert_eq!(loaded[0].id, image.id, "image id survives {format:?}");
    assert_eq!(loaded[0].names, vec![name.to_string()]);
    let again = dst.lookup_image(name).unwrap();
    assert_eq!(again.id, image.id);
    // Layers are intact: the config's diff_ids still match in the new store.
    let config = dst.image_config(&again).unwrap();
    assert_eq!(config.rootfs().diff_ids().len(), 2);
}

#[test]
fn oci_archive_round_trip() {
    round_trip(ArchiveFormat::OciArchive, "localhost/foo:latest");
}

#[test]
fn docker_archive_round_trip() {
    round_trip(ArchiveFormat::DockerArchive, "localhost/foo:latest");
}

#[test]
fn oci_dir_round_trip() {
    round_trip(ArchiveFormat::OciDir, "localhost/foo:v1");
}

#[test]
fn oci_archive_keeps_the_manifest_digest() {
    // oci-archive stores the manifest as it is: the manifest digest survives too.
    let (dir, src) = store();
    let image = make_image(&src, "md", &["localhost/md:latest"]);
    let out = dir.path().join("md.tar");
    save_one(
        &src,
        &image,
        "localhost/md:latest",
        ArchiveFormat::OciArchive,
        &out,
    );
    let (_d2, dst) = store();
    let loaded = load(&dst, &out).unwrap();
    assert_eq!(loaded[0].manifest_digest, image.manifest_digest);
}

#[test]
fn docker_archive_with_several_images() {
    let (dir, src) = store();
    let a = make_image(&src, "a", &["localhost/a:latest"]);
    let b = make_image(&src, "b", &["localhost/b:1"]);
    let items = [
        SaveItem {
            image: a.clone(),
            name: Some("localhost/a:latest".into()),
        },
        SaveItem {
            image: b.clone(),
            name: Some("localhost/b:1".into()),
        },
    ];
    let out = dir.path().join("ab.tar");
    save(&src, &items, ArchiveFormat::DockerArchive, &out).unwrap();
    let (_d2, dst) = store();
    let loaded = load(&dst, &out).unwrap();
    let mut ids: Vec<_> = loaded.iter().map(|r| r.id.clone()).collect();
    ids.sort_by_key(|d| d.to_string());
    let mut want = vec![a.id, b.id];
    want.sort_by_key(|d| d.to_string());
    assert_eq!(ids, want);
    assert_eq!(all_names(&dst), ["localhost/a:latest", "localhost/b:1"]);
}

#[test]
fn oci_archive_member_with_dotdot_is_refused() {
    let (dir, st) = store();
    let path = dir.path().join("evil.tar");
    let mut b = tar::Builder::new(fs::File::create(&path).unwrap());
    append(&mut b, "oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#);
    append_raw(
        &mut b,
        "blobs/../../escape",
        b"boom",
        tar::EntryType::Regular,
    );
    b.into_inner().unwrap();
    let err = load(&st, &path).unwrap_err().to_string();
    assert!(err.contains("blobs/../../escape"), "{err}");
    assert!(!dir.path().join("escape").exists());
    assert!(st.list_images().unwrap().is_empty());
}

#[test]
fn archive_links_are_refused() {
    let (dir, st) = store();
    let path = dir.path().join("link.tar");
    let mut b = tar::Builder::new(fs::File::create(&path).unwrap());
    append_raw(&mut b, "manifest.json", b"", tar::EntryType::Symlink);
    b.into_inner().unwrap();
    let err = load(&st, &path).unwrap_err().to_string();
    assert!(err.contains("manifest.json"), "{err}");
}

#[test]
fn archive_link_leaving_the_archive_is_refused() {
    let (dir, st) = store();
    let path = dir.path().join("escape.tar");
    let mut b = tar::Builder::new(fs::File::create(&path).unwrap());
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Symlink);
    h.set_size(0);
    h.set_mode(0o777);
    b.append_link(&mut h, "abc/layer.tar", "../../../etc/shadow")
        .unwrap();
    b.into_inner().unwrap();
    let err = load(&st, &path).unwrap_err().to_string();
    assert!(err.contains("abc/layer.tar"), "{err}");
    assert!(st.list_images().unwrap().is_empty());
}

/// A docker-archive with one layer; `layer_member` is what the tar holds for it (or nothing).
fn docker_archive(path: &Path, layer: &[u8], layer_member: Option<&[u8]>) -> String {
    let diff_id = digest_bytes(layer);
    let config = config_json(std::slice::from_ref(&diff_id));
    let config_hex = digest_bytes(&config).digest().to_string();
    let layer_name = format!("{}.tar", diff_id.digest());
    let manifest = serde_json::to_vec(&json!([{
        "Config": format!("{config_hex}.json"),
        "RepoTags": ["busybox:latest"],
        "Layers": [layer_name],
    }]))
    .unwrap();
    let mut b = tar::Builder::new(fs::File::create(path).unwrap());
    append(&mut b, "manifest.json", &manifest);
    append(&mut b, &format!("{config_hex}.json"), &config);
    if let Some(data) = layer_member {
        append(&mut b, &layer_name, data);
    }
    b.into_inner().unwrap();
    layer_name
}

#[test]
fn docker_archive_written_by_hand_loads_with_docker_names() {
    let (dir, st) = store();
    let path = dir.path().join("d.tar");
    let layer = layer_tar(&[("a", b"a")]);
    docker_archive(&path, &layer, Some(&layer));
    let loaded = load(&st, &path).unwrap();
    assert_eq!(loaded[0].names, ["docker.io/library/busybox:latest"]);
}

#[test]
fn docker_archive_missing_layer_is_named_and_nothing_recorded() {
    let (dir, st) = store();
    let before = make_image(&st, "keep", &["localhost/keep:latest"]);
    let path = dir.path().join("missing.tar");
    let layer = layer_tar(&[("a", b"a")]);
    let name = docker_archive(&path, &layer, None);
    let err = load(&st, &path).unwrap_err().to_string();
    assert!(err.contains(&name), "{err}");
    let images = st.list_images().unwrap();
    assert_eq!(images.len(), 1);
    assert_eq!(images[0].id, before.id);
}

#[test]
fn docker_archive_layer_not_matching_diff_id_is_refused() {
    let (dir, st) = store();
    let path = dir.path().join("bad.tar");
    let layer = layer_tar(&[("a", b"a")]);
    let other = layer_tar(&[("a", b"b")]);
    let name = docker_archive(&path, &layer, Some(&other));
    let err = load(&st, &path).unwrap_err().to_string();
    assert!(err.contains(&name), "{err}");
    assert!(err.contains(&digest_bytes(&layer).to_string()), "{err}");
    assert!(err.contains(&digest_bytes(&other).to_string()), "{err}");
    assert!(st.list_images().unwrap().is_empty());
}

#[test]
fn oci_archive_blob_not_matching_its_name_is_refused() {
    let (dir, st) = store();
    let path = dir.path().join("corrupt.tar");
    let real = b"the real bytes";
    let hex = digest_bytes(real).digest().to_string();
    let mut b = tar::Builder::new(fs::File::create(&path).unwrap());
    append(&mut b, "oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#);
    append(&mut b, &format!("blobs/sha256/{hex}"), b"other bytes!!!");
    b.into_inner().unwrap();
    let err = load(&st, &path).unwrap_err().to_string();
    assert!(err.contains(&hex), "{err}");
    assert!(st.list_images().unwrap().is_empty());
}

#[test]
fn oci_archive_index_naming_a_missing_blob_is_refused() {
    let (dir, src) = store();
    let image = make_image(&src, "x", &["localhost/x:latest"]);
    let layout = dir.path().join("layout");
    save_one(
        &src,
        &image,
        "localhost/x:latest",
        ArchiveFormat::OciDir,
        &layout,
    );
    // Drop one layer blob from the layout.
    let manifest = src.image_manifest(&image).unwrap();
    let gone = manifest.layers()[1].digest().clone();
    fs::remove_file(layout.join("blobs/sha256").join(gone.digest())).unwrap();
    let (_d2, dst) = store();
    let err = load(&dst, &layout).unwrap_err().to_string();
    assert!(err.contains(gone.digest()), "{err}");
    assert!(dst.list_images().unwrap().is_empty());
}

#[test]
fn bare_tag_ref_name_gives_no_name() {
    let (dir, src) = store();
    let image = make_image(&src, "bare", &["localhost/bare:latest"]);
    let layout = dir.path().join("layout");
    save_one(
        &src,
        &image,
        "localhost/bare:latest",
        ArchiveFormat::OciDir,
        &layout,
    );
    // Rewrite the ref name the way `skopeo copy … oci:dir:latest` does.
    let index_path = layout.join("index.json");
    let mut index: serde_json::Value =
        serde_json::from_slice(&fs::read(&index_path).unwrap()).unwrap();
    index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"] = json!("latest");
    fs::write(&index_path, serde_json::to_vec(&index).unwrap()).unwrap();
    let (_d2, dst) = store();
    let loaded = load(&dst, &layout).unwrap();
    assert_eq!(loaded[0].id, image.id);
    assert!(loaded[0].names.is_empty(), "{:?}", loaded[0].names);
}

#[test]
fn failed_save_leaves_no_file() {
    let (dir, src) = store();
    let image = make_image(&src, "f", &["localhost/f:latest"]);
    // Remove a layer blob so the save fails half way.
    let manifest = src.image_manifest(&image).unwrap();
    src.content().delete(manifest.layers()[1].digest()).unwrap();
    let out = dir.path().join("half.tar");
    let item = SaveItem {
        image,
        name: Some("localhost/f:latest".into()),
    };
    assert!(save(&src, &[item], ArchiveFormat::OciArchive, &out).is_err());
    let left: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left.len(), 1, "{left:?}");
}

#[test]
fn gzip_layers_round_trip_through_docker_archive() {
    let (dir, src) = store();
    let image = make_image_with(&src, "gz", &["localhost/gz:latest"], Compression::Gzip);
    let out = dir.path().join("gz.tar");
    save_one(
        &src,
        &image,
        "localhost/gz:latest",
        ArchiveFormat::DockerArchive,
        &out,
    );
    let (_d2, dst) = store();
    let loaded = load(&dst, &out).unwrap();
    // Same config, so the same image id; the layers are now stored uncompressed.
    assert_eq!(loaded[0].id, image.id);
    let manifest = dst.image_manifest(&loaded[0]).unwrap();
    let config = dst.image_config(&loaded[0]).unwrap();
    for (layer, diff_id) in manifest.layers().iter().zip(config.rootfs().diff_ids()) {
        assert_eq!(
            layer.media_type().to_string(),
            "application/vnd.oci.image.layer.v1.tar"
        );
        assert_eq!(&layer.digest().to_string(), diff_id);
    }
}

#[test]
fn docker_archive_with_zstd_layers_and_manifest_last_keeps_them_as_they_are() {
    let (dir, st) = store();
    let (layers, config, _) = image_blobs("z", Compression::Zstd, false);
    let config_hex = digest_bytes(&config).digest().to_string();
    let names: Vec<String> = (0..layers.len())
        .map(|i| format!("layer{i}/layer.tar"))
        .collect();
    let path = dir.path().join("z.tar");
    let mut b = tar::Builder::new(fs::File::create(&path).unwrap());
    append(&mut b, &format!("{config_hex}.json"), &config);
    for (name, layer) in names.iter().zip(&layers) {
        append(&mut b, name, layer);
    }
    let manifest = serde_json::to_vec(&json!([{
        "Config": format!("{config_hex}.json"),
        "RepoTags": ["quay.io/x/z:1"],
        "Layers": names,
    }]))
    .unwrap();
    append(&mut b, "manifest.json", &manifest);
    b.into_inner().unwrap();

    let loaded = load(&st, &path).unwrap();
    assert_eq!(loaded[0].id, digest_bytes(&config));
    assert_eq!(loaded[0].names, ["quay.io/x/z:1"]);
    let m = st.image_manifest(&loaded[0]).unwrap();
    for (desc, blob) in m.layers().iter().zip(&layers) {
        assert_eq!(
            desc.media_type().to_string(),
            "application/vnd.oci.image.layer.v1.tar+zstd"
        );
        assert_eq!(desc.digest(), &digest_bytes(blob));
    }
}

#[test]
fn compressed_oci_archive_loads() {
    let (dir, src) = store();
    let image = make_image(&src, "c", &["localhost/c:latest"]);
    let out = dir.path().join("c.tar");
    save_one(
        &src,
        &image,
        "localhost/c:latest",
        ArchiveFormat::OciArchive,
        &out,
    );
    let gz = dir.path().join("c.tar.gz");
    fs::write(&gz, compress(&fs::read(&out).unwrap(), Compression::Gzip)).unwrap();
    let (_d2, dst) = store();
    let loaded = load(&dst, &gz).unwrap();
    assert_eq!(loaded[0].id, image.id);
}

#[test]
fn docker_v2s2_manifest_in_a_layout_is_stored_as_it_is() {
    let (dir, st) = store();
    let (layers, config, manifest) = image_blobs("v2", Compression::Gzip, true);
    let layout = dir.path().join("layout");
    fs::create_dir_all(layout.join("blobs/sha256")).unwrap();
    for blob in layers.iter().chain([&config, &manifest]) {
        fs::write(
            layout
                .join("blobs/sha256")
                .join(digest_bytes(blob).digest()),
            blob,
        )
        .unwrap();
    }
    fs::write(
        layout.join("oci-layout"),
        br#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .unwrap();
    let index = json!({
        "schemaVersion": 2,
        "manifests": [{
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "digest": digest_bytes(&manifest).to_string(),
            "size": manifest.len(),
            "annotations": {"org.opencontainers.image.ref.name": "localhost/v2:latest"},
        }],
    });
    fs::write(
        layout.join("index.json"),
        serde_json::to_vec(&index).unwrap(),
    )
    .unwrap();
    let loaded = load(&st, &layout).unwrap();
    assert_eq!(loaded[0].manifest_digest, digest_bytes(&manifest));
    assert_eq!(
        loaded[0].manifest_media_type,
        "application/vnd.docker.distribution.manifest.v2+json"
    );
    assert_eq!(loaded[0].names, ["localhost/v2:latest"]);
}

#[test]
fn image_saved_by_id_loads_without_names() {
    let (dir, src) = store();
    let image = make_image(&src, "anon", &["localhost/anon:latest"]);
    for format in [ArchiveFormat::DockerArchive, ArchiveFormat::OciArchive] {
        let out = dir.path().join(format!("{format:?}.tar"));
        let item = SaveItem {
            image: image.clone(),
            name: None,
        };
        save(&src, &[item], format, &out).unwrap();
        let (_d2, dst) = store();
        let loaded = load(&dst, &out).unwrap();
        assert_eq!(loaded[0].id, image.id);
        assert!(
            loaded[0].names.is_empty(),
            "{format:?}: {:?}",
            loaded[0].names
        );
    }
}
