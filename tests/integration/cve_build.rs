//! Known CVEs of image builders (Buildah, Podman, BuildKit, Docker), one named regression
//! test each (`tests/SECURITY.md` maps every CVE to its test): `RUN --mount` sources, cache
//! ids and writes, `ADD` archives, capabilities and environment of RUN steps. Each build
//! leaves no snapshot or mount, the canary unchanged and `system check` clean.

use std::fs;
use std::path::Path;
use std::sync::Arc;

use crate::build::{assert_clean, context};
use crate::hostile::{hostile_tar, Kind};
use crate::registry_hostile::{resp, serve, Seen};
use crate::run::busybox;
use crate::util::tree_summary;

/// CVE-2024-1753 (Buildah, Podman): `RUN --mount=type=bind,from=<stage>,source=<a link to
/// />,rw` bind-mounted the host's root (Buildah's bud.bats touches `/BIND_BREAKOUT`). berth
/// resolves the source inside the stage's rootfs: nothing appears on the host's `/`.
#[test]
fn cve_2024_1753_bind_mount_escape() {
    let r = busybox();
    let marker = format!("BIND_BREAKOUT-berth-{}", std::process::id());
    let ctx = context(
        &r,
        "ctx",
        &[(
            "Containerfile",
            &format!(
                "FROM busybox AS base\n\
                 RUN ln -s / /rootdir && ln -s ../../../../../../.. /dots\n\
                 FROM busybox\n\
                 RUN --mount=type=bind,from=base,source=/rootdir,destination=/abc,rw touch /abc/{marker}\n\
                 RUN --mount=type=bind,from=base,source=dots,destination=/def,rw touch /def/{marker}\n"
            ),
        )],
    );
    let out = r.run(&["build", "-q", "-t", "bind", ctx.to_str().unwrap()]);
    assert!(
        !Path::new("/").join(&marker).exists(),
        "the bind mount reached the host's /"
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_clean(&r);
}

/// CVE-2024-9675 (Buildah): `RUN --mount=type=cache,id=../../..` joined the id to a host path
/// and mounted that directory read-write. berth keeps every cache under the store's
/// `build-cache`, whatever the id says: the file the step writes is found there, never in
/// the directory the id names.
#[test]
fn cve_2024_9675_cache_id_cannot_name_a_host_dir() {
    let r = busybox();
    let canary = fs::canonicalize(r.env.path("canary")).unwrap();
    let climb = format!("../../../../../../../..{}", canary.display());
    let ctx = context(
        &r,
        "ctx",
        &[(
            "Containerfile",
            &format!(
                "FROM busybox\n\
                 RUN --mount=type=cache,id={climb},target=/x touch /x/BREAKOUT-1\n\
                 RUN --mount=type=cache,id={},target=/y touch /y/BREAKOUT-2\n",
                canary.display()
            ),
        )],
    );
    r.ok(&["build", "-q", "-t", "cache", ctx.to_str().unwrap()]);
    let mut found = Vec::new();
    find_named(&r.env.root.join("build-cache"), "BREAKOUT", &mut found);
    assert_eq!(found.len(), 2, "both caches are in the store: {found:?}");
    assert_clean(&r);
}

fn find_named(dir: &Path, prefix: &str, out: &mut Vec<String>) {
    for e in fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if e.file_name().to_string_lossy().starts_with(prefix) {
            out.push(p.display().to_string());
        }
        if e.file_type().unwrap().is_dir() {
            find_named(&p, prefix, out);
        }
    }
}

/// CVE-2025-4953 (Podman: writes into a `RUN --mount=type=bind,rw` context reached the
/// host's build context) and CVE-2024-11218 (the same with stages built in parallel):
/// two stages built at once (`--jobs 2`) write, change and delete through rw binds of the
/// context; the context is unchanged afterwards and a later step still sees it as it was.
#[test]
fn cve_2025_4953_writes_into_a_bind_mounted_context_are_discarded() {
    let r = busybox();
    let ctx = context(
        &r,
        "ctx",
        &[
            ("in.txt", "original\n"),
            ("gone.txt", "keep me\n"),
            ("sub/deep.txt", "deep\n"),
            (
                "Containerfile",
                "FROM busybox AS a\n\
                 RUN --mount=type=bind,target=/ctx,rw sh -c 'touch /ctx/new-a; echo changed > /ctx/in.txt; rm /ctx/gone.txt; rm -r /ctx/sub'\n\
                 FROM busybox AS b\n\
                 RUN --mount=type=bind,target=/ctx,rw sh -c 'touch /ctx/new-b; rm -rf /ctx/*'\n\
                 FROM busybox\n\
                 COPY --from=a /etc/passwd /a\n\
                 COPY --from=b /etc/passwd /b\n\
                 RUN --mount=type=bind,target=/ctx sh -c 'ls -R /ctx > /listing; cat /ctx/in.txt >> /listing'\n",
            ),
        ],
    );
    let before = tree_summary(&ctx);
    r.ok(&[
        "build",
        "-q",
        "--jobs",
        "2",
        "-t",
        "ctxw",
        ctx.to_str().unwrap(),
    ]);
    assert_eq!(tree_summary(&ctx), before, "the build context changed");
    let listing = r.ok(&["run", "--rm", "ctxw", "cat", "/listing"]);
    assert!(
        listing.contains("gone.txt")
            && listing.contains("deep.txt")
            && listing.ends_with("original\n"),
        "{listing}"
    );
    assert!(!listing.contains("new-"), "{listing}");
    assert_clean(&r);
}

