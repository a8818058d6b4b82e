//! Whole files compared with what podman 4.3.1 (netavark 1.4) wrote for the same options
//! and the same host files.

use super::*;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn host(name: &str, addr: &str) -> HostEntry {
    HostEntry {
        name: name.into(),
        ip: ip(addr),
    }
}

const LOCAL: [IpAddr; 1] = [IpAddr::V4(Ipv4Addr::LOCALHOST)];

#[test]
fn hosts_as_podman_writes_them() {
    let base = "# comment\n127.0.0.1 localhost\n\n::1   ip6-localhost ip6-loopback # x\n";
    assert_eq!(
        hosts_file(base, &[], Some(ip("192.0.2.2")), &[], &["vm", "c"]),
        "127.0.0.1\tlocalhost\n::1\tip6-localhost ip6-loopback\n\
         192.0.2.2\thost.containers.internal\n"
    );
    assert_eq!(
        hosts_file(base, &[], None, &LOCAL, &["abc", "c"]),
        "127.0.0.1\tlocalhost\n::1\tip6-localhost ip6-loopback\n127.0.0.1\tabc c\n"
    );
    // A base naming host.containers.internal keeps its own; localhost is added (Podman's
    // etchosts adds it whenever no entry names it).
    let named = "10.0.0.1 host.containers.internal\n";
    assert_eq!(
        hosts_file(named, &[], Some(ip("192.0.2.2")), &[], &["vm", "c"]),
        "10.0.0.1\thost.containers.internal\n127.0.0.1\tlocalhost\n::1\tlocalhost\n"
    );
}

/// `podman run --network none --hostname hh --add-host foo:1.2.3.4 --add-host bar:::1`.
#[test]
fn hosts_with_add_host_on_no_network() {
    let base = "127.0.0.1 localhost\n127.0.0.1 runsc\n127.0.0.1 vm\n";
    assert_eq!(
        hosts_file(
            base,
            &[host("foo", "1.2.3.4"), host("bar", "::1")],
            Some(ip("192.0.2.2")),
            &LOCAL,
            &["hh", "vigorous_archimedes"]
        ),
        "1.2.3.4\tfoo\n::1\tbar\n127.0.0.1\tlocalhost\n127.0.0.1\trunsc\n127.0.0.1\tvm\n\
         192.0.2.2\thost.containers.internal\n127.0.0.1\thh vigorous_archimedes\n"
    );
    // `--add-host` of a name Podman would add itself wins over it.
    assert_eq!(
        hosts_file("", &[host("hh", "10.0.0.9")], None, &LOCAL, &["hh", "n"]),
        "10.0.0.9\thh\n127.0.0.1\tlocalhost\n::1\tlocalhost\n127.0.0.1\tn\n"
    );
}

/// A host file without `localhost` and with comments, on `--network none`.
#[test]
fn hosts_from_an_unusual_host_file() {
    let base = "127.0.0.1 localhost4 # c\n10.1.1.1 host.containers.internal\n::1 ip6-localhost\n";
    assert_eq!(
        hosts_file(
            base,
            &[],
            Some(ip("192.0.2.2")),
            &LOCAL,
            &["dc4f8d691fcb", "silly_mclaren"]
        ),
        "127.0.0.1\tlocalhost4\n10.1.1.1\thost.containers.internal\n::1\tip6-localhost\n\
         127.0.0.1\tlocalhost\n::1\tlocalhost\n127.0.0.1\tdc4f8d691fcb silly_mclaren\n"
    );
}

/// `podman run --network npnet --name cname --hostname hn --network-alias al1
/// --add-host foo:1.2.3.4` on a network 10.251.77.0/24: the gateway is
/// host.containers.internal, the alias is not in the file.
#[test]
fn hosts_on_a_bridge_network() {
    let base = "127.0.0.1 localhost\n127.0.0.1 runsc\n127.0.0.1 vm\n";
    assert_eq!(
        hosts_file(
            base,
            &[host("foo", "1.2.3.4")],
            Some(ip("10.251.77.1")),
            &[ip("10.251.77.2")],
            &["hn", "cname"]
        ),
        "1.2.3.4\tfoo\n127.0.0.1\tlocalhost\n127.0.0.1\trunsc\n127.0.0.1\tvm\n\
         10.251.77.1\thost.containers.internal\n10.251.77.2\thn cname\n"
    );
}

const HOST_RESOLV: &str = "# comment\nsearch host.example other.example\nnameserver 127.0.0.53\n\
    nameserver 10.255.255.53\nnameserver ::1\nnameserver 2001:db8::1\noptions rotate timeout:2\n";

