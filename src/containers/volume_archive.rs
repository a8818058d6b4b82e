//! `volume export VOL [-o FILE]` and `volume import VOL FILE|-`: a volume's contents as a tar
//! archive ([`berth_run::volume_archive`]), as Podman's.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context as _, Result};
use berth_run::volumes::Volumes;
use clap::Args;

#[derive(Args)]
pub struct ExportArgs {
    /// Write to a specified file (default: stdout, which must be redirected).
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Volume name.
    volume: String,
}

#[derive(Args)]
pub struct ImportArgs {
    /// Volume name.
    volume: String,
    /// Tar archive to unpack into the volume (`-`: stdin).
    source: String,
}

pub fn export(volumes: &Volumes, args: ExportArgs) -> Result<ExitCode> {
    match &args.output {
        Some(path) => {
            let file = std::fs::File::create(path)
                .with_context(|| format!("creating {}", path.display()))?;
            volumes.export(&args.volume, file)?.sync_all()?;
        }
        None => {
            if std::io::IsTerminal::is_terminal(&std::io::stdout()) {
                bail!(
                    "cannot write to terminal, use command-line redirection or the --output flag"
                );
            }
            volumes
                .export(&args.volume, crate::stdio::stdout())?
                .flush()?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn import(volumes: &Volumes, args: ImportArgs) -> Result<ExitCode> {
    if args.source == "-" {
        volumes.import(&args.volume, std::io::stdin())?;
    } else {
        let file = std::fs::File::open(&args.source)
            .with_context(|| format!("opening {}", args.source))?;
        volumes.import(&args.volume, file)?;
    }
    Ok(ExitCode::SUCCESS)
}
