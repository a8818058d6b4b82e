//! Rootless networks (issue 15) as a plain user: pasta (the default) and slirp4netns with
//! `-p` (a busybox `httpd` fetched with curl on 127.0.0.1), the interface the container
//! sees, the helper process ended by the pid berth recorded (`stop`, `rm -f`, `run --rm`,
//! `rm` after `kill -9` of the monitor), a host port already taken, the one line naming the
//! package when pasta or slirp4netns is missing. Bridge mode as a plain user:
//! `rootless_network_bridge.rs`. Traffic only to 127.0.0.1.

use std::fs;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use crate::rootless_run::Rootless;
use crate::run_network::free_port;

/// pasta and slirp4netns open `/dev/net/tun` as the user: Debian's udev makes it 0666; a
/// sandbox that made it 0600 gets Debian's mode back (the tests run as root).
pub(crate) fn tun_for_users() {
    let tun = Path::new("/dev/net/tun");
    if let Ok(m) = fs::metadata(tun) {
        if m.permissions().mode() & 0o006 != 0o006 {
            let _ = fs::set_permissions(tun, fs::Permissions::from_mode(0o666));
        }
    }
}

fn installed(program: &str) -> bool {
    ["/usr/bin", "/usr/local/bin", "/bin"]
        .iter()
        .any(|d| Path::new(d).join(program).exists())
}

