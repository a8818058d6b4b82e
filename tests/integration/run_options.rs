//! The daily-use `run` options of issue 20, each seen from inside the container (as root):
//! `--ulimit`, `--sysctl`, `--shm-size`, `--device`, `--group-add`, `--env-host`, and the log
//! drivers (`--log-opt max-size` keeps the log under its size while `logs` still reads it;
//! `none` makes `logs` refuse), with Podman 4.3's refusals and words.

use std::fs;

use crate::run::busybox;

#[test]
fn limits_kernel_settings_devices_and_groups_inside() {
    let r = busybox();
    let out = r.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--ulimit",
        "nofile=2048:4096",
        "--sysctl",
        "net.core.somaxconn=1000",
        "--sysctl",
        "kernel.msgmax=8192",
        "--shm-size",
        "128m",
        "--device",
        "/dev/null:/dev/runopts-null:rw",
        "--group-add",
        "nogroup",
        "--group-add",
        "42",
        "busybox",
        "sh",
        "-c",
        "ulimit -n; ulimit -Hn; cat /proc/sys/net/core/somaxconn /proc/sys/kernel/msgmax; \
         df -k /dev/shm | tail -1; stat -c '%F %t:%T' /dev/runopts-null; id -G; \
         echo x > /dev/runopts-null && echo writable",
    ]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[..4], ["2048", "4096", "1000", "8192"], "{out}");
    let shm: Vec<&str> = lines[4].split_whitespace().collect();
    assert_eq!(shm[1], "131072", "{out}");
    assert_eq!(lines[5], "character special file 1:3", "{out}");
    // The kernel keeps supplementary groups sorted.
    assert_eq!(lines[6], "0 42 65534", "{out}");
    assert_eq!(lines[7], "writable", "{out}");
    // Without the options: the runtime's defaults, Podman's 64 MiB /dev/shm, no such node.
    let out = r.ok(&[
        "run",
        "--rm",
        "busybox",
        "sh",
        "-c",
        "df -k /dev/shm | tail -1; test -e /dev/runopts-null || echo absent; id -G",
    ]);
    assert!(out.contains(" 65536 "), "{out}");
    assert!(out.contains("absent\n0\n"), "{out}");
}

#[test]
fn refused_as_podman_refuses_them() {
    let r = busybox();
    let cases: &[(&[&str], &str)] = &[
        (
            &["--network", "host", "--sysctl", "net.core.somaxconn=1"],
            "Error: sysctl net.core.somaxconn=1 can't be set since Network Namespace set to host: invalid argument",
        ),
        (&["--sysctl", "vm.swappiness=1"], "Error: sysctl 'vm.swappiness' is not allowed"),
        (
            &["--sysctl", "foo"],
            "Error: foo is invalid, sysctl values must be in the form of KEY=VALUE",
        ),
        (
            &["--ulimit", "nofile=10:5"],
            "Error: ulimit option \"nofile=10:5\" requires name=SOFT:HARD, failed to be parsed: ulimit soft limit must be less than or equal to hard limit: 10 > 5",
        ),
        (
            &["--ulimit", "bogus=1"],
            "Error: ulimit option \"bogus=1\" requires name=SOFT:HARD, failed to be parsed: invalid ulimit type: bogus",
        ),
        (
            &["--shm-size", "abc"],
            "Error: unable to translate --shm-size: invalid size: 'abc'",
        ),
        (
            &["--device", "/dev/runopts-nonexistent"],
            "Error: stat /dev/runopts-nonexistent: no such file or directory",
        ),
        (&["--device", "/dev/null:rel"], "Error: invalid device mode: rel"),
        (
            &["--group-add", "keep-groups", "--group-add", "10"],
            "Error: the '--group-add keep-groups' option is not allowed with any other --group-add options",
        ),
        (&["--log-opt", "max-size=1x"], "Error: invalid size: '1x'"),
        (
            &["--log-driver", "bogus"],
            "Error: running container create option: invalid log driver \"bogus\": invalid argument",
        ),
    ];
    for (flags, want) in cases {
        let mut args = vec!["create"];
        args.extend_from_slice(flags);
        args.extend_from_slice(&["busybox", "true"]);
        let (code, _, err) = r.code(&args);
        assert_eq!(code, Some(125), "{args:?}: {err}");
        assert_eq!(err.trim_end(), *want, "{args:?}");
    }
    assert_eq!(
        r.ok(&["ps", "-aq"]),
        "",
        "a refused create left a container"
    );
}

#[test]
fn env_host_copies_the_callers_environment_under_e() {
    let r = busybox();
    let out = r
        .cmd(&[
            "run",
            "--rm",
            "--env-host",
            "-e",
            "RUNOPTS_OVER=flag",
            "busybox",
            "sh",
            "-c",
            "echo $RUNOPTS_HOSTVAR $RUNOPTS_OVER",
        ])
        .env("RUNOPTS_HOSTVAR", "from-host")
        .env("RUNOPTS_OVER", "host")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "from-host flag\n");
    // Without --env-host nothing of the caller's comes in.
    let out = r
        .cmd(&[
            "run",
            "--rm",
            "busybox",
            "sh",
            "-c",
            "echo [$RUNOPTS_HOSTVAR]",
        ])
        .env("RUNOPTS_HOSTVAR", "from-host")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "[]\n");
}

