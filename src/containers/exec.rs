//! `berth exec` (as `podman exec`), and the hidden `exec-monitor` that serves an `exec -it`
//! session's terminal so the user can detach from it.

use std::process::ExitCode;

use anyhow::Result;
use clap::Args;

use super::{detach_keys, enter, fail, global_args, runroot};
use crate::Context;
use berth_run::Engine;

#[derive(Args)]
pub struct ExecArgs {
    /// Keep stdin open.
    #[arg(short, long)]
    interactive: bool,
    /// Allocate a pseudo-terminal.
    #[arg(short, long)]
    tty: bool,
    /// The key sequence that detaches from an interactive terminal session (as `run`'s).
    #[arg(long, value_name = "KEYS")]
    detach_keys: Option<String>,
    /// Set an environment variable (KEY=VALUE, or KEY to copy it from berth's environment).
    #[arg(short, long = "env", value_name = "KEY[=VALUE]")]
    env: Vec<String>,
    /// User (and group) to run as, resolved in the container.
    #[arg(short, long, value_name = "USER[:GROUP]")]
    user: Option<String>,
    /// Working directory inside the container.
    #[arg(short, long, value_name = "DIR")]
    workdir: Option<String>,
    /// Give the process every capability berth holds (bounding, effective and permitted),
    /// whatever the container was given.
    #[arg(long)]
    privileged: bool,
    /// Container (name or id).
    container: String,
    /// Command and arguments.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, required = true)]
    command: Vec<String>,
}

pub fn exec(ctx: &Context, args: ExecArgs) -> Result<ExitCode> {
    enter(ctx)?;
    let keys = match detach_keys(args.detach_keys.as_deref())? {
        Ok(k) => k,
        Err(e) => return fail(e),
    };
    let store = ctx.store()?;
    let engine = Engine::new(&store, &runroot(ctx))?;
    let c = engine.get(&args.container)?;
    let req = berth_run::engine::ExecRequest {
        command: args.command,
        env: berth_run::options::resolve_env_args(&args.env, |k| std::env::var(k).ok()),
        user: args.user,
        workdir: args.workdir,
        interactive: args.interactive,
        tty: args.tty,
        privileged: args.privileged,
    };
    berth_run::signals::install_signal_forwarding();
    let code = |code: Option<i32>| ExitCode::from(code.map(|c| c as u8).unwrap_or(125));
    if req.interactive && req.tty {
        // Under an exec monitor, so the detach keys can leave it running (exit 0).
        let exe = std::env::current_exe()?;
        return match engine.exec_interactive(&c, &req, &exe, &global_args(ctx), keys) {
            Ok(end) => Ok(end.map_or(ExitCode::SUCCESS, code)),
            Err(e) => fail(e),
        };
    }
    match engine.exec(&c, &req) {
        Ok(c) => Ok(code(c)),
        Err(e) => fail(e),
    }
}

#[derive(Args)]
pub struct ExecMonitorArgs {
    /// Container id.
    id: String,
    /// The exec session's tag (its files in the container's bundle).
    tag: String,
}

/// `berth exec-monitor ID TAG` (hidden): start an `exec -it` session and serve its terminal
/// until its process exits; tells the `exec` that started it on stdout whether it started.
pub fn exec_monitor(ctx: &Context, args: ExecMonitorArgs) -> Result<ExitCode> {
    enter(ctx)?;
    let store = ctx.store()?;
    let engine = Engine::new(&store, &runroot(ctx))?;
    let mut ready = std::io::stdout();
    match engine.exec_monitor(&args.id, &args.tag, &mut ready) {
        Ok(_) => Ok(ExitCode::SUCCESS),
        Err(e) => Ok(ExitCode::from(e.exit_code())),
    }
}
