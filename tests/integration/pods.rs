//! Pods (issue 17) and namespace sharing, as root with the real netavark: a pod with a web
//! container (busybox httpd) and a client; the client reaches the web container on
//! 127.0.0.1 inside the pod; the pod's published port answers curl on 127.0.0.1; the pod's
//! state follows its containers; `pod rm -f` leaves no container, namespace, firewall rule or
//! infra process. Bad input: a pod name that exists, `--pod` of a missing pod, `-p` on a
//! member, removing the infra container. `--pid/--ipc/--uts container:` and `host` without
//! pods. Traffic only to 127.0.0.1 and inside the pod's own namespace.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::run::{busybox, wait_until, RunEnv};
use crate::run_network::{
    assert_no_network_leak, exec_until, fetch, free_port, host_says, unique, wired, TestNetwork,
};

/// Removes every pod of the store (forced) when dropped, before the store's containers go.
pub(crate) struct Pods<'a>(pub(crate) &'a RunEnv);

impl Drop for Pods<'_> {
    fn drop(&mut self) {
        let _ = self.0.run(&["pod", "rm", "-f", "-a"]);
    }
}

/// The `pod ps` row of `pod` as its columns (split at runs of 2+ spaces).
fn ps_row(r: &RunEnv, pod: &str) -> Vec<String> {
    let out = r.ok(&["pod", "ps"]);
    let cols = |l: &str| -> Vec<String> {
        l.split("  ")
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(String::from)
            .collect()
    };
    let mut lines = out.lines();
    assert_eq!(
        cols(lines.next().unwrap()),
        [
            "POD ID",
            "NAME",
            "STATUS",
            "CREATED",
            "INFRA ID",
            "# OF CONTAINERS"
        ],
        "{out}"
    );
    lines
        .map(cols)
        .find(|c| c.get(1).map(String::as_str) == Some(pod))
        .unwrap_or_else(|| panic!("no row of {pod}: {out}"))
}

fn pod_status(r: &RunEnv, pod: &str) -> String {
    r.ok(&[
        "pod",
        "ps",
        "--filter",
        &format!("name={pod}"),
        "--format",
        "{{.Status}}",
    ])
    .trim()
    .to_string()
}

