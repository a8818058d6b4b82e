//! `attach C`: join a running container's terminal or output ([`berth_run::attach_running`]),
//! as `podman attach` (`--detach-keys`, `--no-stdin`, `--sig-proxy`).

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use berth_run::Engine;
use clap::Args;

use super::{detach_keys, enter, fail, runroot};
use crate::Context;

#[derive(Args)]
pub struct AttachArgs {
    /// The key sequence that detaches (as `run`'s; default: containers.conf's, else
    /// `ctrl-p,ctrl-q`).
    #[arg(long, value_name = "KEYS")]
    detach_keys: Option<String>,
    /// Do not attach stdin.
    #[arg(long)]
    no_stdin: bool,
    /// Proxy received signals to the container's process.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1,
          default_missing_value = "true", value_name = "BOOL")]
    sig_proxy: bool,
    /// Container (name or id).
    container: String,
}

/// `berth attach C`: until the container exits (its exit code) or the user detaches (0).
pub fn attach(ctx: &Context, args: AttachArgs) -> Result<ExitCode> {
    enter(ctx)?;
    let keys = match detach_keys(args.detach_keys.as_deref())? {
        Ok(k) => k,
        Err(e) => return fail(e),
    };
    let store = ctx.store()?;
    let engine = Engine::new(&store, &runroot(ctx))?;
    let c = match engine.get(&args.container) {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    if args.sig_proxy {
        berth_run::signals::install_signal_forwarding();
    }
    let (mut out, mut err) = (crate::stdio::stdout(), crate::stdio::stderr());
    let end = engine.attach_running(
        &c,
        keys,
        !args.no_stdin,
        args.sig_proxy,
        &mut berth_run::logs::LogOutput {
            stdout: &mut out,
            stderr: &mut err,
        },
    );
    out.flush()?;
    match end {
        Ok(None) => Ok(ExitCode::SUCCESS),
        Ok(Some(code)) => Ok(ExitCode::from(code.map_or(125, |c| c as u8))),
        Err(e) => fail(e),
    }
}
