//! Rootless bridge networks (issue 15) as a plain user, as Podman 4.3's rootless netavark:
//! `network create` in the user's config dir, two containers resolving each other by name and
//! alias through aardvark-dns, `-p 127.0.0.1:PORT:80` answering curl on the host (the
//! forwarder from the host into the rootless netns), and after `rm` (also after `kill -9` of
//! the monitor) nothing left: no
//! namespace, record, forwarder, pasta or aardvark-dns (the rootless netns goes with its last
//! container). Also rootless pods with `-p`, on pasta and on a bridge network, and a
//! rootless build's RUN on a bridge network. Traffic only
//! to 127.0.0.1 and inside the namespaces the test made.

use std::fs;
use std::net::TcpListener;

use crate::rootless_network::{assert_no_usernet_left, curl, httpd};
use crate::rootless_run::Rootless;
use crate::run_network::free_port;

/// The rootless netns's helper recorded now: (program, pid), if any.
fn rootless_netns(r: &Rootless) -> Option<(String, u32)> {
    let path = r.env.path("run/berth/networks/rootless-netns.json");
    let v: serde_json::Value = serde_json::from_slice(&fs::read(path).ok()?).ok()?;
    Some((
        v["program"].as_str()?.to_string(),
        v["pid"].as_u64()? as u32,
    ))
}

/// The user's definition of network `net`.
fn definition(r: &Rootless, net: &str) -> serde_json::Value {
    let path = r
        .env
        .path(&format!("home/.config/berth/networks/{net}.json"));
    serde_json::from_slice(&fs::read(path).unwrap()).unwrap()
}

/// Network `net`'s subnet, and what `ip -o -4 addr` prints for an address in it
/// (`inet 10.90.0.`: berth's new networks are /24s).
fn subnet_of(r: &Rootless, net: &str) -> (String, String) {
    let subnet = definition(r, net)["subnets"][0]["subnet"]
        .as_str()
        .unwrap()
        .to_string();
    let prefix = format!("inet {}.", subnet.rsplit_once('.').unwrap().0);
    (subnet, prefix)
}

/// Whether process `pid` runs (not gone, not a zombie).
fn alive(pid: u32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| !s.contains(") Z"))
}

/// Nothing of a rootless bridge network left in the user's run dir: no rootless netns, no
/// attachment record, no aardvark-dns entry, no helper file or namespace.
fn assert_no_bridge_left(r: &Rootless) {
    assert_no_usernet_left(r);
    let net = r.env.path("run/berth/networks");
    for f in ["rootless-netns.json", "rootless-netns.resolv.conf"] {
        assert!(!net.join(f).exists(), "{f} left");
    }
    for d in ["attachments", "netavark/aardvark-dns"] {
        let left: Vec<_> = fs::read_dir(net.join(d))
            .map(|e| {
                e.flatten()
                    .map(|e| e.file_name())
                    .filter(|n| n != "aardvark.pid" && n != "aardvark.lock")
                    .collect()
            })
            .unwrap_or_default();
        assert!(left.is_empty(), "{d} left: {left:?}");
    }
}

/// A busybox httpd in pod `pod` (whose infra container publishes `port`), fetched on the host.
fn member_httpd(r: &Rootless, pod: &str, port: u16, body: &str) {
    r.ok(&format!(
        "$BERTH run -d --name web --pod {pod} bb sh -c \
         'mkdir -p /www && echo {body} > /www/index.html && exec httpd -f -p 80 -h /www' >/dev/null"
    ));
    crate::run::wait_until("the pod's published port answers", || {
        curl(port) == format!("{body}\n")
    });
}

