//! Docker image references, the one parser of berth: `busybox`, `user/app:1`,
//! `host:5000/a/b@sha256:…`, normalised the way Docker and containers/image do
//! (`busybox` → `docker.io/library/busybox`, `index.docker.io` → `docker.io`).
//!
//! Two types:
//! - [`ParsedReference`]: what the input says, before short-name resolution; its registry is
//!   `None` for a short name ([`ParsedReference::is_short_name`]).
//! - [`Reference`]: a qualified reference (registry and repository always present), made by
//!   [`ParsedReference::qualify`], [`Reference::parse_normalized`] (Docker's
//!   `ParseNormalizedNamed`: a name without tag stays without one) or
//!   [`Reference::parse_docker`] (`docker://` accepted, `:latest` added when neither a tag nor
//!   a digest is given).
//!
//! The grammar is distribution/reference's, with its limits: path components
//! `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*` ([`crate::name`]), registry hosts of DNS labels or a
//! bracketed IPv6 address with an optional numeric port, tags
//! `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}` ([`TAG_MAX`]), a whole qualified name (registry and
//! repository) of at most [`NAME_MAX`] characters, and digests of a registered algorithm
//! (sha256, sha384, sha512) with their exact hex length. A first component is a registry when
//! it contains `.` or `:` or is `localhost`. Which digest algorithms a caller can use is its
//! own policy (the store and the registry client verify sha256 only:
//! [`crate::digest::check_supported`]).

use std::fmt;
use std::str::FromStr;

use crate::digest::{Digest, DigestAlgorithm};
use crate::name::{check_path_component, ComponentError};

/// Docker Hub's name in references.
pub const DOCKER_IO: &str = "docker.io";
/// The host that serves Docker Hub's registry API.
pub const DOCKER_IO_API_HOST: &str = "registry-1.docker.io";
/// The longest qualified name (`registry/repository`), distribution/reference's
/// `NameTotalLengthMax`.
pub const NAME_MAX: usize = 255;
/// The longest tag.
pub const TAG_MAX: usize = 128;
/// The tag added to a reference that has neither a tag nor a digest.
pub const DEFAULT_TAG: &str = "latest";

/// A reference that breaks the grammar: the input and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid reference {input:?}: {why}")]
pub struct ReferenceError {
    /// The text that was parsed.
    pub input: String,
    /// What is wrong with it.
    pub why: String,
}

fn err(input: &str, why: impl Into<String>) -> ReferenceError {
    ReferenceError {
        input: input.to_string(),
        why: why.into(),
    }
}

/// The host Docker Hub's API lives on for a registry name (`docker.io` →
/// `registry-1.docker.io`); any other registry is its own host.
pub fn api_host(registry: &str) -> &str {
    if registry == DOCKER_IO {
        DOCKER_IO_API_HOST
    } else {
        registry
    }
}

/// Docker Hub's legacy name in references, `index.docker.io`, → `docker.io`.
pub fn canonical_registry(host: &str) -> &str {
    match host {
        "index.docker.io" => DOCKER_IO,
        other => other,
    }
}

/// A reference as written, before short-name resolution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedReference {
    registry: Option<String>,
    path: String,
    tag: Option<String>,
    digest: Option<Digest>,
}

impl ParsedReference {
    /// Parse `input` by the grammar (no `docker://` prefix; see [`Reference::parse_docker`]).
    pub fn parse(input: &str) -> Result<ParsedReference, ReferenceError> {
        if input.is_empty() {
            return Err(err(input, "empty"));
        }
        let (named, digest) = match input.split_once('@') {
            Some((n, d)) => (n, Some(parse_digest(input, d)?)),
            None => (input, None),
        };
        let last_slash = named.rfind('/').map(|i| i + 1).unwrap_or(0);
        let (name, tag) = match named[last_slash..].rfind(':') {
            Some(c) => (&named[..last_slash + c], Some(&named[last_slash + c + 1..])),
            None => (named, None),
        };
        if let Some(t) = tag {
            check_tag(t).map_err(|why| err(input, why))?;
        }
        let (registry, path) = match name.split_once('/') {
            Some((first, rest)) if first.contains(['.', ':']) || first == "localhost" => {
                check_registry_host(first).map_err(|why| err(input, why))?;
                (Some(canonical_registry(first).to_string()), rest)
            }
            _ => (None, name),
        };
        if path.is_empty() {
            return Err(err(input, "no repository"));
        }
        check_repository_path(path).map_err(|why| err(input, why))?;
        let typed_len = registry.as_ref().map_or(0, |r| r.len() + 1) + path.len();
        if typed_len > NAME_MAX {
            return Err(err(input, too_long(typed_len)));
        }
        Ok(ParsedReference {
            registry,
            path: path.to_string(),
            tag: tag.map(str::to_string),
            digest,
        })
    }

    /// The registry the input named (`index.docker.io` already made `docker.io`).
    pub fn registry(&self) -> Option<&str> {
        self.registry.as_deref()
    }

