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

/// `stop` and `rm -f` of a `--rm` container race with its monitor removing it: both succeed
/// quietly (as Podman: the name given, exit 0), detached or in the foreground.
#[test]
fn stop_and_rm_force_of_auto_removed_containers() {
    let r = busybox();
    let script = "trap 'exit 0' TERM; echo up; while true; do sleep 0.1; done";
    for round in 0..4 {
        let (verb, args): (&str, &[&str]) = if round % 2 == 0 {
            ("stop", &["stop", "-t", "5", "rd"])
        } else {
            ("rm -f", &["rm", "-f", "rd"])
        };
        r.ok(&[
            "run", "-d", "--rm", "--name", "rd", "busybox", "sh", "-c", script,
        ]);
        wait_until("the trap to be set", || {
            r.ok(&["logs", "rd"]).contains("up")
        });
        let (code, out, err) = r.code(args);
        assert_eq!(code, Some(0), "{verb} of a --rm container: {err}");
        assert!(err.is_empty(), "{verb}: {err}");
        if verb == "stop" {
            assert_eq!(out, "rd\n");
        }
        assert_eq!(r.ok(&["ps", "-aq"]), "", "{verb} left the container");
    }
    // In the foreground: `run --rm` is the monitor.
    let mut child = r
        .cmd(&["run", "--rm", "--name", "fg", "busybox", "sh", "-c", script])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut ready = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut ready)
        .unwrap();
    assert_eq!(ready, "up\n");
    let (code, out, err) = r.code(&["stop", "-t", "5", "fg"]);
    assert_eq!((code, out.as_str(), err.as_str()), (Some(0), "fg\n", ""));
    assert_eq!(child.wait().unwrap().code(), Some(0));
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
        2,
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
    // The init installs its handlers before it starts its child: once `sleep` runs, SIGTERM is
    // the init's to forward (before that, PID 1 without a handler would drop it).
    let mut started = false;
    for _ in 0..200 {
        if r.code(&["exec", &id, "pidof", "sleep"]).0 == Some(0) {
            started = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(started, "sleep never started under the init");
    r.ok(&["stop", "-t", "10", &id]);
    assert_eq!(r.ok(&["wait", &id]).trim(), "143");
    r.ok(&["rm", &id]);
    r.assert_no_leftovers();
}

/// An exploded busybox root filesystem in the test's directory.
fn exploded_busybox(r: &crate::run::RunEnv) -> std::path::PathBuf {
    let dir = r.env.path("exploded");
    fs::create_dir_all(&dir).unwrap();
    let tar = fs::File::open(r.env.busybox_tar()).unwrap();
    tar::Archive::new(tar).unpack(&dir).unwrap();
    dir
}

#[test]
fn rootfs_runs_an_exploded_directory() {
    let r = crate::run::RunEnv::new();
    let dir = exploded_busybox(&r);
    let d = dir.to_str().unwrap();
    // Podman's default: the directory itself is the root; changes land in it.
    let out = r.ok(&[
        "run",
        "--rm",
        "--rootfs",
        d,
        "sh",
        "-c",
        "echo direct > /made; cat /made",
    ]);
    assert_eq!(out, "direct\n");
    assert_eq!(fs::read_to_string(dir.join("made")).unwrap(), "direct\n");
    // `:O`: an overlay on top; the directory is not modified.
    let overlay = format!("{d}:O");
    let out = r.ok(&[
        "run",
        "--rm",
        "--rootfs",
        &overlay,
        "sh",
        "-c",
        "rm /made; echo o > /o; ls /",
    ]);
    assert!(out.contains('o') && !out.contains("made"), "{out}");
    assert!(dir.join("made").exists() && !dir.join("o").exists());
    // A kept container: ps shows the directory, cp and export work, commit is refused.
    r.ok(&[
        "create", "--name", "ex", "--rootfs", &overlay, "sh", "-c", "exit 4",
    ]);
    assert!(r.ok(&["ps", "-a"]).contains("ex"));
    let (code, _, _) = r.code(&["start", "-a", "ex"]);
    assert_eq!(code, Some(4));
    r.ok(&[
        "cp",
        &format!("{}", dir.join("made").display()),
        "ex:/copied",
    ]);
    assert!(!dir.join("copied").exists());
    let export = r.cmd(&["export", "ex"]).output().unwrap();
    assert!(export.status.success());
    let names: Vec<String> = tar::Archive::new(&export.stdout[..])
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().display().to_string())
        .collect();
    assert!(
        names
            .iter()
            .any(|n| n.trim_end_matches('/').ends_with("copied")),
        "{names:?}"
    );
    let err = r.env.fails(
        &[
            "--runroot",
            r.runroot.to_str().unwrap(),
            "commit",
            "ex",
            "img",
        ],
        125,
    );
    assert!(err.contains("--rootfs"), "{err}");
    r.ok(&["rm", "ex"]);
    // Errors: a missing directory, no command.
    let (code, _, err) = r.code(&["run", "--rm", "--rootfs", "/nonexistent-berth-dir", "true"]);
    assert_eq!(code, Some(125), "{err}");
    let (code, _, err) = r.code(&["run", "--rm", "--rootfs", d]);
    assert_eq!(code, Some(125), "{err}");
    assert!(
        dir.join("bin/busybox").exists(),
        "the directory survives rm"
    );
    r.assert_no_leftovers();
}

