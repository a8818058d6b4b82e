//! The OCI spec berth writes matches the one Podman 4.3 writes for the same options (issue 19
//! item 6), but for the differences `DIFFERENCES.md` lists with their reasons: `run`,
//! `--privileged`, `--cap-add/--cap-drop`, `--read-only`, a rootless `run` and a build's RUN
//! step. Compared: capabilities, the seccomp profile (default action and each syscall both
//! profiles name), masked and read-only paths, `noNewPrivileges`, devices, rlimits and mounts
//! (destination, type, options). Both sides run with `--network none` (the network's mounts
//! and namespaces are compared elsewhere) and the same private `containers.conf` (Debian's,
//! with `default_ulimits` this host's hard caps allow).
//!
//! berth's config.json is read from the bundle (`<runroot>/containers/<id>/`) while the
//! container runs; Podman's is copied from the bundle by a runtime wrapper (`--runtime`) that
//! hands over to runc. The test fails on a difference not documented, and on a documented one
//! that no longer occurs.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::run::{busybox, RunEnv};
use crate::util::{require_tool, run_tool, success_stdout, ChildGuard};

/// A runtime that keeps the config.json of each `create` in `<its dir>/captured/`, then
/// runs runc.
fn wrapper(dir: &Path) -> PathBuf {
    fs::create_dir_all(dir).unwrap();
    let path = dir.join("wrap.sh");
    let runc = require_tool("runc");
    fs::write(
        &path,
        format!(
            "#!/bin/sh\nout=\"$(dirname \"$0\")/captured\"\nprev=\nfor a in \"$@\"; do\n  \
             if [ \"$prev\" = --bundle ] || [ \"$prev\" = -b ]; then mkdir -p \"$out\"; \
             cp \"$a/config.json\" \"$out/config.json\"; fi\n  prev=\"$a\"\ndone\n\
             exec {} \"$@\"\n",
            runc.display()
        ),
    )
    .unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// Debian's containers.conf with `default_ulimits` this host allows (root cannot raise
/// rlimits above the hard caps, so Podman's compiled-in 1048576 fails).
fn containers_conf(dir: &Path) -> PathBuf {
    let debian = fs::read_to_string("/usr/share/containers/containers.conf")
        .expect("Debian's /usr/share/containers/containers.conf (package containers-common)");
    let conf = debian.replacen(
        "[containers]\n",
        "[containers]\ndefault_ulimits = [\"nofile=1024:1024\", \"nproc=4096:4096\"]\n",
        1,
    );
    let path = dir.join("containers.conf");
    fs::write(&path, conf).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    path
}

/// Podman with a private root, run root, containers.conf and the capturing runtime.
struct Podman {
    dir: PathBuf,
    conf: PathBuf,
    wrapper: PathBuf,
}

impl Podman {
    fn new(dir: PathBuf) -> Podman {
        fs::create_dir_all(&dir).unwrap();
        Podman {
            conf: containers_conf(&dir),
            wrapper: wrapper(&dir.join("rt")),
            dir,
        }
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(require_tool("podman"));
        c.env("CONTAINERS_CONF", &self.conf)
            .arg("--root")
            .arg(self.dir.join("root"))
            .arg("--runroot")
            .arg(self.dir.join("run"))
            .arg("--runtime")
            .arg(&self.wrapper)
            .args(args);
        c
    }

    /// The config.json of the last container created by `args`.
    fn config(&self, args: &[&str]) -> Value {
        let captured = self.wrapper.parent().unwrap().join("captured/config.json");
        let _ = fs::remove_file(&captured);
        run_tool(&mut self.cmd(args));
        serde_json::from_slice(&fs::read(&captured).expect("podman's config.json")).unwrap()
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        let _ = self.cmd(&["rm", "-a", "-f"]).output();
        let _ = self.cmd(&["system", "reset", "-f"]).output();
    }
}

/// berth's config.json of `run -d ARGS busybox sleep 1000` under containers.conf `conf`,
/// read while it runs.
fn berth_run(r: &RunEnv, conf: &Path, args: &[&str]) -> Value {
    let mut full = vec!["run", "-d", "--network", "none"];
    full.extend_from_slice(args);
    full.extend_from_slice(&["busybox", "sleep", "1000"]);
    let out = r.cmd(&full).env("CONTAINERS_CONF", conf).output().unwrap();
    let id = success_stdout(&full, out).trim().to_string();
    let path = r.runroot.join("containers").join(&id).join("config.json");
    let v = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    r.ok(&["rm", "-f", &id]);
    v
}

/// berth's config.json of a build's `RUN sleep 1000`, read from the step's bundle while it
/// runs; the build is killed and its debris repaired.
fn berth_run_step(r: &RunEnv, conf: &Path) -> Value {
    let ctx = r.env.path("step-ctx");
    fs::create_dir_all(&ctx).unwrap();
    fs::write(ctx.join("Containerfile"), "FROM busybox\nRUN sleep 1000\n").unwrap();
    let build = ChildGuard(
        r.cmd(&[
            "build",
            "--no-cache",
            "--network",
            "none",
            ctx.to_str().unwrap(),
        ])
        .env("CONTAINERS_CONF", conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let spec = loop {
        let found = fs::read_dir(r.runroot.join("containers"))
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.path().join("owner.json").exists())
            .find_map(|e| {
                // Complete once the step's process runs (the bundle is written before).
                let v: Value =
                    serde_json::from_slice(&fs::read(e.path().join("config.json")).ok()?).ok()?;
                let id = e.file_name().to_string_lossy().to_string();
                r.runroot
                    .join("runtime/embedded")
                    .join(&id)
                    .exists()
                    .then_some(v)
            });
        if let Some(v) = found {
            break v;
        }
        assert!(Instant::now() < deadline, "the RUN step never started");
        std::thread::sleep(Duration::from_millis(50));
    };
    drop(build);
    let _ = r.run(&["system", "check", "--repair"]);
    spec
}

/// One comparable fact of a spec, as `FIELD ITEM` (the keys DIFFERENCES.md lists).
fn facts(spec: &Value) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let strings = |v: &Value| -> BTreeSet<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let process = &spec["process"];
    let linux = &spec["linux"];
    for set in [
        "bounding",
        "effective",
        "permitted",
        "inheritable",
        "ambient",
    ] {
        out.insert(
            format!("caps.{set}"),
            strings(&process["capabilities"][set]),
        );
    }
    out.insert("masked".into(), strings(&linux["maskedPaths"]));
    out.insert("readonly".into(), strings(&linux["readonlyPaths"]));
    out.insert(
        "noNewPrivileges".into(),
        [process["noNewPrivileges"]
            .as_bool()
            .unwrap_or(false)
            .to_string()]
        .into(),
    );
    out.insert(
        "devices".into(),
        linux["devices"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|d| format!("{} {}", d["path"].as_str().unwrap_or(""), d["type"]))
                    .collect()
            })
            .unwrap_or_default(),
    );
    out.insert(
        "rlimits".into(),
        process["rlimits"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|r| {
                        format!(
                            "{}={}:{}",
                            r["type"].as_str().unwrap_or(""),
                            r["soft"],
                            r["hard"]
                        )
                    })
                    .collect()
            })
            .unwrap_or_default(),
    );
    out.insert(
        "mounts".into(),
        spec["mounts"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|m| {
                        let mut opts: Vec<String> = strings(&m["options"]).into_iter().collect();
                        opts.sort();
                        let dest = m["destination"].as_str().unwrap_or("");
                        // One key for the v1 hierarchies: which a host has is the host's.
                        let dest = match dest.strip_prefix("/sys/fs/cgroup/") {
                            Some(_) => "/sys/fs/cgroup/<v1 hierarchy>",
                            None => dest,
                        };
                        format!(
                            "{} {} {}",
                            dest,
                            m["type"].as_str().unwrap_or(""),
                            opts.join(",")
                        )
                    })
                    .collect()
            })
            .unwrap_or_default(),
    );
    out
}

