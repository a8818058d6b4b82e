//! A container's `/etc/hosts`, `/etc/hostname` and `/etc/resolv.conf`, as Podman 4.3 writes
//! them (checked against podman 4.3.1 with netavark 1.4): files of its own in its bundle
//! directory (`<runroot>/containers/<id>/`), written at each start and bind-mounted
//! read-write over the image's.
//!
//! - `hosts` ([`hosts_file`]): the `--add-host` entries, the host's entries (rewritten
//!   `IP<TAB>names`, comments dropped), then, for names not already there, `localhost`
//!   (127.0.0.1 and ::1), `host.containers.internal` (its network's gateway, else the host's
//!   first global IPv4 address, else its last global IPv6 one) and the container's own
//!   `IP<TAB><hostname> <name>` line: 127.0.0.1 with `--network none`, each address
//!   ([`NetworkEtc`]) on its networks, none on the host's network. `--no-hosts`: not written.
//! - `hostname`: the container's hostname, without a newline.
//! - `resolv.conf` ([`resolv_conf`]): search domains, nameservers and options, from
//!   `--dns*`, the network's aardvark-dns (with the `dns.podman` domain) and the host's file
//!   (loopback nameservers dropped in a namespace of its own, IPv6 ones too without IPv6).
//!   `--network none` and `--dns none`: not written.
//!
//! A mount the user gave at one of these paths wins. A file is rewritten only when its text
//! changed, without fsync: it lives in the run root and is made again at every start. A
//! build's `RUN` keeps the host's files ([`host_binds`]): the build prunes their mount points
//! from its layers.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

use oci_spec::runtime::{Mount, Spec};

use super::mounts::mount;
use crate::error::{Result, RunError};
use crate::options::{HostEntry, Network, RunOptions};

/// Podman's name for the host, as seen from a container.
pub const HOST_CONTAINERS_INTERNAL: &str = "host.containers.internal";

/// The host's files a build's `RUN` on the host's network sees, bound read-only.
pub fn host_binds() -> Result<Vec<Mount>> {
    ["/etc/hosts", "/etc/resolv.conf"]
        .into_iter()
        .filter(|f| Path::new(f).exists())
        .map(|f| mount(f, "bind", f, &["rbind", "rprivate", "ro"]))
        .collect()
}

/// The host's hostname (what a container on the host's network is called, as Podman).
pub fn host_hostname() -> String {
    rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .into_owned()
}

/// What the network set-up learned that the container's `/etc` files need; the network
/// wiring fills it from netavark's answer (bridge mode). Network aliases are not here: as in
/// Podman they resolve through aardvark-dns, never through `/etc/hosts`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetworkEtc {
    /// The container's addresses on its networks: each gets a `<hostname> <name>` line.
    pub addresses: Vec<IpAddr>,
    /// The gateway of its (first) bridge network: `host.containers.internal`.
    pub gateway: Option<IpAddr>,
    /// aardvark-dns's addresses, for networks with DNS enabled: the first nameservers, and
    /// the `dns.podman` search domain.
    pub dns_servers: Vec<IpAddr>,
    /// Whether the container has IPv6 (else the host's IPv6 nameservers are dropped).
    pub ipv6: bool,
}

