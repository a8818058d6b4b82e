//! The container lifecycle through the CLI, as root: detached runs with `ps`, `logs`, `stop`,
//! `kill`, `wait`, `rm`; `create`/`start`, `restart`, `container prune`, signals forwarded to a
//! foreground container, `exec`, `commit` and `export`. The harness is `run`'s [`RunEnv`].

use std::fs;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use crate::run::{busybox, wait_until};

#[test]
fn detached_lifecycle_ps_logs_stop_rm() {
    let r = busybox();
    let id = r
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
    let ps = r.ok(&["ps"]);
    assert!(ps.contains("web") && ps.contains("Up"), "{ps}");
    wait_until("log output", || r.ok(&["logs", "web"]).contains("tick"));
    assert!(r.ok(&["logs", "web"]).starts_with("started\n"));
    assert_eq!(r.ok(&["logs", "--tail", "1", "web"]), "tick\n");
    let err = r
        .env
        .fails(&["run", "-d", "--name", "web", "busybox", "true"], 125);
    assert!(err.contains("\"web\"") && err.contains(&id), "{err}");
    let (code, _, _) = r.code(&["rm", "web"]);
    assert_eq!(code, Some(2), "rm of a running container without -f");
    r.ok(&["stop", "-t", "1", "web"]);
    let json: serde_json::Value =
        serde_json::from_str(&r.ok(&["ps", "-a", "--format", "json"])).unwrap();
    assert_eq!(json[0]["State"], "exited");
    assert_eq!(json[0]["ExitCode"], 137);
    assert_eq!(json[0]["Names"][0], "web");
    r.ok(&["rm", "web"]);
    r.assert_no_leftovers();
}

#[test]
fn kill_wait_and_dead_monitor() {
    let r = busybox();
    let id = r
        .ok(&["run", "-d", "busybox", "sleep", "1000"])
        .trim()
        .to_string();
    r.ok(&["kill", "-s", "KILL", &id[..12]]);
    assert_eq!(r.ok(&["wait", &id]).trim(), "137");
    // A container whose monitor and process are killed behind berth's back shows as exited.
    let id = r
        .ok(&["run", "-d", "busybox", "sleep", "1000"])
        .trim()
        .to_string();
    let inspect: serde_json::Value =
        serde_json::from_str(&r.ok(&["container", "inspect", &id])).unwrap();
    let pid = inspect[0]["State"]["Pid"].as_i64().unwrap();
    let monitor = inspect[0]["State"]["ConmonPid"].as_i64().unwrap();
    assert!(pid > 0 && monitor > 0, "{inspect}");
    for p in [monitor, pid] {
        Command::new("kill")
            .arg("-9")
            .arg(p.to_string())
            .status()
            .unwrap();
    }
    wait_until("ps to notice", || {
        r.ok(&["ps", "-a"]).contains("Exited (unknown)")
    });
    assert_eq!(r.ok(&["ps", "-q"]).trim(), "");
    r.ok(&["rm", "-a"]);
    r.assert_no_leftovers();
}

#[test]
fn create_then_start_attached() {
    let r = busybox();
    r.ok(&[
        "create",
        "--name",
        "c1",
        "busybox",
        "sh",
        "-c",
        "echo created-ok; exit 5",
    ]);
    let ps = r.ok(&["ps", "-a"]);
    assert!(ps.contains("Created"), "{ps}");
    let (code, out, _) = r.code(&["start", "-a", "c1"]);
    assert_eq!((code, out.as_str()), (Some(5), "created-ok\n"));
    // Started again, detached: the output goes to the log.
    r.ok(&["start", "c1"]);
    assert_eq!(r.ok(&["wait", "c1"]).trim(), "5");
    assert_eq!(r.ok(&["logs", "c1"]), "created-ok\n");
    r.ok(&["rm", "c1"]);
    r.assert_no_leftovers();
}

