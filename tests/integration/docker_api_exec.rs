//! The API's container-interaction endpoints (issue 16) driven by the real docker CLI, as
//! root, on the harness of `docker_api`: `exec` (exit codes, streams, stdin), `exec -it` and
//! `run -it` on a pty this test drives (detach keys), `cp` both ways, `restart`, `top`,
//! `stats --no-stream`, `export`. Hostile: an archive PUT whose entries climb out of the
//! container, sent by curl, writes nothing outside and gets Docker's error body.

use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::archives::raw_name;
use crate::docker_api::Service;
use crate::run::wait_until;
use crate::run_detach::OnPty;

/// docker's `ps -a` line of `name` (empty when none).
fn ps_line(s: &Service, name: &str) -> String {
    s.ok(&["ps", "-a", "--format", "{{.Names}} {{.Status}}"])
        .lines()
        .find(|l| l.split_whitespace().next() == Some(name))
        .unwrap_or("")
        .to_string()
}

#[test]
fn docker_exec_restart_top_stats_export() {
    let s = Service::start();
    let name = "api-exec-x";
    s.ok(&["run", "-d", "--name", name, "busybox", "sleep", "999"]);

    // Non-tty exec: both streams, the exit code, env and working directory, stdin.
    let out = s.docker(&["exec", name, "sh", "-c", "echo out; echo err >&2; exit 3"]);
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "out\n");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "err\n");
    let env = s.ok(&[
        "exec",
        "-e",
        "A=1",
        "-w",
        "/tmp",
        name,
        "sh",
        "-c",
        "echo $A $(pwd)",
    ]);
    assert_eq!(env, "1 /tmp\n");
    let mut child = s
        .command(&["exec", "-i", name, "sh", "-c", "tr a-z A-Z"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"piped\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "PIPED\n", "{out:?}");
    let out = s.docker(&["exec", name, "/nonexistent"]);
    assert_eq!(out.status.code(), Some(127), "{out:?}");
    // `run -i` without a terminal: the attach carries the container's standard input.
    let mut child = s
        .command(&[
            "run",
            "-i",
            "--rm",
            "busybox",
            "sh",
            "-c",
            "tr a-z A-Z; exit 6",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"run input\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(6), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "RUN INPUT\n",
        "{out:?}"
    );

    // A detached exec through the raw API: started at once, its end and code in its json.
    let (code, body) = s.http(
        "POST",
        &format!("/v1.41/containers/{name}/exec"),
        br#"{"Cmd": ["sh", "-c", "sleep 0.3; exit 7"], "AttachStdout": true}"#,
    );
    assert_eq!(code, 201, "{body}");
    let id = serde_json::from_str::<serde_json::Value>(&body).unwrap()["Id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(id.len(), 64, "{id}");
    let (code, body) = s.http("POST", &format!("/exec/{id}/start"), br#"{"Detach": true}"#);
    assert_eq!(code, 200, "{body}");
    let json = || {
        let (code, body) = s.http("GET", &format!("/exec/{id}/json"), b"");
        assert_eq!(code, 200, "{body}");
        serde_json::from_str::<serde_json::Value>(&body).unwrap()
    };
    wait_until("the detached exec's end", || json()["Running"] == false);
    let v = json();
    assert_eq!(v["ExitCode"], 7, "{v}");
    assert_eq!(v["ProcessConfig"]["entrypoint"], "sh", "{v}");
    let (code, body) = s.http("POST", &format!("/exec/{id}/start"), b"{}");
    assert_eq!(code, 409, "started twice: {body}");
    let (code, body) = s.http("GET", "/exec/nosuch/json", b"");
    assert_eq!(code, 404, "{body}");
    assert!(body.contains("No such exec instance"), "{body}");

    // top: ps -ef's columns by default, descriptors as ps_args.
    let top = s.ok(&["top", name]);
    let head = top.lines().next().unwrap_or("");
    assert!(head.contains("PID") && head.contains("CMD"), "{top}");
    assert!(top.contains("sleep 999"), "{top}");
    let top = s.ok(&["top", name, "pid,args"]);
    assert!(top.contains("sleep 999"), "{top}");

    // stats: one sample.
    let stats = s.ok(&[
        "stats",
        "--no-stream",
        "--format",
        "{{.Name}} {{.MemUsage}} {{.PIDs}}",
        name,
    ]);
    assert!(stats.starts_with(&format!("{name} ")), "{stats}");
    assert!(stats.contains("iB / "), "{stats}");
    let pids: u32 = stats.split_whitespace().last().unwrap().parse().unwrap();
    assert!(pids >= 1, "{stats}");

    // export: the rootfs as a tar, with what the container wrote.
    s.ok(&["exec", name, "sh", "-c", "echo mark > /marker"]);
    let tar = s.r.env.path("export.tar");
    s.ok(&["export", "-o", tar.to_str().unwrap(), name]);
    let list = Command::new("tar").arg("tf").arg(&tar).output().unwrap();
    let list = String::from_utf8_lossy(&list.stdout);
    assert!(
        list.lines().any(|l| l.trim_start_matches("./") == "marker"),
        "{list}"
    );
    assert!(
        list.lines().any(|l| l.trim_start_matches("./") == "bin/sh"),
        "{list}"
    );

    // restart: a new process, running again.
    let pid = |s: &Service| s.ok(&["inspect", "--format", "{{.State.Pid}}", name]);
    let before = pid(&s);
    s.ok(&["restart", "-t", "0", name]);
    assert!(ps_line(&s, name).contains("Up"), "{}", ps_line(&s, name));
    assert_ne!(pid(&s), before);
    assert_eq!(s.ok(&["exec", name, "echo", "again"]), "again\n");
    s.ok(&["rm", "-f", name]);
}

#[test]
fn docker_exec_it_and_run_it_on_a_pty() {
    let s = Service::start();
    let name = "api-exec-t";
    s.ok(&["run", "-d", "--name", name, "busybox", "sleep", "999"]);
    let mut p = OnPty::spawn_cmd(s.command(&["exec", "-it", name, "sh"]));
    p.wait_for("/ # ");
    p.send(b"tty; echo $((6*7))\n");
    p.wait_for("42");
    assert!(p.output().contains("/dev/pts/"), "{}", p.output());
    p.send(b"exit 5\n");
    assert_eq!(p.exit_code(), 5, "{}", p.output());
    s.ok(&["rm", "-f", name]);

    // run -it: the terminal through the attach, then Ctrl-P Ctrl-Q leaves it running.
    let name = "api-exec-it";
    let mut p = OnPty::spawn_cmd(s.command(&["run", "-it", "--name", name, "busybox", "sh"]));
    p.wait_for("/ # ");
    p.send(b"echo $((6*7))x\n");
    p.wait_for("42x");
    p.send(b"\x10\x11");
    assert_eq!(p.exit_code(), 0, "{}", p.output());
    assert!(ps_line(&s, name).contains("Up"), "{}", ps_line(&s, name));
    // Attach again, and leave by ending the shell: its code is docker's.
    let mut p = OnPty::spawn_cmd(s.command(&["attach", name]));
    std::thread::sleep(std::time::Duration::from_millis(500));
    p.send(b"exit 4\n");
    assert_eq!(p.exit_code(), 4, "{}", p.output());
    wait_until("the container exited", || {
        ps_line(&s, name).contains("Exited")
    });
    s.ok(&["rm", name]);
}

/// `--restart` (`HostConfig.RestartPolicy`): the container's monitor restarts it as for
/// `berth run -d --restart`; with `--rm` refused in Podman's words.
#[test]
fn docker_run_restart_policy() {
    let s = Service::start();
    let name = "api-exec-restart";
    s.ok(&[
        "run",
        "-d",
        "--name",
        name,
        "--restart",
        "on-failure:2",
        "busybox",
        "sh",
        "-c",
        "exit 3",
    ]);
    let template = "{{.State.Status}} {{.RestartCount}}";
    let done = || s.r.ok(&["inspect", "--format", template, name]).trim() == "exited 2";
    wait_until("two restarts, then exited", done);
    assert_eq!(
        s.r.ok(&["inspect", "--format", template, name]).trim(),
        "exited 2"
    );
    let policy = s.r.ok(&[
        "inspect",
        "--format",
        "{{.HostConfig.RestartPolicy.Name}}",
        name,
    ]);
    assert_eq!(policy.trim(), "on-failure");
    // The docker CLI refuses `--rm --restart` itself; the service refuses the body too.
    let body = br#"{"Image":"busybox","HostConfig":{"AutoRemove":true,"RestartPolicy":{"Name":"always"}}}"#;
    let (code, text) = s.http("POST", "/v1.41/containers/create", body);
    assert_eq!(code, 400, "{text}");
    assert!(text.contains("conflicts with --restart"), "{text}");
    let body = br#"{"Image":"busybox","HostConfig":{"RestartPolicy":{"Name":"sometimes"}}}"#;
    let (code, text) = s.http("POST", "/v1.41/containers/create", body);
    assert_eq!(code, 400, "{text}");
    s.ok(&["rm", "-f", name]);
}

#[test]
fn docker_cp_both_ways() {
    let s = Service::start();
    let name = "api-exec-cp";
    s.ok(&["run", "-d", "--name", name, "busybox", "sleep", "999"]);
    let host = s.r.env.path("cp");
    fs::create_dir_all(host.join("tree/sub")).unwrap();
    fs::write(host.join("tree/a.txt"), "alpha\n").unwrap();
    fs::write(host.join("tree/sub/b.txt"), "beta\n").unwrap();
    fs::write(host.join("one.txt"), "one\n").unwrap();
    let h = |p: &str| host.join(p).to_string_lossy().to_string();

    // In: a file into a directory, a file under a new name, a directory as a new one.
    s.ok(&["cp", &h("one.txt"), &format!("{name}:/tmp/")]);
    s.ok(&["cp", &h("one.txt"), &format!("{name}:/tmp/renamed.txt")]);
    s.ok(&["cp", &h("tree"), &format!("{name}:/newdir")]);
    let cat = s.ok(&[
        "exec",
        name,
        "cat",
        "/tmp/one.txt",
        "/tmp/renamed.txt",
        "/newdir/a.txt",
        "/newdir/sub/b.txt",
    ]);
    assert_eq!(cat, "one\none\nalpha\nbeta\n");
    // `docker diff` (the changes endpoint): what the copies changed, as `berth diff` lists it.
    let diff = s.ok(&["diff", name]);
    for line in [
        "C /tmp",
        "A /tmp/one.txt",
        "A /tmp/renamed.txt",
        "A /newdir/sub/b.txt",
    ] {
        assert!(diff.lines().any(|l| l == line), "{line} in {diff}");
    }
    assert_eq!(diff, s.r.ok(&["diff", name]), "the CLI's list");

    // Out: a file, and a directory as a new one on the host.
    s.ok(&[
        "exec",
        name,
        "sh",
        "-c",
        "mkdir -p /out/d && echo gamma > /out/d/c.txt",
    ]);
    s.ok(&["cp", &format!("{name}:/out/d/c.txt"), &h("c.txt")]);
    assert_eq!(fs::read_to_string(host.join("c.txt")).unwrap(), "gamma\n");
    s.ok(&["cp", &format!("{name}:/out"), &h("fromctr")]);
    assert_eq!(
        fs::read_to_string(host.join("fromctr/d/c.txt")).unwrap(),
        "gamma\n"
    );
    let out = s.docker(&["cp", &format!("{name}:/nosuch"), &h("x")]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Could not find the file"),
        "{out:?}"
    );

    // A stopped container too (its snapshot mounted for the copy).
    s.ok(&["stop", "-t", "0", name]);
    s.ok(&["cp", &format!("{name}:/tmp/one.txt"), &h("stopped.txt")]);
    assert_eq!(
        fs::read_to_string(host.join("stopped.txt")).unwrap(),
        "one\n"
    );
    s.ok(&["rm", name]);
}

enum Entry {
    File(&'static str),
    Symlink(String),
}

fn tar_of(entries: &[(&str, Entry)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, kind) in entries {
        let mut h = tar::Header::new_gnu();
        h.set_mode(0o644);
        h.set_mtime(1_700_000_000);
        let data: &[u8] = match kind {
            Entry::File(d) => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_size(d.len() as u64);
                d.as_bytes()
            }
            Entry::Symlink(t) => {
                h.set_entry_type(tar::EntryType::Symlink);
                h.set_size(0);
                h.set_link_name(t).unwrap();
                &[]
            }
        };
        raw_name(&mut h, name);
        h.set_cksum();
        b.append(&h, data).unwrap();
    }
    b.into_inner().unwrap()
}

/// PUT `tar` to the archive endpoint with curl; (status, body).
fn put_archive(s: &Service, container: &str, path: &str, tar: &[u8]) -> (u16, String) {
    let file = s.r.env.path("put.tar");
    fs::write(&file, tar).unwrap();
    let out = Command::new(crate::util::require_tool("curl"))
        .args(["-s", "-o", "-", "-w", "\n%{http_code}", "-X", "PUT"])
        .arg("--unix-socket")
        .arg(&s.sock)
        .arg("-H")
        .arg("Content-Type: application/x-tar")
        .arg("--data-binary")
        .arg(format!("@{}", file.display()))
        .arg(format!(
            "http://berth/v1.41/containers/{container}/archive?path={path}"
        ))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", ""));
    (code.trim().parse().unwrap_or(0), body.to_string())
}

#[test]
fn hostile_archive_put_writes_nothing_outside() {
    let s = Service::start();
    let name = "api-exec-hostile";
    s.ok(&["run", "-d", "--name", name, "busybox", "sleep", "999"]);
    let outside = s.r.env.path("outside");
    fs::create_dir_all(&outside).unwrap();
    let target = outside.to_string_lossy().to_string();
    let escape = format!("../../../../../../../..{target}/climbed");
    let abs = format!("{target}/absolute");
    let link_to = target.clone();
    let cases: Vec<(&str, Vec<(&str, Entry)>)> = vec![
        ("dotdot", vec![(escape.as_str(), Entry::File("x"))]),
        (
            "symlink-then-through",
            vec![
                ("link", Entry::Symlink(link_to)),
                ("link/through", Entry::File("x")),
            ],
        ),
    ];
    for (what, entries) in &cases {
        let (code, body) = put_archive(&s, name, "/tmp", &tar_of(entries));
        assert!((400..600).contains(&code), "{what}: {code} {body}");
        let v: serde_json::Value = serde_json::from_str(&body)
            .unwrap_or_else(|e| panic!("{what}: not Docker's error body ({e}): {body}"));
        assert!(
            v["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{what}: {body}"
        );
    }
    // An absolute name lands inside the container (Docker strips the `/`), never on the host.
    let (code, body) = put_archive(
        &s,
        name,
        "/tmp",
        &tar_of(&[(abs.as_str(), Entry::File("x"))]),
    );
    assert!(code == 200 || (400..600).contains(&code), "{code} {body}");
    let left: Vec<_> = fs::read_dir(&outside).unwrap().flatten().collect();
    assert!(left.is_empty(), "written outside the container: {left:?}");
    assert!(!Path::new(&target).join("climbed").exists());
    // A path that climbs out is cleaned below the container's root.
    let (code, body) = put_archive(
        &s,
        name,
        "/../../tmp",
        &tar_of(&[("ok.txt", Entry::File("ok"))]),
    );
    assert_eq!(code, 200, "{body}");
    assert_eq!(s.ok(&["exec", name, "cat", "/tmp/ok.txt"]), "ok");
    s.ok(&["rm", "-f", name]);
}
