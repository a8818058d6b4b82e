//! Port mappings (`-p/--publish`, `-P/--publish-all`), in netavark's `port_mappings` shape.
//!
//! Two steps, as Podman 4.3 has them:
//! - [`PublishSpec::parse`] reads one `-p` value, `[[IP:][HOSTPORT]:]CTRPORT[/PROTO]`, with
//!   ranges (`8000-8010:80-90`, both of one length), a bracketed IPv6 host address
//!   (`[::1]:8080:80`) and `tcp`, `udp` or `sctp` (any case; `tcp` when omitted). Its errors
//!   are Podman's words. A missing host port (`80`, `127.0.0.1::80`) is 0: chosen later.
//! - [`allocate`] merges the specs (and, with `-P`, the image's `ExposedPorts`) into the
//!   final [`PortMapping`]s: per host address and protocol, fixed host ports are sorted,
//!   duplicates and adjacent consistent ranges joined, a host port given to two container
//!   ports refused; container ports without a host port are joined the same way and given
//!   a free host port by the caller's picker ([`bind_free_port`]: bind port 0 on that address
//!   with that protocol and keep what the kernel chose); an exposed port already published
//!   is left alone.
//!
//! The result serialises as netavark's `port_mappings` entries: `{"host_ip": "",
//! "container_port": 80, "host_port": 8080, "range": 1, "protocol": "tcp"}` (an empty
//! `host_ip` is every address, as Podman writes `0.0.0.0`).

use std::collections::BTreeSet;
use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, UdpSocket};
use std::str::FromStr;

/// A bad `-p` value, an impossible set of mappings, or no free host port.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PortError(String);

fn err<T>(msg: impl Into<String>) -> Result<T, PortError> {
    Err(PortError(msg.into()))
}

/// A transport protocol of a port mapping.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Tcp,
    Udp,
    Sctp,
}

impl Protocol {
    /// Its name as netavark and Podman write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Sctp => "sctp",
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Protocol {
    type Err = PortError;
    /// `tcp`, `udp` or `sctp` in any case; empty is `tcp` (as Podman).
    fn from_str(s: &str) -> Result<Protocol, PortError> {
        match s.to_ascii_lowercase().as_str() {
            "tcp" | "" => Ok(Protocol::Tcp),
            "udp" => Ok(Protocol::Udp),
            "sctp" => Ok(Protocol::Sctp),
            other => err(format!("unrecognized protocol {other:?} in port mapping")),
        }
    }
}

/// One `-p` value, parsed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PublishSpec {
    /// The host address to bind; `None` is every address (also for `0.0.0.0`).
    pub host_ip: Option<IpAddr>,
    /// The first host port; 0 when omitted (a free one is chosen by [`allocate`]).
    pub host_port: u16,
    /// The first container port.
    pub container_port: u16,
    /// How many consecutive ports (1 for a single port).
    pub range: u16,
    pub protocol: Protocol,
}

impl PublishSpec {
    /// Parse `[[IP:][HOSTPORT]:]CTRPORT[/PROTO]` as Podman's `-p` does.
    pub fn parse(value: &str) -> Result<PublishSpec, PortError> {
        let (rest, proto) = match value.split('/').collect::<Vec<_>>()[..] {
            [rest] => (rest, None),
            [rest, proto] => (rest, Some(proto)),
            _ => return err("invalid port format - protocol can only be specified once"),
        };
        let mut host_ip = None;
        let mut rest = rest;
        let bracketed = match rest.split(']').collect::<Vec<_>>()[..] {
            [_] => false,
            [ip, after] => {
                let Some(ip) = ip.strip_prefix('[') else {
                    return err("invalid port format - IPv6 addresses must be enclosed by []");
                };
                let Some(after) = after.strip_prefix(':') else {
                    return err(
                        "invalid port format - IPv6 address must be followed by a colon (':')",
                    );
                };
                host_ip = Some(ip);
                rest = after;
                true
            }
            _ => return err(
                "invalid port format - at most one IPv6 address can be specified in a --publish",
            ),
        };
        let (host_port, ctr) = match rest.split(':').collect::<Vec<_>>()[..] {
            [_] if bracketed => return err(
                "invalid port format - must provide host and destination port if specifying an IP",
            ),
            [ctr] => (None, ctr),
            [host, ctr] => (Some(host), ctr),
            [_, _, _] if bracketed => return err(
                "invalid port format - when v6 address specified, must be [ipv6]:hostPort:ctrPort",
            ),
            [ip, host, ctr] => {
                host_ip = Some(ip);
                (Some(host), ctr)
            }
            _ => return err("invalid port format - format is [[hostIP:]hostPort:]containerPort"),
        };
        if ctr.is_empty() {
            return err("must provide a non-empty container port to publish");
        }
        let (container_port, range) =
            parse_range(ctr).map_err(|e| PortError(format!("parsing container port: {e}")))?;
        let protocol = match proto {
            Some("") => return err("must provide a non-empty protocol to publish"),
            Some(p) => p.parse()?,
            None => Protocol::Tcp,
        };
        let host_ip = match host_ip {
            Some("") => return err("must provide a non-empty container host IP to publish"),
            Some("0.0.0.0") | None => None,
            Some(ip) => Some(
                ip.parse::<IpAddr>()
                    .or_else(|_| err(format!("cannot parse {ip:?} as an IP address")))?,
            ),
        };
        let host_port = match host_port {
            None | Some("") => 0,
            Some(h) => {
                let (start, len) =
                    parse_range(h).map_err(|e| PortError(format!("parsing host port: {e}")))?;
                if len != range {
                    return err(format!(
                        "host and container port ranges have different lengths: {len} vs {range}"
                    ));
                }
                start
            }
        };
        Ok(PublishSpec {
            host_ip,
            host_port,
            container_port,
            range,
            protocol,
        })
    }
}

