//! Image references with Docker normalization: `busybox` → `docker.io/library/busybox:latest`,
//! `host:port/repo:tag`, `repo@sha256:…`.

use std::fmt;

use berth_layers::digest::parse_sha256;
use berth_layers::Digest;

use crate::error::{RegistryError, Result};

/// The default registry of unqualified names.
pub const DOCKER_IO: &str = "docker.io";

/// A fully qualified image reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// `host[:port]` (`docker.io` for Docker Hub).
    pub registry: String,
    /// Repository path (`library/busybox`).
    pub repository: String,
    /// Tag, if any (`latest` is added when neither tag nor digest is given).
    pub tag: Option<String>,
    /// Digest, if any.
    pub digest: Option<Digest>,
}

/// A reference as the user typed it, before short-name resolution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    /// The registry when the input named one.
    pub registry: Option<String>,
    /// The path as given (without `library/`).
    pub path: String,
    /// Tag, if given.
    pub tag: Option<String>,
    /// Digest, if given.
    pub digest: Option<Digest>,
}

fn err(input: &str, why: &str) -> RegistryError {
    RegistryError::Reference {
        input: input.to_string(),
        why: why.to_string(),
    }
}

/// Parse a reference without qualifying it.
pub fn parse(input: &str) -> Result<Parsed> {
    let s = input.strip_prefix("docker://").unwrap_or(input);
    if s.is_empty() {
        return Err(err(input, "empty"));
    }
    if s.len() > 512 {
        return Err(err(input, "longer than 512 characters"));
    }
    let (named, digest) = match s.split_once('@') {
        Some((n, d)) => (
            n,
            Some(parse_sha256(d).map_err(|e| err(input, &format!("bad digest: {e}")))?),
        ),
        None => (s, None),
    };
    let last_slash = named.rfind('/').map(|i| i + 1).unwrap_or(0);
    let (name, tag) = match named[last_slash..].rfind(':') {
        Some(c) => (
            &named[..last_slash + c],
            Some(named[last_slash + c + 1..].to_string()),
        ),
        None => (named, None),
    };
    if let Some(t) = &tag {
        let ok = !t.is_empty()
            && t.len() <= 128
            && t.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-')
            && !t.starts_with(['.', '-']);
        if !ok {
            return Err(err(input, &format!("bad tag {t:?}")));
        }
    }
    let (registry, path) = match name.split_once('/') {
        Some((first, rest))
            if first.contains('.') || first.contains(':') || first == "localhost" =>
        {
            (Some(first.to_string()), rest)
        }
        _ => (None, name),
    };
    if let Some(r) = &registry {
        let ok = r
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
        if !ok {
            return Err(err(input, &format!("bad registry {r:?}")));
        }
    }
    if path.is_empty() {
        return Err(err(input, "no repository"));
    }
    for component in path.split('/') {
        if !valid_component(component) {
            return Err(err(
                input,
                &format!("bad repository component {component:?} (lowercase letters, digits, '.', '_', '-')"),
            ));
        }
    }
    let registry = registry.map(|r| {
        if r == "index.docker.io" {
            DOCKER_IO.to_string()
        } else {
            r
        }
    });
    Ok(Parsed {
        registry,
        path: path.to_string(),
        tag,
        digest,
    })
}

fn valid_component(c: &str) -> bool {
    let b = c.as_bytes();
    if b.is_empty() || !b[0].is_ascii_alphanumeric() || !b[b.len() - 1].is_ascii_alphanumeric() {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        let ch = b[i];
        if ch.is_ascii_lowercase() || ch.is_ascii_digit() {
            i += 1;
            continue;
        }
        match ch {
            b'.' | b'_' => {
                let double = ch == b'_' && b.get(i + 1) == Some(&b'_');
                let next = if double { i + 2 } else { i + 1 };
                if !b.get(next).is_some_and(|n| n.is_ascii_alphanumeric()) {
                    return false;
                }
                i = next;
            }
            b'-' => {
                while b.get(i) == Some(&b'-') {
                    i += 1;
                }
                if !b.get(i).is_some_and(|n| n.is_ascii_alphanumeric()) {
                    return false;
                }
            }
            _ => return false,
        }
    }
    true
}

