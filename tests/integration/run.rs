//! Containers through the CLI, as root: `run` and its options, exit codes, both external
//! runtimes, terminals, limits, seccomp, and hostile images (`/etc/passwd`, `/dev`, `/proc`
//! symlinks to host paths). The lifecycle commands are in `run_lifecycle`.
//!
//! Every test uses its own store and run root; [`RunEnv`] removes its containers (killing
//! only the processes they started) and unmounts everything under its directory on drop,
//! also when the test fails.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use crate::util::{
    assert_no_processes_under, mounts_under, success_stdout, unmount_under, TestEnv,
};

/// A test store plus its own run root.
pub(crate) struct RunEnv {
    pub(crate) env: TestEnv,
    pub(crate) runroot: PathBuf,
}

impl RunEnv {
    pub(crate) fn new() -> RunEnv {
        let env = TestEnv::new();
        let runroot = env.path("run");
        RunEnv { env, runroot }
    }

    /// A berth command on this store and run root.
    pub(crate) fn cmd(&self, args: &[&str]) -> Command {
        let mut full = vec!["--runroot", self.runroot.to_str().unwrap()];
        full.extend_from_slice(args);
        self.env.cmd(&full)
    }

    pub(crate) fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().expect("spawn berth")
    }

    pub(crate) fn ok(&self, args: &[&str]) -> String {
        success_stdout(args, self.run(args))
    }

    pub(crate) fn code(&self, args: &[&str]) -> (Option<i32>, String, String) {
        let out = self.run(args);
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    }

    /// Nothing of a container is left: no records, no process (a berth, a monitor or a
    /// container's process whose command line or working directory is under the test dir:
    /// a container that survived `rm -f`), no mounts (as they are: nothing is unmounted
    /// first), no snapshots, a clean check, the canary untouched.
    pub(crate) fn assert_no_leftovers(&self) {
        assert_eq!(self.ok(&["ps", "-aq"]).trim(), "", "containers left");
        let dir = self.env.dir.path();
        assert_no_processes_under(dir, "after the test");
        let info = fs::read_to_string("/proc/self/mountinfo").unwrap();
        let dir = dir.to_string_lossy().to_string();
        assert!(
            !info.lines().any(|l| l.contains(&dir)),
            "mounts left under {dir}: {:?}",
            mounts_under(self.env.dir.path())
        );
        let snaps: Vec<_> = fs::read_dir(self.env.root.join("snapshots"))
            .unwrap()
            .collect();
        assert!(snaps.is_empty(), "snapshots left: {snaps:?}");
        self.env.assert_check_clean();
        self.env.assert_canary();
    }
}

impl Drop for RunEnv {
    fn drop(&mut self) {
        // Remove (killing) every container of this store, then unmount what is left.
        let _ = self.cmd(&["rm", "-f", "-a"]).output();
        unmount_under(self.env.dir.path());
    }
}

pub(crate) fn busybox() -> RunEnv {
    let r = RunEnv::new();
    r.env.import_busybox("busybox");
    r
}

pub(crate) fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Whether crun can run here: on a hybrid cgroup host it needs a v1 hugetlb hierarchy
/// (tests/run.sh mounts one).
pub(crate) fn crun_usable() -> bool {
    if !Path::new("/usr/bin/crun").exists() {
        return false;
    }
    let v2 = fs::read_to_string("/sys/fs/cgroup/unified/cgroup.controllers").unwrap_or_default();
    v2.trim().is_empty()
}

#[test]
fn run_rm_echo_leaves_nothing() {
    let r = busybox();
    assert_eq!(r.ok(&["run", "--rm", "busybox", "echo", "hi"]), "hi\n");
    r.assert_no_leftovers();
}

