//! save and load in every format, and archives that lie.

use std::fs;
use std::io::Read;
use std::path::Path;

use serde_json::Value;

use crate::util::TestEnv;

/// All members of a tar file, in order.
pub fn read_tar(path: &Path) -> Vec<(String, Vec<u8>)> {
    let mut ar = tar::Archive::new(fs::File::open(path).unwrap());
    let mut out = Vec::new();
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        let name = e.path().unwrap().to_string_lossy().to_string();
        let mut data = Vec::new();
        e.read_to_end(&mut data).unwrap();
        out.push((name, data));
    }
    out
}

/// Write members as a tar with raw names (so hostile names like `../x` can be written).
pub fn write_tar(path: &Path, members: &[(String, Vec<u8>)]) {
    let mut b = tar::Builder::new(fs::File::create(path).unwrap());
    for (name, data) in members {
        let mut h = tar::Header::new_gnu();
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(1_700_000_000);
        raw_name(&mut h, name);
        h.set_size(data.len() as u64);
        h.set_mode(if name.ends_with('/') { 0o755 } else { 0o644 });
        h.set_entry_type(if name.ends_with('/') {
            tar::EntryType::Directory
        } else {
            tar::EntryType::Regular
        });
        h.set_cksum();
        b.append(&h, &data[..]).unwrap();
    }
    b.finish().unwrap();
}

/// Put `name` into the header's name field as is, bypassing the tar crate's path checks.
pub fn raw_name(h: &mut tar::Header, name: &str) {
    let bytes = name.as_bytes();
    assert!(bytes.len() < 100, "raw names must fit the ustar field");
    let field = &mut h.as_old_mut().name;
    field.fill(0);
    field[..bytes.len()].copy_from_slice(bytes);
}

fn image_ids(env: &TestEnv) -> String {
    env.ok(&["images", "-q", "--no-trunc"])
}

#[test]
fn save_and_load_round_trip_in_every_format() {
    let env = TestEnv::new();
    let id = env.import_busybox("busybox");
    env.ok(&["tag", "busybox", "example.com/tools/busybox:1"]);
    for (format, file) in [
        ("docker-archive", "img-docker.tar"),
        ("oci-archive", "img-oci.tar"),
        ("oci-dir", "img-oci-dir"),
    ] {
        let out = env.path(file);
        env.ok(&[
            "save",
            "--format",
            format,
            "-o",
            out.to_str().unwrap(),
            "busybox",
        ]);
        let other = TestEnv::new();
        let loaded = other.ok(&["load", "-i", out.to_str().unwrap()]);
        assert!(
            loaded.contains("Loaded image: localhost/busybox:latest"),
            "{format}: {loaded}"
        );
        let v: Value = serde_json::from_str(&other.ok(&["inspect", "busybox"])).unwrap();
        assert_eq!(v[0]["Id"], id.as_str(), "{format}: the image id survives");
        let mnt = other.ok(&["image", "mount", "busybox"]);
        assert!(
            Path::new(mnt.trim()).join("bin/busybox").is_file(),
            "{format}"
        );
        other.ok(&["image", "unmount", "busybox"]);
        other.assert_check_clean();
    }
    // Saving to stdout works when stdout is not a terminal.
    let out = env
        .cmd(&["save", "--format", "oci-archive", "busybox"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(out.stdout.len() > 1000);
    env.assert_check_clean();
}

/// Import busybox into `env`, save it in `format`, and return the archive's members.
pub(crate) fn saved_members(env: &TestEnv, format: &str) -> Vec<(String, Vec<u8>)> {
    env.import_busybox("busybox");
    let good = env.path("good.tar");
    env.ok(&[
        "save",
        "--format",
        format,
        "-o",
        good.to_str().unwrap(),
        "busybox",
    ]);
    read_tar(&good)
}

/// The member name of the first layer in a docker-archive's manifest.json.
fn first_docker_layer(members: &[(String, Vec<u8>)]) -> String {
    let manifest = &members
        .iter()
        .find(|(n, _)| n == "manifest.json")
        .unwrap()
        .1;
    let manifest: Value = serde_json::from_slice(manifest).unwrap();
    manifest[0]["Layers"][0].as_str().unwrap().to_string()
}

/// Write `members` as an archive, load it into a fresh store and require a one-line refusal
/// (exit 125) that leaves that store empty and consistent. Returns the store and the error.
pub(crate) fn refused_load(env: &TestEnv, members: &[(String, Vec<u8>)]) -> (TestEnv, String) {
    let bad = env.path("bad.tar");
    write_tar(&bad, members);
    let other = TestEnv::new();
    let err = other.fails(&["load", "-i", bad.to_str().unwrap()], 125);
    assert_eq!(image_ids(&other).trim(), "", "nothing is recorded: {err}");
    other.assert_check_clean();
    (other, err)
}

#[test]
fn load_refuses_a_member_that_climbs_out() {
    let env = TestEnv::new();
    let mut members = saved_members(&env, "oci-archive");
    members.push(("../evil".to_string(), b"escape".to_vec()));
    let (other, err) = refused_load(&env, &members);
    assert!(err.contains("../evil"), "{err}");
    assert!(!other.path("evil").exists() && !other.root.join("../evil").exists());
    other.assert_canary();
}

#[test]
fn load_refuses_a_manifest_naming_a_missing_blob() {
    let env = TestEnv::new();
    let members = saved_members(&env, "docker-archive");
    let layer = first_docker_layer(&members);
    let without: Vec<_> = members.into_iter().filter(|(n, _)| *n != layer).collect();
    let (_, err) = refused_load(&env, &without);
    let hex = layer.trim_end_matches(".tar").rsplit('/').next().unwrap();
    assert!(err.contains(hex) || err.contains(&layer), "{err}");
}

#[test]
fn load_refuses_a_blob_whose_bytes_do_not_match_its_digest() {
    let env = TestEnv::new();
    let mut members = saved_members(&env, "oci-archive");
    let (name, data) = members
        .iter_mut()
        .filter(|(n, _)| n.contains("blobs/sha256/"))
        .max_by_key(|(_, d)| d.len())
        .unwrap();
    let mid = data.len() / 2;
    data[mid] ^= 0xff;
    let hex = name.rsplit('/').next().unwrap().to_string();
    let (_, err) = refused_load(&env, &members);
    assert!(err.contains(&hex), "{err}");
}

#[test]
fn load_refuses_a_layer_whose_diff_id_differs_from_the_config() {
    let env = TestEnv::new();
    let mut members = saved_members(&env, "docker-archive");
    let layer = first_docker_layer(&members);
    // Replace the layer with another valid tar: its diff_id no longer matches the config.
    let other_layer = env.path("other-layer.tar");
    write_tar(
        &other_layer,
        &[
            ("etc/".to_string(), vec![]),
            ("etc/motd".to_string(), b"hi".to_vec()),
        ],
    );
    let other_layer = fs::read(other_layer).unwrap();
    for (n, d) in members.iter_mut() {
        if *n == layer {
            *d = other_layer.clone();
        }
    }
    let (_, err) = refused_load(&env, &members);
    assert!(err.contains("diff") || err.contains("digest"), "{err}");
}
