//! Detach keys (issue 13): `run -it` and `start -a -i` on a pseudo-terminal this test drives,
//! as Podman 4.3: Ctrl-P Ctrl-Q (or `--detach-keys`) leaves the container running and the
//! CLI exits 0 with nothing more said; a partial sequence goes through to the container;
//! `--detach-keys ""` disables it; an unknown key is refused in Podman's words.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::FromRawFd;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::run::{busybox, wait_until, RunEnv};

/// A berth command running on a pseudo-terminal: its output so far, and its input.
pub(crate) struct OnPty {
    child: Child,
    master: File,
    output: Arc<Mutex<Vec<u8>>>,
}

/// Open a pty pair: (master, slave).
fn open_pty() -> (File, File) {
    // SAFETY: plain libc calls on a descriptor this function owns; ptsname_r writes at most
    // `buf.len()` bytes into `buf`, and each result is checked.
    unsafe {
        let m = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC);
        assert!(m >= 0, "posix_openpt");
        assert_eq!(libc::grantpt(m), 0, "grantpt");
        assert_eq!(libc::unlockpt(m), 0, "unlockpt");
        let mut buf = [0 as libc::c_char; 128];
        assert_eq!(libc::ptsname_r(m, buf.as_mut_ptr(), buf.len()), 0);
        let name = std::ffi::CStr::from_ptr(buf.as_ptr()).to_owned();
        let s = libc::open(
            name.as_ptr(),
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        );
        assert!(s >= 0, "open {name:?}");
        (File::from_raw_fd(m), File::from_raw_fd(s))
    }
}

impl OnPty {
    pub(crate) fn spawn(r: &RunEnv, args: &[&str]) -> OnPty {
        OnPty::spawn_cmd(r.cmd(args))
    }

    /// `cmd` (a berth command line) on a new pty.
    pub(crate) fn spawn_cmd(mut cmd: std::process::Command) -> OnPty {
        let (master, slave) = open_pty();
        cmd.stdin(Stdio::from(slave.try_clone().unwrap()))
            .stdout(Stdio::from(slave.try_clone().unwrap()))
            .stderr(Stdio::from(slave));
        let child = cmd.spawn().expect("spawn berth");
        let output = Arc::new(Mutex::new(Vec::new()));
        let (mut reader, out) = (master.try_clone().unwrap(), output.clone());
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            // EIO once every slave end is closed.
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                out.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        OnPty {
            child,
            master,
            output,
        }
    }

    pub(crate) fn output(&self) -> String {
        String::from_utf8_lossy(&self.output.lock().unwrap()).to_string()
    }

    pub(crate) fn wait_for(&self, text: &str) {
        wait_until(&format!("{text:?} in {:?}", self.output()), || {
            self.output().contains(text)
        });
    }

    pub(crate) fn send(&mut self, bytes: &[u8]) {
        self.master.write_all(bytes).unwrap();
    }

    /// Set the terminal's size, then tell the CLI with SIGWINCH (the pty is not its
    /// controlling terminal, so the kernel does not).
    pub(crate) fn resize(&mut self, rows: u16, cols: u16) {
        use std::os::fd::AsRawFd;
        let size = libc::winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: TIOCSWINSZ reads one `winsize` from the pointer, valid for the call; kill(2)
        // on the child this harness spawned.
        unsafe {
            assert_eq!(
                libc::ioctl(self.master.as_raw_fd(), libc::TIOCSWINSZ, &size),
                0
            );
            libc::kill(self.child.id() as i32, libc::SIGWINCH);
        }
    }

