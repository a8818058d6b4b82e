//! Files other local users must not read or redirect (issue 12, items 3 and 4), as root.
//!
//! - After a full container lifecycle with a secret in the environment, the store root and
//!   the run root are 0700 and no regular file berth wrote under them is group or other
//!   readable or writable, except the exemptions [`exempt`] lists with their reasons; a
//!   pre-existing 0755 `--root`/`--runroot` is tightened with a notice.
//! - `login --authfile` and `image trust set --policypath` in a directory another user can
//!   write do not write through symlinks planted at the temporary names berth used to derive
//!   from its pid (berth runs as pid 1 of a new PID namespace, so the pid is known).

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::registry_harness::{isolate, Registry};
use crate::run::{busybox, wait_until, RunEnv};
use crate::util::{require_tool, TestEnv};

const SECRET: &str = "DB_PASSWORD=hunter2-in-the-env";

fn mode_of(p: &Path) -> u32 {
    fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
}

/// Why a path under a root may be group/other readable, or `None` when it must not be.
///
/// The rule: every regular file under either root is owner-only (no group or other read or
/// write bit), because nearly all of them can hold a secret (the database and its WAL hold
/// container environments; bundles, exec specs and logs hold environments and output), and a
/// rule with no "could it hold a secret?" judgement per file is one a test can enforce.
/// Exempt, and protected by the 0700 root above them:
/// - image content: blobs (`blobs/sha256/*`, 0444, content-addressed, identical for every
///   puller) and file-system trees whose modes are the image's or the container's own
///   (unpacked layers, snapshots, image mounts, volume data): those keep their modes, as in
///   Podman's storage;
/// - the OCI runtime's own state directory (`runtime/<runtime>/<id>/`: libcontainer's
///   `state.json` and `youki_config.json` hold the pid, bundle path and cgroup path, no
///   environment), which the runtime library writes with its own modes;
/// - a container's `hosts`, `hostname` and `resolv.conf` (`containers/<id>/`), bound over its
///   `/etc` files for every user in it to read (0644, as Podman's): the host's name and
///   entries, no environment.
fn exempt(root_kind: &str, rel: &Path) -> Option<&'static str> {
    let parts: Vec<&str> = rel.iter().map(|c| c.to_str().unwrap()).collect();
    match (root_kind, parts.as_slice()) {
        ("store", ["blobs", "sha256", _]) => Some("image blob"),
        ("store", ["overlay", _, "diff", ..]) => Some("unpacked layer content"),
        ("store", ["overlay", t, ..]) if t.starts_with("tmp-") => Some("layer being unpacked"),
        ("store", ["snapshots", _, "upper" | "work" | "merged", ..]) => {
            Some("container file system")
        }
        ("store", ["mounts", _, ..]) => Some("image mount"),
        ("store", ["volumes", _, "_data", ..]) => Some("volume content"),
        ("run", ["runtime", _, _, _, ..]) => Some("the runtime's own state"),
        ("run", ["containers", _, "hosts" | "hostname" | "resolv.conf"]) => {
            Some("the container's /etc files")
        }
        _ => None,
    }
}

/// Every regular file under `root` that breaks the rule, with its mode; also returns the
/// files that hold `needle`.
fn walk(root: &Path, kind: &str, needle: &[u8]) -> (Vec<String>, Vec<PathBuf>) {
    let mut bad = Vec::new();
    let mut holders = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue; // removed meanwhile (an exec's files)
        };
        for e in entries.flatten() {
            let p = e.path();
            let rel = p.strip_prefix(root).unwrap().to_path_buf();
            if exempt(kind, &rel).is_some() {
                continue;
            }
            let Ok(md) = fs::symlink_metadata(&p) else {
                continue;
            };
            if md.is_dir() {
                stack.push(p);
            } else if md.is_file() {
                let mode = md.permissions().mode() & 0o7777;
                if mode & 0o066 != 0 {
                    bad.push(format!("{kind}/{} mode {mode:04o}", rel.display()));
                }
                if fs::read(&p)
                    .map(|b| b.windows(needle.len()).any(|w| w == needle))
                    .unwrap_or(false)
                {
                    holders.push(rel);
                }
            }
        }
    }
    (bad, holders)
}

