//! `berth kube …`: Kubernetes YAML from and to berth's pods and containers (berth-kube).
//! `kube generate` is in [`crate::kube_generate`].

use std::process::ExitCode;

use anyhow::Result;
use clap::Subcommand;

use crate::stdio::OnClosed;
use crate::Context;

#[derive(Subcommand)]
pub enum KubeCommand {
    /// Generate Kubernetes YAML from containers or pods.
    Generate(crate::kube_generate::KubeGenerateArgs),
}

impl KubeCommand {
    /// What the command does when its output's reader has gone (see [`crate::stdio`]).
    pub fn on_closed(&self) -> OnClosed {
        match self {
            KubeCommand::Generate(_) => OnClosed::Quit,
        }
    }
}

pub fn dispatch(ctx: &Context, command: KubeCommand) -> Result<ExitCode> {
    match command {
        KubeCommand::Generate(a) => crate::kube_generate::generate(ctx, a),
    }
}
