//! The event log (`berth events`, the API's `/events`), `pause`/`unpause` and `rename`,
//! as root. Every `events` call here is bounded (`--stream=false`, or an `--until`), so no
//! test waits on a follow stream; each test has its own run root, hence its own log.

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::docker_api::Service;
use crate::run::{busybox, wait_until, RunEnv};

/// Run `cmd` and require it to end within `secs` (killing it by its pid otherwise).
fn bounded(mut cmd: Command, secs: u64) -> Output {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(secs);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} still running after {secs} s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

fn lines_with<'a>(text: &'a str, needle: &str) -> Vec<&'a str> {
    text.lines().filter(|l| l.contains(needle)).collect()
}

#[test]
fn events_of_a_run_stop_rm_and_an_image_tag_rmi() {
    let r = busybox();
    let id = r
        .ok(&["run", "-d", "--name", "events-a", "busybox", "sleep", "100"])
        .trim()
        .to_string();
    r.ok(&["stop", "-t", "0", "events-a"]);
    r.ok(&["rm", "events-a"]);
    let (code, _, _) = r.code(&["run", "--name", "events-b", "busybox", "sh", "-c", "exit 3"]);
    assert_eq!(code, Some(3));
    r.ok(&["tag", "busybox", "events-tag:1"]);
    r.ok(&["rmi", "events-tag:1"]);

    let after = chrono::Utc::now().to_rfc3339();
    let all = r.ok(&["events", "--stream=false"]);
    for status in [
        "create", "init", "start", "stop", "died", "cleanup", "remove",
    ] {
        let want =
            format!("container {status} {id} (image=localhost/busybox:latest, name=events-a)");
        assert_eq!(lines_with(&all, &want).len(), 1, "{want}\n{all}");
    }
    // Podman's order for the first container.
    let order: Vec<&str> = all
        .lines()
        .filter(|l| l.contains(&id))
        .map(|l| l.split(' ').nth(5).unwrap())
        .collect();
    assert_eq!(
        order,
        ["create", "init", "start", "stop", "died", "cleanup", "remove"]
    );
    // `2026-12-07 16:43:33.879234471 +0000 UTC container …`, as Podman 4.3 prints it.
    let first = all.lines().next().unwrap();
    let words: Vec<&str> = first.split(' ').collect();
    assert_eq!((words[2], words[3]), ("+0000", "UTC"), "{first}");
    assert!(words[1].contains(':') && words[0].len() == 10, "{first}");
    assert_eq!(lines_with(&all, "container attach ").len(), 1, "{all}");
    let tag = lines_with(&all, "image tag ");
    assert!(
        tag.len() == 1 && tag[0].ends_with(" localhost/events-tag:1"),
        "{all}"
    );
    assert_eq!(lines_with(&all, "image untag ").len(), 1, "{all}");

    // --filter: one key's values are alternatives, keys must all match.
    let died = r.ok(&[
        "events",
        "--stream=false",
        "--filter",
        "event=died",
        "--format",
        "json",
    ]);
    let died: Vec<serde_json::Value> = died
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(died.len(), 2, "{died:?}");
    assert_eq!(died[0]["Name"], "events-a");
    assert_eq!(died[0]["Type"], "container");
    assert_eq!(died[0]["ContainerExitCode"], 137);
    assert_eq!(died[1]["Name"], "events-b");
    assert_eq!(died[1]["ContainerExitCode"], 3);
    let images = r.ok(&["events", "--stream=false", "--filter", "type=image"]);
    assert!(
        !images.is_empty() && images.lines().all(|l| l.contains(" image ")),
        "{images}"
    );
    let one = r.ok(&[
        "events",
        "--stream=false",
        "--filter",
        "container=events-b",
        "--filter",
        "event=start",
        "--filter",
        "event=died",
        "--format",
        "{{.Status}} {{.Name}} {{.ContainerExitCode}}",
    ]);
    assert_eq!(one, "start events-b 0\ndied events-b 3\n");
    let (code, _, err) = r.code(&["events", "--stream=false", "--filter", "colour=red"]);
    assert_eq!(code, Some(125), "{err}");
    assert!(err.contains("colour"), "{err}");

    // --since after everything: nothing; --until in the past ends (the default follows).
    let none = r.ok(&[
        "events",
        "--stream=false",
        "--since",
        "2099-01-01T00:00:00Z",
    ]);
    assert_eq!(none, "");
    let out = bounded(r.cmd(&["events", "--since", "10m", "--until", &after]), 20);
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), all);
}

