//! The network of RUN steps, as root with the real netavark and aardvark-dns: Buildah's
//! default (bridge mode on the default network), `build --network none|NAME`, and BuildKit's
//! `RUN --network=default|none|host`. Traffic goes only inside the test's own network.

use super::{assert_clean, context};
use crate::run::busybox;
use crate::run_network::{assert_no_network_leak, httpd, wired, TestNetwork};

#[test]
fn run_steps_use_the_builds_network() {
    if !wired() {
        return;
    }
    let r = busybox();
    let net = TestNetwork::create(&r, "nmb", &[]);
    let web = httpd(&r, "web", &["--network", &net.name], "from-web");
    let ctx = context(
        &r,
        "ctx",
        &[(
            "Containerfile",
            "FROM busybox\n\
             RUN ip -o -4 addr > /default.txt\n\
             RUN --network=none ip -o link > /none.txt\n\
             RUN --network=default wget -qO- http://web/ > /web.txt\n",
        )],
    );
    let ctx = ctx.to_str().unwrap();
    // On the test network (it has DNS): the server by its name.
    r.ok(&["build", "-q", "--network", &net.name, "-t", "on-net", ctx]);
    let subnet_prefix = format!("{}.", net.subnet.rsplit_once('.').unwrap().0);
    let show = |file: &str| r.ok(&["run", "--rm", "--network", "none", "on-net", "cat", file]);
    assert!(
        show("/default.txt").contains(&subnet_prefix),
        "{}",
        show("/default.txt")
    );
    assert_eq!(show("/web.txt"), "from-web\n");
    let none = show("/none.txt");
    assert_eq!(none.lines().count(), 1, "{none}");
    assert!(none.contains(": lo:"), "{none}");
    // --network none for every step: only lo (the RUN that needs the server fails).
    let ctx2 = context(
        &r,
        "ctx2",
        &[(
            "Containerfile",
            "FROM busybox\nRUN ip -o link > /links.txt\n",
        )],
    );
    r.ok(&[
        "build",
        "-q",
        "--network",
        "none",
        "-t",
        "no-net",
        ctx2.to_str().unwrap(),
    ]);
    let links = r.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "no-net",
        "cat",
        "/links.txt",
    ]);
    assert_eq!(links.lines().count(), 1, "{links}");
    // No --network: Buildah's default as root, bridge mode on the default network.
    let ctx3 = context(
        &r,
        "ctx3",
        &[(
            "Containerfile",
            "FROM busybox\nRUN ip -o -4 addr > /a.txt; ip route >> /a.txt\n",
        )],
    );
    r.ok(&["build", "-q", "-t", "default-net", ctx3.to_str().unwrap()]);
    let a = r.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "default-net",
        "cat",
        "/a.txt",
    ]);
    assert!(a.contains(" eth0 ") && a.contains("default via "), "{a}");
    // A RUN flag BuildKit does not have.
    let ctx4 = context(
        &r,
        "ctx4",
        &[("Containerfile", "FROM busybox\nRUN --network=bridge true\n")],
    );
    let (code, _, err) = r.code(&["build", "-q", ctx4.to_str().unwrap()]);
    assert_eq!(code, Some(125), "{err}");
    assert!(
        err.contains("--network=bridge: use default, none or host"),
        "{err}"
    );
    // Nothing of the RUN containers is left on the test network once the server is gone.
    r.ok(&["rm", "-f", "web"]);
    assert_no_network_leak(&web, &net.subnet, Some(&net.bridge));
    r.ok(&["rmi", "-a", "-f"]);
    assert_clean(&r);
}

/// The attachment records of root's networks whose owner (the process that must detach
/// them) is `pid`, by container id.
fn owned_by(pid: u32) -> Vec<String> {
    let dir = std::path::Path::new("/run/berth/networks/attachments");
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| {
            let id = e.file_name().to_str()?.strip_suffix(".json")?.to_string();
            let v: serde_json::Value =
                serde_json::from_slice(&std::fs::read(e.path()).ok()?).ok()?;
            (v["owner"]["pid"].as_u64() == Some(u64::from(pid))).then_some(id)
        })
        .collect()
}

/// The pid of a process whose command line is exactly `args`.
fn pid_of(args: &[&str]) -> Option<u32> {
    let want: Vec<u8> = args
        .iter()
        .flat_map(|a| [a.as_bytes(), b"\0"].concat())
        .collect();
    std::fs::read_dir("/proc")
        .ok()?
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .find(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .ok()
                .as_deref()
                == Some(&want[..])
        })
}

/// A build killed while its RUN step is on a network leaves the step attached (no monitor
/// watches a RUN container); the next RUN step of any build takes it off: its namespace,
/// record and netavark's rules go.
#[test]
fn a_killed_builds_run_step_is_taken_off_its_network_by_the_next_step() {
    if !wired() {
        return;
    }
    let r = busybox();
    let net = TestNetwork::create(&r, "nmk", &[]);
    let ctx = context(
        &r,
        "ctx",
        &[("Containerfile", "FROM busybox\nRUN sleep 4217\n")],
    );
    let ctx = ctx.to_str().unwrap();
    let child = r
        .cmd(&["build", "--no-cache", "--network", &net.name, ctx])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut build = crate::util::ChildGuard(child);
    let pid = build.0.id();
    let mut ids = Vec::new();
    crate::run::wait_until("the RUN step on the network", || {
        ids = owned_by(pid);
        !ids.is_empty() && pid_of(&["sleep", "4217"]).is_some()
    });
    build.0.kill().unwrap();
    let _ = build.0.wait();
    // The step's process dies with its berth (crash.rs `a_killed_builds_run_step_dies_with_it`).
    crate::run::wait_until("the killed build's step to end", || {
        pid_of(&["sleep", "4217"]).is_none()
    });
    let id = ids.remove(0);
    assert!(
        std::path::Path::new("/run/berth/networks/attachments")
            .join(format!("{id}.json"))
            .exists(),
        "the killed step's record is there before the next step"
    );
    let next = context(&r, "next", &[("Containerfile", "FROM busybox\nRUN true\n")]);
    r.ok(&["build", "-q", "--no-cache", next.to_str().unwrap()]);
    assert_no_network_leak(&id, &net.subnet, None);
}
