//! Podman's everyday commands berth gained in issue 20 (attach, diff, mount/umount, the
//! `exists` checks, image tree, volume export/import, system df and reset, logs
//! --since/--until): one test per command, with its bad input, as root on a private store
//! and run root.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use crate::run::{busybox, wait_until, RunEnv};
use crate::run_detach::OnPty;

const PREFIX: &str = "cmds-";

fn name(n: &str) -> String {
    format!("{PREFIX}{n}")
}

/// Run and require failure with `code` and one line of stderr; returns that line.
fn fails(r: &RunEnv, args: &[&str], code: i32) -> String {
    let (got, out, err) = r.code(args);
    assert_eq!(got, Some(code), "berth {args:?}: {out}{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "berth {args:?}: {err}");
    err
}

#[test]
fn attach_follows_output_and_joins_terminals() {
    let r = busybox();
    // A stopped container: refused in Podman's words.
    let stopped = name("att-stopped");
    r.ok(&["create", "--name", &stopped, "busybox", "true"]);
    let err = fails(&r, &["attach", &stopped], 125);
    assert!(
        err.contains("you can only attach to running containers"),
        "{err}"
    );
    // Without a terminal: its output from now on, and its exit code.
    let plain = name("att-plain");
    let script =
        "while [ ! -e /tmp/go ]; do echo tick; sleep 0.1; done; echo done; echo oops >&2; exit 3";
    r.ok(&["run", "-d", "--name", &plain, "busybox", "sh", "-c", script]);
    let mut child = r
        .cmd(&["attach", &plain])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let seen = Arc::new(Mutex::new(String::new()));
    let (out, s) = (child.stdout.take().unwrap(), seen.clone());
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let line = line.unwrap();
            s.lock().unwrap().push_str(&line);
            s.lock().unwrap().push('\n');
        }
    });
    wait_until("attach to show output", || {
        seen.lock().unwrap().contains("tick")
    });
    r.ok(&["exec", &plain, "touch", "/tmp/go"]);
    let status = child.wait().unwrap();
    reader.join().unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert_eq!(status.code(), Some(3), "{seen:?} {err}");
    assert!(seen.lock().unwrap().ends_with("done\n"), "{seen:?}");
    assert_eq!(err.trim(), "oops");
    // With a terminal: typed input reaches it, the detach keys leave it running, and a
    // second attach sees its exit code.
    let tty = name("att-tty");
    r.ok(&["run", "-dit", "--name", &tty, "busybox", "sh"]);
    let mut p = OnPty::spawn(&r, &["attach", &tty]);
    p.send(b"echo hi$((40+2))\n");
    p.wait_for("hi42");
    p.send(b"\x10\x11");
    assert_eq!(p.exit_code(), 0, "{}", p.output());
    assert!(crate::run_detach::status(&r, &tty).contains("Up"));
    let mut p = OnPty::spawn(&r, &["attach", "--detach-keys", "ctrl-x", &tty]);
    p.send(b"exit 5\n");
    assert_eq!(p.exit_code(), 5, "{}", p.output());
}

#[test]
fn attach_proxies_signals_unless_told_not_to() {
    let r = busybox();
    let c = name("att-sig");
    let script = "trap 'echo got-term; exit 7' TERM; while :; do echo tick; sleep 0.1; done";
    r.ok(&["run", "-d", "--name", &c, "busybox", "sh", "-c", script]);
    let attach = |extra: &[&str]| {
        let mut args = vec!["attach"];
        args.extend_from_slice(extra);
        args.push(&c);
        let mut child = r.cmd(&args).stdout(Stdio::piped()).spawn().unwrap();
        let out = child.stdout.take().unwrap();
        let seen = Arc::new(Mutex::new(String::new()));
        let s = seen.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                s.lock().unwrap().push_str(&line);
                s.lock().unwrap().push('\n');
            }
        });
        wait_until("attach to show output", || {
            seen.lock().unwrap().contains("tick")
        });
        (child, seen)
    };
    // --sig-proxy=false: SIGTERM ends the attach only; the container runs on.
    let (mut child, _) = attach(&["--sig-proxy=false"]);
    // SAFETY: kill(2) on the attach process this test spawned.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    child.wait().unwrap();
    assert!(crate::run_detach::status(&r, &c).contains("Up"));
    // By default the signal goes to the container, whose exit code attach returns.
    let (mut child, seen) = attach(&[]);
    // SAFETY: as above.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(7), "{seen:?}");
}