/// The text of the container's `/etc/hosts`, as Podman's etchosts: `extra` (`--add-host`),
/// then `base` (the host's file), then for names not yet named: localhost, `host_internal`
/// as `host.containers.internal`, and each of `container_ips` with `names`.
pub fn hosts_file(
    base: &str,
    extra: &[HostEntry],
    host_internal: Option<IpAddr>,
    container_ips: &[IpAddr],
    names: &[&str],
) -> String {
    let mut out = String::new();
    let mut named: HashSet<&str> = HashSet::new();
    for e in extra {
        named.extend(e.name.split_whitespace());
        let _ = writeln!(out, "{}\t{}", e.ip, e.name);
    }
    for line in base.lines() {
        let line = line.split('#').next().unwrap_or("");
        let mut fields = line.split_whitespace();
        let Some(ip) = fields.next() else { continue };
        let names: Vec<&str> = fields.collect();
        if names.is_empty() {
            continue;
        }
        named.extend(names.iter().copied());
        let _ = writeln!(out, "{ip}\t{}", names.join(" "));
    }
    let localhost = ["localhost"];
    let mut ours: Vec<(IpAddr, &[&str])> = vec![
        (Ipv4Addr::LOCALHOST.into(), &localhost),
        (Ipv6Addr::LOCALHOST.into(), &localhost),
    ];
    let internal = [HOST_CONTAINERS_INTERNAL];
    if let Some(ip) = host_internal {
        ours.push((ip, &internal));
    }
    ours.extend(container_ips.iter().map(|ip| (*ip, names)));
    for (ip, names) in ours {
        let free: Vec<&str> = names
            .iter()
            .copied()
            .filter(|n| !named.contains(n))
            .collect();
        if !free.is_empty() {
            let _ = writeln!(out, "{ip}\t{}", free.join(" "));
        }
    }
    out
}

/// What a container's `/etc/resolv.conf` is made from, besides the host's file.
#[derive(Debug, Clone, Copy)]
pub struct ResolvParams<'a> {
    /// The container has a network namespace of its own (the host's loopback nameservers
    /// cannot serve it).
    pub own_netns: bool,
    /// It has IPv6 (keep the host's IPv6 nameservers).
    pub ipv6: bool,
    /// `--dns`: replaces every other nameserver.
    pub servers: &'a [IpAddr],
    /// aardvark-dns's addresses (networks with DNS enabled).
    pub network_servers: &'a [IpAddr],
    /// `--dns-search` (`.` alone or among them: no search line).
    pub search: &'a [String],
    /// `--dns-option`.
    pub options: &'a [String],
}

/// Podman's fallback when no nameserver is left for a namespace of its own.
const FALLBACK_V4: [&str; 2] = ["8.8.8.8", "8.8.4.4"];
const FALLBACK_V6: [&str; 2] = ["2001:4860:4860::8888", "2001:4860:4860::8844"];

/// The text of the container's `/etc/resolv.conf` from `host` (the host's file) and `p`, as
/// Podman's resolvconf: `search` (the given domains, or `dns.podman` with aardvark and no
/// `--dns`, then the host's), `nameserver`s (`--dns`, else aardvark's then the host's), then
/// `options` (the given ones, then the host's).
pub fn resolv_conf(host: &str, p: &ResolvParams<'_>) -> String {
    let parsed = ParsedResolv::parse(host);
    let nameservers: Vec<String> = if !p.servers.is_empty() {
        p.servers.iter().map(IpAddr::to_string).collect()
    } else {
        let mut host_ns: Vec<IpAddr> = parsed.nameservers.clone();
        if p.own_netns {
            host_ns.retain(|ip| !ip.is_loopback() && (p.ipv6 || ip.is_ipv4()));
        }
        let mut ns: Vec<String> = p.network_servers.iter().map(IpAddr::to_string).collect();
        if p.own_netns && host_ns.is_empty() {
            ns.extend(FALLBACK_V4.iter().map(|s| s.to_string()));
            if p.ipv6 {
                ns.extend(FALLBACK_V6.iter().map(|s| s.to_string()));
            }
        }
        ns.extend(host_ns.iter().map(IpAddr::to_string));
        ns
    };
    let mut search: Vec<&str> = if !p.search.is_empty() {
        p.search.iter().map(String::as_str).collect()
    } else if p.servers.is_empty() && !p.network_servers.is_empty() {
        vec!["dns.podman"]
    } else {
        Vec::new()
    };
    if search.contains(&".") {
        search.clear();
    } else {
        search.extend(parsed.search.iter().map(String::as_str));
    }
    let mut options: Vec<&str> = p.options.iter().map(String::as_str).collect();
    options.extend(parsed.options.iter().map(String::as_str));
    let mut out = String::new();
    if !search.is_empty() {
        let _ = writeln!(out, "search {}", search.join(" "));
    }
    for ns in nameservers {
        let _ = writeln!(out, "nameserver {ns}");
    }
    if !options.is_empty() {
        let _ = writeln!(out, "options {}", options.join(" "));
    }
    out
}

