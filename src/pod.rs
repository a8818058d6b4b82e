//! `pod create|ps|inspect|exists|rm|prune` (the lifecycle verbs, `top`, `stats` and `logs` in
//! `pod_ops.rs`), in Podman 4.3's flags, columns and exit codes. Pods are berth-run's
//! ([`berth_run::pod`], `Engine::create_pod`, …); this file parses and prints.

use std::process::ExitCode;

use anyhow::Result;
use berth_run::options::{parse_key_value, NetworkFlags};
use berth_run::pod::{Pod, PodOptions, SharedNamespace};
use berth_run::pod_filter::PodFilters;
use berth_run::pod_summary::{PodInspect, PodSummary};
use berth_run::{Engine, RunError};
use clap::{Args, Subcommand};
use serde_json::{json, Value};

use crate::containers::{enter, runroot};
use crate::pod_ops::{KillArgs, LogsArgs, PodsArgs, StatsArgs, StopArgs, TopArgs, Verb};
use crate::stdio::OnClosed;
use crate::template::{is_json, ListFormat, Template};
use crate::Context;

#[derive(Subcommand)]
pub enum PodCommand {
    /// Create a pod: an infra container holding the shared namespaces and published ports.
    Create(Box<CreateArgs>),
    /// List pods.
    #[command(alias = "ls", alias = "list")]
    Ps(PsArgs),
    /// Display a pod's configuration (JSON or --format).
    Inspect(InspectArgs),
    /// Exit 0 if the pod exists, 1 if not.
    Exists(ExistsArgs),
    /// Start pods (the infra container first).
    Start(PodsArgs),
    /// Stop pods (members first, then the infra container).
    Stop(StopArgs),
    /// Restart pods.
    Restart(StopArgs),
    /// Send a signal to every running container of pods (default KILL).
    Kill(KillArgs),
    /// Pause every container of pods.
    Pause(PodsArgs),
    /// Unpause every container of pods.
    Unpause(PodsArgs),
    /// Remove pods and their containers.
    #[command(alias = "remove")]
    Rm(RmArgs),
    /// Remove every pod none of whose containers runs.
    Prune(PruneArgs),
    /// Display the processes of a pod's containers.
    Top(TopArgs),
    /// Display the resource use of pods' containers.
    Stats(StatsArgs),
    /// Fetch the logs of a pod's containers.
    Logs(LogsArgs),
}

impl PodCommand {
    /// What the command does when its output's reader has gone (see [`crate::stdio`]).
    pub fn on_closed(&self) -> OnClosed {
        match self {
            PodCommand::Ps(_)
            | PodCommand::Inspect(_)
            | PodCommand::Exists(_)
            | PodCommand::Top(_)
            | PodCommand::Stats(_)
            | PodCommand::Logs(_) => OnClosed::Quit,
            _ => OnClosed::Finish,
        }
    }
}

