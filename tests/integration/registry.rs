//! Registry commands against a real `docker-registry` started by the test: push and pull
//! round trips, interop with skopeo and podman, login/logout with htpasswd auth, and bad
//! input (dead registry, missing tag, rejecting policy, wrong credentials).

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use serde_json::Value;

use crate::registry_harness::{berth, blob_count, fails, free_port, isolate, ok, Registry};
use crate::util::{require_tool, run_tool, TestEnv};

/// The `Digest` and `Id` of an image, from `berth images --format json`.
fn digest_and_id(env: &TestEnv, name: &str) -> (String, String) {
    let list: Value = serde_json::from_str(&ok(env, &["images", "--format", "json"])).unwrap();
    for img in list.as_array().unwrap() {
        let names: Vec<&str> = img["Names"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        if names.contains(&name) {
            return (
                img["Digest"].as_str().unwrap().to_string(),
                img["Id"].as_str().unwrap().to_string(),
            );
        }
    }
    panic!("{name} not in {list}");
}

fn podman(env: &TestEnv) -> Command {
    let mut cmd = Command::new(require_tool("podman"));
    isolate(env, &mut cmd);
    cmd.env_remove("REGISTRY_AUTH_FILE");
    cmd.arg("--root")
        .arg(env.path("podman-root"))
        .arg("--runroot")
        .arg(env.path("podman-run"))
        .args(["--storage-driver", "vfs", "--events-backend", "none"])
        .args(["--cgroup-manager", "cgroupfs"]);
    cmd
}

fn skopeo(env: &TestEnv) -> Command {
    let mut cmd = Command::new(require_tool("skopeo"));
    isolate(env, &mut cmd);
    cmd.env_remove("REGISTRY_AUTH_FILE");
    cmd
}

#[test]
fn push_then_pull_gives_the_same_image_and_digest() {
    let reg = Registry::start();
    let env = TestEnv::new();
    let id = env.import_busybox("busybox");
    let dest = reg.image("berth/busybox:1");
    let digestfile = env.path("digest");
    ok(
        &env,
        &[
            "push",
            "--tls-verify=false",
            "--digestfile",
            digestfile.to_str().unwrap(),
            "busybox",
            &format!("docker://{dest}"),
        ],
    );
    let pushed = std::fs::read_to_string(&digestfile).unwrap();
    let (local_digest, _) = digest_and_id(&env, "localhost/busybox:latest");
    assert_eq!(pushed, local_digest);

    // A second push finds every blob present.
    let out = berth(&env, &["push", "--tls-verify=false", "busybox", &dest])
        .output()
        .unwrap();
    assert!(out.status.success());
    let progress = String::from_utf8_lossy(&out.stderr);
    assert!(progress.contains("skipped: already exists"), "{progress}");

    let other = TestEnv::new();
    let pulled_id = ok(&other, &["pull", "--tls-verify=false", &dest]);
    assert_eq!(pulled_id.trim(), id);
    let (digest, pulled) = digest_and_id(&other, &dest);
    assert_eq!(digest, pushed);
    assert_eq!(pulled, id);
    other.assert_check_clean();

    // --all-tags pulls every tag of the repository.
    ok(
        &env,
        &[
            "push",
            "-q",
            "--tls-verify=false",
            "busybox",
            &reg.image("berth/busybox:2"),
        ],
    );
    let all = TestEnv::new();
    let ids = ok(
        &all,
        &[
            "pull",
            "-q",
            "--all-tags",
            "--tls-verify=false",
            &reg.image("berth/busybox"),
        ],
    );
    assert_eq!(
        ids.lines().collect::<Vec<_>>(),
        vec![id.as_str(), id.as_str()]
    );
    let names = ok(&all, &["images", "--format", "json"]);
    assert!(names.contains(&reg.image("berth/busybox:2")), "{names}");

    // The catalog lists the repository.
    let found = ok(&env, &["search", "--tls-verify=false", &reg.image("busy")]);
    assert!(
        found.lines().any(|l| l == reg.image("berth/busybox")),
        "{found}"
    );
    // Nothing found: nothing printed, not even the header (as Podman).
    let none = ok(&env, &["search", "--tls-verify=false", &reg.image("zzz")]);
    assert_eq!(none, "");

    // Pulling again stores nothing new; by digest works too.
    let q = ok(&other, &["pull", "-q", "--tls-verify=false", &dest]);
    assert_eq!(q.trim(), id);
    let by_digest = format!("{}@{pushed}", reg.image("berth/busybox"));
    let third = TestEnv::new();
    assert_eq!(
        ok(&third, &["pull", "-q", "--tls-verify=false", &by_digest]).trim(),
        id
    );
    third.assert_check_clean();
}

#[test]
fn skopeo_and_podman_read_what_berth_pushed() {
    let reg = Registry::start();
    let env = TestEnv::new();
    env.import_busybox("busybox");
    let dest = reg.image("interop/busybox:latest");
    let digestfile = env.path("digest");
    ok(
        &env,
        &[
            "push",
            "-q",
            "--tls-verify=false",
            "--digestfile",
            digestfile.to_str().unwrap(),
            "busybox",
            &dest,
        ],
    );
    let digest = std::fs::read_to_string(&digestfile).unwrap();
    let inspect: Value = serde_json::from_str(&run_tool(skopeo(&env).args([
        "inspect",
        "--tls-verify=false",
        &format!("docker://{dest}"),
    ])))
    .unwrap();
    assert_eq!(inspect["Digest"].as_str(), Some(digest.as_str()));

    let layout = env.path("skopeo-oci");
    run_tool(skopeo(&env).args([
        "copy",
        "--src-tls-verify=false",
        &format!("docker://{dest}"),
        &format!("oci:{}:copied", layout.display()),
    ]));
    assert!(layout.join("index.json").exists());

    run_tool(podman(&env).args(["pull", "-q", "--tls-verify=false", &dest]));
    let listed = run_tool(podman(&env).args(["images", "--digests", "--format", "{{.Digest}}"]));
    assert!(
        listed.contains(&digest),
        "podman sees {listed}, want {digest}"
    );
}

#[test]
fn berth_pulls_what_podman_pushed() {
    let reg = Registry::start();
    let env = TestEnv::new();
    let tar = env.busybox_tar();
    run_tool(podman(&env).args(["import", "-q", tar.to_str().unwrap(), "localhost/pm:1"]));
    let dest = reg.image("from-podman/pm:1");
    let digestfile = env.path("podman-digest");
    run_tool(podman(&env).args([
        "push",
        "-q",
        "--tls-verify=false",
        "--digestfile",
        digestfile.to_str().unwrap(),
        "localhost/pm:1",
        &format!("docker://{dest}"),
    ]));
    let podman_digest = std::fs::read_to_string(&digestfile).unwrap();
    ok(&env, &["pull", "-q", "--tls-verify=false", &dest]);
    let (digest, _) = digest_and_id(&env, &dest);
    assert_eq!(digest, podman_digest.trim());
    env.assert_check_clean();
}

#[test]
fn login_logout_and_authenticated_push_pull() {
    let reg = Registry::start_with_auth("alice", "s3cret");
    let env = TestEnv::new();
    env.import_busybox("busybox");
    let dest = reg.image("private/busybox:1");

    let err = fails(&env, &["push", "--tls-verify=false", "busybox", &dest]);
    assert!(err.contains("requires credentials"), "{err}");

    let err = fails(
        &env,
        &[
            "login",
            "--tls-verify=false",
            "-u",
            "alice",
            "-p",
            "wrong",
            &reg.addr,
        ],
    );
    assert!(err.contains(&reg.addr) && err.contains("401"), "{err}");
    assert!(!env.path("auth.json").exists(), "nothing saved on failure");

    let out = ok(
        &env,
        &[
            "login",
            "--tls-verify=false",
            "-u",
            "alice",
            "-p",
            "s3cret",
            &reg.addr,
        ],
    );
    assert!(out.contains("Login Succeeded"), "{out}");
    let mode = std::fs::metadata(env.path("auth.json"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    assert_eq!(
        ok(&env, &["login", "--get-login", &reg.addr]).trim(),
        "alice"
    );

    ok(
        &env,
        &["push", "-q", "--tls-verify=false", "busybox", &dest],
    );
    let other = TestEnv::new();
    // Another store, same credentials through --creds.
    ok(
        &other,
        &[
            "pull",
            "-q",
            "--tls-verify=false",
            "--creds",
            "alice:s3cret",
            &dest,
        ],
    );
    let err = fails(
        &other,
        &[
            "pull",
            "-q",
            "--tls-verify=false",
            "--creds",
            "alice:nope",
            &dest,
        ],
    );
    assert!(err.contains("401") || err.contains("credentials"), "{err}");

    ok(&env, &["pull", "-q", "--tls-verify=false", &dest]);
    // --password-stdin, as CI scripts log in.
    let mut child = berth(
        &env,
        &[
            "login",
            "--tls-verify=false",
            "-u",
            "alice",
            "--password-stdin",
            &reg.addr,
        ],
    )
    .stdin(std::process::Stdio::piped())
    .stdout(std::process::Stdio::piped())
    .spawn()
    .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), b"s3cret\n").unwrap();
    assert!(child.wait_with_output().unwrap().status.success());
    let out = ok(&env, &["logout", &reg.addr]);
    assert!(out.contains(&reg.addr), "{out}");
    let err = fails(&env, &["logout", &reg.addr]);
    assert!(err.contains("not logged into"), "{err}");
    let err = fails(&env, &["pull", "-q", "--tls-verify=false", &dest]);
    assert!(err.contains("requires credentials"), "{err}");

    // An authfile given explicitly, then --all.
    let authfile = env.path("explicit.json");
    let af = authfile.to_str().unwrap();
    ok(
        &env,
        &[
            "login",
            "--tls-verify=false",
            "--authfile",
            af,
            "-u",
            "alice",
            "-p",
            "s3cret",
            &reg.addr,
        ],
    );
    ok(&env, &["logout", "--authfile", af, "--all"]);
    let err = fails(&env, &["login", "--get-login", "--authfile", af, &reg.addr]);
    assert!(err.contains("not logged into"), "{err}");
}

#[test]
fn dead_registry_is_one_line_naming_the_url() {
    let env = TestEnv::new();
    let addr = format!("127.0.0.1:{}", free_port());
    let err = fails(
        &env,
        &[
            "pull",
            "--tls-verify=false",
            "--retry-delay=10ms",
            &format!("{addr}/x:1"),
        ],
    );
    assert!(err.contains(&format!("http://{addr}/v2/")), "{err}");
    assert!(err.contains("Connection refused"), "{err}");
    assert_eq!(blob_count(&env), 0);
    let id = env.import_busybox("busybox");
    let err = fails(
        &env,
        &[
            "push",
            "--tls-verify=false",
            "--retry-delay=10ms",
            &id,
            &format!("{addr}/x:1"),
        ],
    );
    assert!(err.contains(&addr), "{err}");
}

/// HTTPS to a registry that answers in plain HTTP says so in Go's words, as Podman does.
#[test]
fn https_to_a_plain_http_registry_says_so() {
    let reg = Registry::start();
    let env = TestEnv::new();
    let err = fails(&env, &["pull", &reg.image("x:1")]);
    assert!(
        err.contains(&format!("https://{}/v2/", reg.addr))
            && err.contains("http: server gave HTTP response to HTTPS client"),
        "{err}"
    );
}

#[test]
fn missing_tag_names_the_reference() {
    let reg = Registry::start();
    let env = TestEnv::new();
    let want = reg.image("nothing/here:nope");
    let err = fails(&env, &["pull", "--tls-verify=false", &want]);
    assert!(
        err.contains(&want) && err.contains("manifest unknown"),
        "{err}"
    );
    assert_eq!(blob_count(&env), 0);
}

#[test]
fn rejecting_policy_stores_nothing() {
    let reg = Registry::start();
    let env = TestEnv::new();
    env.import_busybox("busybox");
    let dest = reg.image("policy/busybox:1");
    ok(
        &env,
        &["push", "-q", "--tls-verify=false", "busybox", &dest],
    );

    let other = TestEnv::new();
    let policy = other.path("policy.json");
    std::fs::write(
        &policy,
        format!(
            r#"{{"default":[{{"type":"insecureAcceptAnything"}}],
               "transports":{{"docker":{{"{}":[{{"type":"reject"}}]}}}}}}"#,
            reg.image("policy")
        ),
    )
    .unwrap();
    let p = policy.to_str().unwrap();
    let err = fails(
        &other,
        &["pull", "--tls-verify=false", "--signature-policy", p, &dest],
    );
    assert!(
        err.contains(&format!(
            "Running image docker://{dest} is rejected by policy"
        )),
        "{err}"
    );
    assert_eq!(
        blob_count(&other),
        0,
        "nothing stored before the policy check"
    );

    std::fs::write(
        &policy,
        r#"{"default":[{"type":"sigstoreSigned","keyPath":"/k.pub"}]}"#,
    )
    .unwrap();
    let err = fails(
        &other,
        &["pull", "--tls-verify=false", "--signature-policy", p, &dest],
    );
    assert!(err.contains("no signature exists"), "{err}");
    std::fs::write(&policy, r#"{"default":[],"bogus":1}"#).unwrap();
    let err = fails(
        &other,
        &["pull", "--tls-verify=false", "--signature-policy", p, &dest],
    );
    assert!(
        err.contains("policy.json") && err.contains("\"bogus\""),
        "{err}"
    );
    assert_eq!(blob_count(&other), 0);
}

