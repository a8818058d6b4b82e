//! What `berth build` prints, side by side with Debian's Buildah 1.28 (`bud --layers`) on the
//! same Containerfiles: per-stage step numbers (`[1/2] STEP 1/4: …`, none for one stage),
//! `FROM` with its arguments expanded, `--> <id>` after each step, `--> Using cache <id>` on
//! a rebuild, and the `COMMIT` / `--> <id>` / `Successfully tagged` / id lines. Ids differ
//! between two tools by nature: they are compared by shape, and berth's against each other.

use crate::run::busybox;
use crate::util::require_tool;

use super::conformance_buildah::Buildah;
use super::context;

const MULTI: &str = "ARG BASE=busybox\n\
    FROM ${BASE} AS builder\n\
    ARG MSG=hi\n\
    RUN echo $MSG > /artifact\n\
    COPY f /f\n\
    \n\
    FROM $BASE\n\
    COPY --from=builder /artifact /artifact\n\
    RUN cat /artifact\n\
    CMD [\"sh\"]\n";

const SINGLE: &str = "FROM busybox\nRUN echo one > /one\nENV A=b\n";

/// The output with ids replaced by their shape: `<id>` (64 hex digits), `<short>` (the 11
/// Buildah shows after `--> `).
fn shape(out: &str) -> String {
    let hex = |s: &str, n: usize| s.len() == n && s.chars().all(|c| c.is_ascii_hexdigit());
    out.lines()
        .map(|line| {
            line.split(' ')
                .map(|w| match w {
                    w if hex(w, 64) => "<id>",
                    w if hex(w, 11) && line.starts_with("--> ") => "<short>",
                    w => w,
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn build_output_is_buildahs() {
    let r = busybox();
    let buildah = Buildah::new(&r, &require_tool("buildah"), 0);
    let policy = buildah.policy();
    let policy = policy.to_str().unwrap();
    for (name, file, tag) in [
        ("multi", MULTI, Some("multi")),
        ("single", SINGLE, Some("single")),
        ("untagged", SINGLE, None),
    ] {
        let ctx = context(&r, name, &[("f", "f\n"), ("Containerfile", file)]);
        let c = ctx.to_str().unwrap();
        let tag_args: Vec<&str> = tag.map(|t| vec!["-t", t]).unwrap_or_default();
        // Fresh, then every step from the cache.
        let mut berth_runs = Vec::new();
        for round in ["fresh", "cached"] {
            let mut args = vec!["build"];
            args.extend(&tag_args);
            args.push(c);
            let ours = r.ok(&args);
            let mut args = vec!["bud", "--layers", "--runtime", "runc"];
            args.extend(["--signature-policy", policy]);
            args.extend(&tag_args);
            args.push(c);
            let theirs = buildah.run(&args).unwrap();
            assert_eq!(
                shape(&ours),
                shape(&theirs),
                "{name}, {round}:\n{ours}\n{theirs}"
            );
            berth_runs.push(ours);
        }
        // The ids shown: each step's result is the same on the rebuild (`Using cache` names
        // it), and the last line is the image's id, which `-->` shows cut.
        let (fresh, cached) = (&berth_runs[0], &berth_runs[1]);
        let shorts = |out: &str| -> Vec<String> {
            out.lines()
                .filter(|l| l.starts_with("--> ") && !l.contains("Using cache"))
                .map(str::to_string)
                .collect()
        };
        assert_eq!(shorts(fresh), shorts(cached), "{name}");
        let id = fresh.lines().last().unwrap();
        assert_eq!(cached.lines().last().unwrap(), id);
        assert_eq!(shorts(fresh).last().unwrap(), &format!("--> {}", &id[..11]));
        for line in cached
            .lines()
            .filter_map(|l| l.strip_prefix("--> Using cache "))
        {
            let short = format!("--> {}", &line[..11]);
            assert!(
                shorts(cached).contains(&short),
                "{line} never shown: {cached}"
            );
        }
    }
    // The multi-stage build shows FROM with its argument expanded, in each stage.
    let out = r.ok(&[
        "build",
        "-t",
        "multi",
        r.env.path("multi").to_str().unwrap(),
    ]);
    assert!(
        out.starts_with("[1/2] STEP 1/4: FROM busybox AS builder\n"),
        "{out}"
    );
    assert!(out.contains("\n[2/2] STEP 1/4: FROM busybox\n"), "{out}");
    assert!(out.contains("\n[2/2] COMMIT multi\n"), "{out}");
}
