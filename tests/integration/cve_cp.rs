//! Known CVEs of copying into and out of containers and volumes (Docker, Podman), one named
//! regression test each (`tests/SECURITY.md` maps every CVE to its test): programs of the
//! container run by the copier, and a volume export racing a container that swaps a
//! directory for a link. Each ends with no container, process, mount or snapshot left, the
//! canary unchanged and `system check` clean.

use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::Stdio;

use crate::cve_layers::HostState;
use crate::run::{busybox, RunEnv};

/// `berth ARGS` with `input` on stdin; (success, stdout, stderr).
fn with_stdin(r: &RunEnv, args: &[&str], input: &[u8]) -> (bool, Vec<u8>, String) {
    let mut child = r
        .cmd(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        out.stdout,
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

/// CVE-2019-14271 (`docker cp` loaded the container's `libnss_*.so` as root),
/// CVE-2026-41567 and CVE-2014-9357 (Docker ran `xz`/`unpigz` from the container's PATH):
/// a container whose `tar`, `gzip`, `xz`, `unpigz`, `pigz`, `zstd`, `getent` and NSS
/// libraries are trojans that would write `/pwned`. Copies in and out, of files, of
/// directories and of tar streams, running and stopped, run none of them: `/pwned` exists
/// neither in the container nor on the host.
#[test]
fn cve_2019_14271_cp_runs_no_program_of_the_container() {
    let r = busybox();
    let before = HostState::of(&r.env);
    r.ok(&[
        "run",
        "-d",
        "--name",
        "cve-trojan",
        "busybox",
        "sleep",
        "600",
    ]);
    r.ok(&[
        "exec",
        "cve-trojan",
        "sh",
        "-c",
        "mkdir -p /usr/bin /lib/x86_64-linux-gnu /usr/lib; \
         for p in /bin/tar /bin/gzip /bin/gunzip /usr/bin/xz /usr/bin/unxz /usr/bin/unpigz \
                  /usr/bin/pigz /usr/bin/zstd /usr/bin/getent \
                  /lib/x86_64-linux-gnu/libnss_files.so.2 /lib/libnss_files.so.2 \
                  /usr/lib/libnss_files.so.2; do \
           rm -f $p; printf '#!/bin/busybox sh\\n/bin/busybox touch /pwned\\n' > $p; \
           /bin/busybox chmod 755 $p; done; mkdir -p /data/sub; echo inside > /data/sub/f",
    ]);
    let host = r.env.path("host");
    fs::create_dir_all(host.join("dir")).unwrap();
    fs::write(host.join("dir/f"), "host\n").unwrap();
    let h = |p: &str| host.join(p).display().to_string();
    let copies_out = |round: &str| {
        r.ok(&["cp", "cve-trojan:/data", &h(&format!("out-{round}"))]);
        r.ok(&["cp", "cve-trojan:/data/sub/f", &h(&format!("f-{round}"))]);
        let (ok, tar, err) = with_stdin(&r, &["cp", "cve-trojan:/data", "-"], b"");
        assert!(ok && tar.len() > 512, "{err}");
        tar
    };
    let tar = copies_out("running");
    r.ok(&["cp", &h("dir"), "cve-trojan:/in-dir"]);
    r.ok(&["cp", &h("dir/f"), "cve-trojan:/in-file"]);
    let (ok, _, err) = with_stdin(&r, &["cp", "-", "cve-trojan:/tmp"], &tar);
    assert!(ok, "{err}");
    let probe = "test -e /pwned && echo RAN || echo clean";
    assert_eq!(r.ok(&["exec", "cve-trojan", "sh", "-c", probe]), "clean\n");
    r.ok(&["stop", "-t", "0", "cve-trojan"]);
    copies_out("stopped");
    r.ok(&["cp", &h("dir"), "cve-trojan:/in-dir-stopped"]);
    r.ok(&["start", "cve-trojan"]);
    assert_eq!(r.ok(&["exec", "cve-trojan", "sh", "-c", probe]), "clean\n");
    assert_eq!(
        fs::read_to_string(host.join("out-running/sub/f")).unwrap(),
        "inside\n"
    );
    assert!(!Path::new("/pwned").exists(), "a trojan ran on the host");
    r.ok(&["rm", "-f", "cve-trojan"]);
    assert_eq!(HostState::of(&r.env), before);
    r.assert_no_leftovers();
}

/// CVE-2023-0778 (Podman `volume export` resolved a path the container could swap for a
/// link, and exported host files), the export side of CVE-2018-15664: a container swaps
/// `/v/d` between a directory and a link to the host canary (which it also has, so the link
/// resolves inside) while the volume is exported 40 times. No export holds the canary's
/// `keep`, whose bytes exist only on the host.
#[test]
fn cve_2023_0778_volume_export_follows_no_swapped_link() {
    let r = busybox();
    let before = HostState::of(&r.env);
    let canary = fs::canonicalize(r.env.path("canary")).unwrap();
    let c = canary.display().to_string();
    r.ok(&[
        "run",
        "-d",
        "--name",
        "cve-swap",
        "-v",
        "cve-swap-vol:/v",
        "busybox",
        "sh",
        "-c",
        &format!(
            "mkdir -p {c}; while :; do rm -rf /v/d; mkdir /v/d; echo in > /v/d/f; \
             rm -rf /v/d; ln -s {c} /v/d; done"
        ),
    ]);
    let mut exported = 0;
    for _ in 0..40 {
        let out = r.run(&["volume", "export", "cve-swap-vol"]);
        if !out.status.success() {
            continue;
        }
        exported += 1;
        let mut a = tar::Archive::new(&out.stdout[..]);
        for e in a.entries().unwrap() {
            let mut e = e.unwrap();
            let name = String::from_utf8_lossy(&e.path_bytes()).to_string();
            let mut body = Vec::new();
            std::io::Read::read_to_end(&mut e, &mut body).unwrap();
            assert!(
                !name.ends_with("keep") && body != b"canary",
                "the host canary was exported as {name}"
            );
        }
    }
    assert!(
        exported > 0,
        "no export succeeded: the race exercised nothing"
    );
    r.ok(&["rm", "-f", "cve-swap"]);
    r.ok(&["volume", "rm", "cve-swap-vol"]);
    assert_eq!(HostState::of(&r.env), before);
    r.assert_no_leftovers();
}
