//! `RUN --mount` options: every option is known for its mount type and checked, as Buildah
//! does; an unknown option or a bad value fails the step by line instead of being ignored,
//! and the options berth takes are applied.

use std::fs;

use super::{assert_clean, context};
use crate::run::busybox;

#[test]
fn run_mount_unknown_options_and_bad_values_fail_by_line() {
    let r = busybox();
    let ctx = context(
        &r,
        "ctx",
        &[("f", "x"), ("Containerfile", "FROM busybox\n")],
    );
    let c = ctx.to_str().unwrap();
    for (mount, want) in [
        (
            "type=bind,source=f,target=/m,bind-propagation=bogus",
            "bind-propagation=bogus: use one of",
        ),
        (
            "type=bind,source=f,target=/m,relabel=shared",
            "unknown option \"relabel\" for a bind mount",
        ),
        ("type=cache,target=/c,mode=zz", "mode=zz: not an octal mode"),
        ("type=cache,target=/c,uid=-1", "uid=-1: not a number"),
        ("type=tmpfs,target=/t,size=lots", "size=lots: not a size"),
        ("type=secret,id=s,mode=999", "mode=999: not an octal mode"),
    ] {
        let line = format!("RUN --mount={mount} true");
        fs::write(ctx.join("Containerfile"), format!("FROM busybox\n{line}\n")).unwrap();
        let (code, _, err) = r.code(&["build", "-t", "bad", c]);
        assert_eq!(code, Some(125), "{mount}: {err}");
        let want = format!("Containerfile:2: {line}: --mount={mount}: {want}");
        assert!(err.contains(&want), "want {want:?} in {err}");
    }
    assert!(!r.ok(&["images"]).contains("localhost/bad"));
    assert_clean(&r);
}

#[test]
fn run_mount_options_are_applied() {
    let r = busybox();
    let ctx = context(
        &r,
        "ctx",
        &[
            ("f", "bound\n"),
            (
                "Containerfile",
                "FROM busybox\n\
                 RUN --mount=type=secret,id=tok,mode=0440,uid=5,gid=6 \
                     --mount=type=bind,source=f,target=/m,bind-propagation=rshared,nosuid \
                     --mount=type=tmpfs,target=/t,tmpfs-mode=1770 \
                     --mount=type=cache,target=/c,ro \
                     stat -c %a:%u:%g /run/secrets/tok > /out && \
                     grep -c ' /m [^ ]* [^ ]*nosuid' /proc/mounts >> /out && \
                     stat -c %a /t >> /out && \
                     grep -c ' /c [^ ]* ro,' /proc/mounts >> /out\n",
            ),
        ],
    );
    let secret = r.env.path("tok");
    fs::write(&secret, "s3cr3t").unwrap();
    let spec = format!("id=tok,src={}", secret.display());
    r.ok(&[
        "build",
        "-q",
        "--secret",
        &spec,
        "-t",
        "opts",
        ctx.to_str().unwrap(),
    ]);
    assert_eq!(
        r.ok(&["run", "--rm", "opts", "cat", "/out"]),
        "440:5:6\n1\n1770\n1\n"
    );
    assert_clean(&r);
}
