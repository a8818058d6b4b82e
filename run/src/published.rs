//! A container's networking as users see it, in Podman 4.3's shapes: `berth port` lines
//! (`80/tcp -> 0.0.0.0:8080`), the `ps` PORTS column (`0.0.0.0:8080->80/tcp`), and
//! `inspect`'s `NetworkSettings` for a bridge-mode container (its addresses while it runs,
//! from its [`Attachment`]; its published ports always, from its options).

use std::collections::BTreeMap;

use berth_network::ports::{PortMapping, Protocol};
use berth_network::Attachment;
use serde::Serialize;
use serde_json::{json, Value};

/// The host address as Podman prints it (`0.0.0.0` for every address).
fn host_ip(m: &PortMapping) -> &str {
    if m.host_ip.is_empty() {
        "0.0.0.0"
    } else {
        &m.host_ip
    }
}

/// Each published port, one by one: (container port, protocol, host ip, host port).
fn each(ports: &[PortMapping]) -> impl Iterator<Item = (u16, Protocol, &str, u16)> {
    ports.iter().flat_map(|m| {
        (0..m.range).map(move |i| {
            (
                m.container_port + i,
                m.protocol,
                host_ip(m),
                m.host_port + i,
            )
        })
    })
}

/// `berth port C [PRIVATE_PORT[/PROTO]]`: every mapping as `80/tcp -> 0.0.0.0:8080`, or
/// for one container port only its host addresses (`0.0.0.0:8080`). `None` when that
/// port is not published (Podman's error names it).
pub fn port_lines(ports: &[PortMapping], only: Option<(u16, Protocol)>) -> Option<Vec<String>> {
    let lines: Vec<String> = each(ports)
        .filter(|(p, proto, _, _)| only.is_none_or(|o| o == (*p, *proto)))
        .map(|(p, proto, ip, hp)| match only {
            Some(_) => format!("{ip}:{hp}"),
            None => format!("{p}/{proto} -> {ip}:{hp}"),
        })
        .collect();
    (only.is_none() || !lines.is_empty()).then_some(lines)
}

/// `PRIVATE_PORT[/PROTO]` of `berth port` (tcp when omitted).
pub fn parse_private_port(s: &str) -> Result<(u16, Protocol), String> {
    let (port, proto) = s.split_once('/').unwrap_or((s, "tcp"));
    let port: u16 = port
        .parse()
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| format!("invalid port {s:?}"))?;
    Ok((port, proto.parse().map_err(|e| format!("{e}"))?))
}

