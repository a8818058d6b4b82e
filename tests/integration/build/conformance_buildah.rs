//! The conformance set built by Debian's Buildah as well: every case's image from Buildah
//! (`bud --layers`, vfs storage, isolated from the host's containers config, the same
//! busybox base pulled from an `oci-archive:`) is pushed to an OCI layout and compared with
//! berth's: the whole file tree (path, type, mode, owner, content digest, symlink target;
//! not mtimes), the config fields the issue lists, the history and layer counts.
//!
//! What differs on purpose is listed in `tests/conformance/DIFFERENCES.md`, one table row
//! per difference: `` | `case` | `what` | why | ``, `case` being a case name or `*` (every
//! case), `what` one of `case` (Buildah cannot build it), `path /p` (that path and what is
//! under it), `config Field`, `label key`, `history`, `layers`. Exactly those are skipped.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use serde_json::Value;

use super::conformance::{
    assert_all_passed, berth_build, cases, check_failure, flags, for_each_case, prepare, workers,
    Case,
};
use super::oci_tree::{read_oci_dir, OciImage};
use crate::run::{busybox, RunEnv};

/// What DIFFERENCES.md lets differ: case (or `*`) → the `what`s; and the rows that were
/// needed (a row no build needed is an error: the table must stay exact).
struct Differences(
    BTreeMap<String, BTreeSet<String>>,
    Mutex<BTreeSet<(String, String)>>,
);

impl Differences {
    fn load() -> Differences {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance/DIFFERENCES.md");
        let text = fs::read_to_string(&path).unwrap();
        let mut map: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for line in text.lines().filter(|l| l.starts_with("| `")) {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let (case, what) = (cells[1].trim_matches('`'), cells[2].trim_matches('`'));
            map.entry(case.to_string())
                .or_default()
                .insert(what.to_string());
        }
        Differences(map, Mutex::default())
    }

    /// Whether a difference `what` of `case` is listed (and so needed).
    fn allows(&self, case: &str, what: &str) -> bool {
        self.find(case, |w| w == what)
    }

    /// Whether a difference at `path` is at or under a `path` row of `case`.
    fn allows_path(&self, case: &str, path: &str) -> bool {
        self.find(case, |w| {
            w.strip_prefix("path ").is_some_and(|p| {
                path == p || path.starts_with(&format!("{}/", p.trim_end_matches('/')))
            })
        })
    }

    fn find(&self, case: &str, matches: impl Fn(&str) -> bool) -> bool {
        for c in [case, "*"] {
            if let Some(w) = self.0.get(c).and_then(|s| s.iter().find(|w| matches(w))) {
                self.1.lock().unwrap().insert((c.to_string(), w.clone()));
                return true;
            }
        }
        false
    }

    /// The rows no case needed.
    fn unused(&self) -> Vec<String> {
        let used = self.1.lock().unwrap();
        self.0
            .iter()
            .flat_map(|(c, ws)| ws.iter().map(move |w| (c.clone(), w.clone())))
            .filter(|row| !used.contains(row))
            .map(|(c, w)| format!("| `{c}` | `{w}` |"))
            .collect()
    }
}

/// One worker's Buildah: its own root, run root and config files.
pub(super) struct Buildah {
    tool: PathBuf,
    dir: PathBuf,
}