#[test]
fn diff_lists_container_and_image_changes() {
    let r = busybox();
    let c = name("diff");
    let script = "mkdir -p /a/b; echo x > /a/b/f; rm /bin/ls; touch /bin/new";
    r.ok(&["run", "--name", &c, "busybox", "sh", "-c", script]);
    // As Podman: sorted by path, directories copied up are changed, what a start makes
    // (/etc/hosts, /proc, …) is left out.
    let want = "A /a\nA /a/b\nA /a/b/f\nC /bin\nD /bin/ls\nA /bin/new\nC /etc\n";
    assert_eq!(r.ok(&["diff", &c]), want);
    assert_eq!(r.ok(&["container", "diff", &c]), want);
    let json: serde_json::Value =
        serde_json::from_str(&r.ok(&["diff", "--format", "json", &c])).unwrap();
    assert_eq!(json["changed"], serde_json::json!(["/bin", "/etc"]));
    assert_eq!(json["deleted"], serde_json::json!(["/bin/ls"]));
    assert_eq!(json["added"][0], "/a");
    // Images: the top layer against its parent, or against another image.
    let img = name("diff-img");
    r.ok(&["commit", &c, &img]);
    let top = r.ok(&["image", "diff", &img]);
    assert!(
        top.contains("D /bin/ls\n") && top.contains("A /a/b/f\n"),
        "{top}"
    );
    assert_eq!(r.ok(&["image", "diff", &img, "busybox"]), top);
    let base = r.ok(&["image", "diff", "busybox"]);
    assert!(base.lines().all(|l| l.starts_with("A /")), "{base}");
    assert!(base.contains("A /bin/busybox\n"), "{base}");
    let json: serde_json::Value =
        serde_json::from_str(&r.ok(&["image", "diff", "--format", "json", "busybox"])).unwrap();
    assert!(json.get("deleted").is_none(), "{json}");
    // Bad input: a missing object, an image where a container is asked for.
    let err = fails(&r, &["diff", "cmds-nosuch"], 125);
    assert!(err.contains("cmds-nosuch not found"), "{err}");
    fails(&r, &["container", "diff", "busybox"], 125);
    fails(&r, &["image", "diff", &c], 125);
}

#[test]
fn mount_counts_as_podman() {
    let r = busybox();
    let c = name("mount");
    let id = r.ok(&["create", "--name", &c, "busybox", "true"]);
    let id = id.trim();
    assert_eq!(r.ok(&["mount"]), "", "nothing mounted yet");
    let path = r.ok(&["mount", &c]);
    let path = path.trim();
    assert!(std::path::Path::new(path).join("bin/busybox").exists());
    assert_eq!(r.ok(&["container", "mount", &c]).trim(), path);
    assert_eq!(r.ok(&["mount"]), format!("{}  {path}\n", &id[..12]));
    assert_eq!(r.ok(&["mount", "--no-trunc"]), format!("{id}  {path}\n"));
    let json: serde_json::Value =
        serde_json::from_str(&r.ok(&["mount", "--format", "json"])).unwrap();
    assert_eq!(json[0]["id"], id);
    assert_eq!(json[0]["names"][0], c.as_str());
    // Two mounts: the first umount keeps it, the second unmounts.
    assert_eq!(r.ok(&["umount", &c]), format!("{c}\n"));
    assert!(std::path::Path::new(path).join("bin/busybox").exists());
    // A run in between leaves the user's mount in place.
    r.ok(&["start", "-a", &c]);
    assert!(std::path::Path::new(path).join("bin/busybox").exists());
    assert_eq!(r.ok(&["container", "unmount", &c]), format!("{c}\n"));
    assert!(!std::path::Path::new(path).join("bin/busybox").exists());
    assert_eq!(r.ok(&["mount"]), "");
    // --all, -f and bad input.
    r.ok(&["mount", &c]);
    r.ok(&["mount", &c]);
    assert_eq!(r.ok(&["umount", "-f", &c]), format!("{c}\n"));
    assert_eq!(r.ok(&["mount"]), "");
    r.ok(&["mount", "--all"]);
    assert_eq!(r.ok(&["umount", "--all"]), format!("{id}\n"));
    assert_eq!(r.ok(&["mount"]), "");
    let err = fails(&r, &["mount", "cmds-nosuch"], 125);
    assert!(err.contains("cmds-nosuch"), "{err}");
    fails(&r, &["umount"], 125);
}

