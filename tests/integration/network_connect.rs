//! A container's networks changed after create, as root with the real netavark and
//! aardvark-dns: `network connect`/`disconnect` of a running container (it resolves another
//! container by name once on its network, and no longer after), of a created one (its next
//! start joins), `network reload` after the container's own firewall rules were deleted, and
//! a name aardvark-dns could not serve refused before anything is made, and `ping` without
//! CAP_NET_RAW (Podman's `net.ipv4.ping_group_range`). Traffic goes only to
//! 127.0.0.1 and inside the test's own networks.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::run::busybox;
use crate::run_network::{
    assert_no_network_leak, exec_until, fetch, free_port, host_says, httpd, sleeper, wired,
    TestNetwork,
};

fn networks_of(r: &crate::run::RunEnv, c: &str) -> Value {
    let v: Value = serde_json::from_str(&r.ok(&["inspect", c])).unwrap();
    v[0]["NetworkSettings"]["Networks"].clone()
}

/// The first three octets of a /24 (`10.90.3.`).
fn prefix(subnet: &str) -> String {
    format!("{}.", subnet.rsplit_once('.').unwrap().0)
}

#[test]
fn connect_and_disconnect_a_running_container() {
    if !wired() {
        return;
    }
    let r = busybox();
    let a = TestNetwork::create(&r, "nmc-a", &[]);
    let b = TestNetwork::create(&r, "nmc-b", &[]);
    let web = httpd(&r, "web", &["--network", &a.name], "by-connect");
    let client = sleeper(&r, "client", &b.name);
    let addrs = r.ok(&["exec", "client", "ip", "-o", "-4", "addr"]);
    assert!(!addrs.contains(&prefix(&a.subnet)), "{addrs}");

    r.ok(&["network", "connect", "--alias", "cl2", &a.name, "client"]);
    // On the network at once: an address there, the name of the server resolved.
    let addrs = r.ok(&["exec", "client", "ip", "-o", "-4", "addr"]);
    assert!(addrs.contains(&prefix(&a.subnet)), "{addrs}");
    assert!(addrs.contains(" eth1 "), "{addrs}");
    assert_eq!(
        exec_until(&r, "client", "wget -qO- http://web/"),
        "by-connect\n"
    );
    // The server resolves the client by its new alias (aardvark-dns of network a).
    let answer = exec_until(&r, "web", "nslookup cl2");
    assert!(answer.contains(&prefix(&a.subnet)), "{answer}");
    // inspect, ps and the container's /etc files say so, as Podman's do.
    let nets = networks_of(&r, "client");
    assert!(
        nets.get(&a.name).is_some() && nets.get(&b.name).is_some(),
        "{nets}"
    );
    let ip_a = nets[&a.name]["IPAddress"].as_str().unwrap().to_string();
    let ps = r.ok(&["ps", "--format", "{{.Names}} {{.Networks}}"]);
    let line = ps.lines().find(|l| l.starts_with("client ")).unwrap();
    assert!(line.contains(&a.name) && line.contains(&b.name), "{ps}");
    let hosts = r.ok(&["exec", "client", "cat", "/etc/hosts"]);
    assert!(hosts.contains(&format!("{ip_a}\t")), "{hosts}");
    let resolv = r.ok(&["exec", "client", "cat", "/etc/resolv.conf"]);
    let first = resolv
        .lines()
        .find(|l| l.starts_with("nameserver"))
        .unwrap();
    assert!(first.contains(&prefix(&a.subnet)), "{resolv}");
    // Twice: Podman's error.
    let (code, _, err) = r.code(&["network", "connect", &a.name, "client"]);
    assert_eq!(code, Some(125), "{err}");
    assert!(err.contains("is already connected to network"), "{err}");

    r.ok(&["network", "disconnect", &a.name, "client"]);
    let addrs = r.ok(&["exec", "client", "ip", "-o", "-4", "addr"]);
    assert!(!addrs.contains(&prefix(&a.subnet)), "{addrs}");
    assert!(networks_of(&r, "client").get(&a.name).is_none());
    let hosts = r.ok(&["exec", "client", "cat", "/etc/hosts"]);
    assert!(!hosts.contains(&format!("{ip_a}\t")), "{hosts}");
    let resolv = r.ok(&["exec", "client", "cat", "/etc/resolv.conf"]);
    assert!(!resolv.contains(&prefix(&a.subnet)), "{resolv}");
    let aardvark = std::fs::read_to_string(
        Path::new("/run/berth/networks/netavark/aardvark-dns").join(&a.name),
    )
    .unwrap_or_default();
    assert!(!aardvark.contains(&client), "{aardvark}");
    let (code, _, err) = r.code(&["network", "disconnect", &a.name, "client"]);
    assert_eq!(code, Some(125), "{err}");
    assert_eq!(
        err.trim(),
        format!(
            "Error: container client is not connected to network {}",
            a.name
        )
    );
    let (code, _, err) = r.code(&["network", "connect", "nm-no-such-net", "client"]);
    assert_eq!(code, Some(125), "{err}");
    assert!(err.contains("network not found"), "{err}");

    r.ok(&["rm", "-f", "web", "client"]);
    assert_no_network_leak(&web, &a.subnet, Some(&a.bridge));
    assert_no_network_leak(&client, &b.subnet, Some(&b.bridge));
    // The client's address on a was given back with the disconnect, its rules went.
    assert_no_network_leak(&client, &a.subnet, None);
}