/// The seccomp verdict of each syscall a profile names (`ALLOW`, `ERRNO`, `ALLOW if args`
/// …), and its default action (`-` without a profile).
fn seccomp(spec: &Value) -> (String, BTreeMap<String, BTreeSet<String>>) {
    let s = &spec["linux"]["seccomp"];
    let default = s["defaultAction"].as_str().unwrap_or("-").to_string();
    let mut verdicts: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for rule in s["syscalls"].as_array().into_iter().flatten() {
        let action = rule["action"]
            .as_str()
            .unwrap_or("")
            .trim_start_matches("SCMP_ACT_");
        let verdict = if rule["args"].as_array().is_some_and(|a| !a.is_empty()) {
            format!("{action} if args")
        } else {
            action.to_string()
        };
        for name in rule["names"].as_array().into_iter().flatten() {
            if let Some(n) = name.as_str() {
                verdicts
                    .entry(n.to_string())
                    .or_default()
                    .insert(verdict.clone());
            }
        }
    }
    (default, verdicts)
}

/// The differences of berth's spec from Podman's, as keys: `FIELD +ITEM` (berth only),
/// `FIELD -ITEM` (Podman only), `seccomp default`, `seccomp NAME`.
fn differences(berth: &Value, podman: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let (b, p) = (facts(berth), facts(podman));
    for (field, bs) in &b {
        let ps = &p[field];
        for only in bs.difference(ps) {
            out.insert(format!("{field} +{only}"));
        }
        let missing: Vec<&String> = ps.difference(bs).collect();
        if field == "devices" && missing.len() > 8 {
            // `--privileged`: which devices a host has is the host's.
            out.insert("devices -each of the host's devices".to_string());
            continue;
        }
        for only in missing {
            out.insert(format!("{field} -{only}"));
        }
    }
    let ((bd, bv), (pd, pv)) = (seccomp(berth), seccomp(podman));
    if bd != pd {
        out.insert(format!("seccomp default {bd} {pd}"));
    }
    let names: BTreeSet<&String> = bv.keys().chain(pv.keys()).collect();
    let verdict = |v: &BTreeMap<String, BTreeSet<String>>, d: &str, n: &str| {
        v.get(n)
            .map(|s| s.iter().cloned().collect::<Vec<_>>().join("|"))
            .unwrap_or_else(|| d.trim_start_matches("SCMP_ACT_").to_string())
    };
    for n in names {
        let (x, y) = (verdict(&bv, &bd, n), verdict(&pv, &pd, n));
        if x != y {
            out.insert(format!("seccomp {n} {x} {y}"));
        }
    }
    out
}

