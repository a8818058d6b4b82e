//! Volume commands: `volume create|ls|inspect|rm|prune`.

use std::process::ExitCode;

use anyhow::{bail, Result};
use berth_run::volumes::{Volume, Volumes};
use berth_run::Engine;
use clap::{Args, Subcommand};
use serde_json::Value;

use super::runroot;
use crate::output::print_table;
use crate::stdio::OnClosed;
use crate::Context;

#[derive(Subcommand)]
pub enum VolumeCommand {
    /// Create a volume (default name: random).
    Create(CreateArgs),
    /// List volumes.
    #[command(alias = "list")]
    Ls(LsArgs),
    /// Display information about volumes (JSON).
    Inspect(InspectArgs),
    /// Remove volumes (refused while a container uses them).
    Rm(NamesArgs),
    /// Remove every volume no container uses.
    Prune(PruneArgs),
}

#[derive(Args)]
pub struct CreateArgs {
    /// Volume name.
    name: Option<String>,
}

#[derive(Args)]
pub struct LsArgs {
    /// Show only names.
    #[arg(short, long)]
    quiet: bool,
    /// Output format: `table` (default) or `json`.
    #[arg(long, default_value = "table")]
    format: String,
}

#[derive(Args)]
pub struct NamesArgs {
    /// Volume names.
    #[arg(required = true)]
    names: Vec<String>,
}

#[derive(Args)]
pub struct InspectArgs {
    /// Volume names.
    #[arg(required = true)]
    names: Vec<String>,
    /// Output format: `json` (default) or a Go template such as `{{.Mountpoint}}`.
    #[arg(short, long, default_value = "json")]
    format: String,
}

#[derive(Args)]
pub struct PruneArgs {
    /// Do not ask for confirmation (berth never asks; accepted for compatibility).
    #[arg(short, long)]
    force: bool,
}

/// A volume's record in Podman's shape (`volume ls --format json`, `volume inspect`).
pub(crate) fn volume_json(v: &Volume) -> Value {
    serde_json::to_value(berth_run::inspect::VolumeInspect::from(v)).unwrap_or(Value::Null)
}

impl VolumeCommand {
    /// What the command does when its output's reader has gone (see [`crate::stdio`]).
    pub fn on_closed(&self) -> OnClosed {
        match self {
            VolumeCommand::Ls(_) | VolumeCommand::Inspect(_) => OnClosed::Quit,
            VolumeCommand::Create(_) | VolumeCommand::Rm(_) | VolumeCommand::Prune(_) => {
                OnClosed::Finish
            }
        }
    }
}

pub fn dispatch(ctx: &Context, command: VolumeCommand) -> Result<ExitCode> {
    super::enter(ctx)?;
    let store = ctx.store()?;
    let engine = Engine::new(&store, &runroot(ctx))?;
    let volumes = Volumes::open(store.root())?;
    match command {
        VolumeCommand::Create(a) => {
            outln!("{}", volumes.create(a.name.as_deref())?.name);
        }
        VolumeCommand::Ls(a) => {
            let list = volumes.list()?;
            match a.format.as_str() {
                "json" => {
                    let out: Vec<Value> = list.iter().map(volume_json).collect();
                    outln!("{}", serde_json::to_string_pretty(&out)?);
                }
                "table" if a.quiet => list.iter().for_each(|v| outln!("{}", v.name)),
                "table" => {
                    let rows: Vec<Vec<String>> = list
                        .iter()
                        .map(|v| vec!["local".to_string(), v.name.clone()])
                        .collect();
                    print_table(&["DRIVER", "VOLUME NAME"], &rows);
                }
                other => bail!("unknown --format {other:?}: use table or json"),
            }
        }
        VolumeCommand::Inspect(a) => {
            let mut out = Vec::new();
            for n in &a.names {
                out.push(volume_json(&volumes.get(n)?));
            }
            crate::output::print_records(&out, &a.format)?;
        }
        VolumeCommand::Rm(a) => {
            // Each volume on its own, as Podman: the others are removed when one fails; the
            // exit code is the worst failure's (1 no such volume, 2 in use).
            let mut code = 0u8;
            for n in &a.names {
                match engine
                    .volume_users(n)
                    .and_then(|users| volumes.remove(n, &users))
                {
                    Ok(()) => outln!("{n}"),
                    Err(e) => {
                        errln!("Error: {}", e.to_string().replace('\n', " "));
                        code = code.max(e.removal_exit_code());
                    }
                }
            }
            return Ok(ExitCode::from(code));
        }
        VolumeCommand::Prune(_) => {
            for v in volumes.list()? {
                if engine.volume_users(&v.name)?.is_empty() {
                    volumes.remove(&v.name, &[])?;
                    outln!("{}", v.name);
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