/// The parts of a resolv.conf Podman keeps: every valid `nameserver`, the last `search`
/// and the last `options` line.
#[derive(Debug, Default, PartialEq)]
struct ParsedResolv {
    nameservers: Vec<IpAddr>,
    search: Vec<String>,
    options: Vec<String>,
}

impl ParsedResolv {
    fn parse(text: &str) -> ParsedResolv {
        let mut out = ParsedResolv::default();
        for line in text.lines() {
            let line = line.split('#').next().unwrap_or("");
            let mut fields = line.split_whitespace();
            let words = |f: std::str::SplitWhitespace<'_>| f.map(str::to_string).collect();
            match fields.next() {
                Some("nameserver") => {
                    if let (Some(Ok(ip)), None) = (fields.next().map(str::parse), fields.next()) {
                        out.nameservers.push(ip);
                    }
                }
                Some("search") => out.search = words(fields),
                Some("options") => out.options = words(fields),
                _ => {}
            }
        }
        out
    }
}

/// The host's resolv.conf as a container with a namespace of its own should see it: a
/// lone local stub resolver (systemd-resolved's 127.0.0.53, NetworkManager's 127.0.0.1)
/// is replaced by the file with the real nameservers behind it, when there is one.
fn host_resolv_conf(own_netns: bool) -> String {
    let text = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    if !own_netns {
        return text;
    }
    let real = match &ParsedResolv::parse(&text).nameservers[..] {
        [ip] if *ip == IpAddr::V4(Ipv4Addr::new(127, 0, 0, 53)) => {
            "/run/systemd/resolve/resolv.conf"
        }
        [ip] if *ip == IpAddr::V4(Ipv4Addr::LOCALHOST) => "/run/NetworkManager/no-stub-resolv.conf",
        _ => return text,
    };
    std::fs::read_to_string(real).unwrap_or(text)
}

/// The host's address for `host.containers.internal`, as Podman picks it: the first global
/// unicast IPv4 address of its interfaces, else the last global IPv6 one.
pub fn host_ip() -> Option<IpAddr> {
    let mut v6 = None;
    for ip in berth_network::hostnets::interface_addresses()
        .into_iter()
        .map(|n| n.addr())
    {
        let global = match ip {
            std::net::IpAddr::V4(a) => {
                !(a.is_loopback() || a.is_link_local() || a.is_multicast() || a.is_unspecified())
            }
            std::net::IpAddr::V6(a) => {
                !(a.is_loopback()
                    || a.is_multicast()
                    || a.is_unspecified()
                    || (a.segments()[0] & 0xffc0) == 0xfe80)
            }
        };
        match ip {
            std::net::IpAddr::V4(_) if global => return Some(ip),
            std::net::IpAddr::V6(_) if global => v6 = Some(ip),
            _ => {}
        }
    }
    v6
}

/// Write the container's files into `dir` and bind them into `spec` (before its mounts are
/// resolved in-root), except where the user mounted something at that path. `network` is
/// what the network set-up learned (`None` on the host's network and with `--network none`).
pub fn write_and_mount(
    dir: &Path,
    spec: &mut Spec,
    opts: &RunOptions,
    name: &str,
    network: Option<&NetworkEtc>,
) -> Result<()> {
    let hostname = spec_hostname(spec);
    let files = texts(&hostname, opts, name, network);
    let mut mounts = spec.mounts().clone().unwrap_or_default();
    for (dest, file, text) in files {
        if mounts.iter().any(|m| m.destination() == Path::new(dest)) {
            continue;
        }
        let path = dir.join(file);
        write_if_changed(&path, text.as_bytes()).map_err(|e| RunError::io(&path, e))?;
        mounts.push(mount(
            dest,
            "bind",
            &path.to_string_lossy(),
            &["rbind", "rprivate", "rw"],
        )?);
    }
    spec.set_mounts(Some(mounts));
    Ok(())
}

