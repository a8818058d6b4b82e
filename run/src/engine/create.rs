//! Creating a container: its writable snapshot over the image (or `--rootfs`), its volumes,
//! its spec and its record.

use berth_image_store::StoreError;

use crate::container::{Container, NewContainer};
use crate::error::{Result, RunError};
use crate::names::{check_name, new_id, random_name};
use crate::options::RunOptions;
use crate::signals::parse_signal;
use crate::spec::{generate, process_args, SpecInput};

use super::Engine;

/// What `create` (and `run`) need.
#[derive(Debug, Clone, Default)]
pub struct CreateRequest {
    /// Image name or id.
    pub image: String,
    /// `--name` (default: a random `adjective_noun`).
    pub name: Option<String>,
    pub options: RunOptions,
    /// `--runtime` (default: see [`crate::runtime::resolve`]).
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

impl Engine<'_> {
    /// Create a container: its snapshot over the image, its spec, its record. A container
    /// of a pod (`options.pod`: a pod's name or id, or `new:NAME`) joins it first
    /// ([`Engine::join_pod`]).
    pub fn create(&self, req: &CreateRequest) -> Result<Container> {
        match req.options.pod.as_deref() {
            Some(pod) => self.create_plain(&self.join_pod(req, pod)?),
            None => self.create_plain(req),
        }
    }

    /// [`Engine::create`] of a container whose pod, if any, is already resolved.
    pub(crate) fn create_plain(&self, req: &CreateRequest) -> Result<Container> {
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
                StoreError::NotFound(_) => RunError::NoSuchImage {
                    image: req.image.clone(),
                    root: self.store.root().to_path_buf(),
                },
                other => other.into(),
            })?),
        };
        let config = match &image {
            Some(image) => self.store.image_config(image)?,
            None => oci_spec::image::ImageConfiguration::default(),
        };
        // Fail early on a missing command or a bad option, before touching the store.
        process_args(&config, &req.options)?;
        crate::restart_policy::check_auto_remove(req.options.restart, req.auto_remove)?;
        let mut options = req.options.clone();
        self.resolve_secrets(&mut options)?;
        if options.healthcheck.is_none() && !options.no_healthcheck {
            if let Some(image) = &image {
                let hc = self.store.image_healthcheck(image)?;
                options.healthcheck = crate::health::HealthConfig::from_image(hc.as_ref());
            }
        }
        self.resolve_namespaces(&mut options)?;
        self.resolve_network(&mut options, &config)?;
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
        let runtime = self.runtime_named(req.runtime.as_deref())?;
        if let Some(userns) = &options.userns {
            userns.check_usable(req.runtime.as_deref().unwrap_or(runtime.name()))?;
        }
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
        self.check_dns_names(&name, &options)?;
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
        let (image_id, image_name) = match (&image, &options.rootfs) {
            (Some(image), _) => (
                Some(&image.id),
                image
                    .names
                    .first()
                    .map_or_else(|| image.short_id().to_string(), ToString::to_string),
            ),
            (None, Some(r)) => (None, r.path.display().to_string()),
            (None, None) => (None, String::new()),
        };
        // A generated name another create took in the meantime (the check above and the
        // insert are not one step): another generated name, as Podman does.
        let mut name = name;
        let mut retries = 0;
        let inserted = loop {
            let inserted = self.records.insert(&NewContainer {
                id: &id,
                name: &name,
                image_id,
                image_name: &image_name,
                command: &command,
                options: &options,
                spec: &spec,
                runtime: req.runtime.as_deref().unwrap_or(runtime.name()),
                auto_remove: req.auto_remove,
                labels: &req.labels,
            });
            match inserted {
                Err(RunError::NameInUse { .. }) if req.name.is_none() && retries < 16 => {
                    retries += 1;
                    name = self.free_name()?;
                }
                other => break other,
            }
        };
        if let Err(e) = inserted {
            let _ = self.store.remove_snapshot(&id);
            self.remove_anonymous_volumes(&options);
            return Err(e);
        }
        let c = self.records.get(&id)?;
        self.event(&c, "create");
        Ok(c)
    }

    /// `--secret`: each name resolved to its secret's id now, as Podman (a missing one is
    /// refused in its words).
    fn resolve_secrets(&self, options: &mut RunOptions) -> Result<()> {
        if options.secrets.is_empty() {
            return Ok(());
        }
        let secrets = crate::secrets::SecretStore::new(self.store.root());
        for u in &mut options.secrets {
            u.id = secrets.lookup(&u.name)?.id;
        }
        Ok(())
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
                host_hostname: true,
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
}