#[test]
fn foreground_signals_are_forwarded() {
    let r = busybox();
    let mut child = r
        .cmd(&[
            "run",
            "--rm",
            "--name",
            "sig",
            "busybox",
            "sh",
            "-c",
            "trap 'exit 7' TERM; echo ready; while true; do sleep 0.1; done",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // Signal only once the trap is set (PID 1 without a handler ignores SIGTERM).
    let mut ready = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut ready)
        .unwrap();
    assert_eq!(ready, "ready\n");
    Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    let mut status = None;
    wait_until("berth to exit", || {
        status = child.try_wait().unwrap();
        status.is_some()
    });
    assert_eq!(status.and_then(|s| s.code()), Some(7));
    r.assert_no_leftovers();
}

#[test]
fn stop_signal_restart_and_prune() {
    let r = busybox();
    r.ok(&[
        "run",
        "-d",
        "--name",
        "s",
        "--stop-signal",
        "USR1",
        "busybox",
        "sh",
        "-c",
        "trap 'exit 9' USR1; echo up; while true; do sleep 0.1; done",
    ]);
    wait_until("the trap to be set", || r.ok(&["logs", "s"]).contains("up"));
    r.ok(&["stop", "-t", "10", "s"]);
    let json: serde_json::Value =
        serde_json::from_str(&r.ok(&["ps", "-a", "--format", "json"])).unwrap();
    assert_eq!(json[0]["ExitCode"], 9, "{json}");
    r.ok(&["restart", "s"]);
    assert!(r.ok(&["ps"]).contains(" s\n"), "restarted");
    r.ok(&["kill", "s"]);
    assert_eq!(r.ok(&["wait", "s"]).trim(), "137");
    r.ok(&["create", "busybox", "true"]);
    assert_eq!(r.ok(&["container", "prune"]).lines().count(), 2);
    r.assert_no_leftovers();
}

#[test]
fn exec_in_a_running_container() {
    let r = busybox();
    r.ok(&[
        "run",
        "-d",
        "--name",
        "ex",
        "-e",
        "FROMRUN=1",
        "busybox",
        "sleep",
        "1000",
    ]);
    let (code, out, _) = r.code(&["exec", "ex", "sh", "-c", "echo $FROMRUN; exit 6"]);
    assert_eq!((code, out.as_str()), (Some(6), "1\n"));
    let out = r.ok(&[
        "exec",
        "-u",
        "nobody",
        "-w",
        "/tmp",
        "-e",
        "A=b",
        "ex",
        "sh",
        "-c",
        "id -u; pwd; echo $A",
    ]);
    assert_eq!(out, "65534\n/tmp\nb\n");
    let (code, _, err) = r.code(&["exec", "ex", "nosuchcommand"]);
    assert_eq!(code, Some(127), "{err}");
    let (code, out, err) = r.code(&[
        "exec",
        "-t",
        "ex",
        "sh",
        "-c",
        "test -t 1 && echo tty; exit 3",
    ]);
    assert_eq!((code, out.as_str()), (Some(3), "tty\r\n"), "{err}");
    let mut child = r
        .cmd(&["exec", "-i", "ex", "cat"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    child.stdin.take().unwrap().write_all(b"piped\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "piped\n");
    r.ok(&["rm", "-f", "ex"]);
    let (code, _, _) = r.code(&["exec", "ex", "true"]);
    assert_eq!(code, Some(125));
    r.assert_no_leftovers();
}

#[test]
fn commit_and_export_a_container() {
    let r = busybox();
    r.ok(&[
        "run",
        "--name",
        "cm",
        "busybox",
        "sh",
        "-c",
        "echo hello > /greeting; rm /bin/vi",
    ]);
    let id = r.ok(&[
        "commit",
        "-c",
        r#"CMD ["cat", "/greeting"]"#,
        "-m",
        "made",
        "cm",
        "committed",
    ]);
    assert_eq!(id.trim().len(), 64, "{id}");
    assert_eq!(r.ok(&["run", "--rm", "committed"]), "hello\n");
    let (code, _, _) = r.code(&["run", "--rm", "committed", "ls", "/bin/vi"]);
    assert_ne!(code, Some(0), "the deletion is in the new layer");
    assert!(r.ok(&["image", "history", "committed"]).contains("made"));
    let tar_path = r.env.path("export.tar");
    r.ok(&["export", "-o", tar_path.to_str().unwrap(), "cm"]);
    let mut names = Vec::new();
    for e in tar::Archive::new(fs::File::open(&tar_path).unwrap())
        .entries()
        .unwrap()
    {
        names.push(
            e.unwrap()
                .path()
                .unwrap()
                .to_string_lossy()
                .trim_start_matches("./")
                .to_string(),
        );
    }
    assert!(names.iter().any(|n| n == "greeting"), "{names:?}");
    assert!(names.iter().any(|n| n == "bin/sh"));
    assert!(!names.iter().any(|n| n == "bin/vi"));
    r.ok(&["rm", "cm"]);
    r.ok(&["rmi", "committed"]);
    r.assert_no_leftovers();
}

#[test]
fn logs_keep_streams_apart_with_timestamps() {
    let r = busybox();
    let id = r
        .ok(&[
            "run",
            "-d",
            "busybox",
            "sh",
            "-c",
            "echo out; echo err >&2; printf partial",
        ])
        .trim()
        .to_string();
    assert_eq!(r.ok(&["wait", &id]).trim(), "0");
    let (code, out, err) = r.code(&["logs", &id]);
    assert_eq!(code, Some(0));
    assert_eq!(out, "out\npartial");
    assert_eq!(err, "err\n");
    // With timestamps (the order across the two streams is not fixed, within one it is).
    let out = r.ok(&["logs", "-t", &id]);
    let texts: Vec<&str> = out
        .lines()
        .map(|l| {
            let (time, text) = l.split_once(' ').unwrap_or_else(|| panic!("{out:?}"));
            assert!(chrono::DateTime::parse_from_rfc3339(time).is_ok(), "{out}");
            text
        })
        .collect();
    assert_eq!(texts, ["out", "partial"]);
    r.ok(&["rm", &id]);
    r.assert_no_leftovers();
}

#[test]
fn named_volumes_outlive_containers() {
    let r = busybox();
    assert_eq!(r.ok(&["volume", "create", "data"]).trim(), "data");
    r.ok(&[
        "run",
        "--rm",
        "-v",
        "data:/data",
        "busybox",
        "sh",
        "-c",
        "echo kept > /data/f",
    ]);
    let out = r.ok(&[
        "run",
        "--name",
        "user",
        "-v",
        "data:/data:ro",
        "busybox",
        "cat",
        "/data/f",
    ]);
    assert_eq!(out, "kept\n");
    // A volume named in -v is made on first use.
    r.ok(&["run", "--rm", "-v", "fresh:/x", "busybox", "true"]);
    assert_eq!(r.ok(&["volume", "ls", "-q"]), "data\nfresh\n");
    let err = r.env.fails(
        &[
            "--runroot",
            r.runroot.to_str().unwrap(),
            "volume",
            "rm",
            "data",
        ],
        125,
    );
    assert!(err.contains("user"), "{err}");
    let inspect: serde_json::Value =
        serde_json::from_str(&r.ok(&["volume", "inspect", "data"])).unwrap();
    let mountpoint = inspect[0]["Mountpoint"].as_str().unwrap().to_string();
    assert_eq!(
        fs::read_to_string(format!("{mountpoint}/f")).unwrap(),
        "kept\n"
    );
    r.ok(&["rm", "user"]);
    assert_eq!(r.ok(&["volume", "prune"]).lines().count(), 2);
    assert_eq!(r.ok(&["volume", "ls", "-q"]), "");
    r.assert_no_leftovers();
}

#[test]
fn init_runs_as_pid_one_and_forwards_stop() {
    if berth_run::spec::find_init().is_err() {
        eprintln!("skipped: --init needs catatonit or tini on the host");
        return;
    }
    let r = busybox();
    let (code, out, err) = r.code(&[
        "run",
        "--rm",
        "--init",
        "busybox",
        "sh",
        "-c",
        "tr '\\0' ' ' < /proc/1/cmdline; exit 5",
    ]);
    assert_eq!(code, Some(5), "{err}");
    assert!(out.starts_with("/run/berth-init -- sh"), "{out}");
    // Without an init, `sleep` as PID 1 ignores SIGTERM; with one, stop needs no SIGKILL.
    let id = r
        .ok(&["run", "-d", "--init", "busybox", "sleep", "1000"])
        .trim()
        .to_string();
    r.ok(&["stop", "-t", "10", &id]);
    assert_eq!(r.ok(&["wait", &id]).trim(), "143");
    r.ok(&["rm", &id]);
    r.assert_no_leftovers();
}
