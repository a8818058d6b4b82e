//! `berth manifest …` and `berth image inspect docker://…` against a real `docker-registry`,
//! checked with Debian's skopeo: a list of a local and a registry image pushed, read back,
//! pulled by architecture; remote inspection equal to skopeo's; bad input as one line.

use std::process::Command;

use serde_json::Value;
use sha2::{Digest as _, Sha256};

use crate::registry_harness::{berth, fails, isolate, ok, Registry};
use crate::util::{require_tool, run_tool, TestEnv};

const TLS: &str = "--tls-verify=false";

fn skopeo(env: &TestEnv) -> Command {
    let mut cmd = Command::new(require_tool("skopeo"));
    isolate(env, &mut cmd);
    cmd.env_remove("REGISTRY_AUTH_FILE");
    cmd
}

fn skopeo_raw(env: &TestEnv, reference: &str) -> Vec<u8> {
    let out = skopeo(env)
        .args(["inspect", "--raw", TLS, reference])
        .output()
        .expect("run skopeo");
    assert!(
        out.status.success(),
        "skopeo inspect --raw {reference}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// `(Digest, Id)` of a local image, from `berth image inspect`.
fn local_digest_and_id(env: &TestEnv, name: &str) -> (String, String) {
    let v: Value = serde_json::from_str(&ok(env, &["image", "inspect", name])).unwrap();
    (
        v[0]["Digest"].as_str().unwrap().to_string(),
        v[0]["Id"].as_str().unwrap().to_string(),
    )
}

/// A second busybox image, different from the first by a label.
fn import_labelled(env: &TestEnv, name: &str) -> String {
    let tar = env.busybox_tar();
    ok(
        env,
        &[
            "import",
            "-c",
            "LABEL flavour=arm",
            tar.to_str().unwrap(),
            name,
        ],
    )
    .trim()
    .to_string()
}

#[test]
fn list_of_a_local_and_a_registry_image_is_pushed_and_pulled_by_arch() {
    let reg = Registry::start();
    let env = TestEnv::new();
    let amd_id = env.import_busybox("localhost/amd:1");
    let arm_id = import_labelled(&env, "localhost/arm:1");
    let (amd_digest, _) = local_digest_and_id(&env, "localhost/amd:1");
    let (arm_digest, _) = local_digest_and_id(&env, "localhost/arm:1");
    // One instance comes from another repository of the registry, one from the store.
    let amd_remote = format!("docker://{}", reg.image("src/amd:1"));
    ok(&env, &["push", "-q", TLS, "localhost/amd:1", &amd_remote]);

    let id = ok(&env, &["manifest", "create", "localhost/ml"]);
    assert_eq!(id.trim().len(), 64, "{id}");
    assert_eq!(
        ok(
            &env,
            &["manifest", "add", TLS, "--arch", "amd64", "ml", &amd_remote]
        ),
        id
    );
    ok(
        &env,
        &[
            "manifest",
            "add",
            "--arch",
            "arm64",
            "--variant",
            "v8",
            "--annotation",
            "org.example.flavour=arm",
            "ml",
            "localhost/arm:1",
        ],
    );
    let local: Value = serde_json::from_str(&ok(&env, &["manifest", "inspect", "ml"])).unwrap();
    assert_eq!(
        local["mediaType"],
        "application/vnd.oci.image.index.v1+json"
    );
    let entries = local["manifests"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "{local}");
    assert_eq!(entries[1]["annotations"]["org.example.flavour"], "arm");
    // A list is not an image.
    let images = ok(&env, &["images", "--format", "json"]);
    assert!(!images.contains("localhost/ml"), "{images}");

    let list_ref = reg.image("multi/list:1");
    let digestfile = env.path("list-digest");
    ok(
        &env,
        &[
            "manifest",
            "push",
            "-q",
            TLS,
            "--digestfile",
            digestfile.to_str().unwrap(),
            "ml",
            &format!("docker://{list_ref}"),
        ],
    );
    let raw = skopeo_raw(&env, &format!("docker://{list_ref}"));
    let pushed = std::fs::read_to_string(&digestfile).unwrap();
    assert_eq!(sha256(&raw), pushed.trim());
    let index: Value = serde_json::from_slice(&raw).unwrap();
    assert_eq!(
        index["mediaType"],
        "application/vnd.oci.image.index.v1+json"
    );
    let digests: Vec<&str> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["digest"].as_str().unwrap())
        .collect();
    assert_eq!(digests, vec![amd_digest.as_str(), arm_digest.as_str()]);
    assert_eq!(index["manifests"][1]["platform"]["architecture"], "arm64");
    assert_eq!(index["manifests"][1]["platform"]["variant"], "v8");
    // Both instances are in the list's repository (the registry instance was copied across).
    for d in &digests {
        skopeo_raw(&env, &format!("docker://{}@{d}", reg.image("multi/list")));
    }

    // Pull picks by architecture; a fresh store gets exactly the chosen image.
    let other = TestEnv::new();
    let arm_pulled = ok(&other, &["pull", "-q", TLS, "--arch", "arm64", &list_ref]);
    assert_eq!(arm_pulled.trim(), arm_id.trim_start_matches("sha256:"));
    let amd_pulled = ok(&other, &["pull", "-q", TLS, "--arch", "amd64", &list_ref]);
    assert_eq!(amd_pulled.trim(), amd_id.trim_start_matches("sha256:"));

    // Remote inspection of the list picks the platform too; Digest is the list's.
    let v: Value = serde_json::from_str(&ok(
        &env,
        &[
            "image",
            "inspect",
            TLS,
            "--arch",
            "arm64",
            &format!("docker://{list_ref}"),
        ],
    ))
    .unwrap();
    assert_eq!(v["Digest"], pushed.trim());
    let arm_local: Value =
        serde_json::from_str(&ok(&env, &["image", "inspect", "localhost/arm:1"])).unwrap();
    assert_eq!(
        v["Architecture"], arm_local[0]["Architecture"],
        "from the config: {v}"
    );
    assert_eq!(v["Labels"]["flavour"], "arm");
    // And `manifest inspect docker://` shows the index.
    let remote: Value = serde_json::from_str(&ok(
        &env,
        &["manifest", "inspect", TLS, &format!("docker://{list_ref}")],
    ))
    .unwrap();
    assert_eq!(remote["manifests"].as_array().unwrap().len(), 2);

    // --all takes every instance of a registry list; annotate and remove find instances by
    // digest or by the image they came from; push --rm deletes the local list.
    ok(
        &env,
        &[
            "manifest",
            "create",
            "--all",
            TLS,
            "copy",
            &format!("docker://{list_ref}"),
        ],
    );
    let copy: Value = serde_json::from_str(&ok(&env, &["manifest", "inspect", "copy"])).unwrap();
    assert_eq!(copy["manifests"].as_array().unwrap().len(), 2, "{copy}");
    assert_eq!(copy["manifests"][1]["platform"]["variant"], "v8");
    let out = ok(
        &env,
        &[
            "manifest",
            "annotate",
            "--os-version",
            "1.0",
            "ml",
            "localhost/arm:1",
        ],
    );
    assert!(out.trim().ends_with(&arm_digest), "{out}");
    let out = ok(&env, &["manifest", "remove", "copy", &amd_digest]);
    assert!(out.contains(&amd_digest), "{out}");
    let copy: Value = serde_json::from_str(&ok(&env, &["manifest", "inspect", "copy"])).unwrap();
    assert_eq!(copy["manifests"].as_array().unwrap().len(), 1, "{copy}");
    let only_arm = format!("docker://{}", reg.image("multi/arm:1"));
    ok(
        &env,
        &["manifest", "push", "-q", "--rm", TLS, "copy", &only_arm],
    );
    let status = berth(&env, &["manifest", "exists", "copy"])
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(1));
    let arm_only: Value = serde_json::from_slice(&skopeo_raw(&env, &only_arm)).unwrap();
    assert_eq!(arm_only["manifests"][0]["digest"], arm_digest.as_str());

    let rm = ok(&env, &["manifest", "rm", "ml"]);
    assert!(rm.contains("localhost/ml:latest"), "{rm}");
    let status = berth(&env, &["manifest", "exists", "ml"]).status().unwrap();
    assert_eq!(status.code(), Some(1));
    env.assert_check_clean();
    other.assert_check_clean();
}

