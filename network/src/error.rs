//! Network errors. Every variant names the network, address, path or program it concerns.

use std::io;
use std::path::PathBuf;

/// Result alias for this crate.
pub type Result<T, E = NetworkError> = std::result::Result<T, E>;

/// An error from the network definitions, the IPAM, a namespace or netavark.
#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    /// No network by that name or id (Podman's words).
    #[error("unable to find network with name or ID {0}: network not found")]
    NotFound(String),
    /// A network of that name exists (Podman's words).
    #[error("network name {0} already used: network already exists")]
    Exists(String),
    /// A network containers use, removed without `-f` (Podman's words).
    #[error("{0:?} has associated containers with it. Use -f to forcibly delete containers and pods: network is being used")]
    InUse(String),
    /// Bad input: a name, subnet, gateway, range, address or option.
    #[error("{0}")]
    Invalid(String),
    /// The operation is refused (removing the default network, an address already taken).
    #[error("{0}")]
    Refused(String),
    /// A program berth drives is not installed.
    #[error("{program} not found: install Debian's {package} package")]
    Missing {
        program: &'static str,
        package: &'static str,
    },
    /// netavark failed: its message (stdout's `{"error": …}`) and its stderr.
    #[error("netavark {action}: {message}")]
    Netavark { action: String, message: String },
    /// I/O on a path (or on a thing named like one: a namespace, a program).
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// A definition file that is not netavark's JSON.
    #[error("{path}: {source}")]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    /// The IPAM database.
    #[error("IPAM database {path}: {source}")]
    Ipam {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
}

impl NetworkError {
    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: io::Error) -> NetworkError {
        NetworkError::Io {
            path: path.into(),
            source,
        }
    }
}
