//! Store core: content store, image records, names, gc and check (no mounts needed).

use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;

use berth_image_store::images::RemoveOutcome;
use berth_image_store::testutil::{layer_tar, simple_image, ImageBuilder};
use berth_image_store::{Store, StoreError};

fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("root")).unwrap();
    (dir, store)
}

#[test]
fn killed_writer_leftover_is_collected() {
    let (_dir, store) = store();
    // A writer killed mid-write leaves only an ingest file.
    fs::write(store.root().join("ingest/123-dead-0"), b"half a blob").unwrap();
    let mut w = store.content().writer().unwrap();
    w.write_all(b"in progress").unwrap();
    drop(w);
    assert_eq!(
        fs::read_dir(store.root().join("ingest")).unwrap().count(),
        1
    );
    let report = store.gc().unwrap();
    assert_eq!(report.ingest_files, 1);
    assert!(report.bytes_freed >= 11);
    assert_eq!(
        fs::read_dir(store.root().join("ingest")).unwrap().count(),
        0
    );
}

#[test]
fn commit_checks_digest_and_size() {
    let (_dir, store) = store();
    let good = berth_layers::digest::digest_bytes(b"good");
    let mut w = store.content().writer().unwrap();
    w.write_all(b"evil").unwrap();
    let err = w.commit(Some((&good, 4))).unwrap_err();
    assert!(matches!(err, StoreError::DigestMismatch { .. }));
    assert!(err.to_string().contains(&good.to_string()), "{err}");
    assert!(!store.content().contains(&good));
    assert_eq!(
        fs::read_dir(store.root().join("ingest")).unwrap().count(),
        0
    );
}

#[test]
fn missing_layer_blob_records_nothing() {
    let (_dir, store) = store();
    let mut b = ImageBuilder::new("x", vec![layer_tar(&[("a", Some(b"a"))])]);
    b.skip_layers = vec![0];
    let t = b.put(&store).unwrap();
    let err = store
        .add_image(&t.manifest, &["busybox".to_string()])
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)), "{err}");
    assert!(err.to_string().contains(&t.layers[0].to_string()), "{err}");
    assert!(store.list_images().unwrap().is_empty());
    assert!(store.lookup_image("busybox").is_err());
}

#[test]
fn lookup_by_names_ids_and_digests() {
    let (_dir, store) = store();
    let a = simple_image(&store, "a", &["busybox"]).unwrap();
    let b = simple_image(
        &store,
        "b",
        &["docker.io/library/alpine:3.19", "quay.io/x/tool:v1"],
    )
    .unwrap();
    assert_eq!(a.names, vec!["localhost/busybox:latest"]);
    assert_eq!(store.lookup_image("busybox").unwrap().id, a.id);
    assert_eq!(store.lookup_image("busybox:latest").unwrap().id, a.id);
    assert_eq!(store.lookup_image("localhost/busybox").unwrap().id, a.id);
    assert_eq!(store.lookup_image("alpine:3.19").unwrap().id, b.id);
    assert_eq!(store.lookup_image("x/tool:v1").unwrap().id, b.id);
    assert_eq!(store.lookup_image("tool:v1").unwrap().id, b.id);
    assert_eq!(store.lookup_image(a.id.as_ref()).unwrap().id, a.id);
    assert_eq!(store.lookup_image(a.id.digest()).unwrap().id, a.id);
    assert_eq!(store.lookup_image(a.short_id()).unwrap().id, a.id);
    assert_eq!(
        store.lookup_image(a.manifest_digest.as_ref()).unwrap().id,
        a.id
    );
    let by_digest = format!("busybox@{}", a.manifest_digest);
    assert_eq!(store.lookup_image(&by_digest).unwrap().id, a.id);
    let err = store.lookup_image("nosuch").unwrap_err();
    assert!(
        matches!(err, StoreError::NotFound(ref m) if m.contains("nosuch")),
        "{err}"
    );
    assert!(
        store.lookup_image("alpine").is_err(),
        "alpine:latest does not exist"
    );
    // Newest first.
    let list = store.list_images().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0].id, b.id);
    assert!(list[0].size > 0);
}

#[test]
fn short_id_prefixes() {
    let (_dir, store) = store();
    let a = simple_image(&store, "a", &["a"]).unwrap();
    assert!(store.lookup_image(&a.id.digest()[..2]).is_err());
    assert_eq!(store.lookup_image(&a.id.digest()[..3]).unwrap().id, a.id);
    let upper = a.id.digest()[..12].to_ascii_uppercase();
    assert_eq!(store.lookup_image(&upper).unwrap().id, a.id);
}

