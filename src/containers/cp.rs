//! `berth cp [-a] [-L] [--overwrite] SRC DST` (also `container cp`): Podman's cp between a
//! container (running or not) and the host, a tar stream (`-`), or another container. The
//! work is [`berth_run::cp`]; this file parses the two paths and picks the direction.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context as _, Result};
use berth_run::cp::{extract_options, extract_stream, transfer, CopyOptions, CpPath, Dest, Source};
use berth_run::Engine;
use clap::Args;

use super::{enter, runroot};
use crate::Context;

#[derive(Args)]
pub struct CpArgs {
    /// Chown files copied into a container to its user (the default); `--archive=false`
    /// keeps the ids of the source.
    #[arg(
        short,
        long,
        value_name = "BOOL",
        num_args = 0..=1,
        require_equals = true,
        default_value_t = true,
        default_missing_value = "true",
        action = clap::ArgAction::Set
    )]
    archive: bool,
    /// Follow a symbolic link that SRC names (copy its target, not the link).
    #[arg(short = 'L', long)]
    follow_link: bool,
    /// Allow a directory to replace a non-directory and the other way round.
    #[arg(long)]
    overwrite: bool,
    /// [CONTAINER:]SRC_PATH, or `-` for a tar stream on stdin.
    src: String,
    /// [CONTAINER:]DEST_PATH, or `-` for a tar stream on stdout.
    dst: String,
}

/// One side of a copy.
enum Side {
    Stream,
    Host(PathBuf),
    Container(String, String),
}

/// `-`, `CONTAINER:PATH`, or a host path (one starting with `/` or `.`, or without `:`).
fn side(arg: &str) -> Result<Side> {
    if arg == "-" {
        return Ok(Side::Stream);
    }
    if arg.starts_with('/') || arg.starts_with('.') {
        return Ok(Side::Host(absolute(arg)?));
    }
    match arg.split_once(':') {
        Some((c, p)) if !c.is_empty() => Ok(Side::Container(c.to_string(), p.to_string())),
        Some(_) => bail!("{arg:?}: the container name is empty"),
        None => Ok(Side::Host(absolute(arg)?)),
    }
}

/// A host path made absolute (the command may enter other namespaces), its trailing `/`
/// or `/.` kept.
fn absolute(arg: &str) -> Result<PathBuf> {
    let p = Path::new(arg);
    if p.is_absolute() {
        return Ok(p.to_path_buf());
    }
    let cwd = std::env::current_dir().context("current directory")?;
    let mut s = cwd.into_os_string();
    s.push("/");
    s.push(arg);
    Ok(PathBuf::from(s))
}

pub fn cp(ctx: &Context, args: CpArgs) -> Result<ExitCode> {
    let (src, dst) = (side(&args.src)?, side(&args.dst)?);
    let opts = CopyOptions {
        archive: args.archive,
        follow_link: args.follow_link,
        overwrite: args.overwrite,
    };
    if !matches!(src, Side::Container(..)) && !matches!(dst, Side::Container(..)) {
        bail!("cp: one of the paths must be CONTAINER:PATH");
    }
    if matches!(dst, Side::Stream) && std::io::IsTerminal::is_terminal(&std::io::stdout()) {
        bail!("refusing to write a tar archive to a terminal: redirect the output");
    }
    enter(ctx)?;
    let store = ctx.store()?;
    let engine = Engine::new(&store, &runroot(ctx))?;
    let src_root = match &src {
        Side::Container(c, _) => Some(engine.copy_root(&engine.get(c)?)?),
        _ => None,
    };
    let dst_root = match &dst {
        Side::Container(c, _) => Some(engine.copy_root(&engine.get(c)?)?),
        _ => None,
    };
    let source = match (&src, &src_root) {
        (Side::Container(_, p), Some(r)) => Some(Source::in_root(
            &r.root,
            &CpPath::container(p),
            opts.follow_link,
        )?),
        (Side::Host(p), _) => Some(Source::host(&CpPath::host(p), opts.follow_link)?),
        _ => None,
    };
    let mut dest = match (&dst, &dst_root) {
        (Side::Container(_, p), Some(r)) => Some(Dest::in_root(&r.root, &CpPath::container(p))?),
        (Side::Host(p), _) => Some(Dest::host(&CpPath::host(p))?),
        _ => None,
    };
    let xopts = extract_options(dst_root.as_ref().map(|r| r.user), &opts);
    match (source, dest.as_mut()) {
        (Some(s), Some(d)) => transfer(s, d, &xopts)?,
        (Some(s), None) => {
            let out = crate::stdio::stdout();
            s.to_stream(std::io::BufWriter::new(out))?.flush()?;
        }
        (None, Some(d)) => extract_stream(std::io::stdin(), d, &xopts)?,
        (None, None) => bail!("cp: one of the paths must be CONTAINER:PATH"),
    }
    Ok(ExitCode::SUCCESS)
}
