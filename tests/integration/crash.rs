//! Crash safety (issue 19 item 3): berth killed with SIGKILL at random instants during pull,
//! push, build, commit, import, load, rmi and prune. After each kill the store checks clean,
//! or reports only what an interrupted write is allowed to leave (a layer whose unpacking
//! never finished, a build snapshot whose build is gone), which `system check --repair`
//! clears; then no berth process and no mount is left under the test's root, the run root
//! holds only the bundles and runtime states of the store's containers, no network
//! attachment of the store's killed RUN steps is left, and the operation, run again,
//! succeeds.
//!
//! The kill instant is a random number of milliseconds after spawn, up to a little more than
//! the operation's own duration: every instant must be survivable, so no instant can make
//! the test flaky. The seed is printed; `BERTH_CRASH_SEED=N` replays a run and
//! `BERTH_CRASH_KILLS=N` sets the number of kills (20 here; `bench/crash.sh` runs 200+).

use std::fs;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::registry_harness::{berth_in, Registry};
use crate::util::{assert_no_processes_under, mounts_under, BerthCmd, ChildGuard, TestEnv};

/// The operations killed, in the order the mix cycles through them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Pull,
    Push,
    Build,
    Commit,
    Import,
    Load,
    Rmi,
    Prune,
}

const OPS: [Op; 8] = [
    Op::Pull,
    Op::Push,
    Op::Build,
    Op::Commit,
    Op::Import,
    Op::Load,
    Op::Rmi,
    Op::Prune,
];

/// What `system check` may report right after a kill: debris an interrupted write leaves by
/// design (ARCHITECTURE.md, "Crash and disk-full safety"), which `--repair` removes: in the
/// store, and a killed RUN step's bundle and network attachment.
const REPAIRABLE: [&str; 4] = [
    "unpacking never finished",
    "left by a build that is gone",
    "left by a RUN step whose berth is gone",
    "the berth that attached it (a build's RUN step) is gone",
];

/// splitmix64: a seeded generator, so a failing run can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// A store with everything the operations need: a registry holding `crash/pullme:1`, local
/// images, a container to commit, archives to import and load, a build context.
struct World {
    env: TestEnv,
    runroot: PathBuf,
    reg: Registry,
    /// The operation's uninterrupted duration, measured once (ms).
    durations: Vec<(Op, u64)>,
    pushes: u32,
}

impl BerthCmd for World {
    fn cmd(&self, args: &[&str]) -> Command {
        berth_in(&self.env, &self.runroot, args)
    }
}

impl World {
    fn new() -> World {
        let env = TestEnv::new();
        let runroot = env.path("run");
        let reg = Registry::start();
        let w = World {
            env,
            runroot,
            reg,
            durations: Vec::new(),
            pushes: 0,
        };
        w.env.import_busybox("busybox");
        // A bigger image (a few MiB of incompressible bytes), so pull, push and load take
        // long enough to be killed in the middle.
        let ctx = w.env.path("big-ctx");
        fs::create_dir_all(&ctx).unwrap();
        fs::write(ctx.join("Containerfile"), "FROM busybox\nCOPY blob /blob\n").unwrap();
        fs::write(ctx.join("blob"), noise(6 << 20, 1)).unwrap();
        w.ok(&[
            "build",
            "-q",
            "-t",
            "crash/big:local",
            ctx.to_str().unwrap(),
        ]);
        // The image pulled: only in the registry, so every pull fetches its layer.
        fs::write(ctx.join("blob"), noise(6 << 20, 4)).unwrap();
        w.ok(&["build", "-q", "-t", "crash/pullme", ctx.to_str().unwrap()]);
        let remote = w.remote();
        w.ok(&["push", "--tls-verify=false", "crash/pullme", &remote]);
        w.ok(&["rmi", "crash/pullme"]);
        // An image only in an archive, for load.
        let ctx = w.env.path("load-ctx");
        fs::create_dir_all(&ctx).unwrap();
        fs::write(ctx.join("Containerfile"), "FROM busybox\nCOPY blob /blob\n").unwrap();
        fs::write(ctx.join("blob"), noise(4 << 20, 2)).unwrap();
        w.ok(&["build", "-q", "-t", "crash/loadme", ctx.to_str().unwrap()]);
        let archive = w.env.path("loadme.tar");
        w.ok(&["save", "-o", archive.to_str().unwrap(), "crash/loadme"]);
        w.ok(&["rmi", "crash/loadme"]);
        // The build's context: a RUN step and a COPY.
        let ctx = w.env.path("build-ctx");
        fs::create_dir_all(&ctx).unwrap();
        fs::write(
            ctx.join("Containerfile"),
            "FROM busybox\nRUN echo built > /built && cat /built\nCOPY data /data\n",
        )
        .unwrap();
        fs::write(ctx.join("data"), noise(1 << 20, 3)).unwrap();
        w.ok(&["create", "--name", "harden-b-crash", "busybox", "true"]);
        w
    }

