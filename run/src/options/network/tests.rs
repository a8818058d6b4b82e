//! The network flags against what Podman 4.3.1 accepts and prints for the same values.

use super::*;

fn net(values: &[&str]) -> Network {
    Network::parse_flags(values).unwrap()
}

fn net_err(values: &[&str]) -> String {
    Network::parse_flags(values).unwrap_err().to_string()
}

fn named(name: &str) -> NetworkAttachment {
    NetworkAttachment {
        name: Some(name.into()),
        ..Default::default()
    }
}

fn flags(f: impl FnOnce(&mut NetworkFlags)) -> Result<(RunOptions, Vec<&'static str>)> {
    let mut nf = NetworkFlags::default();
    f(&mut nf);
    let mut o = RunOptions::default();
    let w = o.apply_network_flags(&nf)?;
    Ok((o, w))
}

fn flags_err(f: impl FnOnce(&mut NetworkFlags)) -> String {
    flags(f).unwrap_err().to_string()
}

#[test]
fn network_modes() {
    assert_eq!(net(&[]), Network::Host);
    assert_eq!(net(&["host"]), Network::Host);
    assert_eq!(net(&["none"]), Network::None);
    assert_eq!(net(&["private"]), Network::Private);
    assert_eq!(net(&[""]), Network::Private);
    assert_eq!(net(&["container:abc"]), Network::Container("abc".into()));
    assert_eq!(
        net(&["ns:/run/netns/x"]),
        Network::Ns("/run/netns/x".into())
    );
    assert_eq!(net(&["slirp4netns"]), Network::Slirp4netns(vec![]));
    assert_eq!(
        net(&["slirp4netns:port_handler=slirp4netns,mtu=1500"]),
        Network::Slirp4netns(vec!["port_handler=slirp4netns".into(), "mtu=1500".into()])
    );
    assert_eq!(
        net(&["pasta:-t,8080"]),
        Network::Pasta(vec!["-t".into(), "8080".into()])
    );
    assert_eq!(
        net(&["bridge"]),
        Network::Bridge(vec![NetworkAttachment::default()])
    );
    assert_eq!(net(&["a,b"]), Network::Bridge(vec![named("a"), named("b")]));
    assert_eq!(
        net(&["a", "b", "a"]),
        Network::Bridge(vec![named("a"), named("b")])
    );
    // Capitals and `host,none` are network names, as in Podman.
    assert_eq!(net(&["Host"]), Network::Bridge(vec![named("Host")]));
    assert_eq!(
        net(&["host,none"]),
        Network::Bridge(vec![named("host"), named("none")])
    );
}

#[test]
fn per_network_options() {
    assert_eq!(
        net(&["web:ip=10.89.0.9,ip6=fd00::9,mac=02:42:AC:11:00:02,alias=w,alias=x,interface_name=eth5"]),
        Network::Bridge(vec![NetworkAttachment {
            name: Some("web".into()),
            static_ips: vec!["10.89.0.9".parse().unwrap(), "fd00::9".parse().unwrap()],
            static_mac: Some("02:42:ac:11:00:02".into()),
            aliases: vec!["w".into(), "x".into()],
            interface_name: Some("eth5".into()),
        }])
    );
    assert_eq!(
        net(&["bridge:ip=10.88.0.50"]),
        Network::Bridge(vec![NetworkAttachment {
            static_ips: vec!["10.88.0.50".parse().unwrap()],
            ..Default::default()
        }])
    );
}

#[test]
fn network_errors_in_podmans_words() {
    assert_eq!(
        net_err(&["none:x"]),
        "invalid option for network none: unknown bridge network option: x"
    );
    assert_eq!(
        net_err(&["podman:foo=bar"]),
        "invalid option for network podman: unknown bridge network option: foo"
    );
    assert_eq!(
        net_err(&["podman:ip=1.2.3"]),
        "invalid option for network podman: invalid ip address \"1.2.3\""
    );
    assert_eq!(
        net_err(&["podman:mac=zz"]),
        "invalid option for network podman: address zz: invalid MAC address"
    );
    assert_eq!(
        net_err(&["podman:alias="]),
        "invalid option for network podman: alias cannot be empty"
    );
    assert_eq!(
        net_err(&["container:"]),
        "invalid config provided: namespace mode container requires a value"
    );
    assert_eq!(
        net_err(&["ns:"]),
        "invalid config provided: namespace mode path requires a value"
    );
    assert_eq!(
        net_err(&["host", "none"]),
        "cannot set multiple networks without bridge network mode, selected mode host: invalid argument"
    );
    assert_eq!(
        net_err(&["a", "slirp4netns"]),
        "cannot set multiple networks without bridge network mode, selected mode slirp4netns: invalid argument"
    );
    assert_eq!(
        net_err(&[":ip=1.2.3.4"]),
        "network name cannot be empty: invalid argument"
    );
}

