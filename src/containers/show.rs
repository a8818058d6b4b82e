//! `ps` and `container inspect` output.

use std::process::ExitCode;

use anyhow::{bail, Result};
use berth_run::{Container, Engine, State};
use chrono::Utc;
use clap::Args;
use serde_json::{json, Value};

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

/// Podman's STATUS column: `Created`, `Up 3 seconds`, `Exited (0) 2 minutes ago`.
fn status(c: &Container) -> String {
    match c.state {
        State::Created => "Created".to_string(),
        State::Running => {
            let age = human_age(c.started.or(Some(Utc::now())));
            format!("Up {}", age.trim_end_matches(" ago"))
        }
        State::Exited => {
            let code = c
                .exit_code
                .map(|c| c.to_string())
                .unwrap_or_else(|| "unknown".to_string());
            format!("Exited ({code}) {}", human_age(c.finished))
        }
    }
}

fn summary_json(c: &Container) -> Value {
    json!({
        "Id": c.id,
        "Names": [c.name],
        "Image": c.image_name,
        "ImageID": c.image_id,
        "Command": c.command,
        "Created": c.created.to_rfc3339(),
        "State": c.state.as_str(),
        "Status": status(c),
        "ExitCode": c.exit_code,
        "Exited": c.state == State::Exited,
        "Pid": c.pid.unwrap_or(0),
        "StartedAt": c.started.map(|t| t.to_rfc3339()),
        "ExitedAt": c.finished.map(|t| t.to_rfc3339()),
        "AutoRemove": c.auto_remove,
        "Labels": c.labels.iter().cloned().collect::<std::collections::BTreeMap<_, _>>(),
    })
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
            let out: Vec<Value> = list.iter().map(summary_json).collect();
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
                        status(c),
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