/// The `ps` PORTS column: `127.0.0.1:8080->80/tcp, 0.0.0.0:8000-8001->90-91/udp`.
pub fn ps_ports(ports: &[PortMapping]) -> String {
    ports
        .iter()
        .map(|m| {
            let range = |start: u16| match m.range {
                0 | 1 => start.to_string(),
                n => format!("{start}-{}", start + (n - 1)),
            };
            format!(
                "{}:{}->{}/{}",
                host_ip(m),
                range(m.host_port),
                range(m.container_port),
                m.protocol
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `NetworkSettings.Ports`: `"80/tcp": [{"HostIp": "", "HostPort": "8080"}]`.
pub fn inspect_ports(ports: &[PortMapping]) -> BTreeMap<String, Value> {
    let mut out: BTreeMap<String, Value> = BTreeMap::new();
    for m in ports {
        for i in 0..m.range {
            let entry = json!({"HostIp": m.host_ip, "HostPort": (m.host_port + i).to_string()});
            let key = format!("{}/{}", m.container_port + i, m.protocol);
            match out.get_mut(&key).and_then(Value::as_array_mut) {
                Some(list) => list.push(entry),
                None => {
                    out.insert(key, Value::Array(vec![entry]));
                }
            }
        }
    }
    out
}

/// One network of `NetworkSettings.Networks` (Podman's `InspectAdditionalNetwork`).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct InspectNetwork {
    #[serde(rename = "EndpointID")]
    pub endpoint_id: String,
    pub gateway: String,
    #[serde(rename = "IPAddress")]
    pub ip_address: String,
    #[serde(rename = "IPPrefixLen")]
    pub ip_prefix_len: u8,
    #[serde(rename = "IPv6Gateway")]
    pub ipv6_gateway: String,
    #[serde(rename = "GlobalIPv6Address")]
    pub global_ipv6_address: String,
    #[serde(rename = "GlobalIPv6PrefixLen")]
    pub global_ipv6_prefix_len: u8,
    pub mac_address: String,
    #[serde(rename = "NetworkID")]
    pub network_id: String,
    pub driver_opts: Option<Value>,
    #[serde(rename = "IPAMConfig")]
    pub ipam_config: Option<Value>,
    pub links: Option<Value>,
    pub aliases: Vec<String>,
}

/// Each network of a running container's attachment: its first IPv4 and IPv6 address and
/// gateway, its MAC; `aliases` per network name (the container's short id first, as
/// Podman lists it, then `--network-alias`).
pub fn inspect_networks(
    a: &Attachment,
    aliases: &dyn Fn(&str) -> Vec<String>,
) -> BTreeMap<String, InspectNetwork> {
    let mut out = BTreeMap::new();
    for n in &a.networks {
        let mut net = InspectNetwork {
            mac_address: n.mac_address.clone(),
            network_id: n.network.clone(),
            aliases: aliases(&n.network),
            ..Default::default()
        };
        for addr in &n.addresses {
            let gw = addr.gateway.map(|g| g.to_string()).unwrap_or_default();
            if addr.ip.addr().is_ipv4() && net.ip_address.is_empty() {
                net.ip_address = addr.ip.addr().to_string();
                net.ip_prefix_len = addr.ip.prefix_len();
                net.gateway = gw;
            } else if addr.ip.addr().is_ipv6() && net.global_ipv6_address.is_empty() {
                net.global_ipv6_address = addr.ip.addr().to_string();
                net.global_ipv6_prefix_len = addr.ip.prefix_len();
                net.ipv6_gateway = gw;
            }
        }
        out.insert(n.network.clone(), net);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(host_ip: &str, host_port: u16, container_port: u16, range: u16) -> PortMapping {
        PortMapping {
            host_ip: host_ip.into(),
            container_port,
            host_port,
            range,
            protocol: Protocol::Tcp,
        }
    }

    #[test]
    fn port_and_ps_lines_as_podman_prints_them() {
        let ports = [m("", 8080, 80, 1), m("127.0.0.1", 9000, 90, 2)];
        assert_eq!(
            port_lines(&ports, None).unwrap(),
            [
                "80/tcp -> 0.0.0.0:8080",
                "90/tcp -> 127.0.0.1:9000",
                "91/tcp -> 127.0.0.1:9001"
            ]
        );
        assert_eq!(
            port_lines(&ports, Some((91, Protocol::Tcp))).unwrap(),
            ["127.0.0.1:9001"]
        );
        assert_eq!(port_lines(&ports, Some((91, Protocol::Udp))), None);
        assert_eq!(
            ps_ports(&ports),
            "0.0.0.0:8080->80/tcp, 127.0.0.1:9000-9001->90-91/tcp"
        );
        assert_eq!(parse_private_port("80").unwrap(), (80, Protocol::Tcp));
        assert_eq!(parse_private_port("53/udp").unwrap(), (53, Protocol::Udp));
        assert!(parse_private_port("x").is_err());
        let i = inspect_ports(&ports);
        assert_eq!(
            i["91/tcp"],
            json!([{"HostIp": "127.0.0.1", "HostPort": "9001"}])
        );
        assert_eq!(i["80/tcp"], json!([{"HostIp": "", "HostPort": "8080"}]));
    }
}