#[test]
fn what_is_wired_as_root_and_as_a_plain_user() {
    for n in [&["host"][..], &["none"], &["container:abc"], &["ns:/x"]] {
        assert!(net(n).ensure_wired_as(true).is_ok(), "{n:?}");
        assert!(net(n).ensure_wired_as(false).is_ok(), "{n:?}");
    }
    // Bridge mode as a plain user too: netavark in the rootless netns.
    for n in [&["x"][..], &["private"], &["bridge"], &["a,b"]] {
        assert!(net(n).ensure_wired_as(true).is_ok(), "{n:?}");
        assert!(net(n).ensure_wired_as(false).is_ok(), "{n:?}");
    }
    assert_eq!(
        net(&["pasta"])
            .ensure_wired_as(true)
            .unwrap_err()
            .to_string(),
        "--network pasta: berth runs pasta only rootless; as root use --network bridge, \
         host or none"
    );
    for n in [&["slirp4netns"][..], &["pasta"]] {
        assert!(net(n).ensure_wired_as(true).is_err(), "{n:?}");
    }
    // Rootless: wired when installed; slirp4netns's options checked.
    let bad = net(&["slirp4netns:port_handler=rootlesskit"]).ensure_wired_as(false);
    assert!(bad.unwrap_err().to_string().contains("port_handler"));
    if berth_network::slirp4netns::find().is_ok() {
        assert!(net(&["slirp4netns:mtu=1500"])
            .ensure_wired_as(false)
            .is_ok());
    }
}

#[test]
fn requests_name_the_default_network() {
    let r = net(&["private"]).requests().unwrap();
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].network, berth_network::DEFAULT_NETWORK);
    let r = flags(|f| {
        f.network = vec!["web".into()];
        f.ip = vec!["10.89.0.5".into()];
        f.network_alias = vec!["a".into()];
    })
    .unwrap()
    .0
    .network
    .requests()
    .unwrap();
    assert_eq!(r[0].network, "web");
    assert_eq!(r[0].aliases, ["a"]);
    assert_eq!(r[0].static_ip, Some("10.89.0.5".parse().unwrap()));
    assert!(net(&["host"]).requests().is_none());
    assert_eq!(
        net(&["private"]).resolved(),
        Network::Bridge(vec![NetworkAttachment::default()])
    );
}

#[test]
fn ip_mac_and_alias_go_to_the_one_network() {
    let (o, _) = flags(|f| {
        f.network = vec!["web".into()];
        f.ip = vec!["10.89.0.5".into()];
        f.mac_address = Some("02-42-ac-11-00-02".into());
        f.network_alias = vec!["a".into(), "b".into()];
    })
    .unwrap();
    assert_eq!(
        o.network,
        Network::Bridge(vec![NetworkAttachment {
            name: Some("web".into()),
            static_ips: vec!["10.89.0.5".parse().unwrap()],
            static_mac: Some("02:42:ac:11:00:02".into()),
            aliases: vec!["a".into(), "b".into()],
            interface_name: None,
        }])
    );
    // The default mode is the default network.
    let (o, _) = flags(|f| {
        f.network = vec!["private".into()];
        f.ip6 = vec!["fd00::5".into()];
    })
    .unwrap();
    assert_eq!(
        o.network,
        Network::Bridge(vec![NetworkAttachment {
            static_ips: vec!["fd00::5".parse().unwrap()],
            ..Default::default()
        }])
    );
    assert_eq!(
        flags_err(|f| {
            f.network = vec!["host".into()];
            f.ip = vec!["10.88.0.5".into()];
        }),
        "--ip can only be set when the network mode is bridge: invalid argument"
    );
    assert_eq!(
        flags_err(|f| {
            f.network = vec!["none".into()];
            f.ip6 = vec!["fd00::1".into()];
        }),
        "--ip6 can only be set when the network mode is bridge: invalid argument"
    );
    assert_eq!(
        flags_err(|f| {
            f.network = vec!["host".into()];
            f.network_alias = vec!["a".into()];
        }),
        "--network-alias can only be set when the network mode is bridge: invalid argument"
    );
    assert_eq!(
        flags_err(|f| {
            f.network = vec!["a,b".into()];
            f.ip = vec!["10.88.0.5".into()];
        }),
        "--ip can only be set for a single network: invalid argument"
    );
    assert_eq!(
        flags_err(|f| f.ip = vec!["bad".into()]),
        "\"bad\" is not an ip address"
    );
    assert_eq!(
        flags_err(|f| f.mac_address = Some("zz".into())),
        "address zz: invalid MAC address"
    );
}