#[test]
fn run_exit_codes_as_podman() {
    let r = busybox();
    let (code, _, _) = r.code(&["run", "--rm", "busybox", "sh", "-c", "exit 3"]);
    assert_eq!(code, Some(3));
    let (code, _, err) = r.code(&["run", "--rm", "busybox", "nosuchcommand"]);
    assert_eq!(code, Some(127), "{err}");
    assert!(err.contains("nosuchcommand"), "{err}");
    let (code, _, err) = r.code(&["run", "--rm", "busybox", "/etc"]);
    assert_eq!(code, Some(126), "{err}");
    let err = r
        .env
        .fails(&["run", "--rm", "--pull=never", "nosuchimage", "true"], 125);
    assert!(err.contains("nosuchimage"), "{err}");
    // With the default --pull=missing it is looked for in a registry first (here a dead
    // local one): exit 125, the error names the image.
    let dead = format!(
        "127.0.0.1:{}/nosuchimage",
        crate::registry_harness::free_port()
    );
    let (code, _, err) = r.code(&["run", "--rm", "--tls-verify=false", &dead, "true"]);
    assert_eq!(code, Some(125), "{err}");
    assert!(err.contains("Trying to pull"), "{err}");
    assert!(err.contains(&format!("pulling {dead}")), "{err}");
    r.assert_no_leftovers();
}

#[test]
fn run_env_workdir_user() {
    let r = busybox();
    let env_file = r.env.path("envfile");
    fs::write(&env_file, "# comment\nFROMFILE=file\nFOO=overridden\n").unwrap();
    let out = r
        .cmd(&[
            "run",
            "--rm",
            "--env-file",
            env_file.to_str().unwrap(),
            "-e",
            "FOO=bar",
            "-e",
            "BERTH_TEST_HOSTVAR",
            "-w",
            "/tmp",
            "-u",
            "nobody",
            "busybox",
            "sh",
            "-c",
            "echo $FOO $FROMFILE $BERTH_TEST_HOSTVAR; pwd; id -u; id -g",
        ])
        .env("BERTH_TEST_HOSTVAR", "fromhost")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "bar file fromhost\n/tmp\n65534\n65534\n"
    );
    let err = r
        .env
        .fails(&["run", "--rm", "-u", "nosuchuser", "busybox", "true"], 125);
    assert!(err.contains("nosuchuser"), "{err}");
    r.assert_no_leftovers();
}

#[test]
fn run_network_none_and_read_only() {
    let r = busybox();
    let out = r.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "busybox",
        "cat",
        "/proc/net/dev",
    ]);
    let ifaces: Vec<&str> = out
        .lines()
        .skip(2)
        .filter_map(|l| l.split(':').next())
        .map(str::trim)
        .collect();
    assert_eq!(ifaces, ["lo"], "{out}");
    assert_loopback_up(r.ok(&["run", "--rm", "--network", "none", "busybox", "ip", "addr"]));
    // A process reaches itself: with `lo` down a connection fails as unreachable instead.
    let (_, _, err) = r.code(&[
        "run",
        "--rm",
        "--network",
        "none",
        "busybox",
        "wget",
        "-q",
        "http://127.0.0.1:1/",
    ]);
    assert!(err.contains("refused"), "{err}");
    // exec joins the same namespace.
    let id = r.ok(&["run", "-d", "--network", "none", "busybox", "sleep", "1000"]);
    assert_loopback_up(r.ok(&["exec", id.trim(), "ip", "addr"]));
    r.ok(&["rm", "-f", id.trim()]);
    let (code, _, err) = r.code(&["run", "--rm", "--read-only", "busybox", "touch", "/x"]);
    assert_ne!(code, Some(0));
    assert!(err.contains("Read-only"), "{err}");
    r.ok(&["run", "--rm", "busybox", "touch", "/x"]);
    let out = r.ok(&[
        "run",
        "--rm",
        "--read-only",
        "--tmpfs",
        "/scratch",
        "busybox",
        "sh",
        "-c",
        "touch /scratch/ok && echo ok",
    ]);
    assert_eq!(out, "ok\n");
    r.assert_no_leftovers();
}