#[test]
fn connect_a_created_container_joins_at_start() {
    if !wired() {
        return;
    }
    let r = busybox();
    let a = TestNetwork::create(&r, "nmc-c", &[]);
    let b = TestNetwork::create(&r, "nmc-d", &[]);
    r.ok(&[
        "create",
        "--name",
        "later",
        "--network",
        &b.name,
        "busybox",
        "sleep",
        "300",
    ]);
    r.ok(&["network", "connect", &a.name, "later"]);
    r.ok(&["start", "later"]);
    let addrs = r.ok(&["exec", "later", "ip", "-o", "-4", "addr"]);
    assert!(addrs.contains(&prefix(&a.subnet)), "{addrs}");
    assert!(addrs.contains(&prefix(&b.subnet)), "{addrs}");
    let id = r
        .ok(&["inspect", "--format", "{{.Id}}", "later"])
        .trim()
        .to_string();
    // Off both: only lo, now and after a restart.
    r.ok(&["network", "disconnect", &a.name, "later"]);
    r.ok(&["network", "disconnect", &b.name, "later"]);
    let links = r.ok(&["exec", "later", "ip", "-o", "link"]);
    assert_eq!(links.lines().count(), 1, "{links}");
    r.ok(&["stop", "-t", "0", "later"]);
    r.ok(&["start", "later"]);
    let links = r.ok(&["exec", "later", "ip", "-o", "link"]);
    assert_eq!(links.lines().count(), 1, "{links}");
    assert!(links.contains(": lo:"), "{links}");
    r.ok(&["rm", "-f", "later"]);
    assert_no_network_leak(&id, &a.subnet, Some(&a.bridge));
    assert_no_network_leak(&id, &b.subnet, Some(&b.bridge));
}

/// The nat rules of iptables that name container `id` (netavark's comments do), as `-A …`
/// lines of `iptables -t nat -S`.
fn nat_rules_of(id: &str) -> Vec<String> {
    host_says("iptables", &["-t", "nat", "-S"])
        .lines()
        .filter(|l| l.starts_with("-A ") && l.contains(id))
        .map(str::to_string)
        .collect()
}

