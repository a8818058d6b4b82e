//! `signedIdentity` (containers-policy.json(5)): which docker reference a signature may claim
//! for the image being checked. References are parsed by berth-layers' one parser
//! ([`berth_layers::reference`]), with Docker's normalisation; sha384 and sha512 digests are
//! valid in a claimed reference.

pub use berth_layers::reference::Reference;
use berth_layers::reference::{check_registry_host, check_repository_path, NAME_MAX};

use crate::error::TrustError;

/// Parse with Docker's normalisation (`docker.io`, `library/`); a name without tag or
/// digest stays so.
pub fn parse_normalized(s: &str) -> Result<Reference, TrustError> {
    Ok(Reference::parse_normalized(s)?)
}

/// Parse a reference that must already be in normalized (fully qualified) form.
pub fn parse_canonical(s: &str) -> Result<Reference, TrustError> {
    Ok(Reference::parse_canonical(s)?)
}

/// Validate a `remapIdentity` prefix: a bare `host[:port]`, or a name that starts with a host
/// component (`host/ns…`), as containers/image requires.
pub(crate) fn validate_remap_prefix(s: &str) -> Result<(), TrustError> {
    let bad = || {
        Err(TrustError::InvalidPrefix {
            prefix: s.to_string(),
        })
    };
    if check_registry_host(s).is_ok() {
        return Ok(());
    }
    let Some((host, path)) = s.split_once('/') else {
        return bad();
    };
    if s.len() <= NAME_MAX
        && check_registry_host(host).is_ok()
        && check_repository_path(path).is_ok()
    {
        Ok(())
    } else {
        bad()
    }
}

/// `signedIdentity`: what the signature's docker-reference must be, relative to the
/// reference the image is being fetched under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignedIdentity {
    /// The signed reference must be exactly the image reference (both with a tag or digest).
    MatchExact,
    /// If the image is referenced by digest, the repository must match; by tag, the
    /// whole reference. The default.
    MatchRepoDigestOrExact,
    /// The repository must match; tags and digests are ignored.
    MatchRepository,
    /// The signed reference must be exactly this one (which has a tag or digest).
    ExactReference(String),
    /// The signed repository must be this one.
    ExactRepository(String),
    /// If the image reference starts with `prefix`, replace it with `signed_prefix`, then
    /// apply [`SignedIdentity::MatchRepoDigestOrExact`].
    RemapIdentity {
        /// Prefix of the image reference (`host[:port]` or `host/ns…`).
        prefix: String,
        /// What it becomes in the signed reference.
        signed_prefix: String,
    },
}

impl SignedIdentity {
    /// Does a signature claiming `signed_reference` identify the image fetched under
    /// `image_reference` (fully qualified, with tag and/or digest)? Unparsable references
    /// never match.
    pub fn matches(&self, image_reference: &str, signed_reference: &str) -> bool {
        let Ok(signed) = parse_normalized(signed_reference) else {
            return false;
        };
        let intended = || parse_normalized(image_reference);
        match self {
            SignedIdentity::MatchExact => intended().is_ok_and(|i| exact(&i, &signed)),
            SignedIdentity::MatchRepoDigestOrExact => {
                intended().is_ok_and(|i| repo_digest_or_exact(&i, &signed))
            }
            SignedIdentity::MatchRepository => intended().is_ok_and(|i| i.name() == signed.name()),
            SignedIdentity::ExactReference(r) => {
                parse_normalized(r).is_ok_and(|i| exact(&i, &signed))
            }
            SignedIdentity::ExactRepository(r) => {
                parse_normalized(r).is_ok_and(|i| i.name() == signed.name())
            }
            SignedIdentity::RemapIdentity {
                prefix,
                signed_prefix,
            } => {
                let Ok(i) = intended() else { return false };
                let name = i.name();
                let under_prefix = name == *prefix
                    || (name.starts_with(prefix.as_str())
                        && name.as_bytes().get(prefix.len()) == Some(&b'/'));
                let remapped = if under_prefix {
                    let rewritten = i.to_string().replacen(prefix.as_str(), signed_prefix, 1);
                    match parse_canonical(&rewritten) {
                        Ok(r) => r,
                        Err(_) => return false,
                    }
                } else {
                    i
                };
                repo_digest_or_exact(&remapped, &signed)
            }
        }
    }

    /// The policy.json `type` name of this identity.
    pub fn type_name(&self) -> &'static str {
        match self {
            SignedIdentity::MatchExact => "matchExact",
            SignedIdentity::MatchRepoDigestOrExact => "matchRepoDigestOrExact",
            SignedIdentity::MatchRepository => "matchRepository",
            SignedIdentity::ExactReference(_) => "exactReference",
            SignedIdentity::ExactRepository(_) => "exactRepository",
            SignedIdentity::RemapIdentity { .. } => "remapIdentity",
        }
    }
}

fn exact(intended: &Reference, signed: &Reference) -> bool {
    !intended.is_name_only() && !signed.is_name_only() && intended == signed
}

