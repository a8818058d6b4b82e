//! `berth completion SHELL` and `berth generate-man-pages DIR`: shell completions and manual
//! pages generated from clap's command tree, so they always name the flags berth takes.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use clap::{Args, CommandFactory};
use clap_complete::Shell;

use crate::Cli;

// `berth completion` (a plain comment: a doc comment here would be its --help summary).
#[derive(Args)]
pub struct CompletionArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    shell: Shell,
    /// Write the script to this file instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    file: Option<PathBuf>,
}

/// Print (or write) the completion script of `args.shell`.
pub fn completion(args: CompletionArgs) -> Result<ExitCode> {
    let mut cmd = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "berth", &mut script);
    match &args.file {
        Some(path) => {
            std::fs::write(path, &script).with_context(|| format!("writing {}", path.display()))?
        }
        None => crate::stdio::stdout().write_all(&script)?,
    }
    Ok(ExitCode::SUCCESS)
}

// `berth generate-man-pages` (hidden: what `make install` runs).
#[derive(Args)]
pub struct ManPagesArgs {
    /// Where to write the pages (`berth.1`, `berth-run.1`, `berth-image-ls.1`, …).
    #[arg(value_name = "DIR")]
    dir: PathBuf,
}

/// Write one section-1 page for berth and for each of its (non-hidden) commands.
pub fn man_pages(args: ManPagesArgs) -> Result<ExitCode> {
    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("creating {}", args.dir.display()))?;
    let mut cmd = Cli::command();
    cmd.build();
    let written = write_pages(&cmd, "berth", &args.dir)?;
    outln!("{written} pages written to {}", args.dir.display());
    Ok(ExitCode::SUCCESS)
}

/// The page of `cmd` as `name`, then its subcommands' pages; how many were written.
fn write_pages(cmd: &clap::Command, name: &str, dir: &Path) -> Result<usize> {
    let page = cmd
        .clone()
        .name(name.to_string())
        .bin_name(name.replace('-', " "));
    let path = dir.join(format!("{name}.1"));
    let mut file = File::create(&path).with_context(|| format!("writing {}", path.display()))?;
    clap_mangen::Man::new(page)
        .render(&mut file)
        .with_context(|| format!("writing {}", path.display()))?;
    let mut written = 1;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        if sub.get_name() == "help" {
            continue;
        }
        written += write_pages(sub, &format!("{name}-{}", sub.get_name()), dir)?;
    }
    Ok(written)
}
