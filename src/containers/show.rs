//! `container inspect` output.

use std::process::ExitCode;

use anyhow::Result;
use berth_run::Engine;
use clap::Args;

use super::runroot;
use crate::Context;

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
