//! The errors of `kube generate` ([`GenerateError`]), in Podman's words where Podman has some.

use std::fmt;

use berth_run::RunError;

/// Why `kube generate` could not write its YAML.
#[derive(Debug)]
pub enum GenerateError {
    /// A name that is no container and no pod (Podman's words).
    NotFound(String),
    /// A container of a pod given alone.
    InPod { container: String, pod: String },
    /// A pod with no container to describe.
    Empty { pod: String, only_infra: bool },
    /// The engine's error (records, volumes, the stored spec).
    Run(RunError),
    /// A document that would not serialize.
    Yaml(String),
}

impl fmt::Display for GenerateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GenerateError::NotFound(name) => write!(f, "name or ID {name:?} not found"),
            GenerateError::InPod { container, pod } => write!(
                f,
                "container {container} is associated with pod {pod}: use generate on the pod \
                 itself"
            ),
            GenerateError::Empty { pod, only_infra } => {
                let what = if *only_infra {
                    "only has an infra container"
                } else {
                    "has no containers"
                };
                write!(f, "pod {pod} {what}")
            }
            GenerateError::Run(e) => e.fmt(f),
            GenerateError::Yaml(e) => write!(f, "writing the YAML: {e}"),
        }
    }
}

impl std::error::Error for GenerateError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            GenerateError::Run(e) => Some(e),
            _ => None,
        }
    }
}

impl From<RunError> for GenerateError {
    fn from(e: RunError) -> GenerateError {
        GenerateError::Run(e)
    }
}
