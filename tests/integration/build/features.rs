//! `berth build` features end to end: reproducible builds, ADD archives, RUN mounts and
//! secrets, HEALTHCHECK/ONBUILD, bad input by line, the Buildah comparison, CLI policies,
//! FROM of a registry image, and the layer cache.

use std::fs;

use super::{assert_clean, context, last_layer_entries};
use crate::registry_harness::{isolate, Registry};
use crate::run::busybox;

#[test]
fn build_timestamp_is_reproducible_with_add_label_iidfile() {
    let r = busybox();
    let ctx = context(
        &r,
        "ctx",
        &[
            ("f", "data\n"),
            (
                "Containerfile",
                "FROM busybox\n\
                 CMD [\"inherited\"]\n\
                 FROM 0\n\
                 RUN echo x > /x\n\
                 COPY f /f\n\
                 ADD arch.tgz /unpacked/\n\
                 ENTRYPOINT [\"/bin/cat\"]\n",
            ),
        ],
    );
    let status = std::process::Command::new("tar")
        .args(["-czf", "arch.tgz", "f"])
        .current_dir(&ctx)
        .status()
        .unwrap();
    assert!(status.success());
    let iid = r.env.path("iid");
    let c = ctx.to_str().unwrap();
    let args = ["--timestamp", "1700000000", "--label", "built=by-berth"];
    let mut first = vec![
        "build",
        "-q",
        "-t",
        "r1",
        "--iidfile",
        iid.to_str().unwrap(),
    ];
    first.extend(args);
    first.push(c);
    let id1 = r.ok(&first).trim().to_string();
    let mut second = vec!["build", "-q", "-t", "r2"];
    second.extend(args);
    second.push(c);
    let id2 = r.ok(&second).trim().to_string();
    assert_eq!(id1, id2, "two builds with --timestamp differ");
    assert_eq!(fs::read_to_string(&iid).unwrap(), format!("sha256:{id1}"));
    // ENTRYPOINT cleared the inherited CMD; ADD extracted the archive.
    assert_eq!(r.ok(&["run", "--rm", "r1", "/unpacked/f"]), "data\n");
    let inspect: serde_json::Value = serde_json::from_str(&r.ok(&["inspect", "r1"])).unwrap();
    let config = &inspect[0]["Config"];
    assert!(config["Cmd"].is_null(), "{config}");
    assert_eq!(config["Labels"]["built"], "by-berth");
    assert_eq!(inspect[0]["Created"], "2023-11-14T22:13:20.000000000Z");
    // -f - reads the Containerfile from stdin.
    let mut cmd = r.cmd(&["build", "-q", "-f", "-", "-t", "stdin", c]);
    cmd.stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin
            .write_all(b"FROM busybox\nRUN echo from-stdin > /s\n")
            .unwrap();
    }
    assert!(child.wait_with_output().unwrap().status.success());
    assert_eq!(r.ok(&["run", "--rm", "stdin", "cat", "/s"]), "from-stdin\n");
    assert_clean(&r);
}

#[test]
fn build_run_mounts_cache_tmpfs_bind() {
    let r = busybox();
    let ctx = context(
        &r,
        "ctx",
        &[
            ("in.txt", "bound\n"),
            (
                "Containerfile",
                "FROM busybox\n\
                 RUN --mount=type=cache,id=../../c,target=/cache \
                     --mount=type=tmpfs,target=/scratch \
                     --mount=type=bind,source=in.txt,target=/mnt/in.txt \
                     echo x >> /cache/log && cat /mnt/in.txt > /copied && touch /scratch/t\n",
            ),
        ],
    );
    r.ok(&["build", "-q", "-t", "m", ctx.to_str().unwrap()]);
    r.ok(&["build", "-q", "-t", "m", ctx.to_str().unwrap()]);
    // The cache persists across builds, inside the store; its id names no path.
    let log = r.env.root.join("build-cache/2e2e2f2e2e2f63/log");
    assert_eq!(fs::read_to_string(log).unwrap(), "x\nx\n");
    assert_eq!(r.ok(&["run", "--rm", "m", "cat", "/copied"]), "bound\n");
    let mut entries = last_layer_entries(&r, "m");
    entries.retain(|e| e != "etc");
    assert_eq!(entries, ["copied"], "mount targets leaked into the layer");
    fs::write(
        ctx.join("Containerfile"),
        "FROM busybox\nRUN --mount=type=bind,source=../x,target=/x true\n",
    )
    .unwrap();
    let err = r.env.fails(&["build", ctx.to_str().unwrap()], 125);
    assert!(err.contains("../x is outside the build context"), "{err}");
    assert_clean(&r);
}

