//! Pods over the engine (`crate::pod` holds the record and the state rule):
//!
//! - [`Engine::create_pod`]: the row, then the infra container (the pause image made locally,
//!   [`crate::pod_image`]; the pod's network, ports, hostname, DNS and hosts entries are its
//!   options), as Podman 4.3 makes them.
//! - members ([`Engine::join_pod`], from [`Engine::create`] for `--pod NAME|ID|new:NAME`):
//!   the network, IPC, UTS (and with `--share` pid, cgroup) namespaces become
//!   `container:<infra id>` (joined at start through `/proc/PID/ns`, `engine/namespaces.rs`);
//!   `-p` and `--hostname` on a member are refused with Podman's words (a namespace or a
//!   network the member names itself is its own, as Podman 4.3 takes them); `new:NAME` makes the
//!   pod first, the member's network flags becoming the infra container's.
//! - [`Engine::start_pod`] (infra first), [`Engine::stop_pod`] (members first, then infra),
//!   [`Engine::kill_pod`], [`Engine::pause_pod`], [`Engine::unpause_pod`],
//!   [`Engine::restart_pod`], [`Engine::remove_pod`] (members, then infra, then the row),
//!   [`Engine::prune_pods`]; [`Engine::pod_state`] from the members' states.

use std::ffi::OsString;
use std::path::Path;
use std::time::Duration;

use chrono::Utc;

use crate::container::{Container, State};
use crate::error::{Result, RunError};
use crate::names::{check_name, new_id, random_name};
use crate::options::{NamespaceKind, NamespaceMode, Network, RunOptions};
use crate::pod::{
    ExitPolicy, MemberState, Pod, PodConfig, PodOptions, PodRecords, PodState, SharedNamespace,
};

use super::{CreateRequest, Engine};

/// Podman's words for `-p` on a member of a pod that shares its network.
pub const MEMBER_PORTS: &str = "invalid config provided: published or exposed ports must be \
     defined when the pod is created: network cannot be configured when it is shared with a pod";
/// Podman's words for `--hostname` on a member of a pod that shares its UTS namespace.
pub const MEMBER_HOSTNAME: &str = "invalid config provided: cannot set hostname when joining \
     the pod UTS namespace: invalid configuration";

