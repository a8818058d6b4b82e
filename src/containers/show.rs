//! `ps` and `container inspect` output.

use std::process::ExitCode;

use anyhow::{bail, Result};
use berth_run::summary::{status_text, ContainerSummary};
use berth_run::{Container, Engine, State};
use clap::Args;

use super::runroot;
use crate::output::{human_age, print_table};
use crate::Context;

#[derive(Args)]
pub struct PsArgs {
    /// Show all containers (default: running only).
    #[arg(short, long)]
    all: bool,
    /// Show only container ids.
    #[arg(short, long)]
    quiet: bool,
    /// Do not truncate ids and commands.
    #[arg(long)]
    no_trunc: bool,
    /// Output format: `table` (default) or `json`.
    #[arg(long, default_value = "table")]
    format: String,
}

pub fn ps(ctx: &Context, args: PsArgs) -> Result<ExitCode> {
    super::enter(ctx)?;
    let store = ctx.store()?;
    let engine = Engine::new(&store, &runroot(ctx))?;
    let mut list = engine.list()?;
    if !args.all {
        list.retain(|c| c.state == State::Running);
    }
    let id = |c: &Container| {
        if args.no_trunc {
            c.id.clone()
        } else {
            c.short_id().to_string()
        }
    };
    match args.format.as_str() {
        "json" => {
            let out: Vec<ContainerSummary> = list.iter().map(ContainerSummary::of).collect();
            outln!("{}", serde_json::to_string_pretty(&out)?);
        }
        "table" if args.quiet => {
            for c in &list {
                outln!("{}", id(c));
            }
        }
        "table" => {
            let rows: Vec<Vec<String>> = list
                .iter()
                .map(|c| {
                    let mut cmd = c.command.join(" ");
                    if !args.no_trunc && cmd.chars().count() > 20 {
                        cmd = cmd.chars().take(17).collect::<String>() + "...";
                    }
                    vec![
                        id(c),
                        c.image_name.clone(),
                        cmd,
                        human_age(Some(c.created)),
                        status_text(c),
                        c.name.clone(),
                    ]
                })
                .collect();
            print_table(
                &[
                    "CONTAINER ID",
                    "IMAGE",
                    "COMMAND",
                    "CREATED",
                    "STATUS",
                    "NAMES",
                ],
                &rows,
            );
        }
        other => bail!("unknown --format {other:?}: use table or json"),
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Args)]
pub struct InspectArgs {
    /// Containers (name or id).
    #[arg(required = true)]
    containers: Vec<String>,
    /// Output format: `json` (default) or a Go template (`{{.State.Status}}`).
    #[arg(short, long, default_value = "json")]
    format: String,
}

pub fn inspect(ctx: &Context, args: InspectArgs) -> Result<ExitCode> {
    super::enter(ctx)?;
    let store = ctx.store()?;
    let engine = Engine::new(&store, &runroot(ctx))?;
    let mut out = Vec::new();
    for name in &args.containers {
        let c = engine.get(name)?;
        out.push(serde_json::to_value(berth_run::inspect::inspect(
            &engine, &c,
        )?)?);
    }
    crate::output::print_records(&out, &args.format)?;
    Ok(ExitCode::SUCCESS)
}
