//! Build errors. A parse error names `file:line:col`; a step error names `file:line` and the
//! instruction; every other error names the path, image or stage concerned.

use std::path::PathBuf;

/// Result alias for this crate.
pub type Result<T, E = BuildError> = std::result::Result<T, E>;

/// An error from parsing, planning or running a build.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The Containerfile does not parse.
    #[error("{file}:{line}:{col}: {message}")]
    Parse {
        file: String,
        line: usize,
        col: usize,
        message: String,
    },
    /// A step failed (expansion, a missing source, RUN's exit code, the store).
    #[error("{file}:{line}: {instruction}: {message}")]
    Step {
        file: String,
        line: usize,
        instruction: String,
        message: String,
    },
    /// A step failed for an error of its own kind (a pull, a download, the store, the run
    /// engine), kept whole: `doing` says what the step was doing (`pulling busybox`), if
    /// anything, and `source` is the error, whose kind a caller can still ask.
    #[error("{file}:{line}: {instruction}: {}{source}", doing_prefix(.doing))]
    StepFailed {
        file: String,
        line: usize,
        instruction: String,
        doing: Option<String>,
        #[source]
        source: Box<BuildError>,
    },
    /// A RUN step's command exited non-zero (the build exits with the same code, as Podman).
    #[error("{file}:{line}: {instruction}: exit status {code}")]
    RunFailed {
        file: String,
        line: usize,
        instruction: String,
        code: i32,
    },
    /// Bad options (`--target`, `--build-arg`, `--format`).
    #[error("{0}")]
    Invalid(String),
    /// I/O on a path.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The build's input (a context or Containerfile on stdin, SOURCE_DATE_EPOCH) could not be
    /// taken in; `what` says which, the source why.
    #[error("{what}")]
    Input {
        what: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The store (image lookup, snapshots, blobs).
    #[error(transparent)]
    Store(#[from] berth_image_store::StoreError),
    /// The run engine (RUN steps).
    #[error(transparent)]
    Run(#[from] berth_run::RunError),
    /// The registry (FROM pulls, ADD downloads).
    #[error(transparent)]
    Registry(#[from] berth_registry::RegistryError),
}

fn doing_prefix(doing: &Option<String>) -> String {
    doing.as_ref().map(|d| format!("{d}: ")).unwrap_or_default()
}

impl BuildError {
    /// The exit code of a failed RUN, for the CLI to exit with.
    pub fn run_exit_code(&self) -> Option<i32> {
        match self {
            BuildError::RunFailed { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// An input error: `what` was being done, `source` went wrong.
    pub fn input(
        what: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        BuildError::Input {
            what: what.into(),
            source: source.into(),
        }
    }

    /// Attach a path to an I/O error.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        BuildError::Io {
            path: path.into(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_registry::RegistryError;

    #[test]
    fn a_step_keeps_the_error_it_failed_with() {
        let e = BuildError::StepFailed {
            file: "Containerfile".into(),
            line: 1,
            instruction: "FROM x".into(),
            doing: Some("pulling x".into()),
            source: Box::new(BuildError::Registry(RegistryError::ManifestUnknown {
                reference: "docker.io/library/x:latest".into(),
                url: "u".into(),
            })),
        };
        assert_eq!(
            e.to_string(),
            "Containerfile:1: FROM x: pulling x: docker.io/library/x:latest: manifest unknown (u)"
        );
        assert!(matches!(
            &e,
            BuildError::StepFailed { source, .. }
                if matches!(**source, BuildError::Registry(RegistryError::ManifestUnknown { .. }))
        ));
    }
}