#[test]
fn registries_conf_insecure_allows_plain_http_and_blocked_refuses() {
    let reg = Registry::start();
    let env = TestEnv::new();
    env.import_busybox("busybox");
    std::fs::write(
        env.path("registries.conf"),
        format!(
            "[[registry]]\nlocation = \"{}\"\ninsecure = true\n\n[[registry]]\nprefix = \"blocked.example\"\nlocation = \"{}\"\nblocked = true\n",
            reg.addr, reg.addr
        ),
    )
    .unwrap();
    let dest = reg.image("conf/busybox:1");
    ok(&env, &["push", "-q", "busybox", &dest]);
    ok(&env, &["pull", "-q", &dest]);
    let err = fails(&env, &["pull", "-q", "blocked.example/x:1"]);
    assert!(err.contains("blocked"), "{err}");
    let err = fails(&env, &["pull", "-q", "Bad/Name"]);
    assert!(err.contains("\"Bad/Name\""), "{err}");
}

#[test]
fn copy_between_registry_layouts_archives_and_the_store() {
    let reg = Registry::start();
    let env = TestEnv::new();
    let id = env.import_busybox("busybox");
    let remote = format!("docker://{}", reg.image("copy/busybox:1"));
    let digestfile = env.path("digest");
    ok(
        &env,
        &[
            "copy",
            "-q",
            "--dest-tls-verify=false",
            "--digestfile",
            digestfile.to_str().unwrap(),
            "busybox",
            &remote,
        ],
    );
    let digest = std::fs::read_to_string(&digestfile).unwrap();

    let other = TestEnv::new();
    let layout = other.path("layout");
    let oci = format!("oci:{}:v1", layout.display());
    ok(
        &other,
        &["copy", "-q", "--src-tls-verify=false", &remote, &oci],
    );
    let inspect: Value =
        serde_json::from_str(&run_tool(skopeo(&other).args(["inspect", &oci]))).unwrap();
    assert_eq!(inspect["Digest"].as_str(), Some(digest.as_str()));

    let oci_archive = format!("oci-archive:{}:v2", other.path("a.tar").display());
    let docker_archive = format!("docker-archive:{}", other.path("d.tar").display());
    ok(&other, &["copy", "-q", &oci, &oci_archive]);
    ok(&other, &["copy", "-q", &oci_archive, &docker_archive]);
    ok(
        &other,
        &["copy", "-q", &docker_archive, "containers-storage:copied"],
    );
    let (_, copied_id) = digest_and_id(&other, "localhost/copied:latest");
    assert_eq!(copied_id, id);
    other.assert_check_clean();

    // From a registry straight into a fresh store (the pull pipeline).
    let direct = TestEnv::new();
    ok(
        &direct,
        &[
            "copy",
            "-q",
            "--src-tls-verify=false",
            &remote,
            "containers-storage:direct:2",
        ],
    );
    let (direct_digest, direct_id) = digest_and_id(&direct, "localhost/direct:2");
    assert_eq!(
        (direct_digest.as_str(), direct_id.as_str()),
        (digest.as_str(), id.as_str())
    );
    direct.assert_check_clean();

    let err = fails(
        &other,
        &["copy", &format!("oci:{}:nope", layout.display()), "x"],
    );
    assert!(err.contains("\"nope\""), "{err}");
}

