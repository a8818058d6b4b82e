//! Run errors. Every variant names the container, image or path it concerns.

use std::io;
use std::path::PathBuf;

/// Result alias for this crate.
pub type Result<T, E = RunError> = std::result::Result<T, E>;

/// An error from spec generation, the container records or a runtime.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// No such container.
    #[error("no container with name or id {0:?} found")]
    NoSuchContainer(String),
    /// No such secret (Podman's words).
    #[error("no secret with name or id {0:?}: no such secret")]
    NoSuchSecret(String),
    /// No such volume.
    #[error("no volume with name {0:?} found: no such volume")]
    NoSuchVolume(String),
    /// No such pod (issue 17).
    #[error("no pod with name or ID {0} found: no such pod")]
    NoSuchPod(String),
    /// A pod name already in use (Podman's words).
    #[error("adding pod to state: name {0:?} is in use: pod already exists")]
    PodNameInUse(String),
    /// A container others share a namespace of (Podman's words; exit 125 as Podman's).
    #[error("container {id} has dependent containers which must be removed before it: {dependents}: container already exists")]
    HasDependents { id: String, dependents: String },
    /// Removing a pod's infra container on its own (Podman's words).
    #[error("container {id} is the infra container of pod {pod} and cannot be removed without removing the pod")]
    InfraContainer { id: String, pod: String },
    /// No image by that name or id in the store a container was to be made from.
    #[error("image {image:?} not found in the store {}", root.display())]
    NoSuchImage { image: String, root: PathBuf },
    /// A container name already in use (Podman 4.3's words, with containers/storage's
    /// `ErrDuplicateName` as the cause).
    #[error("the container name {name:?} is already in use by {id}. You have to remove that container to be able to reuse that name: that name is already in use")]
    NameInUse { name: String, id: String },
    /// Bad user input (an option value, a user name, an image config value).
    #[error("{0}")]
    Invalid(String),
    /// The operation is refused in the container's current state.
    #[error("{0}")]
    FailedPrecondition(String),
    /// `exec` into a container that is not running: Podman's `container state improper`,
    /// exit 255.
    #[error("{0}: container state improper")]
    StateImproper(String),
    /// An exec's process could not start for another reason than its command (its working
    /// directory is not a directory): Podman's `OCI runtime error`, exit 255.
    #[error("OCI runtime error: {0}")]
    ExecStart(String),
    /// The image's own files (passwd, group) are unsafe or unreadable.
    #[error("{path}: {reason}")]
    Rootfs { path: String, reason: String },
    /// The container's command could not be found (exit 127).
    #[error("{0}")]
    CommandNotFound(String),
    /// The container's command could not be invoked (exit 126).
    #[error("{0}")]
    CannotInvoke(String),
    /// The OCI runtime failed.
    #[error("{runtime} {action} {container}: {message}")]
    Runtime {
        runtime: String,
        action: String,
        container: String,
        message: String,
    },
    /// I/O on a path.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The container records in the store database.
    #[error("container database: {0}")]
    Db(#[from] rusqlite::Error),
    /// The store (image lookup, snapshots, mounts).
    #[error(transparent)]
    Store(#[from] berth_image_store::StoreError),
    /// Building or (de)serializing the runtime spec.
    #[error("runtime spec: {0}")]
    Spec(String),
    /// A network namespace or a container network (berth-network).
    #[error(transparent)]
    Network(#[from] berth_network::NetworkError),
    /// An error a berth monitor process reported (its text and exit code), for an exec
    /// session it started for this process.
    #[error("{message}")]
    Relayed { message: String, code: u8 },
}

impl RunError {
    /// Podman's exit code when removing one of several objects (`rm`, `volume rm`) fails: 1 no
    /// such object, 2 in use (or running, without force), 125 anything else.
    pub fn removal_exit_code(&self) -> u8 {
        match self {
            RunError::NoSuchContainer(_) | RunError::NoSuchVolume(_) | RunError::NoSuchPod(_) => 1,
            RunError::FailedPrecondition(_) => 2,
            _ => 125,
        }
    }

    /// Attach a path to an I/O error.
    pub fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        RunError::Io {
            path: path.into(),
            source,
        }
    }

    /// The exit code Podman uses for this error: 127 command not found, 126 cannot invoke,
    /// 255 an exec into a container that is not running or whose process could not start,
    /// otherwise 125.
    pub fn exit_code(&self) -> u8 {
        match self {
            RunError::CommandNotFound(_) => 127,
            RunError::CannotInvoke(_) => 126,
            RunError::StateImproper(_) | RunError::ExecStart(_) => 255,
            RunError::Relayed { code, .. } => *code,
            _ => 125,
        }
    }
}

impl From<oci_spec::OciSpecError> for RunError {
    fn from(e: oci_spec::OciSpecError) -> Self {
        RunError::Spec(e.to_string())
    }
}

/// The errno behind a pathrs error, if it was one.
pub(crate) fn errno_of(e: &pathrs::error::Error) -> Option<i32> {
    match e.kind() {
        pathrs::error::ErrorKind::OsError(n) => n,
        _ => None,
    }
}
