//! [`Engine`]: the container lifecycle over one store and one run root: create, stop, kill,
//! remove, list (with liveness checks), wait. Starting and supervising a container's process
//! is in [`crate::supervise`].
//!
//! Files per container: the writable snapshot (store, key = container id), mounted at the
//! snapshot's `merged/` while the container runs; the bundle `<runroot>/containers/<id>/`
//! (`config.json`, the runtime's `runtime.log`, `pidfile`, and the container log `ctr.log`),
//! private to root ([`crate::bundle`]).

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use berth_image_store::mount::{is_mounted, unmount};
use berth_image_store::snapshot::Snapshot;
use berth_image_store::{Store, StoreError};

use crate::container::{alive, Container, NewContainer, Records, State};
use crate::error::{Result, RunError};
use crate::names::{check_name, new_id, random_name};
use crate::runtime::{ExternalRuntime, OciRuntime};
use crate::signals::parse_signal;
use crate::spec::{generate, process_args, RunOptions, SpecInput};
use crate::volumes::{is_anonymous, is_named, split_volume, Volumes};

/// What `create` (and `run`) need.
#[derive(Debug, Clone, Default)]
pub struct CreateRequest {
    /// Image name or id.
    pub image: String,
    /// `--name` (default: a random `adjective_noun`).
    pub name: Option<String>,
    pub options: RunOptions,
    /// `--runtime` (default: see [`ExternalRuntime::resolve`]).
    pub runtime: Option<String>,
    /// The caller starts the container right away (`run`): the rootfs stays mounted from
    /// create to start instead of being unmounted and mounted again.
    pub keep_mounted: bool,
    /// `--rm`.
    pub auto_remove: bool,
    /// `--label KEY=VALUE`.
    pub labels: Vec<(String, String)>,
}

/// How [`Engine::create`] mounts the new container's snapshot.
#[derive(Clone, Copy)]
struct Mounting {
    /// Left mounted for a start right away.
    keep: bool,
    /// `volatile` (a `--rm` container).
    volatile: bool,
}

