//! `cp`'s errors: [`CopyError`], and pathrs errors turned into I/O errors that keep their
//! errno.

use std::io;
use std::path::{Path, PathBuf};

use crate::error::RunError;

/// A `cp` failure.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    /// I/O on a path (inside the container, on the host or in the stream).
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The paths do not fit together (Podman's cp rules) or an entry is refused.
    #[error("{0}")]
    Refused(String),
}

impl CopyError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        CopyError::Io {
            path: path.into(),
            source,
        }
    }
}

impl From<CopyError> for RunError {
    fn from(e: CopyError) -> Self {
        match e {
            CopyError::Io { path, source } => RunError::Io { path, source },
            CopyError::Refused(m) => RunError::Invalid(m),
        }
    }
}

pub(crate) fn is_enoent(e: &pathrs::error::Error) -> bool {
    crate::error::errno_of(e) == Some(libc::ENOENT)
}

/// A pathrs error on `path` as an I/O error that keeps the errno's kind.
pub(crate) fn perr(path: &Path, what: &str, e: pathrs::error::Error) -> CopyError {
    match crate::error::errno_of(&e) {
        // The errno says it; pathrs' own text repeats every openat2 argument.
        Some(n) => {
            let os = io::Error::from_raw_os_error(n);
            CopyError::io(path, io::Error::new(os.kind(), format!("{what}: {os}")))
        }
        None => CopyError::io(path, io::Error::other(format!("{what}: {e}"))),
    }
}
