//! `berth build` end to end, as root: RUN, COPY, ENV, WORKDIR, CMD, LABEL, heredocs,
//! multi-stage builds, FROM scratch, ignore files, and the failures (a failing RUN, a parse
//! error, a source outside the context); [`features`] holds the rest (cache, mounts,
//! secrets, registry FROM, reproducibility, bad input, Buildah comparison);
//! [`conformance`] builds the set under `tests/conformance/` and checks each `expect.json`,
//! [`conformance_buildah`] compares those builds with Buildah's ([`oci_tree`] reads images
//! back), [`squash_link_jobs`] checks `--squash`, `--squash-all`, `COPY --link`, `--jobs`;
//! [`rebuild`] checks that a rebuild from the cache makes the same image; [`progress`] checks
//! `--progress=json` and `plain`.
//! [`host_paths`] holds RUN steps that try to make berth act on host paths.
//! Each test has its own store and run root; [`RunEnv`] unmounts and removes everything on
//! drop, also when a test fails.

mod conformance;
mod conformance_buildah;
mod features;
mod host_paths;
mod network;
mod oci_tree;
mod output;
mod progress;
mod rebuild;
mod run_mount_options;
mod squash_link_jobs;

use std::fs;
use std::path::PathBuf;

use crate::run::{busybox, RunEnv};

/// Write `files` (name, content) into a new context dir `name` under the test dir.
pub(crate) fn context(r: &RunEnv, name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = r.env.path(name);
    fs::create_dir_all(&dir).unwrap();
    for (f, body) in files {
        let p = dir.join(f);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, body).unwrap();
    }
    dir
}

/// No build snapshot or mount is left and the store checks clean.
pub(crate) fn assert_clean(r: &RunEnv) {
    let snaps: Vec<_> = fs::read_dir(r.env.root.join("snapshots"))
        .map(|d| d.collect())
        .unwrap_or_default();
    assert!(snaps.is_empty(), "snapshots left: {snaps:?}");
    let info = fs::read_to_string("/proc/self/mountinfo").unwrap();
    let dir = r.env.dir.path().to_string_lossy().to_string();
    assert!(!info.contains(&dir), "mounts left under {dir}");
    r.env.assert_check_clean();
    r.env.assert_canary();
}

#[test]
fn build_run_copy_env_workdir_cmd_label() {
    let r = busybox();
    let ctx = context(
        &r,
        "ctx",
        &[
            ("hello.txt", "from the context\n"),
            (
                "Containerfile",
                "FROM busybox\n\
                 ARG WHO=world\n\
                 ENV GREETING=\"hi there\" WHO_ENV=${WHO:-nobody}\n\
                 RUN echo \"made by $WHO\" > /made.txt\n\
                 COPY hello.txt /data/\n\
                 WORKDIR /app/sub\n\
                 LABEL org.example.k=v\n\
                 CMD [\"cat\", \"/made.txt\"]\n",
            ),
        ],
    );
    let out = r.ok(&[
        "build",
        "-t",
        "demo",
        "--build-arg",
        "WHO=tester",
        ctx.to_str().unwrap(),
    ]);
    assert!(out.contains("STEP 1/8: FROM busybox"), "{out}");
    assert!(out.contains("STEP 8/8: CMD"), "{out}");
    let id = out.lines().last().unwrap().trim().to_string();
    assert_eq!(id.len(), 64, "{out}");
    assert_eq!(r.ok(&["run", "--rm", "demo"]), "made by tester\n");
    let shown = r.ok(&[
        "run",
        "--rm",
        "demo",
        "sh",
        "-c",
        "cat /data/hello.txt; echo $GREETING/$WHO_ENV; pwd; test -z \"$WHO\" && echo no-arg",
    ]);
    assert_eq!(
        shown,
        "from the context\nhi there/tester\n/app/sub\nno-arg\n"
    );
    let inspect = r.ok(&["inspect", "demo"]);
    assert!(inspect.contains("org.example.k"), "{inspect}");
    // Only the base and the result are images: intermediates are removed.
    let ids = r.ok(&["images", "-q"]);
    assert_eq!(ids.lines().count(), 2, "{ids}");
    assert_clean(&r);
}

