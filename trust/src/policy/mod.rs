//! containers-policy.json(5): loading, strict parsing, scope matching and evaluation.
//!
//! Parsing follows containers/image: unknown keys, duplicate keys (at any depth), wrong types,
//! empty requirement lists and an invalid `signedIdentity` are errors naming the file and the
//! key path. Evaluation ANDs the requirements of the most specific scope; `signedBy` and
//! `sigstoreSigned` accept the image if any one signature verifies with one of the keys, names
//! the image's digest, and carries an identity that `signedIdentity` accepts.
//!
//! - [`parse`](self): strict JSON → [`Requirement`]s; `scopes`: scope validation and
//!   most-specific-first candidates; `evaluate`: signatures against requirements.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde_json::{Map, Value};

use crate::config_dir;
pub use crate::error::TrustError;
use crate::gate::{UnverifiedImage, VerifiedImage};
use crate::gpg::GpgKeyring;
use crate::identity::{parse_normalized, validate_remap_prefix, SignedIdentity};
use crate::payload::{parse_payload, strict_json, PayloadKind};
use crate::signature::{
    FetchError, SignatureSource, SigstoreSignature, COSIGN_PAYLOAD_MEDIA_TYPE,
    COSIGN_SIGNATURE_ANNOTATION, MAX_SIGNATURES, MAX_SIGNATURE_BYTES,
};

/// The policy used when no policy file exists at all.
pub const DEFAULT_POLICY: &str = r#"{"default":[{"type":"insecureAcceptAnything"}]}"#;

/// The message containers/image and Podman give when a signature is required and none exists.
pub const NO_SIGNATURE: &str = "A signature was required, but no signature exists";

/// Where a requirement's keys come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// `keyPath` (one element) or `keyPaths`. Relative paths are relative to the current
    /// directory, as containers/image reads them. Read at evaluation time.
    Paths(Vec<PathBuf>),
    /// `keyData`: the decoded contents of one key file.
    Data(Vec<u8>),
    /// `keyDatas` (sigstoreSigned only): several decoded key files.
    Datas(Vec<Vec<u8>>),
}

impl KeySource {
    /// Read every key: `(name for messages, bytes)`; an error is `(key, message)`.
    fn load(&self) -> Result<Vec<NamedKey>, (String, String)> {
        match self {
            KeySource::Paths(paths) => paths
                .iter()
                .map(|p| {
                    let name = p.display().to_string();
                    match std::fs::read(p) {
                        Ok(b) => Ok((name, b)),
                        Err(e) => Err((name, e.to_string())),
                    }
                })
                .collect(),
            KeySource::Data(d) => Ok(vec![("keyData".into(), d.clone())]),
            KeySource::Datas(ds) => Ok(ds
                .iter()
                .enumerate()
                .map(|(i, d)| (format!("keyDatas[{i}]"), d.clone()))
                .collect()),
        }
    }

    /// The paths, or `keyData`, for display.
    pub fn describe(&self) -> Vec<String> {
        match self {
            KeySource::Paths(p) => p.iter().map(|p| p.display().to_string()).collect(),
            KeySource::Data(_) => vec!["(keyData)".into()],
            KeySource::Datas(d) => (0..d.len()).map(|i| format!("(keyDatas[{i}])")).collect(),
        }
    }
}

/// A key's name for messages (its path, or `keyData`) and its bytes.
type NamedKey = (String, Vec<u8>);

/// One requirement of a policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requirement {
    /// Accept anything.
    InsecureAcceptAnything,
    /// Refuse everything.
    Reject,
    /// `signedBy`: GPG simple signing.
    SignedBy {
        /// `keyType`: only `GPGKeys` is evaluated; the other values containers/image parses
        /// (`signedByGPGKeys`, `X509Certificates`, `signedByX509CAs`) reject at evaluation.
        key_type: String,
        /// The keyring(s).
        keys: KeySource,
        /// `signedIdentity` (default `matchRepoDigestOrExact`).
        identity: SignedIdentity,
    },
    /// `sigstoreSigned` with public keys (no Fulcio, Rekor or PKI).
    SigstoreSigned {
        /// The PEM public key(s).
        keys: KeySource,
        /// `signedIdentity` (default `matchRepoDigestOrExact`).
        identity: SignedIdentity,
    },
}