impl Parsed {
    /// Qualify with `registry` (Docker rules: `library/` for single-component Hub paths;
    /// `latest` when neither tag nor digest).
    pub fn qualify(&self, registry: &str) -> Reference {
        let repository = if registry == DOCKER_IO && !self.path.contains('/') {
            format!("library/{}", self.path)
        } else {
            self.path.clone()
        };
        let tag = match (&self.tag, &self.digest) {
            (None, None) => Some("latest".to_string()),
            (t, _) => t.clone(),
        };
        Reference {
            registry: registry.to_string(),
            repository,
            tag,
            digest: self.digest.clone(),
        }
    }
}

impl Reference {
    /// Parse and qualify with Docker's defaults (`docker.io`).
    pub fn parse_docker(input: &str) -> Result<Reference> {
        let p = parse(input)?;
        let registry = p.registry.clone().unwrap_or_else(|| DOCKER_IO.to_string());
        Ok(p.qualify(&registry))
    }

    /// `host/repo`.
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// What to ask the registry for: the digest when there is one, else the tag.
    pub fn api_reference(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(d), _) => d.to_string(),
            (None, Some(t)) => t.clone(),
            (None, None) => "latest".to_string(),
        }
    }

    /// The name to record in the store: `host/repo:tag`, or `host/repo@digest` when
    /// pulled by digest only.
    pub fn store_name(&self) -> String {
        match (&self.tag, &self.digest) {
            (Some(t), _) => format!("{}:{t}", self.name()),
            (None, Some(d)) => format!("{}@{d}", self.name()),
            (None, None) => format!("{}:latest", self.name()),
        }
    }

    /// The same reference with another registry and repository (a mirror or a rewrite).
    pub fn with_name(&self, registry: &str, repository: &str) -> Reference {
        Reference {
            registry: registry.to_string(),
            repository: repository.to_string(),
            tag: self.tag.clone(),
            digest: self.digest.clone(),
        }
    }

    /// The host to connect to (`registry-1.docker.io` for Docker Hub).
    pub fn api_host(&self) -> &str {
        if self.registry == DOCKER_IO {
            "registry-1.docker.io"
        } else {
            &self.registry
        }
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.name())?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(s: &str) -> String {
        Reference::parse_docker(s).unwrap().to_string()
    }

    #[test]
    fn docker_normalization() {
        assert_eq!(norm("busybox"), "docker.io/library/busybox:latest");
        assert_eq!(
            norm("docker://busybox:1.36"),
            "docker.io/library/busybox:1.36"
        );
        assert_eq!(norm("user/app"), "docker.io/user/app:latest");
        assert_eq!(
            norm("index.docker.io/user/app"),
            "docker.io/user/app:latest"
        );
        assert_eq!(norm("localhost/app"), "localhost/app:latest");
        assert_eq!(norm("127.0.0.1:5000/a/b:v1"), "127.0.0.1:5000/a/b:v1");
        assert_eq!(norm("quay.io/x/y:z"), "quay.io/x/y:z");
        let d = format!("sha256:{}", "a".repeat(64));
        assert_eq!(
            norm(&format!("busybox@{d}")),
            format!("docker.io/library/busybox@{d}")
        );
        let r = Reference::parse_docker(&format!("host:5000/app:1@{d}")).unwrap();
        assert_eq!(r.api_reference(), d);
        assert_eq!(r.store_name(), "host:5000/app:1");
        assert_eq!(
            Reference::parse_docker("busybox").unwrap().api_host(),
            "registry-1.docker.io"
        );
    }

    #[test]
    fn bad_references_name_the_input() {
        for bad in [
            "",
            "UPPER",
            "a//b",
            "a/-b",
            "app:",
            "app:-x",
            "app@sha256:xyz",
            "app@md5:abc",
            "a_-b",
            "host:5000/",
        ] {
            let e = Reference::parse_docker(bad).unwrap_err().to_string();
            assert!(e.contains(&format!("{bad:?}")), "{bad}: {e}");
        }
    }
}
