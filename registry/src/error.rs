//! Registry errors: every variant names the URL, reference, digest or file concerned.

use std::path::PathBuf;

use berth_image_store::StoreError;

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
        /// The error chain as text (the client's words, each cause once).
        message: String,
        /// What failed, read from the error's types when it happened (never from `message`).
        failure: NetFailure,
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
    /// Reading the local side of an upload failed (a store file, or another registry's blob
    /// when copying between registries); the reader's error is kept, so a cut source is
    /// still known as one.
    #[error("blob {digest}: reading local blob: {source}")]
    ReadBlob {
        digest: String,
        #[source]
        source: std::io::Error,
    },
    /// Every candidate or endpoint of a pull or inspect failed; each error is kept, in order.
    #[error("{input}: {} attempts failed: {}", .errors.len(), joined(.errors))]
    AllFailed {
        input: String,
        errors: Vec<RegistryError>,
    },
    /// A short name with no alias and no `unqualified-search-registries` (Podman's words).
    #[error(
        "short-name {input:?} did not resolve to an alias and no unqualified-search registries are defined in {config:?}"
    )]
    ShortName { input: String, config: PathBuf },
    /// A registry blocked by registries.conf.
    #[error("registry {0} is blocked in registries.conf")]
    Blocked(String),
    /// The store. A registry error that crossed the store's copy routine comes back as
    /// itself, not as this (see the `From<StoreError>` impl).
    #[error(transparent)]
    Store(StoreError),
    /// An image of a verified manifest list that is not accepted as its instance (not listed
    /// by that digest, or not hashing to it): the gate's error whole, under the list's name.
    #[error("{what}: {source}")]
    ListInstance {
        what: String,
        #[source]
        source: Box<berth_trust::TrustError>,
    },
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
}

/// What failed on the wire, as the client's error types said (a reqwest error's chain of
/// io errors, timeouts and TLS errors), so that retrying asks a kind, not a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetFailure {
    /// The connection was refused (nothing listens).
    Refused,
    /// The connection was reset or aborted, or the network or host is unreachable.
    Connection,
    /// Connecting or reading timed out.
    Timeout,
    /// The connection closed before the answer or its body was complete (an unexpected EOF).
    Cut,
    /// TLS failed (a certificate, a handshake, a plain HTTP answer to a TLS hello).
    Tls,
    /// Anything else: a name that does not resolve, a bad URL, too many redirects.
    Other,
}

impl From<StoreError> for RegistryError {
    /// A store error, except that a registry error the copy routine carried
    /// ([`StoreError::Transport`], made by `remote::to_store`) comes back as itself.
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Transport(inner) => match inner.downcast::<RegistryError>() {
                Ok(registry) => *registry,
                Err(other) => RegistryError::Store(StoreError::Transport(other)),
            },
            e => RegistryError::Store(e),
        }
    }
}

/// The error to report when every endpoint of `input` failed: the only error as it is, or all
/// of them ([`RegistryError::AllFailed`], each kept); `none` when there was no endpoint at all.
pub fn all_failed(
    input: &str,
    mut errors: Vec<RegistryError>,
    none: impl FnOnce() -> RegistryError,
) -> RegistryError {
    if errors.len() > 1 {
        return RegistryError::AllFailed {
            input: input.to_string(),
            errors,
        };
    }
    errors.pop().unwrap_or_else(none)
}

/// Several errors in one line, `; ` apart.
fn joined(errors: &[RegistryError]) -> String {
    let all: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
    all.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_registry_error_crosses_the_copy_routine_and_comes_back_as_itself() {
        let status = RegistryError::Status {
            method: "GET".into(),
            url: "http://127.0.0.1:1/v2/a/blobs/sha256:ab".into(),
            status: 503,
            detail: String::new(),
        };
        let text = status.to_string();
        let carried = StoreError::transport(status);
        assert_eq!(carried.to_string(), text, "the text is the error's own");
        let back = RegistryError::from(carried);
        assert!(
            matches!(back, RegistryError::Status { status: 503, .. }),
            "{back:?}"
        );
        let all = all_failed(
            "x",
            vec![
                RegistryError::ManifestUnknown {
                    reference: "a.io/x:latest".into(),
                    url: "https://a.io/v2/x/manifests/latest".into(),
                },
                RegistryError::Blocked("b.io".into()),
            ],
            || RegistryError::Blocked("none".into()),
        );
        assert_eq!(
            all.to_string(),
            "x: 2 attempts failed: a.io/x:latest: manifest unknown \
             (https://a.io/v2/x/manifests/latest); registry b.io is blocked in registries.conf"
        );
        assert!(matches!(
            &all,
            RegistryError::AllFailed { errors, .. }
                if matches!(errors[0], RegistryError::ManifestUnknown { .. })
        ));
        let store = RegistryError::from(StoreError::NotFound("image x".into()));
        assert!(matches!(
            store,
            RegistryError::Store(StoreError::NotFound(_))
        ));
    }

    #[test]
    fn a_list_instance_keeps_the_gates_error_and_its_text() {
        let digest = |c: char| berth_layers::digest::digest_bytes(c.to_string().as_bytes());
        let err = RegistryError::ListInstance {
            what: "manifest list x".into(),
            source: Box::new(berth_trust::TrustError::ManifestDigest {
                expected: digest('a'),
                actual: digest('b'),
            }),
        };
        assert_eq!(
            err.to_string(),
            format!(
                "manifest list x: manifest {}: content has digest {}",
                digest('a'),
                digest('b')
            )
        );
        assert!(matches!(
            &err,
            RegistryError::ListInstance { source, .. }
                if matches!(**source, berth_trust::TrustError::ManifestDigest { .. })
        ));
    }
}
