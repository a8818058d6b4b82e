//! Containers as a plain user (`berth-rootless`, with `/etc/subuid` and `/etc/subgid`
//! ranges): berth's user namespace (uid 0 → the user, 1…65536 → the subordinate range),
//! `run`, `create`/`start`, `exec`, `ps`, `logs`, `stop`, `rm`, `commit`, `unshare`, file
//! owners on the host, and the one-line error for a user without ranges. Each test has its
//! own HOME (store) and XDG_RUNTIME_DIR (run root, pause process), and kills what it started.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::{Command, Output};

use crate::rootless::{ensure_user, USER};
use crate::util::{require_tool, TestEnv};

/// A system account gets no subordinate ranges.
const NO_SUBID_USER: &str = "berth-nosubid";

fn id_of(user: &str, flag: &str) -> u32 {
    let out = Command::new("id").arg(flag).arg(user).output().unwrap();
    assert!(out.status.success(), "id {flag} {user}: {out:?}");
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

/// The user's first range in `/etc/subuid`, added (well above the usual 100000) when missing.
fn subuid_start(user: &str) -> u64 {
    let find = || {
        fs::read_to_string("/etc/subuid")
            .unwrap_or_default()
            .lines()
            .find_map(|l| {
                let f: Vec<&str> = l.split(':').collect();
                (f.len() == 3 && f[0] == user).then(|| f[1].parse::<u64>().unwrap())
            })
    };
    if let Some(start) = find() {
        return start;
    }
    let out = Command::new(require_tool("usermod"))
        .args([
            "--add-subuids",
            "400000-465535",
            "--add-subgids",
            "400000-465535",
            user,
        ])
        .output()
        .unwrap();
    find().unwrap_or_else(|| panic!("no subuid range for {user}: {out:?}"))
}

fn ensure_system_user(name: &str) {
    let known = Command::new("id").arg("-u").arg(name).output().unwrap();
    if !known.status.success() {
        let out = Command::new(require_tool("useradd"))
            .args(["--system", "--no-create-home", "--shell", "/bin/sh", name])
            .output()
            .unwrap();
        let again = Command::new("id").arg("-u").arg(name).output().unwrap();
        assert!(again.status.success(), "useradd failed: {out:?}");
    }
    let text = fs::read_to_string("/etc/subuid").unwrap_or_default();
    assert!(
        !text.lines().any(|l| l.starts_with(&format!("{name}:"))),
        "{name} must have no /etc/subuid range"
    );
}

/// One rootless test's world: the test dir owned by `user`, HOME and XDG_RUNTIME_DIR in it.
pub(crate) struct Rootless {
    pub(crate) env: TestEnv,
    user: &'static str,
}

impl Rootless {
    pub(crate) fn new(user: &'static str) -> Rootless {
        crate::rootless_network::tun_for_users();
        let env = TestEnv::new();
        let _ = env.busybox_tar();
        for d in ["home", "run"] {
            fs::create_dir(env.path(d)).unwrap();
        }
        let chown = Command::new("chown")
            .arg("-R")
            .arg(format!("{user}:"))
            .arg(env.dir.path())
            .status()
            .unwrap();
        assert!(chown.success());
        fs::set_permissions(env.dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        fs::set_permissions(env.path("run"), fs::Permissions::from_mode(0o700)).unwrap();
        Rootless { env, user }
    }

    /// berth-rootless with its busybox image imported as `bb`.
    pub(crate) fn with_busybox() -> Rootless {
        ensure_user();
        subuid_start(USER);
        let r = Rootless::new(USER);
        r.ok("$BERTH import $TAR bb >/dev/null");
        r
    }

    /// Run `script` with `sh -c` as the user.
    pub(crate) fn sh(&self, script: &str) -> Output {
        Command::new(require_tool("runuser"))
            .args(["-u", self.user, "--", "env", "-i"])
            .arg(format!("HOME={}", self.env.path("home").display()))
            .arg(format!(
                "XDG_RUNTIME_DIR={}",
                self.env.path("run").display()
            ))
            .arg("PATH=/usr/sbin:/usr/bin:/sbin:/bin")
            .arg(format!("BERTH={}", env!("CARGO_BIN_EXE_berth")))
            .arg(format!("TAR={}", self.env.busybox_tar().display()))
            .args(["sh", "-c", script])
            .output()
            .unwrap()
    }

    /// Run `script` and require success; its stdout.
    pub(crate) fn ok(&self, script: &str) -> String {
        let out = self.sh(script);
        assert!(out.status.success(), "{script}\n{}", text(&out));
        String::from_utf8_lossy(&out.stdout).to_string()
    }

    fn store(&self) -> std::path::PathBuf {
        self.env.path("home/.local/share/berth")
    }

    /// Nothing left: no container, no mount in berth's namespace under the test dir.
    fn assert_clean(&self) {
        assert_eq!(self.ok("$BERTH ps -aq").trim(), "", "containers left");
        let dir = self.env.dir.path().display().to_string();
        let info = self.ok("$BERTH unshare cat /proc/self/mountinfo");
        let left: Vec<&str> = info.lines().filter(|l| l.contains(&dir)).collect();
        assert!(left.is_empty(), "mounts left: {left:?}");
        let snaps: Vec<_> = fs::read_dir(self.store().join("snapshots"))
            .unwrap()
            .collect();
        assert!(snaps.is_empty(), "snapshots left: {snaps:?}");
    }

    /// Pids of processes this test started that still run: the pause process, monitors (their
    /// command line names the test dir) and containers (their root is under it).
    fn own_processes(&self) -> Vec<i32> {
        let dir = self.env.dir.path().display().to_string();
        let mut pids = Vec::new();
        for e in fs::read_dir("/proc").unwrap().flatten() {
            let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
                continue;
            };
            if pid == std::process::id() as i32 {
                continue;
            }
            let cmdline = fs::read(e.path().join("cmdline")).unwrap_or_default();
            let root = fs::read_link(e.path().join("root")).unwrap_or_default();
            if String::from_utf8_lossy(&cmdline).contains(&dir)
                || root.display().to_string().contains(&dir)
            {
                pids.push(pid);
            }
        }
        if let Some(pid) = self.pause_pid() {
            pids.push(pid);
        }
        pids
    }

    fn pause_pid(&self) -> Option<i32> {
        let pid = crate::util::pid_in(&self.env.path("run/berth/pause.pid"))?;
        Path::new(&format!("/proc/{pid}")).exists().then_some(pid)
    }

    /// Stop the pause process (berth's namespace and its mounts go with it) and check that no
    /// process of this test is left.
    pub(crate) fn finish(&self) {
        self.assert_clean();
        let pause = self.pause_pid().expect("a pause process");
        // SAFETY: kill(2) on the pause process this test's berth started.
        unsafe {
            libc::kill(pause, libc::SIGKILL);
        }
        crate::run::wait_until("pause process gone", || {
            fs::read_to_string(format!("/proc/{pause}/stat"))
                .map(|s| s.contains(") Z"))
                .unwrap_or(true)
        });
        let left: Vec<i32> = self
            .own_processes()
            .into_iter()
            .filter(|p| *p != pause)
            .collect();
        assert!(left.is_empty(), "processes left: {left:?}");
    }
}

impl Drop for Rootless {
    fn drop(&mut self) {
        let _ = self.sh("$BERTH rm -f -a");
        for pid in self.own_processes() {
            // SAFETY: kill(2) on processes this test started (found by its own test dir).
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
    }
}

fn text(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn rootless_run_maps_container_root_to_the_user_and_others_to_subuids() {
    let r = Rootless::with_busybox();
    let uid = id_of(USER, "-u");
    let start = subuid_start(USER);
    let out = r.ok("$BERTH run --rm bb id");
    assert!(out.starts_with("uid=0(root) gid=0"), "{out}");
    let map = r.ok("$BERTH run --rm bb cat /proc/self/uid_map");
    let rows: Vec<Vec<String>> = map
        .lines()
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .collect();
    assert_eq!(
        rows,
        vec![
            vec!["0".to_string(), uid.to_string(), "1".to_string()],
            vec!["1".to_string(), start.to_string(), "65536".to_string()],
        ]
    );

    // Files the container makes belong on the host to the user (container root) and to the
    // subordinate range (container uid 1000 → start + 999).
    let id = r
        .ok("$BERTH create --name owners bb sh -c 'touch /tmp/by-root /tmp/by-1000; chown 1000:1000 /tmp/by-1000'")
        .trim()
        .to_string();
    r.ok("$BERTH start -a owners");
    let upper = r.store().join("snapshots").join(&id).join("upper/tmp");
    let meta = fs::metadata(upper.join("by-root")).unwrap();
    assert_eq!((meta.uid(), meta.gid()), (uid, id_of(USER, "-g")));
    let meta = fs::metadata(upper.join("by-1000")).unwrap();
    assert_eq!(u64::from(meta.uid()), start + 999);

    // Committed, then unpacked as a layer of a new image: the owners survive the round trip.
    r.ok("$BERTH run --name multi bb sh -c 'mkdir -p /home/u; echo hi > /home/u/f; chown -R 1000:1000 /home/u; chmod 700 /home/u'");
    r.ok("$BERTH commit multi multi >/dev/null; $BERTH rm multi owners >/dev/null");
    let out = r.ok("$BERTH run --rm multi sh -c 'stat -c %u:%g:%a /home/u; cat /home/u/f'");
    assert_eq!(out, "1000:1000:700\nhi\n");
    let layers = fs::read_dir(r.store().join("overlay")).unwrap();
    let owned: Vec<u32> = layers
        .flatten()
        .filter_map(|l| fs::metadata(l.path().join("diff/home/u")).ok())
        .map(|m| m.uid())
        .collect();
    assert_eq!(owned, vec![(start + 999) as u32], "unpacked layer owners");
    // Removing the image and its layers works too (inside berth's namespace).
    r.ok("$BERTH unshare $BERTH rmi multi >/dev/null; $BERTH unshare $BERTH image prune -a -f >/dev/null");
    r.finish();
}

#[test]
fn rootless_detached_lifecycle_exec_logs_stop_rm() {
    let r = Rootless::with_busybox();
    let id = r
        .ok("$BERTH run -d --name web bb sh -c 'echo started; echo oops >&2; while true; do echo tick; sleep 0.1; done'")
        .trim()
        .to_string();
    assert_eq!(id.len(), 64, "{id}");
    let ps = r.ok("$BERTH ps");
    assert!(ps.contains("web") && ps.contains("Up"), "{ps}");
    crate::run::wait_until("log output", || {
        r.ok("$BERTH logs web 2>/dev/null").contains("tick")
    });
    assert!(r.ok("$BERTH logs web 2>/dev/null").starts_with("started\n"));
    assert_eq!(r.ok("$BERTH logs web 2>&1 >/dev/null"), "oops\n");
    assert!(r.ok("$BERTH exec web id").starts_with("uid=0(root) gid=0"));
    assert_eq!(
        r.ok("$BERTH exec -u 1000 web id -u").trim(),
        "1000",
        "exec -u"
    );
    let out = r.sh("$BERTH exec web sh -c 'exit 4'");
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    r.ok("$BERTH stop -t 1 web");
    let json: serde_json::Value =
        serde_json::from_str(&r.ok("$BERTH ps -a --format json")).unwrap();
    assert_eq!(json[0]["State"], "exited");
    r.ok("$BERTH rm web");
    // A detached container with runc too, removed while running.
    r.ok("$BERTH run -d --runtime runc --name r2 bb sleep 1000");
    assert!(r.ok("$BERTH exec r2 id").starts_with("uid=0(root)"));
    r.ok("$BERTH rm -f r2");
    // `--network none`: the namespace berth makes in its user namespace, `lo` up.
    for runtime in ["crun", "runc"] {
        crate::run::assert_loopback_up(r.ok(&format!(
            "$BERTH run --rm --runtime {runtime} --network none bb ip addr"
        )));
    }
    r.finish();
}

#[test]
fn rootless_commit_keeps_deletions_and_opaque_dirs() {
    let r = Rootless::with_busybox();
    r.ok("$BERTH run --name c1 bb sh -c 'mkdir -p /tmp/d; echo old > /tmp/d/old; echo x > /tmp/gone'");
    r.ok("$BERTH commit c1 step1 >/dev/null; $BERTH rm c1 >/dev/null");
    r.ok("$BERTH run --name c2 step1 sh -c 'rm -rf /tmp/d /tmp/gone; mkdir /tmp/d; echo new > /tmp/d/new'");
    r.ok("$BERTH commit c2 step2 >/dev/null; $BERTH rm c2 >/dev/null");
    assert_eq!(
        r.ok("$BERTH run --rm step2 ls /tmp /tmp/d"),
        "/tmp:\nd\n\n/tmp/d:\nnew\n"
    );
    r.finish();
}

/// `berth build` as a plain user runs in berth's user namespace, as `podman build` does
/// (no `berth unshare` needed): RUN steps, `COPY --chown`, owners kept in the image, and the
/// one-line notice that an installed runtime stands in for the embedded one, once a build.
#[test]
fn rootless_build_runs_in_berths_namespace() {
    let r = Rootless::with_busybox();
    let ctx = r.env.path("ctx");
    fs::create_dir(&ctx).unwrap();
    fs::write(ctx.join("x"), "copied\n").unwrap();
    fs::write(
        ctx.join("Containerfile"),
        "FROM bb\nRUN echo one > /f && chown 1000:1000 /f\nRUN echo two >> /f\n\
         COPY --chown=10:20 x /x\n",
    )
    .unwrap();
    let chown = Command::new("chown")
        .arg("-R")
        .arg(format!("{USER}:"))
        .arg(&ctx)
        .status()
        .unwrap();
    assert!(chown.success());
    let out = r.sh(&format!("$BERTH build -q -t built {}", ctx.display()));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        err.matches("instead of the embedded runtime").count(),
        1,
        "one notice per build: {err}"
    );
    let got = r.ok("$BERTH run --rm built sh -c 'stat -c %u:%g /f /x; cat /f /x'");
    assert_eq!(got, "1000:1000\n10:20\none\ntwo\ncopied\n");
    r.finish();
}

#[test]
fn rootless_unshare_enters_berths_namespace() {
    let r = Rootless::with_busybox();
    let uid = id_of(USER, "-u");
    let start = subuid_start(USER);
    assert_eq!(r.ok("$BERTH unshare id -u").trim(), "0");
    let map = r.ok("$BERTH unshare cat /proc/self/uid_map");
    assert!(
        map.split_whitespace().collect::<Vec<_>>()
            == ["0", &uid.to_string(), "1", "1", &start.to_string(), "65536"],
        "{map}"
    );
    let gid_map = r.ok("$BERTH unshare cat /proc/self/gid_map");
    assert_eq!(gid_map.lines().count(), 2, "{gid_map}");
    // The same namespace every time (the pause process keeps it), the marker is set, and the
    // command's exit code is berth's.
    let a = r.ok("$BERTH unshare readlink /proc/self/ns/user");
    let b = r.ok("$BERTH unshare sh -c 'echo $BERTH_UNSHARE; readlink /proc/self/ns/user'");
    assert_eq!(b, format!("1\n{a}"));
    let out = r.sh("$BERTH unshare sh -c 'exit 7'");
    assert_eq!(out.status.code(), Some(7), "{}", text(&out));
    let out = r.sh("$BERTH unshare no-such-command-berth");
    assert_eq!(out.status.code(), Some(127), "{}", text(&out));
    // `image mount` works in there (as `podman image mount` under `podman unshare`).
    let out = r.ok(
        "$BERTH unshare sh -c 'm=$($BERTH image mount bb); test -x $m/bin/busybox && echo mounted; $BERTH image unmount bb >/dev/null'",
    );
    assert_eq!(out, "mounted\n");
    // With no command it runs $SHELL.
    let out = r.sh("echo 'id -u' | SHELL=/bin/sh $BERTH unshare");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "0",
        "{}",
        text(&out)
    );
    r.finish();
}

#[test]
fn rootless_without_subuid_range_is_one_clear_line() {
    ensure_system_user(NO_SUBID_USER);
    let r = Rootless::new(NO_SUBID_USER);
    // Image commands still work without ranges.
    r.ok("$BERTH import $TAR bb >/dev/null");
    for cmd in ["$BERTH run --rm bb true", "$BERTH unshare id", "$BERTH ps"] {
        let out = r.sh(cmd);
        assert_eq!(out.status.code(), Some(125), "{cmd}: {}", text(&out));
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.trim_end().lines().count(), 1, "{cmd}: {err}");
        assert!(
            err.contains("/etc/subuid") && err.contains(NO_SUBID_USER),
            "{cmd}: {err}"
        );
    }
    assert!(r.pause_pid().is_none());
}
