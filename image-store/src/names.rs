//! Image names, normalized the way Podman stores them locally.
//!
//! `busybox` → `localhost/busybox:latest` when berth names an image itself (tag, import,
//! commit), `docker.io/library/busybox:latest` for names that come from Docker archives; a name
//! with a registry part (`host.tld/`, `host:port/`, `localhost/`) keeps it.

use crate::error::Result;

/// Normalize a name that a user gives to a local image (tag, import): an unqualified name
/// gets `localhost/`, a missing tag gets `:latest`. Refuses invalid names with a message
/// naming them.
pub fn normalize_local(name: &str) -> Result<String> {
    let _ = name;
    todo!()
}

/// Normalize a Docker-style reference (from a docker-archive's `RepoTags`, or a pull):
/// `busybox` → `docker.io/library/busybox:latest`.
pub fn normalize_docker(name: &str) -> Result<String> {
    let _ = name;
    todo!()
}

/// Split a normalized name into repository and tag (`-` tag is `<none>` for digests).
pub fn split_repo_tag(name: &str) -> (&str, &str) {
    let _ = name;
    todo!()
}
