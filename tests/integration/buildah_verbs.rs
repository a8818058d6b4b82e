//! `berth buildah …` (Buildah's verbs), as root: a script written as Buildah's tutorial
//! writes it (`alias buildah='berth buildah'`: from scratch, mount, install files, config,
//! commit), whose image then runs; `from IMAGE` + `run` + `copy --chown` + `commit --squash`;
//! and bad input (a missing or removed working container).

use std::process::Command;

use serde_json::Value;

use crate::run::{busybox, RunEnv};

/// Run `script` under bash with `buildah` aliased to this test's `berth buildah`.
fn script(r: &RunEnv, script: &str) -> String {
    let alias = format!(
        "{} --root {} --runroot {} buildah",
        env!("CARGO_BIN_EXE_berth"),
        r.env.root.display(),
        r.runroot.display()
    );
    let full =
        format!("set -euo pipefail\nshopt -s expand_aliases\nalias buildah='{alias}'\n{script}");
    let out = Command::new("bash")
        .arg("-c")
        .arg(&full)
        .current_dir(r.env.dir.path())
        .output()
        .expect("bash");
    assert!(
        out.status.success(),
        "script failed with {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn tutorial_script_from_scratch_builds_an_image_that_runs() {
    let r = RunEnv::new();
    let out = script(
        &r,
        r#"
newcontainer=$(buildah from scratch)
echo "container: $newcontainer"
scratchmnt=$(buildah mount $newcontainer)
mkdir -p $scratchmnt/bin
cp /bin/busybox $scratchmnt/bin/busybox
for applet in sh echo cat; do ln -s busybox $scratchmnt/bin/$applet; done
buildah config --cmd '/bin/sh -c "echo hello from the tutorial"' --port 80 --label name=tutorial $newcontainer
buildah config --env PATH=/bin --author berth-tests $newcontainer
buildah containers
buildah inspect --format '{{.Container}} {{.FromImage}}' $newcontainer
buildah umount $newcontainer
buildah commit $newcontainer tutorial-image
buildah rm $newcontainer
buildah images
"#,
    );
    assert!(out.contains("container: working-container"), "{out}");
    let row = out
        .lines()
        .find(|l| l.ends_with(" working-container") && !l.starts_with("container:"))
        .unwrap_or_else(|| panic!("no containers row: {out}"));
    assert!(row.contains("   *"), "builder column: {row}");
    assert!(row.contains("scratch"), "{row}");
    // `inspect --format '{{.Container}} {{.FromImage}}'`: no image for scratch.
    assert!(out.contains("\nworking-container \n"), "{out}");
    assert!(out.contains("localhost/tutorial-image"), "{out}");
    assert_eq!(
        r.ok(&["run", "--rm", "tutorial-image"]),
        "hello from the tutorial\n"
    );
    let inspect: Value =
        serde_json::from_str(&r.ok(&["image", "inspect", "tutorial-image"])).unwrap();
    let config = &inspect[0]["Config"];
    assert_eq!(
        config["Cmd"],
        serde_json::json!(["/bin/sh", "-c", "echo hello from the tutorial"])
    );
    assert!(config["ExposedPorts"].get("80").is_some(), "{config}");
    assert_eq!(config["Labels"]["name"], "tutorial");
    assert_eq!(config["Env"], serde_json::json!(["PATH=/bin"]));
    assert_eq!(inspect[0]["Author"], "berth-tests");
    assert_eq!(r.ok(&["buildah", "containers", "-q"]), "");
    r.assert_no_leftovers();
}

#[test]
fn from_image_run_copy_chown_and_commit_squash() {
    let r = busybox();
    let c = r.ok(&["buildah", "from", "busybox"]).trim().to_string();
    assert_eq!(c, "busybox-working-container");
    // A second one gets the next free name.
    let c2 = r.ok(&["buildah", "from", "busybox"]).trim().to_string();
    assert_eq!(c2, "busybox-working-container-1");
    r.ok(&["buildah", "rm", &c2]);
    // `ps --external` lists working containers as Podman lists Buildah's; `ps -a` does not.
    let ps = r.ok(&["ps", "--external"]);
    let row = ps
        .lines()
        .find(|l| l.ends_with(&c))
        .unwrap_or_else(|| panic!("{ps}"));
    assert!(
        row.contains("localhost/busybox:latest") && row.contains("Storage"),
        "{row}"
    );
    assert!(row.contains("buildah"), "{row}");
    assert!(!r.ok(&["ps", "-a"]).contains(&c));
    let inspect: Value = serde_json::from_str(&r.ok(&["buildah", "inspect", &c])).unwrap();
    assert_eq!(inspect["Container"], c.as_str());
    assert_eq!(inspect["FromImage"], "localhost/busybox:latest");
    assert_eq!(inspect["Type"], "buildah 0.0.1");
    assert_eq!(inspect["ContainerID"].as_str().unwrap().len(), 64);
    r.ok(&[
        "buildah",
        "run",
        &c,
        "--",
        "sh",
        "-c",
        "echo app:x:1234:4321::/:/bin/sh >> /etc/passwd && echo app:x:4321: >> /etc/group && echo ran > /ran",
    ]);
    let file = r.env.path("data.txt");
    std::fs::write(&file, "data\n").unwrap();
    r.ok(&[
        "buildah",
        "copy",
        "--chown",
        "app:app",
        &c,
        file.to_str().unwrap(),
        "/srv/data.txt",
    ]);
    r.ok(&["buildah", "config", "--workingdir", "/srv", &c]);
    // Templates name Buildah's Go fields, not the JSON keys.
    assert_eq!(
        r.ok(&[
            "buildah",
            "inspect",
            "--format",
            "{{.OCIv1.Config.WorkingDir}} {{.OCIv1.OS}}",
            &c
        ]),
        "/srv linux\n"
    );
    assert_eq!(
        r.ok(&["buildah", "run", "--user", "app", &c, "--", "stat", "-c", "%u:%g", "data.txt"]),
        "1234:4321\n"
    );
    // The command's own exit code, as Buildah.
    let (code, _, _) = r.code(&["buildah", "run", &c, "--", "sh", "-c", "exit 7"]);
    assert_eq!(code, Some(7));
    let id = r
        .ok(&["buildah", "commit", "--squash", "--rm", &c, "squashed"])
        .trim()
        .to_string();
    assert_eq!(id.len(), 64, "{id}");
    let layers = r.ok(&[
        "image",
        "inspect",
        "squashed",
        "--format",
        "{{len .RootFS.Layers}}",
    ]);
    assert_eq!(layers.trim(), "1");
    assert_eq!(
        r.ok(&["run", "--rm", "squashed", "cat", "/ran", "/srv/data.txt"]),
        "ran\ndata\n"
    );
    // The runtime's mount points did not end up in the image.
    assert_eq!(
        r.ok(&[
            "run",
            "--rm",
            "squashed",
            "stat",
            "-c",
            "%u:%g",
            "/srv/data.txt"
        ]),
        "1234:4321\n"
    );
    assert_eq!(r.ok(&["buildah", "containers", "-q"]), "");
    r.assert_no_leftovers();
}

#[test]
fn missing_and_removed_working_containers_are_errors() {
    let r = busybox();
    let runroot = r.runroot.to_str().unwrap().to_string();
    // `berth buildah ARGS…` must fail with 125 and one line.
    let fails = |args: &[&str]| {
        let mut full = vec!["--runroot", &runroot, "buildah"];
        full.extend_from_slice(args);
        r.env.fails(&full, 125)
    };
    let err = fails(&["run", "nosuch", "--", "true"]);
    assert!(err.contains("\"nosuch\": container not known"), "{err}");
    let c = r
        .ok(&["buildah", "from", "--name", "gone", "busybox"])
        .trim()
        .to_string();
    assert_eq!(c, "gone");
    let err = fails(&["from", "--name", "gone", "busybox"]);
    assert!(err.contains("already in use"), "{err}");
    let mnt = r.ok(&["buildah", "mount", "gone"]).trim().to_string();
    assert!(
        std::path::Path::new(&mnt).join("bin/busybox").exists(),
        "{mnt}"
    );
    // Removed while mounted: unmounted and gone.
    r.ok(&["buildah", "rm", "gone"]);
    assert!(!std::path::Path::new(&mnt).exists(), "{mnt} is left");
    let err = fails(&["commit", "gone", "img"]);
    assert!(err.contains("\"gone\": container not known"), "{err}");
    let err = fails(&["config", "--healthcheck", "bogus", "nosuch"]);
    assert!(err.contains("nosuch"), "{err}");
    r.ok(&["buildah", "from", "--name", "hc", "busybox"]);
    let err = fails(&["config", "--healthcheck", "bogus", "hc"]);
    assert!(err.contains("--healthcheck \"bogus\""), "{err}");
    r.ok(&["buildah", "rm", "--all"]);
    r.assert_no_leftovers();
}

#[test]
fn rootless_verbs_and_mount_inside_unshare() {
    // The rootless harness gives the user a run root of the test's own and ends the pause
    // process `berth unshare` starts (a shared run root left it running after the test).
    let r = crate::rootless_run::Rootless::with_busybox();
    let out = r.sh(
        r#"set -e
c=$($BERTH buildah from scratch)
if $BERTH buildah mount $c 2>$HOME/err; then exit 9; fi
grep -q 'berth unshare' $HOME/err
$BERTH unshare sh -c "m=\$($BERTH buildah mount $c) && cp /bin/busybox \$m/busybox && $BERTH buildah umount $c >/dev/null"
$BERTH buildah config --cmd '/busybox echo rootless' $c
$BERTH buildah commit --rm $c from-scratch >/dev/null
c2=$($BERTH buildah from bb)
$BERTH buildah run $c2 -- sh -c 'echo hi > /x'
$BERTH buildah copy --chown 1000:1000 $c2 $TAR /bb.tar
$BERTH buildah commit --rm $c2 from-bb >/dev/null
$BERTH run --rm from-scratch
$BERTH run --rm from-bb stat -c '%u:%g %n' /bb.tar /x
$BERTH buildah containers -q
"#,
    );
    let text = crate::rootless::text(&out);
    assert!(out.status.success(), "{text}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout, "rootless\n1000:1000 /bb.tar\n0:0 /x\n", "{text}");
    r.finish();
}

#[test]
fn from_pulls_and_push_and_tag_delegate() {
    use crate::registry_harness::{ok, Registry};
    let reg = Registry::start();
    let first = crate::util::TestEnv::new();
    first.import_busybox("busybox");
    let remote = reg.image("bverbs/busybox:1");
    ok(
        &first,
        &[
            "buildah",
            "push",
            "--tls-verify=false",
            "busybox",
            &format!("docker://{remote}"),
        ],
    );
    // Another store: `from` pulls (per --pull, through the trust gate) and names the container
    // after the image.
    let second = crate::util::TestEnv::new();
    let c = ok(&second, &["buildah", "from", "--tls-verify=false", &remote]);
    assert_eq!(c.trim(), "busybox-working-container");
    let rows = ok(&second, &["buildah", "containers", "--json"]);
    let rows: Value = serde_json::from_str(&rows).unwrap();
    assert_eq!(rows[0]["imagename"], remote.as_str(), "{rows}");
    assert_eq!(rows[0]["builder"], true);
    ok(
        &second,
        &["buildah", "config", "--label", "from=registry", c.trim()],
    );
    let id = ok(
        &second,
        &["buildah", "commit", "--rm", "-q", c.trim(), "pulled"],
    );
    ok(&second, &["buildah", "tag", "pulled", "pulled:2"]);
    let images = ok(&second, &["buildah", "images"]);
    assert!(
        images.contains("localhost/pulled") && images.contains(" 2 "),
        "{images}"
    );
    assert!(images.contains(&id.trim()[..12]), "{images}");
    // --pull=never with an image the store lacks: one line, exit 125.
    let out = second
        .cmd(&["buildah", "from", "--pull=never", "nosuchimage"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nosuchimage"));
}

#[test]
fn run_mounts_and_volumes_stay_out_of_the_image() {
    let r = busybox();
    let host = r.env.path("hostdir");
    std::fs::create_dir(&host).unwrap();
    std::fs::write(host.join("in"), "from the host\n").unwrap();
    let c = r.ok(&["buildah", "from", "busybox"]).trim().to_string();
    let volume = format!("{}:/mnt/h", host.display());
    let bind = format!("type=bind,source={},target=/b", host.display());
    let out = r.ok(&[
        "buildah",
        "run",
        "-v",
        &volume,
        "--mount",
        "type=tmpfs,target=/t",
        "--mount",
        &bind,
        "--env",
        "X=set",
        "--workingdir",
        "/mnt/h",
        "--network",
        "none",
        &c,
        "--",
        "sh",
        "-c",
        "cat in /b/in && echo $X > /t/x && cat /t/x && echo out > out",
    ]);
    assert_eq!(out, "from the host\nfrom the host\nset\n");
    assert_eq!(std::fs::read_to_string(host.join("out")).unwrap(), "out\n");
    r.ok(&["buildah", "commit", "--rm", &c, "mounted"]);
    // The mount points the run made are not in the image.
    let root = r.ok(&["run", "--rm", "mounted", "ls", "/"]);
    for gone in ["b", "t", "mnt"] {
        assert!(
            !root.lines().any(|l| l == gone),
            "/{gone} is in the image: {root}"
        );
    }
    r.assert_no_leftovers();
}

#[test]
fn copy_from_a_container_or_an_image_and_add_extracts() {
    let r = busybox();
    r.ok(&["buildah", "from", "--name", "src", "busybox"]);
    r.ok(&["buildah", "from", "--name", "dst", "scratch"]);
    r.ok(&[
        "buildah",
        "run",
        "src",
        "--",
        "sh",
        "-c",
        "mkdir /out && echo made > /out/f && chown 7:8 /out/f",
    ]);
    // --from another working container keeps its owners; --from an image reads the image.
    r.ok(&["buildah", "copy", "--from", "src", "dst", "/out/f", "/f"]);
    r.ok(&[
        "buildah",
        "copy",
        "--from",
        "busybox",
        "dst",
        "/bin/busybox",
        "/bin/",
    ]);
    let tree = r.env.path("tree");
    std::fs::create_dir_all(tree.join("d")).unwrap();
    std::fs::write(tree.join("d/x"), "archived\n").unwrap();
    let tgz = r.env.path("a.tgz");
    let status = Command::new("tar")
        .arg("-C")
        .arg(&tree)
        .arg("-czf")
        .arg(&tgz)
        .arg("d")
        .status()
        .unwrap();
    assert!(status.success());
    r.ok(&[
        "buildah",
        "add",
        "dst",
        tgz.to_str().unwrap(),
        "/extracted/",
    ]);
    r.ok(&["buildah", "copy", "dst", tgz.to_str().unwrap(), "/copied/"]);
    r.ok(&[
        "buildah",
        "config",
        "--cmd",
        "/bin/busybox ls -ln /f /extracted/d /copied",
        "dst",
    ]);
    r.ok(&["buildah", "commit", "--rm", "dst", "assembled"]);
    let out = r.ok(&["run", "--rm", "assembled"]);
    assert!(
        out.contains(" 7        8 ") || out.contains(" 7 8 "),
        "{out}"
    );
    assert!(out.contains("x"), "{out}");
    assert!(out.contains("a.tgz"), "{out}");
    r.ok(&["buildah", "rm", "src"]);
    r.assert_no_leftovers();
}

#[test]
fn config_sets_every_field_and_commit_keeps_them() {
    let r = busybox();
    let c = r.ok(&["buildah", "from", "busybox"]).trim().to_string();
    r.ok(&[
        "buildah",
        "config",
        "--entrypoint",
        r#"["/bin/sh","-c"]"#,
        "--cmd",
        "echo hi",
        "--env",
        "A=1",
        "--env",
        "B=2",
        "--label",
        "l=1",
        "--label",
        "gone=x",
        "--port",
        "8080/udp",
        "--port",
        "9090",
        "--volume",
        "/data",
        "--user",
        "1:2",
        "--workingdir",
        "/w",
        "--stop-signal",
        "SIGINT",
        "--author",
        "me",
        "--os",
        "linux",
        "--arch",
        "arm64",
        "--variant",
        "v8",
        "--onbuild",
        "RUN true",
        "--shell",
        "/bin/ash -c",
        "--healthcheck",
        "CMD-SHELL true",
        "--healthcheck-retries",
        "5",
        "--annotation",
        "k=v",
        "--created-by",
        "by hand",
        "--history-comment",
        "note",
        &c,
    ]);
    // `KEY-` and `PORT-` remove.
    r.ok(&[
        "buildah", "config", "--env", "B-", "--label", "gone-", "--port", "9090-", &c,
    ]);
    r.ok(&[
        "buildah",
        "commit",
        "--format",
        "docker",
        "--rm",
        &c,
        "configured",
    ]);
    let record: Value =
        serde_json::from_str(&r.ok(&["buildah", "inspect", "--type", "image", "configured"]))
            .unwrap();
    let config: Value = serde_json::from_str(record["Config"].as_str().unwrap()).unwrap();
    let inner = &config["config"];
    assert_eq!(inner["Entrypoint"], serde_json::json!(["/bin/sh", "-c"]));
    assert_eq!(inner["Cmd"], serde_json::json!(["echo", "hi"]));
    let env = inner["Env"].as_array().unwrap();
    assert!(
        env.contains(&"A=1".into()) && !env.iter().any(|e| e.as_str().unwrap().starts_with("B="))
    );
    assert_eq!(inner["Labels"], serde_json::json!({"l": "1"}));
    assert_eq!(inner["ExposedPorts"], serde_json::json!({"8080/udp": {}}));
    assert_eq!(inner["Volumes"], serde_json::json!({"/data": {}}));
    assert_eq!(inner["User"], "1:2");
    assert_eq!(inner["WorkingDir"], "/w");
    assert_eq!(inner["StopSignal"], "SIGINT");
    assert_eq!(inner["OnBuild"], serde_json::json!(["RUN true"]));
    assert_eq!(inner["Shell"], serde_json::json!(["/bin/ash", "-c"]));
    assert_eq!(
        inner["Healthcheck"]["Test"],
        serde_json::json!(["CMD-SHELL", "true"])
    );
    assert_eq!(inner["Healthcheck"]["Retries"], 5);
    assert_eq!(config["author"], "me");
    assert_eq!(config["architecture"], "arm64");
    assert_eq!(config["variant"], "v8");
    let last = config["history"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["created_by"], "by hand");
    assert_eq!(last["comment"], "note");
    let manifest: Value = serde_json::from_str(record["Manifest"].as_str().unwrap()).unwrap();
    assert_eq!(
        manifest["mediaType"],
        "application/vnd.docker.distribution.manifest.v2+json"
    );
    assert_eq!(manifest["annotations"]["k"], "v");
    r.assert_no_leftovers();
}

#[test]
fn commit_with_a_timestamp_is_reproducible() {
    let r = RunEnv::new();
    let file = r.env.path("f.txt");
    std::fs::write(&file, "same\n").unwrap();
    let mut ids = Vec::new();
    for _ in 0..2 {
        let c = r.ok(&["buildah", "from", "scratch"]).trim().to_string();
        r.ok(&["buildah", "copy", &c, file.to_str().unwrap(), "/f"]);
        r.ok(&["buildah", "config", "--cmd", "/f", &c]);
        ids.push(r.ok(&["buildah", "commit", "--rm", "--timestamp", "0", &c]));
    }
    assert_eq!(ids[0], ids[1]);
    let created = r.ok(&[
        "image",
        "inspect",
        "--format",
        "{{.Created}}",
        ids[0].trim(),
    ]);
    assert!(created.starts_with("1970-01-01"), "{created}");
    r.assert_no_leftovers();
}

#[test]
fn parallel_runs_in_one_container_take_turns() {
    let r = busybox();
    let c = r.ok(&["buildah", "from", "busybox"]).trim().to_string();
    let children: Vec<_> = (0..3)
        .map(|i| {
            r.cmd(&[
                "buildah",
                "run",
                &c,
                "--",
                "sh",
                "-c",
                &format!("echo {i} >> /log"),
            ])
            .spawn()
            .unwrap()
        })
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }
    let mut lines: Vec<String> = r
        .ok(&["buildah", "run", &c, "--", "cat", "/log"])
        .lines()
        .map(str::to_string)
        .collect();
    lines.sort();
    assert_eq!(lines, ["0", "1", "2"]);
    r.ok(&["buildah", "rm", &c]);
    r.assert_no_leftovers();
}

#[test]
fn config_env_expands_variables_as_buildah() {
    let r = busybox();
    let c = r.ok(&["buildah", "from", "busybox"]).trim().to_string();
    let (code, _, stderr) = r.code(&[
        "buildah",
        "config",
        "--env",
        "PATH=/opt/bin:$PATH",
        "--env",
        "A=1",
        "--env",
        "B=${A}x",
        "--env",
        "C=$NOPE",
        &c,
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    // Buildah 1.28 says so and goes on with the name itself.
    assert!(
        stderr.contains("error expanding variable \"NOPE\": no value set in configuration"),
        "{stderr}"
    );
    r.ok(&["buildah", "commit", "--rm", &c, "expanded"]);
    let v: Value = serde_json::from_str(&r.ok(&["image", "inspect", "expanded"])).unwrap();
    let env: Vec<&str> = v[0]["Config"]["Env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    let path = env.iter().find(|e| e.starts_with("PATH=")).unwrap();
    assert!(
        path.starts_with("PATH=/opt/bin:/") && path.len() > "PATH=/opt/bin:/".len(),
        "{env:?}"
    );
    assert!(env.contains(&"B=1x") && env.contains(&"C=NOPE"), "{env:?}");
}

#[test]
fn commit_sign_by_signs_in_the_registry_through_push() {
    use crate::registry_harness::{isolate, Registry};
    crate::util::require_tool("gpg");
    let r = busybox();
    let reg = Registry::start();
    let gnupg = r.env.path("gnupg");
    std::fs::create_dir_all(&gnupg).unwrap();
    std::fs::set_permissions(&gnupg, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    // The agent gpg starts for this home is stopped at the end, also when the test fails.
    struct Agent(std::path::PathBuf);
    impl Drop for Agent {
        fn drop(&mut self) {
            let _ = Command::new("gpgconf")
                .arg("--homedir")
                .arg(&self.0)
                .args(["--kill", "gpg-agent"])
                .status();
        }
    }
    let _agent = Agent(gnupg.clone());
    let gpg = |args: &[&str]| {
        let out = Command::new("gpg")
            .arg("--homedir")
            .arg(&gnupg)
            .args(["--batch", "--pinentry-mode", "loopback", "--passphrase", ""])
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "gpg {args:?}");
        out.stdout
    };
    gpg(&[
        "--quick-gen-key",
        "bnext <b@berth.invalid>",
        "default",
        "default",
        "never",
    ]);
    let listing = String::from_utf8(gpg(&["--with-colons", "--list-keys"])).unwrap();
    let fpr = listing
        .lines()
        .find_map(|l| l.strip_prefix("fpr:"))
        .map(|l| l.trim_matches(':').to_string())
        .unwrap();
    let regd = r.env.path("registries.d");
    let lookaside = r.env.path("lookaside");
    std::fs::create_dir_all(&regd).unwrap();
    std::fs::write(
        regd.join("default.yaml"),
        format!(
            "default-docker:\n  lookaside: file://{}\n",
            lookaside.display()
        ),
    )
    .unwrap();
    let c = r.ok(&["buildah", "from", "busybox"]).trim().to_string();
    // Into the store, signing is refused in one line (berth's store keeps no signatures).
    let (code, _, err) = r.code(&["buildah", "commit", "--sign-by", &fpr, &c, "local"]);
    assert_eq!(code, Some(125), "{err}");
    assert!(err.contains("docker://"), "{err}");
    let dest = reg.image("signed/img:1");
    let args = [
        "buildah",
        "commit",
        "-q",
        "--tls-verify=false",
        "--registries.d",
        regd.to_str().unwrap(),
        "--sign-by",
        &fpr,
        &c,
        &format!("docker://{dest}"),
    ];
    let mut cmd = r.cmd(&args);
    isolate(&r.env, &mut cmd);
    let out = cmd.env("GNUPGHOME", &gnupg).output().unwrap();
    let id = crate::util::success_stdout(&args, out).trim().to_string();
    assert_eq!(id.len(), 64, "{id}");
    // The signature is in the lookaside, next to the manifest pushed; no image stays here.
    let dir = std::fs::read_dir(lookaside.join("signed"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().contains("img@sha256="))
        .expect("a signature directory");
    assert!(dir.join("signature-1").exists(), "{dir:?}");
    assert!(!r.ok(&["images", "-q"]).contains(&id[..12]));
}
