//! Image names, normalized the way Podman stores them locally, through berth-layers' one
//! reference parser ([`berth_layers::reference`]).
//!
//! `busybox` → `localhost/busybox:latest` when berth names an image itself (tag, import,
//! commit), `docker.io/library/busybox:latest` for names that come from Docker archives; a name
//! with a registry part (`host.tld/`, `host:port/`, `localhost/`) keeps it. The store's own
//! rules on top of the grammar: only sha256 digests (the store addresses content by them), and
//! a name with both a tag and a digest keeps the digest only.

use crate::error::{Result, StoreError};
use berth_layers::digest::{check_supported, Digest};
use berth_layers::reference::{ParsedReference, Reference, DEFAULT_TAG, DOCKER_IO};

/// Normalize a name that a user gives to a local image (tag, import): an unqualified name
/// gets `localhost/`, a missing tag gets `:latest`. Refuses invalid names with a message
/// naming them.
pub fn normalize_local(name: &str) -> Result<String> {
    normalize(name, "localhost")
}

/// Normalize a Docker-style reference (from a docker-archive's `RepoTags`, or a pull):
/// `busybox` → `docker.io/library/busybox:latest`.
pub fn normalize_docker(name: &str) -> Result<String> {
    normalize(name, DOCKER_IO)
}

/// Split a normalized name into repository and tag (`-` tag is `<none>` for digests).
pub fn split_repo_tag(name: &str) -> (&str, &str) {
    if let Some(at) = name.find('@') {
        return (&name[..at], "<none>");
    }
    match name.rfind(':') {
        Some(colon) if !name[colon + 1..].contains('/') => (&name[..colon], &name[colon + 1..]),
        _ => (name, "<none>"),
    }
}

/// Whether a stored name matches a user's filter (`images NAME`, libpod's `reference`
/// filter): full name, `repo`, `repo:tag`, or the last path components of the repository.
pub fn name_matches(name: &str, filter: &str) -> bool {
    let (repo, tag) = split_repo_tag(name);
    let (frepo, ftag) = match filter.rsplit_once(':') {
        Some((r, t)) if !t.contains('/') => (r, Some(t)),
        _ => (filter, None),
    };
    let repo_ok = repo == frepo || repo.ends_with(&format!("/{frepo}"));
    repo_ok && ftag.is_none_or(|t| t == tag)
}

fn invalid(name: &str, why: &str) -> StoreError {
    StoreError::Invalid(format!("invalid image name {name:?}: {why}"))
}

/// The name as the store records it: `repo@digest` when there is a digest, else
/// `repo:tag` (`:latest` by default).
fn store_form(r: &Reference) -> String {
    match (r.digest(), r.tag()) {
        (Some(d), _) => format!("{}@{d}", r.name()),
        (None, Some(t)) => format!("{}:{t}", r.name()),
        (None, None) => format!("{}:{DEFAULT_TAG}", r.name()),
    }
}

fn sha256_only(name: &str, digest: Option<&Digest>) -> Result<()> {
    match digest.map(check_supported) {
        Some(Err(why)) => Err(invalid(
            name,
            &format!("only sha256 digests are supported ({why})"),
        )),
        _ => Ok(()),
    }
}

fn normalize(name: &str, default_registry: &str) -> Result<String> {
    let parsed = ParsedReference::parse(name).map_err(|e| invalid(name, &e.why))?;
    sha256_only(name, parsed.digest())?;
    let r = parsed
        .qualify_or(default_registry)
        .map_err(|e| invalid(name, &e.why))?;
    Ok(store_form(&r))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn filters_match_repository_and_tag() {
        assert!(name_matches("localhost/busybox:latest", "busybox"));
        assert!(name_matches("localhost/busybox:latest", "busybox:latest"));
        assert!(!name_matches("localhost/busybox:latest", "busybox:1"));
        assert!(name_matches("localhost:5000/a/b:1", "localhost:5000/a/b"));
        assert!(!name_matches("localhost/xbusybox:latest", "busybox"));
    }

    #[test]
    fn local_names() {
        assert_eq!(
            normalize_local("busybox").unwrap(),
            "localhost/busybox:latest"
        );
        assert_eq!(
            normalize_local("foo/bar").unwrap(),
            "localhost/foo/bar:latest"
        );
        assert_eq!(
            normalize_local("foo/bar:1.0").unwrap(),
            "localhost/foo/bar:1.0"
        );
        assert_eq!(
            normalize_local("localhost/x").unwrap(),
            "localhost/x:latest"
        );
        assert_eq!(normalize_local("quay.io/a/b:v1").unwrap(), "quay.io/a/b:v1");
        assert_eq!(
            normalize_local("127.0.0.1:5000/a").unwrap(),
            "127.0.0.1:5000/a:latest"
        );
        assert_eq!(
            normalize_local("myhost:5000/a:t").unwrap(),
            "myhost:5000/a:t"
        );
        let with_digest = format!("busybox@sha256:{HEX}");
        assert_eq!(
            normalize_local(&with_digest).unwrap(),
            format!("localhost/busybox@sha256:{HEX}")
        );
        assert_eq!(
            normalize_local(&format!("busybox:1@sha256:{HEX}")).unwrap(),
            format!("localhost/busybox@sha256:{HEX}")
        );
        assert_eq!(
            normalize_local("a__b.c-d---e").unwrap(),
            "localhost/a__b.c-d---e:latest"
        );
    }

    #[test]
    fn docker_names() {
        assert_eq!(
            normalize_docker("busybox").unwrap(),
            "docker.io/library/busybox:latest"
        );
        assert_eq!(
            normalize_docker("foo/bar").unwrap(),
            "docker.io/foo/bar:latest"
        );
        assert_eq!(
            normalize_docker("docker.io/busybox:1").unwrap(),
            "docker.io/library/busybox:1"
        );
        assert_eq!(
            normalize_docker("index.docker.io/foo/bar").unwrap(),
            "docker.io/foo/bar:latest"
        );
        assert_eq!(
            normalize_docker("localhost/foo").unwrap(),
            "localhost/foo:latest"
        );
    }

    #[test]
    fn bad_names_are_named() {
        for bad in [
            "",
            "Busybox",
            "foo/",
            "/foo",
            "foo//bar",
            "foo:",
            "foo:-x",
            "foo:bad/tag",
            "a..b",
            "a___b",
            "-a",
            "a-",
            "foo@sha256:abc",
            "foo@md5:abc",
            "bad_host.com:x/foo",
        ] {
            let err = normalize_local(bad).unwrap_err().to_string();
            assert!(err.contains(&format!("{bad:?}")), "{bad}: {err}");
        }
        let long_tag = format!("foo:{}", "a".repeat(129));
        assert!(normalize_local(&long_tag).is_err());
        let long_name = "a".repeat(300);
        assert!(normalize_local(&long_name).is_err());
    }

    #[test]
    fn split() {
        assert_eq!(
            split_repo_tag("localhost/busybox:latest"),
            ("localhost/busybox", "latest")
        );
        assert_eq!(split_repo_tag("host:5000/a:v1"), ("host:5000/a", "v1"));
        assert_eq!(split_repo_tag("host:5000/a"), ("host:5000/a", "<none>"));
        let d = format!("localhost/a@sha256:{HEX}");
        assert_eq!(split_repo_tag(&d), ("localhost/a", "<none>"));
    }
}
