//! containers.conf and storage.conf as a Podman user writes them (issue 20): each key group
//! in a private file (`CONTAINERS_CONF`, `CONTAINERS_STORAGE_CONF` pointing into the test
//! dir), its effect seen in a container, in `inspect` or in where the store is, and the
//! flags still winning. As root.

use std::fs;
use std::path::Path;
use std::process::Command;

use crate::run::{busybox, RunEnv};

/// `args` with `CONTAINERS_CONF` set to `conf`: (success, stdout, stderr).
fn with_conf(r: &RunEnv, conf: &Path, args: &[&str]) -> (bool, String, String) {
    let out = r.cmd(args).env("CONTAINERS_CONF", conf).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

fn ok_with_conf(r: &RunEnv, conf: &Path, args: &[&str]) -> String {
    let (ok, out, err) = with_conf(r, conf, args);
    assert!(ok, "{args:?}: {out}{err}");
    out
}

#[test]
fn conf_process_defaults_env_caps_sysctls_umask_shm() {
    let r = busybox();
    let conf = r.env.path("containers.conf");
    fs::write(
        &conf,
        "[containers]\nenv = [\"DAILY_CONF=yes\", \"DAILY_OVER=conf\"]\n\
         default_capabilities = [\"CHOWN\", \"KILL\"]\n\
         default_sysctls = [\"net.ipv4.ip_unprivileged_port_start=500\"]\n\
         umask = \"0077\"\nshm_size = \"1m\"\ntz = \"Asia/Tokyo\"\n",
    )
    .unwrap();
    let script = "echo $DAILY_CONF $DAILY_OVER; grep CapEff /proc/self/status; umask; \
                  cat /proc/sys/net/ipv4/ip_unprivileged_port_start; df -k /dev/shm | tail -1; date +%Z";
    let out = ok_with_conf(
        &r,
        &conf,
        &[
            "run",
            "--rm",
            "--network",
            "none",
            "-e",
            "DAILY_OVER=flag",
            "busybox",
            "sh",
            "-c",
            script,
        ],
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "yes flag", "{out}");
    // CHOWN (bit 0) and KILL (bit 5) only.
    assert!(lines[1].ends_with("0000000000000021"), "{out}");
    assert_eq!(lines[2], "0077", "{out}");
    assert_eq!(lines[3], "500", "{out}");
    assert_eq!(lines[4].split_whitespace().nth(1), Some("1024"), "{out}");
    assert_eq!(lines[5], "JST", "{out}");
    // The flags win; a capability added adds to containers.conf's set.
    let out = ok_with_conf(
        &r,
        &conf,
        &[
            "run",
            "--rm",
            "--network",
            "none",
            "--umask",
            "0022",
            "--shm-size",
            "2m",
            "--cap-add",
            "SETUID",
            "--tz",
            "UTC",
            "busybox",
            "sh",
            "-c",
            script,
        ],
    );
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[1].ends_with("00000000000000a1"), "{out}");
    assert_eq!(lines[2], "0022", "{out}");
    assert_eq!(lines[4].split_whitespace().nth(1), Some("2048"), "{out}");
    assert_eq!(lines[5], "UTC", "{out}");
    // On the host's network a net.* default is left out, as Podman (no error).
    let out = ok_with_conf(
        &r,
        &conf,
        &["run", "--rm", "--network", "host", "busybox", "echo", "ran"],
    );
    assert_eq!(out, "ran\n");
    let (ok, _, err) = with_conf(
        &r,
        &conf,
        &["run", "--rm", "--umask", "0988", "busybox", "true"],
    );
    assert!(!ok && err.contains("invalid umask string 0988"), "{err}");
    let (ok, _, err) = with_conf(
        &r,
        &conf,
        &["run", "--rm", "--tz", "../../etc/shadow", "busybox", "true"],
    );
    assert!(!ok && err.contains("finding timezone"), "{err}");
}

