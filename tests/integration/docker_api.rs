//! The REST API (`berth system service`, issue 16) driven by the real docker CLI, as root:
//! each test starts the service on a socket in its own directory (`--time 0`), runs
//! `docker -H unix://…` with a private `DOCKER_CONFIG`, and kills the service by its pid at
//! the end. Bad input is sent as raw HTTP on the socket.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};

use crate::registry_harness::{isolate, Registry};
use crate::run::{busybox, wait_until, RunEnv};

/// The docker CLI: the machine's, else Debian's (scripts/deps.sh).
pub(crate) fn docker_bin() -> PathBuf {
    let local = Path::new("/usr/local/bin/docker");
    if local.exists() {
        return local.to_path_buf();
    }
    crate::util::require_tool("docker")
}

/// A service on a test store with busybox imported.
pub(crate) struct Service {
    pub(crate) r: RunEnv,
    pub(crate) child: Child,
    pub(crate) sock: PathBuf,
}

impl Service {
    pub(crate) fn start() -> Service {
        let r = busybox();
        let sock = r.env.path("api/berth.sock");
        let mut cmd = r.cmd(&[
            "system",
            "service",
            &format!("unix://{}", sock.display()),
            "--time",
            "0",
        ]);
        isolate(&r.env, &mut cmd);
        let child = cmd.spawn().expect("spawn berth system service");
        let s = Service { r, child, sock };
        wait_until("the service's socket", || {
            UnixStream::connect(&s.sock).is_ok()
        });
        s
    }

    /// A docker command on this service (the classic builder: `DOCKER_BUILDKIT=0`).
    pub(crate) fn command(&self, args: &[&str]) -> Command {
        let config = self.r.env.path("docker-config");
        std::fs::create_dir_all(&config).unwrap();
        let mut cmd = Command::new(docker_bin());
        cmd.arg("-H")
            .arg(format!("unix://{}", self.sock.display()))
            .args(args)
            .env("DOCKER_CONFIG", &config)
            .env("DOCKER_BUILDKIT", "0")
            .env_remove("DOCKER_HOST")
            .env_remove("DOCKER_CONTEXT")
            .env_remove("DOCKER_API_VERSION");
        cmd
    }

    pub(crate) fn docker(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("spawn docker")
    }

