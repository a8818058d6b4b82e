//! Image commands end to end: import, images, tag, untag, rmi, inspect, history, mount.

use std::process::Command;

use serde_json::Value;

use crate::util::TestEnv;

#[test]
fn import_list_inspect_and_history() {
    let env = TestEnv::new();
    let tar = env.busybox_tar();
    let id = env
        .ok(&[
            "import",
            tar.to_str().unwrap(),
            "busybox",
            "--change",
            "CMD [\"/bin/sh\"]",
            "--change",
            "ENV GREETING=hello",
            "--change",
            "LABEL org.example.kind=test",
            "--message",
            "base image",
        ])
        .trim()
        .to_string();
    assert_eq!(id.len(), 64, "import prints the full image id: {id}");

    let table = env.ok(&["images"]);
    let mut lines = table.lines();
    let header = lines.next().unwrap();
    for col in ["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"] {
        assert!(header.contains(col), "header {header:?} lacks {col}");
    }
    let row = lines.next().expect("one image row");
    assert!(row.starts_with("localhost/busybox"), "{row}");
    assert!(row.contains("latest") && row.contains(&id[..12]), "{row}");

    assert_eq!(env.ok(&["images", "-q"]).trim(), &id[..12]);
    let json: Value = serde_json::from_str(&env.ok(&["images", "--format", "json"])).unwrap();
    assert_eq!(json[0]["Id"], id.as_str());
    assert_eq!(json[0]["Names"][0], "localhost/busybox:latest");

    let inspect: Value = serde_json::from_str(&env.ok(&["image", "inspect", "busybox"])).unwrap();
    let img = &inspect[0];
    assert_eq!(img["Id"], id.as_str());
    assert_eq!(img["Config"]["Cmd"][0], "/bin/sh");
    assert!(img["Config"]["Env"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e == "GREETING=hello"));
    assert_eq!(img["Labels"]["org.example.kind"], "test");
    assert_eq!(img["RootFS"]["Layers"].as_array().unwrap().len(), 1);
    assert_eq!(img["Os"], "linux");
    let digest = img["Digest"].as_str().unwrap().to_string();
    assert!(digest.starts_with("sha256:"));

    let history = env.ok(&["image", "history", "busybox"]);
    assert!(
        history.lines().next().unwrap().contains("CREATED BY"),
        "{history}"
    );
    assert!(history.contains("base image"), "{history}");

    // The same image by id prefix, full id and manifest digest.
    for r in [&id[..8], id.as_str(), digest.as_str()] {
        let v: Value = serde_json::from_str(&env.ok(&["inspect", r])).unwrap();
        assert_eq!(v[0]["Id"], id.as_str(), "lookup by {r}");
    }
    env.assert_check_clean();
}

#[test]
fn tag_untag_and_rmi_follow_podman() {
    let env = TestEnv::new();
    let id = env.import_busybox("one");
    env.ok(&["tag", "one", "two", "example.com/team/three:v1"]);
    let names: Value = serde_json::from_str(&env.ok(&["images", "--format", "json"])).unwrap();
    let mut got: Vec<String> = names[0]["Names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            "example.com/team/three:v1",
            "localhost/one:latest",
            "localhost/two:latest"
        ]
    );

    env.ok(&["untag", "one", "example.com/team/three:v1"]);
    // rmi of one name of a multi-name image only untags it.
    let out = env.ok(&["rmi", "two"]);
    assert_eq!(out.trim(), "Untagged: localhost/two:latest");
    // Now the last name: the image goes.
    let out = env.ok(&["rmi", "one"]);
    assert!(out.contains("Untagged: localhost/one:latest"), "{out}");
    assert!(out.contains(&format!("Deleted: {id}")), "{out}");
    assert_eq!(env.ok(&["images", "-q"]).trim(), "");

    // Unknown image: exit 1 (as podman rmi), one line naming it.
    let err = env.fails(&["rmi", "nosuch"], 1);
    assert!(err.contains("nosuch"), "{err}");
    env.assert_check_clean();
}

#[test]
fn errors_are_one_line_with_exit_125() {
    let env = TestEnv::new();
    let err = env.fails(&["image", "inspect", "missing-image"], 125);
    assert!(
        err.starts_with("Error: ") && err.contains("missing-image"),
        "{err}"
    );
    let err = env.fails(&["tag", "missing-image", "x"], 125);
    assert!(err.contains("missing-image"), "{err}");
    let err = env.fails(&["import", "/nonexistent/rootfs.tar"], 125);
    assert!(err.contains("/nonexistent/rootfs.tar"), "{err}");
    env.import_busybox("ok");
    let err = env.fails(&["tag", "ok", "Bad:Name:x"], 125);
    assert!(err.contains("Bad:Name:x"), "{err}");
}

