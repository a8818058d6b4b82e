//! `run -it` under a real pseudo-terminal (issue 19 item 9): typed input is echoed and runs,
//! Ctrl-C reaches the container's foreground process (not berth), a resize of the user's
//! terminal (SIGWINCH to berth) is what `stty size` sees inside, and the shell's exit code is
//! the CLI's.

use crate::run::{busybox, wait_until};
use crate::run_detach::OnPty;

#[test]
fn run_it_echoes_input_passes_ctrl_c_and_follows_a_resize() {
    let r = busybox();
    let mut p = OnPty::spawn(&r, &["run", "-it", "--name", "h9-tty", "busybox", "sh"]);
    p.wait_for("/ # ");
    // Input: the terminal echoes what is typed, the shell runs it.
    p.send(b"echo typed-$((6*7))\n");
    p.wait_for("echo typed-$((6*7))");
    p.wait_for("typed-42");
    // Ctrl-C: SIGINT to the container's foreground job; the shell and berth go on.
    p.send(b"sleep 60\n");
    wait_until("the sleep", || {
        r.ok(&["exec", "h9-tty", "ps", "-o", "args"])
            .contains("sleep 60")
    });
    p.send(b"\x03");
    p.send(b"echo rc=$?\n");
    p.wait_for("rc=130");
    // A resize of the user's terminal reaches the container's.
    p.resize(33, 101);
    wait_until("stty size to follow the resize", || {
        p.send(b"stty size\n");
        std::thread::sleep(std::time::Duration::from_millis(100));
        p.output().contains("33 101")
    });
    p.send(b"exit 3\n");
    assert_eq!(p.exit_code(), 3, "{}", p.output());
    r.ok(&["rm", "h9-tty"]);
    r.assert_no_leftovers();
}