    /// Run docker and require success; returns stdout.
    pub(crate) fn ok(&self, args: &[&str]) -> String {
        let out = self.docker(args);
        assert!(
            out.status.success(),
            "docker {args:?}: {:?}\nstdout: {}\nstderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// One raw HTTP/1.1 request; returns the status code and the body.
    pub(crate) fn http(&self, method: &str, path: &str, body: &[u8]) -> (u16, String) {
        let mut s = UnixStream::connect(&self.sock).unwrap();
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: berth\r\nConnection: close\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        s.write_all(head.as_bytes()).unwrap();
        // A refused body may close the connection before it is all sent.
        let _ = s.write_all(body);
        let mut resp = Vec::new();
        let _ = s.read_to_end(&mut resp);
        let text = String::from_utf8_lossy(&resp).to_string();
        let status = text
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let body = text
            .split_once("\r\n\r\n")
            .map_or("", |(_, b)| b)
            .to_string();
        (status, body)
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        // Only the service this test started, by its pid.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn docker_version_info_images_and_errors() {
    let s = Service::start();
    let version = s.ok(&[
        "version",
        "--format",
        "{{.Server.APIVersion}} {{.Server.Os}}",
    ]);
    assert_eq!(version.trim(), "1.50 linux", "{version}");
    let info = s.ok(&["info", "--format", "{{.Images}} {{.Containers}}"]);
    assert_eq!(info.trim(), "1 0", "{info}");
    let images = s.ok(&["images", "--format", "{{.Repository}}:{{.Tag}}"]);
    assert!(images.contains("localhost/busybox:latest"), "{images}");
    let inspect = s.ok(&["image", "inspect", "--format", "{{.Os}}", "busybox"]);
    assert_eq!(inspect.trim(), "linux");
    let out = s.docker(&["inspect", "nosuch"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("No such object: nosuch"), "{err}");
    let out = s.docker(&["container", "inspect", "nosuch"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("No such container: nosuch"), "{err}");
}

#[test]
fn docker_run_rm_output_and_exit_code() {
    let s = Service::start();
    assert_eq!(s.ok(&["run", "--rm", "busybox", "echo", "hi"]), "hi\n");
    let out = s.docker(&[
        "run",
        "--rm",
        "busybox",
        "sh",
        "-c",
        "echo out; echo err >&2; exit 3",
    ]);
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "out\n");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "err\n");
    // Nothing left: `--rm` removed them, in the store the CLI reads.
    assert_eq!(s.r.ok(&["ps", "-aq"]).trim(), "");
    assert_eq!(s.ok(&["ps", "-aq"]).trim(), "");
}

#[test]
fn docker_run_detached_ps_logs_stop_rm_and_the_cli_sees_the_same() {
    let s = Service::start();
    let id = s
        .ok(&[
            "run",
            "-d",
            "--name",
            "web",
            "busybox",
            "sh",
            "-c",
            "echo started; while true; do echo tick; sleep 0.1; done",
        ])
        .trim()
        .to_string();
    assert_eq!(id.len(), 64, "{id}");
    let ps = s.ok(&["ps", "--format", "{{.Names}} {{.Status}}"]);
    assert!(ps.starts_with("web Up"), "{ps}");
    // The CLI sees what the API made, and the API what the CLI made.
    assert!(s.r.ok(&["ps"]).contains("web"));
    s.r.ok(&["create", "--name", "fromcli", "busybox", "true"]);
    let all = s.ok(&["ps", "-a", "--format", "{{.Names}}"]);
    assert!(all.contains("fromcli") && all.contains("web"), "{all}");
    wait_until("log output", || s.ok(&["logs", "web"]).contains("tick"));
    assert!(s.ok(&["logs", "web"]).starts_with("started\n"));
    assert_eq!(s.ok(&["logs", "--tail", "1", "web"]), "tick\n");
    let state = s.ok(&[
        "inspect",
        "--format",
        "{{.State.Status}} {{.State.Running}}",
        "web",
    ]);
    assert_eq!(state.trim(), "running true");
    let out = s.docker(&["rm", "web"]);
    assert_eq!(out.status.code(), Some(1), "rm of a running container");
    s.ok(&["stop", "-t", "1", "web"]);
    let state = s.ok(&[
        "inspect",
        "--format",
        "{{.State.Status}} {{.State.ExitCode}}",
        "web",
    ]);
    assert_eq!(state.trim(), "exited 137");
    s.ok(&["rm", "web"]);
    s.ok(&["rm", "fromcli"]);
    s.r.assert_no_leftovers();
}

#[test]
fn docker_pull_from_the_local_registry() {
    let reg = Registry::start();
    let s = Service::start();
    let dest = reg.image("api/busybox:1");
    let mut push = s.r.env.cmd(&[
        "push",
        "--tls-verify=false",
        "busybox",
        &format!("docker://{dest}"),
    ]);
    isolate(&s.r.env, &mut push);
    crate::util::run_tool(&mut push);
    let out = s.ok(&["pull", &dest]);
    assert!(
        out.contains(&format!("Downloaded newer image for {dest}")),
        "{out}"
    );
    assert!(s.r.ok(&["images"]).contains("api/busybox"));
    assert_eq!(s.ok(&["run", "--rm", &dest, "echo", "pulled"]), "pulled\n");
}

#[test]
fn bad_requests_get_docker_error_bodies() {
    let s = Service::start();
    let (code, body) = s.http("POST", "/v1.41/containers/create", b"{not json");
    assert_eq!(code, 400, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(
        v["message"].as_str().unwrap().contains("invalid JSON"),
        "{body}"
    );
    let (code, body) = s.http("GET", "/v9.99/_ping", b"");
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("too new"), "{body}");
    let big = vec![b' '; 2 << 20];
    let (code, body) = s.http("POST", "/containers/create", &big);
    assert_eq!(code, 413, "{body}");
    assert!(body.contains("\"message\""), "{body}");
    let (code, body) = s.http("GET", "/containers/nosuch/json", b"");
    assert_eq!(code, 404, "{body}");
    assert_eq!(body, r#"{"message":"No such container: nosuch"}"#);
    let (code, _) = s.http("GET", "/nosuch/path", b"");
    assert_eq!(code, 404);
    let (code, body) = s.http("GET", "/_ping", b"");
    assert_eq!((code, body.as_str()), (200, "OK"));
}
