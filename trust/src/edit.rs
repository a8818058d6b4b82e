//! `berth image trust show|set`: read and edit policy.json as Podman's `podman image trust`
//! does (pkg/trust in Podman).
//!
//! `set` rewrites one scope (`default`, or `transports.docker[SCOPE]`, or the scope in
//! whichever transport already has it) and leaves every other entry as it was; the file is
//! written atomically ([`berth_layers::atomic_file`]) with mode 0644 (or the existing file's
//! when tighter), and created from berth's default policy when missing. As in Podman,
//! `signedBy`/`sigstoreSigned` with several keys become one requirement per key, so the image
//! must be signed by each of them.

use std::path::{Path, PathBuf};

use serde::Serialize as _;
use serde_json::{json, Map, Value};

use crate::identity::{parse_normalized, validate_remap_prefix};
use crate::payload::strict_json;
use crate::policy::{validate_docker_scope, Policy, Requirement, TrustError, DEFAULT_POLICY};
use crate::registries_d::RegistriesD;

/// One line of `image trust show`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TrustEntry {
    /// `all` for the global default, `repository` for docker scopes (as Podman prints),
    /// else the transport name.
    pub transport: String,
    /// `default` or the scope.
    pub scope: String,
    /// `accept`, `reject`, `signed` (signedBy) or `sigstoreSigned`.
    pub kind: String,
    /// Key paths (or `(keyData)`).
    pub keys: Vec<String>,
    /// The lookaside configured in registries.d for the scope, if any.
    pub lookaside: Option<String>,
}

impl TrustEntry {
    /// The entry as `image trust show --json` prints it.
    pub fn record(&self) -> TrustRecord {
        TrustRecord {
            gpg_id: self.keys.join(", "),
            name: self.scope.clone(),
            sigstore: self.lookaside.clone().unwrap_or_default(),
            transport: self.transport.clone(),
            kind: self.kind.clone(),
        }
    }
}

/// One entry of `image trust show --json`, under the JSON names of Podman's `trust.Policy`
/// (`name`, `type`, `gpg_id`, `sigstore`), in the (sorted) order berth has always printed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TrustRecord {
    /// The key paths, joined by `, `; empty when none.
    pub gpg_id: String,
    /// `default` or the scope.
    pub name: String,
    /// The lookaside; empty when none.
    pub sigstore: String,
    pub transport: String,
    #[serde(rename = "type")]
    pub kind: String,
}

/// Describe every requirement of the policy at `policy_path`, with the registries.d lookaside
/// of each scope (`registries_d`: the directory, or the default lookup when `None`).
pub fn show(
    policy_path: &Path,
    registries_d: Option<&Path>,
) -> Result<Vec<TrustEntry>, TrustError> {
    let policy = Policy::from_file(policy_path)?;
    let registries = RegistriesD::load(registries_d)?;
    let mut out = Vec::new();
    let default_lookaside = registries.default_lookaside();
    for req in policy.default_requirements() {
        out.push(entry("all", "default", req, default_lookaside.clone()));
    }
    for (transport, scopes) in policy.transports() {
        let shown = if transport == "docker" {
            "repository"
        } else {
            transport.as_str()
        };
        for (scope, reqs) in scopes {
            let lookaside = if transport == "docker" && !scope.is_empty() {
                registries.configured_lookaside(scope)
            } else {
                default_lookaside.clone()
            };
            for req in reqs {
                out.push(entry(shown, scope, req, lookaside.clone()));
            }
        }
    }
    Ok(out)
}

fn entry(transport: &str, scope: &str, req: &Requirement, lookaside: Option<String>) -> TrustEntry {
    let (kind, keys) = match req {
        Requirement::InsecureAcceptAnything => ("accept", Vec::new()),
        Requirement::Reject => ("reject", Vec::new()),
        Requirement::SignedBy { keys, .. } => ("signed", keys.describe()),
        Requirement::SigstoreSigned { keys, .. } => ("sigstoreSigned", keys.describe()),
    };
    TrustEntry {
        transport: transport.to_string(),
        scope: scope.to_string(),
        kind: kind.to_string(),
        keys,
        lookaside,
    }
}

