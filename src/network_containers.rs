//! `network connect`, `network disconnect` and `network reload`: a container's networks
//! changed after create. The work is berth-run's ([`berth_run::Engine::network_connect`],
//! `network_disconnect`, `network_reload`); this file parses and prints as Podman does.

use std::net::IpAddr;
use std::process::ExitCode;

use anyhow::{bail, Result};
use berth_run::{ConnectRequest, Engine};
use clap::Args;

use crate::containers::runroot;
use crate::Context;

#[derive(Args)]
pub struct ConnectArgs {
    /// A name the container has on this network too (repeatable; served by aardvark-dns).
    #[arg(long)]
    alias: Vec<String>,
    /// The container's IPv4 address on this network.
    #[arg(long)]
    ip: Option<String>,
    /// The container's IPv6 address on this network.
    #[arg(long)]
    ip6: Option<String>,
    /// The container's MAC address on this network.
    #[arg(long)]
    mac_address: Option<String>,
    /// The network (name or id).
    network: String,
    /// The container (name or id).
    container: String,
}

#[derive(Args)]
pub struct DisconnectArgs {
    /// Go on when the network's teardown fails (its rules are gone already).
    #[arg(short, long)]
    force: bool,
    /// The network (name or id).
    network: String,
    /// The container (name or id).
    container: String,
}

#[derive(Args)]
pub struct ReloadArgs {
    /// Every running container.
    #[arg(short, long)]
    all: bool,
    /// Containers (names or ids).
    #[arg(conflicts_with = "all")]
    containers: Vec<String>,
}

fn engine_do<T>(ctx: &Context, f: impl FnOnce(&Engine<'_>) -> Result<T>) -> Result<T> {
    // A plain user's containers (and the rootless netns) are in berth's user namespace.
    crate::containers::enter(ctx)?;
    let store = ctx.store()?;
    let engine = Engine::new(&store, &runroot(ctx))?;
    f(&engine)
}

/// `network connect [--alias A] [--ip IP] NETWORK CONTAINER`.
pub fn connect(ctx: &Context, a: ConnectArgs) -> Result<ExitCode> {
    let ip = |flag: &str, v: &Option<String>, v6: bool| -> Result<Option<IpAddr>> {
        let Some(s) = v else { return Ok(None) };
        match s.parse::<IpAddr>() {
            Ok(ip) if ip.is_ipv6() == v6 => Ok(Some(ip)),
            _ => bail!("invalid argument {s:?} for \"--{flag}\" flag: invalid IP address: {s}"),
        }
    };
    let static_ip = match (ip("ip", &a.ip, false)?, ip("ip6", &a.ip6, true)?) {
        (Some(_), Some(_)) => bail!("--ip and --ip6 together are not supported yet"),
        (v4, v6) => v4.or(v6),
    };
    let static_mac = a
        .mac_address
        .as_deref()
        .map(|m| {
            berth_run::options::parse_mac(m).map_err(|e| {
                anyhow::anyhow!("invalid argument {m:?} for \"--mac-address\" flag: {e}")
            })
        })
        .transpose()?;
    engine_do(ctx, |e| {
        let c = e.get(&a.container)?;
        let req = ConnectRequest {
            network: a.network.clone(),
            aliases: a.alias.clone(),
            static_ip,
            static_mac,
        };
        e.network_connect(&c, &req)?;
        Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// `network disconnect [-f] NETWORK CONTAINER`.
pub fn disconnect(ctx: &Context, a: DisconnectArgs) -> Result<ExitCode> {
    engine_do(ctx, |e| {
        let c = e.get(&a.container)?;
        e.network_disconnect(&c, &a.network, a.force)?;
        Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// `network reload CONTAINER…|--all`: each container's id once its rules are made again
/// (Podman's output); a failure is printed and the others go on, exit 125 at the end.
pub fn reload(ctx: &Context, a: ReloadArgs) -> Result<ExitCode> {
    if !a.all && a.containers.is_empty() {
        bail!("network reload: give containers or --all");
    }
    engine_do(ctx, |e| {
        let containers = if a.all {
            e.list()?
                .into_iter()
                .filter(|c| c.state == berth_run::State::Running)
                .collect()
        } else {
            a.containers
                .iter()
                .map(|n| e.get(n))
                .collect::<berth_run::Result<Vec<_>>>()?
        };
        let mut code = ExitCode::SUCCESS;
        for c in containers {
            match e.network_reload(&c) {
                Ok(()) => outln!("{}", c.id),
                Err(err) => {
                    errln!("Error: {err}");
                    code = ExitCode::from(125);
                }
            }
        }
        Ok(code)
    })
}
