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
