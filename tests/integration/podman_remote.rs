//! Podman's libpod API (issue 16) driven by the real `podman --remote` (Debian's 4.3.1), as
//! root: `run --rm` (output, exit code, nothing left), `images`, `ps -a`, `rm`, `version`,
//! against `berth system service` on a test store (the service harness of `docker_api`).
//! The client is remote-only: a private, empty `CONTAINERS_CONF` and `HOME`, so it reads no
//! host configuration and touches no host store.

use std::process::{Command, Output};

use crate::docker_api::Service;

pub(crate) fn podman(s: &Service, args: &[&str]) -> Output {
    let conf = s.r.env.path("podman-containers.conf");
    if !conf.exists() {
        std::fs::write(&conf, "").unwrap();
    }
    let home = s.r.env.path("podman-home");
    std::fs::create_dir_all(&home).unwrap();
    Command::new(crate::util::require_tool("podman"))
        .arg("--remote")
        .arg("--url")
        .arg(format!("unix://{}", s.sock.display()))
        .args(args)
        .env("CONTAINERS_CONF", &conf)
        .env("HOME", &home)
        .env_remove("CONTAINER_HOST")
        .env_remove("CONTAINER_CONNECTION")
        .env_remove("XDG_RUNTIME_DIR")
        .env_remove("XDG_CONFIG_HOME")
        .output()
        .expect("spawn podman")
}