impl Engine<'_> {
    /// The pod table.
    pub fn pod_records(&self) -> Result<PodRecords> {
        PodRecords::open(self.store.root())
    }

    /// A pod by name, id or unique id prefix.
    pub fn pod(&self, name_or_id: &str) -> Result<Pod> {
        self.pod_records()?.get(name_or_id)
    }

    /// Every pod, newest first.
    pub fn pods(&self) -> Result<Vec<Pod>> {
        self.pod_records()?.list()
    }

    /// `pod create`: see the module's doc.
    pub fn create_pod(&self, opts: &PodOptions) -> Result<Pod> {
        let mut infra = RunOptions {
            network: Network::default_for_user(),
            ..RunOptions::default()
        };
        infra.apply_network_flags(&opts.network)?;
        infra.network.ensure_wired()?;
        if !opts.infra && (!infra.publish.is_empty() || !opts.network.network.is_empty()) {
            return Err(RunError::Invalid(
                "cannot set --publish or --network without an infra container (--no-infra)"
                    .to_string(),
            ));
        }
        self.create_pod_with(opts, infra)
    }

    /// [`Engine::create_pod`] with the infra container's network options already parsed.
    fn create_pod_with(&self, opts: &PodOptions, mut infra: RunOptions) -> Result<Pod> {
        let records = self.pod_records()?;
        let name = match &opts.name {
            Some(n) => {
                check_name(n)?;
                n.clone()
            }
            None => random_name()?,
        };
        let id = new_id()?;
        let hostname = opts.hostname.clone().unwrap_or_else(|| name.clone());
        let mut pod = Pod {
            id: id.clone(),
            name,
            created: Utc::now(),
            config: PodConfig {
                hostname: hostname.clone(),
                labels: opts.labels.clone(),
                infra_id: None,
                share: opts.share.clone(),
                create_command: opts.create_command.clone(),
                exit_policy: opts.exit_policy,
            },
        };
        records.insert(&pod)?;
        if !opts.infra {
            pod_event(&pod, "create");
            return Ok(pod);
        }
        let made = (|| {
            let image = match &opts.infra_image {
                Some(image) => image.clone(),
                None => crate::pod_image::ensure_infra_image(self.store)?,
            };
            infra.hostname = Some(hostname);
            infra.pod = Some(id.clone());
            if let Some(command) = &opts.infra_command {
                infra.entrypoint = Some(command.clone());
            }
            let c = self.create_plain(&CreateRequest {
                image,
                name: Some(
                    opts.infra_name
                        .clone()
                        .unwrap_or_else(|| format!("{}-infra", pod.short_id())),
                ),
                options: infra,
                runtime: None,
                keep_mounted: false,
                auto_remove: false,
                labels: Vec::new(),
            })?;
            pod.config.infra_id = Some(c.id);
            records.set_config(&id, &pod.config)
        })();
        if let Err(e) = made {
            let _ = records.delete(&id);
            return Err(e);
        }
        pod_event(&pod, "create");
        Ok(pod)
    }

    /// At a member's create: see the module's doc. Returns the request to create, its pod
    /// option now the pod's id and its namespaces the infra container's.
    pub(crate) fn join_pod(&self, req: &CreateRequest, given: &str) -> Result<CreateRequest> {
        let mut req = req.clone();
        let options = &mut req.options;
        let pod = match given.strip_prefix("new:") {
            Some(name) => {
                // The member's network becomes the pod's, as Podman's `--pod new:`.
                let infra = RunOptions {
                    network: std::mem::replace(&mut options.network, Network::Host),
                    publish: std::mem::take(&mut options.publish),
                    dns_servers: options.dns_servers.clone(),
                    dns_search: options.dns_search.clone(),
                    dns_options: options.dns_options.clone(),
                    add_hosts: options.add_hosts.clone(),
                    use_image_resolv_conf: options.use_image_resolv_conf,
                    use_image_hosts: options.use_image_hosts,
                    ..RunOptions::default()
                };
                let opts = PodOptions {
                    name: Some(name.to_string()),
                    ..PodOptions::default()
                };
                self.create_pod_with(&opts, infra)?
            }
            None => self.pod(given)?,
        };
        options.pod = Some(pod.id.clone());
        let Some(infra_id) = pod.config.infra_id.clone() else {
            return Ok(req);
        };
        let infra = self.records().get(&infra_id)?;
        if pod.shares(SharedNamespace::Net) && (!options.publish.is_empty() || options.publish_all)
        {
            return Err(RunError::Invalid(MEMBER_PORTS.to_string()));
        }
        // A member given a network of its own keeps it (Podman 4.3 accepts `--network` on a
        // member); else it joins the pod's.
        let default_network = matches!(options.network, Network::Private | Network::Host)
            || options.network == Network::default_for_user();
        if pod.shares(SharedNamespace::Net) && default_network {
            options.network = Network::Container(infra_id.clone());
            if options.dns_servers.is_empty() {
                options.dns_servers = infra.options.dns_servers.clone();
                options.dns_search = infra.options.dns_search.clone();
                options.dns_options = infra.options.dns_options.clone();
            }
            if options.add_hosts.is_empty() {
                options.add_hosts = infra.options.add_hosts.clone();
            }
        }
        if pod.shares(SharedNamespace::Uts) && options.namespaces.uts.is_none() {
            if options.hostname.is_some() {
                return Err(RunError::Invalid(MEMBER_HOSTNAME.to_string()));
            }
            options.hostname = Some(pod.config.hostname.clone());
        }
        let kinds = [
            (SharedNamespace::Ipc, NamespaceKind::Ipc),
            (SharedNamespace::Uts, NamespaceKind::Uts),
            (SharedNamespace::Pid, NamespaceKind::Pid),
            (SharedNamespace::Cgroup, NamespaceKind::Cgroup),
        ];
        for (shared, kind) in kinds {
            let slot = options.namespaces.slot(kind);
            if pod.shares(shared) && slot.is_none() {
                *slot = Some(NamespaceMode::Container(infra_id.clone()));
            }
        }

        Ok(req)
    }

    /// The pod's containers (infra first, then the members, newest first), records made true.
    pub fn pod_containers(&self, pod: &Pod) -> Result<Vec<Container>> {
        let mut out = Vec::new();
        for c in self.records().list()? {
            if c.options.pod.as_deref() == Some(pod.id.as_str()) {
                out.push(self.refresh(c)?);
            }
        }
        out.sort_by_key(|c| Some(&c.id) != pod.config.infra_id.as_ref());
        Ok(out)
    }

    /// A container's state as its pod's state counts it.
    pub fn member_state(&self, c: &Container) -> MemberState {
        match c.state {
            State::Running if self.is_paused(c) => MemberState::Paused,
            State::Running => MemberState::Running,
            State::Exited => MemberState::Exited,
            State::Created | State::Initialized => MemberState::Created,
        }
    }

    /// The pod's state from its containers' (Podman's rule, [`PodState::of`]).
    pub fn pod_state(&self, containers: &[Container]) -> PodState {
        PodState::of(containers.iter().map(|c| self.member_state(c)))
    }

    /// Start the infra container of `c`'s pod if it is not running, as Podman starts a
    /// pod member's infra container first (a container shared with by `--network` or
    /// `--ipc container:` must be running already: that is not started).
    pub fn start_dependencies(
        &self,
        c: &Container,
        berth_exe: &Path,
        global_args: &[OsString],
    ) -> Result<()> {
        let Some(pod_id) = &c.options.pod else {
            return Ok(());
        };
        let pod = match self.pod(pod_id) {
            Ok(pod) => pod,
            Err(RunError::NoSuchPod(_)) => return Ok(()),
            Err(e) => return Err(e),
        };
        match &pod.config.infra_id {
            Some(infra) if *infra != c.id => {
                let infra = self.refresh(self.records().get(infra)?)?;
                if infra.state != State::Running {
                    self.start_detached(&infra, berth_exe, global_args)?;
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// `pod start`: the infra container, then every member that is not running.
    pub fn start_pod(&self, pod: &Pod, berth_exe: &Path, global_args: &[OsString]) -> Result<()> {
        for c in self.pod_containers(pod)? {
            if c.state != State::Running {
                self.start_detached(&c, berth_exe, global_args)?;
            }
        }
        pod_event(pod, "start");
        Ok(())
    }

    /// `pod stop`: every running member, then the infra container (its namespaces are the
    /// members'). Every member gets its stop signal at once and `timeout` runs for all of
    /// them together (Podman stops them in parallel), not one after the other.
    pub fn stop_pod(&self, pod: &Pod, timeout: Duration) -> Result<()> {
        let containers = self.pod_containers(pod)?;
        let (infra, members): (Vec<&Container>, Vec<&Container>) = containers
            .iter()
            .filter(|c| c.state == State::Running)
            .partition(|c| Some(&c.id) == pod.config.infra_id.as_ref());
        let started = std::time::Instant::now();
        for c in &members {
            // Best effort: `stop` below sends it again and reports what fails.
            let _ = self.kill(c, c.options.stop_signal.unwrap_or(libc::SIGTERM));
        }
        for c in members {
            self.stop(c, timeout.saturating_sub(started.elapsed()))?;
        }
        for c in infra {
            self.stop(c, timeout)?;
        }
        pod_event(pod, "stop");
        Ok(())
    }

    /// `pod restart`: stop, then start.
    pub fn restart_pod(
        &self,
        pod: &Pod,
        timeout: Duration,
        berth_exe: &Path,
        global_args: &[OsString],
    ) -> Result<()> {
        self.stop_pod(pod, timeout)?;
        self.start_pod(pod, berth_exe, global_args)
    }

    /// `pod kill`: `signal` to every running container; an error when none runs.
    pub fn kill_pod(&self, pod: &Pod, signal: i32) -> Result<()> {
        let running: Vec<Container> = self
            .pod_containers(pod)?
            .into_iter()
            .filter(|c| c.state == State::Running)
            .collect();
        if running.is_empty() {
            return Err(RunError::FailedPrecondition(format!(
                "no containers in pod {} are running: container state improper",
                pod.id
            )));
        }
        for c in running.iter().rev() {
            self.kill(c, signal)?;
        }
        pod_event(pod, "kill");
        Ok(())
    }

    /// `pod pause`: every running container.
    pub fn pause_pod(&self, pod: &Pod) -> Result<()> {
        for c in self.pod_containers(pod)? {
            if c.state == State::Running && !self.is_paused(&c) {
                self.pause(&c)?;
            }
        }
        pod_event(pod, "pause");
        Ok(())
    }

    /// `pod unpause`: every paused container.
    pub fn unpause_pod(&self, pod: &Pod) -> Result<()> {
        for c in self.pod_containers(pod)? {
            if self.is_paused(&c) {
                self.unpause(&c)?;
            }
        }
        pod_event(pod, "unpause");
        Ok(())
    }

    /// `pod rm`: the members, then the infra container, then the row. A running container
    /// is refused (Podman's words) unless `force`, which stops them first.
    pub fn remove_pod(&self, pod: &Pod, force: bool) -> Result<()> {
        let containers = self.pod_containers(pod)?;
        if !force {
            if let Some(c) = containers.iter().find(|c| c.state == State::Running) {
                return Err(RunError::FailedPrecondition(format!(
                    "removing container {id} from pod {pod}: cannot remove container {id} as it \
                     is running - running or paused containers cannot be removed without \
                     force: container state improper",
                    id = c.id,
                    pod = pod.id
                )));
            }
        }
        for c in containers.iter().rev() {
            self.remove_member(c, force, false)?;
        }
        self.pod_records()?.delete(&pod.id)?;
        pod_event(pod, "remove");
        Ok(())
    }

    /// `pod prune`: remove every pod none of whose containers runs; their ids.
    pub fn prune_pods(&self) -> Result<Vec<String>> {
        let mut removed = Vec::new();
        for pod in self.pods()? {
            let containers = self.pod_containers(&pod)?;
            if containers.iter().all(|c| c.state != State::Running) {
                self.remove_pod(&pod, false)?;
                removed.push(pod.id);
            }
        }
        Ok(removed)
    }

    /// `--exit-policy stop`: once `c`, a member that has just exited, leaves no other member
    /// running, the pod is stopped (its infra container), as Podman's
    /// `stopIfOnlyInfraRemains`. Called by the member's monitor; a failure is a warning.
    pub(crate) fn stop_pod_if_only_infra(&self, c: &Container) {
        let Some(pod_id) = &c.options.pod else {
            return;
        };
        let Ok(pod) = self.pod(pod_id) else {
            return;
        };
        let infra_id = pod.config.infra_id.as_deref();
        if pod.config.exit_policy != ExitPolicy::Stop || infra_id == Some(c.id.as_str()) {
            return;
        }
        let stopped = self.pod_containers(&pod).and_then(|all| {
            let members_running = all
                .iter()
                .any(|o| Some(o.id.as_str()) != infra_id && o.state == State::Running);
            if members_running {
                return Ok(());
            }
            self.stop_pod(&pod, Duration::from_secs(10))
        });
        if let Err(e) = stopped {
            tracing::warn!(target: "berth_run::engine", pod = %pod.id, error = %e,
                "stopping the pod after its last container exited (--exit-policy stop)");
        }
    }

    /// The pod whose infra container `c` is, if any.
    pub fn infra_of(&self, c: &Container) -> Result<Option<Pod>> {
        let Some(pod_id) = &c.options.pod else {
            return Ok(None);
        };
        match self.pod(pod_id) {
            Ok(pod) if pod.config.infra_id.as_deref() == Some(c.id.as_str()) => Ok(Some(pod)),
            Ok(_) | Err(RunError::NoSuchPod(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// Emit `status` for `pod` in the event log (Podman's pod events: its id and name).
fn pod_event(pod: &Pod, status: &str) {
    berth_image_store::events::emit(berth_image_store::events::Event::pod(
        status, &pod.id, &pod.name,
    ));
}
