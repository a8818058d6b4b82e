//! `berth system service` as a plain user (`berth-rootless`, the rootless tests' user): the
//! default socket `$XDG_RUNTIME_DIR/berth/berth.sock` (0600, the user's), and the real
//! clients on it as that user: the docker CLI (`run --rm`, `images`, `ps`, `exec`, `exec -it`
//! under a pty, `build` of a multi-stage context, `push`/`pull` with the local registry on
//! 127.0.0.1, `run -d -p` through pasta fetched on 127.0.0.1), docker-py (its lifecycle script
//! without the bridge network step: berth has no rootless bridge yet), and docker-compose 1.29
//! (tests/clients/compose-rootless: a built service, a published port through pasta, a named
//! volume shared with a second service). Each test kills its service by the pid it recorded,
//! then checks that nothing of it is left (`Rootless::finish`).

use std::ffi::OsStr;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};

use crate::docker_api::docker_bin;
use crate::docker_clients::assert_docker_py_steps;
use crate::registry_harness::Registry;
use crate::rootless::{text, USER};
use crate::rootless_run::Rootless;
use crate::run::wait_until;
use crate::run_network::{fetch, free_port};
use crate::util::require_tool;

fn clients_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients")
}

/// The user's service on its default socket, and the clients run as the user on it.
struct UserService {
    r: Rootless,
    child: Child,
    sock: PathBuf,
}

impl UserService {
    /// berth-rootless with busybox imported (as `bb` and `busybox`), its service started with
    /// no URI: the socket must be the rootless default.
    fn start() -> UserService {
        let r = Rootless::with_busybox();
        r.ok("$BERTH tag bb busybox");
        let sock = r.env.path("run/berth/berth.sock");
        let pid_file = r.env.path("service.pid");
        let log = r.env.path("service.log");
        let script = format!(
            "echo $$ > {}; exec $BERTH system service --time 0 2> {}",
            pid_file.display(),
            log.display()
        );
        let child = Self::user_command(&r, &[], "sh")
            .args(["-c", &script])
            // runuser's own word on the service's end ("Killed") is not the test's output.
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn the user's service");
        let s = UserService { r, child, sock };
        wait_until("the rootless service's socket", || {
            std::os::unix::net::UnixStream::connect(&s.sock).is_ok()
        });
        s
    }

