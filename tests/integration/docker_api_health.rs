//! The docker CLI's health check and privileged exec through the API (issue 16): `run
//! --health-*` (Docker's `Config.Healthcheck`, nanoseconds) becomes berth's health check,
//! whose results are `.State.Health` as Docker reports them (`starting`, `unhealthy` after
//! the retries, `healthy` once the check passes); `--no-healthcheck` and a duration Docker
//! refuses; `exec --privileged` gives the exec'd process every capability of the service's
//! bounding set (as Podman's), a non-root user only in its bounding set.

use crate::docker_api::Service;
use crate::run::wait_until;

fn health(s: &Service, name: &str) -> String {
    s.ok(&["inspect", "--format", "{{.State.Health.Status}}", name])
        .trim()
        .to_string()
}

#[test]
fn docker_healthcheck_reaches_state_health() {
    let s = Service::start();
    s.ok(&[
        "run",
        "-d",
        "--name",
        "apipod-health",
        "--health-cmd",
        "test -f /tmp/ok",
        "--health-interval",
        "1s",
        "--health-retries",
        "2",
        "--health-start-period",
        "1ms",
        "busybox",
        "sleep",
        "300",
    ]);
    let config = s.ok(&[
        "inspect",
        "--format",
        "{{json .Config.Healthcheck.Test}} {{.Config.Healthcheck.Interval}} \
         {{.Config.Healthcheck.Timeout}} {{.Config.Healthcheck.Retries}}",
        "apipod-health",
    ]);
    assert_eq!(config.trim(), r#"["CMD-SHELL","test -f /tmp/ok"] 1s 30s 2"#);
    // Two failures in a row: unhealthy; then the check passes: healthy.
    wait_until("unhealthy", || health(&s, "apipod-health") == "unhealthy");
    let streak = s.ok(&[
        "inspect",
        "--format",
        "{{.State.Health.FailingStreak}} {{(index .State.Health.Log 0).ExitCode}}",
        "apipod-health",
    ]);
    let fields: Vec<&str> = streak.split_whitespace().collect();
    assert!(fields[0].parse::<u32>().unwrap() >= 2, "{streak}");
    assert_eq!(fields[1], "1", "{streak}");
    s.ok(&["exec", "apipod-health", "touch", "/tmp/ok"]);
    wait_until("healthy", || health(&s, "apipod-health") == "healthy");
    // `docker ps` shows it after the state, as Docker's does; Podman's client too.
    let ps = s.ok(&[
        "ps",
        "--filter",
        "name=apipod-health",
        "--format",
        "{{.Status}}",
    ]);
    assert!(
        ps.trim().starts_with("Up ") && ps.trim().ends_with(" (healthy)"),
        "{ps}"
    );
    let ps = crate::podman_remote::ok(&s, &["ps", "--format", "{{.Status}}"]);
    assert!(ps.trim().ends_with(" (healthy)"), "{ps}");

    // No check: no `.State.Health` (Docker's template then fails on the nil map).
    s.ok(&[
        "run",
        "-d",
        "--name",
        "apipod-nohealth",
        "--no-healthcheck",
        "busybox",
        "sleep",
        "300",
    ]);
    let out = s.ok(&[
        "inspect",
        "--format",
        "{{json .State.Health}}",
        "apipod-nohealth",
    ]);
    assert_eq!(out.trim(), "null");
    // Docker's minimum duration, in Docker's words.
    let out = s.docker(&[
        "run",
        "--rm",
        "--health-cmd",
        "true",
        "--health-interval",
        "500us",
        "busybox",
        "true",
    ]);
    assert_eq!(out.status.code(), Some(125), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("Interval in Healthcheck cannot be less than 1ms"),
        "{err}"
    );
    s.ok(&["rm", "-f", "apipod-health", "apipod-nohealth"]);
    s.r.assert_no_leftovers();
}

/// `CapXxx:` of `/proc/self/status` in `text`.
fn cap(text: &str, field: &str) -> u64 {
    let v = text
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_else(|| panic!("no {field} in {text}"));
    u64::from_str_radix(v.trim(), 16).unwrap()
}

#[test]
fn docker_exec_privileged_gets_every_capability() {
    let s = Service::start();
    s.ok(&[
        "run",
        "-d",
        "--name",
        "apipod-priv",
        "busybox",
        "sleep",
        "300",
    ]);
    let own = std::fs::read_to_string("/proc/self/status").unwrap();
    let all = cap(&own, "CapBnd");
    let plain = s.ok(&["exec", "apipod-priv", "cat", "/proc/self/status"]);
    // Podman's 11 default capabilities.
    assert_eq!(cap(&plain, "CapEff").count_ones(), 11, "{plain}");
    let privileged = s.ok(&[
        "exec",
        "--privileged",
        "apipod-priv",
        "cat",
        "/proc/self/status",
    ]);
    for field in ["CapBnd", "CapEff", "CapPrm"] {
        assert_eq!(cap(&privileged, field), all, "{field}: {privileged}");
    }
    assert_eq!(cap(&privileged, "CapInh"), 0);
    assert_eq!(cap(&privileged, "CapAmb"), 0);
    // A non-root user: in its bounding set only (as Podman's).
    let user = s.ok(&[
        "exec",
        "--privileged",
        "-u",
        "1000",
        "apipod-priv",
        "cat",
        "/proc/self/status",
    ]);
    assert_eq!(cap(&user, "CapBnd"), all, "{user}");
    assert_eq!(cap(&user, "CapEff"), 0, "{user}");
    // `berth exec --privileged` is the same call.
    let cli = s.r.ok(&[
        "exec",
        "--privileged",
        "apipod-priv",
        "cat",
        "/proc/self/status",
    ]);
    assert_eq!(cap(&cli, "CapEff"), all, "{cli}");
    // The container itself keeps its own set: a later plain exec is as before.
    let again = s.ok(&["exec", "apipod-priv", "cat", "/proc/self/status"]);
    assert_eq!(cap(&again, "CapEff"), cap(&plain, "CapEff"));
    s.ok(&["rm", "-f", "apipod-priv"]);
    s.r.assert_no_leftovers();
}
