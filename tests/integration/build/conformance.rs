//! The conformance set (`tests/conformance/NN-name/`): each case is a `Containerfile`, an
//! optional `context/` and an `expect.json` describing the image it must give (files with
//! type, mode, owner, content or digest, symlink targets, absent paths, config fields,
//! history and layer counts). [`build_conformance_set`] builds every case with berth and
//! checks it; [`build_conformance_matches_buildah`] builds every case with Buildah too and
//! compares the two images (whole file trees and configs), skipping exactly what
//! `tests/conformance/DIFFERENCES.md` lists as deliberate.
//!
//! `expect.json` keys (all optional):
//! - `flags`: extra build flags for both tools; `{ctx}` is replaced by the context dir,
//!   `{case}` by the case's dir (for files outside the context, as `--secret` sources).
//! - `containerfile_in_context`: the Containerfile is put in the context dir (for the ignore
//!   rules about it) instead of beside it.
//! - `setup`: commands (argv lists) run in the copied context before building (archives,
//!   modes git cannot keep).
//! - `files`: path → `{type: file|dir|symlink, mode: "644", uid, gid, content, sha256,
//!   target}`.
//! - `absent`: paths that must not exist (deleted in a later layer: whiteouts).
//! - `config`: runtime config fields (`Env`, `Cmd`, `Entrypoint`, `WorkingDir`, `User`,
//!   `Labels`, `ExposedPorts`, `Volumes`, `StopSignal`, `Healthcheck`, `OnBuild`…) that must
//!   equal these values (`null`: absent).
//! - `image`: top-level config fields (`author`…).
//! - `history`, `layers`: the number of history entries and of layers.
//! - `error`: the build must fail, berth's message containing this text (`buildah_error`:
//!   what Buildah's must contain; Buildah must fail too). Nothing else is checked.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use serde_json::Value;

use super::oci_tree::{read_oci_dir, Entry, Kind, OciImage};
use crate::run::{busybox, RunEnv};

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance")
}

pub(super) struct Case {
    pub name: String,
    pub dir: PathBuf,
    pub expect: Value,
}