    /// `program` as the user: HOME and XDG_RUNTIME_DIR in the test dir, `BERTH`, and `envs`.
    fn user_command(r: &Rootless, envs: &[(&str, String)], program: impl AsRef<OsStr>) -> Command {
        let mut cmd = Command::new(require_tool("runuser"));
        cmd.args(["-u", USER, "--", "env", "-i"])
            .arg(format!("HOME={}", r.env.path("home").display()))
            .arg(format!("XDG_RUNTIME_DIR={}", r.env.path("run").display()))
            .arg("PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
            .arg(format!("BERTH={}", env!("CARGO_BIN_EXE_berth")));
        for (k, v) in envs {
            cmd.arg(format!("{k}={v}"));
        }
        cmd.arg(program);
        cmd
    }

    /// A client as the user with `DOCKER_HOST` on the service (the classic builder).
    fn client(&self, program: impl AsRef<OsStr>, envs: &[(&str, String)]) -> Command {
        let mut all = vec![
            ("DOCKER_HOST", format!("unix://{}", self.sock.display())),
            ("DOCKER_BUILDKIT", "0".to_string()),
        ];
        all.extend(envs.iter().cloned());
        Self::user_command(&self.r, &all, program)
    }

    fn docker(&self, args: &[&str]) -> Output {
        self.client(docker_bin(), &[])
            .args(args)
            .output()
            .expect("spawn docker")
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.docker(args);
        assert!(out.status.success(), "docker {args:?}: {}", text(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The service's pid, as its shell wrote it before `exec`.
    fn pid(&self) -> i32 {
        let text = fs::read_to_string(self.r.env.path("service.pid")).unwrap();
        text.trim().parse().unwrap()
    }

    /// Stop the service (its pid), then check nothing of the test is left.
    fn finish(mut self) {
        self.stop();
        self.r.finish();
    }

    fn stop(&mut self) {
        if let Ok(pid) = fs::read_to_string(self.r.env.path("service.pid")) {
            if let Ok(pid) = pid.trim().parse::<i32>() {
                // SAFETY: kill(2) on the service this test started, by the pid it wrote.
                unsafe {
                    libc::kill(pid, libc::SIGKILL);
                }
            }
        }
        let _ = self.child.wait();
    }
}

impl Drop for UserService {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A directory the user owns under the test dir, with `files` in it.
fn user_dir(r: &Rootless, name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = r.env.path(name);
    fs::create_dir_all(&dir).unwrap();
    for (f, body) in files {
        fs::write(dir.join(f), body).unwrap();
    }
    let chown = Command::new("chown")
        .arg("-R")
        .arg(format!("{USER}:"))
        .arg(&dir)
        .status()
        .unwrap();
    assert!(chown.success());
    dir
}

#[test]
fn rootless_service_default_socket_and_the_docker_cli() {
    let s = UserService::start();
    // The default socket, the user's, 0600; the service runs as the user.
    let meta = fs::metadata(&s.sock).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let uid = fs::metadata(s.r.env.path("home")).unwrap().uid();
    assert_eq!(meta.uid(), uid);
    let status = fs::read_to_string(format!("/proc/{}/status", s.pid())).unwrap();
    let real_uid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|v| v.split_whitespace().next())
        .unwrap();
    assert_eq!(real_uid, uid.to_string(), "{status}");

    let images = s.ok(&["images", "--format", "{{.Repository}}:{{.Tag}}"]);
    assert!(images.contains("localhost/bb:latest"), "{images}");
    assert_eq!(s.ok(&["run", "--rm", "bb", "id", "-u"]), "0\n");
    let out = s.docker(&["run", "--rm", "bb", "sh", "-c", "echo err >&2; exit 3"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "err\n");

    // A published port through pasta, answered on 127.0.0.1; exec into it.
    let port = free_port();
    let publish = format!("127.0.0.1:{port}:80");
    s.ok(&[
        "run",
        "-d",
        "--name",
        "rlweb",
        "-p",
        &publish,
        "bb",
        "sh",
        "-c",
        "mkdir /www && echo rootless-web > /www/index.html && exec httpd -f -p 80 -h /www",
    ]);
    let ps = s.ok(&["ps", "--format", "{{.Names}} {{.Ports}}"]);
    assert_eq!(ps.trim(), format!("rlweb 127.0.0.1:{port}->80/tcp"));
    assert_eq!(
        fetch(&format!("http://127.0.0.1:{port}/")),
        "rootless-web\n"
    );
    assert_eq!(
        s.ok(&["exec", "rlweb", "cat", "/www/index.html"]),
        "rootless-web\n"
    );
    let out = s.docker(&["exec", "rlweb", "sh", "-c", "exit 4"]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    // `exec -it` under a pty (script(1) gives the CLI one).
    let out = s
        .client(require_tool("script"), &[])
        .args([
            "-qec",
            &format!(
                "{} exec -it rlweb sh -c 'tty; exit 6'",
                docker_bin().display()
            ),
            "/dev/null",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(6), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("/dev/pts/"),
        "{}",
        text(&out)
    );
    s.ok(&["rm", "-f", "rlweb"]);
    assert_eq!(s.ok(&["ps", "-aq"]).trim(), "");
    s.finish();
}

#[test]
fn rootless_service_build_push_and_pull() {
    let reg = Registry::start();
    let s = UserService::start();
    let ctx = user_dir(
        &s.r,
        "ctx",
        &[(
            "Dockerfile",
            "FROM bb AS builder\nRUN echo built > /o && chown 1000:1000 /o\n\
             FROM bb\nCOPY --from=builder /o /o\nRUN echo two >> /o\n",
        )],
    );
    let out = s.ok(&["build", "-t", "rlbuilt", ctx.to_str().unwrap()]);
    assert!(
        out.contains("Successfully tagged localhost/rlbuilt:latest"),
        "{out}"
    );
    assert_eq!(
        s.ok(&[
            "run",
            "--rm",
            "rlbuilt",
            "sh",
            "-c",
            "stat -c %u /o; cat /o"
        ]),
        "1000\nbuilt\ntwo\n"
    );
    let dest = reg.image("rootless/built:1");
    s.ok(&["tag", "rlbuilt", &dest]);
    let out = s.ok(&["push", &dest]);
    assert!(out.contains("1: digest: sha256:"), "{out}");
    s.ok(&["rmi", &dest, "rlbuilt"]);
    let out = s.ok(&["pull", &dest]);
    assert!(
        out.contains(&format!("Downloaded newer image for {dest}")),
        "{out}"
    );
    assert_eq!(s.ok(&["run", "--rm", &dest, "cat", "/o"]), "built\ntwo\n");
    // Removing the pulled image, with layers unpacked as subordinate ids, works as the user.
    s.ok(&["rmi", &dest]);
    s.finish();
}

#[test]
fn rootless_service_docker_py() {
    let probe = Command::new("/usr/bin/python3")
        .args(["-c", "import docker"])
        .output();
    assert!(
        probe.is_ok_and(|o| o.status.success()),
        "docker-py is not installed for /usr/bin/python3: run scripts/deps.sh (python3-docker)"
    );
    let s = UserService::start();
    let out = s
        .client("/usr/bin/python3", &[("PREFIX", "rlpy".to_string())])
        .arg(clients_dir().join("docker_py_lifecycle.py"))
        .args(["--skip", "networks"])
        .output()
        .unwrap();
    assert_docker_py_steps(
        &out,
        &[
            "ping",
            "images",
            "run",
            "logs-stream",
            "exec",
            "archive",
            "stop-remove",
            "volumes",
            "build",
        ],
    );
    assert_eq!(s.ok(&["ps", "-aq"]).trim(), "");
    assert_eq!(s.ok(&["volume", "ls", "-q"]).trim(), "");
    s.finish();
}

#[test]
fn rootless_service_docker_compose_with_a_published_port() {
    let bin = require_tool("docker-compose");
    let s = UserService::start();
    let port = free_port();
    let compose = |args: &[&str]| -> String {
        let out = s
            .client(&bin, &[("BERTH_TEST_PORT", port.to_string())])
            .args(["--ansi", "never", "-p", "rlcompose"])
            .args(args)
            .current_dir(clients_dir().join("compose-rootless"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "docker-compose {args:?}: {}",
            text(&out)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    compose(&["up", "-d", "--build"]);
    assert_eq!(fetch(&format!("http://127.0.0.1:{port}/")), "compose-web\n");
    // The second service read what the first wrote in the shared named volume.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let logs = compose(&["logs", "--no-color", "reader"]);
        if logs.contains("reader-done") {
            assert!(logs.contains("web-up"), "{logs}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{logs}");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let ps = compose(&["ps"]);
    assert!(
        ps.contains("rlcompose_web_1") && ps.contains("rlcompose_reader_1"),
        "{ps}"
    );
    compose(&["down", "-v"]);
    assert_eq!(s.ok(&["ps", "-aq"]).trim(), "");
    assert_eq!(s.ok(&["volume", "ls", "-q"]).trim(), "");
    s.r.ok("$BERTH rmi rlcompose_web >/dev/null");
    s.finish();
}