#[test]
fn log_max_size_keeps_the_log_small_and_readable() {
    let r = busybox();
    let id = r
        .ok(&[
            "run",
            "-d",
            "--name",
            "runopts-capped",
            "--log-opt",
            "max-size=10k",
            "busybox",
            "sh",
            "-c",
            "i=0; while [ $i -lt 2000 ]; do echo line-$i-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; \
             i=$((i+1)); done",
        ])
        .trim()
        .to_string();
    assert_eq!(r.ok(&["wait", &id]).trim(), "0");
    assert_eq!(
        r.ok(&[
            "inspect",
            "--format",
            "{{.HostConfig.LogConfig.Type}} {{.HostConfig.LogConfig.Size}}",
            &id
        ]),
        "k8s-file 10kB\n"
    );
    let log_path = r.ok(&["inspect", "--format", "{{.LogPath}}", &id]);
    let size = fs::metadata(log_path.trim()).unwrap().len();
    assert!(size <= 10_000, "log of {size} bytes over max-size");
    let logs = r.ok(&["logs", &id]);
    // About 90 kB were written; what is left is the last part, whole lines.
    assert!(logs.len() < 10_000 && !logs.is_empty(), "{}", logs.len());
    assert!(logs.ends_with("line-1999-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n"));
    assert!(!logs.contains("line-0-"));
    assert!(logs.lines().all(|l| l.starts_with("line-")), "{logs}");
    // Without max-size the whole output stays.
    let id = r
        .ok(&["run", "-d", "busybox", "sh", "-c", "seq 1 3000"])
        .trim()
        .to_string();
    r.ok(&["wait", &id]);
    assert_eq!(r.ok(&["logs", &id]).lines().count(), 3000);
}

#[test]
fn log_driver_none_keeps_no_log() {
    let r = busybox();
    let id = r
        .ok(&["run", "-d", "--log-driver", "none", "busybox", "echo", "hi"])
        .trim()
        .to_string();
    assert_eq!(r.ok(&["wait", &id]).trim(), "0");
    let err = r.env.fails(
        &["--runroot", r.runroot.to_str().unwrap(), "logs", &id],
        125,
    );
    assert_eq!(
        err.trim_end(),
        "Error: this container is using the 'none' log driver, cannot read logs: this \
         container is not logging output"
    );
    let log_path = r.ok(&["inspect", "--format", "{{.LogPath}}", &id]);
    assert!(!std::path::Path::new(log_path.trim()).exists());
    // json-file is Podman's alias of the k8s-file format: logs reads it.
    let id = r
        .ok(&[
            "run",
            "-d",
            "--log-driver",
            "json-file",
            "busybox",
            "echo",
            "hi",
        ])
        .trim()
        .to_string();
    r.ok(&["wait", &id]);
    assert_eq!(r.ok(&["logs", &id]), "hi\n");
}

