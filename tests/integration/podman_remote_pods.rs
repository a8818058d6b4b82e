//! libpod's pod endpoints (issue 16 item 4) driven by the real `podman --remote` (Debian's
//! 4.3.1), as root with netavark: `pod create` on a network of its own with a published port
//! and a label, `pod ps`, `run -d --pod` (the member's server answers through the pod's port
//! on 127.0.0.1), `pod inspect`, `stop`, `start`, `pause`, `unpause`, `restart`, `kill`,
//! `prune`, `rm -f`, and a missing pod; berth's CLI sees the same pods. Pods are removed on
//! drop whatever the test did.

use crate::docker_api::Service;
use crate::podman_remote::{ok, podman};
use crate::run_network::{fetch, free_port, wired, TestNetwork};

/// Removes every pod of the service's store (with its containers) when dropped.
struct PodsGone<'a>(&'a Service);

impl Drop for PodsGone<'_> {
    fn drop(&mut self) {
        let _ = self.0.r.cmd(&["pod", "rm", "-f", "-a"]).output();
    }
}

#[test]
fn podman_remote_pod_lifecycle() {
    if !wired() {
        return;
    }
    let s = Service::start();
    // A network of its own: tests running at once must not share the default one's bridge.
    let net = TestNetwork::create(&s.r, "apipod-pods", &[]);
    let _gone = PodsGone(&s);
    let port = free_port();
    let publish = format!("127.0.0.1:{port}:80");
    let id = ok(
        &s,
        &[
            "pod",
            "create",
            "--name",
            "apipod-p1",
            "--network",
            &net.name,
            "-p",
            &publish,
            "--label",
            "k=v",
        ],
    );
    assert_eq!(id.trim().len(), 64, "{id}");
    let ps = ok(
        &s,
        &[
            "pod",
            "ps",
            "--format",
            "{{.Name}} {{.Status}} {{.NumberOfContainers}} {{.Labels}}",
        ],
    );
    assert_eq!(ps.trim(), "apipod-p1 Created 1 map[k:v]");
    // The CLI sees the pod the API made.
    assert!(s.r.ok(&["pod", "ps"]).contains("apipod-p1"));

    ok(
        &s,
        &[
            "run",
            "-d",
            "--pod",
            "apipod-p1",
            "--name",
            "apipod-web",
            "busybox",
            "sh",
            "-c",
            // A member that ends on SIGTERM (httpd as pid 1 would wait out the timeouts).
            "mkdir -p /www && echo pod-web > /www/index.html && httpd -p 80 -h /www && \
             trap 'exit 0' TERM && while :; do sleep 0.1; done",
        ],
    );
    assert_eq!(fetch(&format!("http://127.0.0.1:{port}/")), "pod-web\n");
    let inspect = ok(
        &s,
        &[
            "pod",
            "inspect",
            "--format",
            "{{.State}} {{.NumContainers}} {{.Name}}",
            "apipod-p1",
        ],
    );
    assert_eq!(inspect.trim(), "Running 2 apipod-p1");

    assert_eq!(ok(&s, &["pod", "stop", "-t", "1", "apipod-p1"]), id);
    let status = |s: &Service| ok(s, &["pod", "ps", "--format", "{{.Status}}"]);
    assert_eq!(status(&s).trim(), "Exited");
    assert_eq!(ok(&s, &["pod", "start", "apipod-p1"]), id);
    assert_eq!(status(&s).trim(), "Running");
    assert_eq!(fetch(&format!("http://127.0.0.1:{port}/")), "pod-web\n");

    assert_eq!(ok(&s, &["pod", "pause", "apipod-p1"]), id);
    assert_eq!(status(&s).trim(), "Paused");
    assert_eq!(ok(&s, &["pod", "unpause", "apipod-p1"]), id);
    assert_eq!(status(&s).trim(), "Running");
    assert_eq!(ok(&s, &["pod", "restart", "apipod-p1"]), id);
    assert_eq!(status(&s).trim(), "Running");
    assert_eq!(fetch(&format!("http://127.0.0.1:{port}/")), "pod-web\n");
    assert_eq!(ok(&s, &["pod", "kill", "apipod-p1"]), id);
    // The signal is sent; the exits are recorded as the containers' monitors see them.
    crate::run::wait_until("the killed pod exited", || status(&s).trim() == "Exited");
    // A second pod, running, stays through `prune`; the killed one goes.
    let id2 = ok(&s, &["pod", "create", "--name", "apipod-p2"]);
    ok(&s, &["pod", "start", "apipod-p2"]);
    let pruned = ok(&s, &["pod", "prune", "-f"]);
    assert_eq!(pruned.trim(), id.trim(), "only the killed pod: {pruned}");
    assert_eq!(
        ok(&s, &["pod", "ps", "--format", "{{.Name}}"]).trim(),
        "apipod-p2"
    );
    assert_eq!(ok(&s, &["pod", "rm", "-f", "apipod-p2"]), id2);
    assert_eq!(ok(&s, &["pod", "ps", "-q"]).trim(), "");
    assert_eq!(s.r.ok(&["ps", "-aq"]).trim(), "");
    let out = podman(&s, &["pod", "inspect", "apipod-p2"]);
    assert_eq!(out.status.code(), Some(125), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no such pod"),
        "{out:?}"
    );
    s.r.assert_no_leftovers();
}
