//! `system reset [-f]`: remove every container, network (but the default), image, volume and
//! the build cache, and the store's files, leaving an empty store
//! ([`berth_run::system_reset`]). Asks first unless `-f`, in Podman's words; an answer that
//! never comes (stdin at its end: no terminal, nothing piped) refuses, as Podman's does.

use std::io::{BufRead, Write};
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;

use crate::containers::{enter, runroot};
use crate::Context;

#[derive(Args)]
pub struct ResetArgs {
    /// Do not prompt for confirmation.
    #[arg(short, long)]
    force: bool,
}

pub fn reset(ctx: &Context, args: ResetArgs) -> Result<ExitCode> {
    enter(ctx)?;
    let root = ctx.root();
    let run = runroot(ctx);
    if !args.force {
        out!(
            "WARNING! This will remove:\n        - all containers\n        - all pods\n        \
             - all images\n        - all networks\n        - all build cache\n        \
             - all volumes\n        - the graphRoot directory: {:?}\n        \
             - the runRoot directory: {:?}\nAre you sure you want to continue? [y/N] ",
            root.display().to_string(),
            run.display().to_string()
        );
        crate::stdio::stdout().flush()?;
        let mut answer = String::new();
        if std::io::stdin().lock().read_line(&mut answer)? == 0 {
            outln!();
            errln!("Error: no answer on stdin (not a terminal?): nothing removed; use -f to reset without asking");
            return Ok(ExitCode::from(1));
        }
        if !answer.trim_start().to_ascii_lowercase().starts_with('y') {
            return Ok(ExitCode::SUCCESS);
        }
    }
    let store = ctx.store()?;
    let (_empty, _report) = berth_run::system_reset::reset(store, &run)?;
    Ok(ExitCode::SUCCESS)
}
