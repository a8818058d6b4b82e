//! The network options observable before private networks are wired (issue 15): `--add-host`,
//! `--dns*`, `--no-hosts` on the host's network and on none, `-p` errors, and `-p` with
//! the host's network, each with Podman 4.3's words.

use std::fs;

use crate::run::{busybox, RunEnv};
use crate::run_parity::host_entries;

/// The words of the host's resolv.conf's last `KEY` line (`search`, `options`).
fn host_resolv_words(key: &str) -> Vec<String> {
    let text = fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    let mut words = Vec::new();
    for line in text.lines() {
        let mut f = line.split('#').next().unwrap().split_whitespace();
        if f.next() == Some(key) {
            words = f.map(str::to_string).collect();
        }
    }
    words
}

/// `berth run --rm FLAGS busybox sh -c SCRIPT` (FLAGS split at spaces); its stdout.
fn run_sh(r: &RunEnv, flags: &str, script: &str) -> String {
    let mut args = vec!["run", "--rm"];
    args.extend(flags.split_whitespace());
    args.extend(["busybox", "sh", "-c", script]);
    r.ok(&args)
}

/// A script printing whether `path` exists in the container.
fn exists(path: &str) -> String {
    format!("test -e {path} && echo present || echo absent")
}

#[test]
fn add_host_and_own_name_on_no_network() {
    let r = busybox();
    let flags = "--name nm --hostname hh --network none --add-host foo:1.2.3.4 \
                 --add-host bar:::1,baz:10.0.0.1";
    let out = run_sh(&r, flags, "cat /etc/hosts");
    let want_start = format!("1.2.3.4\tfoo\n::1\tbar\n10.0.0.1\tbaz\n{}", host_entries());
    assert!(out.starts_with(&want_start), "{out}");
    assert!(out.ends_with("127.0.0.1\thh nm\n"), "{out}");
}

#[test]
fn add_host_on_the_hosts_network() {
    let r = busybox();
    let out = run_sh(
        &r,
        "--network host --add-host foo:1.2.3.4",
        "cat /etc/hosts",
    );
    assert!(
        out.starts_with(&format!("1.2.3.4\tfoo\n{}", host_entries())),
        "{out}"
    );
}

#[test]
fn dns_flags_on_the_hosts_network() {
    let r = busybox();
    let flags = "--network host --dns 1.1.1.1 --dns-search a.com --dns-search b.org \
                 --dns-option ndots:2";
    let out = run_sh(&r, flags, "cat /etc/resolv.conf");
    let mut search = vec!["a.com".to_string(), "b.org".to_string()];
    search.extend(host_resolv_words("search"));
    let mut options = vec!["ndots:2".to_string()];
    options.extend(host_resolv_words("options"));
    assert_eq!(
        out,
        format!(
            "search {}\nnameserver 1.1.1.1\noptions {}\n",
            search.join(" "),
            options.join(" ")
        )
    );
    // `--dns none`: the image's file (this image has none).
    let script = exists("/etc/resolv.conf");
    assert_eq!(run_sh(&r, "--network host --dns none", &script), "absent\n");
}

#[test]
fn no_hosts_keeps_the_images_file() {
    let r = busybox();
    let script = exists("/etc/hosts");
    for net in ["none", "host"] {
        let flags = format!("--network {net} --no-hosts");
        assert_eq!(run_sh(&r, &flags, &script), "absent\n", "{flags}");
    }
}

#[test]
fn network_option_errors_in_podmans_words() {
    let r = busybox();
    let cases: &[(&[&str], &str)] = &[
        (&["--network", "none", "--dns", "1.1.1.1"], "conflicting options: dns and the network mode: none"),
        (&["--network", "none", "--dns-search", "a.com"], "conflicting options: dns and the network mode: none"),
        (&["--dns", "bad"], "bad is not an ip address"),
        (&["--no-hosts", "--add-host", "a:1.2.3.4"], "--no-hosts and --add-host cannot be set together"),
        (&["--add-host", "bad"], "bad format for add-host: \"bad\""),
        (&["--add-host", "a:host-gateway"], "invalid IP address in add-host: \"host-gateway\""),
        (&["-p", "99999:80"], "parsing host port: port numbers must be between 1 and 65535 (inclusive), got 99999"),
        (&["-p", "a:b"], "parsing container port: invalid port number: parsing \"b\": invalid syntax"),
        (&["-p", "80:80/sctpx"], "unrecognized protocol \"sctpx\" in port mapping"),
        (&["-p", "8000-8010:80"], "host and container port ranges have different lengths: 11 vs 1"),
        (&["-p", "90-80:80"], "parsing host port: the end port of a range must be higher than the start port - 80 is not higher than 90"),
        (&["--network", "host", "--network", "none"], "cannot set multiple networks without bridge network mode, selected mode host: invalid argument"),
        (&["--network", "none:x"], "invalid option for network none: unknown bridge network option: x"),
        (&["--network", "host", "--ip", "10.88.0.5"], "--ip can only be set when the network mode is bridge: invalid argument"),
        (&["--mac-address", "zz"], "address zz: invalid MAC address"),
        (&["--network", "slirp4netns"], "--network slirp4netns: berth runs slirp4netns only rootless; as root use --network bridge, host or none"),
        (&["--network", "berth-no-such-net:alias=w"], "unable to find network with name or ID berth-no-such-net: network not found"),
    ];
    for (flags, want) in cases {
        for cmd in ["run", "create"] {
            let mut args = vec![cmd, "--rm"];
            args.extend_from_slice(flags);
            args.extend_from_slice(&["busybox", "true"]);
            let (code, _, err) = r.code(&args);
            assert_eq!(code, Some(125), "{args:?}: {err}");
            assert_eq!(err, format!("Error: {want}\n"), "{args:?}");
        }
    }
    // Nothing was created.
    assert_eq!(r.ok(&["ps", "-aq"]).trim(), "");
}

#[test]
fn publish_with_no_network_of_its_own_warns_and_runs() {
    let r = busybox();
    for flags in [
        "--network host -p 8080:80 -p 53/udp",
        "--network none -p 80",
    ] {
        let mut args = vec!["run", "--rm"];
        args.extend(flags.split_whitespace());
        args.extend(["-p", "", "busybox", "true"]);
        let out = r.run(&args);
        assert!(out.status.success(), "{out:?}");
        assert_eq!(
            String::from_utf8_lossy(&out.stderr),
            "Port mappings have been discarded as one of the Host, Container, Pod, and None \
             network modes are in use\n",
            "{flags}"
        );
    }
    // `-P` alone is silent there, as in Podman.
    let out = r.run(&["run", "--rm", "--network", "host", "-P", "busybox", "true"]);
    assert!(out.status.success() && out.stderr.is_empty(), "{out:?}");
}