#[test]
fn image_mount_shows_the_rootfs_and_it_runs() {
    let env = TestEnv::new();
    env.import_busybox("busybox");
    let mnt = env.ok(&["image", "mount", "busybox"]).trim().to_string();
    let path = std::path::Path::new(&mnt);
    assert!(
        path.join("bin/busybox").is_file(),
        "{mnt} lacks bin/busybox"
    );
    assert!(path
        .join("bin/sh")
        .symlink_metadata()
        .unwrap()
        .file_type()
        .is_symlink());
    let out = Command::new("chroot")
        .arg(&mnt)
        .args([
            "/bin/sh",
            "-c",
            "echo hello from $(cat /etc/passwd | head -1 | cut -d: -f1)",
        ])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "hello from root"
    );
    let listed = env.ok(&["image", "mount"]);
    assert!(listed.contains(&mnt), "{listed}");
    // A mounted image is in use.
    let err = env.fails(&["rmi", "busybox"], 2);
    assert!(err.contains("busybox") || err.contains("mount"), "{err}");
    env.ok(&["image", "unmount", "busybox"]);
    assert!(
        !path.join("bin/busybox").exists(),
        "still mounted after unmount"
    );
    env.ok(&["rmi", "busybox"]);
    env.assert_check_clean();
}

#[test]
fn import_of_a_directory_keeps_the_tree() {
    use std::os::unix::fs::{symlink, PermissionsExt};
    let env = TestEnv::new();
    let src = env.path("tree");
    std::fs::create_dir_all(src.join("usr/bin")).unwrap();
    std::fs::write(src.join("usr/bin/tool"), b"#!/bin/sh\necho tool\n").unwrap();
    std::fs::set_permissions(
        src.join("usr/bin/tool"),
        std::fs::Permissions::from_mode(0o4755),
    )
    .unwrap();
    std::fs::write(src.join("data"), vec![7u8; 300_000]).unwrap();
    std::fs::hard_link(src.join("data"), src.join("data-link")).unwrap();
    symlink("usr/bin/tool", src.join("tool-link")).unwrap();
    let long = "a".repeat(120);
    std::fs::write(src.join(&long), b"long name").unwrap();
    for codec in ["gzip", "zstd", "none"] {
        let name = format!("tree-{codec}");
        env.ok(&[
            "import",
            "--compression-format",
            codec,
            src.to_str().unwrap(),
            &name,
        ]);
        let mnt = env.ok(&["image", "mount", &name]);
        assert_eq!(
            crate::util::tree_summary(std::path::Path::new(mnt.trim())),
            crate::util::tree_summary(&src),
            "{codec}"
        );
        env.ok(&["image", "unmount", &name]);
    }
    env.assert_check_clean();
}

#[test]
fn usage_errors_exit_125_as_podman_and_help_exits_0() {
    let env = TestEnv::new();
    for args in [
        &["run", "--no-such-flag", "img"][..],
        &["no-such-command"],
        &["run"],
        &["image", "ls", "--bogus"],
    ] {
        let out = env.run(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(125), "{args:?}: {err}");
        assert!(err.starts_with("Error: "), "{args:?}: {err}");
    }
    assert!(env.ok(&["--help"]).contains("Usage: berth"));
    assert!(env.ok(&["run", "--help"]).contains("Usage: berth run"));
    assert!(env.ok(&["--version"]).starts_with("berth "));
}

/// `images --noheading` prints the table's rows exactly as under the header (aligned), as
/// Podman.
#[test]
fn images_noheading_rows_are_aligned_as_in_the_table() {
    let env = TestEnv::new();
    env.import_busybox("busybox");
    env.ok(&[
        "tag",
        "busybox",
        "localhost/a-much-longer-repository-name:v1",
    ]);
    let table = env.ok(&["images"]);
    let body: Vec<&str> = table.lines().skip(1).collect();
    let bare = env.ok(&["images", "--noheading"]);
    assert_eq!(bare.lines().collect::<Vec<_>>(), body, "{table}\n{bare}");
    let at = |line: &str| line.find("latest").or_else(|| line.find("v1"));
    assert_eq!(at(body[0]), at(body[1]), "TAG column aligned: {bare}");
}

