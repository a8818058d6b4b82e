//! Known CVEs of container runtimes and engines (runc, Podman, containerd), one named
//! regression test each (`tests/SECURITY.md` maps every CVE to its test): leaked
//! descriptors and working directories, an image's `/dev`, `VOLUME` paths, removal through
//! links. Each ends with no container, process, mount or snapshot left, the canary unchanged
//! and `system check` clean ([`RunEnv::assert_no_leftovers`]).

use std::fs;
use std::path::Path;

use crate::build::context;
use crate::cve_layers::HostState;
use crate::run::{busybox, import_variant};

/// CVE-2024-21626 (runc ≤1.1.11): a host directory descriptor leaked into the container,
/// and `-w /proc/self/fd/N` (or `WORKDIR`) made it the process's cwd on the host. In berth
/// a container sees no descriptor beyond 0–2 (`ls`'s own is 3), in `run`, `exec` and a RUN
/// step, and a workdir under `/proc/self/fd` fails to start instead of landing outside.
#[test]
fn cve_2024_21626_no_leaked_descriptor_and_no_cwd_through_proc_self_fd() {
    let r = busybox();
    let fds = "0\n1\n2\n3\n";
    assert_eq!(
        r.ok(&["run", "--rm", "busybox", "ls", "/proc/self/fd"]),
        fds
    );
    r.ok(&["run", "-d", "--name", "cve-fd", "busybox", "sleep", "600"]);
    assert_eq!(r.ok(&["exec", "cve-fd", "ls", "/proc/self/fd"]), fds);
    for n in 3..=9 {
        let wd = format!("/proc/self/fd/{n}");
        let (code, out, _) = r.code(&["run", "--rm", "-w", &wd, "busybox", "pwd"]);
        assert_ne!(code, Some(0), "-w {wd} ran, in {out}");
        let (code, out, _) = r.code(&["exec", "-w", &wd, "cve-fd", "pwd"]);
        assert_ne!(code, Some(0), "exec -w {wd} ran, in {out}");
    }
    r.ok(&["rm", "-f", "cve-fd"]);
    let ctx = context(
        &r,
        "ctx",
        &[(
            "Containerfile",
            "FROM busybox\nRUN ls /proc/self/fd > /fds\n",
        )],
    );
    let c = ctx.to_str().unwrap();
    r.ok(&["build", "-q", "-t", "fds", c]);
    assert_eq!(r.ok(&["run", "--rm", "fds", "cat", "/fds"]), fds);
    fs::write(
        ctx.join("Containerfile"),
        "FROM busybox\nWORKDIR /proc/self/fd/7\nRUN pwd\n",
    )
    .unwrap();
    let err = r.env.fails(&["build", "-q", "-t", "wd", c], 125);
    assert!(err.contains("Containerfile:3: RUN pwd"), "{err}");
    r.assert_no_leftovers();
}

/// CVE-2025-31133, CVE-2025-52565 (runc: `/dev/null` and `/dev/console` of the image used
/// for masking and the console) and CVE-2026-41579 (`/dev` content of the image followed):
/// an image whose `/dev/null` links to `/proc/sys/kernel/core_pattern` and whose
/// `/dev/console`, `/dev/ptmx`, `/dev/full` link to a host file. The container gets the
/// runtime's own device nodes, procfs stays read-only where masked, the host's
/// `core_pattern` and the canary are unchanged.
#[test]
fn cve_2025_31133_image_dev_links_are_never_used() {
    let r = busybox();
    let before = HostState::of(&r.env);
    let keep = fs::canonicalize(r.env.path("canary/keep")).unwrap();
    let core = Path::new("/proc/sys/kernel/core_pattern");
    let host_core = fs::read_to_string(core).unwrap();
    import_variant(
        &r,
        "devlinks",
        &[],
        &[
            ("dev/null", core),
            ("dev/console", &keep),
            ("dev/ptmx", &keep),
            ("dev/full", &keep),
        ],
    );
    let out = r.ok(&[
        "run",
        "--rm",
        "devlinks",
        "sh",
        "-c",
        "test -c /dev/null && test -c /dev/full && echo devices; \
         echo x > /dev/null; echo x > /dev/console; echo x > /dev/ptmx; \
         echo '|/bin/evil %p' > /proc/sys/kernel/core_pattern || echo read-only; true",
    ]);
    assert!(
        out.contains("devices") && out.contains("read-only"),
        "{out}"
    );
    assert_eq!(fs::read_to_string(core).unwrap(), host_core);
    assert_eq!(HostState::of(&r.env), before, "the host canary changed");
    r.assert_no_leftovers();
}

/// CVE-2022-23648 (containerd CRI): an image's `VOLUME` with `..` gave the container host
/// paths. berth makes each volume's mount point inside the rootfs: the container writes into
/// `/escape` and `/dotdot`, and nothing of those names appears around the test dir or above
/// it, up to `/` (the canary check).
#[test]
fn cve_2022_23648_image_volume_paths_stay_inside() {
    let r = busybox();
    let ctx = context(
        &r,
        "ctx",
        &[(
            "Containerfile",
            "FROM busybox\nVOLUME /../../../../../../escape\nVOLUME ../../../dotdot\n",
        )],
    );
    r.ok(&["build", "-q", "-t", "vols", ctx.to_str().unwrap()]);
    let out = r.ok(&[
        "run",
        "--rm",
        "vols",
        "sh",
        "-c",
        "touch /escape/in /dotdot/in && test -f /escape/in && test -f /dotdot/in && echo inside",
    ]);
    assert_eq!(out, "inside\n");
    r.ok(&["volume", "prune", "-f"]);
    r.assert_no_leftovers();
}

/// CVE-2022-21658 (Rust's `remove_dir_all` followed a symlink swapped in while it ran): a
/// container and a volume full of links to the host canary are removed; removal follows
/// none of them.
#[test]
fn cve_2022_21658_removal_follows_no_link_out() {
    let r = busybox();
    let before = HostState::of(&r.env);
    let canary = fs::canonicalize(r.env.path("canary")).unwrap();
    let c = canary.display();
    let links = format!(
        "ln -s {c} /l1; mkdir -p /d/e /v/d; ln -s {c} /d/l2; ln -s {c}/keep /d/e/f; \
         ln -s {c} /v/link; ln -s {c}/keep /v/d/f; ln -s ../../../../../../../..{c} /d/rel"
    );
    r.ok(&[
        "run",
        "-d",
        "--name",
        "cve-rm",
        "-v",
        "cve-rm-vol:/v",
        "busybox",
        "sleep",
        "600",
    ]);
    r.ok(&["exec", "cve-rm", "sh", "-c", &links]);
    r.ok(&["rm", "-f", "cve-rm"]);
    r.ok(&["volume", "rm", "cve-rm-vol"]);
    r.ok(&[
        "run",
        "--rm",
        "busybox",
        "sh",
        "-c",
        &links.replace("/v/", "/w/"),
    ]);
    assert_eq!(HostState::of(&r.env), before, "removal reached the canary");
    r.assert_no_leftovers();
}
