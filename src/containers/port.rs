//! `berth port C [PRIVATE_PORT[/PROTO]]` and `--all`: a running container's published
//! ports, as `podman port` prints them (`80/tcp -> 0.0.0.0:8080`).

use std::process::ExitCode;

use anyhow::{bail, Result};
use berth_run::published::{parse_private_port, port_lines};
use berth_run::{Engine, State};
use clap::Args;

use super::{enter, runroot};
use crate::Context;

#[derive(Args)]
pub struct PortArgs {
    /// Every running container (each under its id).
    #[arg(short, long)]
    all: bool,
    /// Container (name or id), then optionally PRIVATE_PORT[/PROTO].
    args: Vec<String>,
}

/// List the published ports; containers that are not running publish none (Podman).
pub fn port(ctx: &Context, args: PortArgs) -> Result<ExitCode> {
    let (containers, private) = match (args.all, &args.args[..]) {
        (true, []) => (None, None),
        (true, [p]) => (None, Some(p)),
        (false, [c]) => (Some(c), None),
        (false, [c, p]) => (Some(c), Some(p)),
        (true, _) => bail!("the last argument can only be a port when --all is set"),
        (false, _) => bail!("requires one container and optionally a port"),
    };
    let only = private
        .map(|p| parse_private_port(p))
        .transpose()
        .map_err(anyhow::Error::msg)?;
    enter(ctx)?;
    let store = ctx.store()?;
    let engine = Engine::new(&store, &runroot(ctx))?;
    let list = match containers {
        Some(c) => vec![engine.get(c)?],
        None => engine.list()?,
    };
    for c in list.iter().filter(|c| c.state == State::Running) {
        let Some(lines) = port_lines(&c.options.ports, only) else {
            if args.all {
                continue;
            }
            let (p, proto) = only.expect("a port was asked for");
            bail!("failed to find published port \"{p}/{proto}\"");
        };
        if args.all && !lines.is_empty() {
            outln!("{}", c.id);
        }
        for l in lines {
            outln!("{l}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
