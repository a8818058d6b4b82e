//! `--squash`, `--squash-all`, `COPY --link` and `--jobs`, checked on conformance cases:
//! each must give the same file tree and config as the plain build, with the layers and
//! history the option promises.

use super::conformance::{berth_build, cases, Case};
use super::oci_tree::OciImage;
use crate::run::busybox;

fn case(name: &str) -> Case {
    cases()
        .into_iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no conformance case {name}"))
}

/// History entries that made a layer.
fn layer_entries(img: &OciImage) -> usize {
    img.config["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["empty_layer"] != true)
        .count()
}

#[test]
fn build_squash_and_squash_all_keep_the_tree() {
    let r = busybox();
    for name in [
        "23-copy-dir-contents",
        "29-add-tar-extract",
        "37-whiteout-files",
        "38-whiteout-opaque-dir",
        "39-replace-symlinks",
        "14-multistage-from-name",
    ] {
        let c = case(name);
        let plain = berth_build(&r, &c, &[]).unwrap();
        let squashed = berth_build(&r, &c, &["--squash"]).unwrap();
        let all = berth_build(&r, &c, &["--squash-all"]).unwrap();
        assert_eq!(
            squashed.tree, plain.tree,
            "{name}: --squash changed the tree"
        );
        assert_eq!(
            all.tree, plain.tree,
            "{name}: --squash-all changed the tree"
        );
        assert_eq!(squashed.config["config"], plain.config["config"], "{name}");
        assert_eq!(all.config["config"], plain.config["config"], "{name}");
        // The busybox layer is kept, the stage's layers become one.
        assert_eq!(squashed.layers, 2, "{name}: --squash");
        assert_eq!(all.layers, 1, "{name}: --squash-all");
        // Every step keeps its history entry (marked empty) and one entry says "squash".
        let plain_history = plain.config["history"].as_array().unwrap().len();
        for (img, layers) in [(&squashed, 2), (&all, 1)] {
            assert_eq!(
                img.config["history"].as_array().unwrap().len(),
                plain_history + 1,
                "{name}"
            );
            assert_eq!(layer_entries(img), layers, "{name}");
        }
    }
    // Nothing to squash: a stage with one new layer stays as it is.
    let c = case("31-containerignore");
    let plain = berth_build(&r, &c, &[]).unwrap();
    let squashed = berth_build(&r, &c, &["--squash"]).unwrap();
    assert_eq!((plain.layers, squashed.layers), (2, 2));
    let created_by = |i: &OciImage| -> Vec<String> {
        i.config["history"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| format!("{} {}", h["created_by"], h["empty_layer"]))
            .collect()
    };
    assert_eq!(created_by(&squashed), created_by(&plain));
    super::assert_clean(&r);
}

/// `case` with `--link` added to every COPY and ADD, in a copy under `dir`.
fn linked(c: &Case, dir: &std::path::Path) -> Case {
    let to = dir.join(&c.name);
    super::conformance::copy_tree(&c.dir, &to);
    let text = std::fs::read_to_string(to.join("Containerfile")).unwrap();
    let text: Vec<String> = text
        .lines()
        .map(|l| {
            for ins in ["COPY ", "ADD "] {
                if let Some(rest) = l.strip_prefix(ins) {
                    return format!("{ins}--link {rest}");
                }
            }
            l.to_string()
        })
        .collect();
    std::fs::write(to.join("Containerfile"), text.join("\n") + "\n").unwrap();
    Case {
        name: c.name.clone(),
        dir: to,
        expect: c.expect.clone(),
    }
}

/// Every conformance case with COPY or ADD gives the same image with `--link` on each: the
/// layer is made in an empty rootfs (no copied-up parent directories), the directories on
/// the destination path keep the parent's metadata, and the cache entry does not depend
/// on the parent.
#[test]
fn build_copy_link_gives_the_same_images() {
    let r = busybox();
    let work = r.env.path("linked");
    let mut checked = 0;
    // Cases whose build must fail (`error`) give no image to compare; those that copy their
    // own Containerfile would see the `--link` this test writes into it.
    let comparable =
        |c: &Case| c.expect["error"].is_null() && c.expect["containerfile_in_context"].is_null();
    for c in cases().into_iter().filter(comparable) {
        let text = std::fs::read_to_string(c.dir.join("Containerfile")).unwrap();
        if !text
            .lines()
            .any(|l| l.starts_with("COPY ") || l.starts_with("ADD "))
        {
            continue;
        }
        let plain = berth_build(&r, &c, &[]).unwrap();
        let link = berth_build(&r, &linked(&c, &work), &[]).unwrap();
        assert_eq!(
            link.tree, plain.tree,
            "{}: COPY --link changed the tree",
            c.name
        );
        assert_eq!(link.config["config"], plain.config["config"], "{}", c.name);
        assert_eq!(link.layers, plain.layers, "{}", c.name);
        checked += 1;
    }
    assert!(checked >= 15, "only {checked} cases with COPY/ADD");
    // The layer holds only what was copied (and the destination's parents), never the
    // directories a plain COPY would have copied up from the parent.
    let ctx = super::context(
        &r,
        "ctx",
        &[
            ("f", "f\n"),
            (
                "Containerfile",
                "FROM busybox\nRUN echo one > /tmp/x\nCOPY --link f /tmp/sub/\n",
            ),
        ],
    );
    let c = ctx.to_str().unwrap();
    r.ok(&["build", "-q", "-t", "l1", c]);
    assert_eq!(
        super::last_layer_entries(&r, "l1"),
        ["tmp", "tmp/sub", "tmp/sub/f"]
    );
    assert_eq!(
        r.ok(&["run", "--rm", "l1", "stat", "-c", "%a %n", "/tmp", "/tmp/x"]),
        "1777 /tmp\n644 /tmp/x\n"
    );
    // A different parent reuses the COPY --link layer.
    std::fs::write(
        ctx.join("Containerfile"),
        "FROM busybox\nRUN echo two > /tmp/x\nCOPY --link f /tmp/sub/\n",
    )
    .unwrap();
    let out = r.ok(&["build", "-t", "l2", c]);
    let step3 = out.split("STEP 3/3").nth(1).unwrap();
    assert!(step3.contains("--> Using cache"), "{out}");
    assert_eq!(
        r.ok(&["run", "--rm", "l2", "cat", "/tmp/x", "/tmp/sub/f"]),
        "two\nf\n"
    );
    super::assert_clean(&r);
}

/// `--jobs 2` builds independent stages at once: while stage `a`'s RUN sleeps, stage `b`
/// (FROM, COPY) is built, so its STEP lines come before `a`'s output; with `--jobs 1` they
/// come after.
#[test]
fn build_jobs_runs_independent_stages_at_once() {
    let r = busybox();
    let ctx = super::context(
        &r,
        "ctx",
        &[
            ("f", "f\n"),
            (
                "Containerfile",
                "FROM busybox AS a\n\
                 RUN sleep 3 && echo a > /a && echo done-a\n\
                 FROM busybox AS b\n\
                 COPY f /b\n\
                 FROM busybox\n\
                 COPY --from=a /a /\n\
                 COPY --from=b /b /\n",
            ),
        ],
    );
    let c = ctx.to_str().unwrap();
    let order = |jobs: &str| {
        let out = r.ok(&["build", "--no-cache", "--jobs", jobs, "-t", "j", c]);
        // Numbered within each stage, as Buildah: `[stage/stages] STEP n/steps`.
        for (stage, steps) in [(1, 2), (2, 2), (3, 3)] {
            for n in 1..=steps {
                let line = format!("[{stage}/3] STEP {n}/{steps}: ");
                assert!(out.contains(&line), "{line:?} in {out}");
            }
        }
        let at = |s: &str| out.find(s).unwrap_or_else(|| panic!("no {s:?} in {out}"));
        (
            at("[2/3] STEP 2/2: COPY f /b") < at("\ndone-a"),
            out.clone(),
        )
    };
    let (b_first, out) = order("2");
    assert!(b_first, "--jobs 2 built stage b after stage a: {out}");
    let (b_first, out) = order("1");
    assert!(
        !b_first,
        "--jobs 1 built stage b before stage a was done: {out}"
    );
    assert_eq!(r.ok(&["run", "--rm", "j", "cat", "/a", "/b"]), "a\nf\n");
    // A failing stage among parallel ones fails the build and leaves nothing behind.
    std::fs::write(
        ctx.join("Containerfile"),
        "FROM busybox AS a\nRUN sleep 1; exit 4\nFROM busybox AS b\nCOPY f /b\n\
         FROM busybox\nCOPY --from=a /a /\nCOPY --from=b /b /\n",
    )
    .unwrap();
    let (code, _, err) = r.code(&["build", "--jobs", "2", "-t", "bad", c]);
    assert_eq!(code, Some(4), "{err}");
    assert!(!r.ok(&["images"]).contains("bad"));
    super::assert_clean(&r);
}

/// Regression (`--jobs` used to run RUN containers one at a time, as the run engine reaped
/// with `waitpid(-1)`): the RUN steps of independent stages overlap, as the times they write
/// into their layers show, and each stage's RUN gets its own exit code.
#[test]
fn build_jobs_runs_run_steps_of_independent_stages_side_by_side() {
    let r = busybox();
    let stage = |name: &str| {
        format!(
            "FROM busybox AS {name}\n\
             RUN date +%s > /{name}-start && sleep 2 && date +%s > /{name}-end\n"
        )
    };
    let ctx = super::context(
        &r,
        "ctx",
        &[(
            "Containerfile",
            &format!(
                "{}{}FROM busybox\n\
                 COPY --from=a /a-start /a-end /\n\
                 COPY --from=b /b-start /b-end /\n",
                stage("a"),
                stage("b")
            ),
        )],
    );
    let c = ctx.to_str().unwrap();
    r.ok(&["build", "--no-cache", "--jobs", "2", "-t", "overlap", c]);
    let out = r.ok(&[
        "run", "--rm", "overlap", "cat", "/a-start", "/a-end", "/b-start", "/b-end",
    ]);
    let t: Vec<u64> = out.split_whitespace().map(|s| s.parse().unwrap()).collect();
    let [a_start, a_end, b_start, b_end] = t[..] else {
        panic!("four times expected: {out}")
    };
    assert!(a_end >= a_start + 2 && b_end >= b_start + 2, "{out}");
    // One after the other, the later one would start no sooner than the other ended (whole
    // seconds keep that order): overlapping, each starts before the other ends.
    assert!(
        a_start < b_end && b_start < a_end,
        "the RUN steps did not overlap (a {a_start}..{a_end}, b {b_start}..{b_end})"
    );
    // Exit codes stay with their RUN, whichever ends first.
    for (a, b, code) in [
        ("sleep 1; exit 4", "sleep 2", 4),
        ("true", "sleep 1; exit 5", 5),
    ] {
        std::fs::write(
            ctx.join("Containerfile"),
            format!(
                "FROM busybox AS a\nRUN {a}\nFROM busybox AS b\nRUN {b}\n\
                 FROM busybox\nCOPY --from=a /etc/passwd /a\nCOPY --from=b /etc/passwd /b\n"
            ),
        )
        .unwrap();
        let (got, _, err) = r.code(&["build", "--no-cache", "--jobs", "2", "-t", "bad", c]);
        assert_eq!(got, Some(code), "{err}");
    }
    assert!(!r.ok(&["images"]).contains("bad"));
    super::assert_clean(&r);
}