    fn remote(&self) -> String {
        self.reg.image("crash/pullme:1")
    }

    fn exists(&self, name: &str) -> bool {
        self.run(&["image", "inspect", name]).status.success()
    }

    /// Put the store where `op` has work to do.
    fn prepare(&mut self, op: Op) {
        match op {
            Op::Pull => {
                let remote = self.remote();
                if self.exists(&remote) {
                    self.ok(&["rmi", &remote]);
                }
                self.ok(&["system", "prune", "-f"]);
            }
            Op::Load => {
                if self.exists("crash/loadme") {
                    self.ok(&["rmi", "crash/loadme"]);
                }
                self.ok(&["system", "prune", "-f"]);
            }
            Op::Rmi => {
                if !self.exists("crash/victim") {
                    let tar = self.env.busybox_tar();
                    self.ok(&["import", tar.to_str().unwrap(), "crash/victim"]);
                }
            }
            Op::Prune => {
                // Two imports under one name: the first becomes dangling.
                let tar = self.env.busybox_tar();
                for _ in 0..2 {
                    self.ok(&["import", tar.to_str().unwrap(), "crash/dangling"]);
                }
            }
            Op::Push => self.pushes += 1,
            Op::Build | Op::Commit | Op::Import => {}
        }
    }

    /// The command line of `op`.
    fn args(&self, op: Op) -> Vec<String> {
        let s = |v: &[&str]| v.iter().map(|a| a.to_string()).collect::<Vec<_>>();
        match op {
            Op::Pull => s(&["pull", "-q", "--tls-verify=false", &self.remote()]),
            Op::Push => {
                let dest = self.reg.image(&format!("crash/pushed:{}", self.pushes));
                s(&["push", "-q", "--tls-verify=false", "crash/big:local", &dest])
            }
            Op::Build => {
                let ctx = self.env.path("build-ctx");
                s(&["build", "-q", "--no-cache", "-t", "crash/built"])
                    .into_iter()
                    .chain([ctx.to_string_lossy().to_string()])
                    .collect()
            }
            Op::Commit => s(&["commit", "-q", "harden-b-crash", "crash/committed"]),
            Op::Import => {
                let tar = self.env.busybox_tar();
                s(&["import", tar.to_str().unwrap(), "crash/imported"])
            }
            Op::Load => {
                let archive = self.env.path("loadme.tar");
                s(&["load", "-q", "-i", archive.to_str().unwrap()])
            }
            Op::Rmi => s(&["rmi", "crash/victim"]),
            Op::Prune => s(&["system", "prune", "-f"]),
        }
    }

    /// Run `op` to completion (it must succeed); returns how long it took.
    fn complete(&mut self, op: Op) -> Duration {
        if op == Op::Rmi && !self.exists("crash/victim") {
            // The killed rmi got as far as removing it: nothing is left to re-run.
            return Duration::ZERO;
        }
        let args = self.args(op);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let start = Instant::now();
        self.ok(&args);
        start.elapsed()
    }

    fn duration_ms(&mut self, op: Op) -> u64 {
        if let Some((_, ms)) = self.durations.iter().find(|(o, _)| *o == op) {
            return *ms;
        }
        self.prepare(op);
        let ms = self.complete(op).as_millis() as u64;
        eprintln!("crash: {op:?} takes {ms} ms");
        self.durations.push((op, ms));
        ms
    }

    /// Start `op`, SIGKILL it `delay_ms` after spawn, and reap it. Returns whether it was
    /// still running when killed.
    fn kill_during(&self, op: Op, delay_ms: u64) -> bool {
        let args = self.args(op);
        let mut child = ChildGuard(
            self.cmd(&args.iter().map(String::as_str).collect::<Vec<_>>())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn berth"),
        );
        std::thread::sleep(Duration::from_millis(delay_ms));
        let running = matches!(child.0.try_wait(), Ok(None));
        // Dropping the guard kills (SIGKILL) and reaps it.
        drop(child);
        running
    }