#[test]
fn tls_with_a_test_ca_and_auth() {
    let env = TestEnv::new();
    let certs = env.path("certs.d");
    let reg = Registry::start_tls_with_auth("bob", "pw", &certs);
    let certs = certs.to_str().unwrap();
    env.import_busybox("busybox");
    let dest = reg.image("tls/busybox:1");

    let err = fails(&env, &["login", "-u", "bob", "-p", "pw", &reg.addr]);
    assert!(err.contains(&format!("https://{}/v2/", reg.addr)), "{err}");
    assert!(err.to_lowercase().contains("certificate"), "{err}");

    ok(
        &env,
        &[
            "login",
            "--cert-dir",
            certs,
            "-u",
            "bob",
            "-p",
            "pw",
            &reg.addr,
        ],
    );
    let digestfile = env.path("digest");
    ok(
        &env,
        &[
            "push",
            "-q",
            "--cert-dir",
            certs,
            "--digestfile",
            digestfile.to_str().unwrap(),
            "busybox",
            &dest,
        ],
    );
    let digest = std::fs::read_to_string(&digestfile).unwrap();
    let inspect: Value = serde_json::from_str(&run_tool(skopeo(&env).args([
        "inspect",
        "--cert-dir",
        certs,
        "--creds",
        "bob:pw",
        &format!("docker://{dest}"),
    ])))
    .unwrap();
    assert_eq!(inspect["Digest"].as_str(), Some(digest.as_str()));

    let other = TestEnv::new();
    let err = fails(&other, &["pull", "-q", "--creds", "bob:pw", &dest]);
    assert!(err.to_lowercase().contains("certificate"), "{err}");
    ok(
        &other,
        &[
            "pull",
            "-q",
            "--cert-dir",
            certs,
            "--creds",
            "bob:pw",
            &dest,
        ],
    );
    let (pulled, _) = digest_and_id(&other, &dest);
    assert_eq!(pulled, digest);
    // Unverified TLS is allowed on request.
    let third = TestEnv::new();
    ok(
        &third,
        &[
            "pull",
            "-q",
            "--tls-verify=false",
            "--creds",
            "bob:pw",
            &dest,
        ],
    );
}