#[test]
fn build_bad_input_is_refused_by_line() {
    let r = busybox();
    let ctx = context(&r, "ctx", &[("Containerfile", "FROM busybox\n")]);
    let c = ctx.to_str().unwrap();
    let cases: [(String, &str); 7] = [
        (
            "FROM busybox\nRUN <<EOF\necho never closed\n".to_string(),
            "Containerfile:2:1: unterminated heredoc",
        ),
        (
            format!("FROM busybox\nRUN echo {}\n", "a".repeat(10 << 20)),
            "Containerfile:2:1: instruction longer than 4 MiB",
        ),
        (
            // Not local, so pulled: from a closed port on this host, never the internet.
            "FROM busybox\nRUN true\nFROM 127.0.0.1:1/missing:tag\n".to_string(),
            "Containerfile:3: FROM 127.0.0.1:1/missing:tag: pulling 127.0.0.1:1/missing:tag:",
        ),
        (
            "FROM busybox\nCOPY --from=nosuch /x /y\n".to_string(),
            "Containerfile:2: COPY --from=nosuch /x /y: --from=nosuch: no such stage or local image",
        ),
        (
            "FROM --platform=linux/s390x busybox\n".to_string(),
            "only the native platform",
        ),
        (
            "FROM --platform=linux busybox\n".to_string(),
            "Containerfile:1: FROM --platform=linux busybox: invalid platform syntax for \"linux\"",
        ),
        (
            "FROM busybox\nRUN --mount=type=ssh true\n".to_string(),
            "Containerfile:2: RUN --mount=type=ssh true: --mount=type=ssh is not built yet",
        ),
    ];
    for (text, want) in cases {
        fs::write(ctx.join("Containerfile"), text).unwrap();
        let (code, _, err) = r.code(&["build", "-t", "bad", c]);
        assert_eq!(code, Some(125), "{err}");
        assert!(err.contains(want), "want {want:?} in {err}");
    }
    // ARGs that refer to each other expand once, in order: no loop.
    fs::write(
        ctx.join("Containerfile"),
        "FROM busybox\nARG A=$B\nARG B=x$A\nRUN echo \"[$A][$B]\" > /args\n",
    )
    .unwrap();
    r.ok(&["build", "-q", "-t", "args", c]);
    assert_eq!(r.ok(&["run", "--rm", "args", "cat", "/args"]), "[][x]\n");
    // WORKDIR through /proc stays inside the rootfs.
    fs::write(
        ctx.join("Containerfile"),
        "FROM busybox\nWORKDIR /proc/self/fd/7\n",
    )
    .unwrap();
    r.ok(&["build", "-q", "-t", "wd", c]);
    assert!(!r.ok(&["images"]).contains("localhost/bad"));
    assert_clean(&r);
}

