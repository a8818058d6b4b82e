//! Differences a Podman user trips on (issue 13), each made Podman's: exit codes and messages
//! of `exec`, `volume rm`, `rmi -f`, `stop`, `rm -f`; Go's architecture names in `version` and
//! `info`; `--read-only`'s writable tmpfs directories; `search` without search registries.

use crate::run::busybox;

/// A container that ends on SIGTERM (busybox `sleep` as pid 1 would ignore it).
const STOPPABLE: &[&str] = &[
    "sh",
    "-c",
    "trap 'exit 0' TERM; while :; do sleep 0.1; done",
];

fn run_args<'a>(head: &[&'a str], tail: &[&'a str]) -> Vec<&'a str> {
    head.iter().chain(tail).copied().collect()
}

#[test]
fn exec_into_a_stopped_container_is_state_improper() {
    let r = busybox();
    r.ok(&["create", "--name", "st", "busybox", "sleep", "100"]);
    let (code, _, err) = r.code(&["exec", "st", "true"]);
    assert_eq!(code, Some(255), "{err}");
    assert!(err.contains("container state improper"), "{err}");
    // A container that does not exist stays berth's own error.
    let (code, _, err) = r.code(&["exec", "nosuch", "true"]);
    assert_eq!(code, Some(125), "{err}");
}

#[test]
fn volume_rm_removes_the_free_volumes_and_reports_the_used_one() {
    let r = busybox();
    r.ok(&["volume", "create", "a"]);
    r.ok(&["volume", "create", "b"]);
    r.ok(&["create", "--name", "user", "-v", "b:/b", "busybox", "true"]);
    let (code, out, err) = r.code(&["volume", "rm", "a", "b"]);
    assert_eq!(code, Some(2), "{err}");
    assert_eq!(out, "a\n");
    assert!(err.contains("volume b is being used"), "{err}");
    assert_eq!(r.ok(&["volume", "ls", "-q"]), "b\n");
    let (code, _, err) = r.code(&["volume", "rm", "nosuch"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("no volume with name \"nosuch\" found"),
        "{err}"
    );
}

#[test]
fn rmi_force_removes_the_containers_of_the_image() {
    let r = busybox();
    r.ok(&["tag", "busybox", "other"]);
    r.ok(&run_args(
        &["run", "-d", "--name", "up", "other"],
        STOPPABLE,
    ));
    r.ok(&["create", "--name", "made", "other", "true"]);
    // Removing one of several names leaves the image and its containers.
    assert!(r.ok(&["rmi", "-f", "other"]).starts_with("Untagged:"));
    assert_eq!(r.ok(&["ps", "-aq"]).lines().count(), 2);
    // Removing the image takes its containers along, the running one stopped first.
    let out = r.ok(&["rmi", "-f", "busybox"]);
    assert!(out.contains("Deleted:"), "{out}");
    assert_eq!(r.ok(&["images", "-q"]), "");
    r.assert_no_leftovers();
}

#[test]
fn stop_restart_and_rm_print_the_name_given_and_warn_on_sigkill() {
    let r = busybox();
    r.ok(&["run", "-d", "--name", "stubborn", "busybox", "sleep", "100"]);
    let (code, out, err) = r.code(&["stop", "-t", "1", "stubborn"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(out, "stubborn\n");
    assert!(
        err.contains(
            "StopSignal SIGTERM failed to stop container stubborn in 1 seconds, resorting to SIGKILL"
        ),
        "{err}"
    );
    r.ok(&["run", "-d", "--name", "polite", "busybox", "sleep", "100"]);
    assert_eq!(r.ok(&["rm", "-f", "polite"]), "polite\n");
    r.ok(&run_args(
        &["run", "-d", "--name", "again", "busybox"],
        STOPPABLE,
    ));
    assert_eq!(r.ok(&["restart", "again"]), "again\n");
    let (_, _, err) = r.code(&["stop", "again"]);
    assert!(!err.contains("SIGKILL"), "{err}");
}

#[test]
fn version_and_info_name_the_architecture_as_go_does() {
    let go_arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        other => other,
    };
    let r = busybox();
    let version = r.ok(&["version"]);
    assert!(version.contains(&format!("linux/{go_arch}")), "{version}");
    let info: serde_json::Value =
        serde_json::from_str(&r.ok(&["info", "--format", "json"])).unwrap();
    assert_eq!(info["host"]["arch"], go_arch, "{info}");
}

#[test]
fn read_only_mounts_writable_tmpfs_dirs_unless_told_not_to() {
    let r = busybox();
    let script = "touch /tmp/a /var/tmp/b /run/c && echo writable; touch /d 2>&1";
    let (_, out, _) = r.code(&["run", "--rm", "--read-only", "busybox", "sh", "-c", script]);
    assert!(out.starts_with("writable\n"), "{out}");
    assert!(out.contains("Read-only file system"), "{out}");
    let (_, out, _) = r.code(&[
        "run",
        "--rm",
        "--read-only",
        "--read-only-tmpfs=false",
        "busybox",
        "sh",
        "-c",
        "touch /tmp/a 2>&1",
    ]);
    assert!(out.contains("Read-only file system"), "{out}");
    r.assert_no_leftovers();
}

/// Usage errors in Podman's two lines (`Error: …`, `See '… --help'`), exit 125.
#[test]
fn usage_errors_are_podmans() {
    let env = crate::util::TestEnv::new();
    let cases: &[(&[&str], &str)] = &[
        (
            &["run", "--bogus", "img"],
            "Error: unknown flag: --bogus\nSee 'berth run --help'\n",
        ),
        (
            &["volume", "inspect", "-z"],
            "Error: unknown shorthand flag: 'z' in -z\nSee 'berth volume inspect --help'\n",
        ),
        (
            &["images", "--format"],
            "Error: flag needs an argument: --format\nSee 'berth images --help'\n",
        ),
        (
            &["stop", "-t", "abc", "x"],
            "Error: invalid argument \"abc\" for \"-t, --time\" flag: invalid digit found in string\n\
             See 'berth stop --help'\n",
        ),
        (
            &["image", "bogus"],
            "Error: unrecognized command `berth image bogus`\n\n\
             Try 'berth image --help' for more information\n",
        ),
    ];
    for (args, expected) in cases {
        let out = env.run(args);
        assert_eq!(out.status.code(), Some(125), "{args:?}");
        assert_eq!(String::from_utf8_lossy(&out.stderr), *expected, "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    let out = env.run(&["imgs"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("Error: unrecognized command `berth imgs`\n\nDid you mean this?\n"),
        "{err}"
    );
    assert!(err.contains("\timages\n"), "{err}");
}

/// With no `unqualified-search-registries`, a short name is found in the store as before, but
/// never guessed at docker.io: Podman's error at once, naming the registries.conf in force.
#[test]
fn a_short_name_without_search_registries_is_not_pulled() {
    use crate::registry_harness::berth;
    let r = busybox();
    let conf = r.env.path("registries.conf");
    for args in [
        &["pull", "nosuch"][..],
        &["run", "--rm", "nosuch:1", "true"],
    ] {
        // Should berth try a registry after all, it reaches only a closed local port.
        let out = berth(&r.env, args)
            .env("HTTPS_PROXY", "http://127.0.0.1:9")
            .env_remove("NO_PROXY")
            .env_remove("no_proxy")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(125), "{args:?}: {err}");
        let name = args[args.len() - 1 - usize::from(args[0] == "run")];
        assert!(
            err.contains(&format!(
                "short-name \"{name}\" did not resolve to an alias and no unqualified-search \
                 registries are defined in \"{}\"",
                conf.display()
            )),
            "{args:?}: {err}"
        );
        assert!(!err.contains("Trying to pull"), "{err}");
    }
    let out = berth(&r.env, &["run", "--rm", "busybox", "echo", "local"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "local\n");
}

/// A registry that is down (connection refused) is tried 3 more times, `--retry-delay` apart,
/// each retry announced as Podman does; `--retry 0` fails at once, and a missing manifest on a
/// live registry is not retried.
#[test]
fn a_registry_that_is_down_is_retried_three_times() {
    use crate::registry_harness::{berth, free_port, Registry};
    let env = crate::util::TestEnv::new();
    let id = env.import_busybox("busybox");
    let dead = format!("127.0.0.1:{}/x:1", free_port());
    let stderr_of = |args: &[&str]| {
        let started = std::time::Instant::now();
        let out = berth(&env, args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        assert_eq!(out.status.code(), Some(125), "{args:?}: {err}");
        assert!(started.elapsed().as_secs() < 30, "{args:?} took too long");
        err
    };
    let pull: &[&str] = &["pull", "--tls-verify=false", "--retry-delay=10ms", &dead];
    let push: &[&str] = &[
        "push",
        "--tls-verify=false",
        "--retry-delay",
        "10ms",
        &id,
        &dead,
    ];
    for args in [pull, push] {
        let err = stderr_of(args);
        let warnings: Vec<&str> = err
            .lines()
            .filter(|l| l.contains("Failed, retrying in 10ms ... ("))
            .collect();
        assert_eq!(warnings.len(), 3, "{args:?}: {err}");
        assert!(
            warnings[0].contains("(1/3). Error: GET http://127.0.0.1:"),
            "{err}"
        );
        assert!(warnings[2].contains("(3/3)"), "{err}");
        assert!(warnings[2].contains("Connection refused"), "{err}");
    }
    let err = stderr_of(&["pull", "--tls-verify=false", "--retry", "0", &dead]);
    assert!(!err.contains("retrying"), "{err}");
    let reg = Registry::start();
    let err = stderr_of(&[
        "pull",
        "--retry-delay=10ms",
        "--tls-verify=false",
        &reg.image("nosuch:1"),
    ]);
    assert!(!err.contains("retrying"), "{err}");
}

/// `-it` with a stdin that is not a terminal warns in Podman's words and still runs.
#[test]
fn it_without_a_terminal_warns_as_podman() {
    let r = busybox();
    let (code, out, err) = r.code(&["run", "--rm", "-it", "busybox", "echo", "hi"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(out.trim_end(), "hi");
    assert!(
        err.contains(
            "The input device is not a TTY. The --tty and --interactive flags might not work properly"
        ),
        "{err}"
    );
    let (_, _, err) = r.code(&["run", "--rm", "-t", "busybox", "true"]);
    assert!(!err.contains("not a TTY"), "-t alone: {err}");
}

/// `volume inspect --format` takes a Go template, one line per volume, as Podman's.
#[test]
fn volume_inspect_takes_a_format() {
    let r = busybox();
    r.ok(&["volume", "create", "va"]);
    r.ok(&["volume", "create", "vb"]);
    let out = r.ok(&[
        "volume",
        "inspect",
        "--format",
        "{{.Name}} {{.Driver}}",
        "va",
        "vb",
    ]);
    assert_eq!(out, "va local\nvb local\n");
    let out = r.ok(&["volume", "inspect", "-f", "{{.Mountpoint}}", "va"]);
    assert!(out.trim_end().ends_with("/volumes/va/_data"), "{out}");
    let json: serde_json::Value =
        serde_json::from_str(&r.ok(&["volume", "inspect", "va"])).unwrap();
    assert_eq!(json[0]["Name"], "va");
}

/// `info` is YAML by default with Podman's key names; `--format` takes json or a Go template
/// with Go's field names.
#[test]
fn info_is_yaml_with_a_format_as_podman() {
    let r = busybox();
    let yaml = r.ok(&["info"]);
    assert!(yaml.starts_with("host:\n  arch: "), "{yaml}");
    let root = r.env.root.display().to_string();
    assert!(yaml.contains(&format!("\n  graphRoot: {root}\n")), "{yaml}");
    assert!(yaml.contains("\n  imageStore:\n    number: 1\n"), "{yaml}");
    let out = r.ok(&["info", "--format", "{{.Store.GraphRoot}} {{.Host.OS}}"]);
    assert_eq!(out, format!("{root} linux\n"));
    let json: serde_json::Value =
        serde_json::from_str(&r.ok(&["system", "info", "-f", "json"])).unwrap();
    assert_eq!(json["store"]["imageStore"]["number"], 1);
}

/// `search` with no `unqualified-search-registries` searches nothing and prints nothing, as
/// Podman (berth used to fall back to docker.io). Every proxy variable points at a listener on
/// 127.0.0.1 that counts connections: a fallback would reach it, and nothing else is asked.
#[test]
fn search_without_search_registries_prints_nothing_as_podman() {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::Arc;

    let env = crate::util::TestEnv::new();
    let trap = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    trap.set_nonblocking(true).unwrap();
    let proxy = format!("http://{}", trap.local_addr().unwrap());
    let (hits, done) = (
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicBool::new(false)),
    );
    let (h, d) = (hits.clone(), done.clone());
    let watcher = std::thread::spawn(move || {
        while !d.load(Ordering::SeqCst) {
            match trap.accept() {
                Ok(_) => {
                    h.fetch_add(1, Ordering::SeqCst);
                }
                Err(_) => std::thread::sleep(std::time::Duration::from_millis(10)),
            }
        }
    });
    let conf = env.path("registries.conf");
    for text in ["", "unqualified-search-registries = []\n"] {
        std::fs::write(&conf, text).unwrap();
        let mut tools = vec![env.cmd(&["search", "busybox"])];
        let mut podman = std::process::Command::new(crate::util::require_tool("podman"));
        podman
            .arg("--root")
            .arg(env.path("podman-root"))
            .arg("--runroot")
            .arg(env.path("podman-run"))
            .args(["--storage-driver", "vfs", "search", "busybox"]);
        tools.push(podman);
        for mut cmd in tools {
            cmd.env("CONTAINERS_REGISTRIES_CONF", &conf)
                .env("HOME", env.path("home"))
                .env_remove("NO_PROXY")
                .env_remove("no_proxy");
            for var in [
                "HTTPS_PROXY",
                "https_proxy",
                "HTTP_PROXY",
                "http_proxy",
                "ALL_PROXY",
            ] {
                cmd.env(var, &proxy);
            }
            let out = cmd.output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "{cmd:?}: {stderr}");
            assert_eq!(String::from_utf8_lossy(&out.stdout), "", "{cmd:?}");
        }
    }
    done.store(true, Ordering::SeqCst);
    watcher.join().unwrap();
    assert_eq!(hits.load(Ordering::SeqCst), 0, "something was asked");
}