#[test]
fn conf_dns_and_hosts_defaults() {
    let r = busybox();
    let conf = r.env.path("containers.conf");
    fs::write(
        &conf,
        "[containers]\ndns_servers = [\"192.0.2.53\"]\ndns_searches = [\"daily.example\"]\n\
         dns_options = [\"ndots:3\"]\nno_hosts = true\n",
    )
    .unwrap();
    let script = "cat /etc/resolv.conf; cat /etc/hosts 2>/dev/null | grep -c host.containers.internal || true";
    let run = |extra: &[&str]| {
        let mut args = vec![
            "run",
            "--rm",
            "--network",
            "host",
            "--hostname",
            "daily-hostname",
        ];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["busybox", "sh", "-c", script]);
        ok_with_conf(&r, &conf, &args)
    };
    let out = run(&[]);
    assert!(out.contains("nameserver 192.0.2.53"), "{out}");
    assert!(out.contains("search daily.example"), "{out}");
    assert!(out.contains("options ndots:3"), "{out}");
    // no_hosts: the image's /etc/hosts (none), not the generated one.
    assert!(out.ends_with("0\n"), "{out}");
    let out = run(&["--dns", "192.0.2.54"]);
    assert!(out.contains("nameserver 192.0.2.54"), "{out}");
    assert!(!out.contains("192.0.2.53"), "{out}");
    // Without a network of its own the DNS defaults do not apply (no conflict to refuse).
    let out = ok_with_conf(
        &r,
        &conf,
        &["run", "--rm", "--network", "none", "busybox", "echo", "ran"],
    );
    assert_eq!(out, "ran\n");
    // --add-host asks for a generated /etc/hosts: containers.conf's no_hosts yields.
    let out = run(&["--add-host", "daily-peer:192.0.2.7"]);
    assert!(out.ends_with("1\n"), "{out}");
}

#[test]
fn conf_engine_log_init_pids_and_runtime_in_inspect() {
    let r = busybox();
    let conf = r.env.path("containers.conf");
    fs::write(
        &conf,
        "[containers]\ninit = true\npids_limit = 77\nlog_driver = \"json-file\"\n\
         log_size_max = 1000000\n[engine]\nruntime = \"runc\"\n",
    )
    .unwrap();
    let format = "{{.HostConfig.Init}} {{.HostConfig.PidsLimit}} {{.HostConfig.LogConfig.Type}} \
                  {{.HostConfig.LogConfig.Size}} {{.OCIRuntime}}";
    ok_with_conf(
        &r,
        &conf,
        &["create", "--name", "daily-conf1", "busybox", "true"],
    );
    let out = ok_with_conf(&r, &conf, &["inspect", "--format", format, "daily-conf1"]);
    assert_eq!(out, "true 77 json-file 1MB runc\n");
    ok_with_conf(
        &r,
        &conf,
        &[
            "create",
            "--name",
            "daily-conf2",
            "--pids-limit",
            "5",
            "--log-driver",
            "k8s-file",
            "--log-opt",
            "max-size=2mb",
            "--runtime",
            "embedded",
            "busybox",
            "true",
        ],
    );
    let out = ok_with_conf(&r, &conf, &["inspect", "--format", format, "daily-conf2"]);
    assert_eq!(out, "true 5 k8s-file 2MB embedded\n");
    // Run under containers.conf's runc, with its init.
    let out = ok_with_conf(
        &r,
        &conf,
        &["run", "--rm", "busybox", "cat", "/proc/1/cmdline"],
    );
    assert!(!out.starts_with("cat"), "PID 1 is the init: {out:?}");
    // $CONTAINERS_CONF_OVERRIDE is read last, over $CONTAINERS_CONF.
    let over = r.env.path("override.conf");
    fs::write(&over, "[containers]\npids_limit = 88\n").unwrap();
    let out = r
        .cmd(&["create", "--name", "daily-conf4", "busybox", "true"])
        .env("CONTAINERS_CONF", &conf)
        .env("CONTAINERS_CONF_OVERRIDE", &over)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let out = ok_with_conf(&r, &conf, &["inspect", "--format", format, "daily-conf4"]);
    assert_eq!(out, "true 88 json-file 1MB runc\n");
    r.ok(&["rm", "-f", "daily-conf1", "daily-conf2", "daily-conf4"]);
}