/// `ip addr` output of a namespace whose only device is `lo`, up, with 127.0.0.1 (and ::1
/// where the host has IPv6), as Podman gives `--network none`.
pub(crate) fn assert_loopback_up(ip_addr: String) {
    assert!(ip_addr.contains("lo: <LOOPBACK,UP,LOWER_UP>"), "{ip_addr}");
    assert!(ip_addr.contains("inet 127.0.0.1/8"), "{ip_addr}");
    if Path::new("/proc/net/if_inet6").exists() {
        assert!(ip_addr.contains("inet6 ::1/128"), "{ip_addr}");
    }
}

#[test]
fn run_volume_and_capabilities() {
    let r = busybox();
    let host = r.env.path("vol");
    fs::create_dir(&host).unwrap();
    fs::write(host.join("in"), "from host\n").unwrap();
    let v = format!("{}:/data", host.display());
    let out = r.ok(&[
        "run",
        "--rm",
        "-v",
        &v,
        "busybox",
        "sh",
        "-c",
        "cat /data/in; echo out > /data/out",
    ]);
    assert_eq!(out, "from host\n");
    assert_eq!(fs::read_to_string(host.join("out")).unwrap(), "out\n");
    let ro = format!("{}:/data:ro", host.display());
    let (code, _, _) = r.code(&["run", "--rm", "-v", &ro, "busybox", "touch", "/data/x"]);
    assert_ne!(code, Some(0));
    // Podman's 11 default capabilities: CapEff 0x800405fb.
    let out = r.ok(&[
        "run",
        "--rm",
        "busybox",
        "grep",
        "CapEff",
        "/proc/self/status",
    ]);
    assert!(out.contains("00000000800405fb"), "{out}");
    let out = r.ok(&[
        "run",
        "--rm",
        "--cap-drop",
        "ALL",
        "busybox",
        "grep",
        "CapEff",
        "/proc/self/status",
    ]);
    assert!(out.contains("0000000000000000"), "{out}");
    let err = r.env.fails(
        &["run", "--rm", "--security-opt", "bogus", "busybox", "true"],
        125,
    );
    assert!(err.contains("bogus"), "{err}");
    r.assert_no_leftovers();
}

/// The lifecycle basics through `--runtime NAME`: output, exit codes (4, 127), `-u`, and a
/// detached container stopped and removed.
fn runs_the_same_bundle(r: &RunEnv, runtime: &str) {
    let run = |extra: &[&str]| {
        let mut a = vec!["run", "--rm", "--runtime", runtime, "busybox"];
        a.extend_from_slice(extra);
        r.code(&a)
    };
    assert_eq!(run(&["echo", "hi"]).1, "hi\n");
    assert_eq!(run(&["sh", "-c", "exit 4"]).0, Some(4));
    assert_eq!(run(&["nosuchcommand"]).0, Some(127));
    assert_eq!(run(&["/etc"]).0, Some(126));
    // A missing working directory is made, whatever the runtime.
    assert_eq!(run(&["-w", "/newdir/sub", "pwd"]).1, "/newdir/sub\n");
    let (code, _, err) = run(&["-w", "/etc/passwd", "pwd"]);
    assert_eq!(code, Some(125), "{err}");
    assert!(
        err.contains("chdir to /etc/passwd: Not a directory"),
        "{err}"
    );
    let out = r.ok(&[
        "run",
        "--rm",
        "--runtime",
        runtime,
        "-u",
        "nobody",
        "busybox",
        "id",
        "-u",
    ]);
    assert_eq!(out, "65534\n");
    assert_loopback_up(r.ok(&[
        "run",
        "--rm",
        "--runtime",
        runtime,
        "--network",
        "none",
        "busybox",
        "ip",
        "addr",
    ]));
    let id = r
        .ok(&[
            "run",
            "-d",
            "--runtime",
            runtime,
            "busybox",
            "sleep",
            "1000",
        ])
        .trim()
        .to_string();
    let v: serde_json::Value = serde_json::from_str(&r.ok(&["container", "inspect", &id])).unwrap();
    assert_eq!(v[0]["OCIRuntime"], runtime, "{v}");
    r.ok(&["stop", "-t", "0", &id]);
    r.ok(&["rm", &id]);
    r.assert_no_leftovers();
}

