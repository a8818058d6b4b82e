//! Networks, published ports and volumes through the REST API, driven by the real docker
//! CLI (harness: `docker_api`'s [`Service`]), as root with netavark: `network create`, two
//! containers resolving each other by name, `run -d -p 127.0.0.1:PORT:80` then curl and
//! `docker port`, `network inspect`'s containers, `volume create/ls/inspect/rm` and a named
//! volume's data kept across two containers; raw requests for the refusals. Traffic goes only
//! to 127.0.0.1 and inside the test's own network, which is removed even when a test fails.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::docker_api::Service;
use crate::run_network::{fetch, free_port, unique, wired};

/// A network the test made through the API, removed with its containers (by berth's CLI, on
/// the same store) when dropped.
struct ApiNetwork<'a> {
    s: &'a Service,
    name: String,
}

impl<'a> ApiNetwork<'a> {
    fn create(s: &'a Service, tag: &str) -> ApiNetwork<'a> {
        ApiNetwork::labelled(s, tag, "berth.test=api-netvol")
    }

    fn labelled(s: &'a Service, tag: &str, label: &str) -> ApiNetwork<'a> {
        let name = unique(&format!("apinv-{tag}"));
        let id = s.ok(&["network", "create", "--label", label, &name]);
        assert_eq!(id.trim().len(), 64, "{id}");
        ApiNetwork { s, name }
    }
}

impl Drop for ApiNetwork<'_> {
    fn drop(&mut self) {
        let _ = self.s.r.cmd(&["rm", "-f", "-a"]).output();
        let _ = self.s.r.run(&["network", "rm", "-f", &self.name]);
    }
}

/// A detached busybox httpd serving `text`, with `flags` (through the docker CLI).
fn httpd(s: &Service, name: &str, flags: &[&str], text: &str) -> String {
    let mut args = vec!["run", "-d", "--name", name];
    args.extend_from_slice(flags);
    let script =
        format!("mkdir -p /www && echo {text} > /www/index.html && exec httpd -f -p 80 -h /www");
    args.extend(["busybox", "sh", "-c", &script]);
    s.ok(&args).trim().to_string()
}

/// `docker run --rm …` until it succeeds (aardvark-dns and the server need a moment); stdout.
fn run_until(s: &Service, args: &[&str]) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let out = s.docker(args);
        if out.status.success() {
            return String::from_utf8_lossy(&out.stdout).into_owned();
        }
        assert!(Instant::now() < deadline, "docker {args:?}: {out:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn docker_network_create_and_containers_resolve_each_other_by_name() {
    if !wired() {
        return;
    }
    let s = Service::start();
    let net = ApiNetwork::create(&s, "dns");
    let ls = s.ok(&[
        "network",
        "ls",
        "--format",
        "{{.Name}} {{.Driver}} {{.Scope}}",
    ]);
    assert!(ls.contains(&format!("{} bridge local", net.name)), "{ls}");
    assert!(
        ls.contains("bridge bridge local"),
        "the default network as Docker's: {ls}"
    );
    let filtered = s.ok(&[
        "network",
        "ls",
        "-q",
        "--filter",
        "label=berth.test=api-netvol",
        "--filter",
        &format!("name={}", net.name),
    ]);
    assert_eq!(filtered.lines().count(), 1, "{filtered}");
    let web_name = format!("{}-web", net.name);
    httpd(
        &s,
        &web_name,
        &["--network", &net.name, "--network-alias", "www"],
        "by-dns",
    );
    for host in [web_name.as_str(), "www"] {
        let url = format!("http://{host}/");
        let got = run_until(
            &s,
            &[
                "run",
                "--rm",
                "--network",
                &net.name,
                "busybox",
                "wget",
                "-qO-",
                &url,
            ],
        );
        assert_eq!(got, "by-dns\n", "{host}");
    }
    // inspect: the container's address on the network, and the network's containers.
    let ip = s.ok(&[
        "inspect",
        "--format",
        "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{$v.IPAddress}} {{$v.Aliases}}{{end}}",
        &web_name,
    ]);
    assert!(ip.starts_with(&format!("{} ", net.name)), "{ip}");
    assert!(ip.contains("www"), "{ip}");
    let addr = ip.split_whitespace().nth(1).unwrap_or_default().to_string();
    assert!(addr.parse::<std::net::Ipv4Addr>().is_ok(), "{ip}");
    let inspect: Value = serde_json::from_str(&s.ok(&["network", "inspect", &net.name])).unwrap();
    let containers = inspect[0]["Containers"].as_object().unwrap();
    let entry = containers.values().next().expect("the web container");
    assert_eq!(entry["Name"], web_name.as_str());
    assert!(
        entry["IPv4Address"].as_str().unwrap().starts_with(&addr),
        "{entry}"
    );
    // A static address through EndpointsConfig.IPAMConfig (`--ip`), in the network's subnet.
    let subnet = inspect[0]["IPAM"]["Config"][0]["Subnet"]
        .as_str()
        .unwrap()
        .to_string();
    let octets: Vec<&str> = subnet.split('/').next().unwrap().split('.').collect();
    let fixed = format!("{}.{}.{}.77", octets[0], octets[1], octets[2]);
    let fixed_name = format!("{}-fixed", net.name);
    s.ok(&[
        "run",
        "-d",
        "--name",
        &fixed_name,
        "--network",
        &net.name,
        "--ip",
        &fixed,
        "busybox",
        "sleep",
        "300",
    ]);
    let got = s.ok(&[
        "inspect",
        "--format",
        "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
        &fixed_name,
    ]);
    assert_eq!(got.trim(), fixed);
    s.ok(&["rm", "-f", &fixed_name]);
    // In use: refused (403, Docker's status); after the container is gone it goes.
    let out = s.docker(&["network", "rm", &net.name]);
    assert!(!out.status.success(), "{out:?}");
    s.ok(&["rm", "-f", &web_name]);
    s.ok(&["network", "rm", &net.name]);
    let out = s.docker(&["network", "inspect", &net.name]);
    assert!(!out.status.success());
    // prune by a label only this network has: it goes, the others stay.
    let label = unique("berth.test.prune=apinv");
    let lonely = ApiNetwork::labelled(&s, "prune", &label);
    let lonely = &lonely.name;
    let pruned = s.ok(&[
        "network",
        "prune",
        "-f",
        "--filter",
        &format!("label={label}"),
    ]);
    assert!(pruned.contains(lonely.as_str()), "{pruned}");
    assert!(!s.docker(&["network", "inspect", lonely]).status.success());
    assert!(s.docker(&["network", "inspect", "bridge"]).status.success());
    s.r.assert_no_leftovers();
}

/// `docker exec …` until it succeeds (a network just joined needs a moment); stdout.
fn exec_until(s: &Service, args: &[&str]) -> String {
    let mut exec = vec!["exec"];
    exec.extend_from_slice(args);
    run_until(s, &exec)
}

#[test]
fn docker_network_connect_and_disconnect_a_running_container() {
    if !wired() {
        return;
    }
    let s = Service::start();
    let net = ApiNetwork::create(&s, "conn");
    let web = format!("{}-web", net.name);
    httpd(&s, &web, &["--network", &net.name], "joined");
    let client = format!("{}-client", net.name);
    s.ok(&["run", "-d", "--name", &client, "busybox", "sleep", "300"]);
    // Not on the network yet: the name does not resolve.
    let url = format!("http://{web}/");
    let out = s.docker(&["exec", &client, "wget", "-T", "2", "-qO-", &url]);
    assert!(!out.status.success(), "{out:?}");
    s.ok(&["network", "connect", "--alias", "cli", &net.name, &client]);
    assert_eq!(exec_until(&s, &[&client, "wget", "-qO-", &url]), "joined\n");
    let nets = s.ok(&[
        "inspect",
        "--format",
        "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}",
        &client,
    ]);
    assert!(nets.contains(&net.name), "{nets}");
    // Twice: Docker's error, the container unchanged.
    let out = s.docker(&["network", "connect", &net.name, &client]);
    assert!(!out.status.success(), "{out:?}");
    s.ok(&["network", "disconnect", &net.name, &client]);
    let nets = s.ok(&[
        "inspect",
        "--format",
        "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}",
        &client,
    ]);
    assert!(!nets.contains(&net.name), "{nets}");
    let out = s.docker(&["exec", &client, "wget", "-T", "2", "-qO-", &url]);
    assert!(!out.status.success(), "{out:?}");
    s.ok(&["rm", "-f", &client, &web]);
    s.r.assert_no_leftovers();
}

#[test]
fn docker_run_publish_curl_and_port() {
    if !wired() {
        return;
    }
    let s = Service::start();
    let net = ApiNetwork::create(&s, "pub");
    let name = format!("{}-web", net.name);
    let port = free_port();
    let publish = format!("127.0.0.1:{port}:80");
    httpd(&s, &name, &["-p", &publish], "published");
    assert_eq!(fetch(&format!("http://127.0.0.1:{port}/")), "published\n");
    assert_eq!(
        s.ok(&["port", &name]).trim(),
        format!("80/tcp -> 127.0.0.1:{port}")
    );
    assert_eq!(
        s.ok(&["port", &name, "80"]).trim(),
        format!("127.0.0.1:{port}")
    );
    let ps = s.ok(&["ps", "--format", "{{.Names}} {{.Ports}}"]);
    assert!(
        ps.contains(&format!("{name} 127.0.0.1:{port}->80/tcp")),
        "{ps}"
    );
    // --dns and --add-host reach the container's files.
    let etc = s.ok(&[
        "run",
        "--rm",
        "--dns",
        "10.1.2.4",
        "--add-host",
        "apinv-host:10.1.2.3",
        "busybox",
        "cat",
        "/etc/resolv.conf",
        "/etc/hosts",
    ]);
    assert!(etc.contains("nameserver 10.1.2.4"), "{etc}");
    assert!(
        etc.contains("10.1.2.3") && etc.contains("apinv-host"),
        "{etc}"
    );
    let mode = s.ok(&["inspect", "--format", "{{.HostConfig.NetworkMode}}", &name]);
    assert_eq!(mode.trim(), "bridge");
    let ip = s.ok(&[
        "inspect",
        "--format",
        "{{.NetworkSettings.Networks.bridge.IPAddress}}",
        &name,
    ]);
    assert!(ip.trim().parse::<std::net::Ipv4Addr>().is_ok(), "{ip}");
    s.ok(&["rm", "-f", &name]);
    drop(net);
    s.r.assert_no_leftovers();
}

#[test]
fn docker_volume_commands_and_a_named_volume_keeps_its_data() {
    let s = Service::start();
    let vol = "apinv-data";
    assert_eq!(
        s.ok(&["volume", "create", "--label", "k=v", vol]).trim(),
        vol
    );
    // Created again: Docker gives the same volume back.
    assert_eq!(s.ok(&["volume", "create", vol]).trim(), vol);
    let ls = s.ok(&["volume", "ls", "--format", "{{.Driver}} {{.Name}}"]);
    assert_eq!(ls.trim(), format!("local {vol}"));
    assert_eq!(
        s.ok(&["volume", "ls", "-q", "--filter", "label=k=v"])
            .trim(),
        vol
    );
    assert_eq!(
        s.ok(&["volume", "ls", "-q", "--filter", "label=k=other"])
            .trim(),
        ""
    );
    let inspect = s.ok(&[
        "volume",
        "inspect",
        "--format",
        "{{.Name}} {{.Driver}} {{.Scope}} {{.Labels.k}} {{.Mountpoint}}",
        vol,
    ]);
    assert!(
        inspect.starts_with(&format!("{vol} local local v /")),
        "{inspect}"
    );
    // The CLI sees the same volume and its label, and the API what the CLI labelled.
    assert!(s.r.ok(&["volume", "inspect", vol]).contains("\"k\": \"v\""));
    s.r.ok(&["volume", "create", "--label", "from=cli", "apinv-cli"]);
    assert_eq!(
        s.ok(&["volume", "ls", "-q", "--filter", "label=from=cli"])
            .trim(),
        "apinv-cli"
    );
    s.ok(&["volume", "rm", "apinv-cli"]);
    let mount = format!("{vol}:/data");
    s.ok(&[
        "run",
        "--rm",
        "-v",
        &mount,
        "busybox",
        "sh",
        "-c",
        "echo kept > /data/f",
    ]);
    assert_eq!(
        s.ok(&["run", "--rm", "-v", &mount, "busybox", "cat", "/data/f"]),
        "kept\n"
    );
    // In use: refused; `-f` does not change that (as Docker).
    s.ok(&[
        "create",
        "--name",
        "apinv-user",
        "-v",
        &mount,
        "busybox",
        "true",
    ]);
    let out = s.docker(&["volume", "rm", vol]);
    assert!(!out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("volume is being used"),
        "{out:?}"
    );
    s.ok(&["rm", "apinv-user"]);
    s.ok(&["volume", "rm", vol]);
    assert_eq!(s.ok(&["volume", "ls", "-q"]).trim(), "");
    let out = s.docker(&["volume", "inspect", vol]);
    assert!(!out.status.success());
    // `rm -f` of a volume that is not there succeeds, as Docker.
    s.ok(&["volume", "rm", "-f", vol]);
    // prune: the unused ones only.
    s.ok(&["volume", "create", "apinv-a"]);
    s.ok(&["volume", "create", "apinv-b"]);
    s.ok(&[
        "create",
        "--name",
        "apinv-b-user",
        "-v",
        "apinv-b:/b",
        "busybox",
        "true",
    ]);
    let pruned = s.ok(&["volume", "prune", "-a", "-f"]);
    assert!(
        pruned.contains("apinv-a") && !pruned.contains("apinv-b"),
        "{pruned}"
    );
    s.ok(&["rm", "apinv-b-user"]);
}

#[test]
fn network_and_volume_requests_refused_clearly() {
    let s = Service::start();
    let (code, body) = s.http(
        "POST",
        "/v1.41/networks/create",
        br#"{"Name": "apinv-v6", "EnableIPv6": true}"#,
    );
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("IPv6"), "{body}");
    let (code, body) = s.http(
        "POST",
        "/networks/create",
        br#"{"Name": "apinv-drv", "Driver": "overlay"}"#,
    );
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("overlay"), "{body}");
    let (code, body) = s.http("GET", "/networks/apinv-nosuch", b"");
    assert_eq!(code, 404, "{body}");
    let (code, body) = s.http("DELETE", "/networks/bridge", b"");
    assert_eq!(code, 403, "{body}");
    let (code, body) = s.http(
        "POST",
        "/networks/bridge/connect",
        br#"{"Container": "apinv-nosuch"}"#,
    );
    assert_eq!(code, 404, "{body}");
    assert!(body.contains("apinv-nosuch"), "{body}");
    let (code, body) = s.http(
        "POST",
        "/volumes/create",
        br#"{"Name": "apinv-v", "Driver": "nfs"}"#,
    );
    assert_eq!(code, 400, "{body}");
    let (code, body) = s.http(
        "GET",
        "/volumes?filters=%7B%22nosuch%22%3A%5B%22x%22%5D%7D",
        b"",
    );
    assert_eq!(code, 400, "{body}");
    let (code, body) = s.http("GET", "/volumes", b"");
    assert_eq!(code, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v, serde_json::json!({"Volumes": [], "Warnings": []}));
    let (code, body) = s.http("DELETE", "/volumes/apinv-nosuch", b"");
    assert_eq!(code, 404, "{body}");
    let (code, body) = s.http(
        "POST",
        "/containers/create",
        br#"{"Image": "busybox", "Domainname": "example.org"}"#,
    );
    assert_eq!(code, 400, "{body}");
}
