//! RUN steps that try to make berth act on host paths (CVE-2024-23652 class): after a RUN,
//! berth prunes the mount points the runtime created from the step's upper dir; a RUN that
//! moves a mount point's parent away and puts a symlink to a host directory in its place
//! must not lead that removal onto the host. Before a RUN, berth looks at where the mount
//! points go; a symlink in the image must be followed inside the rootfs, not on the host.
//! Each victim is a directory under the test's temp dir, outside the store.

use std::fs;
use std::path::{Path, PathBuf};

use super::{assert_clean, context, last_layer_entries};
use crate::run::busybox;

/// A directory outside the store holding the empty files `names`.
fn victim(dir: PathBuf, names: &[&str]) -> PathBuf {
    fs::create_dir_all(&dir).unwrap();
    for n in names {
        fs::write(dir.join(n), b"").unwrap();
    }
    dir
}

fn assert_untouched(dir: &Path, names: &[&str]) {
    for n in names {
        let p = dir.join(n);
        assert!(
            fs::symlink_metadata(&p).is_ok_and(|m| m.is_file()),
            "{} was removed by the build",
            p.display()
        );
    }
}

#[test]
fn run_mount_target_moved_behind_a_symlink_is_not_pruned_on_the_host() {
    let r = busybox();
    let v = victim(r.env.path("victim"), &["emptyfile"]);
    let file = format!(
        "FROM busybox\n\
         RUN --mount=type=bind,source=f,target=/m/emptyfile mv /m /m2 && ln -s {} /m\n",
        v.display()
    );
    let ctx = context(&r, "ctx", &[("f", ""), ("Containerfile", &file)]);
    r.ok(&[
        "build",
        "-q",
        "--layers=false",
        "-t",
        "swap",
        ctx.to_str().unwrap(),
    ]);
    assert_untouched(&v, &["emptyfile"]);
    // The RUN's own changes stay: its symlink, and the mount point it moved.
    let entries = last_layer_entries(&r, "swap");
    assert!(entries.iter().any(|e| e == "m"), "{entries:?}");
    assert!(entries.iter().any(|e| e == "m2/emptyfile"), "{entries:?}");
    assert_clean(&r);
}

#[test]
fn run_etc_moved_behind_a_symlink_keeps_host_hosts_and_resolv_conf() {
    let r = busybox();
    let names = ["hosts", "resolv.conf"];
    let v = victim(r.env.path("victim"), &names);
    // The base has no /etc: the runtime creates /etc/hosts and /etc/resolv.conf for the RUN.
    let file = format!(
        "FROM busybox AS bb\n\
         FROM scratch\n\
         COPY --from=bb /bin /bin\n\
         RUN mv /etc /etc2 && ln -s {} /etc\n",
        v.display()
    );
    let ctx = context(&r, "ctx", &[("Containerfile", &file)]);
    r.ok(&[
        "build",
        "-q",
        "--layers=false",
        "-t",
        "noetc",
        ctx.to_str().unwrap(),
    ]);
    assert_untouched(&v, &names);
    let entries = last_layer_entries(&r, "noetc");
    assert!(entries.iter().any(|e| e == "etc"), "{entries:?}");
    assert_clean(&r);
}

#[test]
fn run_mount_points_behind_an_image_symlink_resolve_inside_the_rootfs() {
    let r = busybox();
    let names = ["hosts", "resolv.conf"];
    let v = victim(r.env.path("victim"), &names);
    let ctx = context(
        &r,
        "ctx",
        &[(
            "Containerfile",
            "FROM busybox AS bb\n\
             FROM scratch\n\
             COPY --from=bb /bin /bin\n\
             COPY root/ /\n\
             RUN true\n",
        )],
    );
    // The image's /etc is a link to the victim's absolute path: inside the rootfs that path
    // does not exist, so the runtime creates the mount points there, and berth prunes them.
    // Looking through the link on the host would find the victim's files and keep the stubs.
    // (Inside a copied directory: a source that is itself a symlink is followed.)
    fs::create_dir(ctx.join("root")).unwrap();
    std::os::unix::fs::symlink(&v, ctx.join("root/etc")).unwrap();
    r.ok(&[
        "build",
        "-q",
        "--layers=false",
        "-t",
        "etclink",
        ctx.to_str().unwrap(),
    ]);
    assert_untouched(&v, &names);
    let entries = last_layer_entries(&r, "etclink");
    assert!(
        entries.is_empty(),
        "mount points leaked into the layer: {entries:?}"
    );
    assert_clean(&r);
}
