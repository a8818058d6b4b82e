//! Store commands: `system check`, `system prune`, `system info`, `version`
//! (`system df`: [`crate::system_df`]; `system reset`: [`crate::system_reset`]).

use std::process::ExitCode;

use anyhow::{bail, Result};
use berth_build::system_info::Info;
use berth_build::system_prune::{prune_system, SystemPruneReport};
use berth_image_store::import::host_arch;
use clap::{Args, Subcommand};
use serde_json::json;

use crate::images::PruneArgs;
use crate::prompt::confirm;
use crate::stdio::OnClosed;
use crate::Context;

#[derive(Subcommand)]
pub enum SystemCommand {
    /// Verify every blob, unpacked layer, image and name in the store.
    Check(CheckArgs),
    /// Remove unused images, unpacked layers, blobs and leftovers.
    Prune(PruneArgs),
    /// Show where berth keeps its store and what it holds.
    Info(InfoArgs),
    /// Serve the Docker-compatible REST API on a socket (root-equivalent: mode 0600).
    Service(crate::service::ServiceArgs),
    /// Show berth's disk usage (images, containers, volumes).
    Df(crate::system_df::DfArgs),
    /// Remove every container, image, volume, network and the build cache: an empty store.
    Reset(crate::system_reset::ResetArgs),
}

impl SystemCommand {
    /// What the command does when its output's reader has gone (see [`crate::stdio`]).
    pub fn on_closed(&self) -> OnClosed {
        match self {
            SystemCommand::Info(_) | SystemCommand::Df(_) => OnClosed::Quit,
            SystemCommand::Check(_)
            | SystemCommand::Prune(_)
            | SystemCommand::Service(_)
            | SystemCommand::Reset(_) => OnClosed::Finish,
        }
    }
}

pub fn dispatch(ctx: &Context, command: SystemCommand) -> Result<ExitCode> {
    match command {
        SystemCommand::Check(a) => check(ctx, a),
        SystemCommand::Prune(a) => prune(ctx, a),
        SystemCommand::Info(a) => info(ctx, a),
        SystemCommand::Service(a) => crate::service::service(ctx, a),
        SystemCommand::Df(a) => crate::system_df::df(ctx, a),
        SystemCommand::Reset(a) => crate::system_reset::reset(ctx, a),
    }
}

#[derive(Args)]
pub struct CheckArgs {
    /// Remove what is damaged.
    #[arg(short, long)]
    repair: bool,
}

/// Exits 0 when the store is consistent, 1 when damage was found (even if repaired).
pub fn check(ctx: &Context, args: CheckArgs) -> Result<ExitCode> {
    let store = ctx.store()?;
    let mut report = store.check(args.repair)?;
    // Then what killed berths left outside the store: RUN steps' bundles, network state.
    let runroot = crate::containers::runroot(ctx);
    let engine = berth_run::Engine::new(&store, &runroot)?;
    let outside = berth_run::leftovers::check(
        store.root(),
        engine.records(),
        &runroot,
        &berth_network::NetworkDirs::for_current_user(),
        args.repair,
    )?;
    report.problems.extend(outside.problems);
    report.repaired.extend(outside.repaired);
    for problem in &report.problems {
        outln!("{}: {}", problem.what, problem.reason);
    }
    for removed in &report.repaired {
        outln!("removed {removed}");
    }
    errln!(
        "checked {} blobs, {} images, {} layers: {} problems",
        report.blobs_checked,
        report.images_checked,
        report.layers_checked,
        report.problems.len()
    );
    Ok(if report.problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

pub fn prune(ctx: &Context, args: PruneArgs) -> Result<ExitCode> {
    let what = if args.all {
        "all images not in use"
    } else {
        "dangling images"
    };
    if !args.force
        && !confirm(&format!(
            "This command removes {what}, unused layers and blobs, stale build cache entries, and leftovers of interrupted writes."
        ))?
    {
        return Ok(ExitCode::SUCCESS);
    }
    let store = ctx.store()?;
    let SystemPruneReport {
        store: report,
        build_cache: cache,
    } = prune_system(&store, args.all)?;
    if !report.images.is_empty() {
        outln!("Deleted Images");
        for id in &report.images {
            outln!("{}", id.digest());
        }
    }
    if cache.entries > 0 || cache.mount_caches {
        outln!(
            "Build cache: {} entries removed{}",
            cache.entries,
            if cache.mount_caches {
                ", RUN --mount=type=cache directories removed"
            } else {
                ""
            }
        );
    }
    // Podman prints Go's `units.HumanSize` here (`0B`, `1.234MB`), not the image lists' form.
    outln!(
        "Total reclaimed space: {}",
        berth_run::stats::human_size(report.bytes_freed)
    );
    Ok(ExitCode::SUCCESS)
}

#[derive(Args)]
pub struct InfoArgs {
    /// Output format: YAML (default), `json`, or a Go template with Podman's field names
    /// (`{{.Host.Arch}}`, `{{.Store.GraphRoot}}`).
    #[arg(short, long)]
    format: Option<String>,
}

/// `info` and `system info`: Podman's record, as far as berth has the data, under Podman's key
/// names; YAML by default as Podman's.
pub fn info(ctx: &Context, args: InfoArgs) -> Result<ExitCode> {
    let store = ctx.store()?;
    let info = Info::gather(
        &store,
        &crate::containers::runroot(ctx),
        env!("CARGO_PKG_VERSION"),
    )?;
    let out = serde_json::to_value(&info)?;
    match args.format.as_deref() {
        None => out!("{}", serde_norway::to_string(&out)?),
        Some("json") => outln!("{}", serde_json::to_string_pretty(&out)?),
        Some(template) => {
            let t = crate::template::Template::parse(template, "info")?;
            out!("{}", t.render_value(&go_names(&out), "info")?);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The record with Go's field names, which `--format` templates use (`host.arch` is
/// `.Host.Arch`, `os` is `.OS`, as Podman's structs name them).
fn go_names(value: &serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::Object(map) => map
            .iter()
            .map(|(k, v)| {
                let name = match k.as_str() {
                    "os" => "OS".to_string(),
                    "cpus" => "CPUs".to_string(),
                    _ => {
                        let mut chars = k.chars();
                        chars
                            .next()
                            .map(|c| c.to_uppercase().chain(chars).collect())
                            .unwrap_or_default()
                    }
                };
                (name, go_names(v))
            })
            .collect(),
        other => other.clone(),
    }
}

#[derive(Args)]
pub struct VersionArgs {
    /// Output format: `json` or the default text.
    #[arg(short, long)]
    format: Option<String>,
}

pub fn version(_ctx: &Context, args: VersionArgs) -> Result<ExitCode> {
    let version = env!("CARGO_PKG_VERSION");
    match args.format.as_deref() {
        Some("json") => outln!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "Client": { "Version": version, "OsArch": format!("{}/{}", std::env::consts::OS, host_arch()) }
            }))?
        ),
        None => {
            outln!("Version:      {version}");
            outln!("OS/Arch:      {}/{}", std::env::consts::OS, host_arch());
        }
        Some(other) => bail!("unknown --format {other:?}: use json"),
    }
    Ok(ExitCode::SUCCESS)
}
