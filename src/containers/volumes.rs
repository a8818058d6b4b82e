//! Volume commands: `volume create|ls|inspect|rm|prune`; `volume ls` as Podman 4.3's (its
//! table, `--format json` records and Go templates over `InspectVolumeData`'s fields).

use std::process::ExitCode;

use anyhow::{bail, Result};
use berth_run::volume_filter::VolumeFilters;
use berth_run::volumes::{Volume, Volumes};
use berth_run::Engine;
use clap::{Args, Subcommand};
use serde::Serialize;
use serde_json::json;
use serde_json::Value;

use super::runroot;
use crate::output::{go_json, go_rfc3339_nano, go_time};
use crate::stdio::OnClosed;
use crate::template::{is_json, ListFormat};
use crate::Context;

#[derive(Subcommand)]
pub enum VolumeCommand {
    /// Create a volume (default name: random).
    Create(CreateArgs),
    /// List volumes.
    #[command(alias = "list")]
    Ls(LsArgs),
    /// Display information about volumes (JSON).
    Inspect(InspectArgs),
    /// Remove volumes (refused while a container uses them).
    Rm(NamesArgs),
    /// Remove every volume no container uses.
    Prune(PruneArgs),
    /// Exit 0 when a volume exists, 1 when it does not.
    Exists(crate::containers::exists::ExistsArgs),
    /// Write a volume's contents as a tar archive.
    Export(super::volume_archive::ExportArgs),
    /// Unpack a tar archive into a volume.
    Import(super::volume_archive::ImportArgs),
}

#[derive(Args)]
pub struct CreateArgs {
    /// A label, KEY=VALUE (repeatable).
    #[arg(short, long)]
    label: Vec<String>,
    /// Volume name.
    name: Option<String>,
}

#[derive(Args)]
pub struct LsArgs {
    /// Show only names.
    #[arg(short, long)]
    quiet: bool,
    /// `json`, or a Go template (`{{.Name}} {{.Mountpoint}}`; `table …` adds headers).
    #[arg(long)]
    format: Option<String>,
    /// Do not print the header.
    #[arg(long = "noheading")]
    noheading: bool,
    /// Only volumes matching: name= (a regular expression), label=, label!=, driver=, scope=,
    /// until=, dangling= (repeatable).
    #[arg(short, long)]
    filter: Vec<String>,
}

#[derive(Args)]
pub struct NamesArgs {
    /// Volume names.
    #[arg(required = true)]
    names: Vec<String>,
}

#[derive(Args)]
pub struct InspectArgs {
    /// Volume names.
    #[arg(required = true)]
    names: Vec<String>,
    /// Output format: `json` (default) or a Go template such as `{{.Mountpoint}}`.
    #[arg(short, long, default_value = "json")]
    format: String,
}

#[derive(Args)]
pub struct PruneArgs {
    /// Do not ask for confirmation (berth never asks; accepted for compatibility).
    #[arg(short, long)]
    force: bool,
}

/// A volume's record in Podman's shape (`volume ls --format json`, `volume inspect`).
pub(crate) fn volume_json(v: &Volume) -> Value {
    serde_json::to_value(berth_run::inspect::VolumeInspect::from(v)).unwrap_or(Value::Null)
}

impl VolumeCommand {
    /// What the command does when its output's reader has gone (see [`crate::stdio`]).
    pub fn on_closed(&self) -> OnClosed {
        match self {
            VolumeCommand::Ls(_)
            | VolumeCommand::Inspect(_)
            | VolumeCommand::Exists(_)
            | VolumeCommand::Export(_) => OnClosed::Quit,
            VolumeCommand::Create(_)
            | VolumeCommand::Rm(_)
            | VolumeCommand::Prune(_)
            | VolumeCommand::Import(_) => OnClosed::Finish,
        }
    }
}

pub fn dispatch(ctx: &Context, command: VolumeCommand) -> Result<ExitCode> {
    if let VolumeCommand::Exists(a) = command {
        return crate::containers::exists::volume(ctx, a);
    }
    super::enter(ctx)?;
    let store = ctx.store()?;
    let engine = Engine::new(&store, &runroot(ctx))?;
    let volumes = Volumes::open(store.root())?;
    match command {
        VolumeCommand::Create(a) => {
            let labels = a
                .label
                .iter()
                .map(|l| {
                    let (k, v) = l.split_once('=').unwrap_or((l, ""));
                    (k.to_string(), v.to_string())
                })
                .collect();
            outln!(
                "{}",
                volumes.create_labelled(a.name.as_deref(), &labels)?.name
            );
        }
        VolumeCommand::Ls(a) => return list(&engine, &volumes, &a),
        VolumeCommand::Inspect(a) => {
            let mut out = Vec::new();
            for n in &a.names {
                out.push(volume_json(&volumes.get(n)?));
            }
            crate::output::print_records(&out, &a.format)?;
        }
        VolumeCommand::Rm(a) => {
            // Each volume on its own, as Podman: the others are removed when one fails; the
            // exit code is the worst failure's (1 no such volume, 2 in use).
            let mut code = 0u8;
            for n in &a.names {
                match engine.remove_volume(n) {
                    Ok(()) => outln!("{n}"),
                    Err(e) => {
                        errln!("Error: {}", e.to_string().replace('\n', " "));
                        code = code.max(e.removal_exit_code());
                    }
                }
            }
            return Ok(ExitCode::from(code));
        }
        VolumeCommand::Prune(_) => {
            for v in engine.prune_volumes(&|_| true)? {
                outln!("{}", v.name);
            }
        }
        VolumeCommand::Exists(a) => return crate::containers::exists::volume(ctx, a),
        VolumeCommand::Export(a) => return super::volume_archive::export(&volumes, a),
        VolumeCommand::Import(a) => return super::volume_archive::import(&volumes, a),
    }
    Ok(ExitCode::SUCCESS)
}