    /// The repository path as written (no `library/` added).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The tag, if given.
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    /// The digest, if given.
    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }

    /// True when the input named no registry: which one it means is for short-name
    /// resolution (registries.conf) or a caller's default to decide.
    pub fn is_short_name(&self) -> bool {
        self.registry.is_none()
    }

    /// The same path with the tag and digest of `other` (a registries.conf alias target
    /// keeps its own tag unless the input named one).
    pub fn with_tag_and_digest_of(mut self, other: &ParsedReference) -> ParsedReference {
        if other.tag.is_some() {
            self.tag = other.tag.clone();
        }
        self.digest = other.digest.clone();
        self
    }

    /// Qualify with `registry` by Docker's rules: a single-component path on `docker.io`
    /// gets `library/`. The tag and digest are kept as given (none is added).
    pub fn qualify(&self, registry: &str) -> Result<Reference, ReferenceError> {
        let registry = canonical_registry(registry);
        let repository = if registry == DOCKER_IO && !self.path.contains('/') {
            format!("library/{}", self.path)
        } else {
            self.path.clone()
        };
        Reference::from_parts(registry, &repository, self.tag.clone(), self.digest.clone())
    }

    /// Qualify with the registry the input named, else with `default_registry`.
    pub fn qualify_or(&self, default_registry: &str) -> Result<Reference, ReferenceError> {
        self.qualify(self.registry.as_deref().unwrap_or(default_registry))
    }
}

/// A qualified reference: `registry/repository[:tag][@digest]`, valid by construction.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    registry: String,
    repository: String,
    tag: Option<String>,
    digest: Option<Digest>,
}

impl Reference {
    /// Parse with Docker's normalisation (`docker.io` for short names, `library/` for
    /// single-component Hub paths); a name without tag or digest stays so.
    pub fn parse_normalized(input: &str) -> Result<Reference, ReferenceError> {
        ParsedReference::parse(input)?
            .qualify_or(DOCKER_IO)
            .map_err(|e| err(input, e.why))
    }

    /// Parse an image reference as `pull` and `push` take it: the `docker://` transport
    /// prefix is accepted, short names mean `docker.io`, and `:latest` is added when neither
    /// a tag nor a digest is given.
    pub fn parse_docker(input: &str) -> Result<Reference, ReferenceError> {
        let s = input.strip_prefix("docker://").unwrap_or(input);
        Reference::parse_normalized(s)
            .map(Reference::with_default_tag)
            .map_err(|e| err(input, e.why))
    }

    /// Parse a reference that must already be fully qualified (its text is its
    /// normalised form).
    pub fn parse_canonical(input: &str) -> Result<Reference, ReferenceError> {
        let r = Reference::parse_normalized(input)?;
        if r != input {
            return Err(err(input, format!("not fully qualified (it means {r})")));
        }
        Ok(r)
    }

    /// Build from checked parts: the registry host, repository path and tag must follow
    /// the grammar and the name stay within [`NAME_MAX`].
    pub fn from_parts(
        registry: &str,
        repository: &str,
        tag: Option<String>,
        digest: Option<Digest>,
    ) -> Result<Reference, ReferenceError> {
        let name = format!("{registry}/{repository}");
        check_registry_host(registry).map_err(|why| err(&name, why))?;
        if repository.is_empty() {
            return Err(err(&name, "no repository"));
        }
        check_repository_path(repository).map_err(|why| err(&name, why))?;
        if name.len() > NAME_MAX {
            return Err(err(&name, too_long(name.len())));
        }
        if let Some(t) = &tag {
            check_tag(t).map_err(|why| err(&name, why))?;
        }
        if let Some(d) = &digest {
            check_digest_algorithm(d).map_err(|why| err(&name, why))?;
        }
        Ok(Reference {
            registry: registry.to_string(),
            repository: repository.to_string(),
            tag,
            digest,
        })
    }

    /// `host[:port]` (`docker.io` for Docker Hub).
    pub fn registry(&self) -> &str {
        &self.registry
    }

    /// The repository path (`library/busybox`).
    pub fn repository(&self) -> &str {
        &self.repository
    }

