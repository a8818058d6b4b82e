//! `berth ps` (`container ls`) as Podman 4.3's: its table (CONTAINER ID IMAGE COMMAND
//! CREATED STATUS PORTS NAMES), `--format json` records (berth-run's
//! [`ContainerSummary`], printed with Podman's indent) and Go templates over its
//! `psReporter` fields, read from the same records.

use std::collections::HashMap;
use std::process::ExitCode;

use anyhow::Result;
use berth_run::disk_usage::ContainerSize;
use berth_run::list_filter::ContainerFilters;
use berth_run::stats::human_size_with_precision;
use berth_run::summary::ContainerSummary;
use berth_run::{Engine, State};
use clap::Args;
use serde_json::{json, Value};

use super::runroot;
use crate::output::{go_json, go_time};
use crate::template::{is_json, ListFormat};
use crate::Context;

#[derive(Args)]
pub struct PsArgs {
    /// Show all containers (default: running only).
    #[arg(short, long)]
    all: bool,
    /// Show only container ids.
    #[arg(short, long)]
    quiet: bool,
    /// Do not truncate ids and commands.
    #[arg(long)]
    no_trunc: bool,
    /// Do not print the header.
    #[arg(long = "noheading")]
    noheading: bool,
    /// Also list working containers (`berth buildah from`), as Podman lists Buildah's.
    #[arg(long)]
    external: bool,
    /// `json`, or a Go template (`{{.ID}} {{.Names}} {{.Status}}`; `table …` adds headers).
    #[arg(long)]
    format: Option<String>,
    /// Only containers matching: id=, name= (a regular expression), label=, label!=, exited=,
    /// status=, ancestor=, before=, since=, until=, volume=, network= (repeatable).
    #[arg(short, long)]
    filter: Vec<String>,
    /// Show the N most recently created containers (any state).
    #[arg(short = 'n', long, value_name = "N")]
    last: Option<usize>,
    /// Show the most recently created container (any state).
    #[arg(short, long)]
    latest: bool,
    /// Print the ID and name of the pod the containers are associated with.
    #[arg(short, long)]
    pod: bool,
    /// Show each container's size: its writable layer and (virtual) its whole root file
    /// system.
    #[arg(short, long)]
    size: bool,
    /// Sort by command, created, id, image, names, runningfor, size or status.
    #[arg(long, value_parser = ["command", "created", "id", "image", "names", "runningfor", "size", "status"])]
    sort: Option<String>,
}

/// Podman's table.
const DEFAULT_FORMAT: &str = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.CreatedHuman}}\t\
    {{.Status}}\t{{.Ports}}\t{{.Names}}";

pub fn ps(ctx: &Context, args: PsArgs) -> Result<ExitCode> {
    super::enter(ctx)?;
    let store = ctx.store()?;
    let engine = Engine::new(&store, &runroot(ctx))?;
    let mut list = engine.list()?;
    let filters = ContainerFilters::parse_texts(&args.filter, &list)?;
    let last = if args.latest { Some(1) } else { args.last };
    let all = args.all || last.is_some() || filters.names_status();
    list.retain(|c| (all || c.state == State::Running) && filters.matches(c));
    if let Some(n) = last {
        list.sort_by_key(|c| std::cmp::Reverse(c.created));
        list.truncate(n);
    }
    let by_size = args.sort.as_deref() == Some("size");
    let mut sizes = HashMap::new();
    if args.size || by_size {
        for c in &list {
            sizes.insert(c.id.clone(), engine.container_size(c)?);
        }
    }
    if let Some(key) = &args.sort {
        sort(&mut list, key, &sizes);
    }
    let mut summaries: Vec<ContainerSummary> = list
        .iter()
        .map(|c| {
            let mut s = ContainerSummary::with_health(&engine, c);
            if args.size {
                s.size = sizes.get(&c.id).and_then(|z| serde_json::to_value(z).ok());
            }
            s
        })
        .collect();
    if args.pod {
        berth_run::pod_summary::fill_pod_names(&engine, &mut summaries)?;
    }

    // `--external`: the working containers after berth's own.
    let summaries = if args.external {
        [
            summaries,
            berth_build::verbs::inspect::ps_summaries(&store)?,
        ]
        .concat()
    } else {
        summaries
    };
    if args.format.as_deref().is_some_and(is_json) {
        outln!("{}", go_json(&summaries, "  ")?);
        return Ok(ExitCode::SUCCESS);
    }
    if args.quiet && args.format.is_none() {
        for c in &summaries {
            outln!("{}", shown_id(&c.id, args.no_trunc));
        }
        return Ok(ExitCode::SUCCESS);
    }
    // Podman's namespaces are fields of the record too (`.Namespaces.PIDNS` is `.PIDNS`).
    let format = args
        .format
        .as_deref()
        .map(|f| f.replace(".Namespaces.", "."));
    // `--pod` adds Podman's POD ID and PODNAME columns to the default table, `--size` its
    // SIZE column.
    let mut default = DEFAULT_FORMAT.to_string();
    if args.pod {
        default.push_str("\t{{.Pod}}\t{{.PodName}}");
    }
    if args.size {
        default.push_str("\t{{.Size}}");
    }
    let format = ListFormat::new(format.as_deref(), &default, args.noheading, "ps")?;
    let rows: Vec<Value> = summaries
        .iter()
        .map(|s| template_value(s, args.no_trunc))
        .collect();
    format.print(&headers(), &rows, "ps")?;
    Ok(ExitCode::SUCCESS)
}