#[test]
fn docker_config_cred_helpers_supply_credentials() {
    let reg = Registry::start_with_auth("carol", "h3lper");
    let env = TestEnv::new();
    env.import_busybox("busybox");
    let bin = env.path("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let helper = bin.join("docker-credential-berthtest");
    std::fs::write(
        &helper,
        "#!/bin/sh\nread host\necho \"{\\\"ServerURL\\\":\\\"$host\\\",\\\"Username\\\":\\\"carol\\\",\\\"Secret\\\":\\\"h3lper\\\"}\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let docker = env.path("home/.docker");
    std::fs::create_dir_all(&docker).unwrap();
    std::fs::write(
        docker.join("config.json"),
        format!(r#"{{"credHelpers":{{"{}":"berthtest"}}}}"#, reg.addr),
    )
    .unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let dest = reg.image("helped/busybox:1");
    let out = berth(
        &env,
        &["push", "-q", "--tls-verify=false", "busybox", &dest],
    )
    .env("PATH", &path)
    .output()
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn push_recompresses_and_converts_the_manifest_format() {
    let reg = Registry::start();
    let env = TestEnv::new();
    let id = env.import_busybox("busybox");
    let raw = |dest: &str| -> Value {
        let out = run_tool(
            skopeo(&env)
                .args(["inspect", "--raw", "--tls-verify=false"])
                .arg(format!("docker://{dest}")),
        );
        serde_json::from_str(&out).unwrap()
    };

    // zstd layers in an OCI manifest; pulled back, the same image (same config, same id).
    let zstd = reg.image("conv/zstd:1");
    ok(
        &env,
        &[
            "push",
            "--tls-verify=false",
            "--compression-format",
            "zstd",
            "busybox",
            &zstd,
        ],
    );
    let m = raw(&zstd);
    assert_eq!(m["mediaType"], "application/vnd.oci.image.manifest.v1+json");
    for l in m["layers"].as_array().unwrap() {
        assert_eq!(
            l["mediaType"], "application/vnd.oci.image.layer.v1.tar+zstd",
            "{m}"
        );
    }
    let other = TestEnv::new();
    let pulled = ok(&other, &["pull", "-q", "--tls-verify=false", &zstd]);
    assert!(
        id.contains(pulled.trim()) || pulled.trim().contains(id.trim()),
        "{id} vs {pulled}"
    );

    // Docker v2s2 with gzip layers: skopeo reads it as such; berth pulls it back.
    let v2 = reg.image("conv/v2s2:1");
    ok(
        &env,
        &[
            "push",
            "--tls-verify=false",
            "--format",
            "v2s2",
            "busybox",
            &v2,
        ],
    );
    let m = raw(&v2);
    assert_eq!(
        m["mediaType"],
        "application/vnd.docker.distribution.manifest.v2+json"
    );
    assert_eq!(
        m["config"]["mediaType"],
        "application/vnd.docker.container.image.v1+json"
    );
    for l in m["layers"].as_array().unwrap() {
        assert_eq!(
            l["mediaType"],
            "application/vnd.docker.image.rootfs.diff.tar.gzip"
        );
    }
    let other = TestEnv::new();
    let pulled = ok(&other, &["pull", "-q", "--tls-verify=false", &v2]);
    assert!(
        id.contains(pulled.trim()) || pulled.trim().contains(id.trim()),
        "{id} vs {pulled}"
    );

    // zstd cannot go into v2s2; --force-compression needs a format; both refused in one line.
    let err = fails(
        &env,
        &[
            "push",
            "--tls-verify=false",
            "--format",
            "v2s2",
            "--compression-format",
            "zstd",
            "busybox",
            &v2,
        ],
    );
    assert!(err.contains("zstd"), "{err}");
    let err = fails(
        &env,
        &[
            "push",
            "--tls-verify=false",
            "--force-compression",
            "busybox",
            &v2,
        ],
    );
    assert!(err.contains("--compression-format"), "{err}");
    env.assert_check_clean();
}

#[test]
fn push_mounts_blobs_from_another_repository_of_the_same_registry() {
    let reg = Registry::start();
    let env = TestEnv::new();
    env.import_busybox("busybox");
    let a = reg.image("mnt/a:1");
    ok(&env, &["tag", "busybox", &a]);
    ok(&env, &["push", "--tls-verify=false", &a]);
    let b = reg.image("mnt/b:1");
    let out = berth(&env, &["push", "--tls-verify=false", &a, &b])
        .output()
        .unwrap();
    let progress = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{progress}");
    assert!(progress.contains("mounted from mnt/a"), "{progress}");
    // The mounted image is complete: skopeo copies it out.
    let dir = env.path("out");
    run_tool(
        skopeo(&env)
            .args(["copy", "--src-tls-verify=false"])
            .arg(format!("docker://{b}"))
            .arg(format!("oci:{}:x", dir.display())),
    );
}
