//! containers-policy.json(5): loading, strict parsing, scope matching and evaluation.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::gate::{UnverifiedImage, VerifiedImage};

/// The policy used when no policy file exists at all.
pub const DEFAULT_POLICY: &str = r#"{"default":[{"type":"insecureAcceptAnything"}]}"#;

/// A policy error: every variant names the file, key or image concerned.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    /// The policy file could not be read.
    #[error("reading policy {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The policy file is malformed.
    #[error("policy {path}: {message}")]
    Invalid { path: String, message: String },
    /// The policy rejects the image.
    #[error("Running image {transport}://{reference} is rejected by policy.")]
    Rejected {
        transport: String,
        reference: String,
    },
    /// The policy asks for something berth cannot check yet.
    #[error("policy {path} for {transport}://{reference} (scope {scope:?}): {kind} requires signature verification, which berth does not support yet")]
    Unsupported {
        path: String,
        transport: String,
        reference: String,
        scope: String,
        kind: String,
    },
}

/// One requirement of a policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requirement {
    /// Accept anything.
    InsecureAcceptAnything,
    /// Refuse everything.
    Reject,
    /// `signedBy` (GPG simple signing): parsed, not verified yet.
    SignedBy,
    /// `sigstoreSigned`: parsed, not verified yet.
    SigstoreSigned,
}

/// Where the policy came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicySource {
    /// A file.
    File(PathBuf),
    /// The embedded default (no file existed).
    Default,
}

impl std::fmt::Display for PolicySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PolicySource::File(p) => write!(f, "{}", p.display()),
            PolicySource::Default => write!(f, "(built-in default)"),
        }
    }
}

/// A parsed policy.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Where it was read from.
    pub source: PolicySource,
    default: Vec<Requirement>,
    /// transport → scope → requirements (scope `""` is the transport's default).
    transports: BTreeMap<String, BTreeMap<String, Vec<Requirement>>>,
}

impl Policy {
    /// Load the policy: `explicit` (`--signature-policy`) when given, else
    /// `~/.config/containers/policy.json`, else `/etc/containers/policy.json`, else the
    /// embedded default.
    pub fn load(explicit: Option<&Path>) -> Result<Policy, TrustError> {
        if let Some(path) = explicit {
            return Policy::from_file(path);
        }
        let mut candidates = Vec::new();
        if let Some(home) = std::env::var_os("HOME") {
            candidates.push(PathBuf::from(home).join(".config/containers/policy.json"));
        }
        candidates.push(PathBuf::from("/etc/containers/policy.json"));
        for path in candidates {
            if path.exists() {
                return Policy::from_file(&path);
            }
        }
        Policy::parse(DEFAULT_POLICY.as_bytes(), PolicySource::Default)
    }

