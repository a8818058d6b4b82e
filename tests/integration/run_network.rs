//! Containers on networks, as root, with the real netavark and aardvark-dns: a published
//! port fetched from the host on 127.0.0.1, two containers resolving each other by name and
//! alias on a network the test made, `--internal`, `-P`, `berth port`, a host port taken,
//! and no leak (bridge, veth, namespace, firewall rule, aardvark entry, address) after each
//! test, also after a `kill -9` of the monitor. Traffic goes only to 127.0.0.1 and inside
//! the test's own networks; every network is removed even when a test fails.

use std::fs;
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::run::{busybox, RunEnv};

/// Root with netavark installed, else the test is skipped (with a line saying so).
pub(crate) fn wired() -> bool {
    // SAFETY: geteuid has no preconditions.
    let ok = unsafe { libc::geteuid() } == 0
        && ["/usr/lib/podman/netavark", "/usr/libexec/podman/netavark"]
            .iter()
            .any(|p| Path::new(p).exists());
    if !ok {
        eprintln!("skipped: needs root and netavark");
    }
    ok
}

/// Names unique to this test process and call.
fn unique(tag: &str) -> String {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("bn-{tag}-{}-{n}", std::process::id())
}

/// A network of the test's own, removed (with its containers) when dropped.
pub(crate) struct TestNetwork<'a> {
    r: &'a RunEnv,
    pub(crate) name: String,
    subnet: String,
    bridge: String,
}

impl<'a> TestNetwork<'a> {
    pub(crate) fn create(r: &'a RunEnv, tag: &str, extra: &[&str]) -> TestNetwork<'a> {
        let name = unique(tag);
        let mut args = vec!["network", "create"];
        args.extend_from_slice(extra);
        args.push(&name);
        r.ok(&args);
        let v: Value = serde_json::from_str(&r.ok(&["network", "inspect", &name])).unwrap();
        TestNetwork {
            r,
            subnet: v[0]["subnets"][0]["subnet"].as_str().unwrap().to_string(),
            bridge: v[0]["network_interface"].as_str().unwrap().to_string(),
            name,
        }
    }
}

impl Drop for TestNetwork<'_> {
    fn drop(&mut self) {
        let _ = self.r.cmd(&["rm", "-f", "-a"]).output();
        let _ = self.r.run(&["network", "rm", "-f", &self.name]);
    }
}

