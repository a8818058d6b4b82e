//! `berth generate systemd [--new] [--name] [--restart-policy] [--time] [--files] C`: a
//! systemd unit for a container (berth-run's `systemd_unit`), printed or written to
//! `container-NAME.service` in the current directory (`--files`, which prints the path), as
//! `podman generate systemd`. `generate kube` is `kube generate` ([`crate::kube_generate`]).

use std::process::ExitCode;

use anyhow::{Context as _, Result};
use berth_run::systemd_unit::{unit, UnitOptions};
use berth_run::Engine;
use clap::{Args, Subcommand};

use crate::containers::{enter, global_args, runroot};
use crate::Context;

#[derive(Subcommand)]
pub enum GenerateCommand {
    /// Generate a systemd unit file for a container.
    Systemd(SystemdArgs),
    /// Generate Kubernetes YAML from containers or pods (as `kube generate`).
    Kube(crate::kube_generate::KubeGenerateArgs),
}

#[derive(Args)]
pub struct SystemdArgs {
    /// Create a new container at each start and remove it at each stop (instead of starting
    /// and stopping the existing one).
    #[arg(long)]
    new: bool,
    /// Use the container's name instead of its id.
    #[arg(short, long)]
    name: bool,
    /// systemd's restart policy (`Restart=`): no, on-success, on-failure, on-abnormal,
    /// on-watchdog, on-abort, always.
    #[arg(long, value_name = "POLICY", default_value = "on-failure")]
    restart_policy: String,
    /// Stop timeout in seconds (default: 10).
    #[arg(short, long, value_name = "SECONDS")]
    time: Option<u32>,
    /// Write the unit to a file in the current directory instead of printing it.
    #[arg(short, long)]
    files: bool,
    /// The unit name's prefix.
    #[arg(long, value_name = "PREFIX", default_value = "container")]
    container_prefix: String,
    /// The separator between the prefix and the name.
    #[arg(long, value_name = "SEP", default_value = "-")]
    separator: String,
    /// Container (name or id).
    container: String,
}

pub fn dispatch(ctx: &Context, command: GenerateCommand) -> Result<ExitCode> {
    match command {
        GenerateCommand::Systemd(a) => systemd(ctx, a),
        GenerateCommand::Kube(a) => crate::kube_generate::generate(ctx, a),
    }
}

fn systemd(ctx: &Context, args: SystemdArgs) -> Result<ExitCode> {
    enter(ctx)?;
    let store = ctx.store()?;
    let engine = Engine::new(&store, &runroot(ctx))?;
    let c = engine.get(&args.container)?;
    if c.options.restart != berth_run::restart_policy::RestartPolicy::No && !args.new {
        // Podman's warning.
        tracing::warn!(
            "Container {} has restart policy {:?} which can lead to issues on shutdown: consider \
             recreating the container without a restart policy and use systemd's restart \
             mechanism instead",
            c.id,
            c.options.restart.name()
        );
    }
    let options = UnitOptions {
        new: args.new,
        use_name: args.name,
        restart_policy: args.restart_policy,
        stop_timeout: args.time,
        prefix: args.container_prefix,
        separator: args.separator,
        berth: std::env::current_exe()?,
        global_args: global_args(ctx)
            .into_iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect(),
        runroot: runroot(ctx),
        pid_file: engine.monitor_pid_file(&c.id),
        generator: format!("berth {}", env!("CARGO_PKG_VERSION")),
        date: chrono::Local::now()
            .format("%a %b %e %H:%M:%S %Z %Y")
            .to_string(),
    };
    let u = unit(&c, &options)?;
    if args.files {
        let path = std::env::current_dir()?.join(&u.name);
        std::fs::write(&path, &u.text).with_context(|| format!("writing {}", path.display()))?;
        outln!("{}", path.display());
    } else {
        outln!("{}", u.text);
    }
    Ok(ExitCode::SUCCESS)
}