    /// Read and parse one file.
    pub fn from_file(path: &Path) -> Result<Policy, TrustError> {
        let bytes = std::fs::read(path).map_err(|source| TrustError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Policy::parse(&bytes, PolicySource::File(path.to_path_buf()))
    }

    /// Parse policy JSON strictly: unknown keys and wrong types are errors naming the key.
    pub fn parse(bytes: &[u8], source: PolicySource) -> Result<Policy, TrustError> {
        let what = source.to_string();
        let invalid = |message: String| TrustError::Invalid {
            path: what.clone(),
            message,
        };
        let value: Value =
            serde_json::from_slice(bytes).map_err(|e| invalid(format!("not valid JSON: {e}")))?;
        let Value::Object(top) = value else {
            return Err(invalid("the top level must be an object".into()));
        };
        let mut default = None;
        let mut transports = BTreeMap::new();
        for (key, v) in &top {
            match key.as_str() {
                "default" => default = Some(requirements(v, "default").map_err(&invalid)?),
                "transports" => {
                    let Value::Object(map) = v else {
                        return Err(invalid("key \"transports\" must be an object".into()));
                    };
                    for (transport, scopes) in map {
                        let Value::Object(scopes) = scopes else {
                            return Err(invalid(format!(
                                "key \"transports.{transport}\" must be an object"
                            )));
                        };
                        let mut parsed = BTreeMap::new();
                        for (scope, reqs) in scopes {
                            let at = format!("transports.{transport}.{scope:?}");
                            parsed
                                .insert(scope.clone(), requirements(reqs, &at).map_err(&invalid)?);
                        }
                        transports.insert(transport.clone(), parsed);
                    }
                }
                other => return Err(invalid(format!("unknown key {other:?}"))),
            }
        }
        let default = default.ok_or_else(|| invalid("missing key \"default\"".into()))?;
        Ok(Policy {
            source,
            default,
            transports,
        })
    }

    /// The requirements that apply to `reference` under `transport`, with the scope that
    /// matched (`""` for the transport default, `"default"` for the global one).
    pub fn requirements_for(&self, transport: &str, reference: &str) -> (&[Requirement], String) {
        if let Some(scopes) = self.transports.get(transport) {
            let candidates = if transport == "docker" {
                docker_scopes(reference)
            } else {
                vec![reference.to_string()]
            };
            for scope in candidates {
                if let Some(reqs) = scopes.get(&scope) {
                    return (reqs, scope);
                }
            }
            if let Some(reqs) = scopes.get("") {
                return (reqs, String::new());
            }
        }
        (&self.default, "default".to_string())
    }

    /// Check `image` against the policy; the only way to make a [`VerifiedImage`].
    pub fn verify(&self, image: UnverifiedImage) -> Result<VerifiedImage, TrustError> {
        let (reqs, scope) = self.requirements_for(&image.transport, &image.reference);
        let rejected = || TrustError::Rejected {
            transport: image.transport.clone(),
            reference: image.reference.clone(),
        };
        if reqs.is_empty() {
            return Err(rejected());
        }
        for req in reqs {
            match req {
                Requirement::InsecureAcceptAnything => {}
                Requirement::Reject => return Err(rejected()),
                Requirement::SignedBy | Requirement::SigstoreSigned => {
                    return Err(TrustError::Unsupported {
                        path: self.source.to_string(),
                        transport: image.transport.clone(),
                        reference: image.reference.clone(),
                        scope,
                        kind: if *req == Requirement::SignedBy {
                            "signedBy".into()
                        } else {
                            "sigstoreSigned".into()
                        },
                    })
                }
            }
        }
        Ok(VerifiedImage::accept(image))
    }
}

fn requirements(v: &Value, at: &str) -> Result<Vec<Requirement>, String> {
    let Value::Array(list) = v else {
        return Err(format!("key {at:?} must be an array of requirements"));
    };
    list.iter()
        .enumerate()
        .map(|(i, r)| requirement(r, &format!("{at}[{i}]")))
        .collect()
}

fn requirement(v: &Value, at: &str) -> Result<Requirement, String> {
    let Value::Object(map) = v else {
        return Err(format!("{at} must be an object"));
    };
    let kind = match map.get("type") {
        Some(Value::String(s)) => s.as_str(),
        Some(_) => return Err(format!("{at}: key \"type\" must be a string")),
        None => return Err(format!("{at}: missing key \"type\"")),
    };
    let only_type = |map: &Map<String, Value>, req: Requirement| match map
        .keys()
        .find(|k| k.as_str() != "type")
    {
        Some(k) => Err(format!("{at}: unknown key {k:?} for type {kind:?}")),
        None => Ok(req),
    };
    let allowed = |map: &Map<String, Value>, keys: &[&str], req: Requirement| match map
        .keys()
        .find(|k| k.as_str() != "type" && !keys.contains(&k.as_str()))
    {
        Some(k) => Err(format!("{at}: unknown key {k:?} for type {kind:?}")),
        None => Ok(req),
    };
    match kind {
        "insecureAcceptAnything" => only_type(map, Requirement::InsecureAcceptAnything),
        "reject" => only_type(map, Requirement::Reject),
        "signedBy" => allowed(
            map,
            &[
                "keyType",
                "keyPath",
                "keyPaths",
                "keyData",
                "signedIdentity",
            ],
            Requirement::SignedBy,
        ),
        "sigstoreSigned" => allowed(
            map,
            &[
                "keyPath",
                "keyPaths",
                "keyData",
                "keyDatas",
                "fulcio",
                "rekorPublicKeyPath",
                "rekorPublicKeyPaths",
                "rekorPublicKeyData",
                "rekorPublicKeyDatas",
                "pki",
                "signedIdentity",
            ],
            Requirement::SigstoreSigned,
        ),
        other => Err(format!("{at}: unknown requirement type {other:?}")),
    }
}

/// Policy scopes for a docker reference, most specific first: `host/repo:tag` (or
/// `@digest`), `host/repo`, each namespace prefix, `host[:port]`, then `*.domain` wildcards.
pub fn docker_scopes(reference: &str) -> Vec<String> {
    let mut out = vec![reference.to_string()];
    let repo = match reference.find('@') {
        Some(at) => &reference[..at],
        None => {
            let last_slash = reference.rfind('/').unwrap_or(0);
            match reference[last_slash..].rfind(':') {
                Some(c) => &reference[..last_slash + c],
                None => reference,
            }
        }
    };
    // A reference with both tag and digest: also try `host/repo:tag`.
    if let Some(at) = reference.find('@') {
        let named = &reference[..at];
        let last_slash = named.rfind('/').unwrap_or(0);
        if named[last_slash..].contains(':') {
            out.push(named.to_string());
        }
    }
    let mut prefix = repo;
    loop {
        if !out.iter().any(|s| s == prefix) {
            out.push(prefix.to_string());
        }
        match prefix.rfind('/') {
            Some(i) => prefix = &prefix[..i],
            None => break,
        }
    }
    let host = prefix.split(':').next().unwrap_or(prefix);
    let parts: Vec<&str> = host.split('.').collect();
    for i in 1..parts.len() {
        out.push(format!("*.{}", parts[i..].join(".")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_layers::digest::digest_bytes;

    fn image(reference: &str) -> UnverifiedImage {
        UnverifiedImage {
            transport: "docker".into(),
            reference: reference.into(),
            digest: digest_bytes(b"{}"),
            media_type: "application/vnd.oci.image.manifest.v1+json".into(),
            manifest: b"{}".to_vec(),
        }
    }

    fn policy(json: &str) -> Result<Policy, TrustError> {
        Policy::parse(json.as_bytes(), PolicySource::File("test.json".into()))
    }

    #[test]
    fn scopes_most_specific_first() {
        assert_eq!(
            docker_scopes("reg.example.com:5000/ns/sub/app:1"),
            vec![
                "reg.example.com:5000/ns/sub/app:1",
                "reg.example.com:5000/ns/sub/app",
                "reg.example.com:5000/ns/sub",
                "reg.example.com:5000/ns",
                "reg.example.com:5000",
                "*.example.com",
                "*.com"
            ]
        );
        let d = format!("127.0.0.1:5000/app@{}", digest_bytes(b"x"));
        assert_eq!(docker_scopes(&d)[1], "127.0.0.1:5000/app");
    }

    #[test]
    fn most_specific_scope_wins() {
        let p = policy(
            r#"{"default":[{"type":"reject"}],"transports":{"docker":{
                "reg.example.com/ns":[{"type":"insecureAcceptAnything"}],
                "reg.example.com/ns/bad":[{"type":"reject"}],
                "*.trusted.org":[{"type":"insecureAcceptAnything"}]}}}"#,
        )
        .unwrap();
        assert!(p.verify(image("reg.example.com/ns/app:1")).is_ok());
        let err = p.verify(image("reg.example.com/ns/bad:1")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Running image docker://reg.example.com/ns/bad:1 is rejected by policy."
        );
        assert!(p.verify(image("a.b.trusted.org/x:1")).is_ok());
        assert!(p.verify(image("other.io/x:1")).is_err());
    }

    #[test]
    fn transport_default_then_global_default() {
        let p = policy(
            r#"{"default":[{"type":"insecureAcceptAnything"}],
                "transports":{"docker":{"":[{"type":"reject"}]}}}"#,
        )
        .unwrap();
        assert!(p.verify(image("x.io/a:1")).is_err());
    }

    #[test]
    fn empty_requirements_reject() {
        let p = policy(r#"{"default":[]}"#).unwrap();
        assert!(matches!(
            p.verify(image("x.io/a:1")),
            Err(TrustError::Rejected { .. })
        ));
    }

    #[test]
    fn signatures_are_refused_clearly() {
        let p = policy(r#"{"default":[{"type":"signedBy","keyType":"GPGKeys","keyPath":"/k"}]}"#)
            .unwrap();
        let err = p.verify(image("x.io/a:1")).unwrap_err().to_string();
        assert!(
            err.contains("signedBy requires signature verification"),
            "{err}"
        );
    }

    #[test]
    fn unknown_keys_are_errors_naming_file_and_key() {
        let err = policy(r#"{"default":[],"extra":1}"#)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("test.json") && err.contains("\"extra\""),
            "{err}"
        );
        let err = policy(r#"{"default":[{"type":"reject","why":1}]}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("\"why\""), "{err}");
        let err = policy(r#"{"default":[{"type":"maybe"}]}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("\"maybe\""), "{err}");
        assert!(policy(r#"{"transports":{}}"#).is_err());
    }
}