#[test]
fn rm_volumes_removes_anonymous_volumes_only() {
    let r = busybox();
    let vols = || r.ok(&["volume", "ls", "-q"]).lines().count();
    r.ok(&[
        "run",
        "--name",
        "a",
        "-v",
        "/data",
        "-v",
        "named:/n",
        "busybox",
        "sh",
        "-c",
        "echo x > /data/f",
    ]);
    assert_eq!(vols(), 2);
    let anon: String = r
        .ok(&["volume", "ls", "-q"])
        .lines()
        .find(|l| *l != "named")
        .unwrap()
        .to_string();
    assert_eq!(anon.len(), 64, "{anon}");
    // In use: refused.
    let (code, _, _) = r.code(&["volume", "rm", &anon]);
    assert_ne!(code, Some(0));
    // rm without -v keeps the volume (as Podman).
    r.ok(&["create", "--name", "b", "-v", "/keep:ro", "busybox", "true"]);
    assert_eq!(vols(), 3);
    r.ok(&["rm", "b"]);
    assert_eq!(vols(), 3);
    // rm -v removes the anonymous one, not the named one.
    r.ok(&["rm", "-v", "a"]);
    let left = r.ok(&["volume", "ls", "-q"]);
    assert!(left.contains("named") && !left.contains(&anon), "{left}");
    // --rm removes them too.
    r.ok(&["run", "--rm", "-v", "/tmpdata", "busybox", "true"]);
    assert_eq!(vols(), 2);
    r.ok(&["volume", "prune"]);
    r.assert_no_leftovers();
}

#[test]
fn top_lists_the_container_processes() {
    let r = busybox();
    r.ok(&[
        "run",
        "-d",
        "--name",
        "tp",
        "busybox",
        "sh",
        "-c",
        "sleep 601 & sleep 602; true",
    ]);
    wait_until("both sleeps", || r.ok(&["top", "tp"]).contains("sleep 602"));
    let out = r.ok(&["top", "tp"]);
    let mut lines = out.lines();
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        ["USER", "PID", "PPID", "%CPU", "ELAPSED", "TTY", "TIME", "COMMAND"]
    );
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 3, "{out}");
    assert!(
        rows[0].starts_with("root") && rows[0].contains(" 1 "),
        "{out}"
    );
    assert!(
        out.contains("sleep 601") && out.contains("sleep 602"),
        "{out}"
    );
    let out = r.ok(&["container", "top", "tp", "pid,comm", "hpid"]);
    assert!(out.starts_with("PID"), "{out}");
    let hpids: Vec<u32> = out
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().nth(2).unwrap().parse().unwrap())
        .collect();
    assert!(hpids
        .iter()
        .all(|p| std::path::Path::new(&format!("/proc/{p}")).exists()));
    let (code, _, err) = r.code(&["top", "tp", "nosuchdescriptor"]);
    assert_eq!(code, Some(125), "{err}");
    r.ok(&["rm", "-f", "tp"]);
    r.ok(&["create", "--name", "stopped", "busybox", "true"]);
    let (code, _, err) = r.code(&["top", "stopped"]);
    assert_eq!(code, Some(125));
    assert!(err.contains("not running"), "{err}");
    r.ok(&["rm", "stopped"]);
    r.assert_no_leftovers();
}

