//! Registry errors: every variant names the URL, reference, digest or file concerned.

use std::path::PathBuf;

/// Result alias for this crate.
pub type Result<T, E = RegistryError> = std::result::Result<T, E>;

/// An error from references, config, credentials, the client or the pipelines.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// A reference that does not parse.
    #[error("invalid reference {input:?}: {why}")]
    Reference { input: String, why: String },
    /// A config or credentials file that is malformed.
    #[error("{path}: {message}")]
    Config { path: PathBuf, message: String },
    /// I/O on a local file.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The HTTP exchange failed (connection refused, TLS, timeout, body cut).
    #[error("{method} {url}: {message}")]
    Http {
        method: String,
        url: String,
        message: String,
        /// Whether the network may do better in a moment (refused, reset, timed out), as
        /// containers/common's retry rules judge; a name that does not resolve or a TLS
        /// failure will not.
        retryable: bool,
    },
    /// The registry answered with an unexpected status.
    #[error("{method} {url}: {status}{detail}")]
    Status {
        method: String,
        url: String,
        status: u16,
        detail: String,
    },
    /// Authentication failed.
    #[error("{url}: authentication failed: {message}")]
    Auth { url: String, message: String },
    /// A manifest or tag does not exist.
    #[error("{reference}: manifest unknown ({url})")]
    ManifestUnknown { reference: String, url: String },
    /// Content that does not match what was announced.
    #[error("{what}: {message}")]
    Invalid { what: String, message: String },
    /// A short name with no alias and no `unqualified-search-registries` (Podman's words).
    #[error(
        "short-name {input:?} did not resolve to an alias and no unqualified-search registries are defined in {config:?}"
    )]
    ShortName { input: String, config: PathBuf },
    /// A registry blocked by registries.conf.
    #[error("registry {0} is blocked in registries.conf")]
    Blocked(String),
    /// The store.
    #[error(transparent)]
    Store(#[from] berth_image_store::StoreError),
    /// The trust gate.
    #[error(transparent)]
    Trust(#[from] berth_trust::TrustError),
}

impl RegistryError {
    /// Attach a path to an I/O error.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        RegistryError::Io {
            path: path.into(),
            source,
        }
    }

    /// Whether trying a whole pull or push again may succeed, by containers/common's rules
    /// (Podman's 3 retries): a connection refused, reset or timed out, a 5xx or 429 answer;
    /// never a missing manifest, refused credentials, a TLS or name-resolution failure.
    pub fn is_retryable(&self) -> bool {
        match self {
            RegistryError::Http { retryable, .. } => *retryable,
            RegistryError::Status { status, .. } => *status >= 500 || *status == 429,
            _ => false,
        }
    }

    /// Whether retrying the same request may succeed (network trouble, 5xx, 429).
    pub fn is_transient(&self) -> bool {
        match self {
            RegistryError::Http { .. } => true,
            RegistryError::Status { status, .. } => *status >= 500 || *status == 429,
            RegistryError::Store(berth_image_store::StoreError::Source { .. }) => true,
            _ => false,
        }
    }
}

/// The error to report when every endpoint of `input` failed: the only error as it is, or all
/// of them in one line; `none` when there was no endpoint at all.
pub fn all_failed(
    input: &str,
    mut errors: Vec<RegistryError>,
    none: impl FnOnce() -> RegistryError,
) -> RegistryError {
    if errors.len() > 1 {
        let all: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        return RegistryError::Invalid {
            what: input.to_string(),
            message: format!("{} attempts failed: {}", all.len(), all.join("; ")),
        };
    }
    errors.pop().unwrap_or_else(none)
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_image_store::StoreError;

    #[test]
    fn transient_by_kind_not_by_text() {
        let cut = RegistryError::Store(StoreError::Source {
            what: "blob sha256:ab".into(),
            source: std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset"),
        });
        assert!(cut.is_transient());
        assert!(cut
            .to_string()
            .contains("blob sha256:ab: reading source: reset"));
        let said = RegistryError::Store(StoreError::Invalid("x: reading source: y".into()));
        assert!(!said.is_transient());
        let status = |status| RegistryError::Status {
            method: "GET".into(),
            url: "u".into(),
            status,
            detail: String::new(),
        };
        assert!(status(503).is_transient() && status(429).is_transient());
        assert!(!status(404).is_transient());
    }
}