#[test]
fn dns_flags() {
    let (o, _) = flags(|f| {
        f.dns = vec!["1.1.1.1".into(), "2001:db8::1".into()];
        f.dns_search = vec!["a.com".into()];
        f.dns_option = vec!["ndots:2".into()];
    })
    .unwrap();
    assert_eq!(
        o.dns_servers,
        [
            "1.1.1.1".parse::<IpAddr>().unwrap(),
            "2001:db8::1".parse().unwrap()
        ]
    );
    assert_eq!(o.dns_search, ["a.com"]);
    assert_eq!(o.dns_options, ["ndots:2"]);
    let (o, _) = flags(|f| f.dns = vec!["none".into()]).unwrap();
    assert!(o.use_image_resolv_conf && o.dns_servers.is_empty());
    assert_eq!(
        flags_err(|f| f.dns = vec!["bad".into()]),
        "bad is not an ip address"
    );
    assert_eq!(
        flags_err(|f| f.dns = vec!["none".into(), "1.1.1.1".into()]),
        "none is not allowed to be specified with other DNS ip addresses"
    );
    for (net, mode) in [("none", "none"), ("container:x", "container")] {
        for set in [
            (|f: &mut NetworkFlags| f.dns = vec!["1.1.1.1".into()]) as fn(&mut NetworkFlags),
            |f| f.dns_search = vec!["a".into()],
            |f| f.dns_option = vec!["ndots:1".into()],
        ] {
            assert_eq!(
                flags_err(|f| {
                    f.network = vec![net.into()];
                    set(f)
                }),
                format!("conflicting options: dns and the network mode: {mode}")
            );
        }
    }
    // The host's network takes them.
    flags(|f| f.dns = vec!["1.1.1.1".into()]).unwrap();
}

#[test]
fn hosts_flags() {
    let (o, _) = flags(|f| {
        f.add_host = vec![
            "foo:1.2.3.4".into(),
            "bar:::1".into(),
            "a b:10.0.0.1".into(),
        ];
    })
    .unwrap();
    let want: Vec<HostEntry> = [("foo", "1.2.3.4"), ("bar", "::1"), ("a b", "10.0.0.1")]
        .iter()
        .map(|(n, ip)| HostEntry {
            name: n.to_string(),
            ip: ip.parse().unwrap(),
        })
        .collect();
    assert_eq!(o.add_hosts, want);
    assert_eq!(
        flags_err(|f| f.add_host = vec!["bad".into()]),
        "bad format for add-host: \"bad\""
    );
    assert_eq!(
        flags_err(|f| f.add_host = vec![":1.2.3.4".into()]),
        "bad format for add-host: \":1.2.3.4\""
    );
    assert_eq!(
        flags_err(|f| f.add_host = vec!["a:bad".into()]),
        "invalid IP address in add-host: \"bad\""
    );
    // Podman 4.3 has no host-gateway.
    assert_eq!(
        flags_err(|f| f.add_host = vec!["a:host-gateway".into()]),
        "invalid IP address in add-host: \"host-gateway\""
    );
    assert_eq!(
        flags_err(|f| {
            f.no_hosts = true;
            f.add_host = vec!["a:1.2.3.4".into()];
        }),
        "--no-hosts and --add-host cannot be set together"
    );
    let (o, _) = flags(|f| f.no_hosts = true).unwrap();
    assert!(o.use_image_hosts);
}

#[test]
fn publish_flags() {
    let (o, w) = flags(|f| {
        f.network = vec!["web".into()];
        f.publish = vec!["8080:80".into(), String::new(), "53/udp".into()];
        f.publish_all = true;
    })
    .unwrap();
    assert!(w.is_empty());
    assert_eq!(o.publish.len(), 2);
    assert!(o.publish_all);
    assert_eq!(
        flags_err(|f| f.publish = vec!["99999:80".into()]),
        "parsing host port: port numbers must be between 1 and 65535 (inclusive), got 99999"
    );
    // Discarded with Podman's warning where there is nothing to publish on.
    for net in ["host", "none", "container:x"] {
        let (o, w) = flags(|f| {
            f.network = vec![net.into()];
            f.publish = vec!["80".into()];
        })
        .unwrap();
        assert!(o.publish.is_empty());
        assert_eq!(w, [PORTS_DISCARDED]);
    }
}
