//! One-off containers over a snapshot the caller prepared and owns (a build's `RUN` step):
//! no record, no monitor; the rootfs is mounted for the run and the bundle removed after it.
//! Its network is a container's (`host`, `none`, `ns:PATH`, bridge mode: attached through
//! netavark for the run, its `/etc/hosts` and `/etc/resolv.conf` made as `run` makes them,
//! detached after it). Its process dies with the berth that runs it (the embedded runtime's
//! `DIE_WITH_CALLER` annotation), since nothing else would end it after a kill.

use std::fs;
use std::path::Path;

use berth_image_store::snapshot::Snapshot;
use berth_network::{Catalog, NetworkDirs};
use oci_spec::image::ImageConfiguration;
use oci_spec::runtime::Spec;

use crate::error::{Result, RunError};
use crate::names::new_id;
use crate::options::{Network, RunOptions};
use crate::reap::{become_subreaper, wait_child};
use crate::runtime::{start_or_kill, ContainerStdio, OciRuntime};
use crate::spec::{generate, SpecInput};

/// What an ephemeral run needs besides the snapshot.
pub struct Ephemeral<'a> {
    /// The image config (env, user, working dir, entrypoint/cmd defaults).
    pub image: &'a ImageConfiguration,
    /// The step's options (command, env, user, mounts, network…); `terminal` is refused.
    pub options: &'a RunOptions,
    /// `runc`, `crun`, a path, or `None` for the default.
    pub runtime: Option<&'a str>,
    /// The run root (bundles go to `<runroot>/containers/<id>/`).
    pub runroot: &'a Path,
    /// The root of the store the snapshot is in: a killed step's leftovers are that
    /// store's `system check`'s to report ([`crate::leftovers`]).
    pub store_root: &'a Path,
}

/// Run a command in a container over `snapshot` and wait for it; returns its exit code
/// (`None` when it could not be observed). The snapshot stays; its mount is released.
pub fn run_ephemeral(
    snapshot: &Snapshot,
    run: &Ephemeral<'_>,
    stdio: ContainerStdio,
) -> Result<Option<i32>> {
    check(run)?;
    let rt = crate::runtime::resolve(run.runtime, run.runroot)?;
    run_on(rt.as_ref(), snapshot, run, stdio)
}

/// What no ephemeral container can be: one with a terminal, or one as a plain user outside
/// berth's user namespace.
fn check(run: &Ephemeral<'_>) -> Result<()> {
    if run.options.terminal {
        return Err(RunError::Invalid(
            "an ephemeral container has no terminal".to_string(),
        ));
    }
    run.options.network.ensure_wired()?;
    if let Network::Container(_) = run.options.network {
        return Err(RunError::Invalid(
            "a build's RUN cannot join another container's network".to_string(),
        ));
    }
    if crate::rootless::is_rootless() && !crate::rootless::in_user_namespace() {
        return Err(RunError::FailedPrecondition(
            "a container as a plain user runs in berth's user namespace: run the command \
             inside `berth unshare` (for example `berth unshare berth build …`)"
                .to_string(),
        ));
    }
    Ok(())
}

/// [`run_ephemeral`] on runtime `rt`.
fn run_on(
    rt: &dyn OciRuntime,
    snapshot: &Snapshot,
    run: &Ephemeral<'_>,
    stdio: ContainerStdio,
) -> Result<Option<i32>> {
    let id = new_id()?;
    let mut guards = Vec::new();
    for m in &snapshot.mounts {
        guards.push(m.mount(&snapshot.mountpoint)?);
    }
    let mut spec = generate(
        &SpecInput {
            id: &id,
            image: run.image,
            rootfs: &snapshot.mountpoint,
            host_hostname: false,
        },
        run.options,
    )?;
    // No monitor watches it: the step dies with this process, however it ends.
    let mut annotations = spec.annotations().clone().unwrap_or_default();
    annotations.insert(
        berth_oci_runtime::executor::DIE_WITH_CALLER.to_string(),
        "true".to_string(),
    );
    spec.set_annotations(Some(annotations));
    if run.options.network == crate::options::Network::Host {
        let mut mounts = spec.mounts().clone().unwrap_or_default();
        mounts.extend(crate::spec::etc_files::host_binds()?);
        spec.set_mounts(Some(mounts));
    }
    let bundle = run.runroot.join("containers").join(&id);
    crate::bundle::create_dir(&bundle)?;
    let result = (|| {
        // Names this berth, so `system check` knows the bundle for a killed step's.
        if let Some(owner) = crate::leftovers::StepOwner::me(run.runtime, run.store_root) {
            owner.write(&bundle)?;
        }
        // Detached when the run is over (dropped last of this closure's values).
        let _network = join_network(&id, &mut spec, &bundle, run)?;
        crate::rootfs::prepare_mounts(&snapshot.mountpoint, &mut spec)?;
        if !rt.cgroup_mount_read_only() {
            crate::spec::cgroup::bind_v1_view(&mut spec, &bundle)?;
        }
        // Held until the runtime's create has joined it.
        let netns = crate::netns::prepare(&mut spec, &bundle)?;
        crate::bundle::write_json(&bundle.join("config.json"), &spec)?;
        become_subreaper();
        let pid = rt.create(&id, &bundle, stdio, None)?;
        drop(netns);
        start_or_kill(rt, &id, pid)?;
        Ok(wait_child(pid))
    })();
    let _ = rt.delete(&id, true);
    let _ = fs::remove_dir_all(&bundle);
    drop(guards);
    result
}

