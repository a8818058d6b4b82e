//! `image exists`, `container exists`, `volume exists`: exit 0 when the object is there, 1
//! when it is not, nothing printed (Podman's); any other failure is berth's 125.

use std::process::ExitCode;

use anyhow::Result;
use berth_image_store::StoreError;
use berth_run::{Engine, RunError};
use clap::Args;

use super::{enter, runroot};
use crate::Context;

#[derive(Args)]
pub struct ExistsArgs {
    /// Name or id.
    name: String,
}

fn code(found: bool) -> ExitCode {
    if found {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

pub fn image(ctx: &Context, args: ExistsArgs) -> Result<ExitCode> {
    match ctx.store()?.lookup_image(&args.name) {
        Ok(_) => Ok(code(true)),
        Err(StoreError::NotFound(_)) => Ok(code(false)),
        Err(e) => Err(e.into()),
    }
}

pub fn container(ctx: &Context, args: ExistsArgs) -> Result<ExitCode> {
    enter(ctx)?;
    let store = ctx.store()?;
    let engine = Engine::new(&store, &runroot(ctx))?;
    match engine.get(&args.name) {
        Ok(_) => Ok(code(true)),
        Err(RunError::NoSuchContainer(_)) => Ok(code(false)),
        Err(e) => Err(e.into()),
    }
}

pub fn volume(ctx: &Context, args: ExistsArgs) -> Result<ExitCode> {
    let store = ctx.store()?;
    let volumes = berth_run::volumes::Volumes::open(store.root())?;
    Ok(code(volumes.find(&args.name)?.is_some()))
}
