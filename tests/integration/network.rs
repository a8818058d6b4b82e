//! `berth network`: create, ls, inspect, exists, rm, prune, a free subnet picked, and the
//! errors (a name that exists, an overlapping subnet, a gateway outside its subnet, the
//! default network). Networks are host-wide (`/etc/berth/networks` as root): every test uses
//! names of its own and removes them even when it fails.

use serde_json::Value;

use crate::util::TestEnv;

/// Names unique to this test process and call.
fn unique(tag: &str) -> String {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("bt-{tag}-{}-{n}", std::process::id())
}

/// Removes the networks named in it when dropped.
struct Networks<'a> {
    env: &'a TestEnv,
    names: Vec<String>,
}

impl Drop for Networks<'_> {
    fn drop(&mut self) {
        for n in &self.names {
            let _ = self.env.run(&["network", "rm", n]);
        }
    }
}

fn inspect(env: &TestEnv, name: &str) -> Value {
    let out = env.ok(&["network", "inspect", name]);
    let v: Value = serde_json::from_str(&out).unwrap();
    v[0].clone()
}

#[test]
fn network_create_ls_inspect_exists_rm() {
    let env = TestEnv::new();
    let name = unique("crud");
    let guard = Networks {
        env: &env,
        names: vec![name.clone()],
    };
    let out = env.ok(&[
        "network",
        "create",
        "--subnet",
        "10.213.7.0/24",
        "--gateway",
        "10.213.7.254",
        "--ip-range",
        "10.213.7.128/25",
        "--label",
        "team=a",
        "--internal",
        "--disable-dns",
        &name,
    ]);
    assert_eq!(out, format!("{name}\n"));
    let n = inspect(&env, &name);
    assert_eq!(n["name"], name.as_str());
    assert_eq!(n["driver"], "bridge");
    assert_eq!(n["id"].as_str().unwrap().len(), 64);
    assert_eq!(n["subnets"][0]["subnet"], "10.213.7.0/24");
    assert_eq!(n["subnets"][0]["gateway"], "10.213.7.254");
    assert_eq!(n["subnets"][0]["lease_range"]["start_ip"], "10.213.7.129");
    assert_eq!(n["internal"], true);
    assert_eq!(n["dns_enabled"], false);
    assert_eq!(n["labels"]["team"], "a");
    assert_eq!(n["ipam_options"]["driver"], "host-local");
    assert!(n["network_interface"]
        .as_str()
        .unwrap()
        .starts_with("berth"));
    // By a prefix of its id too.
    let id = n["id"].as_str().unwrap().to_string();
    assert_eq!(inspect(&env, &id[..16])["name"], name.as_str());
    // ls: Podman's columns, the 12-digit id, the default network listed.
    let ls = env.ok(&["network", "ls"]);
    let mut lines = ls.lines();
    let header = lines.next().unwrap();
    assert!(header.starts_with("NETWORK ID  "), "{header}");
    assert_eq!(
        header.split_whitespace().collect::<Vec<_>>(),
        ["NETWORK", "ID", "NAME", "DRIVER"]
    );
    let row = ls.lines().find(|l| l.contains(&name)).expect("listed");
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(cells, [&id[..12], name.as_str(), "bridge"]);
    assert!(ls
        .lines()
        .any(|l| l.split_whitespace().nth(1) == Some("berth")));
    let quiet = env.ok(&["network", "ls", "-q"]);
    assert!(quiet.lines().any(|l| l == name));
    let formatted = env.ok(&[
        "network",
        "ls",
        "--filter",
        &format!("name={name}"),
        "--format",
        "{{.Name}} {{.Subnets}} {{.Internal}}",
    ]);
    assert_eq!(formatted, format!("{name} 10.213.7.0/24 true\n"));
    assert_eq!(
        env.ok(&[
            "network",
            "inspect",
            "--format",
            "{{.Name}} {{.DNSEnabled}}",
            &name
        ]),
        format!("{name} false\n")
    );
    // exists: 0, then 1 once removed.
    env.ok(&["network", "exists", &name]);
    assert_eq!(env.ok(&["network", "rm", &name]), format!("{name}\n"));
    assert_eq!(
        env.run(&["network", "exists", &name]).status.code(),
        Some(1)
    );
    let e = env.fails(&["network", "rm", &name], 1);
    assert!(
        e.contains(&format!(
            "unable to find network with name or ID {name}: network not found"
        )),
        "{e}"
    );
    env.fails(&["network", "inspect", &name], 125);
    drop(guard);
    env.assert_canary();
}

