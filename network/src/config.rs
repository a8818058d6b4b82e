//! A network definition in netavark's JSON format, as Podman 4 writes
//! `/etc/containers/networks/NAME.json`: the same document is the file on disk, the
//! `network inspect` record and the `network_info` netavark is given.

use std::collections::BTreeMap;
use std::net::IpAddr;

use chrono::{DateTime, Utc};
pub use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::error::{NetworkError, Result};

/// The only driver berth drives for now.
pub const BRIDGE: &str = "bridge";

/// One network, field for field Podman's `types.Network` (JSON names as netavark reads them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Network {
    pub name: String,
    /// 64 hex digits.
    pub id: String,
    pub driver: String,
    /// The bridge device on the host.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub network_interface: String,
    #[serde(default = "unix_epoch")]
    pub created: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subnets: Vec<Subnet>,
    #[serde(default)]
    pub ipv6_enabled: bool,
    #[serde(default)]
    pub internal: bool,
    #[serde(default)]
    pub dns_enabled: bool,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub ipam_options: BTreeMap<String, String>,
}

/// One subnet of a network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subnet {
    pub subnet: IpNet,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<IpAddr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_range: Option<LeaseRange>,
}

/// The addresses of a subnet the IPAM hands out (`--ip-range`), both ends included.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseRange {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_ip: Option<IpAddr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_ip: Option<IpAddr>,
}

fn unix_epoch() -> DateTime<Utc> {
    DateTime::<Utc>::UNIX_EPOCH
}

impl Network {
    /// Parse a definition file's bytes.
    pub fn from_json(bytes: &[u8]) -> serde_json::Result<Network> {
        serde_json::from_slice(bytes)
    }

    /// The definition as Podman writes it (indented, one trailing newline).
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }

    /// The first 12 digits of the id (`network ls`).
    pub fn short_id(&self) -> &str {
        &self.id[..self.id.len().min(12)]
    }

    /// Check the definition: its name, driver, id, bridge name and every subnet.
    pub fn validate(&self) -> Result<()> {
        validate_name(&self.name)?;
        if self.driver != BRIDGE {
            return Err(NetworkError::Invalid(format!(
                "unsupported driver {}: only {BRIDGE} is supported",
                self.driver
            )));
        }
        if self.id.len() != 64 || !self.id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(NetworkError::Invalid(format!(
                "network {}: id {:?} is not 64 hex digits",
                self.name, self.id
            )));
        }
        if !self.network_interface.is_empty() {
            validate_interface_name(&self.network_interface)?;
        }
        for s in &self.subnets {
            s.validate()?;
        }
        for (i, a) in self.subnets.iter().enumerate() {
            for b in &self.subnets[i + 1..] {
                if overlaps(&a.subnet, &b.subnet) {
                    return Err(NetworkError::Invalid(format!(
                        "subnet {} overlaps subnet {} of the same network",
                        b.subnet, a.subnet
                    )));
                }
            }
        }
        Ok(())
    }
}

impl Subnet {
    /// A subnet with its host bits cleared and, unless given, the first address as gateway.
    pub fn new(subnet: IpNet, gateway: Option<IpAddr>, range: Option<IpNet>) -> Result<Subnet> {
        let subnet = subnet.trunc();
        let gateway = match gateway {
            Some(g) => Some(g),
            None => Some(nth_host(&subnet, 1).ok_or_else(|| {
                NetworkError::Invalid(format!("subnet {subnet} has no address for a gateway"))
            })?),
        };
        let lease_range = match range {
            None => None,
            Some(r) => {
                let r = r.trunc();
                if !subnet.contains(&r) {
                    return Err(NetworkError::Invalid(format!(
                        "ip range {r} is not inside subnet {subnet}"
                    )));
                }
                Some(LeaseRange {
                    start_ip: nth_host(&r, 1).or(Some(r.network())),
                    end_ip: last_host(&r),
                })
            }
        };
        let s = Subnet {
            subnet,
            gateway,
            lease_range,
        };
        s.validate()?;
        Ok(s)
    }