#[test]
fn reload_makes_the_flushed_rules_of_a_published_port_again() {
    if !wired() {
        return;
    }
    let r = busybox();
    let net = TestNetwork::create(&r, "nmc-r", &[]);
    let port = free_port();
    let publish = format!("127.0.0.1:{port}:80");
    let id = httpd(
        &r,
        "web",
        &["--network", &net.name, "-p", &publish],
        "reloaded",
    );
    let url = format!("http://127.0.0.1:{port}/");
    assert_eq!(fetch(&url), "reloaded\n");
    // Delete exactly this container's port-forwarding rules (netavark names the container
    // id in their comments), nothing else of the table.
    let rules = nat_rules_of(&id);
    assert!(!rules.is_empty(), "no nat rule names {id}");
    for rule in &rules {
        // The comment's words are quoted in -S's output: let a shell split them again.
        let line = format!("iptables -t nat -D {}", rule.trim_start_matches("-A "));
        let st = Command::new("sh").args(["-c", &line]).status().unwrap();
        assert!(st.success(), "{line}");
    }
    assert!(nat_rules_of(&id).is_empty());
    let out = Command::new("curl")
        .args(["-sf", "--max-time", "2", &url])
        .output()
        .unwrap();
    assert!(!out.status.success(), "still served without its rules");
    assert_eq!(r.ok(&["network", "reload", "web"]).trim(), id);
    assert_eq!(fetch(&url), "reloaded\n");
    assert!(!nat_rules_of(&id).is_empty());
    // --all reloads every running container; the file it serves is still the same.
    assert!(r.ok(&["network", "reload", "--all"]).contains(&id));
    assert_eq!(fetch(&url), "reloaded\n");
    r.ok(&["rm", "-f", "web"]);
    assert_no_network_leak(&id, &net.subnet, Some(&net.bridge));
}

#[test]
fn a_name_dns_cannot_serve_is_refused_before_anything_is_made() {
    if !wired() {
        return;
    }
    let r = busybox();
    let net = TestNetwork::create(&r, "nmc-n", &[]);
    let long = "a".repeat(64);
    for args in [
        vec![
            "run",
            "-d",
            "--name",
            &long,
            "--network",
            &net.name,
            "busybox",
            "true",
        ],
        vec![
            "create",
            "--network",
            &net.name,
            "--network-alias",
            "x..y",
            "busybox",
            "true",
        ],
    ] {
        let (code, _, err) = r.code(&args);
        assert_eq!(code, Some(125), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains("is not a valid DNS name on network"), "{err}");
    }
    assert_eq!(r.ok(&["ps", "-aq"]).trim(), "");
    // Without DNS on the network (the default network has none) the name is fine.
    r.ok(&["create", "--name", &long, "busybox", "true"]);
    let (code, _, err) = r.code(&["network", "connect", &net.name, &long]);
    assert_eq!(code, Some(125), "{err}");
    assert!(err.contains("is not a valid DNS name on network"), "{err}");
    // The default network is never removed, and `-f` removes none of its containers first.
    let (code, _, err) = r.code(&["network", "rm", "-f", "berth"]);
    assert_eq!(code, Some(125), "{err}");
    assert!(
        err.contains("default network berth cannot be removed"),
        "{err}"
    );
    assert_eq!(r.ok(&["ps", "-a", "--format", "{{.Names}}"]).trim(), long);
    r.ok(&["rm", "-f", &long]);
}

/// An ICMP echo through an unprivileged ICMP socket (what `ping_group_range` allows), in
/// Python: Debian's busybox `ping` opens only raw sockets, which need CAP_NET_RAW.
const ICMP_ECHO: &str = "import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)
s.settimeout(2)
s.sendto(bytes([8, 0, 0, 0, 0, 0, 0, 1]), (sys.argv[1], 0))
print('pong' if s.recvfrom(64)[0][0] == 0 else 'no echo reply')";