/// Podman's `--sort` orders (`created` and `runningfor`: newest first; `size`: the
/// writable layer's, smallest first).
fn sort(list: &mut [berth_run::Container], key: &str, sizes: &HashMap<String, ContainerSize>) {
    match key {
        "size" => list.sort_by_key(|c| sizes.get(&c.id).map_or(0, |z| z.rw)),
        "command" => list.sort_by(|a, b| a.command.cmp(&b.command)),
        "id" => list.sort_by(|a, b| a.id.cmp(&b.id)),
        "image" => list.sort_by(|a, b| a.image_name.cmp(&b.image_name)),
        "names" => list.sort_by(|a, b| a.name.cmp(&b.name)),
        "status" => list.sort_by_key(berth_run::summary::status_text),
        _ => list.sort_by_key(|c| std::cmp::Reverse(c.created)),
    }
}

/// Podman's SIZE: `12B (virtual 1.23MB)` (empty without `--size`).
fn size_text(size: Option<&Value>) -> String {
    let Some(size) = size else {
        return String::new();
    };
    let bytes = |k: &str| size[k].as_u64().unwrap_or(0);
    format!(
        "{} (virtual {})",
        human_size_with_precision(bytes("rwSize"), 3),
        human_size_with_precision(bytes("rootFsSize"), 3)
    )
}

fn shown_id(id: &str, no_trunc: bool) -> &str {
    if no_trunc {
        id
    } else {
        &id[..id.len().min(12)]
    }
}

/// Podman's column names: its fields split at their capitals, upper-cased, with its
/// overrides.
fn headers() -> Value {
    json!({
        "AutoRemove": "AUTO REMOVE", "Command": "COMMAND", "Created": "CREATED",
        "CreatedAt": "CREATED AT", "Exited": "EXITED", "ExitedAt": "EXITED AT",
        "ExitCode": "EXIT CODE", "ID": "CONTAINER ID", "Image": "IMAGE", "ImageID": "IMAGE ID",
        "IsInfra": "IS INFRA", "Labels": "LABELS", "Mounts": "MOUNTS", "Names": "NAMES",
        "Namespaces": "NAMESPACES", "Networks": "NETWORKS", "Pid": "PID", "Pod": "POD ID",
        "PodName": "PODNAME", "Ports": "PORTS", "Size": "SIZE", "StartedAt": "STARTED AT",
        "State": "STATE", "Status": "STATUS", "Cgroup": "CGROUPNS", "CreatedHuman": "CREATED",
        "IPC": "IPC", "MNT": "MNT", "NET": "NET", "PIDNS": "PIDNS", "RunningFor": "RUNNING FOR",
        "UTS": "UTS", "User": "USERNS",
    })
}

/// A container as templates see it: Podman's `psReporter` fields and methods over its
/// list record.
fn template_value(s: &ContainerSummary, no_trunc: bool) -> Value {
    json!({
        "AutoRemove": s.auto_remove,
        "Command": s.command_line(!no_trunc),
        "Created": go_time(s.created),
        "CreatedAt": go_time(s.created),
        "CreatedHuman": s.created_at,
        "RunningFor": s.created_at,
        "Exited": s.exited,
        "ExitedAt": s.exited_at,
        "ExitCode": s.exit_code,
        "ID": shown_id(&s.id, no_trunc),
        "Image": s.image,
        "ImageID": shown_id(&s.image_id, no_trunc),
        "IsInfra": s.is_infra,
        "Labels": s.labels.clone().unwrap_or_default(),
        "Mounts": s.mounts,
        "Names": s.names.first().cloned().unwrap_or_default(),
        "Namespaces": s.namespaces,
        "Networks": s.networks.join(","),
        "Pid": s.pid,
        "Pod": shown_id(&s.pod, no_trunc),
        "PodName": s.pod_name,
        "Ports": berth_run::published::ps_ports(s.ports.as_deref().unwrap_or_default()),
        "Size": size_text(s.size.as_ref()),
        "StartedAt": s.started_at,
        "State": s.status,
        "Status": s.status,
        "Cgroup": "", "IPC": "", "MNT": "", "NET": "", "PIDNS": "", "User": "", "UTS": "",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_cover_every_field() {
        let c = berth_run::testutil::container(State::Created);
        let row = template_value(&ContainerSummary::of(&c), false);
        let headers = headers();
        for key in row.as_object().unwrap().keys() {
            assert!(headers.get(key).is_some(), "{key} has no header");
        }
        assert_eq!(row["Command"], "echo hello world ...");
        assert_eq!(row["ID"], "0123456789ab");
        assert_eq!(row["StartedAt"], -62_135_596_800_i64);
        assert_eq!(row["Names"], "web");
    }
}
