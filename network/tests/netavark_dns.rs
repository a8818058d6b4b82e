//! The real netavark and aardvark-dns (Debian's, as root): two containers' namespaces on a
//! test network with DNS resolve and reach each other by name and alias, and after detach
//! nothing is left: no bridge or veth, no namespace file, no firewall rule naming the
//! subnet, no aardvark entry, no address held. Traffic stays inside the test's network.

use std::path::Path;
use std::process::Command;

use berth_network::ipam::Ipam;
use berth_network::{attach, detach, Catalog, CreateOptions, Network, NetworkDirs, NetworkRequest};

const BUSYBOX: &str = "/bin/busybox";

/// Each test's catalog is its own (a temp dir), so two at once could pick one subnet: one at
/// a time.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Tears down whatever the test made, also when it fails half-way.
struct Cleanup {
    dirs: NetworkDirs,
    containers: Vec<String>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        for c in &self.containers {
            let _ = detach(&self.dirs, c);
        }
    }
}

/// Run `args` in the network namespace at `netns`; (success, stdout + stderr).
fn in_netns(netns: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new("nsenter")
        .arg(format!("--net={}", netns.display()))
        .arg(BUSYBOX)
        .args(args)
        .output()
        .expect("nsenter");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// The pids of aardvark-dns processes whose command line names `config_dir`.
fn aardvark_processes(config_dir: &str) -> Vec<String> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.contains("aardvark-dns") && cmdline.contains(config_dir) {
            out.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    out
}

/// A catalog in a temp dir with one network `name` (DNS on) on bridge `bt<pid><tag>`.
fn test_network(name: &str, tag: char) -> (tempfile::TempDir, NetworkDirs, Catalog, Network) {
    assert!(
        rustix::process::geteuid().is_root(),
        "this test drives netavark as root"
    );
    let tmp = tempfile::Builder::new()
        .prefix("berth-net-")
        .tempdir()
        .unwrap();
    let dirs = NetworkDirs::under(tmp.path());
    let catalog = Catalog::open(dirs.clone()).unwrap();
    let net = catalog
        .create(&CreateOptions {
            name: Some(format!("{name}{}", std::process::id())),
            interface_name: Some(format!("bt{}{tag}", std::process::id() % 100_000)),
            ..Default::default()
        })
        .unwrap();
    (tmp, dirs, catalog, net)
}

fn iptables_rules() -> String {
    let out = Command::new("iptables-save")
        .output()
        .expect("iptables-save");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn two_containers_resolve_and_reach_each_other_and_leave_nothing() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    assert!(Path::new(BUSYBOX).exists(), "install busybox-static");
    let (_tmp, dirs, catalog, net) = test_network("berthtest", 'a');
    assert!(net.dns_enabled);
    let subnet = net.subnets[0].subnet.to_string();
    let bridge = net.network_interface.clone();
    let ids = [format!("{:064x}", 0xa1u32), format!("{:064x}", 0xb2u32)];
    let mut cleanup = Cleanup {
        dirs: dirs.clone(),
        containers: Vec::new(),
    };
    let request = |alias: &str| NetworkRequest {
        network: net.name.clone(),
        aliases: vec![alias.to_string()],
        ..Default::default()
    };
    cleanup.containers.push(ids[0].clone());
    let a = attach(&catalog, &ids[0], "alpha", &[request("first")], &[]).unwrap();
    cleanup.containers.push(ids[1].clone());
    let b = attach(&catalog, &ids[1], "bravo", &[request("second")], &[]).unwrap();

    let b_ip = b.networks[0].addresses[0].ip.addr().to_string();
    assert_eq!(a.networks[0].interface, "eth0");
    assert!(net.subnets[0]
        .subnet
        .contains(&b.networks[0].addresses[0].ip.addr()));
    assert_eq!(a.dns_servers, vec![net.subnets[0].gateway.unwrap()]);
    let dns = a.dns_servers[0].to_string();
    // aardvark-dns reloads its entries when netavark signals it, a moment after setup.
    for name in ["bravo", "second"] {
        let mut tries = 0;
        loop {
            let (ok, text) = in_netns(&a.netns_path, &["nslookup", name, &dns]);
            if ok && text.contains(&b_ip) {
                break;
            }
            tries += 1;
            assert!(tries < 50, "nslookup {name}: {text}");
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
    let (ok, text) = in_netns(&a.netns_path, &["ping", "-c", "1", "-W", "5", &b_ip]);
    assert!(ok, "ping {b_ip}: {text}");
    // The gateway's aardvark-dns has both containers.
    let aardvark = dirs.netavark().join("aardvark-dns").join(&net.name);
    let entries = std::fs::read_to_string(&aardvark).unwrap();
    assert!(
        entries.contains(&ids[0]) && entries.contains(&ids[1]),
        "{entries}"
    );
    assert!(iptables_rules().contains(&subnet));

    detach(&dirs, &ids[0]).unwrap();
    detach(&dirs, &ids[1]).unwrap();
    // Twice is no harm.
    detach(&dirs, &ids[1]).unwrap();

    assert!(!a.netns_path.exists() && !b.netns_path.exists());
    assert!(
        !Path::new("/sys/class/net").join(&bridge).exists(),
        "bridge {bridge} left"
    );
    let links = Command::new("ip").args(["-o", "link"]).output().unwrap();
    let links = String::from_utf8_lossy(&links.stdout);
    assert!(!links.contains(&format!("master {bridge} ")), "{links}");
    let rules = iptables_rules();
    assert!(
        !rules.contains(&subnet),
        "rules for {subnet} left:\n{rules}"
    );
    let left = std::fs::read_to_string(&aardvark).unwrap_or_default();
    assert!(
        !left.contains(&ids[0]) && !left.contains(&ids[1]),
        "aardvark entries left: {left}"
    );
    let config_dir = dirs.netavark().display().to_string();
    assert!(
        aardvark_processes(&config_dir).is_empty(),
        "aardvark-dns still runs for {config_dir}"
    );
    let ipam = Ipam::open(&dirs.ipam_db()).unwrap();
    assert!(ipam.allocations(&net.name).unwrap().is_empty());
    catalog.remove(&net.name).unwrap();
}

/// netavark refusing the setup (a malformed MAC address) leaves nothing behind: the error
/// carries netavark's message, and no namespace, address, bridge or rule remains.
#[test]
fn a_failed_setup_is_undone() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let (_tmp, dirs, catalog, net) = test_network("berthfail", 'b');
    let id = format!("{:064x}", 0xc3u32);
    let _cleanup = Cleanup {
        dirs: dirs.clone(),
        containers: vec![id.clone()],
    };
    let request = NetworkRequest {
        network: net.name.clone(),
        static_mac: Some("not-a-mac".into()),
        ..Default::default()
    };
    let e = attach(&catalog, &id, "charlie", &[request], &[]).unwrap_err();
    assert!(e.to_string().starts_with("netavark setup: "), "{e}");
    assert!(!dirs.netns().join(&id).exists());
    let ipam = Ipam::open(&dirs.ipam_db()).unwrap();
    assert!(ipam.addresses_of(&id).unwrap().is_empty());
    assert!(!Path::new("/sys/class/net")
        .join(&net.network_interface)
        .exists());
    assert!(!iptables_rules().contains(&net.subnets[0].subnet.to_string()));
    // A taken --ip fails before anything is made.
    let other = format!("{:064x}", 0xd4u32);
    let ip = "10.255.255.255".parse().ok();
    let request = NetworkRequest {
        network: net.name.clone(),
        static_ip: ip,
        ..Default::default()
    };
    let e = attach(&catalog, &other, "delta", &[request], &[]).unwrap_err();
    assert!(e.to_string().contains("not in any subnet"), "{e}");
    assert!(!dirs.netns().join(&other).exists());
}