    /// After a kill: check clean, or only repairable debris that `--repair` clears; then no
    /// process and no mount left under the test's root. Returns whether there was debris.
    fn assert_survived(&self, what: &str) -> bool {
        let out = self.run(&["system", "check"]);
        let debris = !out.status.success();
        if debris {
            let report = String::from_utf8_lossy(&out.stdout).to_string();
            let unexpected: Vec<&str> = report
                .lines()
                .filter(|l| !REPAIRABLE.iter().any(|r| l.contains(r)))
                .collect();
            assert!(
                unexpected.is_empty() && !report.trim().is_empty(),
                "{what}: system check found damage no crash may leave:\n{report}{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let out = self.run(&["system", "check", "--repair"]);
            assert_eq!(
                out.status.code(),
                Some(1),
                "{what}: check --repair: {out:?}"
            );
            let out = self.run(&["system", "check"]);
            assert!(
                out.status.success(),
                "{what}: still damaged after --repair:\n{}",
                String::from_utf8_lossy(&out.stdout)
            );
        }
        let dir = self.env.dir.path();
        // A RUN step's own process may take a moment to end once its berth is gone.
        assert_no_processes_under(dir, what);
        let mounts = mounts_under(dir);
        assert!(mounts.is_empty(), "{what}: mounts left: {mounts:?}");
        assert_run_state_clean(self, &self.runroot, &self.env.root, what);
        debris
    }
}

impl Drop for World {
    fn drop(&mut self) {
        let _ = self.cmd(&["rm", "-f", "-a"]).output();
    }
}

/// The run root holds bundles and runtime states of `w`'s containers only, and no network
/// attachment record names an owner that worked for the store at `store`.
pub(crate) fn assert_run_state_clean(
    w: &impl BerthCmd,
    runroot: &std::path::Path,
    store: &std::path::Path,
    what: &str,
) {
    let ids = w.ok(&["ps", "-a", "-q", "--no-trunc"]);
    let ids: Vec<&str> = ids.lines().collect();
    for dir in ["containers", "runtime/embedded"] {
        for e in fs::read_dir(runroot.join(dir))
            .into_iter()
            .flatten()
            .flatten()
        {
            let name = e.file_name().to_string_lossy().to_string();
            assert!(
                ids.contains(&name.as_str()),
                "{what}: {}/{name} is no container's",
                runroot.join(dir).display()
            );
        }
    }
    let attachments = std::path::Path::new("/run/berth/networks/attachments");
    for e in fs::read_dir(attachments).into_iter().flatten().flatten() {
        let Ok(v) = fs::read(e.path()).map(|b| serde_json::from_slice::<serde_json::Value>(&b))
        else {
            continue;
        };
        // A killed RUN step's: this store's, with an owner (a container's has none).
        let step = v
            .ok()
            .is_some_and(|v| v["store"].as_str() == store.to_str() && !v["owner"].is_null());
        assert!(
            !step,
            "{what}: network attachment {} of a killed RUN step left",
            e.path().display()
        );
    }
}

/// `len` bytes that do not compress, from `seed`.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut rng = Rng(seed);
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        out.extend_from_slice(&rng.next().to_le_bytes());
    }
    out.truncate(len);
    out
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

/// Kill berth `kills` times over the mix; returns how many kills hit a running berth (the
/// rest came after it had finished).
fn crash_mix(kills: u64, seed: u64) -> u64 {
    eprintln!("crash: seed {seed} (replay with BERTH_CRASH_SEED={seed}), {kills} kills");
    let mut rng = Rng(seed);
    let mut w = World::new();
    let (mut in_flight, mut with_debris) = (0, 0);
    for i in 0..kills {
        let op = OPS[(i % OPS.len() as u64) as usize];
        let full = w.duration_ms(op);
        w.prepare(op);
        // Up to a little past the operation's own end: the last instants kill a finished
        // process or one tidying up.
        let delay = rng.below(full + full / 5 + 5);
        let what = format!("kill {i} ({op:?} at {delay} ms of ~{full} ms, seed {seed})");
        in_flight += u64::from(w.kill_during(op, delay));
        with_debris += u64::from(w.assert_survived(&what));
        w.complete(op);
        assert!(
            !w.assert_survived(&format!("{what}, after re-running")),
            "{what}: the re-run left damage"
        );
    }
    w.env.assert_canary();
    eprintln!(
        "crash: {kills} kills survived, {in_flight} of them while berth ran, \
         {with_debris} left debris that --repair cleared"
    );
    in_flight
}

#[test]
fn sigkill_at_random_instants_is_survived() {
    let seed = env_u64("BERTH_CRASH_SEED").unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64
    });
    let kills = env_u64("BERTH_CRASH_KILLS").unwrap_or(20);
    // Instants are drawn up to 1.2 times each operation's duration: most kills hit a
    // running berth, and a run where none did proved nothing.
    assert!(crash_mix(kills, seed) > 0, "no kill hit a running berth");
}