fn resolv(
    own_netns: bool,
    servers: &[&str],
    network_servers: &[&str],
    search: &[&str],
    options: &[&str],
) -> String {
    let servers: Vec<IpAddr> = servers.iter().map(|s| ip(s)).collect();
    let network_servers: Vec<IpAddr> = network_servers.iter().map(|s| ip(s)).collect();
    let search: Vec<String> = search.iter().map(|s| s.to_string()).collect();
    let options: Vec<String> = options.iter().map(|s| s.to_string()).collect();
    resolv_conf(
        HOST_RESOLV,
        &ResolvParams {
            own_netns,
            ipv6: false,
            servers: &servers,
            network_servers: &network_servers,
            search: &search,
            options: &options,
        },
    )
}

#[test]
fn resolv_conf_on_the_hosts_network() {
    assert_eq!(
        resolv(false, &[], &[], &[], &[]),
        "search host.example other.example\nnameserver 127.0.0.53\nnameserver 10.255.255.53\n\
         nameserver ::1\nnameserver 2001:db8::1\noptions rotate timeout:2\n"
    );
    assert_eq!(
        resolv(false, &[], &[], &["x.org"], &[]),
        "search x.org host.example other.example\nnameserver 127.0.0.53\n\
         nameserver 10.255.255.53\nnameserver ::1\nnameserver 2001:db8::1\n\
         options rotate timeout:2\n"
    );
    assert_eq!(
        resolv(false, &["1.1.1.1"], &[], &[], &[]),
        "search host.example other.example\nnameserver 1.1.1.1\noptions rotate timeout:2\n"
    );
}

#[test]
fn resolv_conf_in_a_namespace_of_its_own() {
    // The default network (no DNS): loopback and IPv6 nameservers dropped.
    assert_eq!(
        resolv(true, &[], &[], &[], &[]),
        "search host.example other.example\nnameserver 10.255.255.53\noptions rotate timeout:2\n"
    );
    // A network with DNS: aardvark first, with its search domain.
    assert_eq!(
        resolv(true, &[], &["10.251.77.1"], &[], &[]),
        "search dns.podman host.example other.example\nnameserver 10.251.77.1\n\
         nameserver 10.255.255.53\noptions rotate timeout:2\n"
    );
    assert_eq!(
        resolv(true, &[], &["10.251.77.1"], &["x.org"], &[]),
        "search x.org host.example other.example\nnameserver 10.251.77.1\n\
         nameserver 10.255.255.53\noptions rotate timeout:2\n"
    );
    assert_eq!(
        resolv(true, &[], &["10.251.77.1"], &["."], &[]),
        "nameserver 10.251.77.1\nnameserver 10.255.255.53\noptions rotate timeout:2\n"
    );
    assert_eq!(
        resolv(true, &[], &["10.251.77.1"], &[], &["ndots:1"]),
        "search dns.podman host.example other.example\nnameserver 10.251.77.1\n\
         nameserver 10.255.255.53\noptions ndots:1 rotate timeout:2\n"
    );
    // `--dns` replaces aardvark too.
    assert_eq!(
        resolv(true, &["9.9.9.9"], &["10.251.77.1"], &[], &[]),
        "search host.example other.example\nnameserver 9.9.9.9\noptions rotate timeout:2\n"
    );
}

/// `podman run --network host --dns 1.1.1.1 --dns-search a.com --dns-search b.org
/// --dns-option ndots:2 --dns-option edns0` with a host file of one nameserver.
#[test]
fn resolv_conf_from_flags() {
    let servers = [ip("1.1.1.1")];
    let search = ["a.com".to_string(), "b.org".to_string()];
    let options = ["ndots:2".to_string(), "edns0".to_string()];
    let p = ResolvParams {
        own_netns: false,
        ipv6: false,
        servers: &servers,
        network_servers: &[],
        search: &search,
        options: &options,
    };
    assert_eq!(
        resolv_conf("nameserver 10.255.255.53\n", &p),
        "search a.com b.org\nnameserver 1.1.1.1\noptions ndots:2 edns0\n"
    );
    // Only loopback nameservers: Podman's public fallback (IPv6 ones with IPv6).
    let p = ResolvParams {
        own_netns: true,
        ipv6: true,
        servers: &[],
        network_servers: &[],
        search: &[],
        options: &[],
    };
    assert_eq!(
        resolv_conf("nameserver 127.0.0.1\nnameserver ::1\n", &p),
        "nameserver 8.8.8.8\nnameserver 8.8.4.4\nnameserver 2001:4860:4860::8888\n\
         nameserver 2001:4860:4860::8844\n"
    );
    assert_eq!(
        resolv_conf("nameserver 127.0.0.1\nnameserver 2001:db8::1\n", &p),
        "nameserver 2001:db8::1\n"
    );
}