/// CVE-2020-10696 (Buildah: `ADD` of a hostile tarball wrote anywhere): a local archive with
/// a `../` entry, or a link to a host directory and a file through it, is refused naming the
/// line and the entry; one fetched by URL is stored as a file (never unpacked, as Docker).
#[test]
fn cve_2020_10696_add_archives_stay_inside() {
    let r = busybox();
    let canary = fs::canonicalize(r.env.path("canary")).unwrap();
    let ctx = context(&r, "ctx", &[("Containerfile", "FROM busybox\n")]);
    hostile_tar(
        &ctx.join("dotdot.tar"),
        &[("../../../escape", Kind::File(b"x"))],
    );
    hostile_tar(
        &ctx.join("link.tar"),
        &[
            ("d", Kind::Symlink(canary.display().to_string())),
            ("d/pwned", Kind::File(b"x")),
        ],
    );
    let c = ctx.to_str().unwrap();
    for (archive, entry) in [("dotdot.tar", "../../../escape"), ("link.tar", "d/pwned")] {
        fs::write(
            ctx.join("Containerfile"),
            format!("FROM busybox\nADD {archive} /a/\n"),
        )
        .unwrap();
        let err = r.env.fails(&["build", "-q", "-t", "add", c], 125);
        assert!(
            err.contains(&format!("Containerfile:2: ADD {archive} /a/"))
                && err.contains(&format!("layer entry \"{entry}\"")),
            "{err}"
        );
    }
    let body = fs::read(ctx.join("link.tar")).unwrap();
    let (addr, _) = serve("127.0.0.1", Arc::new(move |_: &Seen| resp(200, &body)));
    fs::write(
        ctx.join("Containerfile"),
        format!("FROM busybox\nADD http://{addr}/link.tar /b/\n"),
    )
    .unwrap();
    r.ok(&["build", "-q", "-t", "addurl", c]);
    assert_eq!(
        r.ok(&["run", "--rm", "addurl", "ls", "-A", "/b"]),
        "link.tar\n"
    );
    assert_clean(&r);
}

/// CVE-2022-27651 (Buildah) and CVE-2022-27649 (Podman): processes started with inheritable
/// capabilities, which file capabilities then raise at `execve`. A RUN step, `run` (default,
/// `--cap-add`, `--privileged`) and `exec` all see empty inheritable and ambient sets.
#[test]
fn cve_2022_27651_inheritable_capabilities_are_empty() {
    let r = busybox();
    let show = "grep -E '^Cap(Inh|Amb):' /proc/self/status";
    let ctx = context(
        &r,
        "ctx",
        &[(
            "Containerfile",
            &format!("FROM busybox\nRUN {show} > /caps\n"),
        )],
    );
    r.ok(&["build", "-q", "-t", "caps", ctx.to_str().unwrap()]);
    let empty = "CapInh:\t0000000000000000\nCapAmb:\t0000000000000000\n";
    assert_eq!(r.ok(&["run", "--rm", "caps", "cat", "/caps"]), empty, "RUN");
    for flags in [
        &[][..],
        &["--cap-add", "ALL"][..],
        &["--cap-add", "SETFCAP,NET_ADMIN"][..],
        &["--privileged"][..],
    ] {
        let mut args = vec!["run", "--rm"];
        args.extend_from_slice(flags);
        args.extend_from_slice(&["busybox", "sh", "-c", show]);
        assert_eq!(r.ok(&args), empty, "run {flags:?}");
    }
    r.ok(&[
        "run",
        "-d",
        "--name",
        "cve-caps",
        "--cap-add",
        "ALL",
        "busybox",
        "sleep",
        "600",
    ]);
    assert_eq!(r.ok(&["exec", "cve-caps", "sh", "-c", show]), empty, "exec");
    r.ok(&["rm", "-f", "cve-caps"]);
    assert_clean(&r);
    r.assert_no_leftovers();
}

/// CVE-2021-3602 (Buildah, chroot isolation): RUN processes could read the environment of
/// the builder (CI credentials). A variable in berth's own environment reaches neither a
/// RUN step nor a container.
#[test]
fn cve_2021_3602_run_steps_see_no_parent_environment() {
    let r = busybox();
    let secret = "BERTH_CVE_3602_TOKEN";
    let ctx = context(
        &r,
        "ctx",
        &[(
            "Containerfile",
            "FROM busybox\nRUN env > /env; cat /proc/1/environ >> /env 2>/dev/null; true\n",
        )],
    );
    let out = r
        .cmd(&["build", "-q", "-t", "env", ctx.to_str().unwrap()])
        .env(secret, "parent-only-value")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let env = r.ok(&["run", "--rm", "env", "cat", "/env"]);
    assert!(env.contains("PATH="), "{env}");
    assert!(
        !env.contains(secret) && !env.contains("parent-only"),
        "{env}"
    );
    let out = r
        .cmd(&["run", "--rm", "busybox", "env"])
        .env(secret, "parent-only-value")
        .output()
        .unwrap();
    let seen = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && seen.contains("PATH="), "{seen}");
    assert!(!seen.contains(secret), "{seen}");
    assert_clean(&r);
}