impl Requirement {
    /// The policy.json `type` name.
    pub fn type_name(&self) -> &'static str {
        match self {
            Requirement::InsecureAcceptAnything => "insecureAcceptAnything",
            Requirement::Reject => "reject",
            Requirement::SignedBy { .. } => "signedBy",
            Requirement::SigstoreSigned { .. } => "sigstoreSigned",
        }
    }

    fn needs_signatures(&self) -> bool {
        matches!(
            self,
            Requirement::SignedBy { .. } | Requirement::SigstoreSigned { .. }
        )
    }
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
        candidates.extend(config_dir::user_path("policy.json"));
        candidates.push(config_dir::system_path("policy.json"));
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

    /// Parse policy JSON strictly: unknown or duplicate keys, wrong types and empty
    /// requirement lists are errors naming the key path.
    pub fn parse(bytes: &[u8], source: PolicySource) -> Result<Policy, TrustError> {
        let invalid = |message: String| TrustError::Invalid {
            path: source.to_string(),
            message,
        };
        let value = strict_json(bytes).map_err(|e| invalid(format!("not valid JSON: {e}")))?;
        let Value::Object(top) = value else {
            return Err(invalid("the top level must be an object".into()));
        };
        let mut default = None;
        let mut transports = BTreeMap::new();
        for (key, v) in &top {
            match key.as_str() {
                "default" => {
                    default = Some(requirements(v, "default").map_err(|e| invalid(e.to_string()))?)
                }
                "transports" => {
                    let Value::Object(map) = v else {
                        return Err(invalid("transports: must be an object".into()));
                    };
                    for (transport, scopes) in map {
                        let Value::Object(scopes) = scopes else {
                            return Err(invalid(format!(
                                "transports.{transport}: must be an object"
                            )));
                        };
                        let mut parsed = BTreeMap::new();
                        for (scope, reqs) in scopes {
                            let at = format!("transports.{transport}.{scope:?}");
                            if transport == "docker" {
                                validate_docker_scope(scope)
                                    .map_err(|e| invalid(format!("{at}: {e}")))?;
                            } else if PATH_TRANSPORTS.contains(&transport.as_str()) {
                                validate_path_scope(scope)
                                    .map_err(|e| invalid(format!("{at}: {e}")))?;
                            }
                            let reqs =
                                requirements(reqs, &at).map_err(|e| invalid(e.to_string()))?;
                            parsed.insert(scope.clone(), reqs);
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

    /// The global `default` requirements.
    pub fn default_requirements(&self) -> &[Requirement] {
        &self.default
    }

    /// transport → scope → requirements, as written (scope `""` is a transport's default).
    pub fn transports(&self) -> &BTreeMap<String, BTreeMap<String, Vec<Requirement>>> {
        &self.transports
    }

    /// The requirements that apply to `reference` under `transport`, with the scope that
    /// matched (`""` for the transport default, `"default"` for the global one).
    pub fn requirements_for(&self, transport: &str, reference: &str) -> (&[Requirement], String) {
        if let Some(scopes) = self.transports.get(transport) {
            let candidates = if transport == "docker" {
                docker_scopes(reference)
            } else {
                path_scopes(reference)
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

    /// True when the requirements for `reference` check signatures (so the caller should
    /// fetch them).
    pub fn needs_signatures(&self, transport: &str, reference: &str) -> bool {
        let (reqs, _) = self.requirements_for(transport, reference);
        reqs.iter().any(Requirement::needs_signatures)
    }

    /// Human description of the scope that applied, for error messages.
    fn applied(&self, transport: &str, scope: &str) -> String {
        let from = &self.source;
        match scope {
            "default" => format!("default policy requirement (from {from})"),
            "" => format!("policy requirement for the {transport} transport default (from {from})"),
            s => format!("policy requirement for {transport} scope {s:?} (from {from})"),
        }
    }

    /// Check `image` against the policy; the only way to make a [`VerifiedImage`].
    /// Signatures are requested from `signatures` only by the requirements that need them.
    pub fn verify(
        &self,
        image: UnverifiedImage,
        signatures: &mut dyn SignatureSource,
    ) -> Result<VerifiedImage, TrustError> {
        let (reqs, scope) = self.requirements_for(&image.transport, &image.reference);
        let applied = self.applied(&image.transport, &scope);
        let rejected = || TrustError::Rejected {
            transport: image.transport.clone(),
            reference: image.reference.clone(),
            applied: applied.clone(),
        };
        if reqs.is_empty() {
            return Err(rejected());
        }
        let check = Check {
            image: &image,
            applied: &applied,
        };
        let mut fetched = Fetched::default();
        for req in reqs {
            match req {
                Requirement::InsecureAcceptAnything => {}
                Requirement::Reject => return Err(rejected()),
                Requirement::SignedBy {
                    key_type,
                    keys,
                    identity,
                } => {
                    let sigs = fetched.simple(signatures, &check)?;
                    check.signed_by(key_type, keys, identity, sigs)?;
                }
                Requirement::SigstoreSigned { keys, identity } => {
                    let sigs = fetched.sigstore(signatures, &check)?;
                    check.sigstore_signed(keys, identity, sigs)?;
                }
            }
        }
        Ok(VerifiedImage::accept(image))
    }
}

mod evaluate;
mod parse;
mod scopes;
#[cfg(test)]
mod tests;

use evaluate::{Check, Fetched};
use parse::requirements;
pub(crate) use parse::validate_docker_scope;
pub use scopes::docker_scopes;
use scopes::{path_scopes, validate_path_scope, PATH_TRANSPORTS};
