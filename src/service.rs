//! `berth system service [--time SECONDS] [URI]`: the Docker-compatible REST API
//! (berth-api) on a unix socket, or on TCP when asked for. Parses the flags, picks the
//! default socket, and hands over to `berth_api::serve`.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context as _, Result};
use berth_api::{Endpoint, ServiceConfig};
use clap::Args;

use crate::Context;

/// Podman's default idle time before the service exits.
const DEFAULT_IDLE_SECS: u64 = 5;

#[derive(Args)]
#[command(
    after_help = "The socket is root-equivalent for a service run as root (and \
    user-equivalent rootless): whoever can connect to it can run any container. It is made \
    mode 0600. A tcp:// URI has no authentication at all: use it only on 127.0.0.1 and only \
    when you must."
)]
pub struct ServiceArgs {
    /// Exit after SECONDS with no client connected (0: never).
    #[arg(short, long = "time", value_name = "SECONDS", default_value_t = DEFAULT_IDLE_SECS)]
    time: u64,
    /// Where to listen: unix:///path/to/socket (default: unix:///run/berth/berth.sock as
    /// root, unix://$XDG_RUNTIME_DIR/berth/berth.sock rootless) or tcp://127.0.0.1:PORT.
    /// A socket passed by systemd (LISTEN_FDS) wins.
    uri: Option<String>,
}

/// The default socket: `/run/berth/berth.sock` as root, under `$XDG_RUNTIME_DIR` rootless.
fn default_endpoint() -> Result<Endpoint> {
    if berth_image_store::store::is_host_root() {
        return Ok(Endpoint::Unix("/run/berth/berth.sock".into()));
    }
    let Some(dir) = std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) else {
        bail!("XDG_RUNTIME_DIR is not set: give the socket as unix:///path/to/berth.sock");
    };
    Ok(Endpoint::Unix(
        std::path::PathBuf::from(dir).join("berth/berth.sock"),
    ))
}

pub fn service(ctx: &Context, args: ServiceArgs) -> Result<ExitCode> {
    // Taken before anything else: systemd's variables name this process.
    let inherited = berth_api::inherited_listener();
    let endpoint = match &args.uri {
        Some(uri) => uri.parse::<Endpoint>().map_err(anyhow::Error::msg)?,
        None => default_endpoint()?,
    };
    if let Endpoint::Tcp(addr) = &endpoint {
        tracing::warn!(
            "Using the Docker API on tcp://{addr}: anyone who can connect can run containers as this user; there is no authentication"
        );
    }
    // While single-threaded: the server's threads start after this.
    crate::containers::enter(ctx)?;
    let config = ServiceConfig {
        root: ctx.root(),
        runroot: crate::containers::runroot(ctx),
        berth_exe: std::env::current_exe().context("finding the berth binary")?,
        global_args: crate::containers::global_args(ctx),
        idle: (args.time > 0).then(|| Duration::from_secs(args.time)),
    };
    berth_api::serve(config, &endpoint, inherited).context("berth system service")?;
    Ok(ExitCode::SUCCESS)
}