#[derive(Args)]
pub struct CreateArgs {
    /// The pod's name (default: a random adjective_noun).
    #[arg(short, long)]
    name: Option<String>,
    /// The pod's host name (default: its name).
    #[arg(long)]
    hostname: Option<String>,
    /// Publish ports of the pod on the host: `[[IP:][HOSTPORT]:]CTRPORT[/PROTO]`.
    #[arg(short, long, value_delimiter = ',', value_name = "PORTS")]
    publish: Vec<String>,
    /// The pod's network (as `run --network`).
    #[arg(long, alias = "net", value_name = "MODE")]
    network: Vec<String>,
    /// Make an infra container (default true).
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_value = "true", default_missing_value = "true")]
    infra: bool,
    /// Make no infra container (nothing shared).
    #[arg(long)]
    no_infra: bool,
    /// The infra container's image (default: berth's pause image, made from catatonit).
    #[arg(long, value_name = "IMAGE")]
    infra_image: Option<String>,
    /// The infra container's name (default: the pod id's first 12 characters, `-infra`).
    #[arg(long, value_name = "NAME")]
    infra_name: Option<String>,
    /// Namespaces the members share: cgroup, ipc, net, pid, uts, or none.
    #[arg(long, default_value = "ipc,net,uts")]
    share: String,
    /// Add a label (KEY=VALUE).
    #[arg(short, long, value_name = "KEY=VALUE")]
    label: Vec<String>,
    /// Add a line to the pod's /etc/hosts: HOST:IP.
    #[arg(long, value_delimiter = ',', value_name = "HOST:IP")]
    add_host: Vec<String>,
    /// DNS server for the pod.
    #[arg(long, value_delimiter = ',', value_name = "IP")]
    dns: Vec<String>,
    /// DNS search domain.
    #[arg(long, value_delimiter = ',', value_name = "DOMAIN")]
    dns_search: Vec<String>,
    /// DNS resolver option.
    #[arg(long, value_delimiter = ',', value_name = "OPTION")]
    dns_option: Vec<String>,
    /// Keep the image's /etc/hosts.
    #[arg(long)]
    no_hosts: bool,
    /// The infra container's command (a word or a JSON array) instead of its image's
    /// entrypoint.
    #[arg(long, value_name = "COMMAND")]
    infra_command: Option<String>,
    /// What the pod does when its last container exits: continue, or stop (its infra
    /// container too).
    #[arg(long, value_name = "POLICY", default_value = "continue")]
    exit_policy: String,
    /// Write the pod's id to this file (which must not exist).
    #[arg(long, value_name = "FILE")]
    pod_id_file: Option<std::path::PathBuf>,
}

#[derive(Args)]
pub struct PsArgs {
    /// `json`, or a Go template (`{{.Name}} {{.Status}}`; `table …` adds headers).
    #[arg(long)]
    format: Option<String>,
    /// Print only the pod ids.
    #[arg(short, long)]
    quiet: bool,
    /// Do not truncate ids.
    #[arg(long)]
    no_trunc: bool,
    /// Do not print headers.
    #[arg(long)]
    noheading: bool,
    /// Only pods matching: id=, name=, label=KEY[=VALUE], status=, network=, until=,
    /// ctr-names=, ctr-ids=, ctr-status=, ctr-number= (repeatable).
    #[arg(short, long)]
    filter: Vec<String>,
    /// Print the containers of each pod (names).
    #[arg(long)]
    ctr_names: bool,
}

#[derive(Args)]
pub struct InspectArgs {
    /// A Go template over the inspect record.
    #[arg(short, long)]
    format: Option<String>,
    /// Pods (name or id).
    #[arg(required = true)]
    pods: Vec<String>,
}

#[derive(Args)]
pub struct ExistsArgs {
    pod: String,
}

#[derive(Args)]
pub struct RmArgs {
    /// Stop running containers first.
    #[arg(short, long)]
    force: bool,
    /// Remove every pod.
    #[arg(short, long)]
    all: bool,
    /// Pods (name or id).
    #[arg(required_unless_present = "all")]
    pods: Vec<String>,
}

#[derive(Args)]
pub struct PruneArgs {
    /// Do not ask for confirmation.
    #[arg(short, long)]
    force: bool,
}