/// `START[-END]`: the first port and how many.
fn parse_range(s: &str) -> Result<(u16, u16), String> {
    let (start, end) = match s.split('-').collect::<Vec<_>>()[..] {
        [start] => (start, None),
        [start, end] => (start, Some(end)),
        _ => {
            return Err(
                "invalid port format - port ranges are formatted as startPort-stopPort".into(),
            )
        }
    };
    if start.is_empty() {
        return Err("port numbers cannot be negative".into());
    }
    let start = parse_port(start)?;
    let Some(end) = end else {
        return Ok((start, 1));
    };
    if end.is_empty() {
        return Err("must provide ending number for port range".into());
    }
    let end = parse_port(end)?;
    if end <= start {
        return Err(format!(
            "the end port of a range must be higher than the start port - {end} is not higher than {start}"
        ));
    }
    Ok((start, end - start + 1))
}

fn parse_port(s: &str) -> Result<u16, String> {
    let n: i64 = s
        .parse()
        .map_err(|_| format!("invalid port number: parsing {s:?}: invalid syntax"))?;
    if !(1..=65535).contains(&n) {
        return Err(format!(
            "port numbers must be between 1 and 65535 (inclusive), got {n}"
        ));
    }
    Ok(n as u16)
}

/// One entry of netavark's `port_mappings`: `range` ports from `host_port` on `host_ip`
/// (empty: every address) to `container_port`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PortMapping {
    pub host_ip: String,
    pub container_port: u16,
    pub host_port: u16,
    pub range: u16,
    pub protocol: Protocol,
}

/// The ports an image's config `ExposedPorts` names (`80/tcp`, `53/udp`, `8080`,
/// `7000-7002/tcp`), each with its protocol, sorted and without duplicates.
pub fn exposed_ports<'a>(
    keys: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<(u16, Protocol)>, PortError> {
    let mut out = BTreeSet::new();
    for key in keys {
        let (ports, proto) = key.split_once('/').unwrap_or((key, "tcp"));
        let proto: Protocol = proto.parse().map_err(|e| {
            PortError(format!(
                "unable to convert image EXPOSE: validating protocols for exposed port {key}: {e}"
            ))
        })?;
        let (start, len) = parse_range(ports)
            .map_err(|e| PortError(format!("unable to convert image EXPOSE: {e}")))?;
        for p in start..=start + (len - 1) {
            out.insert((p, proto));
        }
    }
    Ok(out.into_iter().collect())
}

/// Chooses a free host port for a mapping on (address, protocol).
pub type PortPicker<'a> = dyn FnMut(Option<IpAddr>, Protocol) -> io::Result<u16> + 'a;

/// A port the kernel calls free: bind port 0 on `ip` (every address when `None`) with the
/// protocol's socket type and keep what it chose. SCTP is asked through TCP, whose port
/// space the kernel keeps apart but which is free just as often.
pub fn bind_free_port(ip: Option<IpAddr>, protocol: Protocol) -> io::Result<u16> {
    let addr = SocketAddr::new(ip.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)), 0);
    match protocol {
        Protocol::Udp => UdpSocket::bind(addr)?.local_addr().map(|a| a.port()),
        Protocol::Tcp | Protocol::Sctp => TcpListener::bind(addr)?.local_addr().map(|a| a.port()),
    }
}

/// How many tries [`allocate`] gives the picker per mapping (Podman's 15).
const PICK_TRIES: usize = 15;