/// The start time (`/proc/PID/stat` field 22) of `pid`, if it runs (a zombie has ended).
fn start_time(pid: u32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    if fields.first() == Some(&"Z") {
        return None;
    }
    fields.get(19)?.parse().ok()
}

/// Whether `pid` descends from `ancestor` (through PPid links).
fn descends_from(mut pid: u32, ancestor: u32) -> bool {
    for _ in 0..32 {
        let Ok(status) = fs::read_to_string(format!("/proc/{pid}/status")) else {
            return false;
        };
        let Some(ppid) = status
            .lines()
            .find_map(|l| l.strip_prefix("PPid:"))
            .and_then(|v| v.trim().parse::<u32>().ok())
        else {
            return false;
        };
        if ppid == ancestor {
            return true;
        }
        if ppid <= 1 {
            return false;
        }
        pid = ppid;
    }
    false
}

/// The pid of a process running `args` exactly that descends from `ancestor`.
fn descendant_running(ancestor: u32, args: &[&str]) -> Option<u32> {
    let want: Vec<u8> = args
        .iter()
        .flat_map(|a| [a.as_bytes(), b"\0"].concat())
        .collect();
    fs::read_dir("/proc")
        .ok()?
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .find(|&pid| {
            fs::read(format!("/proc/{pid}/cmdline")).ok().as_deref() == Some(&want[..])
                && descends_from(pid, ancestor)
        })
}