#[test]
fn rootless_mount_runs_inside_berth_unshare() {
    let r = crate::rootless_run::Rootless::with_busybox();
    r.ok("$BERTH create --name mnt bb true >/dev/null");
    let out = r.sh("$BERTH mount mnt");
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(125), "{err}");
    assert!(err.contains("must execute `berth unshare` first"), "{err}");
    let out = r.ok(
        "$BERTH unshare sh -c 'set -e; m=$($BERTH mount mnt); ls $m/bin/busybox; $BERTH mount; $BERTH umount mnt; $BERTH mount'",
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(lines[0].ends_with("/bin/busybox"), "{out}");
    assert!(lines[1].ends_with("/merged"), "{out}");
    assert_eq!(lines[2], "mnt", "{out}");
    r.ok("$BERTH rm mnt >/dev/null");
    r.finish();
}

/// Exit code and output of `berth args`.
fn status(r: &RunEnv, args: &[&str]) -> (Option<i32>, String) {
    let (code, out, err) = r.code(args);
    (code, format!("{out}{err}"))
}

#[test]
fn exists_answers_with_exit_codes_only() {
    let r = busybox();
    let c = name("exists");
    r.ok(&["create", "--name", &c, "busybox", "true"]);
    let v = name("exists-vol");
    r.ok(&["volume", "create", &v]);
    for (args, want) in [
        (vec!["image", "exists", "busybox"], 0),
        (vec!["image", "exists", "cmds-nosuch"], 1),
        (vec!["container", "exists", c.as_str()], 0),
        (vec!["container", "exists", "cmds-nosuch"], 1),
        (vec!["volume", "exists", v.as_str()], 0),
        (vec!["volume", "exists", "cmds-nosuch"], 1),
    ] {
        assert_eq!(status(&r, &args), (Some(want), String::new()), "{args:?}");
    }
}

#[test]
fn image_tree_shows_layers_and_what_requires_them() {
    let r = busybox();
    let c = name("tree");
    r.ok(&["run", "--name", &c, "busybox", "touch", "/x"]);
    let child = name("tree-img");
    r.ok(&["commit", &c, &child]);
    let id = r.ok(&["images", "-q", &child]);
    let out = r.ok(&["image", "tree", &child]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], format!("Image ID: {}", id.trim()), "{out}");
    assert_eq!(
        lines[1],
        format!("Tags:     [localhost/{child}:latest]"),
        "{out}"
    );
    assert!(
        lines[2].starts_with("Size:     ") && lines[3] == "Image Layers",
        "{out}"
    );
    assert!(
        lines[4].starts_with("├── ID: ")
            && lines[4].ends_with("Top Layer of: [localhost/busybox:latest]"),
        "{out}"
    );
    assert!(
        lines[5].starts_with("└── ID: ")
            && lines[5].ends_with(&format!("Top Layer of: [localhost/{child}:latest]")),
        "{out}"
    );
    assert_eq!(lines.len(), 7, "{out}");
    assert_eq!(lines[6], "");
    // From the base: its top layer and the child's layer above it.
    let req = r.ok(&["image", "tree", "--whatrequires", "busybox"]);
    let child_layer = lines[5].split_whitespace().nth(2).unwrap();
    assert!(req.contains(&format!("└── ID: {child_layer} ")), "{req}");
    fails(&r, &["image", "tree", "cmds-nosuch"], 125);
}