#[test]
fn build_multi_stage_copy_from_and_target() {
    let r = busybox();
    let ctx = context(
        &r,
        "ctx",
        &[(
            "Containerfile",
            "ARG BASE=busybox\n\
             FROM $BASE AS builder\n\
             RUN mkdir /out && echo built > /out/artifact\n\
             FROM busybox AS never\n\
             RUN exit 7\n\
             FROM busybox\n\
             COPY --from=builder /out/artifact /srv/\n\
             COPY --from=0 --chown=65534:65534 --chmod=600 /out/artifact /srv/owned\n\
             CMD [\"sh\", \"-c\", \"cat /srv/artifact; stat -c '%u:%g %a' /srv/owned\"]\n",
        )],
    );
    let out = r.ok(&["build", "-t", "ms", ctx.to_str().unwrap()]);
    assert!(!out.contains("exit 7"), "unneeded stage ran: {out}");
    assert_eq!(r.ok(&["run", "--rm", "ms"]), "built\n65534:65534 600\n");
    // --target builds only up to that stage.
    r.ok(&[
        "build",
        "-q",
        "-t",
        "b",
        "--target",
        "builder",
        ctx.to_str().unwrap(),
    ]);
    assert_eq!(
        r.ok(&["run", "--rm", "b", "cat", "/out/artifact"]),
        "built\n"
    );
    assert_clean(&r);
}

#[test]
fn build_failing_run_names_line_and_tags_nothing() {
    let r = busybox();
    let ctx = context(
        &r,
        "ctx",
        &[(
            "Containerfile",
            "FROM busybox\nRUN echo ok\n\nRUN exit 3\nCMD true\n",
        )],
    );
    let (code, _, err) = r.code(&["build", "-t", "bad", ctx.to_str().unwrap()]);
    // As Podman: the build exits with the failing command's code.
    assert_eq!(code, Some(3), "{err}");
    assert!(
        err.contains("Containerfile:4: RUN exit 3: exit status 3"),
        "{err}"
    );
    assert!(!r.ok(&["images"]).contains("bad"));
    assert_eq!(r.ok(&["images", "-q"]).lines().count(), 1);
    assert_clean(&r);
}

#[test]
fn build_parse_error_names_file_line_col() {
    let r = busybox();
    let ctx = context(
        &r,
        "ctx",
        &[("Containerfile", "FROM busybox\nCMD [\"a\", 1]\n")],
    );
    let err = r.env.fails(&["build", ctx.to_str().unwrap()], 125);
    assert!(err.contains("Containerfile:2:5: bad JSON form"), "{err}");
    fs::write(ctx.join("Containerfile"), "FROM busybox\n  NOPE x\n").unwrap();
    let err = r.env.fails(&["build", ctx.to_str().unwrap()], 125);
    assert!(
        err.contains("Containerfile:2:3: unknown instruction \"NOPE\""),
        "{err}"
    );
    assert_clean(&r);
}

#[test]
fn build_copy_outside_context_is_refused() {
    let r = busybox();
    fs::write(r.env.path("outside"), "secret").unwrap();
    let ctx = context(
        &r,
        "ctx",
        &[("Containerfile", "FROM busybox\nCOPY ../outside /x\n")],
    );
    let err = r
        .env
        .fails(&["build", "-t", "o", ctx.to_str().unwrap()], 125);
    assert!(
        err.contains(
            "Containerfile:2: COPY ../outside /x: ../outside: source is outside the build context"
        ),
        "{err}"
    );
    // A source that is a symlink to a host file is followed inside the context, as Buildah
    // does: `/etc/shadow` there does not exist, and the host's is never read.
    std::os::unix::fs::symlink("/etc/shadow", ctx.join("shadow")).unwrap();
    fs::write(ctx.join("Containerfile"), "FROM busybox\nCOPY shadow /x\n").unwrap();
    let err = r
        .env
        .fails(&["build", "-q", "-t", "o", ctx.to_str().unwrap()], 125);
    assert!(
        err.contains("COPY source shadow: No such file or directory"),
        "{err}"
    );
    // One found inside a copied directory is copied as a symlink, never read.
    fs::create_dir(ctx.join("dir")).unwrap();
    std::os::unix::fs::symlink("/etc/shadow", ctx.join("dir/shadow")).unwrap();
    fs::write(ctx.join("Containerfile"), "FROM busybox\nCOPY dir /d\n").unwrap();
    r.ok(&["build", "-q", "-t", "o", ctx.to_str().unwrap()]);
    assert_eq!(
        r.ok(&["run", "--rm", "o", "readlink", "/d/shadow"]),
        "/etc/shadow\n"
    );
    assert_clean(&r);
}