/// Set the requirements of `scope` (`default` or a docker scope) to `kind` (`accept`,
/// `insecureAcceptAnything`, `reject`, `signedBy`, `sigstoreSigned`) with `pubkeys`
/// (required, and only allowed, for the signature kinds; stored as absolute paths).
pub fn set(
    policy_path: &Path,
    scope: &str,
    kind: &str,
    pubkeys: &[PathBuf],
) -> Result<(), TrustError> {
    validate_set_scope(scope)?;
    let requirements = new_requirements(kind, pubkeys)?;

    let mut policy = match std::fs::read(policy_path) {
        Ok(bytes) => strict_json(&bytes).map_err(|e| TrustError::Invalid {
            path: policy_path.display().to_string(),
            message: format!("not valid JSON: {e}"),
        })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            serde_json::from_str(DEFAULT_POLICY).expect("the default policy is JSON")
        }
        Err(source) => {
            return Err(TrustError::Read {
                path: policy_path.to_path_buf(),
                source,
            })
        }
    };
    let invalid = |message: &str| TrustError::Invalid {
        path: policy_path.display().to_string(),
        message: message.to_string(),
    };
    let Value::Object(top) = &mut policy else {
        return Err(invalid("the top level must be an object"));
    };
    if scope == "default" {
        top.insert("default".into(), requirements);
    } else {
        if !top.contains_key("default") {
            return Err(invalid("default trust policy must be set"));
        }
        let transports = top
            .entry("transports")
            .or_insert_with(|| Value::Object(Map::new()));
        let Value::Object(transports) = transports else {
            return Err(invalid("transports: must be an object"));
        };
        // Podman replaces the scope in whichever transport already has it, else adds it
        // under docker.
        let existing = transports.iter().find_map(|(name, scopes)| {
            scopes
                .as_object()
                .is_some_and(|s| s.contains_key(scope))
                .then(|| name.clone())
        });
        let transport = existing.unwrap_or_else(|| "docker".to_string());
        let scopes = transports
            .entry(transport.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        let Value::Object(scopes) = scopes else {
            return Err(invalid(&format!(
                "transports.{transport}: must be an object"
            )));
        };
        scopes.insert(scope.to_string(), requirements);
    }
    write_atomically(policy_path, &policy)
}

fn new_requirements(kind: &str, pubkeys: &[PathBuf]) -> Result<Value, TrustError> {
    let usage = |m: String| Err(TrustError::Usage(m));
    let kind = if kind == "accept" {
        "insecureAcceptAnything"
    } else {
        kind
    };
    match kind {
        "insecureAcceptAnything" | "reject" => {
            if !pubkeys.is_empty() {
                return usage(format!(
                    "{} public keys unexpectedly provided for trust type {kind}",
                    pubkeys.len()
                ));
            }
            Ok(json!([{ "type": kind }]))
        }
        "signedBy" | "sigstoreSigned" => {
            if pubkeys.is_empty() {
                return usage(format!(
                    "at least one public key must be defined for type '{kind}'"
                ));
            }
            let mut list = Vec::new();
            for key in pubkeys {
                let path = std::path::absolute(key).map_err(|e| {
                    TrustError::Usage(format!("public key {}: {e}", key.display()))
                })?;
                if !path.is_file() {
                    return usage(format!("public key {}: no such file", path.display()));
                }
                let path = path.to_string_lossy().into_owned();
                list.push(if kind == "signedBy" {
                    json!({ "type": "signedBy", "keyType": "GPGKeys", "keyPath": path })
                } else {
                    json!({ "type": "sigstoreSigned", "keyPath": path })
                });
            }
            Ok(Value::Array(list))
        }
        other => usage(format!(
            "invalid trust type {other:?} (choose from 'accept', 'reject', 'signedBy', 'sigstoreSigned')"
        )),
    }
}

