//! Unit tests of `-p` parsing and port allocation, against what Podman 4.3.1 prints and
//! records for the same flags.

use super::*;

fn p(s: &str) -> PublishSpec {
    PublishSpec::parse(s).unwrap()
}

fn e(s: &str) -> String {
    PublishSpec::parse(s).unwrap_err().to_string()
}

fn spec(ip: Option<&str>, host: u16, ctr: u16, range: u16, protocol: Protocol) -> PublishSpec {
    PublishSpec {
        host_ip: ip.map(|i| i.parse().unwrap()),
        host_port: host,
        container_port: ctr,
        range,
        protocol,
    }
}

fn m(ip: &str, host: u16, ctr: u16, range: u16, protocol: Protocol) -> PortMapping {
    PortMapping {
        host_ip: ip.into(),
        container_port: ctr,
        host_port: host,
        range,
        protocol,
    }
}

/// A picker handing out 40000, 40001, … whatever is asked.
fn counter() -> impl FnMut(Option<IpAddr>, Protocol) -> io::Result<u16> {
    let mut next = 40000;
    move |_, _| {
        next += 1;
        Ok(next - 1)
    }
}

fn alloc(
    specs: &[PublishSpec],
    exposed: &[(u16, Protocol)],
) -> Result<Vec<PortMapping>, PortError> {
    allocate(specs, exposed, &mut counter())
}

#[test]
fn forms_of_a_publish_value() {
    use Protocol::*;
    assert_eq!(p("80"), spec(None, 0, 80, 1, Tcp));
    assert_eq!(p("8080:80"), spec(None, 8080, 80, 1, Tcp));
    assert_eq!(
        p("127.0.0.1:8080:80/udp"),
        spec(Some("127.0.0.1"), 8080, 80, 1, Udp)
    );
    assert_eq!(p("127.0.0.1::80"), spec(Some("127.0.0.1"), 0, 80, 1, Tcp));
    assert_eq!(p(":80"), spec(None, 0, 80, 1, Tcp));
    assert_eq!(p("0.0.0.0:80:80"), spec(None, 80, 80, 1, Tcp));
    assert_eq!(p("[::1]:8080:80"), spec(Some("::1"), 8080, 80, 1, Tcp));
    assert_eq!(p("80/TCP"), spec(None, 0, 80, 1, Tcp));
    assert_eq!(p("80/sctp"), spec(None, 0, 80, 1, Sctp));
    assert_eq!(p("8000-8010:80-90"), spec(None, 8000, 80, 11, Tcp));
    assert_eq!(p("80-90"), spec(None, 0, 80, 11, Tcp));
}

#[test]
fn errors_in_podmans_words() {
    assert_eq!(
        e("99999:80"),
        "parsing host port: port numbers must be between 1 and 65535 (inclusive), got 99999"
    );
    assert_eq!(
        e("0:80"),
        "parsing host port: port numbers must be between 1 and 65535 (inclusive), got 0"
    );
    assert_eq!(
        e("a:b"),
        "parsing container port: invalid port number: parsing \"b\": invalid syntax"
    );
    assert_eq!(
        e("80:80/sctpx"),
        "unrecognized protocol \"sctpx\" in port mapping"
    );
    assert_eq!(
        e("80/tcp/udp"),
        "invalid port format - protocol can only be specified once"
    );
    assert_eq!(e("80:80/"), "must provide a non-empty protocol to publish");
    assert_eq!(
        e("80:"),
        "must provide a non-empty container port to publish"
    );
    assert_eq!(e(""), "must provide a non-empty container port to publish");
    assert_eq!(
        e("-80"),
        "parsing container port: port numbers cannot be negative"
    );
    assert_eq!(
        e("80-"),
        "parsing container port: must provide ending number for port range"
    );
    assert_eq!(
        e("1-2-3"),
        "parsing container port: invalid port format - port ranges are formatted as startPort-stopPort"
    );
    assert_eq!(
        e("90-80:80"),
        "parsing host port: the end port of a range must be higher than the start port - 80 is not higher than 90"
    );
    assert_eq!(
        e("8000-8010:80"),
        "host and container port ranges have different lengths: 11 vs 1"
    );
    assert_eq!(
        e("80:8000-8010"),
        "host and container port ranges have different lengths: 1 vs 11"
    );
    assert_eq!(e("1.2.3:80:80"), "cannot parse \"1.2.3\" as an IP address");
    assert_eq!(
        e(":80:80"),
        "must provide a non-empty container host IP to publish"
    );
    assert_eq!(
        e("::1:8080:80"),
        "invalid port format - format is [[hostIP:]hostPort:]containerPort"
    );
    assert_eq!(
        e("[::1]80:80"),
        "invalid port format - IPv6 address must be followed by a colon (':')"
    );
    assert_eq!(
        e("::1]:80:80"),
        "invalid port format - IPv6 addresses must be enclosed by []"
    );
    assert_eq!(
        e("[::1]:[::2]:80"),
        "invalid port format - at most one IPv6 address can be specified in a --publish"
    );
    assert_eq!(
        e("[::1]:80"),
        "invalid port format - must provide host and destination port if specifying an IP"
    );
    assert_eq!(
        e("[::1]:1:2:3"),
        "invalid port format - when v6 address specified, must be [ipv6]:hostPort:ctrPort"
    );
    assert_eq!(
        e("[fe80::1%eth0]:80:80"),
        "cannot parse \"fe80::1%eth0\" as an IP address"
    );
    assert_eq!(
        e(" 80"),
        "parsing container port: invalid port number: parsing \" 80\": invalid syntax"
    );
}