#[test]
fn events_follow_until_a_time_and_see_new_events() {
    let r = busybox();
    let until = (chrono::Utc::now() + chrono::Duration::seconds(3)).to_rfc3339();
    let follower = r
        .cmd(&["events", "--until", &until, "--filter", "type=image"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    r.ok(&["tag", "busybox", "events-follow:1"]);
    let started = Instant::now();
    let out = follower.wait_with_output().unwrap();
    assert!(started.elapsed() < Duration::from_secs(10));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("image tag ") && text.contains("localhost/events-follow:1"),
        "{text}"
    );
}

/// The freezer state of a container's init, from its v1 or v2 cgroup.
fn frozen(pid: &str) -> bool {
    let cgroups = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    for line in cgroups.lines() {
        if let Some(path) = line.strip_prefix(|c: char| c.is_ascii_digit()) {
            if let Some(p) = path.strip_prefix(":freezer:") {
                let state =
                    std::fs::read_to_string(format!("/sys/fs/cgroup/freezer{p}/freezer.state"))
                        .unwrap();
                return state.trim() == "FROZEN";
            }
        }
    }
    let p = cgroups.lines().find_map(|l| l.strip_prefix("0::")).unwrap();
    let events = std::fs::read_to_string(format!("/sys/fs/cgroup{p}/cgroup.events")).unwrap();
    events.lines().any(|l| l == "frozen 1")
}

fn log_lines(r: &RunEnv, name: &str) -> usize {
    r.ok(&["logs", name]).lines().count()
}

#[test]
fn pause_freezes_and_unpause_thaws() {
    let r = busybox();
    r.ok(&[
        "run",
        "-d",
        "--name",
        "events-p",
        "busybox",
        "sh",
        "-c",
        "while true; do echo tick; sleep 0.05; done",
    ]);
    wait_until("output", || log_lines(&r, "events-p") > 2);
    let pid = r
        .ok(&["inspect", "--format", "{{.State.Pid}}", "events-p"])
        .trim()
        .to_string();
    let id = r.ok(&["pause", "events-p"]);
    assert_eq!(id.trim().len(), 64, "{id}");
    assert!(frozen(&pid));
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    assert!(status.contains("State:\tD"), "{status}");
    assert_eq!(
        r.ok(&["ps", "--format", "{{.Names}} {{.Status}}"]).trim(),
        "events-p Paused"
    );
    assert_eq!(
        r.ok(&[
            "inspect",
            "--format",
            "{{.State.Status}} {{.State.Paused}} {{.State.Running}}",
            "events-p"
        ])
        .trim(),
        "paused true false"
    );
    // Frozen: no output while paused.
    let before = log_lines(&r, "events-p");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(log_lines(&r, "events-p"), before);
    let (code, _, err) = r.code(&["pause", "events-p"]);
    assert_eq!(code, Some(125));
    assert!(err.contains("is paused"), "{err}");
    let (code, _, err) = r.code(&["exec", "events-p", "true"]);
    assert_ne!(code, Some(0), "exec into a paused container: {err}");

    r.ok(&["unpause", "events-p"]);
    assert!(!frozen(&pid));
    wait_until("output after unpause", || {
        log_lines(&r, "events-p") > before + 2
    });
    let (code, _, err) = r.code(&["unpause", "events-p"]);
    assert_eq!(code, Some(125));
    assert!(err.contains("not paused"), "{err}");

    // --all, then a paused container stops as Podman's does.
    r.ok(&["run", "-d", "--name", "events-q", "busybox", "sleep", "100"]);
    let paused = r.ok(&["pause", "--all"]);
    assert_eq!(paused.lines().count(), 2, "{paused}");
    r.ok(&["stop", "-t", "1", "events-p"]);
    assert_eq!(
        r.ok(&["inspect", "--format", "{{.State.Status}}", "events-p"])
            .trim(),
        "exited"
    );
    r.ok(&["kill", "events-q"]);
    wait_until("events-q exited", || {
        r.ok(&["inspect", "--format", "{{.State.Status}}", "events-q"])
            .trim()
            == "exited"
    });
    let (code, _, err) = r.code(&["pause", "events-q"]);
    assert_eq!(code, Some(125));
    assert!(err.contains("not running"), "{err}");
    let ev = r.ok(&[
        "events",
        "--stream=false",
        "--filter",
        "event=pause",
        "--filter",
        "event=unpause",
        "--format",
        "{{.Status}} {{.Name}}",
    ]);
    let mut ev: Vec<&str> = ev.lines().collect();
    ev[2..].sort();
    assert_eq!(
        ev,
        [
            "pause events-p",
            "unpause events-p",
            "pause events-p",
            "pause events-q"
        ]
    );
    r.ok(&["rm", "-a"]);
    r.assert_no_leftovers();
}

#[test]
fn rename_changes_the_name_and_refuses_a_taken_one() {
    let r = busybox();
    let id = r
        .ok(&["create", "--name", "events-r1", "busybox", "true"])
        .trim()
        .to_string();
    r.ok(&["create", "--name", "events-r2", "busybox", "true"]);
    r.ok(&["rename", "events-r1", "events-r3"]);
    let names = r.ok(&["ps", "-a", "--format", "{{.Names}}"]);
    let mut names: Vec<&str> = names.lines().collect();
    names.sort();
    assert_eq!(names, ["events-r2", "events-r3"]);
    assert_eq!(
        r.ok(&["inspect", "--format", "{{.Id}}", "events-r3"])
            .trim(),
        id
    );
    let (code, _, err) = r.code(&["inspect", "events-r1"]);
    assert_eq!(code, Some(125), "{err}");
    let (code, _, err) = r.code(&["rename", "events-r3", "events-r2"]);
    assert_eq!(code, Some(125));
    assert!(
        err.contains("events-r2") && err.contains("already in use"),
        "{err}"
    );
    let (code, _, err) = r.code(&["rename", "events-r3", "bad name"]);
    assert_eq!(code, Some(125));
    assert!(err.contains("invalid container name"), "{err}");
    // The container runs under its new name.
    r.ok(&["start", "events-r3"]);
    let ev = r.ok(&[
        "events",
        "--stream=false",
        "--filter",
        "event=rename",
        "--format",
        "{{.Status}} {{.ID}} {{.Name}}",
    ]);
    assert_eq!(ev, format!("rename {id} events-r3\n"));
}

#[test]
fn docker_cli_events_pause_and_rename() {
    let s = Service::start();
    let since = chrono::Utc::now().timestamp().to_string();
    s.ok(&["create", "--name", "events-d", "busybox", "sleep", "100"]);
    s.ok(&["start", "events-d"]);
    s.ok(&["pause", "events-d"]);
    assert_eq!(
        s.ok(&[
            "inspect",
            "-f",
            "{{.State.Status}} {{.State.Paused}}",
            "events-d"
        ])
        .trim(),
        "paused true"
    );
    let paused = s.ok(&["ps", "--filter", "status=paused", "--format", "{{.Names}}"]);
    assert_eq!(paused.trim(), "events-d");
    s.ok(&["unpause", "events-d"]);
    let paused = s.ok(&["ps", "--filter", "status=paused", "--format", "{{.Names}}"]);
    assert_eq!(paused.trim(), "");
    s.ok(&["rename", "events-d", "events-d2"]);
    let names = s.ok(&["ps", "--format", "{{.Names}}"]);
    assert_eq!(names.trim(), "events-d2");
    s.ok(&["create", "--name", "events-d3", "busybox", "true"]);
    let out = s.docker(&["rename", "events-d2", "events-d3"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("already in use"),
        "{out:?}"
    );
    s.ok(&["rm", "-f", "events-d2", "events-d3"]);
    let until = (chrono::Utc::now().timestamp() + 1).to_string();

    let mut cmd = Command::new(crate::docker_api::docker_bin());
    cmd.arg("-H")
        .arg(format!("unix://{}", s.sock.display()))
        .args(["events", "--since", &since, "--until", &until])
        .env("DOCKER_CONFIG", s.r.env.path("docker-config"))
        .env_remove("DOCKER_HOST");
    let out = bounded(cmd, 30);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    for action in [
        "create", "start", "pause", "unpause", "rename", "stop", "die", "destroy",
    ] {
        assert!(
            text.lines()
                .any(|l| l.contains(&format!(" container {action} "))),
            "{action}:\n{text}"
        );
    }
    let pause = text
        .lines()
        .find(|l| l.contains(" container pause "))
        .unwrap();
    assert!(
        pause.contains("image=localhost/busybox:latest") && pause.contains("name=events-d"),
        "{pause}"
    );
    let filtered = s.ok(&[
        "events",
        "--since",
        &since,
        "--until",
        &until,
        "--filter",
        "event=rename",
        "--format",
        "{{.Action}} {{.Actor.Attributes.name}}",
    ]);
    assert_eq!(filtered, "rename events-d2\n");

    // Without --since, Docker sends only what happens from now on.
    let soon = (chrono::Utc::now().timestamp() + 2).to_string();
    let mut cmd = Command::new(crate::docker_api::docker_bin());
    cmd.arg("-H")
        .arg(format!("unix://{}", s.sock.display()))
        .args(["events", "--until", &soon])
        .env("DOCKER_CONFIG", s.r.env.path("docker-config"))
        .env_remove("DOCKER_HOST");
    let out = bounded(cmd, 30);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "");
}

#[test]
fn volume_and_network_events_rotation_and_no_logger() {
    let r = RunEnv::new();
    r.ok(&["volume", "create", "events-v"]);
    r.ok(&["volume", "rm", "events-v"]);
    let net = r
        .ok(&["network", "create", "events-net"])
        .trim()
        .to_string();
    r.ok(&["network", "rm", "events-net"]);
    let ev = r.ok(&[
        "events",
        "--stream=false",
        "--format",
        "{{.Type}} {{.Status}} {{.Name}}",
    ]);
    assert_eq!(
        ev,
        "volume create events-v\nvolume remove events-v\nnetwork create events-net\nnetwork remove events-net\n"
    );
    let text = r.ok(&["events", "--stream=false", "--filter", "type=network"]);
    assert!(text.contains(" network create "), "{text}");
    assert!(text.contains("(name=events-net)"), "{text}");
    assert!(!net.is_empty());

    // Past containers.conf's events_logfile_max_size, the newer half is kept behind a
    // `log-rotation` event.
    let conf = r.env.path("containers.conf");
    std::fs::write(&conf, "[engine]\nevents_logfile_max_size = \"2k\"\n").unwrap();
    for i in 0..30 {
        let mut cmd = r.cmd(&["volume", "create", &format!("events-rot{i}")]);
        assert!(cmd
            .env("CONTAINERS_CONF", &conf)
            .output()
            .unwrap()
            .status
            .success());
    }
    let log = r.runroot.join("events/events.log");
    let size = std::fs::metadata(&log).unwrap().len();
    assert!(size <= 2000, "{size}");
    let ev = r.ok(&[
        "events",
        "--stream=false",
        "--format",
        "{{.Status}} {{.Name}}",
    ]);
    assert!(ev.starts_with("log-rotation "), "{ev}");
    assert!(ev.ends_with("create events-rot29\n"), "{ev}");
    assert!(!ev.contains("events-v"), "{ev}");

    // events_logger = "none": nothing is written.
    std::fs::write(&conf, "[engine]\nevents_logger = \"none\"\n").unwrap();
    let mut cmd = r.cmd(&["volume", "create", "events-quiet"]);
    assert!(cmd
        .env("CONTAINERS_CONF", &conf)
        .output()
        .unwrap()
        .status
        .success());
    let ev = r.ok(&[
        "events",
        "--stream=false",
        "--filter",
        "volume=events-quiet",
    ]);
    assert_eq!(ev, "");
    r.ok(&["volume", "prune", "-f"]);
}
