//! A reader that has gone (`berth images | head -1`): no command panics. Commands that only
//! show something end as Podman's do, killed by SIGPIPE (141 in a shell), and clean up first
//! when they stream (`save` to stdout leaves no temporary directory); commands that change
//! something finish their work with exit 0; a build finishes and tags, whatever its RUN steps
//! print, and leaves no `<none>` image.

use std::fs;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Output, Stdio};

use crate::build::context;
use crate::run::busybox;

/// The write end of a pipe whose read end is already closed.
fn closed_pipe() -> OwnedFd {
    let mut fds = [0; 2];
    // SAFETY: pipe2(2) fills two descriptors, owned right below.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: both descriptors are new and owned by nothing else; the read end closes here.
    unsafe {
        drop(OwnedFd::from_raw_fd(fds[0]));
        OwnedFd::from_raw_fd(fds[1])
    }
}

/// Run `cmd` with stdout (and with `both`, stderr too) into a closed pipe; stderr is captured
/// otherwise.
fn with_closed_output(mut cmd: Command, both: bool) -> Output {
    let w = closed_pipe();
    if both {
        cmd.stderr(Stdio::from(w.try_clone().unwrap()));
    } else {
        cmd.stderr(Stdio::piped());
    }
    cmd.stdout(Stdio::from(w)).stdin(Stdio::null());
    cmd.output().expect("spawn berth")
}

fn assert_killed_by_sigpipe(args: &[&str], out: &Output) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("panicked"),
        "berth {args:?} panicked: {stderr}"
    );
    assert_eq!(
        out.status.signal(),
        Some(libc::SIGPIPE),
        "berth {args:?}: {:?}, stderr: {stderr}",
        out.status
    );
    assert!(stderr.is_empty(), "berth {args:?} said: {stderr}");
}

#[test]
fn commands_that_show_end_quietly_by_sigpipe() {
    let r = busybox();
    r.ok(&["volume", "create", "v1"]);
    r.ok(&["run", "-d", "--name", "c1", "busybox", "echo", "logged"]);
    assert_eq!(r.ok(&["wait", "c1"]).trim(), "0");
    let commands: &[&[&str]] = &[
        &["images"],
        &["images", "--format", "json"],
        &["ps", "-a"],
        &["image", "inspect", "busybox"],
        &["inspect", "busybox"],
        &["image", "history", "busybox"],
        &["system", "info"],
        &["volume", "ls"],
        &["version"],
        &["logs", "c1"],
        &["container", "inspect", "c1"],
        &["save", "busybox"],
        &["export", "c1"],
    ];
    for args in commands {
        assert_killed_by_sigpipe(args, &with_closed_output(r.cmd(args), false));
    }
    // Both outputs closed (`2>&1 | head -1`), also for an error.
    for args in [&["images"][..], &["image", "inspect", "nosuchimage"]] {
        assert_killed_by_sigpipe(args, &with_closed_output(r.cmd(args), true));
    }
    // `save` to stdout wrote through a temporary directory in the store: removed.
    let tmp: Vec<_> = fs::read_dir(&r.env.root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with("save-"))
        .collect();
    assert!(tmp.is_empty(), "save left {tmp:?}");
    r.ok(&["rm", "c1"]);
    r.assert_no_leftovers();
}

#[test]
fn commands_that_change_finish_their_work() {
    let r = busybox();
    r.ok(&["tag", "busybox", "extra-name"]);
    let out = with_closed_output(r.cmd(&["rmi", "extra-name"]), true);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(!r.ok(&["images"]).contains("extra-name"));
    // A container started while nobody reads: it runs.
    let out = with_closed_output(
        r.cmd(&["run", "-d", "--name", "d1", "busybox", "true"]),
        true,
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(r.ok(&["wait", "d1"]).trim(), "0");
    r.ok(&["rm", "d1"]);
    r.assert_no_leftovers();
}

/// `berth build … | head -1`: the build finishes and tags; its stage threads and RUN steps
/// print into the void; the builder stage's intermediate image is removed as always.
#[test]
fn a_build_whose_reader_went_away_finishes_and_tags() {
    let r = busybox();
    let ctx = context(
        &r,
        "ctx",
        &[(
            "Containerfile",
            "FROM busybox AS builder\n\
             RUN for i in 1 2 3 4 5 6 7 8 9; do echo line $i; done; echo to-stderr >&2\n\
             RUN echo built > /artifact\n\
             FROM busybox AS other\n\
             RUN echo other > /other\n\
             FROM busybox\n\
             COPY --from=builder /artifact /artifact\n\
             COPY --from=other /other /other\n\
             RUN cat /artifact /other\n",
        )],
    );
    let c = ctx.to_str().unwrap();
    for (i, both) in [false, true].into_iter().enumerate() {
        let tag = format!("piped{i}");
        let args = ["build", "--no-cache", "--jobs", "2", "-t", &tag, c];
        let out = with_closed_output(r.cmd(&args), both);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert_eq!(out.status.code(), Some(0), "{:?}: {stderr}", out.status);
        assert_eq!(
            r.ok(&["run", "--rm", &tag, "cat", "/artifact", "/other"]),
            "built\nother\n"
        );
    }
    // The base and the two results; no `<none>`.
    let ids = r.ok(&["images", "-a", "-q"]);
    assert_eq!(ids.lines().count(), 3, "{ids}");
    let table = r.ok(&["images", "-a"]);
    assert!(!table.contains("<none>"), "{table}");
    crate::build::assert_clean(&r);
}