#[test]
fn image_volumes_become_anonymous_volumes_filled_from_the_image() {
    let r = crate::run::RunEnv::new();
    // busybox plus /data/sub/seed owned by 1000:1000 (mode 750), and VOLUME /data /empty.
    let dir = exploded_busybox(&r);
    fs::create_dir_all(dir.join("data/sub")).unwrap();
    fs::write(dir.join("data/sub/seed"), "seed\n").unwrap();
    for p in ["data", "data/sub", "data/sub/seed"] {
        std::os::unix::fs::chown(dir.join(p), Some(1000), Some(1000)).unwrap();
    }
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(dir.join("data"), fs::Permissions::from_mode(0o750)).unwrap();
    r.ok(&[
        "import",
        "-c",
        "VOLUME [\"/data\", \"/empty\"]",
        dir.to_str().unwrap(),
        "vi",
    ]);
    let vols = || r.ok(&["volume", "ls", "-q"]).lines().count();
    let out = r.ok(&[
        "run",
        "--name",
        "a",
        "vi",
        "sh",
        "-c",
        "stat -c '%u:%g %a' /data; cat /data/sub/seed; stat -c %u /data/sub/seed; \
         echo more > /data/m; grep -c ' /data \\| /empty ' /proc/self/mountinfo",
    ]);
    assert_eq!(out, "1000:1000 750\nseed\n1000\n2\n");
    assert_eq!(vols(), 2);
    // The image is not changed, the volume holds what the container wrote.
    let out = r.ok(&["run", "--rm", "vi", "ls", "/data"]);
    assert_eq!(out, "sub\n");
    assert_eq!(vols(), 2, "--rm removes its own anonymous volumes");
    // A user mount on the path wins; tmpfs and ignore.
    let host = r.env.path("hostdata");
    fs::create_dir_all(&host).unwrap();
    let bind = format!("{}:/data", host.display());
    assert_eq!(r.ok(&["run", "--rm", "-v", &bind, "vi", "ls", "/data"]), "");
    let out = r.ok(&[
        "run",
        "--rm",
        "--image-volume",
        "tmpfs",
        "vi",
        "sh",
        "-c",
        "ls /data; grep ' /data ' /proc/self/mountinfo | grep -c tmpfs",
    ]);
    assert_eq!(out, "1\n");
    let out = r.ok(&[
        "run",
        "--rm",
        "--image-volume=ignore",
        "vi",
        "sh",
        "-c",
        "ls /data; grep -c ' /data ' /proc/self/mountinfo || true",
    ]);
    assert_eq!(out, "sub\n0\n");
    assert_eq!(vols(), 2);
    let (code, _, _) = r.code(&["run", "--rm", "--image-volume", "bogus", "vi", "true"]);
    assert_eq!(code, Some(125));
    r.ok(&["rm", "-v", "a"]);
    assert_eq!(vols(), 0);
    r.assert_no_leftovers();
}

/// Host processes whose command line is exactly `argv`.
fn processes_running(argv: &[&str]) -> usize {
    let want: Vec<u8> = argv
        .iter()
        .flat_map(|a| [a.as_bytes(), b"\0"].concat())
        .collect();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| n.parse::<u32>().is_ok())
        })
        .filter(|e| std::fs::read(e.path().join("cmdline")).is_ok_and(|c| c == want))
        .count()
}

/// Regression: two `start`s of one container at once used to both see it `created` and both
/// start it. The second waits for the first and finds it running: both succeed (as `podman
/// start` on a running container), and one container process exists.
#[test]
fn concurrent_starts_start_the_container_once() {
    let r = busybox();
    let argv = ["sleep", "4711"];
    r.ok(&["create", "--name", "twice", "busybox", argv[0], argv[1]]);
    for round in 0..3 {
        let starts: Vec<_> = (0..2)
            .map(|_| {
                r.cmd(&["start", "twice"])
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for s in starts {
            let out = s.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "round {round}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert_eq!(String::from_utf8_lossy(&out.stdout), "twice\n");
        }
        // `start` returns once the runtime has let the container's process go (as runc's and
        // Podman's do); its exec of `sleep` may come a moment later on a busy machine. A second
        // container, had one been started, would have exec'd by the end of the pause.
        wait_until("the container's process", || processes_running(&argv) >= 1);
        std::thread::sleep(std::time::Duration::from_millis(300));
        assert_eq!(processes_running(&argv), 1, "round {round}");
        r.ok(&["stop", "-t", "0", "twice"]);
        wait_until("the container to stop", || processes_running(&argv) == 0);
    }
    r.ok(&["rm", "twice"]);
    r.assert_no_leftovers();
}