/// The final port mappings for `specs` and, with `-P`, `exposed` (from [`exposed_ports`]):
/// merged and deduplicated as Podman does, host ports that were left out chosen by `pick`.
/// Ordered by host address (first use), protocol, then host port.
pub fn allocate(
    specs: &[PublishSpec],
    exposed: &[(u16, Protocol)],
    pick: &mut PortPicker<'_>,
) -> Result<Vec<PortMapping>, PortError> {
    let mut groups: Vec<(Option<IpAddr>, Protocol)> = Vec::new();
    for s in specs {
        if u32::from(s.container_port) + u32::from(s.range) - 1 > 65535 {
            return err("container port range exceeds maximum allowable port number");
        }
        if u32::from(s.host_port) + u32::from(s.range) - 1 > 65535 {
            return err("host port range exceeds maximum allowable port number");
        }
        if !groups.contains(&(s.host_ip, s.protocol)) {
            groups.push((s.host_ip, s.protocol));
        }
    }
    groups.sort_by_key(|(ip, proto)| {
        let first = specs.iter().position(|s| s.host_ip == *ip).unwrap_or(0);
        (first, *proto)
    });
    let mut out = Vec::new();
    // Per protocol: host ports taken (over every address) and container ports published.
    let mut used_host: Vec<(Protocol, u16)> = Vec::new();
    let mut used_ctr: BTreeSet<(Protocol, u16)> = BTreeSet::new();
    for (ip, proto) in groups {
        let mut fixed: Vec<&PublishSpec> = specs
            .iter()
            .filter(|s| s.host_ip == ip && s.protocol == proto && s.host_port != 0)
            .collect();
        fixed.sort_by_key(|s| (s.host_port, s.container_port));
        let mut merged: Vec<PortMapping> = Vec::new();
        for s in fixed {
            let next = mapping(ip, s.host_port, s);
            match merged.last_mut() {
                Some(prev)
                    if u32::from(prev.host_port) + u32::from(prev.range)
                        >= u32::from(next.host_port) =>
                {
                    let host_diff = i32::from(next.host_port) - i32::from(prev.host_port);
                    let ctr_diff = i32::from(next.container_port) - i32::from(prev.container_port);
                    if host_diff == ctr_diff {
                        prev.range = prev.range.max(next.range + host_diff as u16);
                    } else if u32::from(prev.host_port) + u32::from(prev.range)
                        > u32::from(next.host_port)
                    {
                        return err(format!(
                            "conflicting port mappings for host port {} (protocol {proto})",
                            next.host_port
                        ));
                    } else {
                        merged.push(next);
                    }
                }
                _ => merged.push(next),
            }
        }
        let mut random: Vec<&PublishSpec> = specs
            .iter()
            .filter(|s| s.host_ip == ip && s.protocol == proto && s.host_port == 0)
            .collect();
        random.sort_by_key(|s| (s.container_port, s.range));
        let mut pending: Vec<PortMapping> = Vec::new();
        for s in random {
            let next = mapping(ip, 0, s);
            match pending.last_mut() {
                Some(prev)
                    if u32::from(prev.container_port) + u32::from(prev.range)
                        > u32::from(next.container_port) =>
                {
                    let end = next.container_port - prev.container_port + next.range;
                    prev.range = prev.range.max(end);
                }
                _ => pending.push(next),
            }
        }
        for m in &merged {
            mark(&mut used_host, &mut used_ctr, m);
        }
        for mut m in pending {
            m.host_port = pick_port(ip, proto, m.container_port, m.range, &used_host, pick)?;
            mark(&mut used_host, &mut used_ctr, &m);
            merged.push(m);
        }
        out.extend(merged);
    }
    for &(port, proto) in exposed {
        if used_ctr.contains(&(proto, port)) {
            continue;
        }
        let host_port = pick_port(None, proto, port, 1, &used_host, pick)?;
        let m = PortMapping {
            host_ip: String::new(),
            container_port: port,
            host_port,
            range: 1,
            protocol: proto,
        };
        mark(&mut used_host, &mut used_ctr, &m);
        out.push(m);
    }
    Ok(out)
}

fn mapping(ip: Option<IpAddr>, host_port: u16, s: &PublishSpec) -> PortMapping {
    PortMapping {
        host_ip: ip.map(|ip| ip.to_string()).unwrap_or_default(),
        container_port: s.container_port,
        host_port,
        range: s.range,
        protocol: s.protocol,
    }
}

fn mark(
    used_host: &mut Vec<(Protocol, u16)>,
    used_ctr: &mut BTreeSet<(Protocol, u16)>,
    m: &PortMapping,
) {
    for i in 0..m.range {
        used_host.push((m.protocol, m.host_port + i));
        used_ctr.insert((m.protocol, m.container_port + i));
    }
}

/// A host port for `range` ports from `container_port`, from `pick`, whose whole range is
/// within 65535 and not already given to another mapping of this protocol.
fn pick_port(
    ip: Option<IpAddr>,
    proto: Protocol,
    container_port: u16,
    range: u16,
    used: &[(Protocol, u16)],
    pick: &mut PortPicker<'_>,
) -> Result<u16, PortError> {
    for _ in 0..PICK_TRIES {
        let port = pick(ip, proto).map_err(|e| {
            PortError(format!(
                "failed to find an open port to expose container port {container_port} on the host: {e}"
            ))
        })?;
        let end = u32::from(port) + u32::from(range) - 1;
        if port == 0 || end > 65535 {
            continue;
        }
        if (0..range).any(|i| used.contains(&(proto, port + i))) {
            continue;
        }
        return Ok(port);
    }
    let with_range = if range > 1 {
        format!("with range {range} ")
    } else {
        String::new()
    };
    err(format!(
        "failed to find an open port to expose container port {container_port} {with_range}on the host"
    ))
}

#[cfg(test)]
mod tests;
