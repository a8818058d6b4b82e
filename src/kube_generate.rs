//! `berth kube generate [--service] [-f FILE] CONTAINER|POD...` (and `berth generate kube`,
//! as Podman 4.3 has both): the YAML of `berth_kube::generate`, printed or written to a file.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use berth_kube::generate::{generate as kube_yaml, GenerateOptions};
use berth_run::Engine;
use clap::Args;

use crate::containers::{enter, runroot};
use crate::Context;

#[derive(Args)]
pub struct KubeGenerateArgs {
    /// Write the YAML to this file instead of printing it.
    #[arg(short = 'f', long = "filename", value_name = "FILE")]
    filename: Option<PathBuf>,
    /// Generate a Kubernetes Service of the published ports too.
    #[arg(short, long)]
    service: bool,
    /// Containers or pods (names or ids).
    #[arg(required = true, value_name = "CONTAINER|POD")]
    names: Vec<String>,
}

pub fn generate(ctx: &Context, args: KubeGenerateArgs) -> Result<ExitCode> {
    enter(ctx)?;
    let store = ctx.store()?;
    let engine = Engine::new(&store, &runroot(ctx))?;
    let options = GenerateOptions {
        service: args.service,
    };
    let text = kube_yaml(&engine, &args.names, options)?;
    match &args.filename {
        Some(path) => {
            berth_layers::atomic_file::write_atomically(path, text.as_bytes(), 0o644)
                .with_context(|| format!("writing {}", path.display()))?;
        }
        None => out!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}