#[test]
fn pod_members_share_localhost_and_the_published_port() {
    if !wired() {
        return;
    }
    let r = busybox();
    let net = TestNetwork::create(&r, "pod", &[]);
    let _pods = Pods(&r);
    let pod = unique("pods-web");
    let port = free_port();
    let publish = format!("127.0.0.1:{port}:80");
    let pod_id = r
        .ok(&[
            "pod",
            "create",
            "--name",
            &pod,
            "--network",
            &net.name,
            "-p",
            &publish,
        ])
        .trim()
        .to_string();
    assert_eq!(pod_id.len(), 64, "{pod_id}");
    r.ok(&["pod", "exists", &pod]);
    let row = ps_row(&r, &pod);
    assert_eq!(row[0], pod_id[..12]);
    assert_eq!(row[2], "Created");
    assert_eq!(row[5], "1");
    // The infra image is made locally from catatonit, never pulled.
    let images = r.ok(&["images", "--format", "{{.Repository}}"]);
    assert!(images.contains("localhost/berth-pause"), "{images}");

    let script = "mkdir -p /www && echo from-the-pod > /www/index.html && \
                  exec httpd -f -p 80 -h /www";
    r.ok(&[
        "run",
        "-d",
        "--pod",
        &pod,
        "--name",
        &unique("pods-httpd"),
        "busybox",
        "sh",
        "-c",
        script,
    ]);
    let client = unique("pods-client");
    r.ok(&[
        "run", "-d", "--pod", &pod, "--name", &client, "busybox", "sleep", "300",
    ]);
    // The client reaches the web container on the pod's localhost.
    assert_eq!(
        exec_until(&r, &client, "wget -qO- http://127.0.0.1:80/"),
        "from-the-pod\n"
    );
    // The pod's published port answers on the host.
    assert_eq!(
        fetch(&format!("http://127.0.0.1:{port}/")),
        "from-the-pod\n"
    );
    // Members share the pod's host name (its name by default) and its IPC namespace.
    assert_eq!(r.ok(&["exec", &client, "hostname"]).trim(), pod);
    let row = ps_row(&r, &pod);
    assert_eq!((row[2].as_str(), row[5].as_str()), ("Running", "3"));

    let v: Value = serde_json::from_str(&r.ok(&["pod", "inspect", &pod])).unwrap();
    assert_eq!(v["Id"], pod_id.as_str());
    assert_eq!(v["State"], "Running");
    assert_eq!(v["NumContainers"], 3);
    assert_eq!(
        v["SharedNamespaces"],
        serde_json::json!(["ipc", "net", "uts"])
    );
    assert_eq!(
        v["InfraConfig"]["PortBindings"]["80/tcp"][0]["HostPort"],
        port.to_string().as_str()
    );
    let infra = v["InfraContainerID"].as_str().unwrap().to_string();
    // A member names its pod and the infra container's namespaces, as Podman's inspect.
    let m: Value = serde_json::from_str(&r.ok(&["inspect", &client])).unwrap();
    assert_eq!(m[0]["Pod"], pod_id.as_str());
    let joined = format!("container:{infra}");
    assert_eq!(m[0]["HostConfig"]["IpcMode"], joined.as_str());
    assert_eq!(m[0]["HostConfig"]["UTSMode"], joined.as_str());
    assert_eq!(m[0]["HostConfig"]["PidMode"], "private");
    let infra_pid: Value = serde_json::from_str(&r.ok(&["inspect", &infra])).unwrap();
    let infra_pid = infra_pid[0]["State"]["Pid"].as_u64().unwrap();
    assert!(infra_pid > 0);
    let comm = std::fs::read_to_string(format!("/proc/{infra_pid}/comm")).unwrap();
    assert_eq!(comm.trim(), "catatonit");

    // The infra container goes only with its pod.
    let (code, _, err) = r.code(&["rm", "-f", &infra]);
    assert_eq!(code, Some(125), "{err}");
    assert!(
        err.contains("is the infra container of pod") && err.contains("without removing the pod"),
        "{err}"
    );
    // The state follows the containers: one stopped → Degraded; all → Exited.
    r.ok(&["stop", "-t", "0", &client]);
    assert_eq!(pod_status(&r, &pod), "Degraded");
    r.ok(&["pod", "stop", "-t", "0", &pod]);
    assert_eq!(pod_status(&r, &pod), "Exited");
    r.ok(&["pod", "start", &pod]);
    assert_eq!(pod_status(&r, &pod), "Running");
    let infra_pid: Value = serde_json::from_str(&r.ok(&["inspect", &infra])).unwrap();
    let infra_pid = infra_pid[0]["State"]["Pid"].as_u64().unwrap();
    assert_eq!(
        fetch(&format!("http://127.0.0.1:{port}/")),
        "from-the-pod\n"
    );

    // Not removed while running, without -f (Podman's words, exit 125).
    let (code, _, err) = r.code(&["pod", "rm", &pod]);
    assert_eq!(code, Some(125), "{err}");
    assert!(err.contains("cannot be removed without force"), "{err}");
    assert_eq!(r.ok(&["pod", "rm", "-f", &pod]).trim(), pod_id);
    // Nothing left: containers, pod, namespace, rules, the infra process.
    assert_eq!(r.ok(&["ps", "-aq"]).trim(), "");
    assert_eq!(r.ok(&["pod", "ps", "-q"]).trim(), "");
    assert_eq!(r.code(&["pod", "exists", &pod]).0, Some(1));
    assert_no_network_leak(&infra, &net.subnet, None);
    let port_text = format!("{port}");
    let rules = host_says("iptables-save", &[]);
    assert!(
        !rules.contains(&port_text),
        "iptables rule of {port} left:\n{rules}"
    );
    if Path::new("/usr/sbin/nft").exists() {
        let nft = host_says("nft", &["list", "ruleset"]);
        assert!(
            !nft.contains(&format!("dport {port}")),
            "nft rule of {port} left"
        );
    }
    wait_until("the infra process to end", || {
        !Path::new(&format!("/proc/{infra_pid}")).exists()
            || std::fs::read_to_string(format!("/proc/{infra_pid}/comm"))
                .is_ok_and(|c| c.trim() != "catatonit")
    });
    std::net::TcpListener::bind(("127.0.0.1", port)).expect("port still held");
    r.assert_no_leftovers();
    drop(net);
}