/// Run podman and require success; returns stdout.
pub(crate) fn ok(s: &Service, args: &[&str]) -> String {
    let out = podman(s, args);
    assert!(
        out.status.success(),
        "podman --remote {args:?}: {:?}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn podman_remote_run_rm_images_ps_rm() {
    let s = Service::start();
    assert_eq!(ok(&s, &["run", "--rm", "busybox", "echo", "hi"]), "hi\n");
    let out = podman(
        &s,
        &[
            "run",
            "--rm",
            "busybox",
            "sh",
            "-c",
            "echo out; echo err >&2; exit 3",
        ],
    );
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "out\n");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "err\n");
    // `--rm` left nothing, in the store the CLI reads too.
    assert_eq!(s.r.ok(&["ps", "-aq"]).trim(), "");
    assert_eq!(ok(&s, &["ps", "-aq"]).trim(), "");

    let images = ok(&s, &["images", "--format", "{{.Repository}}:{{.Tag}}"]);
    assert_eq!(images.trim(), "localhost/busybox:latest", "{images}");
    // Filters: a name (as `berth images NAME`), dangling, since; an unknown kind is refused
    // by name.
    let images = ok(&s, &["images", "--format", "{{.Repository}}", "busybox"]);
    assert_eq!(images.trim(), "localhost/busybox", "{images}");
    assert_eq!(ok(&s, &["images", "-q", "libpod-nosuch"]).trim(), "");
    assert_eq!(
        ok(&s, &["images", "-q", "--filter", "dangling=true"]).trim(),
        ""
    );
    assert_eq!(
        ok(&s, &["images", "-q", "--filter", "since=busybox"]).trim(),
        ""
    );
    let out = podman(&s, &["images", "--filter", "colour=red"]);
    assert_eq!(out.status.code(), Some(125), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unsupported image filter"), "{err}");

    let id = ok(&s, &["create", "--name", "libpod-c1", "busybox", "true"]);
    let id = id.trim();
    assert_eq!(id.len(), 64, "{id}");
    let ps = ok(
        &s,
        &["ps", "-a", "--format", "{{.ID}} {{.Names}} {{.Status}}"],
    );
    assert_eq!(
        ps.trim(),
        format!("{} libpod-c1 Created", &id[..12]),
        "{ps}"
    );
    assert!(s.r.ok(&["ps", "-a"]).contains("libpod-c1"));
    // Not running: `ps` without -a lists nothing.
    assert_eq!(ok(&s, &["ps", "-q"]).trim(), "");
    // The image now counts one container.
    let images = ok(&s, &["images", "--format", "{{.Containers}}"]);
    assert_eq!(images.trim(), "1", "{images}");
    ok(&s, &["rm", "libpod-c1"]);
    assert_eq!(s.r.ok(&["ps", "-aq"]).trim(), "");
    let out = podman(&s, &["rm", "libpod-nosuch"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no such container"), "{err}");
}

#[test]
fn podman_remote_version_and_refusals() {
    let s = Service::start();
    let v = ok(&s, &["version", "--format", "{{.Server.APIVersion}}"]);
    assert_eq!(v.trim(), "4.3.1", "{v}");
    let info = ok(&s, &["info", "--format", "{{.Store.ImageStore.Number}}"]);
    assert_eq!(info.trim(), "1", "{info}");
    // A terminal: the attach is raw (Docker's terminal attach, served for libpod too).
    let out = podman(&s, &["run", "--rm", "-t", "busybox", "echo", "tty"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "tty",
        "{out:?}"
    );
    // What berth does not serve is refused with words, and `--rm` still leaves nothing.
    let out = podman(&s, &["run", "--rm", "--pod", "libpod-p", "busybox", "true"]);
    assert_ne!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(s.r.ok(&["ps", "-aq"]).trim(), "");
    // libpod's version prefix and error body.
    let (code, body) = s.http("GET", "/v3.4.0/libpod/_ping", b"");
    assert_eq!(code, 400, "{body}");
    let (code, body) = s.http("GET", "/v4.3.1/libpod/containers/nosuch/json", b"");
    assert_eq!(code, 404, "{body}");
    assert!(body.contains(r#""cause":"no such container""#), "{body}");
    let (code, body) = s.http("GET", "/v4.3.1/libpod/containers/nosuch/exists", b"");
    assert_eq!(code, 404, "{body}");
    let (code, _) = s.http("GET", "/v4.3.1/libpod/images/busybox/exists", b"");
    assert_eq!(code, 204);
    let (code, body) = s.http("POST", "/v4.3.1/libpod/containers/create", b"{");
    assert_eq!(code, 400, "{body}");
}

#[test]
fn podman_remote_detached_lifecycle_and_image_tags() {
    let s = Service::start();
    let id = ok(
        &s,
        &[
            "run",
            "-d",
            "--name",
            "libpod-d1",
            "busybox",
            "sh",
            "-c",
            "echo started; while true; do sleep 0.1; done",
        ],
    );
    assert_eq!(id.trim().len(), 64, "{id}");
    let ps = ok(&s, &["ps", "--format", "{{.Names}} {{.Status}}"]);
    assert!(ps.starts_with("libpod-d1 Up"), "{ps}");
    crate::run::wait_until("log output", || {
        ok(&s, &["logs", "libpod-d1"]) == "started\n"
    });
    let state = ok(
        &s,
        &["inspect", "--format", "{{.State.Status}}", "libpod-d1"],
    );
    assert_eq!(state.trim(), "running");
    ok(&s, &["stop", "-t", "1", "libpod-d1"]);
    let state = ok(
        &s,
        &["inspect", "--format", "{{.State.Status}}", "libpod-d1"],
    );
    assert_eq!(state.trim(), "exited");
    ok(&s, &["start", "libpod-d1"]);
    assert!(s.r.ok(&["ps"]).contains("libpod-d1"));
    ok(&s, &["kill", "libpod-d1"]);
    ok(&s, &["rm", "-f", "libpod-d1"]);
    assert_eq!(s.r.ok(&["ps", "-aq"]).trim(), "");

    ok(&s, &["tag", "busybox", "libpod-bb2"]);
    let ids = ok(
        &s,
        &["image", "inspect", "--format", "{{.Id}}", "libpod-bb2"],
    );
    assert_eq!(ids.trim().len(), 64, "{ids}");
    assert_eq!(
        ok(&s, &["rmi", "libpod-bb2"]).trim(),
        "Untagged: localhost/libpod-bb2:latest"
    );
    let out = podman(&s, &["rmi", "libpod-nosuch"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("libpod-nosuch: image not known"), "{err}");
    assert!(s.r.ok(&["images"]).contains("localhost/busybox"));
}

#[test]
fn podman_remote_pull_from_the_local_registry() {
    let reg = crate::registry_harness::Registry::start();
    let s = Service::start();
    let dest = reg.image("libpod/busybox:1");
    let mut push = s.r.env.cmd(&[
        "push",
        "--tls-verify=false",
        "busybox",
        &format!("docker://{dest}"),
    ]);
    crate::registry_harness::isolate(&s.r.env, &mut push);
    crate::util::run_tool(&mut push);
    let out = podman(&s, &["pull", "--tls-verify=false", &dest]);
    assert!(out.status.success(), "{out:?}");
    let id = String::from_utf8_lossy(&out.stdout);
    assert_eq!(id.trim().len(), 64, "{id}");
    let err = String::from_utf8_lossy(&out.stderr);
    // The pull's progress, streamed as libpod's `{"stream"}` lines.
    assert!(err.contains(&format!("Trying to pull {dest}")), "{err}");
    assert!(err.contains("Writing manifest"), "{err}");
    assert!(s.r.ok(&["images"]).contains("libpod/busybox"));
    assert_eq!(
        ok(&s, &["run", "--rm", &dest, "echo", "pulled"]),
        "pulled\n"
    );
    // A missing image: the pull's error line, exit 125.
    let missing = reg.image("libpod/nosuch:1");
    let out = podman(&s, &["pull", "--tls-verify=false", &missing]);
    assert_eq!(out.status.code(), Some(125), "{out:?}");
}

#[test]
fn podman_remote_published_port_on_a_network_and_a_bind_mount() {
    if !crate::run_network::wired() {
        return;
    }
    let s = Service::start();
    let net = crate::run_network::TestNetwork::create(&s.r, "libpod", &[]);
    let www = s.r.env.path("www");
    std::fs::create_dir_all(&www).unwrap();
    std::fs::write(www.join("index.html"), "hello-from-libpod\n").unwrap();
    let port = crate::registry_harness::free_port();
    let publish = format!("127.0.0.1:{port}:80");
    let volume = format!("{}:/www:ro", www.display());
    ok(
        &s,
        &[
            "run",
            "-d",
            "--name",
            "libpod-web",
            "--network",
            &net.name,
            "-p",
            &publish,
            "-v",
            &volume,
            "busybox",
            "httpd",
            "-f",
            "-p",
            "80",
            "-h",
            "/www",
        ],
    );
    assert_eq!(
        crate::run_network::fetch(&format!("http://127.0.0.1:{port}/")),
        "hello-from-libpod\n"
    );
    let ps = ok(&s, &["ps", "--format", "{{.Names}} {{.Ports}}"]);
    assert_eq!(ps.trim(), format!("libpod-web 127.0.0.1:{port}->80/tcp"));
    let mode = ok(
        &s,
        &[
            "inspect",
            "--format",
            "{{.HostConfig.NetworkMode}}",
            "libpod-web",
        ],
    );
    assert_eq!(mode.trim(), "bridge", "{mode}");
    ok(&s, &["rm", "-f", "libpod-web"]);
}

/// The service's threads now.
fn threads(s: &Service) -> usize {
    std::fs::read_dir(format!("/proc/{}/task", s.child.id()))
        .unwrap()
        .count()
}

#[test]
fn clients_that_leave_mid_wait_leave_no_thread_polling() {
    let s = Service::start();
    ok(
        &s,
        &[
            "run",
            "-d",
            "--name",
            "libpod-waited",
            "busybox",
            "sh",
            "-c",
            "while true; do sleep 1; done",
        ],
    );
    let before = threads(&s);
    // Ten waits (libpod's and Docker's) whose clients hang up before the container exits.
    for path in [
        "/v4.3.1/libpod/containers/libpod-waited/wait",
        "/v1.41/containers/libpod-waited/wait",
    ] {
        for _ in 0..5 {
            let mut c = std::os::unix::net::UnixStream::connect(&s.sock).unwrap();
            let req = format!("POST {path} HTTP/1.1\r\nHost: d\r\nContent-Length: 0\r\n\r\n");
            std::io::Write::write_all(&mut c, req.as_bytes()).unwrap();
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
    // Idle blocking threads leave after 10 s; pollers for nobody would stay.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while threads(&s) > before {
        assert!(
            std::time::Instant::now() < deadline,
            "{} threads, {before} before the waits",
            threads(&s)
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    ok(&s, &["rm", "-f", "libpod-waited"]);
}

/// podman with `input` on its standard input.
fn podman_input(s: &Service, args: &[&str], input: &[u8]) -> Output {
    use std::io::Write;
    let conf = s.r.env.path("podman-containers.conf");
    if !conf.exists() {
        std::fs::write(&conf, "").unwrap();
    }
    let home = s.r.env.path("podman-home");
    std::fs::create_dir_all(&home).unwrap();
    let mut child = Command::new(crate::util::require_tool("podman"))
        .arg("--remote")
        .arg("--url")
        .arg(format!("unix://{}", s.sock.display()))
        .args(args)
        .env("CONTAINERS_CONF", &conf)
        .env("HOME", &home)
        .env_remove("CONTAINER_HOST")
        .env_remove("XDG_RUNTIME_DIR")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn podman");
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().expect("podman output")
}

/// `podman --remote exec` (libpod's exec create, a start whose stream Podman's client reads
/// from the raw socket without asking for an upgrade, its input after the request) and
/// `run -i` (stdin through the attach).
#[test]
fn podman_remote_exec_and_stdin() {
    let s = Service::start();
    ok(
        &s,
        &[
            "run", "-d", "--name", "libpod-x", "busybox", "sleep", "1000",
        ],
    );
    let out = podman(
        &s,
        &[
            "exec",
            "libpod-x",
            "sh",
            "-c",
            "echo out; echo err >&2; exit 3",
        ],
    );
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "out\n");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "err\n");
    let out = ok(
        &s,
        &[
            "exec",
            "-e",
            "V=1",
            "-w",
            "/tmp",
            "-u",
            "1:1",
            "libpod-x",
            "sh",
            "-c",
            "echo $V $(pwd) $(id -u)",
        ],
    );
    assert_eq!(out, "1 /tmp 1\n");
    let out = podman_input(
        &s,
        &["exec", "-i", "libpod-x", "sh"],
        b"echo typed\nexit 4\n",
    );
    assert_eq!(out.status.code(), Some(4), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "typed\n");
    let out = podman(&s, &["exec", "libpod-x", "nosuchcmd"]);
    assert_eq!(out.status.code(), Some(127), "{out:?}");
    let out = podman_input(
        &s,
        &["run", "-i", "--rm", "busybox", "sh", "-c", "cat; exit 5"],
        b"piped\n",
    );
    assert_eq!(out.status.code(), Some(5), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "piped\n");
    // libpod's events: what happened, with Podman's status names and the exit code.
    let format = "{{.Type}} {{.Status}} {{.ContainerExitCode}}";
    let events = ok(
        &s,
        &[
            "events",
            "--stream=false",
            "--filter",
            "event=died",
            "--format",
            format,
        ],
    );
    assert!(events.lines().any(|l| l == "container died 5"), "{events}");
    let all = ok(&s, &["events", "--stream=false"]);
    assert!(all.contains("container remove"), "{all}");
    ok(&s, &["rm", "-f", "-t", "0", "libpod-x"]);
    assert_eq!(s.r.ok(&["ps", "-aq"]).trim(), "");
}