    /// The tag, if any.
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    /// The digest, if any.
    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }

    /// `registry/repository`, without tag or digest.
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// True when there is neither a tag nor a digest.
    pub fn is_name_only(&self) -> bool {
        self.tag.is_none() && self.digest.is_none()
    }

    /// With [`DEFAULT_TAG`] when there is neither a tag nor a digest.
    pub fn with_default_tag(mut self) -> Reference {
        if self.is_name_only() {
            self.tag = Some(DEFAULT_TAG.to_string());
        }
        self
    }

    /// The same name without tag or digest.
    pub fn name_only(&self) -> Reference {
        Reference {
            tag: None,
            digest: None,
            ..self.clone()
        }
    }

    /// The same tag and digest under another registry and repository (a mirror or a
    /// registries.conf rewrite), checked like any reference.
    pub fn with_name(&self, registry: &str, repository: &str) -> Result<Reference, ReferenceError> {
        Reference::from_parts(
            canonical_registry(registry),
            repository,
            self.tag.clone(),
            self.digest.clone(),
        )
    }

    /// What to ask the registry for: the digest when there is one, else the tag.
    pub fn api_reference(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(d), _) => d.to_string(),
            (None, Some(t)) => t.clone(),
            (None, None) => DEFAULT_TAG.to_string(),
        }
    }

    /// The name to record in the store: `host/repo:tag`, or `host/repo@digest` when pulled
    /// by digest only.
    pub fn store_name(&self) -> String {
        match (&self.tag, &self.digest) {
            (Some(t), _) => format!("{}:{t}", self.name()),
            (None, Some(d)) => format!("{}@{d}", self.name()),
            (None, None) => format!("{}:{DEFAULT_TAG}", self.name()),
        }
    }

    /// The host to connect to ([`api_host`]).
    pub fn api_host(&self) -> &str {
        api_host(&self.registry)
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

/// A reference serialises as its text (`registry/repository[:tag][@digest]`), as the store's
/// names always printed.
impl serde::Serialize for Reference {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A reference equals a text when it prints as that text.
impl PartialEq<str> for Reference {
    fn eq(&self, other: &str) -> bool {
        let mut printed = String::with_capacity(other.len());
        fmt::write(&mut printed, format_args!("{self}")).is_ok() && printed == other
    }
}

impl PartialEq<&str> for Reference {
    fn eq(&self, other: &&str) -> bool {
        *self == **other
    }
}

impl PartialEq<String> for Reference {
    fn eq(&self, other: &String) -> bool {
        *self == *other.as_str()
    }
}

impl FromStr for Reference {
    type Err = ReferenceError;

    /// [`Reference::parse_normalized`].
    fn from_str(s: &str) -> Result<Reference, ReferenceError> {
        Reference::parse_normalized(s)
    }
}

fn too_long(len: usize) -> String {
    format!("repository name longer than {NAME_MAX} characters ({len})")
}

fn parse_digest(input: &str, d: &str) -> Result<Digest, ReferenceError> {
    let digest = Digest::from_str(d).map_err(|e| err(input, format!("bad digest {d:?}: {e}")))?;
    check_digest_algorithm(&digest).map_err(|why| err(input, why))?;
    Ok(digest)
}

fn check_digest_algorithm(d: &Digest) -> Result<(), String> {
    match d.algorithm() {
        DigestAlgorithm::Sha256 | DigestAlgorithm::Sha384 | DigestAlgorithm::Sha512 => Ok(()),
        other => Err(format!(
            "unsupported digest algorithm {other} in {d} (sha256, sha384 or sha512)"
        )),
    }
}

/// A tag: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
pub fn check_tag(t: &str) -> Result<(), String> {
    let ok = !t.is_empty()
        && t.len() <= TAG_MAX
        && t.bytes().enumerate().all(|(i, b)| {
            b.is_ascii_alphanumeric() || b == b'_' || (i > 0 && (b == b'.' || b == b'-'))
        });
    if ok {
        Ok(())
    } else {
        Err(format!(
            "bad tag {t:?}: must match [A-Za-z0-9_][A-Za-z0-9_.-]{{0,{}}}",
            TAG_MAX - 1
        ))
    }
}

/// A registry host: `host[:port]` of DNS labels (letters, digits, inner `-`), or a
/// bracketed IPv6 address `[…]` with an optional port; a port is digits.
pub fn check_registry_host(host: &str) -> Result<(), String> {
    let bad = |what: &str| Err(format!("bad registry host {host:?}: {what}"));
    let (addr, port) = if let Some(rest) = host.strip_prefix('[') {
        let Some((ip, after)) = rest.split_once(']') else {
            return bad("unclosed '['");
        };
        if ip.is_empty() || !ip.bytes().all(|b| b.is_ascii_hexdigit() || b == b':') {
            return bad("an IPv6 address is hex digits and ':'");
        }
        match after {
            "" => (None, None),
            p => match p.strip_prefix(':') {
                Some(p) => (None, Some(p)),
                None => return bad("only ':port' may follow ']'"),
            },
        }
    } else {
        match host.split_once(':') {
            Some((h, p)) => (Some(h), Some(p)),
            None => (Some(host), None),
        }
    };
    if let Some(p) = port {
        if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
            return bad("the port must be digits");
        }
    }
    if let Some(h) = addr {
        let label_ok = |l: &str| {
            !l.is_empty()
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        };
        if !h.split('.').all(label_ok) {
            return bad("labels are letters, digits and inner '-', joined by '.'");
        }
    }
    Ok(())
}

/// A repository path: `/`-separated components as [`check_path_component`] says, within
/// [`NAME_MAX`].
pub fn check_repository_path(path: &str) -> Result<(), String> {
    if path.len() > NAME_MAX {
        return Err(too_long(path.len()));
    }
    for comp in path.split('/') {
        check_path_component(comp).map_err(|e| {
            let what = match e {
                ComponentError::Empty => "empty path component".to_string(),
                ComponentError::Uppercase => "repository name must be lowercase".to_string(),
                ComponentError::Edge => {
                    "must start and end with a lowercase letter or digit".to_string()
                }
                ComponentError::Separator(sep) => {
                    format!("bad separator {sep:?} (use '.', '_', '__' or '-')")
                }
            };
            format!("bad repository component {comp:?}: {what}")
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