fn options(f: impl FnOnce(&mut RunOptions)) -> RunOptions {
    let mut o = RunOptions::default();
    f(&mut o);
    o
}

fn written(dir: &Path, spec: &Spec) -> Vec<String> {
    let mut dests: Vec<String> = spec
        .mounts()
        .as_ref()
        .unwrap()
        .iter()
        .filter(|m| m.source().as_deref().is_some_and(|s| s.starts_with(dir)))
        .map(|m| m.destination().display().to_string())
        .collect();
    dests.sort();
    dests
}

#[test]
fn a_user_mount_wins() {
    let d = tempfile::tempdir().unwrap();
    let mut spec = Spec::default();
    spec.set_hostname(Some("h".into()));
    spec.set_mounts(Some(vec![
        mount("/etc/hosts", "bind", "/x", &["rbind"]).unwrap()
    ]));
    let o = options(|o| o.network = Network::None);
    write_and_mount(d.path(), &mut spec, &o, "n", None).unwrap();
    let mounts = spec.mounts().as_ref().unwrap();
    let dests: Vec<_> = mounts.iter().map(|m| m.destination().clone()).collect();
    assert_eq!(
        dests
            .iter()
            .filter(|p| *p == Path::new("/etc/hosts"))
            .count(),
        1
    );
    assert!(dests.iter().any(|p| p == Path::new("/etc/hostname")));
    assert!(!dests.iter().any(|p| p == Path::new("/etc/resolv.conf")));
    assert_eq!(
        std::fs::read_to_string(d.path().join("hostname")).unwrap(),
        "h"
    );
    assert!(!d.path().join("hosts").exists());
}

#[test]
fn no_hosts_and_dns_none_keep_the_images_files() {
    let d = tempfile::tempdir().unwrap();
    let mut spec = Spec::default();
    let o = options(|o| {
        o.use_image_hosts = true;
        o.use_image_resolv_conf = true;
    });
    write_and_mount(d.path(), &mut spec, &o, "n", None).unwrap();
    assert_eq!(written(d.path(), &spec), ["/etc/hostname"]);
    let mut spec = Spec::default();
    write_and_mount(d.path(), &mut spec, &RunOptions::default(), "n", None).unwrap();
    assert_eq!(
        written(d.path(), &spec),
        ["/etc/hostname", "/etc/hosts", "/etc/resolv.conf"]
    );
}

#[test]
fn the_wirings_addresses_reach_the_files() {
    let d = tempfile::tempdir().unwrap();
    let mut spec = Spec::default();
    spec.set_hostname(Some("hn".into()));
    let o = options(|o| {
        o.network = Network::Bridge(vec![Default::default()]);
        o.dns_search = vec![".".into()];
    });
    let net = NetworkEtc {
        addresses: vec![ip("10.251.77.2")],
        gateway: Some(ip("10.251.77.1")),
        dns_servers: vec![ip("10.251.77.1")],
        ipv6: false,
    };
    write_and_mount(d.path(), &mut spec, &o, "cname", Some(&net)).unwrap();
    let hosts = std::fs::read_to_string(d.path().join("hosts")).unwrap();
    assert!(hosts.ends_with("10.251.77.1\thost.containers.internal\n10.251.77.2\thn cname\n"));
    let resolv = std::fs::read_to_string(d.path().join("resolv.conf")).unwrap();
    assert!(resolv.starts_with("nameserver 10.251.77.1\n"), "{resolv}");
}

#[test]
fn unchanged_files_are_not_rewritten() {
    let d = tempfile::tempdir().unwrap();
    let f = d.path().join("f");
    write_if_changed(&f, b"a").unwrap();
    let before = std::fs::metadata(&f).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    write_if_changed(&f, b"a").unwrap();
    let after = std::fs::metadata(&f).unwrap();
    assert_eq!(before.modified().unwrap(), after.modified().unwrap());
    write_if_changed(&f, b"bb").unwrap();
    assert_eq!(std::fs::read(&f).unwrap(), b"bb");
    use std::os::unix::fs::MetadataExt;
    assert_eq!(std::fs::metadata(&f).unwrap().ino(), before.ino());
}
