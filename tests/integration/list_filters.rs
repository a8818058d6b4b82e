//! `--filter` on `images` and `ps`, and `ps --last/--latest/--sort`, against Debian's podman
//! 4.3 on the same busybox tarball, side by side on private stores: the same filters pick
//! the same names. Also the errors for a filter kind or value neither knows.

use crate::list_formats::{both, podman, podman_with_busybox};
use crate::run::busybox;
use crate::util::run_tool;

/// Output lines sorted (the two list in their own default orders).
fn sorted(text: &str) -> Vec<String> {
    let mut v: Vec<String> = text.lines().map(str::to_string).collect();
    v.sort();
    v
}

#[test]
fn images_filter_as_podman() {
    let r = busybox();
    podman_with_busybox(&r);
    r.ok(&["tag", "busybox", "busybox:v2"]);
    // An image without a name, of its own layer: dangling in both.
    let dir = r.env.path("other");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("file"), "other").unwrap();
    let tar = r.env.path("other.tar");
    run_tool(
        std::process::Command::new("tar")
            .arg("-C")
            .arg(&dir)
            .arg("-cf")
            .arg(&tar)
            .arg("."),
    );
    r.ok(&["import", tar.to_str().unwrap()]);
    run_tool(podman(&r).arg("import").arg(&tar));
    let format = "{{.Repository}}:{{.Tag}}";
    for filter in [
        &["dangling=true"][..],
        &["dangling=false"],
        &["reference=busybox"],
        &["reference=localhost/busybox:v2"],
        &["reference=busybox:v2", "reference=busybox:latest"],
        &["reference=nothing"],
        &["dangling=false", "reference=busybox:v2"],
        &["intermediate=false", "readonly=false"],
    ] {
        let mut args = vec!["images", "--format", format];
        for f in filter {
            args.extend(["--filter", f]);
        }
        let (berth, podman) = both(&r, &args);
        assert_eq!(sorted(&berth), sorted(&podman), "{filter:?}");
    }
    let (berth, podman) = both(&r, &["images", "-q", "--filter", "dangling=true"]);
    assert_eq!(berth.lines().count(), 1, "{berth}");
    assert_eq!(podman.lines().count(), 1, "{podman}");
    let (code, _, err) = r.code(&["images", "--filter", "colour=red"]);
    assert_eq!(code, Some(125), "{err}");
    assert!(err.contains("unsupported image filter \"colour\""), "{err}");
}

#[test]
fn ps_filter_as_podman() {
    let r = busybox();
    podman_with_busybox(&r);
    for (name, label) in [("c1", "x=y"), ("c2", "x=z"), ("other", "y=1")] {
        let create = [
            "create",
            "--name",
            name,
            "--label",
            label,
            "--network",
            "host",
        ];
        both(&r, &[&create[..], &["localhost/busybox", "true"]].concat());
    }
    for filter in [
        &["status=created"][..],
        &["status=running"],
        &["status=exited", "status=created"],
        &["name=c"],
        &["name=^c1$"],
        &["label=x"],
        &["label=x=y"],
        &["label=x", "label=y"],
        &["since=c1"],
        &["before=other"],
        &["ancestor=localhost/busybox"],
        &["name=c", "label=x=z"],
    ] {
        let mut args = vec!["ps", "-a", "--format", "{{.Names}}"];
        for f in filter {
            args.extend(["--filter", f]);
        }
        let (berth, podman) = both(&r, &args);
        assert_eq!(sorted(&berth), sorted(&podman), "{filter:?}");
    }
    // A status filter lists stopped containers without -a, as Podman's.
    let (berth, podman) = both(
        &r,
        &["ps", "--filter", "status=created", "--format", "{{.Names}}"],
    );
    assert_eq!(sorted(&berth), ["c1", "c2", "other"]);
    assert_eq!(sorted(&berth), sorted(&podman));
    // Podman orders by creation in whole seconds: compare the two newest as a set.
    let (berth, podman) = both(&r, &["ps", "--last", "2", "--format", "{{.Names}}"]);
    assert_eq!(sorted(&berth), ["c2", "other"]);
    assert_eq!(sorted(&berth), sorted(&podman));
    for args in [
        &["ps", "--latest", "--format", "{{.Names}}"][..],
        &["ps", "-a", "--sort", "names", "--format", "{{.Names}}"],
    ] {
        let (berth, podman) = both(&r, args);
        assert_eq!(berth, podman, "{args:?}");
    }
    // `--size`: Podman's `RW (virtual ROOTFS)`, and the SIZE column last in the table.
    let sizes = r.ok(&[
        "ps",
        "-a",
        "--size",
        "--sort",
        "size",
        "--format",
        "{{.Size}}",
    ]);
    assert_eq!(sizes.lines().count(), 3, "{sizes}");
    for line in sizes.lines() {
        let (rw, virt) = line.split_once(" (virtual ").expect("Podman's size text");
        assert!(rw.ends_with('B') && virt.ends_with("B)"), "{line}");
        assert_ne!(virt, "0B)", "the image counts: {line}");
    }
    let (berth, podman) = both(&r, &["ps", "-a", "--size"]);
    assert_eq!(
        berth
            .lines()
            .next()
            .unwrap_or_default()
            .split_whitespace()
            .last(),
        podman
            .lines()
            .next()
            .unwrap_or_default()
            .split_whitespace()
            .last(),
        "{berth}\n{podman}"
    );
    // `label!` (Podman 4.8's; 4.3 refuses it).
    let out = r.ok(&["ps", "-a", "--filter", "label!=x", "--format", "{{.Names}}"]);
    assert_eq!(out, "other\n");
    let (code, _, err) = r.code(&["ps", "--filter", "status=sleeping"]);
    assert_eq!(code, Some(125), "{err}");
    assert!(err.contains("sleeping is not a valid status"), "{err}");
    run_tool(crate::list_formats::podman(&r).args(["rm", "-a", "-f"]));
}

#[test]
fn volume_ls_filter_as_podman() {
    let r = busybox();
    both(&r, &["volume", "create", "--label", "app=web", "data"]);
    both(&r, &["volume", "create", "cache"]);
    for filter in [
        &["name=data"][..],
        &["name=a"],
        &["label=app"],
        &["label=app=web"],
        &["driver=local"],
        &["dangling=true"],
    ] {
        let mut args = vec!["volume", "ls", "--format", "{{.Name}}"];
        for f in filter {
            args.extend(["--filter", f]);
        }
        let (berth, podman) = both(&r, &args);
        assert_eq!(sorted(&berth), sorted(&podman), "{filter:?}");
    }
    // Two kinds must both hold, as Docker and later Podman (and berth's `ps` and `images`)
    // combine them; Podman 4.3's `volume ls` lists a volume that passes either.
    let args = [
        "volume",
        "ls",
        "-q",
        "--filter",
        "name=cache",
        "--filter",
        "label=app=web",
    ];
    assert_eq!(r.ok(&args), "");
    let (code, _, err) = r.code(&["volume", "ls", "--filter", "colour=red"]);
    assert_eq!(code, Some(125), "{err}");
    assert!(err.contains("colour is an invalid volume filter"), "{err}");
}