fn repo_digest_or_exact(intended: &Reference, signed: &Reference) -> bool {
    if signed.is_name_only() {
        return false;
    }
    if intended.tag().is_some() {
        // Includes a reference with both a tag and a digest.
        intended == signed
    } else if intended.digest().is_some() {
        // The digest itself is checked against the signature's docker-manifest-digest.
        intended.name() == signed.name()
    } else {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn normalization() {
        let r = parse_normalized("busybox").unwrap();
        assert_eq!(r.to_string(), "docker.io/library/busybox");
        assert!(r.is_name_only());
        let r = parse_normalized("user/app:1").unwrap();
        assert_eq!(r.to_string(), "docker.io/user/app:1");
        let r = parse_normalized("index.docker.io/busybox:1").unwrap();
        assert_eq!(r.to_string(), "docker.io/library/busybox:1");
        let r = parse_normalized("localhost/app").unwrap();
        assert_eq!(r.name(), "localhost/app");
        let r = parse_normalized(&format!("127.0.0.1:5000/a/b:t@{D}")).unwrap();
        assert_eq!(r.registry(), "127.0.0.1:5000");
        assert_eq!(r.repository(), "a/b");
        assert_eq!(r.tag(), Some("t"));
        assert_eq!(r.digest().map(ToString::to_string).as_deref(), Some(D));
        for bad in [
            "",
            "UPPER",
            "x.io/UP",
            "x.io/a:",
            "x.io/a@sha256:12",
            "x.io//a",
            "x.io/a:-t",
            "ho st/a",
            "x.io:port/a",
        ] {
            assert!(parse_normalized(bad).is_err(), "{bad}");
        }
        assert!(parse_canonical("docker.io/busybox:1").is_err());
        assert!(parse_canonical("docker.io/library/busybox:1").is_ok());
    }

    #[test]
    fn match_exact() {
        let m = SignedIdentity::MatchExact;
        assert!(m.matches("docker.io/library/busybox:latest", "busybox:latest"));
        assert!(!m.matches("docker.io/library/busybox:latest", "busybox"));
        assert!(!m.matches("docker.io/library/busybox:latest", "busybox:1"));
        let by_digest = format!("x.io/a@{D}");
        assert!(m.matches(&by_digest, &by_digest));
        assert!(!m.matches(&by_digest, "x.io/a:1"));
    }

    #[test]
    fn match_repo_digest_or_exact() {
        let m = SignedIdentity::MatchRepoDigestOrExact;
        // By tag: exact.
        assert!(m.matches("x.io/a:1", "x.io/a:1"));
        assert!(!m.matches("x.io/a:1", "x.io/a:2"));
        assert!(!m.matches("x.io/a:1", "x.io/a"));
        // Pull by digest of an image signed under a tag: accepted (repository matches).
        let by_digest = format!("127.0.0.1:5000/a/b@{D}");
        assert!(m.matches(&by_digest, "127.0.0.1:5000/a/b:latest"));
        // …but not another repository.
        assert!(!m.matches(&by_digest, "127.0.0.1:5000/a/c:latest"));
        // A name-only signature never matches.
        assert!(!m.matches(&by_digest, "127.0.0.1:5000/a/b"));
        // Name-only intended (should not happen) never matches.
        assert!(!m.matches("x.io/a", "x.io/a:1"));
        assert!(!m.matches("x.io/a:1", "not a reference"));
    }

    #[test]
    fn match_repository() {
        let m = SignedIdentity::MatchRepository;
        assert!(m.matches("x.io/a:1", "x.io/a:2"));
        assert!(m.matches(&format!("x.io/a@{D}"), "x.io/a"));
        assert!(!m.matches("x.io/a:1", "x.io/b:1"));
        assert!(m.matches("docker.io/library/busybox:1", "busybox"));
    }

    #[test]
    fn exact_reference_and_repository() {
        let m = SignedIdentity::ExactReference("x.io/signed:1".into());
        assert!(m.matches("mirror.io/other:9", "x.io/signed:1"));
        assert!(!m.matches("mirror.io/other:9", "x.io/signed:2"));
        let m = SignedIdentity::ExactRepository("x.io/signed".into());
        assert!(m.matches("mirror.io/other:9", "x.io/signed:2"));
        assert!(m.matches(&format!("mirror.io/other@{D}"), "x.io/signed"));
        assert!(!m.matches("mirror.io/other:9", "x.io/other:9"));
    }

    #[test]
    fn remap_identity() {
        let m = SignedIdentity::RemapIdentity {
            prefix: "mirror.io/ns".into(),
            signed_prefix: "x.io/upstream".into(),
        };
        assert!(m.matches("mirror.io/ns/app:1", "x.io/upstream/app:1"));
        assert!(!m.matches("mirror.io/ns/app:1", "x.io/upstream/app:2"));
        assert!(m.matches(&format!("mirror.io/ns/app@{D}"), "x.io/upstream/app:7"));
        // Prefix must end at a path boundary.
        assert!(!m.matches("mirror.io/nsx/app:1", "x.io/upstreamx/app:1"));
        assert!(m.matches("mirror.io/nsx/app:1", "mirror.io/nsx/app:1"));
        // Not under the prefix: plain matchRepoDigestOrExact.
        assert!(m.matches("other.io/app:1", "other.io/app:1"));
        // Remapping to docker.io needs the canonical form.
        let m = SignedIdentity::RemapIdentity {
            prefix: "mirror.io".into(),
            signed_prefix: "docker.io".into(),
        };
        assert!(m.matches("mirror.io/library/busybox:1", "busybox:1"));
        assert!(!m.matches("mirror.io/busybox:1", "busybox:1"));
    }

    #[test]
    fn remap_prefix_validation() {
        for ok in [
            "x.io",
            "x.io:5000",
            "x.io/ns",
            "localhost/a/b",
            "ns/shortname",
        ] {
            assert!(validate_remap_prefix(ok).is_ok(), "{ok}");
        }
        for bad in ["", "x.io/", "x.io/a:1", "x.io/UP", "a b"] {
            assert!(validate_remap_prefix(bad).is_err(), "{bad}");
        }
    }
}