#[test]
fn build_healthcheck_and_onbuild_are_kept_and_triggered() {
    let r = busybox();
    let ctx = context(
        &r,
        "ctx",
        &[(
            "Containerfile",
            "FROM busybox\n\
             HEALTHCHECK --interval=5s --retries=2 CMD [\"true\"]\n\
             ONBUILD RUN echo triggered > /trig\n",
        )],
    );
    let c = ctx.to_str().unwrap();
    r.ok(&["build", "-q", "-t", "parent", c]);
    let config = |image: &str| -> serde_json::Value {
        let id = r.ok(&["images", "-q", "--no-trunc", image]);
        let hex = id.trim().trim_start_matches("sha256:").to_string();
        let bytes = fs::read(r.env.root.join("blobs/sha256").join(hex)).unwrap();
        serde_json::from_slice(&bytes).unwrap()
    };
    let parent = config("parent");
    assert_eq!(
        parent["config"]["Healthcheck"]["Test"],
        serde_json::json!(["CMD", "true"])
    );
    assert_eq!(
        parent["config"]["Healthcheck"]["Interval"],
        5_000_000_000u64
    );
    assert_eq!(
        parent["config"]["OnBuild"],
        serde_json::json!(["RUN echo triggered > /trig"])
    );
    fs::write(ctx.join("Containerfile"), "FROM parent\n").unwrap();
    let out = r.ok(&["build", "-t", "child", c]);
    assert!(
        out.contains("--> ONBUILD RUN echo triggered > /trig"),
        "{out}"
    );
    assert_eq!(
        r.ok(&["run", "--rm", "child", "cat", "/trig"]),
        "triggered\n"
    );
    let child = config("child");
    assert!(
        child["config"]["OnBuild"].is_null(),
        "triggers are not inherited"
    );
    assert!(!child["config"]["Healthcheck"].is_null());
    assert_clean(&r);
}

/// Buildah builds the same Containerfile from the same base: the file trees (content, mode,
/// owner, whiteouts) and the config agree. Deliberate difference: Buildah 1.28 leaves the
/// runtime's mount points (`/dev`, `/proc`, `/sys`, `/run`, empty `/etc/hosts`,
/// `/etc/hostname`, `/etc/resolv.conf`) in RUN layers; berth keeps them out.
#[test]
fn build_matches_buildah() {
    let buildah = crate::util::require_tool("buildah");
    let r = busybox();
    let ctx = context(
        &r,
        "ctx",
        &[
            ("f", "hi\n"),
            (
                "Containerfile",
                "FROM localhost/busybox\n\
                 RUN mkdir -p /a/b && echo x > /a/b/c && chmod 640 /a/b/c && rm /bin/vi\n\
                 COPY f /dest/\n\
                 WORKDIR /w\n\
                 ENV K=v\n",
            ),
        ],
    );
    let c = ctx.to_str().unwrap();
    r.ok(&["build", "-q", "-t", "cmp", c]);
    let archive = r.env.path("busybox-oci.tar");
    r.ok(&[
        "save",
        "--format",
        "oci-archive",
        "-o",
        archive.to_str().unwrap(),
        "busybox",
    ]);
    let broot = r.env.path("buildah-root");
    let brun = r.env.path("buildah-run");
    let bah = |args: &[&str]| {
        let mut cmd = std::process::Command::new(&buildah);
        cmd.arg("--root")
            .arg(&broot)
            .arg("--runroot")
            .arg(&brun)
            .args(args);
        crate::util::run_tool(&mut cmd).trim().to_string()
    };
    bah(&["pull", "-q", &format!("oci-archive:{}", archive.display())]);
    bah(&[
        "bud",
        "--runtime",
        "runc",
        "--isolation",
        "oci",
        "-q",
        "-t",
        "cmp",
        c,
    ]);
    let container = bah(&["from", "-q", "cmp"]);
    let theirs = bah(&["mount", &container]);
    let ours = r.ok(&["image", "mount", "cmp"]).trim().to_string();
    let mut their_tree = crate::util::tree_summary(std::path::Path::new(&theirs));
    let our_tree = crate::util::tree_summary(std::path::Path::new(&ours));
    for p in [
        "dev",
        "proc",
        "sys",
        "run",
        "etc/hostname",
        "etc/hosts",
        "etc/resolv.conf",
    ] {
        if !our_tree.contains_key(p) {
            their_tree.remove(p);
        }
    }
    let inspect = bah(&["inspect", "--type", "image", "cmp"]);
    bah(&["umount", &container]);
    bah(&["rm", &container]);
    r.ok(&["image", "unmount", "cmp"]);
    assert_eq!(our_tree, their_tree);
    let theirs: serde_json::Value = serde_json::from_str(&inspect).unwrap();
    let ours: serde_json::Value = serde_json::from_str(&r.ok(&["inspect", "cmp"])).unwrap();
    let their_config = &theirs["OCIv1"]["config"];
    assert_eq!(ours[0]["Config"]["Env"], their_config["Env"]);
    assert_eq!(ours[0]["Config"]["WorkingDir"], their_config["WorkingDir"]);
    assert_clean(&r);
}