#[test]
fn build_from_scratch_with_a_static_binary() {
    let r = RunEnv::new();
    let ctx = context(
        &r,
        "ctx",
        &[(
            "Containerfile",
            "FROM scratch\nCOPY busybox /bin/\nCOPY sh /bin/sh\nCMD [\"/bin/busybox\", \"echo\", \"static\"]\n",
        )],
    );
    fs::copy("/bin/busybox", ctx.join("busybox")).unwrap();
    std::os::unix::fs::symlink("busybox", ctx.join("sh")).unwrap();
    r.ok(&["build", "-q", "-t", "tiny", ctx.to_str().unwrap()]);
    assert_eq!(r.ok(&["run", "--rm", "tiny"]), "static\n");
    assert_eq!(
        r.ok(&["run", "--rm", "tiny", "/bin/sh", "-c", "echo sh"]),
        "sh\n"
    );
    // The runtime's mount points (/proc, /dev, /sys, /etc/hosts…) stay out of RUN layers.
    fs::write(
        ctx.join("Containerfile"),
        "FROM tiny\nRUN [\"/bin/busybox\", \"touch\", \"/made\"]\n",
    )
    .unwrap();
    r.ok(&["build", "-q", "-t", "tiny2", ctx.to_str().unwrap()]);
    assert_eq!(last_layer_entries(&r, "tiny2"), ["made"]);
    assert_clean(&r);
}

#[test]
fn build_heredocs_and_buildx_alias() {
    let r = busybox();
    let ctx = context(
        &r,
        "ctx",
        &[(
            "Containerfile",
            "FROM busybox\n\
             ENV NAME=berth\n\
             RUN <<EOF\n\
             echo one > /h.txt\n\
             echo two >> /h.txt\n\
             EOF\n\
             RUN cat <<A >> /h.txt && cat <<-'B' >> /h.txt\n\
             a $NAME\n\
             A\n\
             \tb $NAME\n\
             \tB\n\
             COPY <<EOF /greeting\n\
             hello $NAME\n\
             EOF\n",
        )],
    );
    let c = ctx.to_str().unwrap();
    r.ok(&["buildx", "build", "-q", "--format", "docker", "-t", "h", c]);
    assert_eq!(
        r.ok(&["run", "--rm", "h", "cat", "/h.txt", "/greeting"]),
        "one\ntwo\na berth\nb $NAME\nhello berth\n"
    );
    let inspect: serde_json::Value = serde_json::from_str(&r.ok(&["inspect", "h"])).unwrap();
    assert_eq!(
        inspect[0]["ManifestType"],
        "application/vnd.docker.distribution.manifest.v2+json"
    );
    assert_clean(&r);
}

#[test]
fn build_ignore_file_globs_and_destination_rules() {
    let r = busybox();
    let ctx = context(
        &r,
        "ctx",
        &[
            (".dockerignore", "*.log\n!keep.log\nsecret\n"),
            ("a.txt", "a\n"),
            ("b.txt", "b\n"),
            ("drop.log", "no\n"),
            ("keep.log", "yes\n"),
            ("secret/key", "no\n"),
            ("sub/c.txt", "c\n"),
            (
                "Containerfile",
                "FROM busybox\n\
                 COPY . /all/\n\
                 COPY a.txt /renamed\n\
                 COPY a.txt b.txt /multi/\n\
                 COPY *.txt /glob/\n\
                 COPY sub /subdir\n\
                 WORKDIR /rel\n\
                 COPY a.txt here/\n",
            ),
        ],
    );
    r.ok(&["build", "-q", "-t", "ig", ctx.to_str().unwrap()]);
    let out = r.ok(&[
        "run",
        "--rm",
        "ig",
        "sh",
        "-c",
        "cd /all && ls -A | tr '\\n' ' '; echo; cat /renamed; ls /multi /glob | tr '\\n' ' '; echo; \
         cat /subdir/c.txt /rel/here/a.txt",
    ]);
    assert_eq!(
        out,
        ".dockerignore Containerfile a.txt b.txt keep.log sub \n\
         a\n\
         /glob: a.txt b.txt  /multi: a.txt b.txt \n\
         c\na\n"
    );
    // COPY --exclude, relative to the source and to the context.
    fs::write(
        ctx.join("Containerfile"),
        "FROM busybox\nCOPY --exclude=b.txt --exclude=sub --exclude=*.log . /ex/\nCOPY --exclude=a.txt *.txt /ex2/\n",
    )
    .unwrap();
    r.ok(&["build", "-q", "-t", "ex", ctx.to_str().unwrap()]);
    assert_eq!(
        r.ok(&[
            "run",
            "--rm",
            "ex",
            "sh",
            "-c",
            "ls -A /ex /ex2 | tr '\\n' ' '"
        ]),
        "/ex: .dockerignore Containerfile a.txt  /ex2: b.txt "
    );
    // COPY --parents keeps each source's path.
    fs::write(
        ctx.join("Containerfile"),
        "FROM busybox\nCOPY --parents sub/c.txt a.txt /par/\nCOPY --parents sub /par2/\n",
    )
    .unwrap();
    r.ok(&["build", "-q", "-t", "par", ctx.to_str().unwrap()]);
    assert_eq!(
        r.ok(&[
            "run",
            "--rm",
            "par",
            "cat",
            "/par/sub/c.txt",
            "/par/a.txt",
            "/par2/sub/c.txt"
        ]),
        "c\na\nc\n"
    );
    // A file the ignore file excludes cannot be named either.
    fs::write(ctx.join("Containerfile"), "FROM busybox\nCOPY drop.log /\n").unwrap();
    let err = r.env.fails(&["build", ctx.to_str().unwrap()], 125);
    assert!(
        err.contains("Containerfile:2: COPY drop.log /: drop.log: no source files match"),
        "{err}"
    );
    // Several sources need a directory destination.
    fs::write(
        ctx.join("Containerfile"),
        "FROM busybox\nCOPY a.txt b.txt /nodir\n",
    )
    .unwrap();
    let err = r.env.fails(&["build", ctx.to_str().unwrap()], 125);
    assert!(err.contains("must be a directory"), "{err}");
    assert_clean(&r);
}

