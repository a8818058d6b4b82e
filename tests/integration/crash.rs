//! Crash safety (issue 19 item 3): berth killed with SIGKILL at random instants during pull,
//! push, build, commit, import, load, rmi and prune. After each kill the store checks clean,
//! or reports only what an interrupted write is allowed to leave (a layer whose unpacking
//! never finished, a build snapshot whose build is gone), which `system check --repair`
//! clears; then no berth process and no mount is left under the test's root, and the
//! operation, run again, succeeds.
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
/// design (ARCHITECTURE.md, "Crash and disk-full safety"), which `--repair` removes.
const REPAIRABLE: [&str; 2] = ["unpacking never finished", "left by a build that is gone"];

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
        debris
    }
}

impl Drop for World {
    fn drop(&mut self) {
        let _ = self.cmd(&["rm", "-f", "-a"]).output();
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