#[test]
fn network_create_picks_a_free_subnet_and_bridge() {
    let env = TestEnv::new();
    let (a, b) = (unique("auto"), unique("auto"));
    let _guard = Networks {
        env: &env,
        names: vec![a.clone(), b.clone()],
    };
    env.ok(&["network", "create", &a]);
    env.ok(&["network", "create", &b]);
    let (na, nb) = (inspect(&env, &a), inspect(&env, &b));
    let subnet = |n: &Value| n["subnets"][0]["subnet"].as_str().unwrap().to_string();
    let (sa, sb) = (subnet(&na), subnet(&nb));
    assert_ne!(sa, sb);
    for s in [&sa, &sb] {
        assert!(s.ends_with(".0/24"), "{s}");
        let second: u8 = s.split('.').nth(1).unwrap().parse().unwrap();
        assert!(s.starts_with("10.") && second >= 90, "{s}");
    }
    assert_eq!(
        na["subnets"][0]["gateway"].as_str().unwrap(),
        sa.replace(".0/24", ".1")
    );
    assert_ne!(na["network_interface"], nb["network_interface"]);
    assert_ne!(na["network_interface"], "berth0");
    assert_eq!(na["dns_enabled"], true);
    // A subnet that is taken is refused.
    let c = unique("overlap");
    let e = env.fails(&["network", "create", "--subnet", &sa, &c], 125);
    assert!(
        e.contains(&format!(
            "subnet {sa} is already used on the host or by another config"
        )),
        "{e}"
    );
    let e = env.fails(&["network", "create", "--subnet", "10.87.3.0/24", &c], 125);
    assert!(e.contains("already used"), "{e}");
    assert_eq!(env.run(&["network", "exists", &c]).status.code(), Some(1));
}

#[test]
fn network_errors_are_podmans() {
    let env = TestEnv::new();
    let name = unique("err");
    let _guard = Networks {
        env: &env,
        names: vec![name.clone()],
    };
    env.ok(&["network", "create", &name]);
    let e = env.fails(&["network", "create", &name], 125);
    assert_eq!(
        e.trim_end(),
        format!("Error: network name {name} already used: network already exists")
    );
    let other = unique("err");
    let e = env.fails(
        &[
            "network",
            "create",
            "--subnet",
            "10.214.0.0/24",
            "--gateway",
            "10.214.1.1",
            &other,
        ],
        125,
    );
    assert!(
        e.contains("gateway ip 10.214.1.1 not in subnet 10.214.0.0/24"),
        "{e}"
    );
    let e = env.fails(
        &["network", "create", "--gateway", "10.214.0.1", &other],
        125,
    );
    assert!(e.contains("without subnet"), "{e}");
    let e = env.fails(&["network", "create", "-d", "macvlan", &other], 125);
    assert!(e.contains("unsupported driver macvlan"), "{e}");
    let e = env.fails(&["network", "create", "bad/name"], 125);
    assert!(
        e.contains("names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*"),
        "{e}"
    );
    let e = env.fails(&["network", "create", "--subnet", "nonsense", &other], 125);
    assert!(e.contains("--subnet"), "{e}");
    assert_eq!(
        env.run(&["network", "exists", &other]).status.code(),
        Some(1)
    );
    // The default network exists, is listed first and cannot be removed.
    env.ok(&["network", "exists", "berth"]);
    let d = inspect(&env, "berth");
    assert_eq!(d["network_interface"], "berth0");
    assert_eq!(d["subnets"][0]["subnet"], "10.87.0.0/16");
    assert_eq!(d["dns_enabled"], false);
    let e = env.fails(&["network", "rm", "berth"], 125);
    assert!(e.contains("default network berth cannot be removed"), "{e}");
    env.ok(&["network", "exists", "berth"]);
}

#[test]
fn network_prune_removes_the_unused_and_keeps_the_default() {
    let env = TestEnv::new();
    let label = unique("prune");
    let (a, b, keep) = (unique("prune"), unique("prune"), unique("keep"));
    let _guard = Networks {
        env: &env,
        names: vec![a.clone(), b.clone(), keep.clone()],
    };
    let tag = format!("berth.test={label}");
    env.ok(&["network", "create", "--label", &tag, &a]);
    env.ok(&["network", "create", "--label", &tag, &b]);
    env.ok(&["network", "create", &keep]);
    // Only the networks carrying the label: other tests' networks are not this test's.
    let out = env.ok(&[
        "network",
        "prune",
        "-f",
        "--filter",
        &format!("label={tag}"),
    ]);
    let mut pruned: Vec<&str> = out.lines().collect();
    pruned.sort();
    let mut expected = vec![a.as_str(), b.as_str()];
    expected.sort();
    assert_eq!(pruned, expected);
    for n in [&a, &b] {
        assert_eq!(env.run(&["network", "exists", n]).status.code(), Some(1));
    }
    env.ok(&["network", "exists", &keep]);
    env.ok(&["network", "exists", "berth"]);
}
