//! Signals sent to berth while it runs a process in the foreground reach that process
//! (issue 19 item 9), as Podman's default `--sig-proxy`: `start -a`, `exec`, and `run`
//! with SIGHUP. The process's trap decides the exit code the CLI returns.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};

use crate::run::{busybox, wait_until, RunEnv};

/// A shell script that says `ready` once its trap for `sig` (exiting with `code`) is set.
fn trapping(sig: &str, code: u8) -> String {
    format!("trap 'echo got-{sig}; exit {code}' {sig}; echo ready; while :; do sleep 0.1; done")
}

/// `args` with its stdout followed; returns once the process said `ready`.
fn spawn_ready(r: &RunEnv, args: &[&str]) -> (Child, Arc<Mutex<String>>) {
    let mut child = r
        .cmd(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let seen = Arc::new(Mutex::new(String::new()));
    let out: Box<dyn std::io::Read + Send> = Box::new(child.stdout.take().unwrap());
    let err: Box<dyn std::io::Read + Send> = Box::new(child.stderr.take().unwrap());
    // Both streams into one text (stderr explains a failure).
    for stream in [out, err] {
        let s = seen.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                let mut s = s.lock().unwrap();
                s.push_str(&line);
                s.push('\n');
            }
        });
    }
    wait_until("the process to set its trap", || {
        seen.lock().unwrap().contains("ready")
    });
    (child, seen)
}

/// Send `sig` to the CLI and return its exit code.
fn signal_and_wait(child: &mut Child, sig: i32) -> Option<i32> {
    // SAFETY: kill(2) on the berth process this test spawned.
    unsafe { libc::kill(child.id() as i32, sig) };
    child.wait().unwrap().code()
}

#[test]
fn start_attach_forwards_sigterm_to_the_container() {
    let r = busybox();
    let script = trapping("TERM", 7);
    r.ok(&[
        "create",
        "--name",
        "h9-sig-start",
        "busybox",
        "sh",
        "-c",
        &script,
    ]);
    let (mut child, seen) = spawn_ready(&r, &["start", "-a", "h9-sig-start"]);
    assert_eq!(signal_and_wait(&mut child, libc::SIGTERM), Some(7));
    wait_until("the trap's output", || {
        seen.lock().unwrap().contains("got-TERM")
    });
    let code = r.ok(&["inspect", "--format", "{{.State.ExitCode}}", "h9-sig-start"]);
    assert_eq!(code.trim(), "7");
    r.ok(&["rm", "h9-sig-start"]);
    r.assert_no_leftovers();
}

#[test]
fn exec_forwards_sigterm_to_its_process_only() {
    let r = busybox();
    r.ok(&[
        "run",
        "-d",
        "--name",
        "h9-sig-exec",
        "busybox",
        "sleep",
        "600",
    ]);
    let script = trapping("TERM", 9);
    let (mut child, seen) = spawn_ready(&r, &["exec", "h9-sig-exec", "sh", "-c", &script]);
    let code = signal_and_wait(&mut child, libc::SIGTERM);
    wait_until("the CLI's output to end", || {
        let s = seen.lock().unwrap();
        s.contains("got-TERM") || s.contains("Error")
    });
    assert_eq!(code, Some(9), "{}", seen.lock().unwrap());
    wait_until("the trap's output", || {
        seen.lock().unwrap().contains("got-TERM")
    });
    // The container itself runs on.
    let running = r.ok(&["inspect", "--format", "{{.State.Running}}", "h9-sig-exec"]);
    assert_eq!(running.trim(), "true");
    r.ok(&["rm", "-f", "h9-sig-exec"]);
    r.assert_no_leftovers();
}

#[test]
fn run_forwards_sighup_to_the_container() {
    let r = busybox();
    let script = trapping("HUP", 5);
    let (mut child, _) = spawn_ready(&r, &["run", "--rm", "busybox", "sh", "-c", &script]);
    assert_eq!(signal_and_wait(&mut child, libc::SIGHUP), Some(5));
    r.assert_no_leftovers();
}