#[test]
fn ping_sockets_for_group_0_in_a_network_of_its_own() {
    if !wired() {
        return;
    }
    let r = busybox();
    let net = TestNetwork::create(&r, "nmc-p", &[]);
    // Podman's default sysctl (Debian's containers.conf): ICMP echo sockets for group 0, as
    // the container has no CAP_NET_RAW.
    let id = sleeper(&r, "pinger", &net.name);
    let range = r.ok(&[
        "exec",
        "pinger",
        "cat",
        "/proc/sys/net/ipv4/ping_group_range",
    ]);
    assert_eq!(range, "0\t0\n");
    // An echo to the test network's gateway from the container's namespace, as group 0
    // without any capability.
    let v: Value = serde_json::from_str(&r.ok(&["inspect", "pinger"])).unwrap();
    let netns = v[0]["NetworkSettings"]["SandboxKey"]
        .as_str()
        .unwrap()
        .to_string();
    let gateway = v[0]["NetworkSettings"]["Gateway"]
        .as_str()
        .unwrap()
        .to_string();
    let out = Command::new("nsenter")
        .arg(format!("--net={netns}"))
        .args(["setpriv", "--reuid=65534", "--regid=0", "--clear-groups"])
        .args([
            "--bounding-set=-all",
            "/usr/bin/python3",
            "-c",
            ICMP_ECHO,
            &gateway,
        ])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "pong\n",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let none = r.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "busybox",
        "cat",
        "/proc/sys/net/ipv4/ping_group_range",
    ]);
    assert_eq!(none, "0\t0\n");
    // The host's network keeps the host's setting.
    let host = std::fs::read_to_string("/proc/sys/net/ipv4/ping_group_range").unwrap();
    let out = r.ok(&[
        "run",
        "--rm",
        "--network",
        "host",
        "busybox",
        "cat",
        "/proc/sys/net/ipv4/ping_group_range",
    ]);
    assert_eq!(out, host);
    r.ok(&["rm", "-f", "pinger"]);
    assert_no_network_leak(&id, &net.subnet, Some(&net.bridge));
}

#[test]
fn ls_and_inspect_print_as_podman() {
    if !wired() {
        return;
    }
    let r = crate::run::RunEnv::new();
    let net = TestNetwork::create(&r, "nmc-f", &["--label", "a=b"]);
    let filter = format!("name={}", net.name);
    let line = r.ok(&[
        "network",
        "ls",
        "--filter",
        &filter,
        "--format",
        "{{.Options}}|{{.IPAMOptions}}|{{.Labels}}|{{.Created}}",
    ]);
    // Podman 4.3's words: Go's maps, Go's time.
    let cells: Vec<&str> = line.trim_end().split('|').collect();
    assert_eq!(
        cells[..3],
        ["map[]", "map[driver:host-local]", "a=b"],
        "{line}"
    );
    let created = cells[3];
    assert!(
        created.ends_with(" +0000 UTC") && created.as_bytes()[10] == b' ',
        "{line}"
    );
    // `network inspect` indents by five spaces, as Podman's.
    let text = r.ok(&["network", "inspect", &net.name]);
    assert_eq!(text.lines().nth(1), Some("     {"), "{text}");
    assert_eq!(
        text.lines().nth(2),
        Some(format!("          \"name\": \"{}\",", net.name).as_str())
    );
}

#[test]
fn an_internal_network_cannot_reach_forwarded_ports() {
    if !wired() {
        return;
    }
    let r = busybox();
    let public = TestNetwork::create(&r, "nmc-pub", &[]);
    let internal = TestNetwork::create(&r, "nmc-int", &["--internal"]);
    let port = free_port();
    let publish = format!("{port}:80");
    httpd(
        &r,
        "web",
        &["--network", &public.name, "-p", &publish],
        "forwarded",
    );
    let gateway = |net: &str, c: &str| {
        let v: Value = serde_json::from_str(&r.ok(&["inspect", c])).unwrap();
        v[0]["NetworkSettings"]["Networks"][net]["Gateway"]
            .as_str()
            .unwrap()
            .to_string()
    };
    // From a container on a network with a way out, the port forwarded on the host answers
    // at its gateway (the control: the test can fail).
    sleeper(&r, "outside", &public.name);
    let gw = gateway(&public.name, "outside");
    let url = format!("http://{gw}:{port}/");
    assert_eq!(
        exec_until(&r, "outside", &format!("wget -qO- {url}")),
        "forwarded\n"
    );
    // From the internal network: no route to anything but its members.
    sleeper(&r, "inside", &internal.name);
    let gw = gateway(&internal.name, "inside");
    for target in [format!("http://{gw}:{port}/"), url] {
        let out = r.run(&["exec", "inside", "wget", "-T", "2", "-qO-", &target]);
        assert!(!out.status.success(), "{target} answered: {out:?}");
    }
}
