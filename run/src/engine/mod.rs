//! [`Engine`]: the container lifecycle over one store and one run root. Each part of the
//! lifecycle has its file:
//!
//! - [`create`]: [`CreateRequest`] → snapshot, volumes ([`volumes`]), spec, record.
//! - [`lookup`]: get, list, and records made true when a container died unseen.
//! - [`start`]: start attached or detached (a monitor process), under a start lock;
//!   [`supervise`]: create and start through the runtime, wait as a subreaper, record the exit;
//!   [`attach`]: `run -it` under a monitor with this terminal attached (detach keys).
//! - [`exec`]: another process in a running container; [`exec_session`]: `exec -it` under
//!   an exec monitor with this terminal attached (detach keys).
//! - [`stop`]: kill, stop (then SIGKILL), wait; [`pause`]: pause, unpause (the cgroup
//!   freezer) and rename.
//! - `events`: the container events every part emits (create, init, start, attach, exec,
//!   exec_died, kill, stop, died, cleanup, pause, unpause, rename, remove) to the one event
//!   log ([`berth_image_store::events`]), from here so that every front end's calls emit.
//! - [`init`]: `init` (made in the runtime, held by its monitor until `start`).
//! - [`restart`]: the monitor's loop: `--restart` policies (restart count, no restart after
//!   the user's `stop`/`kill`); [`health`]: the health check, run once (`healthcheck run`)
//!   or by the monitor on its interval, its timeout, `--health-on-failure`.
//! - [`remove`]: a container and what it holds.
//! - [`rootfs`]: the snapshot mounted for a start, the bundle, their release; [`mount`]:
//!   `mount`/`umount` of a container for the user, with Podman's mount count.
//! - [`network`]: the container's networks: resolved at create, joined at start (netavark),
//!   left at release; [`network_rootless`]: pasta or slirp4netns started at start, ended
//!   at release;
//!   [`network_connect`]: `network connect`/`disconnect`/`reload` of a container, and the
//!   DNS names its networks must serve.
//! - [`namespaces`]: `--ipc`/`--uts`/`--pid`/`--cgroupns container:`: resolved at create,
//!   joined at start (`/proc/PID/ns`), and the refusal to remove a container others share.
//! - [`pod`]: pods (issue 17): `create_pod`, the infra container, members joining it,
//!   `start_pod`, `stop_pod`, `remove_pod`, … over the record of `crate::pod`.
//! - [`copy`]: a container's root opened for `cp`.
//!
//! Other modules of the crate add the operations on an existing container (`commit`, `logs`,
//! `top`, `stats`, `inspect`, `image_removal`): they use the engine, it does not use them.
//!
//! The engine's log events keep the target `berth_run::engine` whichever file they come
//! from: the CLI prints the target (README: stop's SIGKILL warning).
//!
//! Files per container: the writable snapshot (store, key = container id), mounted at the
//! snapshot's `merged/` while the container runs; the bundle `<runroot>/containers/<id>/`
//! (`config.json`, the runtime's `runtime.log`, `pidfile`, and the container log `ctr.log`),
//! private to root ([`crate::bundle`]).

use std::path::{Path, PathBuf};

use berth_image_store::Store;

use crate::container::{Container, Records};
use crate::error::{Result, RunError};
use crate::runtime::Runtime;

pub mod attach;
pub mod copy;
pub mod create;
mod events;
pub mod exec;
pub mod exec_session;
pub mod health;
pub mod init;
pub mod lookup;
pub mod mount;
pub mod namespaces;
pub mod network;
pub mod network_connect;
pub mod network_rootless;
pub mod pause;
pub mod pod;
pub mod remove;
pub mod restart;
pub mod rootfs;
pub mod start;
mod start_lock;
pub mod stop;
pub mod supervise;
pub mod volumes;

pub use copy::ContainerRoot;
pub use create::CreateRequest;
pub use exec::ExecRequest;
pub use network_connect::ConnectRequest;

/// The container lifecycle over a store and a run root.
pub struct Engine<'a> {
    store: &'a Store,
    records: Records,
    runroot: PathBuf,
    /// Set by [`Engine::with_runtime`]: the runtime of every container.
    runtime: Option<Runtime>,
}

/// The default run root: `/run/berth` as root, `$XDG_RUNTIME_DIR/berth` otherwise, else
/// `$TMPDIR/berth-run-<uid>` (the host uid, also inside berth's user namespace).
pub fn default_runroot() -> PathBuf {
    if berth_image_store::store::is_host_root() {
        return PathBuf::from("/run/berth");
    }
    match std::env::var_os("XDG_RUNTIME_DIR").filter(|v| !v.is_empty()) {
        Some(x) => PathBuf::from(x).join("berth"),
        None => std::env::temp_dir().join(format!("berth-run-{}", crate::rootless::host_uid())),
    }
}

impl<'a> Engine<'a> {
    /// Open the container records of `store`, with state under `runroot` (created, or
    /// tightened, to mode 0700: bundles hold the containers' environments).
    pub fn new(store: &'a Store, runroot: &Path) -> Result<Engine<'a>> {
        berth_layers::private_dir::ensure_private_dir(runroot)
            .map_err(|e| RunError::io(runroot, e))?;
        Ok(Engine {
            store,
            records: Records::open(store.root())?,
            runroot: runroot.to_path_buf(),
            runtime: None,
        })
    }

    /// Run every container on `runtime` instead of the one its record names (a front end
    /// that brings its own runtime; the unit tests' recording fake).
    pub fn with_runtime(mut self, runtime: Runtime) -> Engine<'a> {
        self.runtime = Some(runtime);
        self
    }

    /// The store.
    pub fn store(&self) -> &Store {
        self.store
    }

    /// The records.
    pub fn records(&self) -> &Records {
        &self.records
    }

    /// The run root.
    pub fn runroot(&self) -> &Path {
        &self.runroot
    }

    /// The bundle directory of container `id`.
    pub fn bundle_dir(&self, id: &str) -> PathBuf {
        self.runroot.join("containers").join(id)
    }

    /// The container log (stdout and stderr of a detached container).
    pub fn log_path(&self, id: &str) -> PathBuf {
        self.bundle_dir(id).join("ctr.log")
    }

    /// The runtime that runs `c`.
    pub fn runtime_for(&self, c: &Container) -> Result<Runtime> {
        self.runtime_named(Some(&c.runtime))
    }

    /// The runtime `--runtime` names (`None`: the default, see [`crate::runtime::resolve`]).
    pub fn runtime_named(&self, name: Option<&str>) -> Result<Runtime> {
        match &self.runtime {
            Some(rt) => Ok(rt.clone()),
            None => crate::runtime::resolve(name, &self.runroot),
        }
    }
}

#[cfg(test)]
mod pod_tests;
#[cfg(test)]
mod tests;