/// `curl http://127.0.0.1:PORT/` (stdout; empty when it failed).
pub(crate) fn curl(port: u16) -> String {
    let out = Command::new("curl")
        .args(["-sf", "--max-time", "5"])
        .arg(format!("http://127.0.0.1:{port}/"))
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// The network helper berth recorded for the only container: (program, pid, start time).
fn helper(r: &Rootless) -> (String, u32, u64) {
    let id = r.ok("$BERTH ps -aq --no-trunc").trim().to_string();
    let path = r
        .env
        .path(&format!("run/berth/containers/{id}/usernet.json"));
    let v: serde_json::Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    (
        v["program"].as_str().unwrap().to_string(),
        v["pid"].as_u64().unwrap() as u32,
        v["start_time"].as_u64().unwrap(),
    )
}

/// Whether the process `pid` started at `start` still runs (not gone, not a zombie).
fn running(pid: u32, start: u64) -> bool {
    let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    let rest: Vec<&str> = stat[stat.rfind(')').unwrap() + 1..]
        .split_whitespace()
        .collect();
    rest[0] != "Z" && rest[19].parse::<u64>().ok() == Some(start)
}

/// No helper files or namespaces left in the user's network run directory.
pub(crate) fn assert_no_usernet_left(r: &Rootless) {
    for d in ["usernet", "netns"] {
        let dir = r.env.path(&format!("run/berth/networks/{d}"));
        let left: Vec<_> = fs::read_dir(&dir)
            .map(|e| e.flatten().map(|e| e.file_name()).collect())
            .unwrap_or_default();
        assert!(left.is_empty(), "{} left: {left:?}", dir.display());
    }
}

/// The lines of berth's error (the notices before it, such as the runtime's, left out).
fn error_lines(stderr: &str) -> usize {
    stderr
        .lines()
        .skip_while(|l| !l.starts_with("Error:"))
        .count()
}

/// A busybox httpd serving `body` on port 80 of the container, published on 127.0.0.1.
pub(crate) fn httpd(r: &Rootless, network: &str, port: u16, body: &str) {
    r.ok(&format!(
        "$BERTH run -d --name web {network} -p 127.0.0.1:{port}:80 bb sh -c \
         'mkdir -p /www && echo {body} > /www/index.html && exec httpd -f -p 80 -h /www' >/dev/null"
    ));
    crate::run::wait_until("the published port answers", || {
        curl(port) == format!("{body}\n")
    });
}

#[test]
fn rootless_pasta_publishes_ports_and_its_process_ends_with_the_container() {
    if !installed("pasta") {
        eprintln!("skipped: pasta (Debian's passt) is not installed");
        return;
    }
    let r = Rootless::with_busybox();
    // pasta is the rootless default.
    let port = free_port();
    httpd(&r, "", port, "from-pasta");
    let mode = r.ok("$BERTH inspect --format '{{.HostConfig.NetworkMode}}' web");
    assert_eq!(mode.trim(), "pasta");
    let (program, pid, start) = helper(&r);
    assert_eq!(program, "pasta");
    assert!(running(pid, start));
    // The container sees pasta's interface besides lo.
    let links = r.ok("$BERTH exec web ip -o link");
    assert!(
        links.lines().any(|l| !l.contains(": lo:")),
        "only lo: {links}"
    );
    assert_eq!(
        r.ok("$BERTH port web").trim(),
        format!("80/tcp -> 127.0.0.1:{port}")
    );
    r.ok("$BERTH stop -t 1 web >/dev/null");
    assert!(!running(pid, start), "pasta {pid} outlived stop");
    assert_eq!(curl(port), "");
    // Started again: a new pasta; `rm -f` ends it.
    r.ok("$BERTH start web >/dev/null");
    crate::run::wait_until("the port answers again", || curl(port) == "from-pasta\n");
    let (_, pid, start) = helper(&r);
    r.ok("$BERTH rm -f web >/dev/null");
    assert!(!running(pid, start), "pasta {pid} outlived rm -f");
    assert_no_usernet_left(&r);

    // `run --rm` in the foreground: the pid berth recorded while it ran is gone after.
    let out = r.ok(
        "$BERTH run --rm --network pasta bb sleep 2 & \
         for i in $(seq 100); do f=$(ls $XDG_RUNTIME_DIR/berth/containers/*/usernet.json 2>/dev/null) && break; sleep 0.05; done; \
         cat $f; wait",
    );
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let (pid, start) = (
        v["pid"].as_u64().unwrap() as u32,
        v["start_time"].as_u64().unwrap(),
    );
    assert!(!running(pid, start), "pasta {pid} outlived run --rm");
    assert_no_usernet_left(&r);
    r.finish();
}

#[test]
fn rootless_slirp4netns_publishes_ports_and_rm_after_kill_9_of_the_monitor_ends_it() {
    if !installed("slirp4netns") {
        eprintln!("skipped: slirp4netns is not installed");
        return;
    }
    let r = Rootless::with_busybox();
    let port = free_port();
    httpd(&r, "--network slirp4netns", port, "from-slirp4netns");
    let (program, pid, start) = helper(&r);
    assert_eq!(program, "slirp4netns");
    assert!(running(pid, start));
    let addr = r.ok("$BERTH exec web ip -o -4 addr show tap0");
    assert!(addr.contains("10.0.2.100/24"), "{addr}");
    let hosts = r.ok("$BERTH exec web cat /etc/resolv.conf");
    assert!(hosts.contains("nameserver 10.0.2.3"), "{hosts}");
    // The monitor killed: `rm -f` still ends slirp4netns by its recorded pid.
    let monitor: i32 = r
        .ok("$BERTH inspect --format '{{.State.ConmonPid}}' web")
        .trim()
        .parse()
        .unwrap();
    assert!(monitor > 0);
    // SAFETY: kill(2) on the monitor of the container this test started.
    unsafe {
        libc::kill(monitor, libc::SIGKILL);
    }
    r.ok("$BERTH rm -f web >/dev/null");
    assert!(!running(pid, start), "slirp4netns {pid} outlived rm");
    assert_eq!(curl(port), "");
    assert_no_usernet_left(&r);
    r.finish();
}

#[test]
fn rootless_network_errors_are_one_line_and_leave_nothing() {
    let r = Rootless::with_busybox();
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    for network in ["pasta", "slirp4netns"] {
        if !installed(if network == "pasta" {
            "pasta"
        } else {
            "slirp4netns"
        }) {
            continue;
        }
        let out = r.sh(&format!(
            "$BERTH run --rm --network {network} -p 127.0.0.1:{port}:80 bb true"
        ));
        let err = String::from_utf8_lossy(&out.stderr);
        assert_ne!(out.status.code(), Some(0), "{network}: {err}");
        assert!(
            err.contains(&format!("127.0.0.1:{port}: bind: address already in use")),
            "{network}: {err}"
        );
        assert_eq!(error_lines(&err), 1, "{network}: {err}");
        // `--rm`: the container whose start failed is gone too.
        assert_eq!(r.ok("$BERTH ps -aq").trim(), "", "{network}");
        assert_no_usernet_left(&r);
    }
    // pasta refusing its options: its own message, nothing left.
    if installed("pasta") {
        let out = r.sh("$BERTH run --rm --network pasta:--bogus bb true");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(125), "{err}");
        assert!(
            err.contains("pasta failed") && err.contains("unrecognized option '--bogus'"),
            "{err}"
        );
        assert_eq!(error_lines(&err), 1, "{err}");
        assert_eq!(r.ok("$BERTH ps -aq").trim(), "");
        assert_no_usernet_left(&r);
    }
    // pasta and slirp4netns missing (not on PATH): one line naming the Debian package, for
    // the default network too; berth's own helpers (crun, newuidmap) are found without PATH.
    for network in ["", "--network pasta", "--network slirp4netns"] {
        let out = r.sh(&format!(
            "PATH=/nonexistent $BERTH run --rm {network} bb true"
        ));
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(125), "{network}: {err}");
        let want = match network {
            "--network slirp4netns" => {
                "slirp4netns not found: install Debian's slirp4netns package"
            }
            _ => "pasta not found: install Debian's passt package",
        };
        assert!(err.contains(want), "{network}: {err}");
        assert_eq!(error_lines(&err), 1, "{network}: {err}");
    }
    assert_eq!(r.ok("$BERTH ps -aq").trim(), "");
    drop(taken);
    r.finish();
}
