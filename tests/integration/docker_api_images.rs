//! The REST API's image endpoints driven by the real docker CLI (as root, the harness of
//! `docker_api`): `build` (the classic builder, `DOCKER_BUILDKIT=0`) of a multi-stage context
//! and a failing one, `push` to the local registry and `pull` back, `image prune`,
//! `container prune`, `save | load`, `system df`; and a hostile build context sent with curl.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::docker_api::Service;
use crate::registry_harness::Registry;

fn write(dir: &Path, rel: &str, text: &str) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

#[test]
fn docker_build_multi_stage_then_run_it() {
    let s = Service::start();
    let ctx = s.r.env.path("ctx");
    write(
        &ctx,
        "sub/Build.Dockerfile",
        "FROM busybox AS builder\n\
         ARG MSG=default\n\
         RUN echo \"$MSG\" > /out.txt && echo ran-in-builder\n\
         FROM busybox\n\
         COPY --from=builder /out.txt /out.txt\n\
         COPY file.txt /file.txt\n\
         CMD [\"cat\", \"/out.txt\", \"/file.txt\"]\n",
    );
    write(&ctx, "file.txt", "from the context\n");
    let out = s.ok(&[
        "build",
        "-t",
        "api-images/multi:1",
        "-t",
        "api-images/multi:2",
        "-f",
        ctx.join("sub/Build.Dockerfile").to_str().unwrap(),
        "--build-arg",
        "MSG=hello",
        "--label",
        "made=by-api",
        ctx.to_str().unwrap(),
    ]);
    assert!(out.contains("STEP"), "{out}");
    assert!(
        out.contains("ran-in-builder"),
        "RUN's output is streamed: {out}"
    );
    assert!(out.contains("Successfully built "), "{out}");
    assert!(out.contains("Successfully tagged "), "{out}");
    assert_eq!(
        s.ok(&["run", "--rm", "api-images/multi:1"]),
        "hello\nfrom the context\n"
    );
    let label = s.ok(&[
        "image",
        "inspect",
        "--format",
        "{{index .Config.Labels \"made\"}}",
        "api-images/multi:2",
    ]);
    assert_eq!(label.trim(), "by-api");
    // The CLI sees the image the API built.
    assert!(s.r.ok(&["images"]).contains("api-images/multi"));
    // -q: only the id.
    let id = s.ok(&[
        "build",
        "-q",
        ctx.to_str().unwrap(),
        "-f",
        ctx.join("sub/Build.Dockerfile").to_str().unwrap(),
    ]);
    assert!(id.trim().starts_with("sha256:"), "{id}");
}

/// POST a build context with curl; returns the JSON lines answered.
fn post_build(s: &Service, body: &Path, query: &str) -> Vec<serde_json::Value> {
    let out = Command::new("curl")
        .args([
            "-s",
            "--unix-socket",
            s.sock.to_str().unwrap(),
            "-X",
            "POST",
        ])
        .args(["-H", "Content-Type: application/x-tar", "--data-binary"])
        .arg(format!("@{}", body.display()))
        .arg(format!("http://berth/v1.41/build?{query}"))
        .stderr(Stdio::inherit())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect(l))
        .collect()
}