#[test]
fn docker_v2s2_instances_make_a_docker_list() {
    let reg = Registry::start();
    let env = TestEnv::new();
    env.import_busybox("localhost/bb:1");
    let v2s2 = format!("docker://{}", reg.image("v2/bb:1"));
    let oci = format!("docker://{}", reg.image("oci/bb:1"));
    ok(&env, &["push", "-q", TLS, "localhost/bb:1", &oci]);
    run_tool(skopeo(&env).args([
        "copy",
        "--src-tls-verify=false",
        "--dest-tls-verify=false",
        "--format",
        "v2s2",
        &oci,
        &v2s2,
    ]));
    ok(&env, &["manifest", "create", "dl", &v2s2, TLS]);
    let list_ref = format!("docker://{}", reg.image("v2/list:1"));
    ok(&env, &["manifest", "push", "-q", TLS, "dl", &list_ref]);
    let index: Value = serde_json::from_slice(&skopeo_raw(&env, &list_ref)).unwrap();
    assert_eq!(
        index["mediaType"],
        "application/vnd.docker.distribution.manifest.list.v2+json"
    );
    assert_eq!(
        index["manifests"][0]["mediaType"],
        "application/vnd.docker.distribution.manifest.v2+json"
    );
}

#[test]
fn remote_inspect_matches_skopeo() {
    let reg = Registry::start();
    let env = TestEnv::new();
    env.import_busybox("localhost/bb:1");
    let (digest, id) = local_digest_and_id(&env, "localhost/bb:1");
    let reference = format!("docker://{}", reg.image("i/bb:1"));
    ok(&env, &["push", "-q", TLS, "localhost/bb:1", &reference]);

    let ours: Value =
        serde_json::from_str(&ok(&env, &["image", "inspect", TLS, &reference])).unwrap();
    let out = skopeo(&env)
        .args(["inspect", TLS, &reference])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(ours["Digest"], digest);
    for key in [
        "Name",
        "Digest",
        "RepoTags",
        "Created",
        "Architecture",
        "Os",
        "Layers",
        "Env",
        "Labels",
    ] {
        assert_eq!(ours[key], theirs[key], "{key}: {ours} vs {theirs}");
    }
    assert_eq!(ours["Name"], reg.image("i/bb"));
    assert_eq!(ours["RepoTags"], serde_json::json!(["1"]));
    assert_eq!(ours["LayersData"][0]["Digest"], ours["Layers"][0]);

    let raw = berth(&env, &["image", "inspect", "--raw", TLS, &reference])
        .output()
        .unwrap();
    assert!(raw.status.success());
    assert_eq!(raw.stdout, skopeo_raw(&env, &reference));
    assert_eq!(sha256(&raw.stdout), digest);

    let config = berth(
        &env,
        &["image", "inspect", "--config", "--raw", TLS, &reference],
    )
    .output()
    .unwrap();
    assert!(config.status.success());
    assert_eq!(
        sha256(&config.stdout).trim_start_matches("sha256:"),
        id.trim_start_matches("sha256:")
    );
    let pretty: Value = serde_json::from_str(&ok(
        &env,
        &["image", "inspect", "--config", TLS, &reference],
    ))
    .unwrap();
    assert_eq!(pretty["rootfs"]["type"], "layers");

    let no_tags: Value = serde_json::from_str(&ok(
        &env,
        &["image", "inspect", "--no-tags", TLS, &reference],
    ))
    .unwrap();
    assert_eq!(no_tags["RepoTags"], serde_json::json!([]));

    let missing = format!("docker://{}", reg.image("i/bb:nope"));
    let line = fails(&env, &["image", "inspect", TLS, &missing]);
    assert!(line.contains(&reg.image("i/bb:nope")), "{line}");
    assert!(line.contains("manifest unknown"), "{line}");
}

