//! Scopes: validation and most-specific-first candidates per transport.

use crate::error::TrustError;

/// Transports whose scopes are absolute paths (containers/image's oci, oci-archive,
/// docker-archive and dir).
pub(super) const PATH_TRANSPORTS: &[&str] = &["oci", "oci-archive", "docker-archive", "dir"];

/// A path scope: `""`, or an absolute, clean path other than `/`.
pub(super) fn validate_path_scope(scope: &str) -> Result<(), TrustError> {
    let invalid = |detail: &str| TrustError::InvalidScope {
        scope: scope.to_string(),
        detail: detail.to_string(),
    };
    if scope.is_empty() {
        return Ok(());
    }
    if !scope.starts_with('/') {
        return Err(invalid(": must be an absolute path"));
    }
    if scope == "/" {
        return Err(invalid(": use the transport default scope \"\""));
    }
    let clean = !scope.ends_with('/')
        && scope[1..]
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != "..");
    if !clean {
        return Err(invalid(": not a canonical path"));
    }
    Ok(())
}

/// Policy scopes for a path-based reference (`/dir[:image]`), most specific first: the
/// reference itself, then the directory and each parent directory (not `/`).
pub(super) fn path_scopes(reference: &str) -> Vec<String> {
    let mut out = vec![reference.to_string()];
    if !reference.starts_with('/') {
        return out;
    }
    let last_slash = reference.rfind('/').unwrap_or(0);
    let mut path = match reference[last_slash..].find(':') {
        Some(c) => &reference[..last_slash + c],
        None => reference,
    };
    while path.len() > 1 {
        if !out.iter().any(|s| s == path) {
            out.push(path.to_string());
        }
        match path.rfind('/') {
            Some(i) => path = &path[..i],
            None => break,
        }
    }
    out
}

/// Policy scopes for a docker reference, most specific first: `host/repo:tag` (or
/// `@digest`), `host/repo`, each namespace prefix, `host[:port]`, then `*.domain` wildcards
/// (port stripped, longest first).
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
    let repo = {
        let last_slash = repo.rfind('/').unwrap_or(0);
        match repo[last_slash..].rfind(':') {
            Some(c) if last_slash > 0 => &repo[..last_slash + c],
            _ => repo,
        }
    };
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
