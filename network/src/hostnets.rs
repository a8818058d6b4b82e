//! The subnets the host already uses (an address on an interface, a route), which a new
//! network must not overlap, as Podman checks before it picks or accepts a subnet; and the
//! host's interface addresses themselves.

use std::net::{IpAddr, Ipv4Addr};

use ipnet::IpNet;

/// Every subnet of an address on a host interface, and every IPv4 route's destination except
/// the default route's (which would overlap everything).
pub fn host_subnets() -> Vec<IpNet> {
    let mut nets: Vec<IpNet> = interface_addresses().iter().map(IpNet::trunc).collect();
    nets.extend(
        std::fs::read_to_string("/proc/net/route")
            .map(|t| parse_routes(&t))
            .unwrap_or_default(),
    );
    nets
}

/// Whether a network interface `name` exists on the host.
pub fn interface_exists(name: &str) -> bool {
    std::path::Path::new("/sys/class/net").join(name).exists()
}

/// Each address on each interface with its prefix length (`getifaddrs(3)`), in the kernel's
/// order, loopback's included.
pub fn interface_addresses() -> Vec<IpNet> {
    let mut out = Vec::new();
    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs(3) fills `head` with a list freed below with freeifaddrs(3).
    if unsafe { libc::getifaddrs(&mut head) } != 0 {
        return out;
    }
    let mut cur = head;
    while !cur.is_null() {
        // SAFETY: `cur` is a node of the list getifaddrs returned, alive until freeifaddrs.
        let ifa = unsafe { &*cur };
        // SAFETY: the address and netmask pointers are null or point at sockaddrs of their
        // family, as getifaddrs(3) documents.
        if let (Some(addr), Some(mask)) = unsafe { (ip_of(ifa.ifa_addr), ip_of(ifa.ifa_netmask)) } {
            let prefix = match mask {
                IpAddr::V4(m) => u32::from(m).leading_ones(),
                IpAddr::V6(m) => u128::from(m).leading_ones(),
            };
            if let Ok(net) = IpNet::new(addr, prefix as u8) {
                out.push(net);
            }
        }
        cur = ifa.ifa_next;
    }
    // SAFETY: the list getifaddrs returned, freed once.
    unsafe { libc::freeifaddrs(head) };
    out
}

/// The address in a `sockaddr` of family INET or INET6.
///
/// # Safety
/// `sa` is null or points at a sockaddr as long as its family says.
unsafe fn ip_of(sa: *const libc::sockaddr) -> Option<IpAddr> {
    if sa.is_null() {
        return None;
    }
    match (*sa).sa_family as i32 {
        libc::AF_INET => {
            let sin = &*(sa as *const libc::sockaddr_in);
            Some(IpAddr::V4(Ipv4Addr::from(u32::from_be(
                sin.sin_addr.s_addr,
            ))))
        }
        libc::AF_INET6 => {
            let sin6 = &*(sa as *const libc::sockaddr_in6);
            Some(IpAddr::V6(sin6.sin6_addr.s6_addr.into()))
        }
        _ => None,
    }
}

/// The destinations of `/proc/net/route` (hex, in the host's byte order), default excluded.
fn parse_routes(text: &str) -> Vec<IpNet> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let dest = u32::from_str_radix(f.get(1)?, 16).ok()?;
            let mask = u32::from_str_radix(f.get(7)?, 16).ok()?;
            if mask == 0 {
                return None;
            }
            // The kernel prints the big-endian word as a native number.
            let addr = Ipv4Addr::from(dest.to_ne_bytes());
            let prefix = u32::from_be_bytes(mask.to_ne_bytes()).leading_ones() as u8;
            IpNet::new(IpAddr::V4(addr), prefix).ok().map(|n| n.trunc())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_read_as_the_kernel_writes_them() {
        let text =
            "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
            eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n\
            eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n";
        let nets = parse_routes(text);
        assert_eq!(nets, vec!["192.0.2.0/24".parse::<IpNet>().unwrap()]);
    }

    #[test]
    fn loopback_is_among_the_host_subnets() {
        assert!(host_subnets().contains(&"127.0.0.0/8".parse().unwrap()));
    }
}