/// A build killed during `RUN sleep 1000` takes the step's process with it (nothing else
/// would end it: no monitor watches a RUN container): the `sleep` is gone within seconds.
/// `system check` then names only the killed step's debris (its snapshot, bundle and
/// network attachment), `--repair` clears it, and the run root and the network run
/// directory hold nothing of it.
#[test]
fn a_killed_builds_run_step_dies_with_it() {
    let env = TestEnv::new();
    let runroot = env.path("run");
    let w = Isolated {
        env: &env,
        runroot: &runroot,
    };
    env.import_busybox("busybox");
    let ctx = env.path("ctx");
    fs::create_dir_all(&ctx).unwrap();
    fs::write(ctx.join("Containerfile"), "FROM busybox\nRUN sleep 1000\n").unwrap();
    let mut build = ChildGuard(
        w.cmd(&["build", "--no-cache", ctx.to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn berth"),
    );
    let berth = build.0.id();
    let deadline = Instant::now() + Duration::from_secs(30);
    let step = loop {
        if let Some(pid) = descendant_running(berth, &["sleep", "1000"]) {
            break pid;
        }
        assert!(
            matches!(build.0.try_wait(), Ok(None)),
            "the build ended before its RUN step ran"
        );
        assert!(Instant::now() < deadline, "the RUN step never started");
        std::thread::sleep(Duration::from_millis(50));
    };
    let started = start_time(step).expect("the step's start time");
    build.0.kill().unwrap();
    build.0.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while start_time(step) == Some(started) {
        assert!(
            Instant::now() < deadline,
            "the RUN step's process {step} outlived its killed berth by 5 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = w.run(&["system", "check"]);
    let report = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(out.status.code(), Some(1), "{report}");
    for line in report.lines() {
        assert!(
            REPAIRABLE.iter().any(|r| line.contains(r)),
            "not a killed step's debris: {line}\n{report}"
        );
    }
    assert!(
        report.contains("left by a RUN step whose berth is gone"),
        "{report}"
    );
    let out = w.run(&["system", "check", "--repair"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    w.ok(&["system", "check"]);
    assert_run_state_clean(&w, &runroot, &env.root, "after the repair");
    assert_no_processes_under(env.dir.path(), "after the repair");
    let mounts = mounts_under(env.dir.path());
    assert!(mounts.is_empty(), "mounts left: {mounts:?}");
}

/// A test's store with a run root of its own.
struct Isolated<'a> {
    env: &'a TestEnv,
    runroot: &'a std::path::Path,
}

impl BerthCmd for Isolated<'_> {
    fn cmd(&self, args: &[&str]) -> Command {
        berth_in(self.env, self.runroot, args)
    }
}

/// An attachment record as berth wrote them before records named an owner (this VM had
/// 116 of them as root, left by killed builds), for container `id` on a network that does not
/// exist, its namespace at `netns`, in the network run directory `dir`, its mtime `age` old.
fn legacy_record(dir: &std::path::Path, id: &str, netns: &std::path::Path, age: &str) {
    let dir = dir.join("attachments");
    fs::create_dir_all(&dir).unwrap();
    let record = serde_json::json!({
        "netns_path": netns,
        "options": {
            "container_id": id,
            "container_name": format!("berth-build-{}", &id[..12]),
            "networks": {"hardops-legacy": {"interface_name": "eth0", "static_ips": ["10.250.250.2"]}},
            "network_info": {"hardops-legacy": {
                "name": "hardops-legacy", "id": id, "driver": "bridge",
                "network_interface": "hardopslg0",
                "subnets": [{"subnet": "10.250.250.0/24", "gateway": "10.250.250.1"}],
                "ipv6_enabled": false, "internal": false, "dns_enabled": false,
                "ipam_options": {"driver": "host-local"}
            }}
        }
    });
    let path = dir.join(format!("{id}.json"));
    fs::write(&path, serde_json::to_vec(&record).unwrap()).unwrap();
    set_age(&path, age);
}

fn set_age(path: &std::path::Path, age: &str) {
    let ok = Command::new("touch")
        .args(["-d", age])
        .arg(path)
        .status()
        .unwrap();
    assert!(ok.success());
}

/// `system check` reports, and `--repair` takes down, attachment records with no owner
/// (written before owners were recorded) whose container is in no store and has no process
/// in its namespace, past the grace period, and namespace files no record names; a young
/// record and one whose namespace has a process are left alone. The teardown of a stale
/// record (netavark fails: its interface is gone) does not stop the repair. As a plain user
/// with a network run directory of the test's own: the host's (root's) is every test's, and
/// a stale record there is every store's problem.
#[test]
fn system_check_repairs_network_records_left_with_no_owner() {
    use std::os::unix::process::CommandExt;
    let env = crate::rootless::user_env();
    let uid: u32 = String::from_utf8(
        Command::new("id")
            .args(["-u", crate::rootless::USER])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap()
    .trim()
    .parse()
    .unwrap();
    let net = env.path("xdg/berth/networks");
    let netns = net.join("netns");
    fs::create_dir_all(&netns).unwrap();
    let id = |n: u32| format!("{:056x}{n:08x}", std::process::id());
    let (stale, young, busy) = (id(1), id(2), id(3));
    fs::write(netns.join(&stale), "").unwrap();
    legacy_record(&net, &stale, &netns.join(&stale), "2 minutes ago");
    legacy_record(&net, &young, &netns.join(&young), "now");
    let lone = netns.join(id(4));
    fs::write(&lone, "").unwrap();
    set_age(&lone, "2 minutes ago");
    // A process of the user's in a network namespace of its own: the busy record's.
    let inside = ChildGuard(
        Command::new("unshare")
            .args(["-r", "-n", "sleep", "60"])
            .uid(uid)
            .gid(uid)
            .spawn()
            .unwrap(),
    );
    let pid = inside.0.id();
    let own = fs::read_link("/proc/self/ns/net").unwrap();
    crate::run::wait_until("the busy namespace", || {
        fs::read_link(format!("/proc/{pid}/ns/net")).is_ok_and(|ns| ns != own)
    });
    let busy_ns = std::path::PathBuf::from(format!("/proc/{pid}/ns/net"));
    legacy_record(&net, &busy, &busy_ns, "2 minutes ago");
    let chown = Command::new("chown")
        .arg("-R")
        .arg(format!("{}:", crate::rootless::USER))
        .arg(env.path("xdg"))
        .status()
        .unwrap();
    assert!(chown.success());
    let check = |flags: &str| {
        let out = crate::rootless::as_user(
            &env,
            &format!(
                "XDG_RUNTIME_DIR={} \"$BERTH\" system check {flags}",
                env.path("xdg").display()
            ),
        );
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            crate::rootless::text(&out),
        )
    };
    let (code, report, all) = check("");
    assert_eq!(code, Some(1), "{all}");
    let lines = [
        format!("network attachment {stale}: no container of this store and no process in its namespace"),
        format!(
            "network namespace {}: no attachment record names it and no process is in it",
            lone.display()
        ),
    ];
    assert_eq!(report.lines().collect::<Vec<_>>(), lines, "{all}");
    let (code, repaired, all) = check("--repair");
    assert_eq!(code, Some(1), "{all}");
    assert!(
        repaired
            .lines()
            .any(|l| l == format!("removed network attachment {stale}")),
        "{all}"
    );
    for gone in [
        net.join(format!("attachments/{stale}.json")),
        netns.join(&stale),
        lone,
    ] {
        assert!(!gone.exists(), "{} is left", gone.display());
    }
    for kept in [young, busy] {
        assert!(
            net.join(format!("attachments/{kept}.json")).exists(),
            "{kept} went"
        );
    }
    let (code, _, all) = check("");
    assert_eq!(code, Some(0), "{all}");
    drop(inside);
}