/// A host TCP port nobody listens on now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// GET `url` with curl from the host, polled until it answers (the server needs a moment
/// to start) or 20 s have gone.
pub(crate) fn fetch(url: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let out = Command::new("curl")
            .args(["-sf", "--max-time", "2", url])
            .output()
            .expect("curl");
        if out.status.success() {
            return String::from_utf8_lossy(&out.stdout).into_owned();
        }
        assert!(Instant::now() < deadline, "no answer from {url}: {out:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Run `script` in container `c` until it succeeds (aardvark-dns and the server need a
/// moment) or 20 s have gone; its stdout.
fn exec_until(r: &RunEnv, c: &str, script: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let out = r.run(&["exec", c, "sh", "-c", script]);
        if out.status.success() {
            return String::from_utf8_lossy(&out.stdout).into_owned();
        }
        assert!(Instant::now() < deadline, "{script} in {c}: {out:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A detached busybox sleeping on network `net`; its id.
fn sleeper(r: &RunEnv, name: &str, net: &str) -> String {
    r.ok(&[
        "run",
        "-d",
        "--name",
        name,
        "--network",
        net,
        "busybox",
        "sleep",
        "300",
    ])
    .trim()
    .to_string()
}

/// A detached busybox httpd serving `text` as /www/index.html, with `flags`.
fn httpd(r: &RunEnv, name: &str, flags: &[&str], text: &str) -> String {
    let mut args = vec!["run", "-d", "--name", name];
    args.extend_from_slice(flags);
    let script =
        format!("mkdir -p /www && echo {text} > /www/index.html && exec httpd -f -p 80 -h /www");
    args.extend(["busybox", "sh", "-c", &script]);
    r.ok(&args).trim().to_string()
}

fn host_says(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd).args(args).output().expect(cmd);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Nothing of container `id` on the network is left: no namespace file, no attachment
/// record, no address, no firewall rule of `subnet`, no aardvark entry; with `bridge`, not
/// that bridge either (the last container of a test network gone).
fn assert_no_network_leak(id: &str, subnet: &str, bridge: Option<&str>) {
    let run = Path::new("/run/berth/networks");
    assert!(!run.join("netns").join(id).exists(), "netns of {id} left");
    assert!(
        !run.join("attachments").join(format!("{id}.json")).exists(),
        "attachment record of {id} left"
    );
    let rules = host_says("iptables-save", &[]);
    assert!(
        !rules.contains(subnet),
        "iptables rules of {subnet} left:\n{rules}"
    );
    if let Ok(dir) = fs::read_dir(run.join("netavark/aardvark-dns")) {
        for e in dir.flatten() {
            let text = fs::read_to_string(e.path()).unwrap_or_default();
            assert!(!text.contains(id), "aardvark entry of {id} left: {text}");
        }
    }
    if let Some(bridge) = bridge {
        let links = host_says("ip", &["-o", "link"]);
        assert!(
            !links.contains(&format!(": {bridge}:")),
            "bridge {bridge} left"
        );
    }
}

#[test]
fn published_port_serves_the_host_and_port_lists_it() {
    if !wired() {
        return;
    }
    let r = busybox();
    let net = TestNetwork::create(&r, "pub", &[]);
    let port = free_port();
    let publish = format!("127.0.0.1:{port}:80");
    let id = httpd(
        &r,
        "web",
        &["--network", &net.name, "-p", &publish],
        "hello-from-berth",
    );
    assert_eq!(
        fetch(&format!("http://127.0.0.1:{port}/")),
        "hello-from-berth\n"
    );
    assert_eq!(
        r.ok(&["port", "web"]),
        format!("80/tcp -> 127.0.0.1:{port}\n")
    );
    assert_eq!(r.ok(&["port", "web", "80"]), format!("127.0.0.1:{port}\n"));
    let ps = r.ok(&["ps", "--format", "{{.Ports}}"]);
    assert_eq!(ps, format!("127.0.0.1:{port}->80/tcp\n"));
    // inspect: Podman's NetworkSettings for a bridge container.
    let v: Value = serde_json::from_str(&r.ok(&["inspect", "web"])).unwrap();
    let ns = &v[0]["NetworkSettings"];
    let ip = ns["Networks"][&net.name]["IPAddress"].as_str().unwrap();
    assert!(
        ip.starts_with(net.subnet.rsplit_once('.').unwrap().0),
        "{ns}"
    );
    assert_eq!(ns["Networks"][&net.name]["IPPrefixLen"], 24);
    assert_eq!(
        ns["Ports"]["80/tcp"][0]["HostPort"],
        port.to_string().as_str()
    );
    assert_eq!(ns["Ports"]["80/tcp"][0]["HostIp"], "127.0.0.1");
    assert_eq!(v[0]["HostConfig"]["PortBindings"], ns["Ports"]);
    assert_eq!(v[0]["HostConfig"]["NetworkMode"], "bridge");
    assert_eq!(ns["Gateway"], ns["Networks"][&net.name]["Gateway"]);
    assert_eq!(ns["IPAddress"], ip);
    assert!(ns["SandboxKey"].as_str().unwrap().ends_with(&id), "{ns}");
    // The container's /etc/hosts names it at its address.
    let hosts = r.ok(&["exec", "web", "cat", "/etc/hosts"]);
    assert!(hosts.contains(&format!("{ip}\t")), "{hosts}");
    r.ok(&["rm", "-f", "web"]);
    assert_no_network_leak(&id, &net.subnet, None);
    // Nothing listens on the port any more.
    TcpListener::bind(("127.0.0.1", port)).expect("port still held");
    drop(net);
}

#[test]
fn containers_resolve_each_other_by_name_and_alias() {
    if !wired() {
        return;
    }
    let r = busybox();
    let net = TestNetwork::create(&r, "dns", &[]);
    let web = httpd(
        &r,
        "web",
        &["--network", &net.name, "--network-alias", "www"],
        "by-dns",
    );
    let client = sleeper(&r, "client", &net.name);
    // aardvark-dns answers once netavark has told it about both (polled: it may need a
    // moment after the setup).
    assert_eq!(
        exec_until(&r, "client", "wget -qO- http://web/"),
        "by-dns\n"
    );
    assert_eq!(
        exec_until(&r, "client", "wget -qO- http://www/"),
        "by-dns\n"
    );
    let resolv = r.ok(&["exec", "client", "cat", "/etc/resolv.conf"]);
    assert!(resolv.contains("search dns.podman"), "{resolv}");
    // One stopped: its name is gone from aardvark, its address free, its rules gone.
    r.ok(&["stop", "-t", "0", "web"]);
    let aardvark =
        fs::read_to_string(Path::new("/run/berth/networks/netavark/aardvark-dns").join(&net.name))
            .unwrap_or_default();
    assert!(!aardvark.contains(&web), "{aardvark}");
    r.ok(&["rm", "-f", "web", "client"]);
    assert_no_network_leak(&web, &net.subnet, None);
    assert_no_network_leak(&client, &net.subnet, Some(&net.bridge));
    drop(net);
}

#[test]
fn internal_network_has_no_way_out_but_its_members() {
    if !wired() {
        return;
    }
    let r = busybox();
    let net = TestNetwork::create(&r, "int", &["--internal"]);
    let id = sleeper(&r, "a", &net.name);
    let routes = r.ok(&["exec", "a", "ip", "route"]);
    assert!(!routes.contains("default"), "{routes}");
    assert!(routes.contains(net.subnet.as_str()), "{routes}");
    // A member answers by name.
    httpd(&r, "b", &["--network", &net.name], "inside");
    assert_eq!(exec_until(&r, "a", "wget -qO- http://b/"), "inside\n");
    r.ok(&["rm", "-f", "a", "b"]);
    assert_no_network_leak(&id, &net.subnet, Some(&net.bridge));
    drop(net);
}

#[test]
fn publish_all_uses_the_images_expose_on_free_ports() {
    if !wired() {
        return;
    }
    let r = busybox();
    let ctx = r.env.path("expose");
    fs::create_dir_all(&ctx).unwrap();
    fs::write(ctx.join("Containerfile"), "FROM busybox\nEXPOSE 80\n").unwrap();
    r.ok(&["build", "-q", "-t", "exposed", ctx.to_str().unwrap()]);
    let net = TestNetwork::create(&r, "all", &[]);
    let script = "mkdir -p /www && echo exposed > /www/index.html && exec httpd -f -p 80 -h /www";
    r.ok(&[
        "run",
        "-d",
        "--name",
        "e",
        "--network",
        &net.name,
        "-P",
        "exposed",
        "sh",
        "-c",
        script,
    ]);
    let line = r.ok(&["port", "e"]);
    let port: u16 = line
        .trim()
        .strip_prefix("80/tcp -> 0.0.0.0:")
        .unwrap_or_else(|| panic!("{line}"))
        .parse()
        .unwrap();
    assert_eq!(fetch(&format!("http://127.0.0.1:{port}/")), "exposed\n");
    let (code, _, err) = r.code(&["port", "e", "81/udp"]);
    assert_eq!(code, Some(125));
    assert_eq!(err, "Error: failed to find published port \"81/udp\"\n");
    r.ok(&["rm", "-f", "e"]);
    drop(net);
}

#[test]
fn a_host_port_taken_fails_the_start_naming_it_and_leaves_no_network() {
    if !wired() {
        return;
    }
    let r = busybox();
    let net = TestNetwork::create(&r, "taken", &[]);
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let publish = format!("127.0.0.1:{port}:80");
    let (code, _, err) = r.code(&[
        "run",
        "-d",
        "--name",
        "t",
        "--network",
        &net.name,
        "-p",
        &publish,
        "busybox",
        "sleep",
        "300",
    ]);
    assert_eq!(code, Some(125), "{err}");
    assert!(
        err.contains(&format!(
            "listen tcp4 127.0.0.1:{port}: bind: address already in use"
        )),
        "{err}"
    );
    // As Podman's run: the container was created, its start failed; nothing of its network.
    let id = r.ok(&["ps", "-aq", "--no-trunc"]).trim().to_string();
    assert_eq!(
        r.ok(&["ps", "-a", "--format", "{{.State}}"]).trim(),
        "Created"
    );
    assert_no_network_leak(&id, &net.subnet, Some(&net.bridge));
    // Once the port is free the same container starts.
    drop(taken);
    r.ok(&["start", "t"]);
    r.ok(&["rm", "-f", "t"]);
    assert_no_network_leak(&id, &net.subnet, Some(&net.bridge));
    drop(net);
}

#[test]
fn rm_after_kill_9_of_the_monitor_tears_the_network_down() {
    if !wired() {
        return;
    }
    let r = busybox();
    let net = TestNetwork::create(&r, "kill", &[]);
    let port = free_port();
    let publish = format!("127.0.0.1:{port}:80");
    let id = httpd(&r, "k", &["--network", &net.name, "-p", &publish], "k");
    fetch(&format!("http://127.0.0.1:{port}/"));
    let v: Value = serde_json::from_str(&r.ok(&["inspect", "k"])).unwrap();
    let monitor = v[0]["State"]["ConmonPid"].as_i64().unwrap();
    // SAFETY: kill has no memory preconditions; the pid is the monitor this test started.
    assert_eq!(unsafe { libc::kill(monitor as i32, libc::SIGKILL) }, 0);
    r.ok(&["rm", "-f", "k"]);
    assert_no_network_leak(&id, &net.subnet, Some(&net.bridge));
    drop(net);
}

#[test]
fn the_default_network_as_root_and_network_rm_of_one_in_use() {
    if !wired() {
        return;
    }
    let r = busybox();
    // No --network: the default bridge network `berth`, with an address of 10.87/16.
    let out = r.ok(&[
        "run",
        "--rm",
        "busybox",
        "sh",
        "-c",
        "ip -4 -o addr show eth0",
    ]);
    assert!(out.contains(" inet 10.87."), "{out}");
    r.ok(&["create", "--name", "c", "busybox", "true"]);
    let v: Value = serde_json::from_str(&r.ok(&["inspect", "c"])).unwrap();
    assert_eq!(v[0]["HostConfig"]["NetworkMode"], "bridge");
    r.ok(&["rm", "c"]);
    // A network in use is not removed without -f; with -f its containers go too.
    let net = TestNetwork::create(&r, "inuse", &[]);
    let id = sleeper(&r, "u", &net.name);
    let (code, _, err) = r.code(&["network", "rm", &net.name]);
    assert_eq!(code, Some(2), "{err}");
    assert_eq!(
        err,
        format!(
            "Error: \"{}\" has associated containers with it. Use -f to forcibly delete containers and pods: network is being used\n",
            net.name
        )
    );
    // prune leaves it alone.
    r.ok(&["network", "prune", "-f"]);
    r.ok(&["network", "exists", &net.name]);
    assert_eq!(
        r.ok(&["network", "rm", "-f", &net.name]),
        format!("{}\n", net.name)
    );
    assert_eq!(r.ok(&["ps", "-aq"]), "");
    assert_no_network_leak(&id, &net.subnet, Some(&net.bridge));
    drop(net);
}

#[test]
fn container_and_ns_modes_join_another_namespace() {
    if !wired() {
        return;
    }
    let r = busybox();
    let net = TestNetwork::create(&r, "join", &[]);
    httpd(&r, "srv", &["--network", &net.name], "shared");
    let v: Value = serde_json::from_str(&r.ok(&["inspect", "srv"])).unwrap();
    let ip = v[0]["NetworkSettings"]["IPAddress"]
        .as_str()
        .unwrap()
        .to_string();
    let sandbox = v[0]["NetworkSettings"]["SandboxKey"]
        .as_str()
        .unwrap()
        .to_string();
    // Its namespace, so its address and its server on 127.0.0.1.
    for mode in ["container:srv".to_string(), format!("ns:{sandbox}")] {
        let out = r.ok(&[
            "run",
            "--rm",
            "--network",
            &mode,
            "busybox",
            "sh",
            "-c",
            "ip -4 -o addr show eth0; for i in $(seq 100); do wget -qO- http://127.0.0.1/ && exit; sleep 0.1; done; exit 1",
        ]);
        assert!(out.contains(&format!(" inet {ip}/")), "{mode}: {out}");
        assert!(out.ends_with("shared\n"), "{mode}: {out}");
    }
    // A container that does not run has no namespace to join.
    r.ok(&["create", "--name", "idle", "busybox", "true"]);
    let (code, _, err) = r.code(&[
        "run",
        "--rm",
        "--network",
        "container:idle",
        "busybox",
        "true",
    ]);
    assert_eq!(code, Some(125), "{err}");
    assert!(err.contains("container idle is not running"), "{err}");
    r.ok(&["rm", "-f", "-a"]);
    drop(net);
}
