//! API versions: the range served, and the `/vX.Y` path prefix checked and taken off
//! (`/vX.Y.Z/libpod/…` too: Podman's clients put their own version before libpod's paths).

/// The oldest API version served (Docker's own minimum).
pub const MIN_API_VERSION: &str = "1.24";
/// The newest API version served: what the docker CLI 28.x asks for.
pub const API_VERSION: &str = "1.50";

/// What a request path's version prefix says.
#[derive(Debug, PartialEq, Eq)]
pub enum VersionCheck {
    /// No `/vX.Y` prefix.
    Unversioned,
    /// A served version; the path without the prefix.
    Versioned(String),
    /// A version outside the range, or not a version: Docker's message.
    Bad(String),
}

fn parse(v: &str) -> Option<(u32, u32)> {
    let (major, minor) = v.split_once('.')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// Check and strip `/vX.Y` from `path`.
pub fn strip_version(path: &str) -> VersionCheck {
    let Some(rest) = path.strip_prefix("/v") else {
        return VersionCheck::Unversioned;
    };
    let (version, tail) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if !version.starts_with(|c: char| c.is_ascii_digit()) {
        // `/volumes`: not a version.
        return VersionCheck::Unversioned;
    }
    if tail == "/libpod" || tail.starts_with("/libpod/") {
        return libpod_version(version, tail);
    }
    let Some(asked) = parse(version) else {
        return VersionCheck::Bad(format!("invalid API version {version:?}"));
    };
    let max = parse(API_VERSION).expect("constant");
    let min = parse(MIN_API_VERSION).expect("constant");
    if asked > max {
        return VersionCheck::Bad(format!(
            "client version {version} is too new. Maximum supported API version is {API_VERSION}"
        ));
    }
    if asked < min {
        return VersionCheck::Bad(format!(
            "client version {version} is too old. Minimum supported API version is \
             {MIN_API_VERSION}, please upgrade your client to a newer version"
        ));
    }
    VersionCheck::Versioned(tail.to_string())
}

/// libpod's API is versioned apart from Docker's, as Podman's (`4.3.1`): served from 4.0.
fn libpod_version(version: &str, tail: &str) -> VersionCheck {
    let parts: Vec<&str> = version.split('.').collect();
    let numeric = parts
        .iter()
        .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    if !numeric || parts.len() > 3 {
        return VersionCheck::Bad(format!("invalid API version {version:?}"));
    }
    if parts[0].parse::<u32>().map_or(true, |major| major < 4) {
        return VersionCheck::Bad(format!(
            "client version {version} is too old. Minimum supported libpod API version is 4.0.0"
        ));
    }
    VersionCheck::Versioned(tail.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes() {
        assert_eq!(
            strip_version("/v1.41/containers/json"),
            VersionCheck::Versioned("/containers/json".into())
        );
        assert_eq!(
            strip_version("/v1.50/_ping"),
            VersionCheck::Versioned("/_ping".into())
        );
        assert_eq!(strip_version("/_ping"), VersionCheck::Unversioned);
        assert_eq!(strip_version("/volumes"), VersionCheck::Unversioned);
        assert!(
            matches!(strip_version("/v1.99/_ping"), VersionCheck::Bad(m) if m.contains("too new"))
        );
        assert!(
            matches!(strip_version("/v1.12/_ping"), VersionCheck::Bad(m) if m.contains("too old"))
        );
        assert!(matches!(strip_version("/v1.x/_ping"), VersionCheck::Bad(_)));
        assert_eq!(
            strip_version("/v4.3.1/libpod/_ping"),
            VersionCheck::Versioned("/libpod/_ping".into())
        );
        assert!(
            matches!(strip_version("/v3.4.4/libpod/_ping"), VersionCheck::Bad(m) if m.contains("too old"))
        );
        assert!(matches!(
            strip_version("/v4.x/libpod/_ping"),
            VersionCheck::Bad(_)
        ));
    }
}