#[test]
fn tag_untag_remove_like_podman() {
    let (_dir, store) = store();
    let a = simple_image(&store, "a", &["one"]).unwrap();
    store.tag_image(&a, "two:v2").unwrap();
    let a = store.lookup_image("one").unwrap();
    assert_eq!(a.names, vec!["localhost/one:latest", "localhost/two:v2"]);
    // A name moves from the image that had it.
    let b = simple_image(&store, "b", &["two:v2"]).unwrap();
    assert_eq!(store.lookup_image("two:v2").unwrap().id, b.id);
    assert_eq!(
        store.lookup_image("one").unwrap().names,
        vec!["localhost/one:latest"]
    );
    // Untag a name the image lacks.
    let err = store.untag_image(&b, "one").unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)), "{err}");
    // Remove by name with other names: only untag.
    store.tag_image(&b, "three").unwrap();
    assert_eq!(
        store.remove_image("three", false).unwrap(),
        RemoveOutcome::Untagged("localhost/three:latest".to_string())
    );
    // By id while it has several names: refused without force.
    store.tag_image(&b, "four").unwrap();
    assert!(matches!(
        store.remove_image(b.id.digest(), false),
        Err(StoreError::FailedPrecondition(_))
    ));
    assert_eq!(
        store.remove_image(b.id.digest(), true).unwrap(),
        RemoveOutcome::Deleted(b.id.clone())
    );
    // Last name: the image goes.
    assert_eq!(
        store.remove_image("one", false).unwrap(),
        RemoveOutcome::Deleted(a.id.clone())
    );
    assert!(store.list_images().unwrap().is_empty());
    // Its blobs go at gc.
    let report = store.gc().unwrap();
    assert!(report.blobs.len() >= 4, "{report:?}");
    assert!(store.content().list().unwrap().is_empty());
}

#[test]
fn prune_removes_dangling_only() {
    let (_dir, store) = store();
    let keep = simple_image(&store, "keep", &["keep"]).unwrap();
    let dangling = simple_image(&store, "dangling", &[]).unwrap();
    let report = store.prune_images(false).unwrap();
    assert_eq!(report.images, vec![dangling.id.clone()]);
    assert!(report.bytes_freed > 0);
    assert_eq!(store.list_images().unwrap().len(), 1);
    let report = store.prune_images(true).unwrap();
    assert_eq!(report.images, vec![keep.id]);
    assert!(store.content().list().unwrap().is_empty());
}

#[test]
fn check_finds_and_repairs_a_corrupt_blob() {
    let (_dir, store) = store();
    let good = simple_image(&store, "good", &["good"]).unwrap();
    let layer = layer_tar(&[("victim", Some(b"original bytes"))]);
    let bad = ImageBuilder::new("bad", vec![layer])
        .add(&store, &["bad"])
        .unwrap();
    let report = store.check(false).unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(report.images_checked, 2);

    let layer_digest = store.image_manifest(&bad).unwrap().layers()[0]
        .digest()
        .clone();
    let path = store.content().blob_path(&layer_digest);
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    let mut bytes = fs::read(&path).unwrap();
    bytes[600] ^= 0xff;
    fs::write(&path, &bytes).unwrap();

    let report = store.check(false).unwrap();
    let whats: Vec<_> = report.problems.iter().map(|p| p.what.clone()).collect();
    assert!(whats.contains(&format!("blob {layer_digest}")), "{whats:?}");
    assert!(
        whats
            .iter()
            .any(|w| w.starts_with(&format!("image {}", bad.id))),
        "{whats:?}"
    );
    assert!(report.repaired.is_empty());
    assert!(store.content().contains(&layer_digest));

    let report = store.check(true).unwrap();
    assert!(
        report.repaired.contains(&format!("blob {layer_digest}")),
        "{:?}",
        report.repaired
    );
    assert!(report.repaired.contains(&format!("image {}", bad.id)));
    assert!(!store.content().contains(&layer_digest));
    assert!(store.lookup_image("bad").is_err());
    assert_eq!(store.lookup_image("good").unwrap().id, good.id);
    assert!(store.check(false).unwrap().problems.is_empty());
}