#[test]
fn rootless_bridge_network_resolves_names_publishes_ports_and_leaves_nothing() {
    let r = Rootless::with_busybox();
    let net = "netroot-rlbr";
    r.ok(&format!("$BERTH network create {net} >/dev/null"));
    // The definition is the user's, in netavark's format.
    let (subnet, prefix) = subnet_of(&r, net);
    let def = definition(&r, net);
    assert_eq!(def["driver"], "bridge");
    assert_eq!(def["dns_enabled"], true);

    let port = free_port();
    httpd(
        &r,
        &format!("--network {net} --network-alias www"),
        port,
        "from-rootless-bridge",
    );
    let (program, helper) = rootless_netns(&r).expect("a rootless netns");
    assert!(program == "pasta" || program == "slirp4netns", "{program}");
    // The container's address is on the network's subnet.
    let ip = r.ok("$BERTH exec web ip -o -4 addr show eth0");
    assert!(ip.contains(&prefix), "{ip} not in {subnet}");
    // A second container reaches the first by name and by alias (aardvark-dns).
    let out = r.ok(&format!(
        "$BERTH run --rm --network {net} bb sh -c 'wget -qO- http://web/ && wget -qO- http://www/'"
    ));
    assert_eq!(out, "from-rootless-bridge\nfrom-rootless-bridge\n");
    // One rootless netns for all of them.
    assert_eq!(rootless_netns(&r).map(|h| h.1), Some(helper));
    // connect and disconnect a running container, in the same rootless netns.
    let net2 = "netroot-rlbr2";
    r.ok(&format!("$BERTH network create {net2} >/dev/null"));
    r.ok(&format!("$BERTH network connect {net2} web"));
    let out = r.ok(&format!(
        "$BERTH run --rm --network {net2} bb wget -qO- http://web/"
    ));
    assert_eq!(out, "from-rootless-bridge\n");
    r.ok("$BERTH network reload web >/dev/null");
    r.ok(&format!("$BERTH network disconnect {net2} web"));
    r.ok(&format!("$BERTH network rm {net2} >/dev/null"));
    // A network a plain user's container uses is refused, as root's (exit 2).
    let out = r.sh(&format!("$BERTH network rm {net}"));
    assert_eq!(out.status.code(), Some(2), "{out:?}");

    // The forwarder of the published port, from the attachment record.
    let id = r
        .ok("$BERTH inspect --format '{{.Id}}' web")
        .trim()
        .to_string();
    let record: serde_json::Value = serde_json::from_slice(
        &fs::read(
            r.env
                .path(&format!("run/berth/networks/attachments/{id}.json")),
        )
        .unwrap(),
    )
    .unwrap();
    let forwarder = record["forwarder"]["pid"].as_u64().expect("a forwarder") as u32;
    assert!(alive(forwarder));
    // The monitor killed: `rm -f` still tears it all down from the record.
    let monitor: i32 = r
        .ok("$BERTH inspect --format '{{.State.ConmonPid}}' web")
        .trim()
        .parse()
        .unwrap();
    assert!(monitor > 0);
    // SAFETY: kill(2) on the monitor of the container this test started.
    unsafe {
        libc::kill(monitor, libc::SIGKILL);
    }
    r.ok("$BERTH rm -f web >/dev/null");
    assert!(!alive(forwarder), "the forwarder {forwarder} outlived rm");
    assert_eq!(curl(port), "");
    assert!(
        rootless_netns(&r).is_none(),
        "rootless netns outlived its last container"
    );
    assert!(
        !alive(helper),
        "the rootless netns's {program} {helper} outlived it"
    );
    assert_no_bridge_left(&r);
    r.ok(&format!("$BERTH network rm {net} >/dev/null"));
    r.finish();
}

#[test]
fn rootless_bridge_errors_leave_nothing() {
    let r = Rootless::with_busybox();
    // A taken host port: the bridge mode's words, one line, nothing made.
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let out = r.sh(&format!(
        "$BERTH run --rm --network bridge -p 127.0.0.1:{port}:80 bb true"
    ));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(125), "{err}");
    assert!(
        err.contains(&format!("127.0.0.1:{port}: bind: address already in use")),
        "{err}"
    );
    assert_eq!(r.ok("$BERTH ps -aq").trim(), "");
    assert_no_bridge_left(&r);
    // A missing network: Podman's words, nothing made.
    let out = r.sh("$BERTH run --rm --network netroot-missing bb true");
    assert_eq!(out.status.code(), Some(125));
    assert_no_bridge_left(&r);
    // pasta and slirp4netns missing: the rootless netns cannot be made; the package named.
    let out = r.sh("PATH=/nonexistent $BERTH run --rm --network bridge bb true");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(125), "{err}");
    assert!(
        err.contains("pasta not found: install Debian's passt package"),
        "{err}"
    );
    assert_eq!(r.ok("$BERTH ps -aq").trim(), "");
    assert_no_bridge_left(&r);
    // `--network bridge` (the default network) works rootless, and goes away with `--rm`.
    let out = r.ok("$BERTH run --rm --network bridge bb ip -o -4 addr show eth0");
    assert!(out.contains("inet 10."), "{out}");
    assert_no_bridge_left(&r);
    drop(taken);
    r.finish();
}

