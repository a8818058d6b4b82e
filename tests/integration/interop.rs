//! Interop with Debian's skopeo, podman and umoci: archives berth writes are read by them, and
//! archives they write load into berth.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::util::{require_tool, run_tool, tree_summary, TestEnv};

/// podman on a private store inside the test dir, touching nothing of the host's.
fn podman(env: &TestEnv) -> Command {
    let mut cmd = Command::new(require_tool("podman"));
    cmd.arg("--root")
        .arg(env.path("podman-root"))
        .arg("--runroot")
        .arg(env.path("podman-run"))
        .args(["--storage-driver", "vfs", "--events-backend", "none"])
        .args(["--cgroup-manager", "cgroupfs"]);
    cmd
}

#[test]
fn skopeo_reads_berth_archives() {
    let env = TestEnv::new();
    let id = env.import_busybox("busybox");
    let inspect: Value = serde_json::from_str(&env.ok(&["inspect", "busybox"])).unwrap();
    let layers = inspect[0]["RootFS"]["Layers"].clone();
    for (format, transport) in [
        ("oci-archive", "oci-archive"),
        ("docker-archive", "docker-archive"),
    ] {
        let file = env.path(&format!("{format}.tar"));
        env.ok(&[
            "save",
            "--format",
            format,
            "-o",
            file.to_str().unwrap(),
            "busybox",
        ]);
        let raw = run_tool(
            Command::new(require_tool("skopeo"))
                .args(["inspect", "--config"])
                .arg(format!("{transport}:{}", file.display())),
        );
        let config: Value = serde_json::from_str(&raw).unwrap();
        assert_eq!(config["rootfs"]["diff_ids"], layers, "{format}");
        if format == "oci-archive" {
            // The config is byte-identical: skopeo computes the same image id.
            let raw = run_tool(
                Command::new(require_tool("skopeo"))
                    .args(["inspect", "--raw", "--config"])
                    .arg(format!("{transport}:{}", file.display())),
            );
            use sha2::Digest as _;
            assert_eq!(hex::encode(sha2::Sha256::digest(raw.as_bytes())), id);
        }
    }
}

#[test]
fn podman_loads_berth_archives_and_berth_loads_podman_archives() {
    let env = TestEnv::new();
    let id = env.import_busybox("busybox");
    let file = env.path("berth.tar");
    env.ok(&["save", "-o", file.to_str().unwrap(), "busybox"]);
    let out = run_tool(podman(&env).args(["load", "-i"]).arg(&file));
    assert!(out.contains("busybox"), "{out}");
    let listed = run_tool(podman(&env).args(["images", "--format", "{{.ID}} {{.Repository}}"]));
    assert!(
        listed.contains(&id[..12]),
        "podman sees the same image id: {listed}"
    );

    // podman → berth, both archive formats.
    let tar = env.busybox_tar();
    run_tool(
        podman(&env)
            .arg("import")
            .arg(&tar)
            .arg("localhost/from-podman:1"),
    );
    for format in ["docker-archive", "oci-archive"] {
        let out = env.path(&format!("podman-{format}.tar"));
        run_tool(
            podman(&env)
                .args(["save", "--format", format, "-o"])
                .arg(&out)
                .arg("localhost/from-podman:1"),
        );
        let other = TestEnv::new();
        let loaded = other.ok(&["load", "-i", out.to_str().unwrap()]);
        assert!(loaded.contains("Loaded image:"), "{format}: {loaded}");
        let mnt = other.ok(&["image", "mount", "from-podman:1"]);
        assert!(
            Path::new(mnt.trim()).join("bin/busybox").is_file(),
            "{format}"
        );
        other.ok(&["image", "unmount", "--all"]);
        other.assert_check_clean();
    }
    crate::util::unmount_under(env.dir.path());
}

#[test]
fn umoci_unpacks_the_same_tree_as_berth() {
    let env = TestEnv::new();
    env.import_busybox("busybox");
    let layout = env.path("layout");
    env.ok(&[
        "save",
        "--format",
        "oci-dir",
        "-o",
        layout.to_str().unwrap(),
        "busybox",
    ]);
    let index: Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    let tag = index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"]
        .as_str()
        .expect("the layout names its image")
        .to_string();
    let bundle = env.path("bundle");
    run_tool(
        Command::new(require_tool("umoci"))
            .args(["unpack", "--image"])
            .arg(format!("{}:{tag}", layout.display()))
            .arg(&bundle),
    );
    let mnt = env.ok(&["image", "mount", "busybox"]);
    let ours = tree_summary(Path::new(mnt.trim()));
    let theirs = tree_summary(&bundle.join("rootfs"));
    assert_eq!(ours, theirs);
    env.ok(&["image", "unmount", "busybox"]);
}
