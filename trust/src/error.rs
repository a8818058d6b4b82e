//! [`TrustError`], the crate's error: every variant names the file, key path, scope, image,
//! key or signature concerned, and keeps its kind (a malformed policy, a rejected image, a
//! signature that did not verify and why, a manifest outside its verified list).

use std::path::PathBuf;

use berth_layers::Digest;

/// A policy error: every variant names the file, key, image or policy scope concerned.
/// `applied` reads like `policy requirement for docker scope "x.io/a" (from /etc/containers/policy.json)`.
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
    /// A `reject` requirement (or an empty requirement list) applied.
    #[error("Source image rejected: Running image {transport}://{reference} is rejected by policy: {applied}")]
    Rejected {
        transport: String,
        reference: String,
        applied: String,
    },
    /// The policy asks for something berth cannot check.
    #[error("Source image rejected: {what}: {applied}")]
    Unsupported { what: String, applied: String },
    /// A signature requirement was not met (no signature, wrong key, digest or identity).
    #[error("Source image rejected: {reason}: {applied}")]
    SignatureRejected { reason: String, applied: String },
    /// A key named by the policy could not be read or parsed.
    #[error("Source image rejected: key {key}: {message}: {applied}")]
    Key {
        key: String,
        message: String,
        applied: String,
    },
    /// The signatures could not be fetched (`cause` is the fetcher's error).
    #[error("reading signatures of {reference}: {cause}: {applied}")]
    Signatures {
        reference: String,
        cause: crate::signature::FetchError,
        applied: String,
    },
    /// More signatures than [`MAX_SIGNATURES`] were offered.
    #[error("Source image rejected: {count} signatures of one kind exceed the limit of {max}: {applied}")]
    TooManySignatures {
        count: usize,
        max: usize,
        applied: String,
    },
    /// A registries.d file is unreadable or malformed.
    #[error("registries.d {path}: {message}")]
    RegistriesD { path: String, message: String },
    /// Writing a file (policy.json) failed.
    #[error("writing {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A file that is not overwritten (a key pair's) already exists.
    #[error("{} already exists; refusing to overwrite it", path.display())]
    Exists { path: PathBuf },
    /// A new file (a key pair's) could not be created.
    #[error("creating {path}: {source}")]
    Create {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A new key pair could not be made.
    #[error("generating a key: {0}")]
    KeyGeneration(#[source] crate::sigstore::KeyError),
    /// A bad argument to `image trust set`.
    #[error("{0}")]
    Usage(String),
    /// A value of the policy document, at its key path (`default[0].keyType`), is not valid.
    #[error("{at}: {message}")]
    PolicyValue { at: String, message: String },
    /// A policy scope that is not valid for its transport.
    #[error("invalid scope {scope:?}{detail}")]
    InvalidScope {
        scope: String,
        /// Empty, or `: why`.
        detail: String,
    },
    /// A docker scope with a wildcard anywhere but in a leading `*.`.
    #[error("invalid wildcard scope {scope:?} (only a leading \"*.\" before a domain is allowed)")]
    InvalidWildcardScope { scope: String },
    /// A docker reference that does not parse (a `signedIdentity`, a scope, a lookaside name).
    #[error(transparent)]
    Reference(#[from] berth_layers::reference::ReferenceError),
    /// A `remapIdentity` prefix that is neither `host[:port]` nor `host/path`.
    #[error("prefix {prefix:?} is not valid")]
    InvalidPrefix { prefix: String },
    /// A simple-signing payload that is malformed.
    #[error("invalid signature payload: {0}")]
    Payload(String),
    /// A verified payload names another manifest digest than the image's.
    #[error("Signature for digest {signed} does not match image digest {image}")]
    SignedDigest { signed: String, image: String },
    /// A verified payload claims an identity the requirement does not accept.
    #[error("Signature for identity {identity:?} is not accepted")]
    SignedIdentity { identity: String },
    /// One signature (or its payload) is larger than berth considers.
    #[error("{what} of {size} bytes is too large")]
    SignatureTooLarge { what: &'static str, size: usize },
    /// A sigstore attachment without its signature annotation.
    #[error("missing {annotation} annotation")]
    MissingAnnotation { annotation: &'static str },
    /// An OpenPGP signature did not verify.
    #[error(transparent)]
    Gpg(#[from] crate::gpg::GpgError),
    /// A sigstore key or signature did not verify.
    #[error(transparent)]
    Sigstore(#[from] crate::sigstore::KeyError),
    /// A requirement names no key at all to verify with.
    #[error("no {0}")]
    NoKey(&'static str),
    /// A manifest list's own bytes do not parse.
    #[error("manifest list {list}: {source}")]
    ListUnreadable {
        list: Digest,
        #[source]
        source: serde_json::Error,
    },
    /// A manifest offered as an instance of a verified list is not listed in it.
    #[error("manifest {digest} is not in the verified list {list}")]
    NotInList { digest: Digest, list: Digest },
    /// A manifest whose bytes do not hash to the digest it was fetched by.
    #[error("manifest {expected}: content has digest {actual}")]
    ManifestDigest { expected: Digest, actual: Digest },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_keep_the_messages_they_had_as_strings() {
        let scope = |detail: &str| TrustError::InvalidScope {
            scope: "/".into(),
            detail: detail.into(),
        };
        assert_eq!(
            scope(": use the transport default scope \"\"").to_string(),
            "invalid scope \"/\": use the transport default scope \"\""
        );
        assert_eq!(scope("").to_string(), "invalid scope \"/\"");
        assert_eq!(
            TrustError::InvalidWildcardScope { scope: "a*".into() }.to_string(),
            "invalid wildcard scope \"a*\" (only a leading \"*.\" before a domain is allowed)"
        );
        assert_eq!(
            TrustError::SignatureTooLarge {
                what: "payload",
                size: 9
            }
            .to_string(),
            "payload of 9 bytes is too large"
        );
        assert_eq!(TrustError::NoKey("keyring").to_string(), "no keyring");
        assert_eq!(
            TrustError::PolicyValue {
                at: "default[0].keyType".into(),
                message: "must be a string".into()
            }
            .to_string(),
            "default[0].keyType: must be a string"
        );
        let d = berth_layers::digest::digest_bytes(b"a");
        let e = berth_layers::digest::digest_bytes(b"b");
        assert_eq!(
            TrustError::ManifestDigest {
                expected: d.clone(),
                actual: e.clone()
            }
            .to_string(),
            format!("manifest {d}: content has digest {e}")
        );
        let bad = crate::identity::parse_normalized("UP/x").unwrap_err();
        assert!(matches!(bad, TrustError::Reference(_)), "{bad:?}");
        assert!(bad.to_string().starts_with("invalid reference \"UP/x\""));
    }
}