/// The container lifecycle over a store and a run root.
pub struct Engine<'a> {
    store: &'a Store,
    records: Records,
    runroot: PathBuf,
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
        })
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
    pub fn runtime_for(&self, c: &Container) -> Result<ExternalRuntime> {
        ExternalRuntime::resolve(Some(&c.runtime), &self.runroot)
    }

    /// Look a container up by id, name or id prefix, with its liveness checked.
    pub fn get(&self, name_or_id: &str) -> Result<Container> {
        let c = self.records.get(name_or_id)?;
        self.refresh(c)
    }

    /// Every container, newest first, each with its liveness checked.
    pub fn list(&self) -> Result<Vec<Container>> {
        self.records
            .list()?
            .into_iter()
            .map(|c| self.refresh(c))
            .collect()
    }

    /// `c` refreshed, with its init's pid, when it runs; otherwise `container NAME is not
    /// running` followed by `detail` (empty, or `": …"`).
    pub(crate) fn running_pid(&self, c: &Container, detail: &str) -> Result<(Container, u32)> {
        let c = self.refresh(c.clone())?;
        match (c.state, c.pid) {
            (State::Running, Some(pid)) => Ok((c, pid)),
            _ => Err(RunError::FailedPrecondition(format!(
                "container {} is not running{detail}",
                c.name
            ))),
        }
    }

    /// Make a `running` record true: when its monitor and its process are both gone, nobody
    /// will record the exit, so record it now (exit code unknown) and release the rootfs.
    pub fn refresh(&self, c: Container) -> Result<Container> {
        if c.state != State::Running
            || alive(c.monitor_pid, c.monitor_start)
            || alive(c.pid, c.pid_start)
        {
            return Ok(c);
        }
        tracing::warn!(container = %c.id, "monitor and container died unexpectedly");
        self.release(&c);
        self.records.set_exited(
            &c.id,
            None,
            Some("the container's monitor and process died unexpectedly"),
        )?;
        self.records.get(&c.id)
    }

    /// Create a container: its snapshot over the image, its spec, its record.
    pub fn create(&self, req: &CreateRequest) -> Result<Container> {
        if !berth_image_store::store::is_host_root() && !crate::rootless::in_user_namespace() {
            return Err(RunError::FailedPrecondition(
                "containers as a plain user run in berth's user namespace: use the berth CLI, \
                 or call berth_run::rootless::enter first"
                    .to_string(),
            ));
        }
        // `--rootfs`: no image, an empty image config (the command must be given).
        let image = match &req.options.rootfs {
            Some(_) => None,
            None => Some(self.store.lookup_image(&req.image).map_err(|e| match e {
                StoreError::NotFound(_) => RunError::Invalid(format!(
                    "image {:?} not found in the store {}",
                    req.image,
                    self.store.root().display()
                )),
                other => other.into(),
            })?),
        };
        let config = match &image {
            Some(image) => self.store.image_config(image)?,
            None => oci_spec::image::ImageConfiguration::default(),
        };
        // Fail early on a missing command or a bad option, before touching the store.
        process_args(&config, &req.options)?;
        let mut options = req.options.clone();
        if options.stop_signal.is_none() {
            let image_signal = config
                .config()
                .as_ref()
                .and_then(|c| c.stop_signal().clone());
            if let Some(sig) = image_signal {
                options.stop_signal = Some(parse_signal(&sig).map_err(|e| {
                    RunError::Invalid(format!("image {}: StopSignal: {e}", req.image))
                })?);
            }
        }
        let runtime = ExternalRuntime::resolve(req.runtime.as_deref(), &self.runroot)?;
        let name = match &req.name {
            Some(n) => {
                check_name(n)?;
                if let Ok(other) = self.records.get(n) {
                    if other.name == *n {
                        return Err(RunError::NameInUse {
                            name: n.clone(),
                            id: other.id,
                        });
                    }
                }
                n.clone()
            }
            None => self.free_name()?,
        };
        let id = new_id()?;
        let mut snapshot = self.store.prepare_snapshot(&id, image.as_ref())?;
        if let Some(r) = &options.rootfs {
            snapshot = r.snapshot(snapshot);
        }
        let made = self.resolve_volumes(&mut options).and_then(|_| {
            let mounting = Mounting {
                keep: req.keep_mounted,
                volatile: req.auto_remove,
            };
            self.spec_for(&id, &snapshot, &config, &mut options, mounting)
        });
        let spec = match made {
            Ok(s) => s,
            Err(e) => {
                let _ = self.store.remove_snapshot(&id);
                self.remove_anonymous_volumes(&options);
                return Err(e);
            }
        };
        let command = spec
            .process()
            .as_ref()
            .and_then(|p| p.args().clone())
            .unwrap_or_default();
        let spec_json =
            serde_json::to_string_pretty(&spec).map_err(|e| RunError::Spec(e.to_string()))?;
        let (image_id, image_name) = match (&image, &options.rootfs) {
            (Some(image), _) => (
                image.id.to_string(),
                image
                    .names
                    .first()
                    .cloned()
                    .unwrap_or_else(|| image.short_id().to_string()),
            ),
            (None, Some(r)) => (String::new(), r.path.display().to_string()),
            (None, None) => (String::new(), String::new()),
        };
        let inserted = self.records.insert(&NewContainer {
            id: &id,
            name: &name,
            image_id: &image_id,
            image_name: &image_name,
            command: &command,
            options: &options,
            spec: &spec_json,
            runtime: req.runtime.as_deref().unwrap_or(runtime.name()),
            auto_remove: req.auto_remove,
            labels: &req.labels,
        });
        if let Err(e) = inserted {
            let _ = self.store.remove_snapshot(&id);
            self.remove_anonymous_volumes(&options);
            return Err(e);
        }
        self.records.get(&id)
    }

    /// Replace `-v NAME:/path` sources by the volumes' directories (creating missing
    /// volumes) and remember the names; `-v /path[:opts]` gets a new anonymous volume.
    fn resolve_volumes(&self, options: &mut RunOptions) -> Result<()> {
        let mut volumes = None;
        for v in options.volumes.iter_mut() {
            if v.starts_with('/') && is_anonymous(v) {
                if volumes.is_none() {
                    volumes = Some(Volumes::open(self.store.root())?);
                }
                let vols = volumes.as_ref().expect("opened above");
                let vol = vols.create(None)?;
                options.named_volumes.push(vol.name.clone());
                options.anonymous_volumes.push(vol.name.clone());
                *v = format!("{}:{v}", vol.mountpoint.display());
                continue;
            }
            let Some((source, rest)) = split_volume(v) else {
                continue;
            };
            if !is_named(source) {
                continue;
            }
            check_name(source)?;
            if volumes.is_none() {
                volumes = Some(Volumes::open(self.store.root())?);
            }
            let vols = volumes.as_ref().expect("opened above");
            let vol = vols.get_or_create(source)?;
            options.named_volumes.push(vol.name.clone());
            *v = format!("{}:{rest}", vol.mountpoint.display());
        }
        Ok(())
    }

    /// Remove the anonymous volumes made for a container (`rm -v`, `--rm`); a failure is
    /// logged, not returned: the container is gone either way.
    pub fn remove_anonymous_volumes(&self, options: &RunOptions) {
        if options.anonymous_volumes.is_empty() {
            return;
        }
        let vols = match Volumes::open(self.store.root()) {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(error = %e, "opening volumes");
                return;
            }
        };
        for name in &options.anonymous_volumes {
            if let Err(e) = vols.remove(name, &[]) {
                tracing::warn!(volume = %name, error = %e, "removing an anonymous volume");
            }
        }
    }

    /// Names of the containers using volume `name`.
    pub fn volume_users(&self, name: &str) -> Result<Vec<String>> {
        Ok(self
            .records
            .list()?
            .into_iter()
            .filter(|c| c.options.named_volumes.iter().any(|n| n == name))
            .map(|c| c.name)
            .collect())
    }

    fn free_name(&self) -> Result<String> {
        for _ in 0..32 {
            let n = random_name()?;
            if !self.records.name_taken(&n)? {
                return Ok(n);
            }
        }
        let suffix: String = new_id()?.chars().take(6).collect();
        Ok(format!("{}_{suffix}", random_name()?))
    }

    /// Mount the snapshot (the user lookup reads the image's files), add the image's volumes
    /// (filled from it) and generate the spec. The snapshot stays mounted when `mounting.keep`
    /// and all went well.
    fn spec_for(
        &self,
        id: &str,
        snapshot: &berth_image_store::snapshot::Snapshot,
        config: &oci_spec::image::ImageConfiguration,
        options: &mut RunOptions,
        mounting: Mounting,
    ) -> Result<oci_spec::runtime::Spec> {
        let guards = berth_image_store::volatile::mount_all(snapshot, mounting.volatile)?;
        crate::image_volumes::add_image_volumes(
            self.store.root(),
            &snapshot.mountpoint,
            config,
            options,
        )?;
        let spec = generate(
            &SpecInput {
                id,
                image: config,
                rootfs: &snapshot.mountpoint,
            },
            options,
        )?;
        crate::workdir::prepare(&snapshot.mountpoint, &spec)?;
        if mounting.keep {
            for g in guards {
                g.leak();
            }
        }
        Ok(spec)
    }

    /// The container's writable snapshot: over its image, or for `--rootfs` over (or a bind
    /// of) the given directory.
    pub fn container_snapshot(&self, c: &Container) -> Result<Snapshot> {
        let snap = self.store.snapshot(&c.snapshot)?;
        Ok(match &c.options.rootfs {
            Some(r) => r.snapshot(snap),
            None => snap,
        })
    }

    /// Mount the container's snapshot at its mount point (if not already).
    ///
    /// A `--rm` container's snapshot is mounted `volatile`
    /// ([`berth_image_store::volatile`]): it is removed when the container exits, so its
    /// unmount need not wait for a sync of the whole disk.
    pub fn mount_rootfs(&self, c: &Container) -> Result<PathBuf> {
        let snap = self.container_snapshot(c)?;
        if !is_mounted(&snap.mountpoint) {
            for g in berth_image_store::volatile::mount_all(&snap, c.auto_remove)? {
                g.leak();
            }
        }
        Ok(snap.mountpoint)
    }

    /// Write the bundle of `c`: `config.json` from `spec` (its spec, mounts resolved).
    pub fn write_bundle(&self, c: &Container, spec: &oci_spec::runtime::Spec) -> Result<PathBuf> {
        let dir = self.bundle_dir(&c.id);
        crate::bundle::create_dir(&dir)?;
        crate::bundle::write_json(&dir.join("config.json"), spec)?;
        Ok(dir)
    }

    /// Release what a stopped container holds: the runtime's state and the rootfs mount.
    pub fn release(&self, c: &Container) {
        if let Ok(rt) = self.runtime_for(c) {
            if let Err(e) = rt.delete(&c.id, true) {
                tracing::warn!(container = %c.id, error = %e, "runtime delete failed");
            }
        }
        if let Ok(snap) = self.store.snapshot(&c.snapshot) {
            let _ = unmount(&snap.mountpoint);
        }
    }

    /// Send `signal` to a running container.
    pub fn kill(&self, c: &Container, signal: i32) -> Result<()> {
        if c.state != State::Running {
            return Err(RunError::FailedPrecondition(format!(
                "container {} is not running",
                c.name
            )));
        }
        match self.runtime_for(c)?.kill(&c.id, signal) {
            Ok(()) => Ok(()),
            // The runtime lost track: signal the process directly.
            Err(e) => match c.pid.filter(|_| alive(c.pid, c.pid_start)) {
                Some(pid) => {
                    // SAFETY: kill(2) with a pid and a signal number has no memory effects.
                    let r = unsafe { libc::kill(pid as i32, signal) };
                    if r == 0 {
                        Ok(())
                    } else {
                        Err(e)
                    }
                }
                None => Ok(()),
            },
        }
    }

    /// Stop: the stop signal (`--stop-signal`, the image's, else SIGTERM), then `SIGKILL` after
    /// `timeout` (with a warning, as Podman, unless `timeout` is zero); returns once the exit is recorded, with the record, or `None` when the
    /// container is gone: a `--rm` container's monitor removes it as it ends, and this waits
    /// for that (so that nothing else removes it at the same time).
    pub fn stop(&self, c: &Container, timeout: Duration) -> Result<Option<Container>> {
        let c = self.refresh(c.clone())?;
        if c.state != State::Running {
            return Ok(Some(c));
        }
        let signal = c.options.stop_signal.unwrap_or(libc::SIGTERM);
        let _ = self.kill(&c, signal);
        if !self.wait_dead(&c, timeout) {
            if !timeout.is_zero() {
                // Podman's warning, word for word.
                tracing::warn!(
                    "StopSignal {} failed to stop container {} in {} seconds, resorting to SIGKILL",
                    crate::signals::signal_name(signal),
                    c.name,
                    timeout.as_secs()
                );
            }
            let _ = self.kill(&c, libc::SIGKILL);
            if !self.wait_dead(&c, Duration::from_secs(10)) {
                return Err(RunError::FailedPrecondition(format!(
                    "container {} did not exit after SIGKILL",
                    c.name
                )));
            }
        }
        // The monitor records the exit (and removes a `--rm` container); if it is gone,
        // record the exit here. `c` names the monitor: an exit record clears it.
        let monitor_alive = || alive(c.monitor_pid, c.monitor_start);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let now = match self.records.get(&c.id) {
                Ok(now) => now,
                Err(RunError::NoSuchContainer(_)) if c.auto_remove => return Ok(None),
                Err(e) => return Err(e),
            };
            let removal_due = c.auto_remove && monitor_alive();
            if now.state != State::Running && !removal_due {
                return Ok(Some(now));
            }
            if !monitor_alive() || Instant::now() > deadline {
                if now.state == State::Running {
                    self.release(&now);
                    self.records.set_exited(&now.id, None, None)?;
                }
                return self.records.get(&c.id).map(Some);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn wait_dead(&self, c: &Container, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if !alive(c.pid, c.pid_start) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Remove a container: its runtime state, mount, snapshot, bundle and record. A running
    /// container is refused unless `force` (which kills it).
    pub fn remove(&self, c: &Container, force: bool) -> Result<()> {
        self.remove_with(c, force, false)
    }

    /// [`Engine::remove`], also removing the container's anonymous volumes when `volumes`
    /// (`rm -v`, `--rm`).
    pub fn remove_with(&self, c: &Container, force: bool, volumes: bool) -> Result<()> {
        let c = self.refresh(c.clone())?;
        if c.state == State::Running {
            if !force {
                return Err(RunError::FailedPrecondition(format!(
                    "container {} is running: stop it first, or use rm -f",
                    c.name
                )));
            }
            if self.stop(&c, Duration::ZERO)?.is_none() {
                // A `--rm` container: its monitor removed it.
                return Ok(());
            }
        }
        self.release(&c);
        match self.store.remove_snapshot(&c.snapshot) {
            Ok(()) | Err(StoreError::NotFound(_)) => {}
            Err(e) => return Err(e.into()),
        }
        let dir = self.bundle_dir(&c.id);
        match fs::remove_dir_all(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(RunError::io(&dir, e)),
        }
        self.records.delete(&c.id)?;
        if volumes {
            self.remove_anonymous_volumes(&c.options);
        }
        Ok(())
    }

    /// Wait until the container is not running; returns its exit code (`None`: unknown).
    pub fn wait(&self, c: &Container) -> Result<Option<i32>> {
        loop {
            let now = self.refresh(self.records.get(&c.id)?)?;
            match now.state {
                State::Running => std::thread::sleep(Duration::from_millis(50)),
                State::Exited => return Ok(now.exit_code),
                State::Created => return Ok(now.exit_code),
            }
        }
    }
}
