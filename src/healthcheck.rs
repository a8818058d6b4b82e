//! `run`/`create`'s `--restart` and `--health-*` flags ([`RestartHealthArgs`], flattened into
//! their arguments), and `berth healthcheck run` (as `podman healthcheck run`: exit 0 and no
//! output when healthy, `unhealthy` and exit 1 when not, Podman's errors with 125). The
//! checks themselves are berth-run's (`engine/health.rs`).

use std::process::ExitCode;

use anyhow::Result;
use berth_run::health::{HealthChoice, HealthFlags};
use berth_run::{Engine, RunError, RunOptions};
use clap::{Args, Subcommand};

use crate::containers::{enter, runroot};
use crate::Context;

#[derive(Args, Debug, Default, Clone)]
pub struct RestartHealthArgs {
    /// Restart policy when the container exits: no, on-failure[:max_retries], always,
    /// unless-stopped (not after `stop` or `kill`).
    #[arg(long, value_name = "POLICY")]
    pub restart: Option<String>,
    /// The command that checks the container's health: a shell command, or a JSON array.
    #[arg(long, value_name = "COMMAND")]
    pub health_cmd: Option<String>,
    /// Time between health checks (`disable`: only `healthcheck run`).
    #[arg(long, value_name = "INTERVAL")]
    pub health_interval: Option<String>,
    /// Failed checks in a row that make the container unhealthy.
    #[arg(long, value_name = "RETRIES")]
    pub health_retries: Option<u32>,
    /// Time after the start during which failed checks do not count.
    #[arg(long, value_name = "PERIOD")]
    pub health_start_period: Option<String>,
    /// How long a check may run before it is killed and counts as failed.
    #[arg(long, value_name = "TIMEOUT")]
    pub health_timeout: Option<String>,
    /// What to do when the container turns unhealthy: none, kill, restart, stop.
    #[arg(long, value_name = "ACTION")]
    pub health_on_failure: Option<String>,
    /// Run no health check, not even the image's HEALTHCHECK.
    #[arg(long)]
    pub no_healthcheck: bool,
}

impl RestartHealthArgs {
    /// Set the restart policy and the health check of `options` (Podman's parse and words).
    pub fn apply(&self, options: &mut RunOptions) -> Result<(), RunError> {
        if let Some(r) = &self.restart {
            options.restart = r.parse()?;
        }
        let flags = HealthFlags {
            cmd: self.health_cmd.clone(),
            interval: self.health_interval.clone(),
            retries: self.health_retries,
            start_period: self.health_start_period.clone(),
            timeout: self.health_timeout.clone(),
            on_failure: self.health_on_failure.clone(),
            no_healthcheck: self.no_healthcheck,
        };
        match flags.choice()? {
            HealthChoice::FromImage => {}
            HealthChoice::Given(hc) => options.healthcheck = Some(hc),
            HealthChoice::Disabled => options.no_healthcheck = true,
        }
        options.health_on_failure = flags.on_failure()?;
        // What `generate systemd --new` runs again.
        options.create_command = std::env::args_os()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        Ok(())
    }
}

#[derive(Subcommand)]
pub enum HealthcheckCommand {
    /// Run a container's health check once.
    Run(RunArgs),
}

#[derive(Args)]
pub struct RunArgs {
    /// Container (name or id).
    container: String,
}

pub fn dispatch(ctx: &Context, command: HealthcheckCommand) -> Result<ExitCode> {
    match command {
        HealthcheckCommand::Run(a) => run(ctx, a),
    }
}

fn run(ctx: &Context, args: RunArgs) -> Result<ExitCode> {
    enter(ctx)?;
    let store = ctx.store()?;
    let engine = Engine::new(&store, &runroot(ctx))?;
    let c = match engine.get(&args.container) {
        Ok(c) => c,
        Err(e) => anyhow::bail!(
            "unable to look up {} to perform a health check: {e}: no such container",
            args.container
        ),
    };
    let outcome = engine.run_healthcheck(&c)?;
    if outcome.timed_out {
        let timeout = c.options.healthcheck.map(|h| h.timeout).unwrap_or_default();
        anyhow::bail!(
            "healthcheck command exceeded timeout of {}",
            berth_run::engine::health::go_duration_text(timeout)
        );
    }
    if !outcome.passed {
        outln!("unhealthy");
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}