#[test]
fn bad_manifest_input_is_one_line() {
    let reg = Registry::start();
    let env = TestEnv::new();
    env.import_busybox("localhost/bb:1");
    ok(&env, &["manifest", "create", "ml", "localhost/bb:1"]);

    let line = fails(&env, &["manifest", "create", "ml"]);
    assert!(
        line.contains("localhost/ml:latest: already exists"),
        "{line}"
    );
    let line = fails(&env, &["manifest", "create", "localhost/bb:1"]);
    assert!(line.contains("already exists"), "{line}");

    let line = fails(&env, &["manifest", "add", "ml", "localhost/nosuch:1"]);
    assert!(
        line.contains("localhost/nosuch:1") && line.contains("not in the store"),
        "{line}"
    );
    let missing = format!("docker://{}", reg.image("x/nosuch:1"));
    let line = fails(&env, &["manifest", "add", TLS, "ml", &missing]);
    assert!(line.contains(&reg.image("x/nosuch:1")), "{line}");

    let absent = format!("sha256:{}", "c".repeat(64));
    let line = fails(
        &env,
        &["manifest", "annotate", "--arch", "arm64", "ml", &absent],
    );
    assert!(
        line.contains(&absent) && line.contains("is not in the list") && line.contains("ml"),
        "{line}"
    );
    let line = fails(&env, &["manifest", "inspect", "nolist"]);
    assert!(line.contains("manifest list nolist: not found"), "{line}");
    let line = fails(&env, &["manifest", "rm", "nolist"]);
    assert!(line.contains("nolist"), "{line}");
    ok(&env, &["manifest", "rm", "--ignore", "nolist"]);
    let line = fails(
        &env,
        &[
            "manifest",
            "add",
            "--annotation",
            "novalue",
            "ml",
            "localhost/bb:1",
        ],
    );
    assert!(line.contains("KEY=VALUE"), "{line}");

    // A local instance removed from the store before the push is named.
    ok(&env, &["rmi", "localhost/bb:1"]);
    let dest = format!("docker://{}", reg.image("x/list:1"));
    let line = fails(&env, &["manifest", "push", "-q", TLS, "ml", &dest]);
    assert!(line.contains("no longer in the store"), "{line}");
    env.assert_check_clean();
}