#[test]
fn concurrent_stores_add_and_remove() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    Store::open(&root).unwrap();
    let threads: Vec<_> = (0..2)
        .map(|t| {
            let root = root.clone();
            std::thread::spawn(move || {
                let store = Store::open(&root).unwrap();
                for i in 0..8 {
                    let name = format!("t{t}-img{i}");
                    // Both threads also fight over one shared name and one shared image.
                    simple_image(&store, &name, &[&name, "shared"]).unwrap();
                    simple_image(&store, "common", &[&format!("common-{t}")]).unwrap();
                    if i % 2 == 0 {
                        store.remove_image(&name, false).unwrap();
                    }
                    if i % 3 == 0 {
                        store.gc().unwrap();
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let store = Store::open(&root).unwrap();
    let report = store.check(false).unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    // 4 kept per thread + the common image.
    let images = store.list_images().unwrap();
    let named = images.iter().filter(|i| !i.names.is_empty()).count();
    assert!(named >= 9, "{images:?}");
    assert!(store.lookup_image("shared").is_ok());
    let common = store.lookup_image("common-0").unwrap();
    assert_eq!(store.lookup_image("common-1").unwrap().id, common.id);
}

/// The body of one child process of `concurrent_processes_add_remove_and_gc`.
#[test]
#[ignore = "run as a child process by concurrent_processes_add_remove_and_gc"]
fn child_worker() {
    let (Some(root), Some(id)) = (
        std::env::var_os("BERTH_TEST_ROOT"),
        std::env::var("BERTH_TEST_WORKER").ok(),
    ) else {
        return;
    };
    let store = Store::open(std::path::Path::new(&root)).unwrap();
    for i in 0..10 {
        let name = format!("p{id}-img{i}");
        simple_image(&store, &name, &[&name, "shared"]).unwrap();
        simple_image(&store, "common", &[&format!("common-{id}")]).unwrap();
        if i % 2 == 1 {
            store.remove_image(&name, false).unwrap();
        }
        if i % 4 == 0 {
            store.gc().unwrap();
        }
        if i == 5 {
            store.check(false).unwrap();
        }
    }
}

#[test]
fn concurrent_processes_add_remove_and_gc() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    Store::open(&root).unwrap();
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..3)
        .map(|i| {
            std::process::Command::new(&exe)
                .args(["--exact", "child_worker", "--ignored", "--test-threads=1"])
                .env("BERTH_TEST_ROOT", &root)
                .env("BERTH_TEST_WORKER", i.to_string())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "child failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("1 passed"));
    }
    let store = Store::open(&root).unwrap();
    let report = store.check(false).unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    for id in 0..3 {
        for i in (0..10).step_by(2) {
            store.lookup_image(&format!("p{id}-img{i}")).unwrap();
        }
        assert!(store.lookup_image(&format!("p{id}-img1")).is_err());
    }
    let common = store.lookup_image("common-0").unwrap();
    assert_eq!(store.lookup_image("common-2").unwrap().id, common.id);
    store.gc().unwrap();
    assert!(store.check(false).unwrap().problems.is_empty());
}

#[test]
fn fresh_root_opened_at_once_by_many() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let threads: Vec<_> = (0..4)
        .map(|i| {
            let root = root.clone();
            std::thread::spawn(move || {
                let store = Store::open(&root).unwrap();
                simple_image(&store, &format!("x{i}"), &[&format!("x{i}")]).unwrap();
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let store = Store::open(&root).unwrap();
    assert_eq!(store.list_images().unwrap().len(), 4);
}

/// A store whose names were written by the code before names were typed (plain text rows in
/// `names`, as that code's `INSERT INTO names` wrote them) loads: each name is a reference that
/// prints as its row's text, in the same order.
#[test]
fn names_written_as_text_load_as_references() {
    let (_dir, store) = store();
    let a = simple_image(&store, "a", &[]).unwrap();
    let digest = format!("sha256:{}", "ab".repeat(32));
    // In the order of their text, as the store lists them.
    let rows = [
        "docker.io/library/busybox:1.36".to_string(),
        "localhost/one:latest".to_string(),
        format!("localhost:5000/team/app@{digest}"),
        "quay.io/x/y:v1".to_string(),
    ];
    let conn = berth_image_store::db::open(&store.root().join(berth_image_store::layout::DATABASE))
        .unwrap();
    for n in &rows {
        conn.execute(
            "INSERT INTO names (name, image_id) VALUES (?1, ?2)",
            rusqlite::params![n, a.id.to_string()],
        )
        .unwrap();
    }
    let a = store.lookup_image(a.id.as_ref()).unwrap();
    assert_eq!(a.names, rows);
    assert_eq!(a.name_texts(), rows);
    assert_eq!(a.names[2].digest().map(ToString::to_string), Some(digest));
    assert_eq!(a.names[0].repository(), "library/busybox");
    assert_eq!(
        serde_json::to_value(&a.names).unwrap(),
        serde_json::json!(rows)
    );
    assert_eq!(store.lookup_image("busybox:1.36").unwrap().id, a.id);
}