#[test]
fn conf_network_and_userns_keys_and_their_refusals() {
    let r = busybox();
    let conf = r.env.path("containers.conf");
    fs::write(&conf, "[network]\nnetwork_backend = \"cni\"\n").unwrap();
    let (ok, _, err) = with_conf(&r, &conf, &["run", "--rm", "busybox", "true"]);
    assert!(!ok, "{err}");
    assert!(
        err.contains("network_backend \"cni\" is not supported"),
        "{err}"
    );
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    fs::write(&conf, "[network]\nnetwork_backend = \"netavark\"\n").unwrap();
    ok_with_conf(
        &r,
        &conf,
        &["run", "--rm", "--network", "none", "busybox", "true"],
    );
    // default_network: a bridge-mode container without --network joins it.
    r.ok(&["network", "create", "daily-confnet"]);
    fs::write(&conf, "[network]\ndefault_network = \"daily-confnet\"\n").unwrap();
    ok_with_conf(
        &r,
        &conf,
        &["create", "--name", "daily-conf3", "busybox", "true"],
    );
    let out = ok_with_conf(&r, &conf, &["inspect", "daily-conf3"]);
    assert!(out.contains("\"daily-confnet\""), "{out}");
    r.ok(&["rm", "-f", "daily-conf3"]);
    r.ok(&["network", "rm", "daily-confnet"]);
    // userns: keep-id is a plain user's; as root berth says so, naming the mode it read.
    fs::write(&conf, "[containers]\nuserns = \"keep-id\"\n").unwrap();
    let (ok, _, err) = with_conf(&r, &conf, &["run", "--rm", "busybox", "true"]);
    assert!(!ok && err.contains("keep-id"), "{err}");
}

#[test]
fn storage_conf_places_the_store_unless_root_is_given() {
    let env = crate::util::TestEnv::new();
    let conf = env.path("storage.conf");
    let graph = env.path("daily-graph");
    let run = env.path("daily-run");
    fs::write(
        &conf,
        format!(
            "[storage]\ndriver = \"overlay\"\ngraphroot = \"{}\"\nrunroot = \"{}\"\n",
            graph.display(),
            run.display()
        ),
    )
    .unwrap();
    let berth = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_berth"))
            .args(args)
            .env("CONTAINERS_STORAGE_CONF", &conf)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let (ok, out, err) = berth(&[
        "info",
        "--format",
        "{{.Store.GraphRoot}} {{.Store.RunRoot}}",
    ]);
    assert!(ok, "{err}");
    assert_eq!(out, format!("{} {}\n", graph.display(), run.display()));
    assert!(graph.is_dir(), "the store is made at graphroot");
    // --root and --runroot win.
    let own = env.path("daily-own");
    let (ok, out, err) = berth(&[
        "--root",
        own.to_str().unwrap(),
        "info",
        "--format",
        "{{.Store.GraphRoot}}",
    ]);
    assert!(ok, "{err}");
    assert_eq!(out.trim(), own.to_str().unwrap());
    fs::write(&conf, "[storage]\ndriver = \"btrfs\"\n").unwrap();
    let (ok, _, err) = berth(&["images"]);
    assert!(!ok, "{err}");
    assert!(
        err.contains("storage driver \"btrfs\" is not supported"),
        "{err}"
    );
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
}

#[test]
fn rootless_users_containers_conf_is_read_inside_berths_namespace() {
    let r = crate::rootless_run::Rootless::with_busybox();
    let dir = r.env.path("home/.config/containers");
    fs::create_dir_all(&dir).unwrap();
    fs::write(
        dir.join("containers.conf"),
        "[containers]\nenv = [\"DAILY_USER_CONF=yes\"]\numask = \"0027\"\n",
    )
    .unwrap();
    let out = r.ok("$BERTH run --rm bb sh -c 'echo $DAILY_USER_CONF; umask'");
    assert_eq!(out, "yes\n0027\n");
}
