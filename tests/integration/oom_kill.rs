//! The kernel's OOM killer in a container with `--memory` (issue 19 item 9): as Podman 4.3,
//! the container's exit code is 137 and `inspect` says `OOMKilled: true`; a container that
//! stays under its limit says `false`.

use crate::run::busybox;

#[test]
fn a_container_over_its_memory_limit_is_oom_killed() {
    let r = busybox();
    // dd allocates a buffer of `bs` bytes and fills it: 64 MiB in a 16 MiB container.
    let (code, _, err) = r.code(&[
        "run",
        "--name",
        "h9-oom",
        "--memory",
        "16m",
        "busybox",
        "dd",
        "if=/dev/zero",
        "of=/dev/null",
        "bs=64M",
        "count=1",
    ]);
    assert_eq!(code, Some(137), "{err}");
    let state = |name: &str| {
        r.ok(&[
            "inspect",
            "--format",
            "{{.State.OOMKilled}} {{.State.ExitCode}}",
            name,
        ])
    };
    assert_eq!(state("h9-oom").trim(), "true 137");
    r.ok(&[
        "run", "--name", "h9-fits", "--memory", "16m", "busybox", "true",
    ]);
    assert_eq!(state("h9-fits").trim(), "false 0");
    r.ok(&["rm", "h9-oom", "h9-fits"]);
    r.assert_no_leftovers();
}
