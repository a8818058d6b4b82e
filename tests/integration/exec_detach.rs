//! Detach keys on `exec -it` and from containers.conf (issue 13), on a pty this test drives,
//! as Podman 4.3: Ctrl-P Ctrl-Q leaves the exec session running in the background and
//! `exec` exits 0; otherwise `exec -it` ends with its process's exit code. containers.conf's
//! `[engine] detach_keys` is the default of `--detach-keys` for `run`, `start` and `exec`.

use crate::run::{busybox, wait_until};
use crate::run_detach::{status, OnPty};

/// `exec ps`'s processes of container `name`.
fn processes(r: &crate::run::RunEnv, name: &str) -> String {
    r.ok(&["exec", name, "ps", "-o", "args"])
}

#[test]
fn exec_it_detaches_and_the_session_runs_on() {
    let r = busybox();
    r.ok(&["run", "-d", "--name", "ex", "busybox", "sleep", "999"]);
    let mut p = OnPty::spawn(&r, &["exec", "-it", "ex", "sh"]);
    p.wait_for("/ # ");
    p.send(b"echo hi; exec sleep 777\n");
    p.wait_for("hi\r\n");
    wait_until("the session's sleep", || {
        processes(&r, "ex").contains("sleep 777")
    });
    p.send(b"\x10\x11");
    assert_eq!(p.exit_code(), 0, "{}", p.output());
    // The session runs on after the CLI left.
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(
        processes(&r, "ex").contains("sleep 777"),
        "{}",
        processes(&r, "ex")
    );
    assert!(status(&r, "ex").contains("Up"), "{}", status(&r, "ex"));

    // Its own keys; a partial default sequence is plain input; the exit code comes through.
    let mut p = OnPty::spawn(&r, &["exec", "-it", "--detach-keys", "ctrl-x", "ex", "sh"]);
    p.wait_for("/ # ");
    p.send(b"\x18");
    assert_eq!(p.exit_code(), 0, "{}", p.output());
    let script = "read x; echo \"[$x]\" | od -c; exit 4";
    let mut p = OnPty::spawn(&r, &["exec", "-it", "ex", "sh", "-c", script]);
    wait_until("the session", || processes(&r, "ex").contains("read x"));
    p.send(b"a\x10b\n");
    assert_eq!(p.exit_code(), 4, "{}", p.output());
    assert!(p.output().contains("a 020   b"), "{}", p.output());

    // A command that is not there: Podman's 127, and nothing left behind.
    let mut p = OnPty::spawn(&r, &["exec", "-it", "ex", "/nonexistent"]);
    assert_eq!(p.exit_code(), 127, "{}", p.output());
    let bundle = std::fs::read_dir(r.runroot.join("containers"))
        .unwrap()
        .flatten()
        .flat_map(|d| std::fs::read_dir(d.path()).unwrap().flatten())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with("exec-") && n.ends_with(".json"))
        .count();
    assert_eq!(bundle, 2, "the two detached sessions' processes only");

    // `-t` alone stays supervised by the CLI (nothing to detach from without input).
    let mut p = OnPty::spawn(&r, &["exec", "-t", "ex", "sh", "-c", "tty; exit 3"]);
    assert_eq!(p.exit_code(), 3, "{}", p.output());
    assert!(p.output().contains("/dev/pts/"), "{}", p.output());

    // Stopping the container ends the detached sessions and their monitors.
    r.ok(&["rm", "-f", "ex"]);
    let socks = || {
        std::fs::read_dir(&r.runroot)
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("attach-exec-"))
            .count()
    };
    wait_until("the exec monitors gone", || socks() == 0);
    r.assert_no_leftovers();
}

#[test]
fn containers_conf_detach_keys_are_the_default() {
    let r = busybox();
    let conf = r.env.path("containers.conf");
    std::fs::write(
        &conf,
        "[engine]\nevents_logger = \"file\"\ndetach_keys = \"ctrl-x\"\n",
    )
    .unwrap();
    let with_conf = |args: &[&str]| {
        let mut cmd = r.cmd(args);
        cmd.env("CONTAINERS_CONF", &conf);
        cmd
    };
    let mut p = OnPty::spawn_cmd(with_conf(&["run", "-it", "--name", "cc", "busybox", "sh"]));
    p.wait_for("/ # ");
    // The default keys are now plain input: the shell still answers.
    p.send(b"\x10\x11echo $((6*7))\n");
    p.wait_for("42\r\n");
    p.send(b"\x18");
    assert_eq!(p.exit_code(), 0, "{}", p.output());
    assert!(status(&r, "cc").contains("Up"), "{}", status(&r, "cc"));
    let mut p = OnPty::spawn_cmd(with_conf(&["exec", "-it", "cc", "sh"]));
    p.wait_for("/ # ");
    p.send(b"\x18");
    assert_eq!(p.exit_code(), 0, "{}", p.output());
    // The flag wins over the file.
    let mut p = OnPty::spawn_cmd(with_conf(&[
        "exec",
        "-it",
        "--detach-keys",
        "ctrl-y",
        "cc",
        "sh",
    ]));
    p.wait_for("/ # ");
    p.send(b"\x19");
    assert_eq!(p.exit_code(), 0, "{}", p.output());

    // A malformed file: one line naming it and the line; bad keys there: Podman's words.
    std::fs::write(&conf, "[engine]\n\ndetach_keys = ctrl-x\n").unwrap();
    let out = with_conf(&["run", "--rm", "busybox", "true"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(125), "{err}");
    assert!(
        err.starts_with(&format!("Error: {}:3: ", conf.display())),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    std::fs::write(&conf, "[engine]\ndetach_keys = \"ab\"\n").unwrap();
    let out = with_conf(&["exec", "-it", "cc", "true"]).output().unwrap();
    assert_eq!(out.status.code(), Some(125));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "Error: invalid detach keys: Unknown character: 'ab'\n"
    );
    r.ok(&["rm", "-f", "cc"]);
    r.assert_no_leftovers();
}