/// The keys DIFFERENCES.md documents: every `` `…` `` of a line that starts with "- `".
fn documented() -> BTreeSet<String> {
    let text =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("DIFFERENCES.md")).unwrap();
    let mut out = BTreeSet::new();
    for line in text.lines().filter(|l| l.starts_with("- `")) {
        let line = line.split(": ").next().unwrap_or(line);
        for (i, part) in line.split('`').enumerate() {
            if i % 2 == 1 {
                out.insert(part.to_string());
            }
        }
    }
    out
}

#[test]
fn the_spec_matches_podmans_but_for_the_documented_differences() {
    let r = busybox();
    let tar = r.env.busybox_tar();
    let podman = Podman::new(r.env.path("podman"));
    run_tool(&mut podman.cmd(&["import", "-q", tar.to_str().unwrap(), "busybox"]));
    // berth reads the same containers.conf (its default_ulimits).
    let conf = podman.conf.clone();
    let mut found: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    let cases: [(&str, &[&str]); 4] = [
        ("run", &[]),
        ("privileged", &["--privileged"]),
        ("caps", &["--cap-add", "NET_ADMIN", "--cap-drop", "CHOWN"]),
        ("read-only", &["--read-only"]),
    ];
    for (case, flags) in cases {
        let b = berth_run(&r, &conf, flags);
        let mut args = vec!["run", "--rm", "--network", "none"];
        args.extend_from_slice(flags);
        args.extend_from_slice(&["busybox", "true"]);
        let p = podman.config(&args);
        for d in differences(&b, &p) {
            found.entry(d).or_default().push(case);
        }
    }
    // A build's RUN step (Podman's build is Buildah's).
    let b = berth_run_step(&r, &conf);
    let ctx = r.env.path("podman-ctx");
    fs::create_dir_all(&ctx).unwrap();
    fs::write(ctx.join("Containerfile"), "FROM busybox\nRUN true\n").unwrap();
    let p = podman.config(&[
        "build",
        "--runtime",
        podman.wrapper.to_str().unwrap(),
        "--network",
        "none",
        "-q",
        ctx.to_str().unwrap(),
    ]);
    for d in differences(&b, &p) {
        found.entry(d).or_default().push("build-run");
    }
    for d in rootless_differences() {
        found.entry(d).or_default().push("rootless");
    }
    let listed = documented();
    let undocumented: Vec<String> = found
        .iter()
        .filter(|(d, _)| !listed.contains(*d))
        .map(|(d, cases)| format!("{d}   ({})", cases.join(", ")))
        .collect();
    let gone: Vec<&String> = listed.iter().filter(|d| !found.contains_key(*d)).collect();
    assert!(
        undocumented.is_empty() && gone.is_empty(),
        "differences not in DIFFERENCES.md:\n{}\n\nlisted there but not found: {gone:?}",
        undocumented.join("\n")
    );
}

