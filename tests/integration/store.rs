//! Store-wide commands: system check, system prune, concurrent processes.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::process::Stdio;

use crate::util::TestEnv;

fn blob_files(env: &TestEnv) -> Vec<std::path::PathBuf> {
    let dir = env.root.join("blobs/sha256");
    let mut v: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

#[test]
fn store_root_is_private() {
    let env = TestEnv::new();
    env.ok(&["images"]);
    let mode = fs::metadata(&env.root).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700);
}

#[test]
fn check_finds_a_corrupt_blob_and_repair_removes_the_damage() {
    let env = TestEnv::new();
    env.import_busybox("busybox");
    env.assert_check_clean();
    // Corrupt the largest blob (the layer).
    let layer = blob_files(&env)
        .into_iter()
        .max_by_key(|p| fs::metadata(p).unwrap().len())
        .unwrap();
    fs::set_permissions(&layer, fs::Permissions::from_mode(0o644)).unwrap();
    let mut bytes = fs::read(&layer).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    fs::write(&layer, bytes).unwrap();

    let hex = layer.file_name().unwrap().to_string_lossy().to_string();
    let out = env.run(&["system", "check"]);
    assert_eq!(out.status.code(), Some(1));
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        report.contains(&hex),
        "check should name the blob: {report}"
    );

    let out = env.run(&["system", "check", "--repair"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "damage was found, even though repaired"
    );
    env.assert_check_clean();
    assert!(!layer.exists());
    assert_eq!(
        env.ok(&["images", "-q"]).trim(),
        "",
        "the damaged image was removed"
    );
}

#[test]
fn prune_removes_leftovers_and_unreferenced_blobs() {
    let env = TestEnv::new();
    env.import_busybox("busybox");
    let before = blob_files(&env).len();
    // A killed writer leaves an ingest file behind.
    fs::write(env.root.join("ingest/leftover"), b"partial").unwrap();
    env.ok(&["rmi", "busybox"]);
    assert_eq!(blob_files(&env).len(), before, "rmi leaves blobs to gc");
    let out = env.ok(&["system", "prune", "-f"]);
    assert!(out.contains("Total reclaimed space"), "{out}");
    assert!(blob_files(&env).is_empty(), "unreferenced blobs remain");
    assert!(!env.root.join("ingest/leftover").exists());
    env.assert_check_clean();
}

#[test]
fn two_processes_import_and_remove_at_once() {
    let env = TestEnv::new();
    let tar = env.busybox_tar();
    let tar = tar.to_str().unwrap();
    for round in 0..3 {
        let a = format!("a{round}");
        let b = format!("b{round}");
        let mut p1 = env
            .cmd(&["import", tar, &a])
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let mut p2 = env
            .cmd(&["import", tar, &b])
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        assert!(p1.wait().unwrap().success(), "import {a}");
        assert!(p2.wait().unwrap().success(), "import {b}");
    }
    let ids = env.ok(&["images", "-q"]);
    assert!(!ids.trim().is_empty());
    let mut p1 = env
        .cmd(&["rmi", "a0", "a1", "a2"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut p2 = env
        .cmd(&["system", "prune", "-f"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    assert!(p1.wait().unwrap().success());
    assert!(p2.wait().unwrap().success());
    env.assert_check_clean();
    let names = env.ok(&["images"]);
    for b in ["b0", "b1", "b2"] {
        assert!(
            names.contains(&format!("localhost/{b}")),
            "{b} missing: {names}"
        );
    }
}