#[test]
fn containers_conf_default_ulimits_unless_ulimit_is_given() {
    let r = busybox();
    let conf = r.env.path("containers.conf");
    fs::write(
        &conf,
        "[containers]\ndefault_ulimits = [\"nofile=1024:1024\", \"nproc=4096:4096\"]\n",
    )
    .unwrap();
    let run = |extra: &[&str]| {
        let mut args = vec!["run", "--rm"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["busybox", "sh", "-c", "ulimit -n; ulimit -u"]);
        let out = r.cmd(&args).env("CONTAINERS_CONF", &conf).output().unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    // As Podman 4.3 with this containers.conf: 1024 and 4096.
    assert_eq!(run(&[]), "1024\n4096\n");
    // A --ulimit replaces the whole default list.
    // A --ulimit replaces the whole default list: nproc is the one berth runs with.
    let limits = fs::read_to_string("/proc/self/limits").unwrap();
    let nproc = limits
        .lines()
        .find(|l| l.starts_with("Max processes"))
        .and_then(|l| l.split_whitespace().nth(2))
        .unwrap()
        .to_string();
    assert_eq!(
        run(&["--ulimit", "nofile=512:512"]),
        format!("512\n{nproc}\n")
    );
}

#[test]
fn keep_id_rootless_keeps_the_users_files_theirs() {
    use std::os::unix::fs::MetadataExt;
    let r = crate::rootless_run::Rootless::with_busybox();
    let data = r.env.path("home/runopts-data");
    r.ok(&format!("mkdir {0} && echo mine > {0}/f", data.display()));
    let uid = fs::metadata(&data).unwrap().uid();
    let out = r.ok(&format!(
        "$BERTH run --rm --userns keep-id -v {}:/data bb sh -c 'id -u; id -g; stat -c %u /data/f; \
         echo new > /data/g'",
        data.display()
    ));
    let gid = fs::metadata(&data).unwrap().gid();
    assert_eq!(out, format!("{uid}\n{gid}\n{uid}\n"));
    // What the container wrote is the user's on the host.
    assert_eq!(fs::metadata(data.join("g")).unwrap().uid(), uid);
    // Without keep-id the user is root inside (berth's namespace).
    assert_eq!(r.ok("$BERTH run --rm bb id -u"), "0\n");
}

#[test]
fn uidmap_as_root_with_runc_and_its_refusals() {
    let r = busybox();
    let out = r.ok(&[
        "run",
        "--rm",
        "--runtime",
        "runc",
        "--uidmap",
        "0:100000:1000",
        "--uidmap",
        "1000:0:1",
        "busybox",
        "sh",
        "-c",
        "id -u; cat /proc/self/uid_map; stat -c %u /bin/busybox",
    ]);
    let lines: Vec<Vec<&str>> = out
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(lines[0], ["0"], "{out}");
    assert_eq!(lines[1], ["0", "100000", "1000"], "{out}");
    assert_eq!(lines[2], ["1000", "0", "1"], "{out}");
    // The image's root-owned files show as the id host 0 maps to.
    assert_eq!(lines[3], ["1000"], "{out}");
    let refused = |args: &[&str], want: &str| {
        let mut all = vec!["create"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["busybox", "true"]);
        let (code, _, err) = r.code(&all);
        assert_eq!(code, Some(125), "{all:?}: {err}");
        assert!(err.contains(want), "{all:?}: {err}");
    };
    refused(
        &["--userns", "keep-id"],
        "keep-id is only supported in rootless mode",
    );
    refused(
        &["--runtime", "runc", "--uidmap", "0:100000:65536"],
        "the map must include host id 0",
    );
    refused(&["--uidmap", "0:x:1"], "invalid --uidmap");
}

/// Debian's podman 4.3 on a private store in the test dir (an empty `default_ulimits`: its
/// defaults are above this host kind's hard cap).
fn podman(r: &crate::run::RunEnv) -> std::process::Command {
    let conf = r.env.path("containers.conf");
    if !conf.exists() {
        fs::write(&conf, "[containers]\ndefault_ulimits = []\n").unwrap();
    }
    let mut cmd = std::process::Command::new(crate::util::require_tool("podman"));
    cmd.env("CONTAINERS_CONF", conf)
        .arg("--root")
        .arg(r.env.path("podman-root"))
        .arg("--runroot")
        .arg(r.env.path("podman-run"))
        .args(["--storage-driver", "vfs", "--events-backend", "none"])
        .args(["--cgroup-manager", "cgroupfs"]);
    cmd
}

#[test]
fn refusals_and_secret_errors_word_for_word_as_podman() {
    let r = busybox();
    let tar = r.env.busybox_tar();
    crate::util::run_tool(podman(&r).arg("import").arg(&tar).arg("localhost/busybox"));
    let file = r.env.path("s.txt");
    fs::write(&file, "x").unwrap();
    let big = r.env.path("big");
    fs::write(&big, vec![b'x'; 600_000]).unwrap();
    let (file, big) = (file.to_str().unwrap(), big.to_str().unwrap());
    let runs: &[&[&str]] = &[
        &["create", "--sysctl", "vm.swappiness=1", "busybox", "true"],
        &["create", "--sysctl", "foo", "busybox", "true"],
        &[
            "create",
            "--network",
            "host",
            "--sysctl",
            "net.core.somaxconn=1",
            "busybox",
            "true",
        ],
        &["create", "--ulimit", "nofile=10:5", "busybox", "true"],
        &["create", "--ulimit", "bogus=1", "busybox", "true"],
        &["create", "--ulimit", "nofile", "busybox", "true"],
        &["create", "--shm-size", "abc", "busybox", "true"],
        &[
            "create",
            "--device",
            "/dev/runopts-nonexistent",
            "busybox",
            "true",
        ],
        &["create", "--device", "/dev/null:rel", "busybox", "true"],
        &["create", "--log-opt", "max-size=1x", "busybox", "true"],
        &["create", "--userns", "keep-id", "busybox", "true"],
        &["create", "--secret", "runopts-nosuch", "busybox", "true"],
        &["secret", "create", "runopts-big", big],
        &["secret", "create", "bad/name", file],
        &["secret", "inspect", "runopts-nosuch"],
        &["secret", "rm", "runopts-nosuch"],
    ];
    // A name in use: made in both first.
    r.ok(&["secret", "create", "runopts-dup", file]);
    crate::util::run_tool(podman(&r).args(["secret", "create", "runopts-dup", file]));
    let dup: &[&str] = &["secret", "create", "runopts-dup", file];
    for args in runs.iter().chain([&dup]) {
        let (code, _, err) = r.code(args);
        let theirs = podman(&r).args(*args).output().unwrap();
        let their_err = String::from_utf8_lossy(&theirs.stderr);
        assert_eq!(code, theirs.status.code(), "{args:?}: {err} / {their_err}");
        // Podman's text, word for word ("busybox" is "localhost/busybox" there).
        assert_eq!(
            err.trim_end(),
            their_err.trim_end().lines().last().unwrap_or_default(),
            "{args:?}"
        );
    }
}