#[test]
fn rootless_pods_publish_ports_on_pasta_and_on_a_bridge_network() {
    let r = Rootless::with_busybox();
    // The rootless default (pasta, or slirp4netns) for the pod's infra container.
    let port = free_port();
    r.ok(&format!(
        "$BERTH pod create --name netroot-pod -p 127.0.0.1:{port}:80 >/dev/null"
    ));
    member_httpd(&r, "netroot-pod", port, "from-rootless-pod");
    r.ok("$BERTH pod rm -f netroot-pod >/dev/null");
    assert_eq!(curl(port), "");
    assert_no_bridge_left(&r);

    // On a bridge network: the same through the rootless netns.
    let net = "netroot-podnet";
    r.ok(&format!("$BERTH network create {net} >/dev/null"));
    let port = free_port();
    r.ok(&format!(
        "$BERTH pod create --name netroot-pod2 --network {net} -p 127.0.0.1:{port}:80 >/dev/null"
    ));
    member_httpd(&r, "netroot-pod2", port, "from-rootless-bridge-pod");
    assert!(rootless_netns(&r).is_some());
    // The pod's name resolves to its namespace (Podman's name for an infra container).
    let out = r.ok(&format!(
        "$BERTH run --rm --network {net} bb wget -qO- http://netroot-pod2/"
    ));
    assert_eq!(out, "from-rootless-bridge-pod\n");
    r.ok("$BERTH pod rm -f netroot-pod2 >/dev/null");
    assert_eq!(curl(port), "");
    assert_no_bridge_left(&r);
    r.ok(&format!("$BERTH network rm {net} >/dev/null"));
    r.finish();
}

#[test]
fn rootless_build_runs_steps_on_a_bridge_network() {
    let r = Rootless::with_busybox();
    let net = "netroot-build";
    r.ok(&format!("$BERTH network create {net} >/dev/null"));
    let (subnet, prefix) = subnet_of(&r, net);
    let ctx = r.env.path("ctx");
    fs::create_dir(&ctx).unwrap();
    fs::write(
        ctx.join("Containerfile"),
        "FROM bb\nRUN ip -o -4 addr show eth0\n",
    )
    .unwrap();
    let chown = std::process::Command::new("chown")
        .args(["-R", "berth-rootless:"])
        .arg(&ctx)
        .status()
        .unwrap();
    assert!(chown.success());
    let out = r.ok(&format!(
        "$BERTH build --network {net} -t netroot-built {} 2>&1",
        ctx.display()
    ));
    assert!(out.contains(&prefix), "{out} not in {subnet}");
    assert_no_bridge_left(&r);
    r.ok("$BERTH rmi netroot-built >/dev/null");
    r.ok(&format!("$BERTH network rm {net} >/dev/null"));
    r.finish();
}

#[test]
fn rootless_netns_falls_back_to_slirp4netns_without_pasta() {
    let bin = ["slirp4netns", "iptables", "ip6tables"];
    if bin.iter().any(|b| {
        !std::path::Path::new("/usr/sbin").join(b).exists()
            && !std::path::Path::new("/usr/bin").join(b).exists()
    }) {
        eprintln!("skipped: slirp4netns or iptables is not installed");
        return;
    }
    let r = Rootless::with_busybox();
    // A PATH with slirp4netns and iptables but no pasta.
    let path = r.env.path("home/bin");
    fs::create_dir(&path).unwrap();
    for b in bin {
        let target = ["/usr/bin", "/usr/sbin"]
            .iter()
            .map(|d| std::path::Path::new(d).join(b))
            .find(|p| p.exists())
            .unwrap();
        std::os::unix::fs::symlink(target, path.join(b)).unwrap();
    }
    let port = free_port();
    let path = path.display();
    r.ok(&format!(
        "PATH={path} $BERTH run -d --name web --network bridge -p 127.0.0.1:{port}:80 bb sh -c \
         'mkdir -p /www && echo via-slirp4netns > /www/index.html && exec httpd -f -p 80 -h /www' >/dev/null"
    ));
    crate::run::wait_until("the published port answers", || {
        curl(port) == "via-slirp4netns\n"
    });
    assert_eq!(
        rootless_netns(&r).map(|h| h.0).as_deref(),
        Some("slirp4netns")
    );
    r.ok(&format!("PATH={path} $BERTH rm -f web >/dev/null"));
    assert_no_bridge_left(&r);
    r.finish();
}