impl Buildah {
    pub(super) fn new(r: &RunEnv, tool: &Path, worker: usize) -> Buildah {
        let dir = r.env.path(&format!("buildah-{worker}"));
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("containers.conf"), "").unwrap();
        fs::write(
            dir.join("registries.conf"),
            "unqualified-search-registries = []\n",
        )
        .unwrap();
        fs::write(dir.join("storage.conf"), "[storage]\ndriver = \"vfs\"\n").unwrap();
        fs::write(
            dir.join("policy.json"),
            r#"{"default":[{"type":"insecureAcceptAnything"}]}"#,
        )
        .unwrap();
        let b = Buildah {
            tool: tool.to_path_buf(),
            dir,
        };
        let archive = r.env.path("busybox-oci.tar");
        if !archive.exists() {
            r.ok(&[
                "save",
                "--format",
                "oci-archive",
                "-o",
                archive.to_str().unwrap(),
                "busybox",
            ]);
        }
        let policy = b.dir.join("policy.json");
        b.run(&[
            "pull",
            "-q",
            "--signature-policy",
            policy.to_str().unwrap(),
            &format!("oci-archive:{}", archive.display()),
        ])
        .unwrap();
        b
    }

    /// Its policy.json (accepting anything).
    pub(super) fn policy(&self) -> PathBuf {
        self.dir.join("policy.json")
    }

    /// Its stdout, or what failed.
    pub(super) fn run(&self, args: &[&str]) -> Result<String, String> {
        let out = std::process::Command::new(&self.tool)
            .env("CONTAINERS_CONF", self.dir.join("containers.conf"))
            .env(
                "CONTAINERS_REGISTRIES_CONF",
                self.dir.join("registries.conf"),
            )
            .env("CONTAINERS_STORAGE_CONF", self.dir.join("storage.conf"))
            .env("BUILDAH_ISOLATION", "oci")
            // Buildah keeps RUN --mount=type=cache dirs under $TMPDIR: keep them here.
            .env("TMPDIR", &self.dir)
            .arg("--root")
            .arg(self.dir.join("root"))
            .arg("--runroot")
            .arg(self.dir.join("run"))
            .args(["--storage-driver", "vfs"])
            .args(args)
            .output()
            .unwrap();
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).to_string())
        } else {
            Err(format!(
                "buildah {args:?} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }

    /// Build `case`, push it to an OCI layout and read it back.
    fn build(&self, case: &Case) -> Result<OciImage, String> {
        let (file, ctx) = prepare(case, &self.dir.join("cases"));
        let tag = format!("conformance-{}", case.name);
        let mut args: Vec<String> = [
            "bud",
            "--layers",
            "-q",
            "--runtime",
            "runc",
            "--signature-policy",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.push(self.dir.join("policy.json").display().to_string());
        args.extend(["-t".into(), tag.clone(), "-f".into()]);
        args.push(file.display().to_string());
        args.extend(flags(case, &ctx));
        args.push(ctx.display().to_string());
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        self.run(&argv)?;
        let out = self.dir.join(format!("out-{}", case.name));
        let _ = fs::remove_dir_all(&out);
        self.run(&[
            "push",
            "-q",
            "--signature-policy",
            self.dir.join("policy.json").to_str().unwrap(),
            &tag,
            // `dir:` keeps the image's own format (a Docker config's Healthcheck, OnBuild).
            &format!("dir:{}", out.display()),
        ])?;
        let image = read_oci_dir(&out);
        let _ = fs::remove_dir_all(&out);
        Ok(image)
    }
}

/// The runtime config fields compared.
const FIELDS: [&str; 12] = [
    "Env",
    "Cmd",
    "Entrypoint",
    "WorkingDir",
    "User",
    "Labels",
    "ExposedPorts",
    "Volumes",
    "StopSignal",
    "Healthcheck",
    "OnBuild",
    "Shell",
];

fn normalized(v: Option<&Value>) -> Value {
    match v {
        None => Value::Null,
        Some(Value::Array(a)) if a.is_empty() => Value::Null,
        Some(Value::Object(o)) if o.is_empty() => Value::Null,
        Some(Value::String(s)) if s.is_empty() => Value::Null,
        Some(v) => v.clone(),
    }
}

/// Every difference between berth's and Buildah's image of `case` not allowed by `diff`.
fn compare(case: &str, ours: &OciImage, theirs: &OciImage, diff: &Differences) -> Vec<String> {
    let mut bad = Vec::new();
    let paths: BTreeSet<&String> = ours.tree.keys().chain(theirs.tree.keys()).collect();
    for p in paths {
        match (ours.tree.get(p), theirs.tree.get(p)) {
            (Some(a), Some(b)) if a == b => {}
            _ if diff.allows_path(case, p) => {}
            (a, b) => bad.push(format!(
                "{p}: berth {}, buildah {}",
                a.map_or("absent".into(), |e| e.describe()),
                b.map_or("absent".into(), |e| e.describe())
            )),
        }
    }
    for field in FIELDS {
        let mut a = normalized(ours.config["config"].get(field));
        let mut b = normalized(theirs.config["config"].get(field));
        if field == "Labels" {
            let keys: BTreeSet<String> = [&a, &b]
                .iter()
                .filter_map(|v| v.as_object())
                .flat_map(|o| o.keys().cloned())
                .collect();
            for k in keys {
                if a.get(&k) != b.get(&k) && diff.allows(case, &format!("label {k}")) {
                    for v in [&mut a, &mut b] {
                        if let Value::Object(o) = v {
                            o.remove(&k);
                        }
                    }
                }
            }
            a = normalized(Some(&a));
            b = normalized(Some(&b));
        }
        if a != b && !diff.allows(case, &format!("config {field}")) {
            bad.push(format!("config {field}: berth {a}, buildah {b}"));
        }
    }
    let (a, b) = (&ours.config["author"], &theirs.config["author"]);
    if a != b && !diff.allows(case, "image author") {
        bad.push(format!("author: berth {a}, buildah {b}"));
    }
    let count = |i: &OciImage| i.config["history"].as_array().map_or(0, Vec::len);
    if count(ours) != count(theirs) && !diff.allows(case, "history") {
        bad.push(format!(
            "history: berth {} entries, buildah {}",
            count(ours),
            count(theirs)
        ));
    }
    if ours.layers != theirs.layers && !diff.allows(case, "layers") {
        bad.push(format!(
            "layers: berth {}, buildah {}",
            ours.layers, theirs.layers
        ));
    }
    if bad.len() > 40 {
        let more = bad.len() - 40;
        bad.truncate(40);
        bad.push(format!("… and {more} more"));
    }
    bad
}

#[test]
fn build_conformance_matches_buildah() {
    let tool = crate::util::require_tool("buildah");
    let diff = Differences::load();
    let cases = cases();
    let started = Instant::now();
    let results = for_each_case(
        &cases,
        workers(),
        |w| {
            let r = busybox();
            let b = Buildah::new(&r, &tool, w);
            (r, b)
        },
        |(r, b), case| {
            if diff.allows(&case.name, "case") {
                return Vec::new();
            }
            let result = berth_build(r, case, &[]);
            if let Some(mut bad) = check_failure(case, &result) {
                let want = case.expect["buildah_error"].as_str().unwrap_or("");
                match b.build(case) {
                    Ok(_) => bad.push("Buildah built it; the case expects an error".into()),
                    Err(e) if e.contains(want) => {}
                    Err(e) => bad.push(format!("Buildah's error lacks {want:?}: {e}")),
                }
                return bad;
            }
            let ours = match result {
                Ok(i) => i,
                Err(e) => return vec![e],
            };
            match b.build(case) {
                Ok(theirs) => compare(&case.name, &ours, &theirs, &diff),
                Err(e) => vec![e],
            }
        },
    );
    eprintln!(
        "conformance: {} cases built by berth and Buildah and compared in {:.1}s",
        cases.len(),
        started.elapsed().as_secs_f64()
    );
    assert_all_passed(&results);
    if std::env::var("BERTH_CONFORMANCE").is_err() {
        let unused = diff.unused();
        assert!(
            unused.is_empty(),
            "DIFFERENCES.md rows no case needed (remove them):\n{}",
            unused.join("\n")
        );
    }
}
