//! Unpacking, snapshots and real overlay mounts (the mount tests need root; they skip
//! themselves otherwise).

use std::fs;

use berth_image_store::testutil::{layer_tar, ImageBuilder};
use berth_image_store::{Store, StoreError};

fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("root")).unwrap();
    (dir, store)
}

fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

fn two_layer_image(store: &Store, label: &str, name: &str) -> berth_image_store::ImageRecord {
    let l1 = layer_tar(&[
        ("etc", None),
        ("etc/os-release", Some(b"ID=test\n")),
        ("bin", None),
        ("bin/tool", Some(b"v1")),
    ]);
    let l2 = layer_tar(&[
        ("bin", None),
        ("bin/tool", Some(b"v2")),
        ("data", Some(label.as_bytes())),
    ]);
    ImageBuilder::new(label, vec![l1, l2])
        .add(store, &[name])
        .unwrap()
}

#[test]
fn unpack_is_once_per_chain_and_shared() {
    let (_dir, store) = store();
    let img = two_layer_image(&store, "a", "a");
    let chains = store.unpack_image(&img).unwrap();
    assert_eq!(chains.len(), 2);
    assert_eq!(
        chains[0].to_string(),
        store.image_config(&img).unwrap().rootfs().diff_ids()[0]
    );
    let top = store
        .root()
        .join("overlay")
        .join(chains[1].digest())
        .join("diff");
    assert_eq!(fs::read(top.join("bin/tool")).unwrap(), b"v2");
    // Idempotent, and another image over the same bottom layer reuses it.
    assert_eq!(store.unpack_image(&img).unwrap(), chains);
    let other = two_layer_image(&store, "b", "b");
    let chains_b = store.unpack_image(&other).unwrap();
    assert_eq!(chains_b[0], chains[0]);
    assert_ne!(chains_b[1], chains[1]);
    let report = store.check(false).unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(report.layers_checked, 3);
    // Removing `b` frees its top layer only.
    store.remove_image("b", false).unwrap();
    let report = store.gc().unwrap();
    assert_eq!(report.layers, vec![chains_b[1].clone()]);
    assert!(store
        .root()
        .join("overlay")
        .join(chains[0].digest())
        .is_dir());
}

#[test]
fn diff_id_mismatch_is_refused_and_cleaned() {
    let (_dir, store) = store();
    let layer = layer_tar(&[("x", Some(b"x"))]);
    let mut b = ImageBuilder::new("bad", vec![layer]);
    b.diff_ids = Some(vec![berth_layers::digest::digest_bytes(b"something else")]);
    let img = b.add(&store, &["bad"]).unwrap();
    let layer_digest = store.image_manifest(&img).unwrap().layers()[0]
        .digest()
        .clone();
    let err = store.unpack_image(&img).unwrap_err();
    assert!(matches!(err, StoreError::DigestMismatch { .. }), "{err}");
    assert!(err.to_string().contains(&layer_digest.to_string()), "{err}");
    let overlay: Vec<_> = fs::read_dir(store.root().join("overlay"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(overlay.is_empty(), "{overlay:?}");
    // A refused unpack leaves nothing: check is clean.
    let report = store.check(false).unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);

    // A crash mid-unpack leaves an incomplete row (and maybe a temp dir): check reports it and
    // repair removes it.
    let db = rusqlite::Connection::open(store.root().join("berth.db")).unwrap();
    db.execute(
        "INSERT INTO layers (chain_id, diff_id, parent, digest, size, complete, created)
         VALUES (?1, ?1, NULL, ?2, 1, 0, 0)",
        [
            berth_layers::digest::digest_bytes(b"crashed").to_string(),
            layer_digest.to_string(),
        ],
    )
    .unwrap();
    drop(db);
    let report = store.check(false).unwrap();
    assert!(
        report.problems.iter().any(|p| p.what.starts_with("layer ")),
        "{:?}",
        report.problems
    );
    store.check(true).unwrap();
    assert!(store.check(false).unwrap().problems.is_empty());
}

#[test]
fn interrupted_unpack_is_found_and_collected() {
    let (_dir, store) = store();
    let img = two_layer_image(&store, "a", "a");
    let chains = store.unpack_image(&img).unwrap();
    // Simulate a crash mid-unpack: a tmp dir and an incomplete top layer.
    fs::create_dir_all(store.root().join("overlay/tmp-999-dead-0/diff/x")).unwrap();
    let top = store.root().join("overlay").join(chains[1].digest());
    fs::remove_dir_all(&top).unwrap();
    let report = store.check(false).unwrap();
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.what == format!("layer {}", chains[1])),
        "{:?}",
        report.problems
    );
    let gc = store.gc().unwrap();
    assert!(!store.root().join("overlay/tmp-999-dead-0").exists());
    assert!(gc.bytes_freed == 0 || gc.layers.contains(&chains[1]));
    // Unpacking again restores it.
    store.unpack_image(&img).unwrap();
    assert!(top.join("diff/bin/tool").is_file());
    assert!(store.check(false).unwrap().problems.is_empty());
}