/// The differences of a rootless `run` (both as the tests' plain user, each with a run
/// directory in the test's dir).
fn rootless_differences() -> BTreeSet<String> {
    let env = crate::rootless::user_env();
    let conf = containers_conf(env.dir.path());
    let wrap = wrapper(&env.path("rt"));
    let xdg = env.path("xdg");
    fs::create_dir_all(&xdg).unwrap();
    run_tool(
        Command::new("chown")
            .arg("-R")
            .arg(format!("{}:", crate::rootless::USER))
            .arg(env.dir.path()),
    );
    let tar = env.busybox_tar();
    let script = format!(
        "set -e; export XDG_RUNTIME_DIR={xdg} CONTAINERS_CONF={conf}; \
         \"$BERTH\" import {tar} busybox >/dev/null; \
         id=$(\"$BERTH\" run -d --network none busybox sleep 1000 2>/dev/null); \
         cp \"$XDG_RUNTIME_DIR/berth/containers/$id/config.json\" {out}/berth.json; \
         \"$BERTH\" rm -f \"$id\" >/dev/null; \
         P=\"podman --root {out}/proot --runroot {out}/prun --runtime {wrap}\"; \
         $P import -q {tar} busybox >/dev/null; \
         $P run --rm --network none busybox true; \
         cp {rt}/captured/config.json {out}/podman.json; \
         $P system reset -f >/dev/null 2>&1 || true; \
         for f in $XDG_RUNTIME_DIR/libpod/tmp/pause.pid $XDG_RUNTIME_DIR/berth/pause.pid; do \
           if [ -f $f ]; then kill $(cat $f) 2>/dev/null || true; fi; \
         done",
        xdg = xdg.display(),
        conf = conf.display(),
        tar = tar.display(),
        out = env.dir.path().display(),
        wrap = wrap.display(),
        rt = wrap.parent().unwrap().display(),
    );
    // The script ends the pause processes podman and berth started for this user namespace
    // (podman's `system reset` leaves its catatonit running).
    let out = crate::rootless::as_user(&env, &script);
    assert!(out.status.success(), "{}", crate::rootless::text(&out));
    let read =
        |n: &str| -> Value { serde_json::from_slice(&fs::read(env.path(n)).unwrap()).unwrap() };
    differences(&read("berth.json"), &read("podman.json"))
}
