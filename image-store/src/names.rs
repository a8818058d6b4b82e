//! Image names, normalized the way Podman stores them locally.
//!
//! `busybox` → `localhost/busybox:latest` when berth names an image itself (tag, import,
//! commit), `docker.io/library/busybox:latest` for names that come from Docker archives; a name
//! with a registry part (`host.tld/`, `host:port/`, `localhost/`) keeps it.
//!
//! The grammar is the distribution reference grammar: path components of lowercase letters
//! and digits joined by `.`, `_`, `__` or dashes; tags `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`;
//! digests `sha256:<64 hex>`. A name with both a tag and a digest keeps the digest only.

use crate::error::{Result, StoreError};
use berth_layers::name::{check_path_component, ComponentError};

/// The longest repository name accepted (registry included).
const MAX_NAME: usize = 255;

/// Normalize a name that a user gives to a local image (tag, import): an unqualified name
/// gets `localhost/`, a missing tag gets `:latest`. Refuses invalid names with a message
/// naming them.
pub fn normalize_local(name: &str) -> Result<String> {
    normalize(name, "localhost", "")
}

/// Normalize a Docker-style reference (from a docker-archive's `RepoTags`, or a pull):
/// `busybox` → `docker.io/library/busybox:latest`.
pub fn normalize_docker(name: &str) -> Result<String> {
    normalize(name, "docker.io", "library/")
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

/// The parts of a parsed reference.
struct Parsed<'a> {
    domain: Option<&'a str>,
    path: &'a str,
    tag: Option<&'a str>,
    digest: Option<&'a str>,
}

fn invalid(name: &str, why: &str) -> StoreError {
    StoreError::Invalid(format!("invalid image name {name:?}: {why}"))
}

fn normalize(name: &str, default_domain: &str, single_prefix: &str) -> Result<String> {
    let p = parse(name)?;
    let (domain, path) = match p.domain {
        Some(d) => (d.to_string(), p.path.to_string()),
        None if !p.path.contains('/') => (
            default_domain.to_string(),
            format!("{single_prefix}{}", p.path),
        ),
        None => (default_domain.to_string(), p.path.to_string()),
    };
    let domain = if domain == "index.docker.io" {
        "docker.io".to_string()
    } else {
        domain
    };
    let path = if domain == "docker.io" && !path.contains('/') {
        format!("library/{path}")
    } else {
        path
    };
    let repo = format!("{domain}/{path}");
    if repo.len() > MAX_NAME {
        return Err(invalid(name, "repository name longer than 255 characters"));
    }
    Ok(match (p.digest, p.tag) {
        (Some(d), _) => format!("{repo}@{d}"),
        (None, Some(t)) => format!("{repo}:{t}"),
        (None, None) => format!("{repo}:latest"),
    })
}

fn parse(name: &str) -> Result<Parsed<'_>> {
    if name.is_empty() {
        return Err(invalid(name, "empty"));
    }
    let (rest, digest) = match name.split_once('@') {
        Some((r, d)) => {
            validate_digest(name, d)?;
            (r, Some(d))
        }
        None => (name, None),
    };
    // A tag follows the last ':' when no '/' comes after it (else it is a port).
    let (rest, tag) = match rest.rfind(':') {
        Some(c) if !rest[c + 1..].contains('/') => (&rest[..c], Some(&rest[c + 1..])),
        _ => (rest, None),
    };
    if let Some(t) = tag {
        validate_tag(name, t)?;
    }
    let (domain, path) = match rest.split_once('/') {
        Some((first, path))
            if first.contains('.') || first.contains(':') || first == "localhost" =>
        {
            validate_domain(name, first)?;
            (Some(first), path)
        }
        _ => (None, rest),
    };
    if path.is_empty() {
        return Err(invalid(name, "missing repository"));
    }
    for comp in path.split('/') {
        validate_component(name, comp)?;
    }
    Ok(Parsed {
        domain,
        path,
        tag,
        digest,
    })
}

fn validate_digest(name: &str, d: &str) -> Result<()> {
    let hex = d
        .strip_prefix("sha256:")
        .ok_or_else(|| invalid(name, "only sha256 digests are supported"))?;
    if hex.len() != 64 || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(invalid(
            name,
            "digest must be sha256: and 64 lowercase hex characters",
        ));
    }
    Ok(())
}

fn validate_tag(name: &str, t: &str) -> Result<()> {
    let ok = !t.is_empty()
        && t.len() <= 128
        && t.bytes().enumerate().all(|(i, b)| {
            b.is_ascii_alphanumeric() || b == b'_' || (i > 0 && (b == b'.' || b == b'-'))
        });
    if !ok {
        return Err(invalid(
            name,
            "tag must match [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}",
        ));
    }
    Ok(())
}

fn validate_domain(name: &str, domain: &str) -> Result<()> {
    let (host, port) = match domain.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (domain, None),
    };
    if let Some(p) = port {
        if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid(name, "registry port must be digits"));
        }
    }
    let ok = !host.is_empty()
        && host.split('.').all(|c| {
            !c.is_empty()
                && c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !c.starts_with('-')
                && !c.ends_with('-')
        });
    if !ok {
        return Err(invalid(name, "bad registry host"));
    }
    Ok(())
}

/// One path component, as [`check_path_component`] says, with the store's messages.
fn validate_component(name: &str, comp: &str) -> Result<()> {
    check_path_component(comp).map_err(|e| match e {
        ComponentError::Empty => invalid(name, "empty path component"),
        ComponentError::Uppercase => invalid(name, "repository name must be lowercase"),
        ComponentError::Edge => invalid(
            name,
            "path components must start and end with a lowercase letter or digit",
        ),
        ComponentError::Separator(sep) => invalid(
            name,
            &format!("bad separator {sep:?} (use '.', '_', '__' or '-')"),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

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