#[test]
fn a_gzip_build_context_with_a_dockerfile_in_a_subdirectory() {
    let s = Service::start();
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut tar = tar::Builder::new(gz);
    let mut add = |name: &str, body: &[u8]| {
        let mut h = tar::Header::new_gnu();
        h.set_size(body.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        tar.append_data(&mut h, name, body).unwrap();
    };
    add(
        "docker/Dockerfile",
        b"FROM busybox\nCOPY hello /hello\nCMD [\"cat\", \"/hello\"]\n",
    );
    add("hello", b"from a gzip context\n");
    let body = s.r.env.path("ctx.tar.gz");
    std::fs::write(&body, tar.into_inner().unwrap().finish().unwrap()).unwrap();
    let lines = post_build(
        &s,
        &body,
        "t=api-images/gz&dockerfile=docker%2FDockerfile&rm=1",
    );
    let id = lines
        .iter()
        .find_map(|l| l["aux"]["ID"].as_str())
        .unwrap_or_else(|| panic!("no aux ID: {lines:?}"));
    assert!(id.starts_with("sha256:"), "{id}");
    assert_eq!(
        s.ok(&["run", "--rm", "api-images/gz"]),
        "from a gzip context\n"
    );
    // A dockerfile parameter that is not in the context: an error line, no image.
    let lines = post_build(&s, &body, "dockerfile=..%2F..%2Fetc%2Fpasswd");
    let err = lines.last().unwrap()["error"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        err.contains("no ../../etc/passwd in the build context"),
        "{lines:?}"
    );
}

#[test]
fn a_client_gone_mid_build_leaves_the_build_to_complete() {
    let s = Service::start();
    let mut tar = tar::Builder::new(Vec::new());
    let dockerfile = b"FROM busybox\nRUN echo start; sleep 2; echo end\n";
    raw_entry(
        &mut tar,
        "Dockerfile",
        tar::EntryType::Regular,
        "",
        dockerfile,
    );
    let body = s.r.env.path("slow.tar");
    std::fs::write(&body, tar.into_inner().unwrap()).unwrap();
    let out = Command::new("curl")
        .args([
            "-s",
            "--max-time",
            "1",
            "--unix-socket",
            s.sock.to_str().unwrap(),
        ])
        .args(["-X", "POST", "--data-binary"])
        .arg(format!("@{}", body.display()))
        .arg("http://berth/v1.41/build?t=api-images/slow")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(28), "curl timed out: {out:?}");
    crate::run::wait_until("the build to finish", || {
        s.r.ok(&["images"]).contains("api-images/slow")
    });
    // The build's own clean-up follows the tag: wait for its last snapshot to go.
    let snapshots = s.r.env.root.join("snapshots");
    crate::run::wait_until("the build's clean-up", || {
        std::fs::read_dir(&snapshots).unwrap().next().is_none()
    });
    s.r.assert_no_leftovers();
}

