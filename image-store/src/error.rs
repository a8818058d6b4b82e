//! Store errors. Callers branch on the kind; every variant names what it concerns.

use std::io;
use std::path::PathBuf;

/// Result alias for this crate.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// An error from the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No such image, blob, snapshot or name.
    #[error("{0}: not found")]
    NotFound(String),
    /// Something with that name already exists.
    #[error("{0}: already exists")]
    AlreadyExists(String),
    /// The operation is refused in the current state (e.g. removing an image in use).
    #[error("{0}")]
    FailedPrecondition(String),
    /// Bytes did not match their digest or size.
    #[error("{what}: digest mismatch: expected {expected}, got {actual}")]
    DigestMismatch {
        what: String,
        expected: String,
        actual: String,
    },
    /// Reading the stream a blob is copied from failed (a cut connection, a truncated file):
    /// the bytes may arrive on another try, so callers can retry on this kind.
    #[error("{what}: reading source: {source}")]
    Source {
        what: String,
        #[source]
        source: io::Error,
    },
    /// Input (archive, manifest, config, name) is malformed.
    #[error("{0}")]
    Invalid(String),
    /// I/O on a path.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The metadata database.
    #[error("store database: {0}")]
    Db(#[from] rusqlite::Error),
    /// The layer codec.
    #[error(transparent)]
    Layer(#[from] berth_layers::LayerError),
    /// Unpacking one layer failed (the layer codec's error, with the layer's digest).
    #[error("layer {layer}: {source}")]
    Unpack {
        layer: String,
        #[source]
        source: berth_layers::LayerError,
    },
}

impl StoreError {
    /// Attach a path to an I/O error.
    pub fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        StoreError::Io {
            path: path.into(),
            source,
        }
    }
}
