//! Two `run --name x` at once (issue 19 item 9): exactly one container is made; the other
//! command fails with Podman's "name is in use" error and leaves nothing behind (no record,
//! no snapshot, a clean `system check`).

use std::process::Stdio;

use crate::run::busybox;

#[test]
fn two_runs_with_one_name_at_once_make_one_container() {
    let r = busybox();
    let spawn = || {
        r.cmd(&["run", "-d", "--name", "h9-dup", "busybox", "sleep", "60"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let outs = [a.wait_with_output().unwrap(), b.wait_with_output().unwrap()];
    let won: Vec<_> = outs.iter().filter(|o| o.status.success()).collect();
    assert_eq!(won.len(), 1, "{outs:?}");
    let lost = outs.iter().find(|o| !o.status.success()).unwrap();
    let err = String::from_utf8_lossy(&lost.stderr);
    assert_eq!(lost.status.code(), Some(125), "{err}");
    assert!(
        err.contains("the container name \"h9-dup\" is already in use by")
            && err.contains("that name is already in use"),
        "{err}"
    );
    let id = String::from_utf8_lossy(&won[0].stdout).trim().to_string();
    assert_eq!(r.ok(&["ps", "-aq", "--no-trunc"]).trim(), id);
    let snapshots = std::fs::read_dir(r.env.root.join("snapshots"))
        .unwrap()
        .count();
    assert_eq!(snapshots, 1, "the loser's snapshot is left");
    r.env.assert_check_clean();
    r.ok(&["rm", "-f", "h9-dup"]);
    r.assert_no_leftovers();
}