#[test]
fn fixed_ports_merge_as_podman_does() {
    use Protocol::*;
    // The same mapping twice is one.
    assert_eq!(
        alloc(&[p("80:80"), p("80:80")], &[]).unwrap(),
        [m("", 80, 80, 1, Tcp)]
    );
    // One container port on two host ports: both kept.
    assert_eq!(
        alloc(&[p("8081:80"), p("8080:80")], &[]).unwrap(),
        [m("", 8080, 80, 1, Tcp), m("", 8081, 80, 1, Tcp)]
    );
    // A range and a port inside it with the same offset: the range.
    assert_eq!(
        alloc(&[p("1000-1002:80-82"), p("1001:81")], &[]).unwrap(),
        [m("", 1000, 80, 3, Tcp)]
    );
    // Adjacent consistent ports join into one range.
    assert_eq!(
        alloc(&[p("8081:81"), p("8080:80")], &[]).unwrap(),
        [m("", 8080, 80, 2, Tcp)]
    );
    // One host port for two container ports is refused.
    assert_eq!(
        alloc(&[p("8080:80"), p("8080:81")], &[])
            .unwrap_err()
            .to_string(),
        "conflicting port mappings for host port 8080 (protocol tcp)"
    );
    assert_eq!(
        alloc(&[p("1000-1002:80-82"), p("1002:90")], &[])
            .unwrap_err()
            .to_string(),
        "conflicting port mappings for host port 1002 (protocol tcp)"
    );
    // Other protocols and addresses are other port spaces.
    assert_eq!(
        alloc(
            &[p("8080:80"), p("8080:81/udp"), p("127.0.0.1:8080:82")],
            &[]
        )
        .unwrap(),
        [
            m("", 8080, 80, 1, Tcp),
            m("", 8080, 81, 1, Udp),
            m("127.0.0.1", 8080, 82, 1, Tcp)
        ]
    );
}

#[test]
fn omitted_host_ports_are_picked() {
    use Protocol::*;
    // `-p 80 -p 80`: one mapping, one picked port.
    assert_eq!(
        alloc(&[p("80"), p("80")], &[]).unwrap(),
        [m("", 40000, 80, 1, Tcp)]
    );
    // Overlapping container ranges are joined before picking.
    assert_eq!(
        alloc(&[p("80-82"), p("81-84")], &[]).unwrap(),
        [m("", 40000, 80, 5, Tcp)]
    );
    // Fixed first, then the picked ones, per protocol.
    assert_eq!(
        alloc(&[p("81"), p("9000:90"), p("80/udp")], &[]).unwrap(),
        [
            m("", 9000, 90, 1, Tcp),
            m("", 40000, 81, 1, Tcp),
            m("", 40001, 80, 1, Udp)
        ]
    );
    // A picked port already given to a fixed mapping is skipped.
    assert_eq!(
        alloc(&[p("40000:90"), p("81")], &[]).unwrap(),
        [m("", 40000, 90, 1, Tcp), m("", 40001, 81, 1, Tcp)]
    );
    // The picker sees the address and protocol.
    let mut seen = Vec::new();
    allocate(&[p("127.0.0.1::80/udp")], &[], &mut |ip, proto| {
        seen.push((ip, proto));
        Ok(5000)
    })
    .unwrap();
    assert_eq!(seen, [(Some("127.0.0.1".parse().unwrap()), Udp)]);
    // A picker that never finds one.
    let e = allocate(&[p("80-81")], &[], &mut |_, _| Ok(65535)).unwrap_err();
    assert_eq!(
        e.to_string(),
        "failed to find an open port to expose container port 80 with range 2 on the host"
    );
}

#[test]
fn publish_all_adds_unpublished_exposed_ports() {
    use Protocol::*;
    let exposed = exposed_ports(["80/tcp", "53/udp", "8080", "7000-7001/tcp"]).unwrap();
    assert_eq!(
        exposed,
        [(53, Udp), (80, Tcp), (7000, Tcp), (7001, Tcp), (8080, Tcp)]
    );
    assert_eq!(
        alloc(&[p("8080:80")], &exposed).unwrap(),
        [
            m("", 8080, 80, 1, Tcp),
            m("", 40000, 53, 1, Udp),
            m("", 40001, 7000, 1, Tcp),
            m("", 40002, 7001, 1, Tcp),
            m("", 40003, 8080, 1, Tcp),
        ]
    );
    assert!(exposed_ports(["80/icmp"]).is_err());
    assert!(exposed_ports(["x/tcp"]).is_err());
}

#[test]
fn netavark_json() {
    let json = serde_json::to_string(&m("", 8080, 80, 1, Protocol::Tcp)).unwrap();
    assert_eq!(
        json,
        r#"{"host_ip":"","container_port":80,"host_port":8080,"range":1,"protocol":"tcp"}"#
    );
}

#[test]
fn the_kernel_picks_a_free_port() {
    let ip = Some("127.0.0.1".parse().unwrap());
    for proto in [Protocol::Tcp, Protocol::Udp, Protocol::Sctp] {
        let port = bind_free_port(ip, proto).unwrap();
        assert_ne!(port, 0);
    }
}