#[test]
fn snapshot_overlay_mount_writes_to_upper() {
    if !is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let (_dir, store) = store();
    let img = two_layer_image(&store, "a", "a");
    let snap = store.prepare_snapshot("ctr1", Some(&img)).unwrap();
    assert_eq!(snap.mounts.len(), 1);
    assert_eq!(snap.mounts[0].kind, "overlay");
    assert!(matches!(
        store.prepare_snapshot("ctr1", Some(&img)),
        Err(StoreError::AlreadyExists(_))
    ));
    {
        let guard = snap.mounts[0].mount(&snap.mountpoint).unwrap();
        let merged = guard.target();
        assert_eq!(fs::read(merged.join("bin/tool")).unwrap(), b"v2");
        assert_eq!(
            fs::read(merged.join("etc/os-release")).unwrap(),
            b"ID=test\n"
        );
        fs::write(merged.join("etc/new"), b"written").unwrap();
    }
    assert_eq!(fs::read(snap.upper.join("etc/new")).unwrap(), b"written");
    assert!(
        fs::read_dir(&snap.mountpoint).unwrap().next().is_none(),
        "unmounted"
    );
    let again = store.snapshot("ctr1").unwrap();
    assert_eq!(again.mounts, snap.mounts);
    // In use: removing the image needs force, which removes the snapshot too.
    assert!(matches!(
        store.remove_image("a", false),
        Err(StoreError::FailedPrecondition(_))
    ));
    // Keep it mounted to prove remove_snapshot unmounts.
    snap.mounts[0].mount(&snap.mountpoint).unwrap().leak();
    store.remove_image("a", true).unwrap();
    assert!(matches!(
        store.snapshot("ctr1"),
        Err(StoreError::NotFound(_))
    ));
    assert!(!snap.upper.exists());
    store.gc().unwrap();
    assert!(fs::read_dir(store.root().join("overlay"))
        .unwrap()
        .next()
        .is_none());
}

#[test]
fn scratch_snapshot_is_a_bind_of_upper() {
    if !is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let (_dir, store) = store();
    let snap = store.prepare_snapshot("scratch", None).unwrap();
    assert_eq!(snap.mounts[0].kind, "bind");
    {
        let g = snap.mounts[0].mount(&snap.mountpoint).unwrap();
        fs::write(g.target().join("f"), b"1").unwrap();
    }
    assert!(snap.upper.join("f").is_file());
    store.remove_snapshot("scratch").unwrap();
    assert!(matches!(
        store.remove_snapshot("scratch"),
        Err(StoreError::NotFound(_))
    ));
    assert!(store.prepare_snapshot("../evil", None).is_err());
}

#[test]
fn image_mount_is_refcounted_and_read_only() {
    if !is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let (_dir, store) = store();
    let img = two_layer_image(&store, "a", "a");
    let mp = store.mount_image(&img).unwrap();
    assert_eq!(store.mount_image(&img).unwrap(), mp);
    assert_eq!(fs::read(mp.join("bin/tool")).unwrap(), b"v2");
    assert!(fs::write(mp.join("nope"), b"x").is_err(), "read-only");
    let mounted = store.mounted_images().unwrap();
    assert_eq!(mounted.len(), 1);
    assert_eq!(mounted[0].1, mp);
    assert!(!store.unmount_image(&img, false).unwrap());
    assert!(mp.join("bin/tool").is_file());
    assert!(store.unmount_image(&img, false).unwrap());
    assert!(!mp.exists());
    assert!(store.mounted_images().unwrap().is_empty());
    // One-layer images are a read-only bind of the layer.
    let one = ImageBuilder::new("one", vec![layer_tar(&[("f", Some(b"1"))])])
        .add(&store, &["one"])
        .unwrap();
    let mp = store.mount_image(&one).unwrap();
    assert_eq!(fs::read(mp.join("f")).unwrap(), b"1");
    assert!(fs::write(mp.join("g"), b"x").is_err(), "read-only");
    store.remove_image("one", true).unwrap();
    assert!(!mp.exists());
    assert!(store.check(false).unwrap().problems.is_empty());
}

#[test]
fn concurrent_unpacks_of_one_image_agree() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let store = Store::open(&root).unwrap();
    let img = two_layer_image(&store, "a", "a");
    let threads: Vec<_> = (0..3)
        .map(|_| {
            let root = root.clone();
            let img = img.clone();
            std::thread::spawn(move || Store::open(&root).unwrap().unpack_image(&img).unwrap())
        })
        .collect();
    let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert!(results.windows(2).all(|w| w[0] == w[1]));
    let entries: Vec<_> = fs::read_dir(root.join("overlay"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(entries.len(), 2, "{entries:?}");
    assert!(store.check(false).unwrap().problems.is_empty());
}