#[test]
fn build_ignorefile_omit_history_and_pull_policy() {
    let r = busybox();
    let ctx = context(
        &r,
        "ctx",
        &[
            ("a", "a\n"),
            ("b", "b\n"),
            ("Containerfile", "FROM busybox\nCOPY . /c/\n"),
        ],
    );
    let ignore = r.env.path("my.ignore");
    fs::write(&ignore, "b\nContainerfile\n").unwrap();
    let c = ctx.to_str().unwrap();
    r.ok(&[
        "build",
        "-q",
        "--ignorefile",
        ignore.to_str().unwrap(),
        "--omit-history",
        "--pull=never",
        "--layers",
        "-t",
        "f",
        c,
    ]);
    assert_eq!(r.ok(&["run", "--rm", "f", "ls", "/c"]), "a\n");
    let inspect: serde_json::Value = serde_json::from_str(&r.ok(&["inspect", "f"])).unwrap();
    assert!(
        inspect[0]["History"]
            .as_array()
            .is_none_or(|h| h.is_empty()),
        "{}",
        inspect[0]["History"]
    );
    let err = r.env.fails(&["build", "--pull=sometimes", c], 125);
    assert!(err.contains("--pull=sometimes"), "{err}");
    fs::write(ctx.join("Containerfile"), "FROM missing:tag\n").unwrap();
    let err = r.env.fails(&["build", "--pull=never", c], 125);
    assert!(
        err.contains("Containerfile:1: FROM missing:tag: image \"missing:tag\" is not in the local store and --pull=never"),
        "{err}"
    );
    assert_clean(&r);
}

#[test]
fn build_secret_is_mounted_and_never_stored() {
    let r = busybox();
    let ctx = context(
        &r,
        "ctx",
        &[(
            "Containerfile",
            "FROM busybox\n\
             RUN --mount=type=secret,id=tok test \"$(tr a-z A-Z < /run/secrets/tok)\" = S3CR3T && touch /ok\n\
             RUN --mount=type=secret,id=missing true\n",
        )],
    );
    let secret = r.env.path("tok");
    fs::write(&secret, "s3cr3t").unwrap();
    let c = ctx.to_str().unwrap();
    let spec = format!("id=tok,src={}", secret.display());
    r.ok(&["build", "-q", "--secret", &spec, "-t", "s", c]);
    let inspect = r.ok(&["inspect", "s"]);
    assert!(!inspect.contains("s3cr3t"));
    let out = r.env.path("saved-s");
    r.ok(&[
        "save",
        "--format",
        "oci-dir",
        "-o",
        out.to_str().unwrap(),
        "s",
    ]);
    for e in fs::read_dir(out.join("blobs/sha256")).unwrap() {
        let bytes = fs::read(e.unwrap().path()).unwrap();
        let mut text = Vec::new();
        let _ =
            std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut text);
        text.extend_from_slice(&bytes);
        assert!(
            !String::from_utf8_lossy(&text).contains("s3cr3t"),
            "secret in a blob"
        );
    }
    let mut entries = last_layer_entries(&r, "s");
    entries.retain(|e| e != "etc");
    assert!(entries.is_empty(), "{entries:?}");
    // A required secret that was not given fails the step by line.
    fs::write(
        ctx.join("Containerfile"),
        "FROM busybox\nRUN --mount=type=secret,id=gone,required=true true\n",
    )
    .unwrap();
    let err = r.env.fails(&["build", c], 125);
    assert!(
        err.contains("Containerfile:2:") && err.contains("\"gone\" is required"),
        "{err}"
    );
    assert!(fs::read_dir(r.runroot.join("."))
        .map(|d| d
            .flatten()
            .all(|e| !e.file_name().to_string_lossy().starts_with("build-secrets")))
        .unwrap_or(true));
    assert_clean(&r);
}