#[test]
fn crun_runs_the_same_bundle() {
    if !crun_usable() {
        eprintln!(
            "skipped: crun refuses this hybrid cgroup layout until a v1 hugetlb hierarchy is \
             mounted (.ci/run mounts it)"
        );
        return;
    }
    runs_the_same_bundle(&busybox(), "crun");
}

#[test]
fn runc_runs_the_same_bundle() {
    runs_the_same_bundle(&busybox(), "runc");
}

/// The default runtime as root is the embedded one; its runc-style command line
/// (`berth oci-runtime`) reports the state berth keeps under the run root, and refuses
/// unknown containers and verbs with exit 1 and one line.
#[test]
fn embedded_runtime_is_the_default_and_speaks_runc_verbs() {
    let r = busybox();
    runs_the_same_bundle(&r, "embedded");
    let id = r
        .ok(&["run", "-d", "busybox", "sleep", "1000"])
        .trim()
        .to_string();
    let v: serde_json::Value = serde_json::from_str(&r.ok(&["container", "inspect", &id])).unwrap();
    assert_eq!(v[0]["OCIRuntime"], "embedded", "{v}");
    let state_root = r.runroot.join("runtime/embedded");
    let oci = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_berth"))
            .arg("oci-runtime")
            .arg("--root")
            .arg(&state_root)
            .args(args)
            .output()
            .unwrap()
    };
    let out = oci(&["state", &id]);
    assert!(out.status.success(), "{out:?}");
    let state: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(state["status"], "running", "{state}");
    assert_eq!(state["pid"], v[0]["State"]["Pid"], "{state} {v}");
    for (args, word) in [
        (vec!["state", "nosuch"], "does not exist"),
        (vec!["frobnicate", "x"], "unknown command"),
        (vec!["kill", id.as_str(), "NOSIG"], "invalid signal"),
    ] {
        let out = oci(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.contains(word) && err.trim().lines().count() == 1,
            "{err}"
        );
    }
    r.ok(&["rm", "-f", &id]);
    r.assert_no_leftovers();
}

/// An image whose `/etc/passwd` is a symlink to a host file: `-u` must not read the host file.
#[test]
fn passwd_symlink_to_host_is_refused() {
    let r = RunEnv::new();
    let host_passwd = r.env.path("host-passwd");
    fs::write(&host_passwd, "someuser:x:4242:4242::/:/bin/sh\n").unwrap();
    let host_passwd = fs::canonicalize(&host_passwd).unwrap();
    import_variant(
        &r,
        "evil",
        &["etc/passwd"],
        &[("etc/passwd", host_passwd.as_path())],
    );
    let err = r.env.fails(
        &[
            "--runroot",
            r.runroot.to_str().unwrap(),
            "run",
            "--rm",
            "-u",
            "someuser",
            "evil",
            "id",
            "-u",
        ],
        125,
    );
    assert!(
        err.contains("/etc/passwd") && err.contains("symlink"),
        "{err}"
    );
    assert!(!err.contains("4242"), "{err}");
    assert_eq!(
        fs::read_to_string(&host_passwd).unwrap(),
        "someuser:x:4242:4242::/:/bin/sh\n"
    );
    // Numeric ids need no lookup and still work.
    assert_eq!(
        r.ok(&["run", "--rm", "-u", "4242", "evil", "id", "-u"]),
        "4242\n"
    );
    r.assert_no_leftovers();
}

#[test]
fn tty_gives_the_container_a_terminal() {
    let r = busybox();
    let (code, out, err) = r.code(&[
        "run",
        "--rm",
        "-t",
        "busybox",
        "sh",
        "-c",
        "tty; test -t 0 && test -t 1 && echo istty; exit 2",
    ]);
    assert_eq!(code, Some(2), "{err}");
    assert_eq!(out, "/dev/pts/0\r\nistty\r\n");
    let id = r
        .ok(&[
            "run",
            "-d",
            "-t",
            "busybox",
            "sh",
            "-c",
            "test -t 1 && echo detached-tty",
        ])
        .trim()
        .to_string();
    assert_eq!(r.ok(&["wait", &id]).trim(), "0");
    assert_eq!(r.ok(&["logs", &id]), "detached-tty\r\n");
    r.ok(&["rm", &id]);
    r.assert_no_leftovers();
}