/// `volume ls`: nothing at all for no volumes (as Podman), else the table, JSON or template.
fn list(engine: &Engine<'_>, volumes: &Volumes, args: &LsArgs) -> Result<ExitCode> {
    if args.quiet && args.format.is_some() {
        bail!("quiet and format flags cannot be used together");
    }
    let list = VolumeFilters::parse_texts(&args.filter)?.apply(engine, volumes.list()?)?;
    let json = args.format.as_deref().is_some_and(is_json);
    let format = match (&args.format, args.quiet) {
        _ if json => None,
        (_, true) => Some(ListFormat::new(Some("{{.Name}}"), "", true, "volume ls")?),
        (format, false) => Some(ListFormat::new(
            format.as_deref(),
            "table {{.Driver}}\t{{.Name}}",
            args.noheading,
            "volume ls",
        )?),
    };
    let mounted = if format.as_ref().is_none_or(|f| f.needs("MountCount")) {
        mount_counts(engine)?
    } else {
        Default::default()
    };
    let count = |v: &Volume| mounted.get(&v.name).copied().unwrap_or(0);
    match format {
        None => {
            let records: Vec<JsonVolume> =
                list.iter().map(|v| JsonVolume::new(v, count(v))).collect();
            outln!("{}", go_json(&records, "  ")?);
        }
        Some(_) if list.is_empty() => {}
        Some(format) => {
            let rows: Vec<Value> = list.iter().map(|v| template_value(v, count(v))).collect();
            format.print(&volume_headers(), &rows, "volume ls")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// How many running containers have each named volume mounted (Podman's `MountCount`).
fn mount_counts(engine: &Engine<'_>) -> Result<std::collections::HashMap<String, usize>> {
    let mut out = std::collections::HashMap::new();
    for c in engine.list()? {
        if c.state == berth_run::State::Running {
            for n in &c.options.named_volumes {
                *out.entry(n.clone()).or_insert(0) += 1;
            }
        }
    }
    Ok(out)
}

/// Podman's column names: `InspectVolumeData`'s fields split at their capitals.
fn volume_headers() -> Value {
    json!({
        "Name": "VOLUME NAME", "Driver": "DRIVER", "Mountpoint": "MOUNTPOINT",
        "CreatedAt": "CREATED AT", "Status": "STATUS", "Labels": "LABELS", "Scope": "SCOPE",
        "Options": "OPTIONS", "UID": "UID", "GID": "GID", "Anonymous": "ANONYMOUS",
        "MountCount": "MOUNT COUNT", "NeedsCopyUp": "NEEDS COPY UP",
        "NeedsChown": "NEEDS CHOWN", "Timeout": "TIMEOUT", "StorageID": "STORAGE ID",
    })
}

/// A volume as templates see it: Podman's `InspectVolumeData` fields.
fn template_value(v: &Volume, mount_count: usize) -> Value {
    json!({
        "Name": v.name, "Driver": "local", "Mountpoint": v.mountpoint.display().to_string(),
        "CreatedAt": go_time(v.created), "Status": {}, "Labels": v.labels, "Scope": "local",
        "Options": {}, "UID": 0, "GID": 0, "Anonymous": false, "MountCount": mount_count,
        "NeedsCopyUp": false, "NeedsChown": false, "Timeout": 0, "StorageID": "",
    })
}

/// Podman's `volume ls --format json` record (its zero values left out as Podman does).
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct JsonVolume {
    name: String,
    driver: &'static str,
    mountpoint: String,
    created_at: String,
    labels: serde_json::Map<String, Value>,
    scope: &'static str,
    options: serde_json::Map<String, Value>,
    mount_count: usize,
}

impl JsonVolume {
    fn new(v: &Volume, mount_count: usize) -> JsonVolume {
        JsonVolume {
            name: v.name.clone(),
            driver: "local",
            mountpoint: v.mountpoint.display().to_string(),
            created_at: go_rfc3339_nano(v.created),
            labels: v
                .labels
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect(),
            scope: "local",
            options: Default::default(),
            mount_count,
        }
    }
}