/// The container's host name: the spec's, or (a UTS namespace it shares, which the spec
/// cannot name) its `HOSTNAME`.
pub fn spec_hostname(spec: &Spec) -> String {
    spec.hostname().clone().unwrap_or_else(|| {
        spec.process()
            .as_ref()
            .and_then(|p| p.env().as_ref())
            .and_then(|env| env.iter().find_map(|e| e.strip_prefix("HOSTNAME=")))
            .unwrap_or_default()
            .to_string()
    })
}

/// Write again the `/etc/hosts` and `/etc/resolv.conf` that [`write_and_mount`] wrote into
/// `dir` for a running container, for its networks now (`network connect`/`disconnect`, as
/// Podman updates them): in place, so the container's bind mounts show the new text. A file
/// berth did not write (the user mounted one, `--no-hosts`) stays untouched.
pub fn rewrite_network_files(
    dir: &Path,
    hostname: &str,
    opts: &RunOptions,
    name: &str,
    network: Option<&NetworkEtc>,
) -> Result<()> {
    for (_, file, text) in texts(hostname, opts, name, network) {
        let path = dir.join(file);
        if file != "hostname" && path.exists() {
            write_if_changed(&path, text.as_bytes()).map_err(|e| RunError::io(&path, e))?;
        }
    }
    Ok(())
}

/// The container's `/etc` files: (destination, file name in the bundle, text).
fn texts(
    hostname: &str,
    opts: &RunOptions,
    name: &str,
    network: Option<&NetworkEtc>,
) -> Vec<(&'static str, &'static str, String)> {
    let hostname = hostname.to_string();
    let mut files = Vec::with_capacity(3);
    if !opts.use_image_hosts {
        let base = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
        let (internal, own): (Option<IpAddr>, &[IpAddr]) = match (&opts.network, network) {
            (_, Some(n)) => (n.gateway.or_else(host_ip), &n.addresses),
            (Network::Host, None) => (host_ip(), &[]),
            (_, None) => (host_ip(), &[IpAddr::V4(Ipv4Addr::LOCALHOST)]),
        };
        let text = hosts_file(&base, &opts.add_hosts, internal, own, &[&hostname, name]);
        files.push(("/etc/hosts", "hosts", text));
    }
    files.push(("/etc/hostname", "hostname", hostname.clone()));
    if !opts.use_image_resolv_conf && opts.network != Network::None {
        let own_netns = opts.network.has_own_netns();
        let params = ResolvParams {
            own_netns,
            ipv6: network.is_some_and(|n| n.ipv6),
            servers: &opts.dns_servers,
            network_servers: network.map(|n| &n.dns_servers[..]).unwrap_or(&[]),
            search: &opts.dns_search,
            options: &opts.dns_options,
        };
        let text = resolv_conf(&host_resolv_conf(own_netns), &params);
        files.push(("/etc/resolv.conf", "resolv.conf", text));
    }
    files
}

/// Write `bytes` to `path` unless it holds them already. No fsync and no rename: the file is
/// the run root's, made again at every start, and keeping its inode keeps a bind mount of it
/// current. Measured (`run --rm --network none`, run root on this VM's disk): the atomic
/// writes this replaced cost 4 fsyncs, ≈1 ms of a ≈43 ms run; the medians with and without
/// the files were within the noise.
fn write_if_changed(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    match std::fs::read(path) {
        Ok(old) if old == bytes => Ok(()),
        _ => std::fs::write(path, bytes),
    }
}

#[cfg(test)]
mod tests;
