//! Restart policies and health checks (issue 20), as Podman 4.3: `--restart on-failure:N`
//! restarts exactly N times, `always` after an exit 0, never after the user's `stop`;
//! health checks flip `healthy` → `unhealthy` after their retries, a hanging one is killed
//! at its timeout, `--health-on-failure=kill` kills; `healthcheck run`'s exit codes and
//! words; `--restart` with `--rm` refused; `generate systemd`'s unit; `start --all --filter
//! restart-policy=`. Every wait is on a state, with a deadline.

use std::time::{Duration, Instant};

use crate::run::{busybox, wait_until, RunEnv};

/// `inspect --format TEMPLATE NAME`, trimmed.
fn inspect(r: &RunEnv, name: &str, template: &str) -> String {
    r.ok(&["inspect", "--format", template, name])
        .trim()
        .to_string()
}

/// Wait until `template` reads `want` for `name`.
fn wait_for(r: &RunEnv, name: &str, template: &str, want: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let now = inspect(r, name, template);
        if now == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {template} of {name} = {want:?}: {now:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Status, restart count and monitor pid (0: no monitor, nothing more will happen).
const SETTLED: &str = "{{.State.Status}} {{.RestartCount}} {{.State.ConmonPid}}";

#[test]
fn on_failure_restarts_exactly_its_count() {
    let r = busybox();
    let name = "health-onfail";
    r.ok(&[
        "run",
        "-d",
        "--name",
        name,
        "--restart",
        "on-failure:2",
        "busybox",
        "sh",
        "-c",
        "echo run; exit 3",
    ]);
    // The monitor gone with the record exited: no restart can follow.
    wait_for(&r, name, SETTLED, "exited 2 0");
    assert_eq!(inspect(&r, name, "{{.State.ExitCode}}"), "3");
    assert_eq!(
        inspect(
            &r,
            name,
            "{{.HostConfig.RestartPolicy.Name}} {{.HostConfig.RestartPolicy.MaximumRetryCount}}"
        ),
        "on-failure 2"
    );
    let logs = r.ok(&["logs", name]);
    assert_eq!(logs.lines().filter(|l| *l == "run").count(), 3, "{logs}");
    // In the foreground: the exit code comes back, the restarts go on in the background.
    let fg = "health-onfail-fg";
    let (code, out, _) = r.code(&[
        "run",
        "--name",
        fg,
        "--restart",
        "on-failure:2",
        "busybox",
        "sh",
        "-c",
        "echo run; exit 3",
    ]);
    assert_eq!((code, out.as_str()), (Some(3), "run\n"));
    wait_for(&r, fg, SETTLED, "exited 2 0");
    // on-failure does not restart after an exit 0.
    r.ok(&[
        "run",
        "-d",
        "--name",
        "health-onfail0",
        "--restart",
        "on-failure",
        "busybox",
        "true",
    ]);
    wait_for(&r, "health-onfail0", SETTLED, "exited 0 0");
}

#[test]
fn always_restarts_after_exit_0_and_stop_ends_it() {
    let r = busybox();
    let name = "health-always";
    r.ok(&[
        "run",
        "-d",
        "--name",
        name,
        "--restart",
        "always",
        "busybox",
        "sh",
        "-c",
        "echo run; sleep 0.2",
    ]);
    wait_until("two restarts", || {
        inspect(&r, name, "{{.RestartCount}}")
            .parse::<u32>()
            .unwrap()
            >= 2
    });
    r.ok(&["stop", "-t", "0", name]);
    wait_for(
        &r,
        name,
        "{{.State.Status}} {{.State.ConmonPid}}",
        "exited 0",
    );
    let count = inspect(&r, name, "{{.RestartCount}}");
    let runs = r
        .ok(&["logs", name])
        .lines()
        .filter(|l| *l == "run")
        .count();
    // Every run's output is kept across restarts: one more run than restarts, or as many
    // when the stop came between the last restart and its `echo` (seen once in a full run).
    let count = count.parse::<usize>().unwrap();
    assert!(
        runs == count + 1 || runs == count,
        "{runs} runs, {count} restarts"
    );
    // A start by the user counts from zero again.
    r.ok(&["start", name]);
    assert_eq!(inspect(&r, name, "{{.RestartCount}}"), "0");
    r.ok(&["stop", "-t", "0", name]);
}

#[test]
fn stop_and_kill_do_not_restart() {
    let r = busybox();
    for (name, verb) in [("health-stopped", "stop"), ("health-killed", "kill")] {
        r.ok(&[
            "run",
            "-d",
            "--name",
            name,
            "--restart",
            "always",
            "busybox",
            "sleep",
            "100",
        ]);
        if verb == "stop" {
            r.ok(&["stop", "-t", "0", name]);
        } else {
            r.ok(&["kill", name]);
        }
        wait_for(&r, name, SETTLED, "exited 0 0");
        assert_eq!(inspect(&r, name, "{{.State.ExitCode}}"), "137", "{verb}");
    }
}

#[test]
fn restart_with_rm_and_bad_policies_are_refused_as_podman() {
    let r = busybox();
    let (code, _, err) = r.code(&["run", "--rm", "--restart", "always", "busybox", "true"]);
    assert_eq!(code, Some(125));
    assert_eq!(
        err.trim(),
        "Error: the --rm option conflicts with --restart, when the restartPolicy is not \"\" and \"no\""
    );
    let (code, _, err) = r.code(&["create", "--restart", "bogus", "busybox", "true"]);
    assert_eq!(code, Some(125));
    assert!(
        err.contains("\"bogus\" is not a valid restart policy"),
        "{err}"
    );
    let (code, _, err) = r.code(&["create", "--health-on-failure", "x", "busybox", "true"]);
    assert_eq!(code, Some(125));
    assert!(
        err.contains("invalid on-failure action \"x\" for health check"),
        "{err}"
    );
    // Nothing was made.
    assert_eq!(r.ok(&["ps", "-aq"]).trim(), "");
}

#[test]
fn health_flips_from_healthy_to_unhealthy_after_its_retries() {
    let r = busybox();
    let name = "health-flip";
    r.ok(&[
        "run",
        "-d",
        "--name",
        name,
        "--health-cmd",
        "test -e /tmp/ok",
        "--health-interval",
        "1s",
        "--health-retries",
        "2",
        "busybox",
        "sh",
        "-c",
        "touch /tmp/ok; exec sleep 100",
    ]);
    wait_for(&r, name, "{{.State.Health.Status}}", "healthy");
    let status = r.ok(&["ps", "--format", "{{.Status}}"]);
    assert!(status.trim().ends_with("(healthy)"), "{status}");
    r.ok(&["exec", name, "rm", "/tmp/ok"]);
    wait_for(&r, name, "{{.State.Health.Status}}", "unhealthy");
    assert_eq!(inspect(&r, name, "{{.State.Health.FailingStreak}}"), "2");
    let status = r.ok(&["ps", "--format", "{{.Status}}"]);
    assert!(status.trim().ends_with("(unhealthy)"), "{status}");
    let log = inspect(&r, name, "{{json .State.Health.Log}}");
    let log: serde_json::Value = serde_json::from_str(&log).unwrap();
    let codes: Vec<i64> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["ExitCode"].as_i64().unwrap())
        .collect();
    assert!(codes.ends_with(&[0, 1, 1]), "{codes:?}");
    assert!(log[0]["Start"].as_str().unwrap().ends_with('Z'));
    r.ok(&["stop", "-t", "0", name]);
}

#[test]
fn healthcheck_run_exit_codes_and_words() {
    let r = busybox();
    let hc = ["--health-interval", "disable", "--health-retries", "1"];
    let run = |name: &str, cmd: &str| {
        let mut args = vec!["run", "-d", "--name", name, "--health-cmd", cmd];
        args.extend(hc);
        args.extend(["busybox", "sleep", "100"]);
        r.ok(&args);
    };
    run("health-pass", "true");
    run("health-fail", "echo out; echo err >&2; exit 2");
    assert_eq!(
        inspect(&r, "health-pass", "{{.State.Health.Status}}"),
        "starting"
    );
    assert_eq!(
        r.code(&["healthcheck", "run", "health-pass"]),
        (Some(0), String::new(), String::new())
    );
    assert_eq!(
        inspect(&r, "health-pass", "{{.State.Health.Status}}"),
        "healthy"
    );
    let (code, out, _) = r.code(&["healthcheck", "run", "health-fail"]);
    assert_eq!((code, out.as_str()), (Some(1), "unhealthy\n"));
    assert_eq!(
        inspect(
            &r,
            "health-fail",
            "{{range .State.Health.Log}}{{.ExitCode}} {{.Output}}{{end}}"
        ),
        "1 out\nerr"
    );
    r.ok(&[
        "run",
        "-d",
        "--name",
        "health-none",
        "busybox",
        "sleep",
        "100",
    ]);
    let id = inspect(&r, "health-none", "{{.Id}}");
    let (code, _, err) = r.code(&["healthcheck", "run", "health-none"]);
    assert_eq!(code, Some(125));
    assert_eq!(
        err.trim(),
        format!("Error: container {id} has no defined healthcheck")
    );
    r.ok(&["stop", "-t", "0", "health-pass"]);
    let id = inspect(&r, "health-pass", "{{.Id}}");
    let (code, _, err) = r.code(&["healthcheck", "run", "health-pass"]);
    assert_eq!(code, Some(125));
    assert_eq!(err.trim(), format!("Error: container {id} is not running"));
    let (code, _, err) = r.code(&["healthcheck", "run", "health-nosuch"]);
    assert_eq!(code, Some(125));
    assert!(
        err.contains("unable to look up health-nosuch to perform a health check"),
        "{err}"
    );
    r.ok(&["rm", "-f", "health-fail", "health-none"]);
}

#[test]
fn a_hanging_health_command_is_killed_at_its_timeout() {
    let r = busybox();
    let name = "health-hang";
    r.ok(&[
        "run",
        "-d",
        "--name",
        name,
        "--health-cmd",
        "sleep 1000",
        "--health-timeout",
        "1s",
        "--health-interval",
        "disable",
        "busybox",
        "sleep",
        "100",
    ]);
    let started = Instant::now();
    let (code, _, err) = r.code(&["healthcheck", "run", name]);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(code, Some(125));
    assert_eq!(
        err.trim(),
        "Error: healthcheck command exceeded timeout of 1s"
    );
    assert_eq!(
        inspect(&r, name, "{{range .State.Health.Log}}{{.ExitCode}}{{end}}"),
        "-1"
    );
    // The check's process is gone from the container.
    let ps = r.ok(&["exec", name, "ps", "-o", "args"]);
    assert!(!ps.contains("sleep 1000"), "{ps}");
    r.ok(&["stop", "-t", "0", name]);
}

#[test]
fn health_on_failure_kill_kills() {
    let r = busybox();
    let name = "health-kill";
    r.ok(&[
        "run",
        "-d",
        "--name",
        name,
        "--health-cmd",
        "false",
        "--health-interval",
        "1s",
        "--health-retries",
        "1",
        "--health-on-failure",
        "kill",
        "busybox",
        "sleep",
        "100",
    ]);
    assert_eq!(
        inspect(&r, name, "{{.Config.HealthcheckOnFailureAction}}"),
        "kill"
    );
    wait_for(
        &r,
        name,
        "{{.State.Status}} {{.State.ExitCode}}",
        "exited 137",
    );
    assert_eq!(inspect(&r, name, "{{.State.Health.Status}}"), "unhealthy");
}

#[test]
fn the_images_healthcheck_is_used_unless_refused() {
    let r = busybox();
    let ctx = r.env.path("ctx");
    std::fs::create_dir_all(&ctx).unwrap();
    std::fs::write(
        ctx.join("Containerfile"),
        "FROM busybox\nHEALTHCHECK --interval=2s --retries=4 CMD true\n",
    )
    .unwrap();
    r.ok(&["build", "-q", "-t", "health-img", ctx.to_str().unwrap()]);
    r.ok(&[
        "create",
        "--name",
        "health-img-c",
        "health-img",
        "sleep",
        "100",
    ]);
    assert_eq!(
        inspect(&r, "health-img-c", "{{json .Config.Healthcheck}}"),
        r#"{"Interval":2000000000,"Retries":4,"Test":["CMD-SHELL","true"],"Timeout":30000000000}"#
    );
    r.ok(&[
        "create",
        "--name",
        "health-img-n",
        "--no-healthcheck",
        "health-img",
        "true",
    ]);
    assert_eq!(inspect(&r, "health-img-n", "{{.State.Health.Status}}"), "");
    let (code, _, err) = r.code(&[
        "create",
        "--no-healthcheck",
        "--health-cmd",
        "true",
        "health-img",
        "true",
    ]);
    assert_eq!(code, Some(125));
    assert!(
        err.contains("cannot specify both --no-healthcheck and --health-cmd"),
        "{err}"
    );
}

#[test]
fn start_all_filters_on_the_restart_policy() {
    let r = busybox();
    r.ok(&[
        "create",
        "--name",
        "health-boot-a",
        "--restart",
        "always",
        "busybox",
        "sleep",
        "100",
    ]);
    r.ok(&[
        "create",
        "--name",
        "health-boot-n",
        "busybox",
        "sleep",
        "100",
    ]);
    r.ok(&["start", "--all", "--filter", "restart-policy=always"]);
    assert_eq!(inspect(&r, "health-boot-a", "{{.State.Status}}"), "running");
    assert_eq!(inspect(&r, "health-boot-n", "{{.State.Status}}"), "created");
    // Any of ps's filters: none has this label, so nothing starts.
    r.ok(&["start", "--all", "--filter", "label=x"]);
    assert_eq!(inspect(&r, "health-boot-n", "{{.State.Status}}"), "created");
    let (code, _, err) = r.code(&["start", "--all", "--filter", "colour=red"]);
    assert_eq!(code, Some(125));
    assert!(err.contains("colour is an invalid filter"), "{err}");
    r.ok(&["stop", "-t", "0", "health-boot-a"]);
}

#[test]
fn generate_systemd_writes_podmans_unit_with_berths_binary() {
    let r = busybox();
    let name = "health-unit";
    r.ok(&[
        "create",
        "--name",
        name,
        "--restart",
        "always",
        "-e",
        "A=b c",
        "busybox",
        "sh",
        "-c",
        "echo $HOME",
    ]);
    let berth = env!("CARGO_BIN_EXE_berth");
    let globals = format!(
        "{berth} --root {} --runroot {}",
        r.env.root.display(),
        r.runroot.display()
    );
    let unit = r.ok(&["generate", "systemd", "--name", "--time", "5", name]);
    assert!(
        unit.starts_with(&format!("# container-{name}.service\n")),
        "{unit}"
    );
    for line in [
        format!("ExecStart={globals} start {name}"),
        format!("ExecStop={globals} stop -t 5 {name}"),
        "TimeoutStopSec=65".to_string(),
        "Restart=on-failure".to_string(),
        "Type=forking".to_string(),
        "WantedBy=default.target".to_string(),
    ] {
        assert!(unit.lines().any(|l| l == line), "{line} in\n{unit}");
    }
    // --new: the create command again, its --restart left to systemd; --files: a file.
    let mut cmd = r.cmd(&["generate", "systemd", "--new", "--files", name]);
    let out = cmd.current_dir(r.env.dir.path()).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let path = r.env.dir.path().join(format!("container-{name}.service"));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        path.to_str().unwrap()
    );
    let unit = std::fs::read_to_string(&path).unwrap();
    let start = format!(
        "ExecStart={globals} run -d --rm --name {name} -e \"A=b c\" busybox sh -c \"echo $$HOME\""
    );
    assert!(unit.lines().any(|l| l == start), "{start} in\n{unit}");
    assert!(!unit.contains("--restart"), "{unit}");
    let (code, _, err) = r.code(&["generate", "systemd", "--restart-policy", "bogus", name]);
    assert_eq!(code, Some(125));
    assert!(err.contains("bogus is not a valid restart policy"), "{err}");
    if std::path::Path::new("/usr/bin/systemd-analyze").exists() {
        let out = std::process::Command::new("systemd-analyze")
            .arg("verify")
            .arg(&path)
            .output()
            .unwrap();
        assert!(out.status.success(), "systemd-analyze verify: {out:?}");
    }
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn init_makes_the_container_and_start_starts_it() {
    let r = busybox();
    let name = "health-init";
    r.ok(&[
        "create",
        "--name",
        name,
        "busybox",
        "sh",
        "-c",
        "echo started; sleep 100",
    ]);
    assert_eq!(r.ok(&["init", name]).trim(), name);
    assert_eq!(inspect(&r, name, "{{.State.Status}}"), "initialized");
    assert_ne!(inspect(&r, name, "{{.State.Pid}}"), "0");
    let status = r.ok(&["ps", "-a", "--format", "{{.Names}} {{.Status}}"]);
    assert_eq!(status.trim(), format!("{name} Initialized"));
    // Made, not started: its command has not run.
    assert_eq!(r.ok(&["logs", name]), "");
    // init again: nothing to do.
    r.ok(&["init", name]);
    r.ok(&["start", name]);
    assert_eq!(inspect(&r, name, "{{.State.Status}}"), "running");
    wait_until("its output", || r.ok(&["logs", name]) == "started\n");
    r.ok(&["stop", "-t", "0", name]);
    // A stop of an initialized container leaves it created.
    let other = "health-init2";
    r.ok(&["create", "--name", other, "busybox", "true"]);
    r.ok(&["init", other]);
    r.ok(&["stop", other]);
    assert_eq!(inspect(&r, other, "{{.State.Status}}"), "created");
    r.ok(&["init", other]);
    r.ok(&["rm", "-f", other]);
}