#[test]
fn build_from_a_registry_image() {
    let reg = Registry::start();
    let r = busybox();
    let isolated = |args: &[&str]| {
        let mut cmd = r.cmd(args);
        isolate(&r.env, &mut cmd);
        let out = cmd.output().expect("spawn berth");
        assert!(
            out.status.success(),
            "berth {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let remote = reg.image("berth/base:1");
    isolated(&["push", "--tls-verify=false", "busybox", &remote]);
    let ctx = context(
        &r,
        "ctx",
        &[(
            "Containerfile",
            &format!("ARG BASE={remote}\nFROM $BASE\nRUN echo pulled > /p\n"),
        )],
    );
    let c = ctx.to_str().unwrap();
    // Not in the store yet: pulled (the trust gate and digest checks are the pull's).
    let out = isolated(&["build", "--tls-verify=false", "-t", "fromreg", c]);
    assert!(out.contains(&format!("Pulling {remote}")), "{out}");
    assert_eq!(r.ok(&["run", "--rm", "fromreg", "cat", "/p"]), "pulled\n");
    // Now local: --pull=never uses it; --pull=always pulls again.
    isolated(&["build", "-q", "--pull=never", c]);
    let out = isolated(&["build", "--pull=always", "--tls-verify=false", c]);
    assert!(out.contains("Pulling"), "{out}");
    assert_clean(&r);
}

#[test]
fn build_layer_cache_reuses_exactly_the_unchanged_steps() {
    let r = busybox();
    let ctx = context(
        &r,
        "ctx",
        &[
            ("a", "one\n"),
            ("b", "b\n"),
            (
                "Containerfile",
                "FROM busybox\n\
                 RUN echo ran-first\n\
                 COPY a /a\n\
                 RUN echo ran-second\n\
                 COPY b /b\n\
                 LABEL x=1 y=2 z=3\n\
                 RUN echo ran-third\n",
            ),
        ],
    );
    let c = ctx.to_str().unwrap();
    let build = |extra: &[&str]| {
        let mut args = vec!["build", "-t", "cached"];
        args.extend_from_slice(extra);
        args.push(c);
        r.ok(&args)
    };
    let first = build(&[]);
    assert!(!first.contains("Using cache"), "{first}");
    let second = build(&[]);
    // Every step but FROM, as Buildah prints them: the five RUN and COPY steps and the LABEL.
    assert_eq!(second.matches("--> Using cache").count(), 6, "{second}");
    let ran = |out: &str, what: &str| out.lines().any(|l| l == what);
    assert!(
        !["ran-first", "ran-second", "ran-third"]
            .iter()
            .any(|w| ran(&second, w)),
        "a cached RUN ran: {second}"
    );
    // Editing one context file invalidates exactly the steps from its COPY on.
    fs::write(ctx.join("a"), "two\n").unwrap();
    let third = build(&[]);
    assert_eq!(third.matches("--> Using cache").count(), 1, "{third}");
    assert!(
        !ran(&third, "ran-first") && ran(&third, "ran-second"),
        "{third}"
    );
    assert_eq!(r.ok(&["run", "--rm", "cached", "cat", "/a"]), "two\n");
    // --no-cache and --layers=false run everything.
    assert!(!build(&["--no-cache"]).contains("Using cache"));
    assert!(!build(&["--layers=false"]).contains("Using cache"));
    // Entries older than --cache-ttl are not used.
    assert!(!build(&["--cache-ttl", "1ns"]).contains("Using cache"));
    assert!(build(&["--cache-ttl", "1h"]).contains("Using cache"));
    assert_clean(&r);
}

/// Layers are stored as an intermediate image only when something needs them as one: a
/// stage other stages start from (`FROM`), copy from (`COPY --from`) or mount
/// (`RUN --mount=from=`) is stored at its end, also when every step of it came from the
/// cache; nothing is left behind, and the images are those of a build without the cache.
#[test]
fn build_stages_used_by_others_are_stored_also_from_the_cache() {
    let r = busybox();
    let ctx = context(
        &r,
        "ctx",
        &[
            ("f", "from the context\n"),
            (
                "Containerfile",
                "FROM busybox AS base\n\
                 RUN echo one > /one\n\
                 COPY f /f\n\
                 ENV FROM_BASE=yes\n\
                 FROM base AS mid\n\
                 RUN cat /one /f > /both && echo $FROM_BASE >> /both\n\
                 FROM busybox\n\
                 COPY --from=mid /both /both\n\
                 RUN --mount=type=bind,from=base,source=/one,target=/m cat /m >> /both\n\
                 RUN echo last >> /both\n\
                 CMD [\"cat\", \"/both\"]\n",
            ),
        ],
    );
    let c = ctx.to_str().unwrap();
    let want = "one\nfrom the context\nyes\none\nlast\n";
    let mut ids = Vec::new();
    // Fresh, every cacheable step from the cache (sequential, then stages side by side),
    // and without the cache.
    for (jobs, extra, hits) in [
        ("1", None, 0),
        ("1", None, 5),
        ("2", None, 5),
        ("2", Some("--no-cache"), 0),
    ] {
        let mut args = vec!["build", "--timestamp", "1700000000", "--jobs", jobs];
        args.extend(extra);
        args.extend(["-t", "staged", c]);
        let out = r.ok(&args);
        assert_eq!(out.matches("--> Using cache").count(), hits, "{out}");
        ids.push(out.lines().last().unwrap_or_default().to_string());
        assert_eq!(r.ok(&["run", "--rm", "staged"]), want);
        // Only the base image and the result: no intermediate image is left.
        assert_eq!(r.ok(&["images", "-q"]).lines().count(), 2);
    }
    assert!(ids.windows(2).all(|w| w[0] == w[1]), "{ids:?}");
    assert_clean(&r);
}

#[test]
fn build_add_url_with_checksum() {
    use sha2::{Digest as _, Sha256};
    use std::io::{Read, Write};
    let r = busybox();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let body = b"downloaded\n";
    std::thread::spawn(move || {
        for _ in 0..2 {
            let Ok((mut s, _)) = listener.accept() else {
                return;
            };
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = s.write_all(body);
        }
    });
    let sum = hex::encode(Sha256::digest(body));
    let url = format!("http://127.0.0.1:{port}/files/tool.txt");
    let ctx = context(
        &r,
        "ctx",
        &[(
            "Containerfile",
            &format!("FROM busybox\nADD --checksum=sha256:{sum} {url} /dl/\n"),
        )],
    );
    let c = ctx.to_str().unwrap();
    r.ok(&["build", "-q", "-t", "dl", c]);
    assert_eq!(
        r.ok(&["run", "--rm", "dl", "stat", "-c", "%a %s", "/dl/tool.txt"]),
        "600 11\n"
    );
    let wrong = "0".repeat(64);
    fs::write(
        ctx.join("Containerfile"),
        format!("FROM busybox\nADD --checksum=sha256:{wrong} {url} /dl/\n"),
    )
    .unwrap();
    let err = r.env.fails(&["build", c], 125);
    assert!(
        err.contains("Containerfile:2:") && err.contains("checksum mismatch"),
        "{err}"
    );
    assert_clean(&r);
}

#[test]
fn build_context_as_a_tar_on_stdin() {
    let r = busybox();
    let ctx = context(
        &r,
        "ctx",
        &[
            ("data/f", "from the tar\n"),
            ("Containerfile", "FROM busybox\n"),
        ],
    );
    let tar = r.env.path("ctx.tar.gz");
    // Write the Containerfile, tar the context, pipe it to `berth build -`.
    let run = |text: &str| {
        fs::write(ctx.join("Containerfile"), text).unwrap();
        let status = std::process::Command::new("tar")
            .arg("-czf")
            .arg(&tar)
            .arg("-C")
            .arg(&ctx)
            .arg(".")
            .status()
            .unwrap();
        assert!(status.success());
        let mut cmd = r.cmd(&["build", "-q", "-t", "stdin-ctx", "-"]);
        cmd.stdin(fs::File::open(&tar).unwrap());
        cmd.output().unwrap()
    };
    let out = run("FROM busybox\nCOPY data /data\n");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        r.ok(&["run", "--rm", "stdin-ctx", "cat", "/data/f"]),
        "from the tar\n"
    );
    // Errors name the Containerfile as it is in the tar.
    let out = run("FROM busybox\nBOGUS x\n");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("Error: Containerfile:2:1: unknown instruction"),
        "{err}"
    );
    assert_clean(&r);
}