#[test]
fn volume_export_and_import_round_trip() {
    let r = busybox();
    let (a, b) = (name("vol-a"), name("vol-b"));
    r.ok(&["volume", "create", &a]);
    r.ok(&["volume", "create", &b]);
    r.ok(&[
        "run",
        "--rm",
        "-v",
        &format!("{a}:/v"),
        "busybox",
        "sh",
        "-c",
        "mkdir /v/d; echo hello > /v/d/f",
    ]);
    let tar = r.env.path("vol.tar");
    r.ok(&["volume", "export", &a, "-o", tar.to_str().unwrap()]);
    r.ok(&["volume", "import", &b, tar.to_str().unwrap()]);
    let got = r.ok(&[
        "run",
        "--rm",
        "-v",
        &format!("{b}:/v"),
        "busybox",
        "cat",
        "/v/d/f",
    ]);
    assert_eq!(got, "hello\n");
    // To stdout, and from stdin.
    let out = r.cmd(&["volume", "export", &a]).output().unwrap();
    assert!(out.status.success());
    assert_eq!(out.stdout, std::fs::read(&tar).unwrap());
    let c = name("vol-c");
    r.ok(&["volume", "create", &c]);
    let mut p = r
        .cmd(&["volume", "import", &c, "-"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut p.stdin.take().unwrap(), &out.stdout).unwrap();
    assert!(p.wait().unwrap().success());
    let got = r.ok(&[
        "run",
        "--rm",
        "-v",
        &format!("{c}:/v"),
        "busybox",
        "cat",
        "/v/d/f",
    ]);
    assert_eq!(got, "hello\n");
    // Bad input: a missing volume, a file that is not a tar.
    let err = fails(
        &r,
        &[
            "volume",
            "export",
            "cmds-nosuch",
            "-o",
            tar.to_str().unwrap(),
        ],
        125,
    );
    assert!(err.contains("no such volume"), "{err}");
    let junk = r.env.path("junk");
    std::fs::write(&junk, "not a tar").unwrap();
    fails(&r, &["volume", "import", &b, junk.to_str().unwrap()], 125);
}

#[test]
fn system_df_counts_images_containers_and_volumes() {
    let r = busybox();
    let (c, v) = (name("df"), name("df-vol"));
    r.ok(&["volume", "create", &v]);
    let script = "printf 12345 > /v/f; printf abc > /x";
    r.ok(&[
        "run",
        "--name",
        &c,
        "-v",
        &format!("{v}:/v"),
        "busybox",
        "sh",
        "-c",
        script,
    ]);
    let out = r.ok(&["system", "df"]);
    let lines: Vec<Vec<&str>> = out
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        out.lines().next().unwrap(),
        "TYPE           TOTAL       ACTIVE      SIZE        RECLAIMABLE"
    );
    assert_eq!(&lines[1][..3], ["Images", "1", "1"], "{out}");
    assert_eq!(lines[1][4..], ["0B", "(0%)"], "{out}");
    // The container wrote 3 bytes (and a start's mount points, empty); it is stopped.
    assert_eq!(
        lines[2],
        ["Containers", "1", "0", "3B", "3B", "(100%)"],
        "{out}"
    );
    assert_eq!(
        lines[3],
        ["Local", "Volumes", "1", "1", "5B", "0B", "(0%)"],
        "{out}"
    );
    let t = r.ok(&["system", "df", "--format", "{{.Type}}={{.Total}}/{{.Size}}"]);
    assert!(
        t.contains("Containers=1/3B\n") && t.contains("Local Volumes=1/5B\n"),
        "{t}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&r.ok(&["system", "df", "--format", "json"])).unwrap();
    assert_eq!(json[1]["Type"], "Containers");
    assert_eq!(json[1]["RawSize"], 3);
    let verbose = r.ok(&["system", "df", "-v"]);
    assert!(
        verbose.starts_with("Images space usage:\n\nREPOSITORY  "),
        "{verbose}"
    );
    assert!(
        verbose.contains("\nContainers space usage:\n\nCONTAINER ID  IMAGE "),
        "{verbose}"
    );
    assert!(verbose.contains(&format!("\n{v} ")), "{verbose}");
    fails(&r, &["system", "df", "-v", "--format", "json"], 125);
}

#[test]
fn system_reset_asks_and_refuses_without_an_answer() {
    let r = busybox();
    // No terminal, nothing piped, no -f: refused, nothing removed (as root, only this: a
    // reset removes the user's networks, host-wide for root).
    let out = r
        .cmd(&["system", "reset"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stdout.starts_with("WARNING! This will remove:\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Are you sure you want to continue? [y/N] "),
        "{stdout}"
    );
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("use -f"), "{stderr}");
    assert!(r.ok(&["images"]).contains("localhost/busybox"));
    // As a plain user (its own networks): -f removes everything and leaves a usable store;
    // "n" keeps everything.
    let u = crate::rootless_run::Rootless::with_busybox();
    u.ok("$BERTH volume create rv >/dev/null; $BERTH network create rnet >/dev/null; $BERTH run --name rc -v rv:/v bb touch /v/f");
    u.ok("echo n | $BERTH system reset >/dev/null");
    assert!(u.ok("$BERTH images -q").trim().len() == 12);
    assert_eq!(u.ok("$BERTH system reset -f"), "");
    assert_eq!(
        u.ok("$BERTH images -q; $BERTH ps -aq; $BERTH volume ls -q"),
        ""
    );
    let nets = u.ok("$BERTH network ls --format '{{.Name}}'");
    assert!(!nets.contains("rnet"), "{nets}");
    u.ok("$BERTH import $TAR bb >/dev/null; $BERTH run --rm bb true; $BERTH system check 2>/dev/null");
    u.finish();
}

#[test]
fn logs_since_and_until_take_podmans_times() {
    let r = busybox();
    let c = name("logs");
    // Two lines more than a second apart (the container's own pause, not a wait on it).
    r.ok(&[
        "run",
        "-d",
        "--name",
        &c,
        "busybox",
        "sh",
        "-c",
        "echo one; sleep 1.2; echo two",
    ]);
    r.ok(&["wait", &c]);
    let stamped = r.ok(&["logs", "-t", &c]);
    let times: Vec<&str> = stamped
        .lines()
        .map(|l| l.split(' ').next().unwrap())
        .collect();
    assert_eq!(times.len(), 2, "{stamped}");
    let two = chrono::DateTime::parse_from_rfc3339(times[1]).unwrap();
    assert_eq!(r.ok(&["logs", "--since", times[1], &c]), "two\n");
    assert_eq!(r.ok(&["logs", "--until", times[0], &c]), "one\n");
    assert_eq!(
        r.ok(&["logs", "--since", &two.timestamp().to_string(), &c]),
        "two\n"
    );
    assert_eq!(r.ok(&["logs", "--since", "10m", &c]), "one\ntwo\n");
    assert_eq!(r.ok(&["logs", "--until", "10m", &c]), "");
    assert_eq!(
        r.ok(&["logs", "--tail", "1", "--since", "10m", &c]),
        "two\n"
    );
    assert_eq!(
        r.ok(&["logs", "--timestamps", "--tail", "1", &c]),
        format!("{} two\n", times[1])
    );
    let err = fails(&r, &["logs", "--since", "yesterday-ish", &c], 125);
    assert!(err.contains("--since"), "{err}");
}

/// Debian's podman on a private root (vfs, no events), as `list_formats` drives it.
fn podman(r: &RunEnv) -> std::process::Command {
    let conf = r.env.path("containers.conf");
    if !conf.exists() {
        std::fs::write(&conf, "[containers]\ndefault_ulimits = []\n").unwrap();
    }
    let mut cmd = std::process::Command::new(crate::util::require_tool("podman"));
    cmd.env("CONTAINERS_CONF", conf)
        .arg("--root")
        .arg(r.env.path("podman-root"))
        .arg("--runroot")
        .arg(r.env.path("podman-run"))
        .args(["--storage-driver", "vfs", "--events-backend", "none"])
        .args(["--cgroup-manager", "cgroupfs"]);
    cmd
}

#[test]
fn diff_lists_what_podman_lists() {
    let r = busybox();
    let tar = r.env.busybox_tar();
    crate::util::run_tool(podman(&r).arg("import").arg(&tar).arg("localhost/busybox"));
    let script = "mkdir -p /a/b; echo x > /a/b/f; rm /bin/ls; touch /bin/new; rm -r /tmp";
    let c = name("diff-parity");
    let args = ["run", "--name", &c, "busybox", "sh", "-c", script];
    r.ok(&args);
    crate::util::run_tool(podman(&r).args(args));
    // Podman's order follows its storage driver (vfs here); the lines are the same.
    let sorted = |text: String| {
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        lines.sort();
        lines
    };
    let ours = sorted(r.ok(&["diff", &c]));
    let theirs = sorted(crate::util::run_tool(podman(&r).args(["diff", &c])));
    assert_eq!(ours, theirs);
    let _ = podman(&r).args(["rm", "-f", &c]).output();
}