/// `default`, `*.domain`, `host[:port]`, or a fully qualified `host/repo[:tag|@digest]` prefix.
fn validate_set_scope(scope: &str) -> Result<(), TrustError> {
    let bad = |why: String| Err(TrustError::Usage(format!("invalid scope {scope:?}: {why}")));
    if scope == "default" {
        return Ok(());
    }
    if scope.is_empty() {
        return bad("empty (use \"default\")".into());
    }
    if let Err(e) = validate_docker_scope(scope) {
        return bad(e.to_string());
    }
    if scope.starts_with("*.") {
        return Ok(());
    }
    match scope.split_once('/') {
        None => validate_remap_prefix(scope)
            .or_else(|e| bad(format!("{e} (expected a registry host[:port])"))),
        Some((host, _)) => match parse_normalized(scope) {
            Ok(r) if r.registry() == host => Ok(()),
            Ok(r) => bad(format!(
                "not fully qualified: it would mean {r}; name the registry host first"
            )),
            Err(e) => bad(e.to_string()),
        },
    }
}

/// Write `value` as 4-space indented JSON (as Podman does) through
/// [`berth_layers::atomic_file`]: a temporary file beside `path` (never a planted one), renamed
/// over it; mode 0644, or the existing file's when that is tighter.
fn write_atomically(path: &Path, value: &Value) -> Result<(), TrustError> {
    let werr = |source| TrustError::Write {
        path: path.to_path_buf(),
        source,
    };
    let mut bytes = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut bytes, formatter);
    value.serialize(&mut ser).expect("a JSON value serializes");
    bytes.push(b'\n');
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(werr)?;
    }
    berth_layers::atomic_file::write_atomically(path, &bytes, 0o644).map_err(werr)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::SignedIdentity;
    use crate::policy::{KeySource, PolicySource};
    use std::os::unix::fs::PermissionsExt as _;

    fn read(path: &Path) -> Value {
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
    }

    #[test]
    fn set_creates_default_file_then_show() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("sub/policy.json");
        set(&path, "x.io/ns", "reject", &[]).unwrap();
        assert_eq!(
            read(&path),
            json!({"default":[{"type":"insecureAcceptAnything"}],
                   "transports":{"docker":{"x.io/ns":[{"type":"reject"}]}}})
        );
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644);
        assert!(std::fs::read_to_string(&path)
            .unwrap()
            .contains("\n    \"default\""));

        let regd = d.path().join("registries.d");
        std::fs::create_dir(&regd).unwrap();
        std::fs::write(
            regd.join("x.yaml"),
            "docker:\n  x.io:\n    lookaside: https://sigs.x.io\n",
        )
        .unwrap();
        let entries = show(&path, Some(&regd)).unwrap();
        assert_eq!(
            entries,
            vec![
                TrustEntry {
                    transport: "all".into(),
                    scope: "default".into(),
                    kind: "accept".into(),
                    keys: vec![],
                    lookaside: None,
                },
                TrustEntry {
                    transport: "repository".into(),
                    scope: "x.io/ns".into(),
                    kind: "reject".into(),
                    keys: vec![],
                    lookaside: Some("https://sigs.x.io".into()),
                },
            ]
        );
    }

    #[test]
    fn set_keeps_other_entries_and_round_trips() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("policy.json");
        std::fs::write(
            &path,
            r#"{"default":[{"type":"reject"}],"transports":{
                "docker":{"keep.io":[{"type":"signedBy","keyType":"GPGKeys","keyPath":"/k","signedIdentity":{"type":"matchRepository"}}]},
                "oci":{"":[{"type":"insecureAcceptAnything"}]}}}"#,
        )
        .unwrap();
        let key1 = d.path().join("a.pub");
        let key2 = d.path().join("b.pub");
        std::fs::write(&key1, "k").unwrap();
        std::fs::write(&key2, "k").unwrap();
        set(
            &path,
            "127.0.0.1:5000/app",
            "sigstoreSigned",
            &[key1.clone(), key2.clone()],
        )
        .unwrap();
        set(&path, "*.example.com", "accept", &[]).unwrap();
        set(&path, "default", "signedBy", std::slice::from_ref(&key1)).unwrap();

        let p = Policy::from_file(&path).unwrap();
        assert_eq!(p.source, PolicySource::File(path.clone()));
        let sig = |k: &Path| Requirement::SigstoreSigned {
            keys: KeySource::Paths(vec![k.to_path_buf()]),
            identity: SignedIdentity::MatchRepoDigestOrExact,
        };
        assert_eq!(
            p.transports()["docker"]["127.0.0.1:5000/app"],
            [sig(&key1), sig(&key2)]
        );
        assert_eq!(
            p.transports()["docker"]["*.example.com"],
            [Requirement::InsecureAcceptAnything]
        );
        assert_eq!(
            p.transports()["docker"]["keep.io"],
            [Requirement::SignedBy {
                key_type: "GPGKeys".into(),
                keys: KeySource::Paths(vec!["/k".into()]),
                identity: SignedIdentity::MatchRepository,
            }]
        );
        assert_eq!(
            p.transports()["oci"][""],
            [Requirement::InsecureAcceptAnything]
        );
        assert_eq!(
            p.default_requirements(),
            [Requirement::SignedBy {
                key_type: "GPGKeys".into(),
                keys: KeySource::Paths(vec![key1.clone()]),
                identity: SignedIdentity::MatchRepoDigestOrExact,
            }]
        );

        // Replacing a scope replaces it where it is (here: the oci transport's "" is not a
        // docker scope, so use keep.io).
        set(&path, "keep.io", "reject", &[]).unwrap();
        let p = Policy::from_file(&path).unwrap();
        assert_eq!(p.transports()["docker"]["keep.io"], [Requirement::Reject]);

        let shown = show(&path, Some(&d.path().join("none"))).unwrap();
        let kinds: Vec<(&str, &str, &str)> = shown
            .iter()
            .map(|e| (e.transport.as_str(), e.scope.as_str(), e.kind.as_str()))
            .collect();
        assert_eq!(
            kinds,
            [
                ("all", "default", "signed"),
                ("repository", "*.example.com", "accept"),
                ("repository", "127.0.0.1:5000/app", "sigstoreSigned"),
                ("repository", "127.0.0.1:5000/app", "sigstoreSigned"),
                ("repository", "keep.io", "reject"),
                ("oci", "", "accept"),
            ]
        );
        assert_eq!(shown[0].keys, [key1.display().to_string()]);
    }

    #[test]
    fn set_refuses_bad_input() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("policy.json");
        let key = d.path().join("k.pub");
        std::fs::write(&key, "k").unwrap();
        for (scope, kind, keys, want) in [
            ("x.io", "signedBy", vec![], "at least one public key"),
            ("x.io", "sigstoreSigned", vec![], "at least one public key"),
            ("x.io", "reject", vec![key.clone()], "unexpectedly provided"),
            ("x.io", "maybe", vec![], "invalid trust type"),
            (
                "x.io",
                "signedBy",
                vec![d.path().join("missing.pub")],
                "no such file",
            ),
            ("", "reject", vec![], "invalid scope"),
            ("example*.*.com", "reject", vec![], "invalid"),
            ("busybox/x", "reject", vec![], "not fully qualified"),
            ("x.io/UPPER", "reject", vec![], "invalid scope"),
            ("bad host", "reject", vec![], "invalid scope"),
        ] {
            let err = set(&path, scope, kind, &keys).unwrap_err().to_string();
            assert!(err.contains(want), "{scope} {kind}: {err}");
        }
        assert!(!path.exists(), "nothing written on refusal");

        // A malformed existing file is not overwritten.
        std::fs::write(&path, r#"{"default":[],"default":[]}"#).unwrap();
        let err = set(&path, "default", "reject", &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("duplicate key"), "{err}");
        std::fs::write(&path, r#"{"transports":{}}"#).unwrap();
        let err = set(&path, "x.io", "reject", &[]).unwrap_err().to_string();
        assert!(err.contains("default trust policy must be set"), "{err}");
    }
}