#[test]
fn system_prune_removes_stale_build_cache_and_with_all_the_mount_caches() {
    let r = busybox();
    let ctx = context(
        &r,
        "ctx",
        &[
            ("a.txt", "a\n"),
            (
                "Containerfile",
                "FROM busybox\n\
                 COPY a.txt /a.txt\n\
                 RUN --mount=type=cache,id=c,target=/cache echo x >> /cache/log\n",
            ),
        ],
    );
    r.ok(&["build", "-q", "-t", "pruned", ctx.to_str().unwrap()]);
    // The cache index is the store database's `build_cache` table.
    let count = || {
        let store = berth_image_store::Store::open(&r.env.root).unwrap();
        store.build_cache().keys().unwrap().len()
    };
    assert!(count() > 0, "the COPY step is in the cache index");
    assert!(r.env.root.join("build-cache").is_dir());

    // While the image (and so its layer blobs) exists, a prune keeps the entries.
    r.ok(&["system", "prune", "-f"]);
    assert!(count() > 0, "live entries survive a prune");
    assert!(r.env.root.join("build-cache").is_dir());

    // Once the blobs are gone, the entries are stale and go; the mount caches stay.
    r.ok(&["rmi", "pruned"]);
    let out = r.ok(&["system", "prune", "-f"]);
    assert!(out.contains("Build cache:"), "{out}");
    assert_eq!(count(), 0, "stale cache entries left");
    assert!(r.env.root.join("build-cache").is_dir());
    // -a takes the mount caches too.
    r.ok(&["system", "prune", "-a", "-f"]);
    assert!(!r.env.root.join("build-cache").exists());
    // -a also removed the unused base image; with it back, a rebuild runs every step again.
    r.env.import_busybox("busybox");
    let out = r.ok(&["build", "-t", "pruned", ctx.to_str().unwrap()]);
    assert!(!out.contains("Using cache"), "{out}");
    assert_clean(&r);
}