    /// The gateway inside the subnet, the lease range inside it.
    pub fn validate(&self) -> Result<()> {
        if let Some(g) = self.gateway {
            if !self.subnet.contains(&g) || !is_host(&self.subnet, g) {
                return Err(NetworkError::Invalid(format!(
                    "gateway ip {g} not in subnet {}",
                    self.subnet
                )));
            }
        }
        if let Some(r) = &self.lease_range {
            for ip in [r.start_ip, r.end_ip].into_iter().flatten() {
                if !self.subnet.contains(&ip) {
                    return Err(NetworkError::Invalid(format!(
                        "lease range ip {ip} not in subnet {}",
                        self.subnet
                    )));
                }
            }
        }
        Ok(())
    }
}

/// Podman's rule for network names: `[a-zA-Z0-9][a-zA-Z0-9_.-]*`.
pub fn validate_name(name: &str) -> Result<()> {
    let mut bytes = name.bytes();
    let ok = bytes.next().is_some_and(|b| b.is_ascii_alphanumeric())
        && bytes.all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(NetworkError::Invalid(format!(
            "network name {name} invalid: names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*: invalid argument"
        )))
    }
}

/// A Linux interface name: 1 to 15 bytes, no `/`, whitespace or `:`, not `.` or `..`.
pub fn validate_interface_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 15
        && name != "."
        && name != ".."
        && !name
            .bytes()
            .any(|b| b == b'/' || b == b':' || b.is_ascii_whitespace());
    if ok {
        Ok(())
    } else {
        Err(NetworkError::Invalid(format!(
            "interface name {name:?} invalid: 1 to 15 characters without '/', ':' or spaces"
        )))
    }
}

/// Why aardvark-dns could not serve `name` (a container's name or alias) as a DNS name, or
/// `None` when it can: each dot-separated label 1 to 63 characters of letters, digits, `-`
/// and `_` (aardvark-dns serves `_`, and berth's generated names have one), 253 in all.
/// Podman 4.3 accepts such a name and the lookups of it fail; berth refuses it (issue 15).
pub fn dns_name_problem(name: &str) -> Option<String> {
    if name.is_empty() || name.len() > 253 {
        return Some("a DNS name is 1 to 253 characters".to_string());
    }
    for label in name.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Some(format!(
                "each dot-separated label of a DNS name is 1 to 63 characters, {:?} has {}",
                label,
                label.len()
            ));
        }
        if let Some(c) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
        {
            return Some(format!("{c:?} cannot be in a DNS name"));
        }
    }
    None
}

/// Whether two subnets share an address.
pub fn overlaps(a: &IpNet, b: &IpNet) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

/// `net`'s address number `n` (0 the network address), if inside it.
pub fn nth_host(net: &IpNet, n: u128) -> Option<IpAddr> {
    let ip = from_u128(net.network(), to_u128(net.network()).checked_add(n)?);
    net.contains(&ip).then_some(ip)
}

/// The last address a host can have: the broadcast's predecessor in IPv4, the last in IPv6.
fn last_host(net: &IpNet) -> Option<IpAddr> {
    let last = to_u128(net.broadcast());
    let last = if net.network().is_ipv4() && net.prefix_len() < 31 {
        last - 1
    } else {
        last
    };
    Some(from_u128(net.network(), last))
}

/// Whether `ip` may be a host's in `net`: not IPv4's network or broadcast address (a /31 and
/// a /32 have neither).
pub fn is_host(net: &IpNet, ip: IpAddr) -> bool {
    match net {
        IpNet::V4(n) if n.prefix_len() < 31 => ip != net.network() && ip != net.broadcast(),
        IpNet::V4(_) => true,
        IpNet::V6(_) => ip != net.network(),
    }
}

/// An address as a number (IPv4 in the low 32 bits).
pub fn to_u128(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u32::from(v4) as u128,
        IpAddr::V6(v6) => u128::from(v6),
    }
}

