//! Real Docker clients other than the CLI against `berth system service`, as root with
//! netavark: docker-py (Debian's python3-docker; the script is tests/clients/
//! docker_py_lifecycle.py) and docker-compose 1.29 (Debian's; the project is
//! tests/clients/compose). Each test uses names of its own and removes its networks even
//! when it fails; traffic goes only to 127.0.0.1 and inside the networks it made.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::docker_api::{docker_bin, Service};
use crate::run_network::{fetch, free_port, unique, wired};
use crate::util::require_tool;

fn clients_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients")
}

fn text(out: &Output) -> String {
    format!(
        "{:?}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Networks whose names start with `prefix` are removed (with their containers, through
/// berth's CLI on the service's store) when dropped, whatever the test did.
struct NetworksOf<'a> {
    s: &'a Service,
    prefix: String,
}

impl Drop for NetworksOf<'_> {
    fn drop(&mut self) {
        let _ = self.s.r.cmd(&["rm", "-f", "-a"]).output();
        let ls = self.s.r.run(&["network", "ls", "-q"]);
        for name in String::from_utf8_lossy(&ls.stdout).lines() {
            if name.starts_with(&self.prefix) {
                let _ = self.s.r.run(&["network", "rm", "-f", name]);
            }
        }
    }
}

/// Steps of the docker-py script left out (none: every endpoint it drives is served).
const DOCKER_PY_SKIPS: &str = "";

#[test]
fn docker_py_lifecycle_networks_and_volumes() {
    if !wired() {
        return;
    }
    let python = Path::new("/usr/bin/python3");
    let probe = Command::new(python).args(["-c", "import docker"]).output();
    assert!(
        probe.is_ok_and(|o| o.status.success()),
        "docker-py is not installed for /usr/bin/python3: run scripts/deps.sh (python3-docker)"
    );
    let s = Service::start();
    let prefix = unique("apinv-py");
    let _networks = NetworksOf {
        s: &s,
        prefix: prefix.clone(),
    };
    let out = Command::new(python)
        .arg(clients_dir().join("docker_py_lifecycle.py"))
        .args(["--skip", DOCKER_PY_SKIPS])
        .env("DOCKER_HOST", format!("unix://{}", s.sock.display()))
        .env("PREFIX", &prefix)
        .env_remove("DOCKER_CONFIG")
        .output()
        .expect("spawn python3");
    assert_docker_py_steps(
        &out,
        &[
            "ping",
            "images",
            "run",
            "logs-stream",
            "stop-remove",
            "networks",
            "volumes",
        ],
    );
    s.r.assert_no_leftovers();
}

/// The docker-py script succeeded, said `ok STEP` for each of `steps`, and got to its end.
pub(crate) fn assert_docker_py_steps(out: &Output, steps: &[&str]) {
    assert!(out.status.success(), "docker-py: {}", text(out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    for step in steps {
        assert!(
            stdout.lines().any(|l| l == format!("ok {step}")),
            "{step}: {}",
            text(out)
        );
    }
    assert!(stdout.ends_with("done\n"), "{}", text(out));
}

/// docker-compose in the project directory, on the service's socket.
fn compose(s: &Service, project: &str, port: u16, args: &[&str]) -> Output {
    let bin = require_tool("docker-compose");
    let config = s.r.env.path("docker-config");
    std::fs::create_dir_all(&config).unwrap();
    // `docker` on PATH for the commands compose hands to the CLI.
    let path = format!(
        "{}:{}",
        docker_bin().parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    Command::new(bin)
        .args(["--no-ansi", "-p", project])
        .args(args)
        .current_dir(clients_dir().join("compose"))
        .env("DOCKER_HOST", format!("unix://{}", s.sock.display()))
        .env("DOCKER_CONFIG", &config)
        .env("BERTH_TEST_PORT", port.to_string())
        .env("PATH", path)
        .env_remove("DOCKER_CONTEXT")
        .env_remove("COMPOSE_FILE")
        .env_remove("COMPOSE_PROJECT_NAME")
        .output()
        .expect("spawn docker-compose")
}

fn compose_ok(s: &Service, project: &str, port: u16, args: &[&str]) -> String {
    let out = compose(s, project, port, args);
    assert!(
        out.status.success(),
        "docker-compose {args:?}: {}",
        text(&out)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn docker_compose_up_curl_logs_and_down_leaves_nothing() {
    if !wired() {
        return;
    }
    let s = Service::start();
    // compose keeps [a-z0-9_-] of the project name.
    let project = unique("apinvcompose").replace('.', "");
    let _networks = NetworksOf {
        s: &s,
        prefix: project.clone(),
    };
    let port = free_port();
    compose_ok(&s, &project, port, &["up", "-d", "--build"]);
    assert_eq!(fetch(&format!("http://127.0.0.1:{port}/")), "compose-web\n");
    // client reached web by its service name, on the project's network.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(40);
    let logs = loop {
        let logs = compose_ok(&s, &project, port, &["logs", "--no-color", "client"]);
        if logs.contains("client-done") {
            break logs;
        }
        assert!(std::time::Instant::now() < deadline, "{logs}");
        std::thread::sleep(std::time::Duration::from_millis(300));
    };
    assert!(logs.contains("compose-web"), "{logs}");
    let ps = compose_ok(&s, &project, port, &["ps"]);
    assert!(
        ps.contains(&format!("{project}_web_1")) && ps.contains(&format!("{project}_client_1")),
        "{ps}"
    );
    let network = format!("{project}_backend");
    let volume = format!("{project}_data");
    assert!(s.ok(&["network", "inspect", &network]).contains(&network));
    // The named volume is shared: client sees what web wrote.
    let mount = format!("{volume}:/data");
    assert_eq!(
        s.ok(&["run", "--rm", "-v", &mount, "busybox", "cat", "/data/web"]),
        "web-up\n"
    );
    compose_ok(&s, &project, port, &["down", "-v"]);
    let label = format!("label=com.docker.compose.project={project}");
    assert_eq!(s.ok(&["ps", "-aq", "--filter", &label]).trim(), "");
    assert!(!s.docker(&["network", "inspect", &network]).status.success());
    assert!(!s.docker(&["volume", "inspect", &volume]).status.success());
    assert_eq!(s.ok(&["volume", "ls", "-q"]).trim(), "");
    s.r.assert_no_leftovers();
}