pub fn dispatch(ctx: &Context, command: PodCommand) -> Result<ExitCode> {
    enter(ctx)?;
    let store = ctx.store()?;
    let engine = Engine::new(&store, &runroot(ctx))?;
    match command {
        PodCommand::Create(a) => {
            // Podman opens the file before it makes the pod: a file there already is refused
            // before anything is made.
            let id_path = a.pod_id_file.clone();
            let options = create_options(*a)?;
            let id_file = id_path.map(open_pod_id_file).transpose()?;
            let pod = match engine.create_pod(&options) {
                Ok(pod) => pod,
                Err(e) => {
                    if let Some((path, _)) = &id_file {
                        let _ = std::fs::remove_file(path);
                    }
                    return Err(e.into());
                }
            };
            if let Some((path, mut file)) = id_file {
                use std::io::Write as _;
                file.write_all(pod.id.as_bytes())
                    .and_then(|()| file.sync_all())
                    .map_err(|e| anyhow::anyhow!("writing pod-id-file {}: {e}", path.display()))?;
            }
            outln!("{}", pod.id);
        }
        PodCommand::Ps(a) => list(&engine, &a)?,
        PodCommand::Inspect(a) => {
            let mut out = Vec::new();
            for p in &a.pods {
                out.push(PodInspect::of(&engine, &engine.pod(p)?)?);
            }
            match a.format.as_deref() {
                Some(f) if !is_json(f) => {
                    let t = Template::parse(f, "inspect")?;
                    for r in &out {
                        out!("{}", t.render_value(&serde_json::to_value(r)?, "inspect")?);
                    }
                }
                // Podman 4.3 prints one pod as an object, several as an array.
                _ if out.len() == 1 => {
                    outln!("{}", crate::output::go_json(&out[0], "     ")?)
                }
                _ => outln!("{}", crate::output::go_json(&out, "     ")?),
            }
        }
        PodCommand::Exists(a) => {
            return match engine.pod(&a.pod) {
                Ok(_) => Ok(ExitCode::SUCCESS),
                Err(RunError::NoSuchPod(_)) => Ok(ExitCode::from(1)),
                Err(e) => Err(e.into()),
            };
        }
        PodCommand::Rm(a) => return remove(&engine, &a),
        PodCommand::Prune(a) => {
            let warning = "This will remove all stopped/exited pods..";
            if !a.force && !crate::prompt::confirm(warning)? {
                return Ok(ExitCode::SUCCESS);
            }
            for id in engine.prune_pods()? {
                outln!("{id}");
            }
        }
        PodCommand::Start(a) => return crate::pod_ops::lifecycle(ctx, &engine, Verb::Start(a)),
        PodCommand::Stop(a) => return crate::pod_ops::lifecycle(ctx, &engine, Verb::Stop(a)),
        PodCommand::Restart(a) => return crate::pod_ops::lifecycle(ctx, &engine, Verb::Restart(a)),
        PodCommand::Kill(a) => return crate::pod_ops::lifecycle(ctx, &engine, Verb::Kill(a)),
        PodCommand::Pause(a) => return crate::pod_ops::lifecycle(ctx, &engine, Verb::Pause(a)),
        PodCommand::Unpause(a) => return crate::pod_ops::lifecycle(ctx, &engine, Verb::Unpause(a)),
        PodCommand::Top(a) => return crate::pod_ops::top(&engine, a),
        PodCommand::Stats(a) => return crate::pod_ops::stats(ctx, &engine, a),
        PodCommand::Logs(a) => return crate::pod_ops::logs(&engine, a),
    }
    Ok(ExitCode::SUCCESS)
}

/// `pod rm`: each pod on its own, as Podman: a missing pod is exit 1 (nothing with `-f`),
/// another failure 125; the others are still removed.
fn remove(engine: &Engine<'_>, a: &RmArgs) -> Result<ExitCode> {
    let names: Vec<String> = match a.all {
        true => engine.pods()?.into_iter().map(|p| p.id).collect(),
        false => a.pods.clone(),
    };
    let mut code = 0u8;
    for name in &names {
        let done = engine
            .pod(name)
            .and_then(|pod| engine.remove_pod(&pod, a.force).map(|()| pod));
        match done {
            Ok(pod) => outln!("{}", pod.id),
            Err(RunError::NoSuchPod(_)) if a.force => {}
            Err(e) => {
                errln!("Error: {e}");
                code = code.max(match e {
                    RunError::NoSuchPod(_) => 1,
                    _ => 125,
                });
            }
        }
    }
    Ok(ExitCode::from(code))
}

/// `--pod-id-file`: created here, never replaced (Podman's words when it exists).
fn open_pod_id_file(path: std::path::PathBuf) -> Result<(std::path::PathBuf, std::fs::File)> {
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
    {
        Ok(f) => Ok((path, f)),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => anyhow::bail!(
            "pod id file exists. Ensure another pod is not using it or delete {}",
            path.display()
        ),
        Err(e) => anyhow::bail!("opening pod-id-file {}: {e}", path.display()),
    }
}