/// A prune during a build waits for it: the build's new layers, not yet in any image, are
/// not collected, and the store checks clean after both.
#[test]
fn prune_waits_for_a_running_build() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;

    let r = busybox();
    let ctx = context(
        &r,
        "ctx",
        &[(
            "Containerfile",
            "FROM busybox\nRUN echo one > /one\nRUN sleep 2\nRUN echo two > /two\n",
        )],
    );
    let mut build = r
        .env
        .cmd(&["build", "-t", "waited", ctx.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Prune once the build is in its `sleep` step (its first layer written, no image yet).
    let mut lines = BufReader::new(build.stdout.take().unwrap()).lines();
    for line in lines.by_ref() {
        if line.unwrap().contains("RUN sleep 2") {
            break;
        }
    }
    let prune = r.env.run(&["image", "prune", "-f"]);
    let err = String::from_utf8_lossy(&prune.stderr);
    assert!(prune.status.success(), "{err}");
    assert!(err.contains("waiting for the store"), "{err}");
    lines.for_each(drop);
    let status = build.wait().unwrap();
    assert!(status.success(), "build failed after a prune");
    assert_eq!(
        r.ok(&["run", "--rm", "waited", "cat", "/one", "/two"]),
        "one\ntwo\n"
    );
    assert_clean(&r);
}
