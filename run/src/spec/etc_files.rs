//! A container's `/etc/hosts`, `/etc/hostname` and `/etc/resolv.conf`, as Podman 4.3 writes
//! them: files of its own in its bundle directory (`<runroot>/containers/<id>/`), written at
//! each start and bind-mounted read-write over the image's.
//!
//! - `hosts`: the host's entries (rewritten `IP<TAB>names`, comments dropped), then
//!   `host.containers.internal` (the host's first global IPv4 address, else its last global
//!   IPv6 one), then, with a network namespace of its own, `127.0.0.1<TAB><hostname> <name>`.
//! - `hostname`: the container's hostname, without a newline.
//! - `resolv.conf`: the host's, on the host's network only (`--network none` has none).
//!
//! A mount the user gave at one of these paths wins. A build's `RUN` keeps the host's files
//! ([`host_binds`]): the build prunes their mount points from its layers.

use std::fmt::Write as _;
use std::path::Path;

use oci_spec::runtime::{Mount, Spec};

use super::mounts::mount;
use crate::error::{Result, RunError};
use crate::options::Network;

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

/// The text of the container's `/etc/hosts`: `base` (the host's file), the host's address
/// as `host.containers.internal` (unless `base` names it), and the container's own entry
/// when it has a network namespace of its own.
pub fn hosts_file(
    base: &str,
    host_ip: Option<&str>,
    network: Network,
    hostname: &str,
    name: &str,
) -> String {
    let mut out = String::new();
    let mut named_internal = false;
    for line in base.lines() {
        let line = line.split('#').next().unwrap_or("");
        let mut fields = line.split_whitespace();
        let Some(ip) = fields.next() else { continue };
        let names: Vec<&str> = fields.collect();
        if names.is_empty() {
            continue;
        }
        named_internal |= names.contains(&HOST_CONTAINERS_INTERNAL);
        let _ = writeln!(out, "{ip}\t{}", names.join(" "));
    }
    if let (false, Some(ip)) = (named_internal, host_ip) {
        let _ = writeln!(out, "{ip}\t{HOST_CONTAINERS_INTERNAL}");
    }
    if network != Network::Host {
        let _ = writeln!(out, "127.0.0.1\t{hostname} {name}");
    }
    out
}

/// The host's address for `host.containers.internal`, as Podman picks it: the first global
/// unicast IPv4 address of its interfaces, else the last global IPv6 one.
pub fn host_ip() -> Option<String> {
    let mut v6 = None;
    for ip in interface_addresses() {
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
            std::net::IpAddr::V4(_) if global => return Some(ip.to_string()),
            std::net::IpAddr::V6(_) if global => v6 = Some(ip.to_string()),
            _ => {}
        }
    }
    v6
}

/// The addresses of the host's interfaces, in the kernel's order.
fn interface_addresses() -> Vec<std::net::IpAddr> {
    let mut out = Vec::new();
    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs writes a list head we own until freeifaddrs.
    if unsafe { libc::getifaddrs(&mut head) } != 0 {
        return out;
    }
    let mut cur = head;
    while !cur.is_null() {
        // SAFETY: `cur` is a node of the list getifaddrs returned, not yet freed.
        let ifa = unsafe { &*cur };
        if !ifa.ifa_addr.is_null() {
            // SAFETY: ifa_addr points at a sockaddr whose family says its real type.
            let family = i32::from(unsafe { (*ifa.ifa_addr).sa_family });
            if family == libc::AF_INET {
                // SAFETY: an AF_INET address is a sockaddr_in.
                let sin = unsafe { &*(ifa.ifa_addr as *const libc::sockaddr_in) };
                out.push(std::net::Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr)).into());
            } else if family == libc::AF_INET6 {
                // SAFETY: an AF_INET6 address is a sockaddr_in6.
                let sin6 = unsafe { &*(ifa.ifa_addr as *const libc::sockaddr_in6) };
                out.push(std::net::Ipv6Addr::from(sin6.sin6_addr.s6_addr).into());
            }
        }
        cur = ifa.ifa_next;
    }
    // SAFETY: `head` came from getifaddrs and is freed once; no reference outlives this.
    unsafe { libc::freeifaddrs(head) };
    out
}

/// Write the container's files into `dir` and bind them into `spec` (before its mounts are
/// resolved in-root), except where the user mounted something at that path.
pub fn write_and_mount(dir: &Path, spec: &mut Spec, network: Network, name: &str) -> Result<()> {
    let hostname = spec.hostname().clone().unwrap_or_default();
    let base = std::fs::read_to_string("/etc/hosts").unwrap_or_else(|_| {
        "127.0.0.1 localhost localhost.localdomain localhost4 localhost4.localdomain4\n\
         ::1 localhost localhost.localdomain localhost6 localhost6.localdomain6\n"
            .to_string()
    });
    let mut files = vec![
        (
            "/etc/hosts",
            "hosts",
            hosts_file(&base, host_ip().as_deref(), network, &hostname, name),
        ),
        ("/etc/hostname", "hostname", hostname.clone()),
    ];
    if network == Network::Host {
        if let Ok(resolv) = std::fs::read_to_string("/etc/resolv.conf") {
            files.push(("/etc/resolv.conf", "resolv.conf", resolv));
        }
    }
    let mut mounts = spec.mounts().clone().unwrap_or_default();
    for (dest, file, text) in files {
        if mounts.iter().any(|m| m.destination() == Path::new(dest)) {
            continue;
        }
        let path = dir.join(file);
        berth_layers::atomic_file::write_atomically(&path, text.as_bytes(), 0o644)
            .map_err(|e| RunError::io(&path, e))?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_as_podman_writes_them() {
        let base = "# comment\n127.0.0.1 localhost\n\n::1   ip6-localhost ip6-loopback # x\n";
        assert_eq!(
            hosts_file(base, Some("192.0.2.2"), Network::Host, "vm", "c"),
            "127.0.0.1\tlocalhost\n::1\tip6-localhost ip6-loopback\n\
             192.0.2.2\thost.containers.internal\n"
        );
        assert_eq!(
            hosts_file(base, None, Network::None, "abc", "c"),
            "127.0.0.1\tlocalhost\n::1\tip6-localhost ip6-loopback\n127.0.0.1\tabc c\n"
        );
        let named = "10.0.0.1 host.containers.internal\n";
        assert_eq!(
            hosts_file(named, Some("192.0.2.2"), Network::Host, "vm", "c"),
            "10.0.0.1\thost.containers.internal\n"
        );
    }

    #[test]
    fn a_user_mount_wins() {
        let d = tempfile::tempdir().unwrap();
        let mut spec = Spec::default();
        spec.set_hostname(Some("h".into()));
        spec.set_mounts(Some(vec![
            mount("/etc/hosts", "bind", "/x", &["rbind"]).unwrap()
        ]));
        write_and_mount(d.path(), &mut spec, Network::None, "n").unwrap();
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
}
