//! `kube …`: Kubernetes YAML from and to berth's pods and containers ([`berth_kube`]).
//! `play` and `down` parse and print in [`crate::kube_play`], `generate` in
//! [`crate::kube_generate`].

use std::process::ExitCode;

use anyhow::Result;
use clap::Subcommand;

use crate::stdio::OnClosed;
use crate::Context;

#[derive(Subcommand)]
pub enum KubeCommand {
    /// Generate Kubernetes YAML from containers or pods.
    Generate(crate::kube_generate::KubeGenerateArgs),
    /// Create pods, containers and volumes from Kubernetes YAML (`-`: stdin).
    Play(crate::kube_play::PlayArgs),
    /// Remove the pods (and their containers) that `kube play` of the same YAML made.
    Down(crate::kube_play::DownArgs),
}

impl KubeCommand {
    /// What the command does when its output's reader has gone (see [`crate::stdio`]).
    pub fn on_closed(&self) -> OnClosed {
        match self {
            KubeCommand::Generate(_) => OnClosed::Quit,
            KubeCommand::Play(_) | KubeCommand::Down(_) => OnClosed::Finish,
        }
    }
}

pub fn dispatch(ctx: &Context, command: KubeCommand) -> Result<ExitCode> {
    match command {
        KubeCommand::Generate(a) => crate::kube_generate::generate(ctx, a),
        KubeCommand::Play(a) => crate::kube_play::play(ctx, a),
        KubeCommand::Down(a) => crate::kube_play::down(ctx, a),
    }
}
