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
    /// A name or id prefix that matches more than one object (which, the message says).
    #[error("{0}")]
    Ambiguous(String),
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
    /// Reading the stream a blob is copied from failed (a cut connection, a truncated file).
    /// The reader's error is kept: a caller that retries asks it (the registry's predicate
    /// opens it to find its own error inside).
    #[error("{what}: reading source: {source}")]
    Source {
        what: String,
        #[source]
        source: io::Error,
    },
    /// Input (archive, manifest, config, name) is malformed.
    #[error("{0}")]
    Invalid(String),
    /// A transport of an upper crate (the registry's `docker://`) failed behind
    /// `ImageSource` or `ImageDestination` (copy.rs). The error is kept
    /// as it was, not as text: its crate gets it back by downcasting and can still ask its
    /// kind (a missing manifest, a 503, a refused connection). It reads as the error itself.
    #[error(transparent)]
    Transport(Box<dyn std::error::Error + Send + Sync + 'static>),
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
    /// Carry an upper crate's error through the copy routine, kind and all.
    pub fn transport(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        StoreError::Transport(Box::new(e))
    }

    /// Attach a path to an I/O error.
    pub fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        StoreError::Io {
            path: path.into(),
            source,
        }
    }
}
