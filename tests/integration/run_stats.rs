//! `stats` through the CLI, as root: the memory limit and PIDs of a running container
//! (`--format json`, Podman's field names), CPU time that grows for a busy container, the
//! one-line error for a container that is not running, `-a` and the default listing, and the
//! refusal as a plain user on a cgroup v1 host. [`RunEnv`] removes every container on drop.

use std::path::Path;
use std::time::Duration;

use crate::rootless::{ensure_user, USER};
use crate::rootless_run::Rootless;
use crate::run::{busybox, RunEnv};

const HEADER: &str = "ID            NAME        CPU %       MEM USAGE / LIMIT  MEM %       \
                      NET IO      BLOCK IO    PIDS        CPU TIME    AVG CPU %";

/// Run berth on `r`'s store and run root, requiring exit 125 and a one-line error.
fn fails(r: &RunEnv, args: &[&str]) -> String {
    let mut full = vec!["--runroot", r.runroot.to_str().unwrap()];
    full.extend_from_slice(args);
    r.env.fails(&full, 125)
}

fn json(r: &RunEnv, args: &[&str]) -> serde_json::Value {
    let mut full = vec!["stats", "--no-stream", "--format", "json"];
    full.extend_from_slice(args);
    let out = r.ok(&full);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

/// Names in a `stats` table (second column), header skipped.
fn names(table: &str) -> Vec<String> {
    let mut lines = table.lines();
    // Columns widen with their values (a CPU TIME of 10.5ms): compare the words.
    let words = |l: &str| l.split_whitespace().map(str::to_string).collect::<Vec<_>>();
    assert_eq!(lines.next().map(words), Some(words(HEADER)), "{table}");
    let mut n: Vec<String> = lines
        .map(|l| l.split_whitespace().nth(1).unwrap().to_string())
        .collect();
    n.sort();
    n
}

#[test]
fn stats_memory_limit_and_pids() {
    let r = busybox();
    let id = r
        .ok(&[
            "run",
            "-d",
            "--name",
            "lim",
            "--network",
            "host",
            "--memory",
            "64m",
            "busybox",
            "sleep",
            "1000",
        ])
        .trim()
        .to_string();
    let v = json(&r, &["lim"]);
    let rec = &v.as_array().unwrap()[..];
    assert_eq!(rec.len(), 1, "{v}");
    let rec = &rec[0];
    let keys: Vec<&str> = rec
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut want = vec![
        "avg_cpu",
        "block_io",
        "cpu_percent",
        "cpu_time",
        "id",
        "mem_percent",
        "mem_usage",
        "name",
        "net_io",
        "pids",
    ];
    want.sort();
    let mut keys = keys;
    keys.sort();
    assert_eq!(keys, want, "{rec}");
    assert_eq!(rec["id"], id[..12]);
    assert_eq!(rec["name"], "lim");
    // 64 MiB in Podman's SI units.
    let mem = rec["mem_usage"].as_str().unwrap();
    assert!(mem.ends_with(" / 67.11MB"), "{mem}");
    let pids: u64 = rec["pids"].as_str().unwrap().parse().unwrap();
    assert!(pids >= 1, "{rec}");
    // The host network: no network I/O of its own.
    assert_eq!(rec["net_io"], "0B / 0B");
    // The exact limit through a template, and the full id with --no-trunc.
    let out = r.ok(&[
        "stats",
        "--no-stream",
        "--no-trunc",
        "--format",
        "{{.ID}} {{.MemLimit}} {{.PIDs}}",
        "lim",
    ]);
    let f: Vec<&str> = out.split_whitespace().collect();
    assert_eq!(f[..2], [id.as_str(), "67108864"], "{out}");
    assert!(f[2].parse::<u64>().unwrap() >= 1, "{out}");
    // The default table has Podman's columns.
    let table = r.ok(&["stats", "--no-stream", "lim"]);
    assert_eq!(names(&table), ["lim"]);
    assert!(table.contains("/ 67.11MB"), "{table}");
    r.ok(&["rm", "-f", "lim"]);
    r.assert_no_leftovers();
}

#[test]
fn stats_cpu_time_grows_for_a_busy_container() {
    let r = busybox();
    r.ok(&[
        "run",
        "-d",
        "--name",
        "busy",
        "busybox",
        "sh",
        "-c",
        "while :; do :; done",
    ]);
    let cpu = || -> u64 {
        r.ok(&["stats", "--no-stream", "--format", "{{.CPUNano}}", "busy"])
            .trim()
            .parse()
            .unwrap()
    };
    let first = cpu();
    std::thread::sleep(Duration::from_millis(1500));
    let second = cpu();
    assert!(
        second > first + 100_000_000,
        "CPU time did not grow: {first} then {second} ns"
    );
    let v = json(&r, &["busy"]);
    let pct: f64 = v[0]["cpu_percent"]
        .as_str()
        .unwrap()
        .trim_end_matches('%')
        .parse()
        .unwrap();
    assert!(pct > 1.0, "{v}");
    assert_ne!(v[0]["cpu_time"], "0s", "{v}");
    r.ok(&["rm", "-f", "busy"]);
    r.assert_no_leftovers();
}

#[test]
fn stats_of_a_container_not_running_fails() {
    let r = busybox();
    r.ok(&["run", "--name", "done", "busybox", "true"]);
    r.ok(&["create", "--name", "fresh", "busybox", "true"]);
    for name in ["done", "fresh"] {
        let err = fails(&r, &["stats", "--no-stream", name]);
        assert!(
            err.starts_with("Error: ") && err.contains(name) && err.contains("not running"),
            "{err}"
        );
    }
    let err = fails(&r, &["stats", "--no-stream", "nosuchcontainer"]);
    assert!(err.contains("nosuchcontainer"), "{err}");
    let err = fails(&r, &["stats", "--no-stream", "-a", "done"]);
    assert!(err.contains("cannot be used together"), "{err}");
    r.ok(&["rm", "-a"]);
    r.assert_no_leftovers();
}

#[test]
fn stats_lists_running_containers_and_all_with_a() {
    let r = busybox();
    // Nothing running: the header alone (its first column at the minimum width, as
    // Podman's), an empty JSON list.
    assert_eq!(
        r.ok(&["stats", "--no-stream"]),
        format!("{}\n", HEADER.replacen("ID  ", "ID", 1))
    );
    assert_eq!(json(&r, &[]), serde_json::json!([]));
    r.ok(&["run", "-d", "--name", "one", "busybox", "sleep", "1000"]);
    r.ok(&[
        "run",
        "-d",
        "--name",
        "two",
        "--network",
        "none",
        "busybox",
        "sleep",
        "1000",
    ]);
    r.ok(&["run", "--name", "gone", "busybox", "true"]);
    assert_eq!(names(&r.ok(&["stats", "--no-stream"])), ["one", "two"]);
    assert_eq!(
        names(&r.ok(&["stats", "--no-stream", "-a"])),
        ["gone", "one", "two"]
    );
    let v = json(&r, &["-a"]);
    let by_name = |n: &str| {
        v.as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == n)
            .unwrap_or_else(|| panic!("{n} missing: {v}"))
            .clone()
    };
    // A stopped container shows zeros, as Podman's.
    let gone = by_name("gone");
    assert_eq!(gone["pids"], "0");
    assert_eq!(gone["mem_usage"], "0B / 0B");
    assert_eq!(gone["cpu_time"], "0s");
    for n in ["one", "two"] {
        let s = by_name(n);
        assert!(
            s["pids"].as_str().unwrap().parse::<u64>().unwrap() >= 1,
            "{s}"
        );
        assert_ne!(s["mem_usage"], "0B / 0B", "{s}");
    }
    // A private network namespace with only a loopback device: no network I/O either.
    assert_eq!(by_name("two")["net_io"], "0B / 0B");
    r.ok(&["rm", "-f", "-a"]);
    r.assert_no_leftovers();
}

#[test]
fn stats_rootless_on_cgroup_v1_is_refused() {
    if Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
        eprintln!("skipped: a pure cgroup v2 host");
        return;
    }
    ensure_user();
    let r = Rootless::new(USER);
    let out = r.sh("$BERTH stats --no-stream");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(125), "{out:?}");
    assert_eq!(
        err.trim_end(),
        "Error: stats is not supported in rootless mode without cgroups v2"
    );
    // Refused before berth's user namespace was made: no pause process.
    assert!(!r.env.path("run/berth/pause.pid").exists());
}