    /// The CLI's exit code (it must end within 20 s).
    pub(crate) fn exit_code(&mut self) -> i32 {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code().unwrap_or(-1);
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("the CLI did not end; its output: {:?}", self.output());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// `ps -a`'s line of container `name` (empty when there is none).
pub(crate) fn status(r: &RunEnv, name: &str) -> String {
    r.ok(&["ps", "-a"])
        .lines()
        .find(|l| l.split_whitespace().last() == Some(name))
        .unwrap_or("")
        .to_string()
}

#[test]
fn ctrl_p_ctrl_q_detaches_and_the_container_runs_on() {
    let r = busybox();
    let mut p = OnPty::spawn(&r, &["run", "-it", "--name", "dk", "busybox", "sh"]);
    p.wait_for("/ # ");
    p.send(b"echo hi\n");
    p.wait_for("hi\r\n");
    p.send(b"\x10\x11");
    assert_eq!(p.exit_code(), 0, "{}", p.output());
    assert!(status(&r, "dk").contains("Up"), "{}", status(&r, "dk"));
    // Its shell is alive, its terminal kept by the monitor: the output goes to the log.
    assert_eq!(r.ok(&["exec", "dk", "echo", "alive"]), "alive\n");
    // Output after the client left reaches the log, and the monitor stays.
    r.ok(&["exec", "dk", "sh", "-c", "echo after > /proc/1/fd/1"]);
    wait_until("the log", || r.ok(&["logs", "dk"]).contains("after"));
    assert!(status(&r, "dk").contains("Up"), "{}", status(&r, "dk"));
    r.ok(&["rm", "-f", "dk"]);

    // With --rm it runs on, and goes when it exits.
    let mut p = OnPty::spawn(&r, &["run", "-it", "--rm", "--name", "dr", "busybox", "sh"]);
    p.wait_for("/ # ");
    p.send(b"\x10\x11");
    assert_eq!(p.exit_code(), 0, "{}", p.output());
    assert!(status(&r, "dr").contains("Up"), "{}", status(&r, "dr"));
    r.ok(&["stop", "-t", "1", "dr"]);
    wait_until("dr removed", || status(&r, "dr").is_empty());
    r.assert_no_leftovers();
}

#[test]
fn a_partial_sequence_goes_through_and_exit_codes_stay() {
    let r = busybox();
    let script = "read x; echo \"[$x]\" | od -c; exit 4";
    let mut p = OnPty::spawn(&r, &["run", "-it", "--rm", "busybox", "sh", "-c", script]);
    wait_until("the container runs", || {
        r.ok(&["ps", "-q"]).lines().count() == 1
    });
    p.send(b"a\x10b\n");
    assert_eq!(p.exit_code(), 4, "{}", p.output());
    // od shows the Ctrl-P (octal 020) between a and b.
    assert!(p.output().contains("a 020   b"), "{}", p.output());

    // Keys of one's own; the default ones are then plain input.
    let mut p = OnPty::spawn(
        &r,
        &[
            "run",
            "-it",
            "--rm",
            "--detach-keys",
            "",
            "busybox",
            "sh",
            "-c",
            "read x; exit 5",
        ],
    );
    wait_until("the container runs", || {
        r.ok(&["ps", "-q"]).lines().count() == 1
    });
    p.send(b"\x10\x11\n");
    assert_eq!(p.exit_code(), 5, "{}", p.output());
    let mut p = OnPty::spawn(
        &r,
        &[
            "run",
            "-it",
            "--detach-keys",
            "ctrl-a",
            "--name",
            "own",
            "busybox",
            "sh",
        ],
    );
    p.wait_for("/ # ");
    p.send(b"\x01");
    assert_eq!(p.exit_code(), 0, "{}", p.output());
    assert!(status(&r, "own").contains("Up"));
    r.ok(&["rm", "-f", "own"]);
    r.assert_no_leftovers();
}

#[test]
fn start_attach_interactive_detaches_too() {
    let r = busybox();
    r.ok(&["create", "-it", "--name", "sa", "busybox", "sh"]);
    let mut p = OnPty::spawn(&r, &["start", "-a", "-i", "--detach-keys", "ctrl-x", "sa"]);
    p.wait_for("/ # ");
    p.send(b"\x18");
    assert_eq!(p.exit_code(), 0, "{}", p.output());
    assert!(status(&r, "sa").contains("Up"), "{}", status(&r, "sa"));
    r.ok(&["rm", "-f", "sa"]);
}

#[test]
fn unknown_detach_keys_are_refused_as_podman() {
    let r = busybox();
    for (keys, shown) in [("ab", "ab"), ("ctrl-A", "ctrl-A"), ("ctrl-a,,b", "")] {
        let (code, _, err) = r.code(&["run", "--detach-keys", keys, "busybox", "true"]);
        // Podman 4.3 exits 126 after it made the container (left `Initialized`); berth
        // refuses before making anything.
        assert_eq!(code, Some(125), "{err}");
        assert_eq!(
            err,
            format!("Error: invalid detach keys: Unknown character: '{shown}'\n")
        );
    }
    r.assert_no_leftovers();
}

#[test]
fn run_it_of_true_returns_promptly() {
    // The CLI returns once the exit is known (and, `--rm`, the container removed): no wait
    // on a timer (issue 13's 10 s record wait).
    let r = busybox();
    for args in [
        &["run", "-it", "--rm", "busybox", "true"][..],
        &[
            "run", "-it", "--name", "pr", "busybox", "sh", "-c", "exit 3",
        ][..],
    ] {
        let started = Instant::now();
        let mut p = OnPty::spawn(&r, args);
        let code = p.exit_code();
        let took = started.elapsed();
        eprintln!("{args:?}: {took:?}");
        assert_eq!(code, if args.len() == 5 { 0 } else { 3 }, "{}", p.output());
        assert!(took < Duration::from_secs(5), "{args:?} took {took:?}");
    }
    assert!(
        status(&r, "pr").contains("Exited (3)"),
        "{}",
        status(&r, "pr")
    );
    r.ok(&["rm", "pr"]);
    r.assert_no_leftovers();
}