#[test]
fn resource_limits_reach_the_cgroups() {
    if !Path::new("/sys/fs/cgroup/memory/memory.limit_in_bytes").exists() {
        eprintln!("skipped: this host has no cgroup v1 memory hierarchy");
        return;
    }
    let r = busybox();
    let id = r
        .ok(&[
            "run",
            "-d",
            "--memory",
            "64m",
            "--cpus",
            "0.5",
            "--pids-limit",
            "50",
            "busybox",
            "sleep",
            "1000",
        ])
        .trim()
        .to_string();
    let read = |ctrl: &str, file: &str| {
        fs::read_to_string(format!("/sys/fs/cgroup/{ctrl}/berth/{id}/{file}"))
            .unwrap_or_else(|e| panic!("{ctrl}/{file}: {e}"))
            .trim()
            .to_string()
    };
    assert_eq!(read("memory", "memory.limit_in_bytes"), "67108864");
    assert_eq!(read("cpu", "cpu.cfs_quota_us"), "50000");
    assert_eq!(read("pids", "pids.max"), "50");
    let err = r
        .env
        .fails(&["run", "--rm", "--memory", "lots", "busybox", "true"], 125);
    assert!(err.contains("lots"), "{err}");
    r.ok(&["rm", "-f", &id]);
    r.assert_no_leftovers();
}

#[test]
fn seccomp_filter_and_privileged() {
    let r = busybox();
    let seccomp = |extra: &[&str]| {
        let mut args = vec!["run", "--rm"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["busybox", "grep", "Seccomp:", "/proc/self/status"]);
        r.ok(&args).split_whitespace().nth(1).unwrap().to_string()
    };
    assert_eq!(seccomp(&[]), "2", "a filter by default");
    assert_eq!(seccomp(&["--security-opt", "seccomp=unconfined"]), "0");
    assert_eq!(seccomp(&["--privileged"]), "0");
    // unshare(2) is denied by the default filter, and allowed with CAP_SYS_ADMIN.
    let (code, _, err) = r.code(&["run", "--rm", "busybox", "unshare", "-m", "true"]);
    assert_ne!(code, Some(0));
    assert!(err.contains("not permitted"), "{err}");
    r.ok(&[
        "run",
        "--rm",
        "--cap-add",
        "SYS_ADMIN",
        "busybox",
        "unshare",
        "-m",
        "true",
    ]);
    // Privileged: more than the 11 default capabilities, and no masked paths.
    let out = r.ok(&[
        "run",
        "--rm",
        "--privileged",
        "busybox",
        "grep",
        "CapEff",
        "/proc/self/status",
    ]);
    assert!(!out.contains("00000000800405fb"), "{out}");
    r.assert_no_leftovers();
}

/// Import busybox as `name`, without the entries in `drop` and with `links` (path → target)
/// added as symlinks.
pub(crate) fn import_variant(r: &RunEnv, name: &str, drop: &[&str], links: &[(&str, &Path)]) {
    let base = r.env.busybox_tar();
    let out = r.env.path(&format!("{name}.tar"));
    let mut b = tar::Builder::new(fs::File::create(&out).unwrap());
    let mut a = tar::Archive::new(fs::File::open(&base).unwrap());
    for entry in a.entries().unwrap() {
        let mut e = entry.unwrap();
        let path = e.path().unwrap().to_path_buf();
        let shown = path.to_string_lossy().trim_end_matches('/').to_string();
        if drop.contains(&shown.as_str()) {
            continue;
        }
        let mut h = e.header().clone();
        if h.entry_type() == tar::EntryType::Symlink {
            let target = e.link_name().unwrap().unwrap().to_path_buf();
            b.append_link(&mut h, &path, &target).unwrap();
        } else {
            b.append_data(&mut h, &path, &mut e).unwrap();
        }
    }
    for (path, target) in links {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(1_700_000_000);
        h.set_mode(0o777);
        h.set_size(0);
        b.append_link(&mut h, path, target).unwrap();
    }
    b.into_inner().unwrap();
    r.env.ok(&["import", out.to_str().unwrap(), name]);
}