#[test]
fn pod_bad_input_in_podmans_words() {
    if !wired() {
        return;
    }
    let r = busybox();
    let _pods = Pods(&r);
    let pod = unique("pods-bad");
    r.ok(&["pod", "create", "--name", &pod]);
    let (code, _, err) = r.code(&["pod", "create", "--name", &pod]);
    assert_eq!(code, Some(125), "{err}");
    assert!(
        err.contains(&format!("name \"{pod}\" is in use: pod already exists")),
        "{err}"
    );
    let (code, _, err) = r.code(&["create", "--pod", "pods-missing", "busybox", "true"]);
    assert_eq!(code, Some(125), "{err}");
    assert!(
        err.contains("no pod with name or ID pods-missing found: no such pod"),
        "{err}"
    );
    let (code, _, err) = r.code(&["create", "--pod", &pod, "-p", "8080:80", "busybox", "true"]);
    assert_eq!(code, Some(125), "{err}");
    assert!(
        err.contains("published or exposed ports must be defined when the pod is created"),
        "{err}"
    );
    let (code, _, err) = r.code(&[
        "create",
        "--pod",
        &pod,
        "--hostname",
        "h",
        "busybox",
        "true",
    ]);
    assert_eq!(code, Some(125), "{err}");
    assert!(
        err.contains("cannot set hostname when joining the pod UTS namespace"),
        "{err}"
    );
    assert_eq!(r.code(&["pod", "exists", "pods-missing"]).0, Some(1));
    let (code, _, err) = r.code(&["pod", "rm", "pods-missing"]);
    assert_eq!(code, Some(1), "{err}");
    // Nothing was made by the refused creates: the infra container only.
    assert_eq!(r.ok(&["ps", "-aq"]).lines().count(), 1);
    // `--pod new:NAME` makes the pod; a member's -p becomes the pod's.
    let made = unique("pods-new");
    let c = r
        .ok(&[
            "create",
            "--pod",
            &format!("new:{made}"),
            "-p",
            "127.0.0.1::80",
            "busybox",
            "true",
        ])
        .trim()
        .to_string();
    let v: Value = serde_json::from_str(&r.ok(&["pod", "inspect", &made])).unwrap();
    assert_eq!(v["NumContainers"], 2);
    assert!(v["InfraConfig"]["PortBindings"]["80/tcp"].is_array(), "{v}");
    assert_eq!(r.ok(&["pod", "rm", &made]).len(), 65);
    assert!(r.code(&["inspect", &c]).0 != Some(0));
    r.ok(&["pod", "rm", &pod]);
    assert_eq!(r.ok(&["pod", "ps", "-q"]).trim(), "");
    r.assert_no_leftovers();
}

#[test]
fn namespaces_shared_with_a_container_or_the_host() {
    if !wired() {
        return;
    }
    let r = busybox();
    let a = unique("pods-ns-a");
    r.ok(&[
        "run",
        "-d",
        "--name",
        &a,
        "--network",
        "none",
        "--hostname",
        "holder",
        "busybox",
        "sleep",
        "300",
    ]);
    let b = unique("pods-ns-b");
    r.ok(&[
        "run",
        "-d",
        "--name",
        &b,
        "--network",
        "none",
        "--pid",
        &format!("container:{a}"),
        "--uts",
        &format!("container:{a}"),
        "--ipc",
        &format!("container:{a}"),
        "busybox",
        "sleep",
        "301",
    ]);
    // B sees A's processes and has its host name.
    let ps = r.ok(&["exec", &b, "ps", "-o", "args"]);
    assert!(ps.contains("sleep 300") && ps.contains("sleep 301"), "{ps}");
    assert_eq!(r.ok(&["exec", &b, "hostname"]).trim(), "holder");
    let v: Value = serde_json::from_str(&r.ok(&["inspect", &a])).unwrap();
    let a_id = v[0]["Id"].as_str().unwrap().to_string();
    // A cannot be removed while B uses its namespaces, forced or not (Podman's words).
    let (code, _, err) = r.code(&["rm", "-f", &a]);
    assert_eq!(code, Some(125), "{err}");
    assert!(
        err.contains(&format!(
            "container {a_id} has dependent containers which must be removed before it"
        )),
        "{err}"
    );
    r.ok(&["rm", "-f", &b]);
    r.ok(&["rm", "-f", &a]);
    // A container that does not exist, and a mode that does not.
    let (code, _, err) = r.code(&["create", "--pid", "container:pods-nope", "busybox", "true"]);
    assert_eq!(code, Some(125), "{err}");
    assert!(
        err.contains("looking up container to share pid namespace with"),
        "{err}"
    );
    let (code, _, err) = r.code(&["create", "--ipc", "sideways", "busybox", "true"]);
    assert_eq!(code, Some(125), "{err}");
    assert!(
        err.contains("unrecognized namespace mode sideways passed"),
        "{err}"
    );
    // The host's PID and UTS namespaces.
    let host_init = std::fs::read_to_string("/proc/1/comm").unwrap();
    let seen = r.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--pid",
        "host",
        "busybox",
        "cat",
        "/proc/1/comm",
    ]);
    assert_eq!(seen, host_init);
    let host_name = String::from_utf8(Command::new("hostname").output().unwrap().stdout).unwrap();
    let seen = r.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--uts",
        "host",
        "busybox",
        "hostname",
    ]);
    assert_eq!(seen.trim(), host_name.trim());
    r.assert_no_leftovers();
}