/// The entry names of an image's last layer (through `berth save --format oci-dir`).
pub(super) fn last_layer_entries(r: &RunEnv, image: &str) -> Vec<String> {
    let out = r.env.path("saved");
    let _ = fs::remove_dir_all(&out);
    r.ok(&[
        "save",
        "--format",
        "oci-dir",
        "-o",
        out.to_str().unwrap(),
        image,
    ]);
    let blob = |digest: &str| {
        out.join("blobs/sha256")
            .join(digest.trim_start_matches("sha256:"))
    };
    let index: serde_json::Value =
        serde_json::from_slice(&fs::read(out.join("index.json")).unwrap()).unwrap();
    let manifest: serde_json::Value = serde_json::from_slice(
        &fs::read(blob(index["manifests"][0]["digest"].as_str().unwrap())).unwrap(),
    )
    .unwrap();
    let layers = manifest["layers"].as_array().unwrap();
    let last = layers.last().unwrap()["digest"]
        .as_str()
        .unwrap()
        .to_string();
    let file = fs::File::open(blob(&last)).unwrap();
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    archive
        .entries()
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            e.path()
                .unwrap()
                .to_string_lossy()
                .trim_end_matches('/')
                .to_string()
        })
        .collect()
}

#[test]
fn build_user_shell_and_config_fields() {
    let r = busybox();
    let ctx = context(
        &r,
        "ctx",
        &[(
            "Containerfile",
            "FROM busybox\n\
             SHELL [\"/bin/sh\", \"-ec\"]\n\
             USER nobody\n\
             RUN id -u > /tmp/uid; echo \"$0\" > /tmp/shell\n\
             USER root\n\
             EXPOSE 8080 53/udp\n\
             VOLUME /data\n\
             STOPSIGNAL SIGINT\n\
             MAINTAINER someone\n\
             ENTRYPOINT echo entry\n",
        )],
    );
    r.ok(&["build", "-q", "-t", "u", ctx.to_str().unwrap()]);
    assert_eq!(
        r.ok(&[
            "run",
            "--rm",
            "--entrypoint",
            "cat",
            "u",
            "/tmp/uid",
            "/tmp/shell"
        ]),
        "65534\n/bin/sh\n"
    );
    assert_eq!(r.ok(&["run", "--rm", "u"]), "entry\n");
    let inspect: serde_json::Value = serde_json::from_str(&r.ok(&["inspect", "u"])).unwrap();
    let config = &inspect[0]["Config"];
    assert_eq!(
        config["Entrypoint"],
        serde_json::json!(["/bin/sh", "-ec", "echo entry"])
    );
    assert_eq!(config["StopSignal"], "SIGINT");
    assert_eq!(config["User"], "root");
    assert!(
        config["ExposedPorts"].to_string().contains("8080/tcp"),
        "{config}"
    );
    assert!(config["Volumes"].to_string().contains("/data"), "{config}");
    assert_clean(&r);
}

/// `RUN --network=none` gets the same namespace as `run --network none`: `lo` up.
#[test]
fn run_network_none_in_a_build_has_loopback_up() {
    let r = busybox();
    let ctx = context(
        &r,
        "ctx",
        &[(
            "Containerfile",
            "FROM busybox\nRUN --network=none ip addr > /ip.txt\n",
        )],
    );
    r.ok(&["build", "-q", "-t", "lo", ctx.to_str().unwrap()]);
    crate::run::assert_loopback_up(r.ok(&["run", "--rm", "lo", "cat", "/ip.txt"]));
    assert_clean(&r);
}