#[test]
fn credentials_reach_inspect_add_and_push() {
    let reg = Registry::start_with_auth("alice", "s3cret");
    let env = TestEnv::new();
    env.import_busybox("localhost/bb:1");
    let creds = "--creds=alice:s3cret";
    let src = format!("docker://{}", reg.image("auth/bb:1"));
    ok(&env, &["push", "-q", TLS, creds, "localhost/bb:1", &src]);

    let line = fails(&env, &["image", "inspect", TLS, &src]);
    assert!(line.contains("requires credentials"), "{line}");
    let v: Value =
        serde_json::from_str(&ok(&env, &["image", "inspect", TLS, creds, &src])).unwrap();
    assert_eq!(v["RepoTags"], serde_json::json!(["1"]));

    ok(&env, &["manifest", "create", "al"]);
    ok(&env, &["manifest", "add", TLS, creds, "al", &src]);
    let dest = format!("docker://{}", reg.image("auth/list:1"));
    let line = fails(&env, &["manifest", "push", "-q", TLS, "al", &dest]);
    assert!(line.contains("requires credentials"), "{line}");
    ok(&env, &["manifest", "push", "-q", TLS, creds, "al", &dest]);
    let v: Value =
        serde_json::from_str(&ok(&env, &["manifest", "inspect", TLS, creds, &dest])).unwrap();
    assert_eq!(v["manifests"][0]["digest"], {
        let v: Value =
            serde_json::from_str(&ok(&env, &["image", "inspect", "localhost/bb:1"])).unwrap();
        v[0]["Digest"].clone()
    });
}
