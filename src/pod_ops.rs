//! `pod start|stop|restart|kill|pause|unpause|top|stats|logs`: one library call per pod
//! (`Engine::start_pod`, …), or the container commands' own over the pod's containers.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use berth_run::pod::Pod;
use berth_run::{Engine, State};
use clap::Args;

use crate::containers::global_args;
use crate::Context;

#[derive(Args)]
pub struct PodsArgs {
    /// Pods (name or id).
    #[arg(required = true)]
    pods: Vec<String>,
}

#[derive(Args)]
pub struct StopArgs {
    /// Seconds to wait after the stop signal before SIGKILL.
    #[arg(short = 't', long = "time", default_value_t = 10)]
    time: u64,
    /// Pods (name or id).
    #[arg(required = true)]
    pods: Vec<String>,
}

#[derive(Args)]
pub struct KillArgs {
    /// The signal (name or number).
    #[arg(short, long, default_value = "KILL")]
    signal: String,
    /// Pods (name or id).
    #[arg(required = true)]
    pods: Vec<String>,
}

#[derive(Args)]
pub struct TopArgs {
    /// Pod (name or id).
    pod: String,
    /// Descriptors, as `top`'s.
    descriptors: Vec<String>,
}

#[derive(Args)]
pub struct StatsArgs {
    /// Print one report and exit.
    #[arg(long)]
    no_stream: bool,
    /// `json`, or a Go template of `stats`' fields.
    #[arg(long)]
    format: Option<String>,
    /// Pods (name or id); default: every pod.
    pods: Vec<String>,
}

#[derive(Args)]
pub struct LogsArgs {
    /// Show only the last N lines of each container.
    #[arg(long, value_name = "N")]
    tail: Option<usize>,
    /// Prefix each line with its time (RFC 3339).
    #[arg(short, long)]
    timestamps: bool,
    /// Prefix each line with its container's name.
    #[arg(long)]
    names: bool,
    /// Pod (name or id).
    pod: String,
}

/// Podman's `pod stats` table without its POD column (berth's `stats` fields).
const STATS_FORMAT: &str = "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t\
    {{.NetIO}}\t{{.BlockIO}}\t{{.PIDS}}";

/// A lifecycle verb of `pod`, over each pod named.
pub enum Verb {
    Start(PodsArgs),
    Stop(StopArgs),
    Restart(StopArgs),
    Kill(KillArgs),
    Pause(PodsArgs),
    Unpause(PodsArgs),
}

/// `pod start|stop|restart|kill|pause|unpause`: the pod's id for each pod done.
pub fn lifecycle(ctx: &Context, engine: &Engine<'_>, verb: Verb) -> Result<ExitCode> {
    let exe = std::env::current_exe()?;
    let args = global_args(ctx);
    let each = |pods: &[String], f: &dyn Fn(&Pod) -> berth_run::Result<()>| {
        for name in pods {
            let pod = engine.pod(name)?;
            f(&pod)?;
            outln!("{}", pod.id);
        }
        anyhow::Ok(())
    };
    match verb {
        Verb::Start(a) => each(&a.pods, &|p| engine.start_pod(p, &exe, &args))?,
        Verb::Stop(a) => each(&a.pods, &|p| {
            engine.stop_pod(p, Duration::from_secs(a.time))
        })?,
        Verb::Restart(a) => each(&a.pods, &|p| {
            engine.restart_pod(p, Duration::from_secs(a.time), &exe, &args)
        })?,
        Verb::Kill(a) => {
            let signal = berth_run::signals::parse_signal(&a.signal)?;
            each(&a.pods, &|p| engine.kill_pod(p, signal))?
        }
        Verb::Pause(a) => each(&a.pods, &|p| engine.pause_pod(p))?,
        Verb::Unpause(a) => each(&a.pods, &|p| engine.unpause_pod(p))?,
    }
    Ok(ExitCode::SUCCESS)
}

/// `pod top POD [DESCRIPTORS…]`: the processes of its running containers, one table.
pub fn top(engine: &Engine<'_>, a: TopArgs) -> Result<ExitCode> {
    let descriptors = berth_run::top::parse_descriptors(&a.descriptors)?;
    let pod = engine.pod(&a.pod)?;
    let mut headers = Vec::new();
    let mut rows = Vec::new();
    for c in engine.pod_containers(&pod)? {
        if c.state == State::Running {
            let top = engine.top(&c, &descriptors)?;
            headers = top.headers;
            rows.extend(top.rows);
        }
    }
    if headers.is_empty() {
        anyhow::bail!("pod {} has no running containers", pod.name);
    }
    let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
    crate::output::print_table(&headers, &rows);
    Ok(ExitCode::SUCCESS)
}

/// `pod stats [POD…]`: `stats` over the pods' running containers.
pub fn stats(ctx: &Context, engine: &Engine<'_>, a: StatsArgs) -> Result<ExitCode> {
    let pods = if a.pods.is_empty() {
        engine.pods()?
    } else {
        a.pods
            .iter()
            .map(|p| engine.pod(p))
            .collect::<berth_run::Result<_>>()?
    };
    let mut containers = Vec::new();
    for pod in &pods {
        for c in engine.pod_containers(pod)? {
            if c.state == State::Running {
                containers.push(c.id);
            }
        }
    }
    let format = a.format.unwrap_or_else(|| STATS_FORMAT.to_string());
    crate::containers::stats::stats(
        ctx,
        crate::containers::stats::StatsArgs::for_containers(containers, a.no_stream, format),
    )
}

/// `pod logs POD`: each member's log in turn (not the infra container's).
pub fn logs(engine: &Engine<'_>, a: LogsArgs) -> Result<ExitCode> {
    let pod = engine.pod(&a.pod)?;
    let opts = berth_run::logs::LogOptions {
        tail: a.tail,
        timestamps: a.timestamps,
        ..Default::default()
    };
    let (mut out, mut err) = (crate::stdio::stdout(), crate::stdio::stderr());
    for c in engine.pod_containers(&pod)? {
        if Some(&c.id) == pod.config.infra_id.as_ref() {
            continue;
        }
        if a.names {
            outln!("==> {} <==", c.name);
        }
        engine.logs(
            &c,
            &opts,
            &mut berth_run::logs::LogOutput {
                stdout: &mut out,
                stderr: &mut err,
            },
        )?;
    }
    std::io::Write::flush(&mut out)?;
    Ok(ExitCode::SUCCESS)
}