/// Take off their networks the RUN containers whose berth died before it could (killed
/// mid-step): their namespace, addresses and netavark's state would stay otherwise.
fn detach_orphans(dirs: &NetworkDirs) {
    let Ok(owned) = berth_network::owned(dirs) else {
        return;
    };
    for (id, owner) in owned {
        if !crate::process::alive(Some(owner.pid), Some(owner.start)) {
            // Its berth is dead: the step is gone for good, and a teardown that fails (its
            // interface already gone) must not keep the record to fail again at every step.
            if let Err(e) = berth_network::attach::detach_stale(dirs, &id) {
                tracing::warn!(container = %id, error = %e, "network teardown of a dead build's step failed");
            }
        }
    }
}

/// A RUN container on networks (bridge mode), taken off them when dropped.
struct Attached {
    id: String,
}

impl Drop for Attached {
    fn drop(&mut self) {
        if let Err(e) = berth_network::detach(&NetworkDirs::for_current_user(), &self.id) {
            tracing::warn!(container = %self.id, error = %e, "network teardown failed");
        }
    }
}

/// Bridge mode: attach container `id` through netavark, point `spec` at its namespace and
/// write its `/etc/hosts` and `/etc/resolv.conf` into `bundle` (as `run` does). Other modes:
/// nothing.
fn join_network(
    id: &str,
    spec: &mut Spec,
    bundle: &Path,
    run: &Ephemeral<'_>,
) -> Result<Option<Attached>> {
    let options = run.options;
    let Some(requests) = options.network.requests() else {
        return Ok(None);
    };
    let dirs = NetworkDirs::for_current_user();
    detach_orphans(&dirs);
    let catalog = Catalog::open(dirs.clone())?;
    // The name aardvark-dns knows the step by, as Buildah's working container's.
    let name = format!("berth-build-{}", &id[..12]);
    // No monitor watches a RUN container: if this process dies before `attached` drops,
    // the next RUN step of any build detaches it (`detach_orphans`), or `system check
    // --repair` over its store.
    let keeper = berth_network::Keeper {
        owner: crate::process::proc_start_time(std::process::id()).map(|start| {
            berth_network::Owner {
                pid: std::process::id(),
                start,
            }
        }),
        store: Some(run.store_root.to_path_buf()),
    };
    let a = berth_network::attach_owned(&catalog, id, &name, &requests, &[], &keeper)?;
    let attached = Attached { id: id.to_string() };
    crate::engine::network::set_netns_path(spec, a.netns_path.clone());
    let etc = crate::engine::network::network_etc(&a);
    crate::spec::etc_files::write_and_mount(bundle, spec, options, &name, Some(&etc))?;
    Ok(Some(attached))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::fake::{quiet, Behaviour, Call, FakeRuntime};

    #[test]
    fn runs_once_and_cleans_up() {
        let d = tempfile::tempdir().unwrap();
        let rootfs = d.path().join("rootfs");
        fs::create_dir(&rootfs).unwrap();
        let runroot = d.path().join("run");
        let snapshot = Snapshot {
            key: "step".to_string(),
            upper: rootfs.clone(),
            mountpoint: rootfs,
            mounts: Vec::new(),
        };
        let image = ImageConfiguration::default();
        let options = RunOptions {
            command: vec!["true".to_string()],
            ..RunOptions::default()
        };
        let run = Ephemeral {
            image: &image,
            options: &options,
            runtime: None,
            runroot: &runroot,
            store_root: d.path(),
        };
        let fake = FakeRuntime::new(Behaviour {
            process: "exit 5".to_string(),
            ..Behaviour::default()
        });
        assert_eq!(run_on(&fake, &snapshot, &run, quiet()).unwrap(), Some(5));
        let calls = fake.calls();
        let Some(Call::Create { id, console: false }) = calls.first() else {
            panic!("{calls:?}");
        };
        assert_eq!(
            calls[1..],
            [
                Call::Start(id.clone()),
                Call::Delete {
                    id: id.clone(),
                    force: true
                }
            ]
        );
        // The bundle is gone.
        assert!(!runroot.join("containers").join(id).exists());
        // A terminal is refused before anything runs.
        let tty = RunOptions {
            terminal: true,
            ..options.clone()
        };
        assert!(check(&Ephemeral {
            options: &tty,
            ..run
        })
        .is_err());
    }
}