/// The address number `n` of `like`'s family.
pub fn from_u128(like: IpAddr, n: u128) -> IpAddr {
    match like {
        IpAddr::V4(_) => IpAddr::V4((n as u32).into()),
        IpAddr::V6(_) => IpAddr::V6(n.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_names_aardvark_can_serve() {
        for ok in ["web", "my_ctr", "a.b", "x-1", &"a".repeat(63)] {
            assert_eq!(dns_name_problem(ok), None, "{ok}");
        }
        for bad in [
            "",
            "a..b",
            "a.",
            &"a".repeat(64),
            "a b",
            "a/b",
            &"a.".repeat(127),
        ] {
            assert!(dns_name_problem(bad).is_some(), "{bad}");
        }
    }

    /// A definition exactly as Podman 4.3 writes it.
    const PODMAN: &str = r#"{
     "name": "podman",
     "id": "2f259bab93aaaaa2542ba43ef33eb990d0999ee1b9924b557b7be53c0b7a1bb9",
     "driver": "bridge",
     "network_interface": "podman0",
     "created": "2023-05-04T10:11:12.123456789Z",
     "subnets": [
          {
               "subnet": "10.88.0.0/16",
               "gateway": "10.88.0.1",
               "lease_range": { "start_ip": "10.88.0.10", "end_ip": "10.88.0.20" }
          }
     ],
     "ipv6_enabled": false,
     "internal": false,
     "dns_enabled": false,
     "labels": { "a": "b" },
     "ipam_options": {
          "driver": "host-local"
     }
}"#;

    #[test]
    fn podman_definitions_round_trip() {
        let n = Network::from_json(PODMAN.as_bytes()).unwrap();
        n.validate().unwrap();
        assert_eq!(n.short_id(), "2f259bab93aa");
        assert_eq!(n.subnets[0].gateway, Some("10.88.0.1".parse().unwrap()));
        let again = Network::from_json(n.to_json().as_bytes()).unwrap();
        assert_eq!(again, n);
        let v: serde_json::Value = serde_json::from_str(&n.to_json()).unwrap();
        assert_eq!(v["subnets"][0]["subnet"], "10.88.0.0/16");
        assert_eq!(v["ipam_options"]["driver"], "host-local");
        // Empty maps are left out, as Go's omitempty does.
        assert!(v.get("options").is_none());
    }

    #[test]
    fn names_follow_podmans_rule() {
        for ok in ["a", "net-1", "A.b_c", "9"] {
            validate_name(ok).unwrap();
        }
        for bad in ["", "-a", ".a", "a b", "a/b", "ä"] {
            let e = validate_name(bad).unwrap_err().to_string();
            assert!(e.contains("[a-zA-Z0-9][a-zA-Z0-9_.-]*"), "{e}");
        }
    }

    #[test]
    fn subnets_get_a_gateway_and_keep_it_inside() {
        let s = Subnet::new("10.5.6.7/24".parse().unwrap(), None, None).unwrap();
        assert_eq!(s.subnet.to_string(), "10.5.6.0/24");
        assert_eq!(s.gateway, Some("10.5.6.1".parse().unwrap()));
        let e = Subnet::new(
            "10.5.6.0/24".parse().unwrap(),
            Some("10.5.7.1".parse().unwrap()),
            None,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "gateway ip 10.5.7.1 not in subnet 10.5.6.0/24"
        );
        let r = Subnet::new(
            "10.5.6.0/24".parse().unwrap(),
            None,
            Some("10.5.6.128/25".parse().unwrap()),
        )
        .unwrap();
        let range = r.lease_range.unwrap();
        assert_eq!(range.start_ip, Some("10.5.6.129".parse().unwrap()));
        assert_eq!(range.end_ip, Some("10.5.6.254".parse().unwrap()));
        assert!(Subnet::new(
            "10.5.6.0/24".parse().unwrap(),
            None,
            Some("10.5.0.0/16".parse().unwrap())
        )
        .is_err());
    }

    #[test]
    fn overlap_is_symmetric() {
        let a: IpNet = "10.0.0.0/16".parse().unwrap();
        let b: IpNet = "10.0.5.0/24".parse().unwrap();
        let c: IpNet = "10.1.0.0/24".parse().unwrap();
        assert!(overlaps(&a, &b) && overlaps(&b, &a));
        assert!(!overlaps(&a, &c) && !overlaps(&c, &a));
    }
}