fn create_options(a: CreateArgs) -> Result<PodOptions> {
    Ok(PodOptions {
        name: a.name,
        hostname: a.hostname,
        labels: a
            .label
            .iter()
            .map(|l| parse_key_value("label", l))
            .collect::<Result<_, _>>()?,
        infra: a.infra && !a.no_infra,
        infra_image: a.infra_image,
        infra_name: a.infra_name,
        share: SharedNamespace::parse_list(&a.share)?,
        network: NetworkFlags {
            network: a.network,
            publish: a.publish,
            dns: a.dns,
            dns_search: a.dns_search,
            dns_option: a.dns_option,
            add_host: a.add_host,
            no_hosts: a.no_hosts,
            ..NetworkFlags::default()
        },
        create_command: std::env::args().collect(),
        infra_command: a
            .infra_command
            .as_deref()
            .map(berth_run::options::parse_entrypoint)
            .transpose()?,
        exit_policy: a.exit_policy.parse()?,
    })
}

/// `pod ps`: Podman's table (`POD ID  NAME  STATUS  CREATED  INFRA ID  # OF CONTAINERS`),
/// `-q`, `--format`, `--filter`.
fn list(engine: &Engine<'_>, a: &PsArgs) -> Result<()> {
    let filters = PodFilters::parse_texts(&a.filter)?;
    let mut pods = Vec::new();
    for pod in engine.pods()? {
        let containers = engine.pod_containers(&pod)?;
        let summary = PodSummary::of(engine, &pod, &containers);
        if filters.matches(&summary) {
            pods.push((pod, summary));
        }
    }
    if a.quiet {
        for (pod, _) in &pods {
            outln!("{}", if a.no_trunc { &pod.id } else { pod.short_id() });
        }
        return Ok(());
    }
    if a.format.as_deref().is_some_and(is_json) {
        let out: Vec<&PodSummary> = pods.iter().map(|(_, s)| s).collect();
        outln!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    let default = if a.ctr_names {
        "table {{.ID}}\t{{.Name}}\t{{.Status}}\t{{.Created}}\t{{.InfraID}}\t{{.ContainerNames}}"
    } else {
        "table {{.ID}}\t{{.Name}}\t{{.Status}}\t{{.Created}}\t{{.InfraID}}\t{{.NumberOfContainers}}"
    };
    let format = ListFormat::new(a.format.as_deref(), default, a.noheading, "pod ps")?;
    let rows: Vec<Value> = pods
        .iter()
        .map(|(p, s)| go_record(p, s, a.no_trunc))
        .collect();
    let headers = json!({
        "ID": "POD ID", "Name": "NAME", "Status": "STATUS", "Created": "CREATED",
        "InfraID": "INFRA ID", "NumberOfContainers": "# OF CONTAINERS",
        "ContainerNames": "NAMES", "ContainerIds": "IDS", "ContainerStatuses": "STATUS",
        "Labels": "LABELS", "Networks": "NETWORKS", "Cgroup": "CGROUP",
    });
    format.print(&headers, &rows, "pod ps")
}

/// A pod under the Go field names Podman's `pod ps` templates use.
fn go_record(pod: &Pod, s: &PodSummary, no_trunc: bool) -> Value {
    let short = |id: &str| -> String {
        if no_trunc {
            id.to_string()
        } else {
            id.chars().take(12).collect()
        }
    };
    let joined = |f: &dyn Fn(&berth_run::pod_summary::PodMember) -> String| {
        s.containers.iter().map(f).collect::<Vec<_>>().join(",")
    };
    json!({
        "ID": short(&pod.id),
        "Name": pod.name,
        "Status": s.status,
        "Created": berth_run::stats::human_age(Some(pod.created)),
        "InfraID": short(&s.infra_id),
        "NumberOfContainers": s.containers.len(),
        "ContainerNames": joined(&|c| c.names.clone()),
        "ContainerIds": joined(&|c| short(&c.id)),
        "ContainerStatuses": joined(&|c| c.status.clone()),
        "Labels": s.labels.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(","),
        "Networks": s.networks.join(","),
        "Cgroup": s.cgroup,
    })
}
