//! `pause`, `unpause` (the cgroup freezer) and `rename`.

use std::process::ExitCode;

use anyhow::{bail, Result};
use berth_run::Engine;
use clap::Args;

use super::{enter, runroot};
use crate::Context;

#[derive(Args)]
pub struct PauseArgs {
    /// Every running (for unpause: paused) container.
    #[arg(short, long)]
    all: bool,
    /// Containers (name or id).
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    containers: Vec<String>,
}

/// `berth pause`: freeze each container; prints each one's id.
pub fn pause(ctx: &Context, args: PauseArgs) -> Result<ExitCode> {
    each(ctx, args, true)
}

/// `berth unpause`: thaw each paused container; prints each one's id.
pub fn unpause(ctx: &Context, args: PauseArgs) -> Result<ExitCode> {
    each(ctx, args, false)
}

fn each(ctx: &Context, args: PauseArgs, pausing: bool) -> Result<ExitCode> {
    enter(ctx)?;
    let store = ctx.store()?;
    let engine = Engine::new(&store, &runroot(ctx))?;
    let targets = if args.all {
        engine
            .list()?
            .into_iter()
            .filter(|c| c.state == berth_run::State::Running && engine.is_paused(c) != pausing)
            .collect()
    } else {
        args.containers
            .iter()
            .map(|n| engine.get(n))
            .collect::<berth_run::Result<Vec<_>>>()?
    };
    let mut failed = None;
    for c in &targets {
        let done = if pausing {
            engine.pause(c)
        } else {
            engine.unpause(c)
        };
        match done {
            Ok(()) => outln!("{}", c.id),
            Err(e) => {
                if let Some(previous) = failed.replace(e) {
                    errln!("Error: {previous}");
                }
            }
        }
    }
    match failed {
        Some(e) => Err(e.into()),
        None => Ok(ExitCode::SUCCESS),
    }
}

#[derive(Args)]
pub struct RenameArgs {
    /// The container (name or id).
    container: String,
    /// Its new name.
    name: String,
}

/// `berth rename OLD NEW`.
pub fn rename(ctx: &Context, args: RenameArgs) -> Result<ExitCode> {
    enter(ctx)?;
    if args.name.is_empty() {
        bail!("must provide a new name for the container");
    }
    let store = ctx.store()?;
    let engine = Engine::new(&store, &runroot(ctx))?;
    let c = engine.get(&args.container)?;
    engine.rename(&c, &args.name)?;
    Ok(ExitCode::SUCCESS)
}