#[test]
fn docker_build_failure_exit_code_and_message() {
    let s = Service::start();
    let ctx = s.r.env.path("ctx");
    write(
        &ctx,
        "Dockerfile",
        "FROM busybox\nRUN echo failing; exit 3\n",
    );
    let out = s.docker(&["build", "-t", "api-images/fails", ctx.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{stdout}\n{stderr}");
    assert!(stdout.contains("failing"), "{stdout}");
    assert!(stderr.contains("RUN echo failing; exit 3"), "{stderr}");
    assert!(!s.r.ok(&["images"]).contains("api-images/fails"));
    // A Containerfile that does not parse: exit 1 and the parser's message.
    write(&ctx, "Dockerfile", "FROM busybox\nNOSUCH thing\n");
    let out = s.docker(&["build", ctx.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("NOSUCH"), "{stderr}");
    // `--network` (the query's `networkmode`) is RUN's network, as `berth build --network`:
    // none leaves only the loopback device; the default (bridge, as root) has another.
    write(&ctx, "Dockerfile", "FROM busybox\nRUN ls /sys/class/net\n");
    let out = s.ok(&[
        "build",
        "--no-cache",
        "--network",
        "none",
        ctx.to_str().unwrap(),
    ]);
    let devices: Vec<&str> = out
        .lines()
        .filter(|l| l.trim() == "lo" || l.starts_with("eth"))
        .collect();
    assert_eq!(devices, ["lo"], "{out}");
    let out = s.ok(&["build", "--no-cache", ctx.to_str().unwrap()]);
    assert!(out.lines().any(|l| l.starts_with("eth")), "{out}");
    let out = s.docker(&["build", "--network", "container:x", ctx.to_str().unwrap()]);
    assert_ne!(out.status.code(), Some(0), "{out:?}");
    s.r.assert_no_leftovers();
}

/// A tar entry whose name is written as given (the tar crate refuses `..` in `set_path`).
fn raw_entry(
    tar: &mut tar::Builder<Vec<u8>>,
    name: &str,
    kind: tar::EntryType,
    link: &str,
    body: &[u8],
) {
    let mut h = tar::Header::new_old();
    h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
    if !link.is_empty() {
        h.as_old_mut().linkname[..link.len()].copy_from_slice(link.as_bytes());
    }
    h.set_entry_type(kind);
    h.set_mode(0o644);
    h.set_size(body.len() as u64);
    h.set_cksum();
    tar.append(&h, body).unwrap();
}

#[test]
fn a_hostile_build_context_writes_nothing_outside() {
    let s = Service::start();
    let victim = s.r.env.path("victim");
    std::fs::create_dir_all(&victim).unwrap();
    let v = victim.to_str().unwrap();
    let dotdot = format!("../../../../../../../..{v}/dotdot");
    let absolute = format!("{v}/absolute");
    // Each hostile entry in a context of its own, after a good Dockerfile.
    let cases: [&[(&str, tar::EntryType, &str)]; 3] = [
        &[(&dotdot, tar::EntryType::Regular, "")],
        &[(&absolute, tar::EntryType::Regular, "")],
        &[
            ("link", tar::EntryType::Symlink, v),
            ("link/through-symlink", tar::EntryType::Regular, ""),
        ],
    ];
    for (i, entries) in cases.iter().enumerate() {
        let mut tar = tar::Builder::new(Vec::new());
        let dockerfile = b"FROM busybox\nCOPY . /ctx\n";
        raw_entry(
            &mut tar,
            "Dockerfile",
            tar::EntryType::Regular,
            "",
            dockerfile,
        );
        for (name, kind, link) in *entries {
            raw_entry(&mut tar, name, *kind, link, b"x");
        }
        let body = s.r.env.path(&format!("hostile-{i}.tar"));
        std::fs::write(&body, tar.into_inner().unwrap()).unwrap();
        // Whether the build refused the context or went on, nothing left it.
        let lines = post_build(&s, &body, "t=api-images/hostile");
        let left: Vec<_> = std::fs::read_dir(&victim).unwrap().collect();
        assert!(
            left.is_empty(),
            "case {i}: written outside the context: {left:?}\n{lines:?}"
        );
    }
    s.r.assert_no_leftovers();
}

#[test]
fn docker_push_to_the_local_registry_then_rmi_and_pull_back() {
    let reg = Registry::start();
    let s = Service::start();
    let dest = reg.image("api-images/busybox:1");
    s.ok(&["tag", "busybox", &dest]);
    let out = s.ok(&["push", &dest]);
    assert!(out.contains("The push refers to repository"), "{out}");
    assert!(out.contains("1: digest: sha256:"), "{out}");
    s.ok(&["rmi", &dest]);
    assert!(!s.r.ok(&["images"]).contains("api-images/busybox"));
    let out = s.ok(&["pull", &dest]);
    assert!(out.contains("Downloaded newer image"), "{out}");
    assert_eq!(
        s.ok(&["run", "--rm", &dest, "echo", "round trip"]),
        "round trip\n"
    );
    // --all-tags: every tag of the repository.
    s.ok(&["tag", "busybox", &reg.image("api-images/busybox:2")]);
    let out = s.ok(&["push", "--all-tags", &reg.image("api-images/busybox")]);
    assert!(
        out.contains("1: digest: ") && out.contains("2: digest: "),
        "{out}"
    );
    let found = s.ok(&["search", "--format", "{{.Name}}", &reg.image("api-images")]);
    assert_eq!(found.trim(), reg.image("api-images/busybox"), "{found}");
    // An image that is not there: docker's message and exit code.
    let out = s.docker(&["push", &reg.image("api-images/nosuch:1")]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("No such image"), "{err}");
}

#[test]
fn docker_image_prune_and_container_prune() {
    let s = Service::start();
    let ctx = s.r.env.path("ctx");
    write(&ctx, "Dockerfile", "FROM busybox\nLABEL v=1\n");
    s.ok(&["build", "-q", "-t", "api-images/p", ctx.to_str().unwrap()]);
    let first = s.ok(&["image", "inspect", "--format", "{{.Id}}", "api-images/p"]);
    write(&ctx, "Dockerfile", "FROM busybox\nLABEL v=2\n");
    s.ok(&["build", "-q", "-t", "api-images/p", ctx.to_str().unwrap()]);
    // The first is dangling now; prune takes it and nothing else.
    let out = s.ok(&["image", "prune", "-f"]);
    assert!(out.contains(first.trim()), "{out}");
    assert!(out.contains("Total reclaimed space"), "{out}");
    assert!(s.docker(&["image", "inspect", first.trim()]).status.code() == Some(1));
    assert!(s.r.ok(&["images"]).contains("api-images/p"));
    // -a with a label filter: only the labelled image, not busybox.
    write(&ctx, "Dockerfile", "FROM busybox\nLABEL prune=yes\n");
    s.ok(&[
        "build",
        "-q",
        "-t",
        "api-images/labelled",
        ctx.to_str().unwrap(),
    ]);
    s.ok(&["image", "prune", "-a", "-f", "--filter", "label=prune=yes"]);
    let images = s.r.ok(&["images"]);
    assert!(!images.contains("api-images/labelled"), "{images}");
    assert!(
        images.contains("busybox") && images.contains("api-images/p"),
        "{images}"
    );

    let stopped = s.ok(&["create", "busybox", "true"]).trim().to_string();
    s.ok(&[
        "run",
        "-d",
        "--name",
        "api-images-up",
        "busybox",
        "sleep",
        "60",
    ]);
    let out = s.ok(&["container", "prune", "-f"]);
    assert!(out.contains(&stopped), "{out}");
    let left = s.ok(&["ps", "-a", "--format", "{{.Names}}"]);
    assert_eq!(left.trim(), "api-images-up");
    s.ok(&["rm", "-f", "api-images-up"]);
    s.r.assert_no_leftovers();
}

#[test]
fn docker_save_load_round_trip_and_system_df() {
    let s = Service::start();
    s.ok(&["tag", "busybox", "api-images/saved:1"]);
    let archive = s.r.env.path("saved.tar");
    let status = s
        .command(&["save", "api-images/saved:1"])
        .stdout(std::fs::File::create(&archive).unwrap())
        .status()
        .unwrap();
    assert!(status.success());
    let size = std::fs::metadata(&archive).unwrap().len();
    assert!(size > 100_000, "an archive of {size} bytes");
    s.ok(&["rmi", "api-images/saved:1"]);
    let out = s
        .command(&["load"])
        .stdin(std::fs::File::open(&archive).unwrap())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    assert!(
        stdout.contains("Loaded image: ") && stdout.contains("api-images/saved:1"),
        "{stdout}"
    );
    assert_eq!(
        s.ok(&["run", "--rm", "api-images/saved:1", "echo", "loaded"]),
        "loaded\n"
    );
    // `GET /images/{name}/get` too, as docker-py's `image.save()` asks.
    let (code, _) = s.http("GET", "/v1.41/images/nosuch/get", b"");
    assert_eq!(code, 404);

    let df = s.ok(&["system", "df", "--format", "{{.Type}} {{.TotalCount}}"]);
    assert!(df.contains("Images 1"), "{df}");
    assert!(df.contains("Containers 0"), "{df}");
    assert!(df.contains("Local Volumes 0"), "{df}");
    assert!(df.contains("Build Cache 0"), "{df}");
    let size = s.ok(&["system", "df", "--format", "{{.Type}} {{.Size}}"]);
    let images = size.lines().find(|l| l.starts_with("Images ")).unwrap();
    assert!(images.ends_with("MB") || images.ends_with("kB"), "{size}");
}