/// Every case, sorted by name; `BERTH_CONFORMANCE=pattern` keeps the names containing it.
pub(super) fn cases() -> Vec<Case> {
    let only = std::env::var("BERTH_CONFORMANCE").unwrap_or_default();
    let mut out: Vec<Case> = fs::read_dir(cases_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("Containerfile").is_file())
        .filter(|p| p.file_name().unwrap().to_string_lossy().contains(&only))
        .map(|dir| {
            let text = fs::read_to_string(dir.join("expect.json"))
                .unwrap_or_else(|e| panic!("{}/expect.json: {e}", dir.display()));
            let expect = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{}/expect.json: {e}", dir.display()));
            Case {
                name: dir.file_name().unwrap().to_string_lossy().to_string(),
                dir,
                expect,
            }
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// Copy `from` into `to` (symlinks kept), normalizing modes as a checkout with umask 022
/// gives them: directories 755, files 644, or 755 when executable.
pub(super) fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    fs::set_permissions(to, fs::Permissions::from_mode(0o755)).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let (src, dst) = (e.path(), to.join(e.file_name()));
        let md = fs::symlink_metadata(&src).unwrap();
        if md.file_type().is_symlink() {
            std::os::unix::fs::symlink(fs::read_link(&src).unwrap(), &dst).unwrap();
        } else if md.is_dir() {
            copy_tree(&src, &dst);
        } else {
            fs::copy(&src, &dst).unwrap();
            let mode = if md.permissions().mode() & 0o111 != 0 {
                0o755
            } else {
                0o644
            };
            fs::set_permissions(&dst, fs::Permissions::from_mode(mode)).unwrap();
        }
    }
}

/// A case made ready under `work`: `(Containerfile, context dir)`.
pub(super) fn prepare(case: &Case, work: &Path) -> (PathBuf, PathBuf) {
    let base = work.join(&case.name);
    let _ = fs::remove_dir_all(&base);
    let ctx = base.join("context");
    let src = case.dir.join("context");
    if src.is_dir() {
        copy_tree(&src, &ctx);
    } else {
        fs::create_dir_all(&ctx).unwrap();
    }
    for cmd in case.expect["setup"].as_array().into_iter().flatten() {
        let argv: Vec<&str> = cmd
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        let status = std::process::Command::new(argv[0])
            .args(&argv[1..])
            .current_dir(&ctx)
            .env("TZ", "UTC")
            .status()
            .unwrap();
        assert!(status.success(), "{}: setup {argv:?} failed", case.name);
    }
    // `containerfile_in_context`: the Containerfile sits in the context (as `Containerfile`).
    let file = if case.expect["containerfile_in_context"] == true {
        ctx.join("Containerfile")
    } else {
        base.join("Containerfile")
    };
    fs::copy(case.dir.join("Containerfile"), &file).unwrap();
    (file, ctx)
}

/// The case's extra build flags with `{ctx}` filled in.
pub(super) fn flags(case: &Case, ctx: &Path) -> Vec<String> {
    case.expect["flags"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| {
            f.as_str()
                .unwrap()
                .replace("{ctx}", ctx.to_str().unwrap())
                .replace("{case}", case.dir.to_str().unwrap())
        })
        .collect()
}

/// Build `case` with berth in `r` (with `extra` flags) and read the result back from an
/// OCI layout.
pub(super) fn berth_build(r: &RunEnv, case: &Case, extra: &[&str]) -> Result<OciImage, String> {
    let (file, ctx) = prepare(case, &r.env.path("cases"));
    let tag = format!("conformance-{}", case.name);
    let mut args = vec![
        "build".to_string(),
        "-q".into(),
        "-t".into(),
        tag.clone(),
        "-f".into(),
        file.display().to_string(),
    ];
    args.extend(flags(case, &ctx));
    args.extend(extra.iter().map(|s| s.to_string()));
    args.push(ctx.display().to_string());
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = r.run(&argv);
    if !out.status.success() {
        return Err(format!(
            "berth build failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let dir = r.env.path(&format!("out-{}", case.name));
    let _ = fs::remove_dir_all(&dir);
    r.ok(&[
        "save",
        "--format",
        "oci-dir",
        "-o",
        dir.to_str().unwrap(),
        &tag,
    ]);
    let image = read_oci_dir(&dir);
    let _ = fs::remove_dir_all(&dir);
    r.ok(&["rmi", &tag]);
    Ok(image)
}

fn mode_text(e: &Entry) -> String {
    format!("{:o}", e.mode)
}

/// For a case whose build must fail (`error`): what is wrong with berth's `result` (`None`
/// for a case that must build).
pub(super) fn check_failure(case: &Case, result: &Result<OciImage, String>) -> Option<Vec<String>> {
    let want = case.expect["error"].as_str()?;
    Some(match result {
        Ok(_) => vec![format!(
            "berth built it; expected an error containing {want:?}"
        )],
        Err(e) if e.contains(want) => Vec::new(),
        Err(e) => vec![format!("berth's error lacks {want:?}: {e}")],
    })
}

/// Every way `image` differs from the case's `expect.json`.
pub(super) fn check(case: &Case, image: &OciImage) -> Vec<String> {
    let x = &case.expect;
    let mut bad = Vec::new();
    for (path, want) in x["files"].as_object().into_iter().flatten() {
        let Some(got) = image.tree.get(path) else {
            bad.push(format!("{path}: missing"));
            continue;
        };
        let kind = match &got.kind {
            Kind::Dir => "dir",
            Kind::File { .. } => "file",
            Kind::Symlink(_) => "symlink",
            Kind::Other(_) => "other",
        };
        let mut wrong = |what: &str, w: &Value, g: Value| {
            if *w != g {
                bad.push(format!("{path}: {what} is {g}, expected {w}"));
            }
        };
        if let Some(w) = want.get("type") {
            wrong("type", w, kind.into());
        }
        if let Some(w) = want.get("mode") {
            wrong("mode", w, mode_text(got).into());
        }
        if let Some(w) = want.get("uid") {
            wrong("uid", w, got.uid.into());
        }
        if let Some(w) = want.get("gid") {
            wrong("gid", w, got.gid.into());
        }
        match &got.kind {
            Kind::File { sha256, text } => {
                if let Some(w) = want.get("content") {
                    wrong("content", w, text.clone().unwrap_or_default().into());
                }
                if let Some(w) = want.get("sha256") {
                    wrong("sha256", w, sha256.clone().into());
                }
            }
            Kind::Symlink(t) => {
                if let Some(w) = want.get("target") {
                    wrong("target", w, t.clone().into());
                }
            }
            _ => {}
        }
    }
    for path in x["absent"].as_array().into_iter().flatten() {
        let path = path.as_str().unwrap();
        if image.tree.contains_key(path) {
            bad.push(format!("{path}: present, expected absent"));
        }
    }
    let runtime = &image.config["config"];
    for (field, want) in x["config"].as_object().into_iter().flatten() {
        let got = runtime.get(field).cloned().unwrap_or(Value::Null);
        if got != *want && !(want.is_null() && is_empty(&got)) {
            bad.push(format!("config {field} is {got}, expected {want}"));
        }
    }
    for (field, want) in x["image"].as_object().into_iter().flatten() {
        let got = image.config.get(field).cloned().unwrap_or(Value::Null);
        if got != *want {
            bad.push(format!("image {field} is {got}, expected {want}"));
        }
    }
    if let Some(n) = x["history"].as_u64() {
        let got = history_len(image);
        if got as u64 != n {
            bad.push(format!("{got} history entries, expected {n}"));
        }
    }
    if let Some(n) = x["layers"].as_u64() {
        if image.layers as u64 != n {
            bad.push(format!("{} layers, expected {n}", image.layers));
        }
    }
    bad
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        Value::String(s) => s.is_empty(),
        _ => false,
    }
}

fn history_len(image: &OciImage) -> usize {
    image.config["history"].as_array().map_or(0, Vec::len)
}

/// Run `work(worker, case)` for every case on `workers` threads; `setup` makes a worker's
/// state. Returns each case's failures (empty when it passed), by case name.
pub(super) fn for_each_case<S>(
    cases: &[Case],
    workers: usize,
    setup: impl Fn(usize) -> S + Sync,
    work: impl Fn(&S, &Case) -> Vec<String> + Sync,
) -> BTreeMap<String, Vec<String>> {
    let next = AtomicUsize::new(0);
    let results = Mutex::new(BTreeMap::new());
    std::thread::scope(|s| {
        for w in 0..workers.min(cases.len()) {
            let (next, results, setup, work) = (&next, &results, &setup, &work);
            s.spawn(move || {
                let state = setup(w);
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(case) = cases.get(i) else { break };
                    let started = Instant::now();
                    let failures = work(&state, case);
                    eprintln!(
                        "conformance {}: {} in {:.1}s",
                        case.name,
                        if failures.is_empty() { "ok" } else { "FAILED" },
                        started.elapsed().as_secs_f64()
                    );
                    results.lock().unwrap().insert(case.name.clone(), failures);
                }
            });
        }
    });
    results.into_inner().unwrap()
}

/// Panic with every failure of every case, if any.
pub(super) fn assert_all_passed(results: &BTreeMap<String, Vec<String>>) {
    let failed: Vec<String> = results
        .iter()
        .filter(|(_, f)| !f.is_empty())
        .map(|(name, f)| format!("{name}:\n  {}", f.join("\n  ")))
        .collect();
    assert!(
        failed.is_empty(),
        "{} of {} cases failed:\n{}",
        failed.len(),
        results.len(),
        failed.join("\n")
    );
}

/// Worker threads for the conformance runs: `$BERTH_CONFORMANCE_WORKERS`, else the cores
/// plus two (Buildah's vfs copies wait on the disk), at least 2, at most 4.
pub(super) fn workers() -> usize {
    if let Some(n) = std::env::var("BERTH_CONFORMANCE_WORKERS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        return n;
    }
    std::thread::available_parallelism()
        .map(|n| n.get() + 2)
        .unwrap_or(2)
        .clamp(2, 4)
}

#[test]
fn build_conformance_set() {
    let cases = cases();
    assert!(
        cases.len() >= 40 || std::env::var("BERTH_CONFORMANCE").is_ok(),
        "only {} conformance cases",
        cases.len()
    );
    let started = Instant::now();
    let results = for_each_case(
        &cases,
        workers(),
        |_| busybox(),
        |r, case| {
            let result = berth_build(r, case, &[]);
            if let Some(bad) = check_failure(case, &result) {
                return bad;
            }
            match result {
                Ok(image) => check(case, &image),
                Err(e) => vec![e],
            }
        },
    );
    eprintln!(
        "conformance: {} cases built by berth and checked in {:.1}s",
        cases.len(),
        started.elapsed().as_secs_f64()
    );
    assert_all_passed(&results);
}
