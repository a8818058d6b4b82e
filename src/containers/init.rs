//! `berth init C…` (as `podman init`): make containers in the runtime without starting their
//! process (state `initialized`); `start` starts them. Prints each container as given.

use std::process::ExitCode;

use anyhow::Result;
use berth_run::Engine;
use clap::Args;

use super::{enter, fail, global_args, runroot};
use crate::Context;

#[derive(Args)]
pub struct InitArgs {
    /// Initialize every container that is created or exited.
    #[arg(short, long)]
    all: bool,
    /// Containers (name or id).
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    containers: Vec<String>,
}

pub fn init(ctx: &Context, args: InitArgs) -> Result<ExitCode> {
    enter(ctx)?;
    let store = ctx.store()?;
    let engine = Engine::new(&store, &runroot(ctx))?;
    let names = if args.all {
        engine.startable(&[])?.into_iter().map(|c| c.id).collect()
    } else {
        args.containers
    };
    let exe = std::env::current_exe()?;
    for name in &names {
        let c = engine.get(name)?;
        if let Err(e) = engine.init(&c, &exe, &global_args(ctx)) {
            return fail(e);
        }
        outln!("{name}");
    }
    Ok(ExitCode::SUCCESS)
}