/// `/dev`, `/proc` and a `-v` target that are symlinks to host paths: berth refuses the first
/// two (runc 1.1 wrote its `/dev/fd` links through such a `/dev` onto the host); the runtime
/// resolves a bind target inside the rootfs. The host canary never changes.
#[test]
fn symlinked_dev_proc_and_volume_target_stay_inside() {
    let r = RunEnv::new();
    let canary = fs::canonicalize(r.env.path("canary")).unwrap();
    for dir in ["dev", "proc", "mnt"] {
        import_variant(&r, &format!("link-{dir}"), &[], &[(dir, canary.as_path())]);
    }
    let vol = r.env.path("vol");
    fs::create_dir(&vol).unwrap();
    let v = format!("{}:/mnt", vol.display());
    // Whether the runtime refuses or runs them, nothing lands in the canary.
    let err = r.env.fails(
        &[
            "--runroot",
            r.runroot.to_str().unwrap(),
            "run",
            "--rm",
            "link-dev",
            "sh",
            "-c",
            "echo x > /dev/owned",
        ],
        125,
    );
    assert!(err.contains("/dev") && err.contains("symlink"), "{err}");
    let err = r.env.fails(
        &[
            "--runroot",
            r.runroot.to_str().unwrap(),
            "run",
            "--rm",
            "link-proc",
            "true",
        ],
        125,
    );
    assert!(err.contains("/proc") && err.contains("symlink"), "{err}");
    let (code, _, err) = r.code(&[
        "run",
        "--rm",
        "-v",
        &v,
        "link-mnt",
        "sh",
        "-c",
        "echo x > /mnt/owned",
    ]);
    assert_eq!(code, Some(0), "{err}");
    // The bind landed on the in-root resolution of the link, not on the host canary.
    assert_eq!(fs::read_to_string(vol.join("owned")).unwrap(), "x\n");
    r.env.assert_canary();
    r.assert_no_leftovers();
}

/// An image's WORKDIR through a symlink that climbs out (`/w -> /../../tmp/<x>`) is made
/// inside the rootfs, never on the host.
#[test]
fn a_missing_workdir_behind_a_symlink_is_made_inside_the_rootfs() {
    let r = busybox();
    let outside = format!("berth-wd-{}", std::process::id());
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Symlink);
    h.set_size(0);
    h.set_mode(0o777);
    h.set_mtime(1_700_000_000);
    b.append_link(&mut h, "w", format!("/../../tmp/{outside}"))
        .unwrap();
    let layer = b.into_inner().unwrap();
    crate::deep_images::load_image(&r.env, "wdlink", &[layer], "/w");
    let host = Path::new("/tmp").join(&outside);
    let out = r.ok(&[
        "run",
        "--rm",
        "wdlink",
        "sh",
        "-c",
        &format!("pwd; test -d /tmp/{outside} && echo inside"),
    ]);
    // `pwd` shows the physical path: the link's target, inside.
    assert_eq!(out, format!("/tmp/{outside}\ninside\n"));
    assert!(!host.exists(), "{} was made on the host", host.display());
    r.assert_no_leftovers();
}

/// Output sent to the null device is written and dropped, on every runtime (youki's
/// libcontainer re-opens a `/dev/null` stdio read-only inside the container, so `sh` once
/// failed with `write error: Bad file descriptor` under the embedded runtime).
#[test]
fn run_with_output_to_dev_null() {
    let r = busybox();
    let out = r
        .cmd(&[
            "run",
            "--rm",
            "--network",
            "none",
            "busybox",
            "sh",
            "-c",
            "echo out && echo err >&2",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .expect("run berth");
    assert!(out.success(), "{out:?}");
}