/// Both roots are 0700 and nothing under them breaks the rule; returns the files (relative to
/// their root) holding the secret.
fn assert_private(r: &RunEnv, when: &str) -> Vec<PathBuf> {
    assert_eq!(mode_of(&r.env.root), 0o700, "store root {when}");
    assert_eq!(mode_of(&r.runroot), 0o700, "run root {when}");
    let (mut bad, mut holders) = walk(&r.env.root, "store", SECRET.as_bytes());
    let (bad_run, holders_run) = walk(&r.runroot, "run", SECRET.as_bytes());
    bad.extend(bad_run);
    holders.extend(holders_run);
    assert!(bad.is_empty(), "readable by other users {when}: {bad:#?}");
    holders
}

#[test]
fn secrets_under_the_roots_are_private_through_a_lifecycle() {
    let r = busybox();
    r.ok(&["volume", "create", "data"]);
    let id = r
        .ok(&[
            "run",
            "-d",
            "--name",
            "db",
            "-e",
            SECRET,
            "-v",
            "data:/data",
            "busybox",
            "sh",
            "-c",
            "echo $DB_PASSWORD > /data/pw; echo ready; while true; do sleep 0.1; done",
        ])
        .trim()
        .to_string();
    wait_until("the container's output", || {
        r.ok(&["logs", "db"]).contains("ready")
    });
    // While an exec runs, its process spec (with the environment) is in the bundle.
    let mut exec = r
        .cmd(&[
            "exec",
            "-i",
            "-e",
            "EXEC_TOKEN=exec-secret",
            "db",
            "sh",
            "-c",
            "echo in-exec; read x",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(exec.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line, "in-exec\n");
    let holders = assert_private(&r, "while running and in an exec");
    let (_, exec_specs) = walk(&r.runroot, "run", b"EXEC_TOKEN=exec-secret");
    exec_specs
        .iter()
        .for_each(|p| println!("exec spec: {}", p.display()));
    assert!(!exec_specs.is_empty(), "the exec spec was not found");
    exec.stdin.take().unwrap().write_all(b"\n").unwrap();
    assert!(exec.wait().unwrap().success());
    // The secret is where the issue found it (bundle, database), and those files are 0600.
    let bundle = PathBuf::from("containers").join(&id).join("config.json");
    assert!(holders.contains(&bundle), "{holders:?}");
    for p in [&r.env.root.join("berth.db"), &r.runroot.join(&bundle)] {
        assert_eq!(mode_of(p), 0o600, "{}", p.display());
    }
    for suffix in ["-wal", "-shm"] {
        let p = r.env.root.join(format!("berth.db{suffix}"));
        if p.exists() {
            assert_eq!(mode_of(&p), 0o600, "{}", p.display());
        }
    }
    assert!(r.ok(&["logs", "db"]).contains("ready"));
    r.ok(&["stop", "-t", "1", "db"]);
    assert_private(&r, "after stop");
    r.ok(&["rm", "db"]);
    r.ok(&["volume", "rm", "data"]);
    assert_private(&r, "after rm");
    r.assert_no_leftovers();
}

#[test]
fn wide_roots_are_tightened_with_a_notice() {
    let r = RunEnv::new();
    for dir in [&r.env.root, &r.runroot] {
        fs::create_dir_all(dir).unwrap();
        fs::set_permissions(dir, fs::Permissions::from_mode(0o755)).unwrap();
    }
    let out = r.run(&["ps", "-a"]);
    assert!(out.status.success(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    for dir in [&r.env.root, &r.runroot] {
        assert_eq!(mode_of(dir), 0o700, "{}", dir.display());
        let notice: Vec<_> = stderr
            .lines()
            .filter(|l| l.contains(&format!("{}:", dir.display())))
            .collect();
        assert_eq!(
            notice.len(),
            1,
            "one notice for {}: {stderr}",
            dir.display()
        );
        assert!(notice[0].contains("0755"), "{stderr}");
    }
    // Tight already: nothing more to say.
    let out = r.run(&["ps", "-a"]);
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

/// A directory any user can write, as `/shared` in the issue (the tests run as root).
fn shared_dir(env: &TestEnv) -> PathBuf {
    let shared = env.path("shared");
    fs::create_dir(&shared).unwrap();
    fs::set_permissions(&shared, fs::Permissions::from_mode(0o777)).unwrap();
    shared
}

/// Another user's plant: a symlink to `victim` at every name a pid-derived temporary name can
/// take in a fresh PID namespace, for each pattern (`{}` is the pid).
fn plant(shared: &Path, victim: &Path, patterns: &[&str]) {
    for pattern in patterns {
        for pid in 1..=64 {
            symlink(victim, shared.join(pattern.replace("{}", &pid.to_string()))).unwrap();
        }
    }
}

/// `berth ARGS` with umask 0, as pid 1 of a new PID namespace (so a pid-derived name is
/// known in advance), isolated from the host's registry config.
fn berth_in_pid_namespace(env: &TestEnv, args: &[&str]) -> std::process::Output {
    let unshare = require_tool("unshare");
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg("umask 0; exec \"$0\" --pid --fork -- \"$@\"")
        .arg(unshare)
        .arg(env!("CARGO_BIN_EXE_berth"))
        .arg("--root")
        .arg(&env.root)
        .args(args);
    isolate(env, &mut cmd);
    let out = cmd.output().expect("spawn unshare");
    assert!(
        out.status.success(),
        "berth {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn assert_victim_untouched(victim: &Path) {
    assert_eq!(fs::read_to_string(victim).unwrap(), "root's file\n");
    assert_eq!(mode_of(victim), 0o644);
}

#[test]
fn login_does_not_write_through_planted_symlinks() {
    let reg = Registry::start_with_auth("alice", "s3cret");
    let env = TestEnv::new();
    let shared = shared_dir(&env);
    let victim = env.path("victim");
    fs::write(&victim, "root's file\n").unwrap();
    fs::set_permissions(&victim, fs::Permissions::from_mode(0o644)).unwrap();
    plant(&shared, &victim, &[".auth.json.{}"]);
    let authfile = shared.join("auth.json");
    berth_in_pid_namespace(
        &env,
        &[
            "login",
            "--tls-verify=false",
            "--authfile",
            authfile.to_str().unwrap(),
            "-u",
            "alice",
            "-p",
            "s3cret",
            &reg.addr,
        ],
    );
    assert_victim_untouched(&victim);
    assert!(fs::symlink_metadata(&authfile).unwrap().is_file());
    assert_eq!(mode_of(&authfile), 0o600, "the umask was 0");
    let text = fs::read_to_string(&authfile).unwrap();
    assert!(text.contains(&reg.addr), "{text}");
    // A second login rewrites the file the same way.
    berth_in_pid_namespace(
        &env,
        &[
            "logout",
            "--authfile",
            authfile.to_str().unwrap(),
            &reg.addr,
        ],
    );
    assert_victim_untouched(&victim);
    assert_eq!(mode_of(&authfile), 0o600);
}

#[test]
fn trust_set_does_not_write_through_planted_symlinks() {
    let env = TestEnv::new();
    let shared = shared_dir(&env);
    let victim = env.path("victim");
    fs::write(&victim, "root's file\n").unwrap();
    fs::set_permissions(&victim, fs::Permissions::from_mode(0o644)).unwrap();
    plant(&shared, &victim, &[".policy.json.berth-{}.tmp"]);
    let policy = shared.join("policy.json");
    for scope in ["default", "docker.io"] {
        berth_in_pid_namespace(
            &env,
            &[
                "image",
                "trust",
                "set",
                "--policypath",
                policy.to_str().unwrap(),
                "-t",
                "reject",
                scope,
            ],
        );
        assert_victim_untouched(&victim);
        assert!(fs::symlink_metadata(&policy).unwrap().is_file());
        assert_eq!(mode_of(&policy), 0o644, "the umask was 0");
    }
    let v: serde_json::Value = serde_json::from_slice(&fs::read(&policy).unwrap()).unwrap();
    assert_eq!(v["transports"]["docker"]["docker.io"][0]["type"], "reject");
}
