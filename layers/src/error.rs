//! Errors of the layer codec. Every variant names what it concerns.

use std::io;
use std::path::PathBuf;

/// Result alias for this crate.
pub type Result<T, E = LayerError> = std::result::Result<T, E>;

/// An error while writing, reading or applying a layer.
#[derive(Debug, thiserror::Error)]
pub enum LayerError {
    /// I/O on a named host path failed.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The layer stream itself could not be read (truncated, corrupt codec, bad tar).
    #[error("reading layer stream: {0}")]
    Stream(#[source] io::Error),
    /// Writing the layer stream to its sink failed.
    #[error("writing layer stream: {0}")]
    Sink(#[source] io::Error),
    /// An entry in the layer is hostile or malformed; it was refused, nothing was written for it.
    #[error("layer entry {entry:?}: {reason}")]
    Entry { entry: String, reason: String },
    /// A limit configured in [`crate::ApplyLimits`] was exceeded.
    #[error("layer exceeds limit: {0}")]
    Limit(String),
    /// Bytes did not hash to what was expected.
    #[error("digest mismatch: expected {expected}, got {actual}")]
    DigestMismatch { expected: String, actual: String },
    /// Anything else, with its context already in the message.
    #[error("{0}")]
    Other(String),
}

impl LayerError {
    /// Attach a host path to an I/O error.
    pub fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        LayerError::Io {
            path: path.into(),
            source,
        }
    }

    /// A refused or malformed layer entry.
    pub fn entry(entry: impl Into<String>, reason: impl Into<String>) -> Self {
        LayerError::Entry {
            entry: entry.into(),
            reason: reason.into(),
        }
    }
}