/// `image inspect` shows the config's HEALTHCHECK as Podman 4.3 does: a top-level
/// `Healthcheck` with the test and the durations in nanoseconds, zero values left out.
#[test]
fn image_inspect_shows_the_healthcheck() {
    let env = TestEnv::new();
    env.import_busybox("busybox");
    let ctx = env.path("ctx");
    std::fs::create_dir(&ctx).unwrap();
    std::fs::write(
        ctx.join("Containerfile"),
        "FROM busybox\nHEALTHCHECK --interval=5s --timeout=3s CMD true\n",
    )
    .unwrap();
    for format in ["docker", "oci"] {
        env.ok(&[
            "build",
            "-q",
            "--format",
            format,
            "-t",
            "hc",
            ctx.to_str().unwrap(),
        ]);
        let v: Value = serde_json::from_str(&env.ok(&["image", "inspect", "hc"])).unwrap();
        assert_eq!(
            v[0]["Healthcheck"],
            serde_json::json!({
                "Test": ["CMD-SHELL", "true"],
                "Interval": 5_000_000_000u64,
                "Timeout": 3_000_000_000u64,
            }),
            "{format}: {v}"
        );
    }
    let v: Value = serde_json::from_str(&env.ok(&["image", "inspect", "busybox"])).unwrap();
    assert!(v[0].get("Healthcheck").is_none(), "{v}");
}

/// `images`, `history` and `image inspect` show the uncompressed size, as Podman: the layer
/// tar's own length (here the imported tarball, kept byte for byte), not the gzip blob's.
#[test]
fn sizes_are_uncompressed_as_podman() {
    let env = TestEnv::new();
    env.import_busybox("busybox");
    let tar_len = std::fs::metadata(env.busybox_tar()).unwrap().len();
    let history: serde_json::Value =
        serde_json::from_str(&env.ok(&["history", "--format", "json", "busybox"])).unwrap();
    assert_eq!(history[0]["size"].as_u64(), Some(tar_len), "{history}");
    let list: serde_json::Value =
        serde_json::from_str(&env.ok(&["images", "--format", "json"])).unwrap();
    let size = list[0]["Size"].as_u64().unwrap();
    // The tar, plus a manifest and a config of a few hundred bytes.
    assert!(
        size > tar_len && size < tar_len + 4096,
        "{size} vs {tar_len}"
    );
    let inspect: serde_json::Value =
        serde_json::from_str(&env.ok(&["image", "inspect", "busybox"])).unwrap();
    assert_eq!(inspect[0]["Size"].as_u64(), Some(size));
    // After the layer is unpacked (its size recorded then), the same.
    env.ok(&["image", "mount", "busybox"]);
    env.ok(&["image", "unmount", "busybox"]);
    let table = env.ok(&["images"]);
    let shown = format!("{:.2} MB", size as f64 / 1e6);
    assert!(table.contains(&shown), "{table} lacks {shown}");
}

/// `image build|push|pull` are the top-level commands under Podman's `image` group: a build
/// through `image build`, pushed with `image push`, pulled into another store with
/// `image pull` keeps its id.
#[test]
fn image_group_builds_pushes_and_pulls_as_the_top_level_commands() {
    use crate::registry_harness::{ok, Registry};
    let reg = Registry::start();
    let first = crate::util::TestEnv::new();
    first.import_busybox("busybox");
    let ctx = first.path("ctx");
    std::fs::create_dir(&ctx).unwrap();
    std::fs::write(
        ctx.join("Containerfile"),
        "FROM busybox\nRUN echo grouped > /g\n",
    )
    .unwrap();
    let built = ok(
        &first,
        &[
            "image",
            "build",
            "-q",
            "-t",
            "grouped",
            ctx.to_str().unwrap(),
        ],
    );
    let remote = reg.image("imggroup/grouped:1");
    ok(
        &first,
        &["image", "push", "--tls-verify=false", "grouped", &remote],
    );
    let second = crate::util::TestEnv::new();
    ok(&second, &["image", "pull", "--tls-verify=false", &remote]);
    let id = ok(&second, &["images", "-q", "--no-trunc", &remote]);
    assert_eq!(
        id.trim().trim_start_matches("sha256:"),
        built.trim(),
        "image build's id, pulled back"
    );
}
