//! `berth ps` (`container ls`) as Podman 4.3's: its table (CONTAINER ID IMAGE COMMAND
//! CREATED STATUS PORTS NAMES), `--format json` records (`ListContainer`'s field names and
//! order) and Go templates over its `psReporter` fields.

use std::collections::BTreeMap;
use std::process::ExitCode;

use anyhow::Result;
use berth_run::volumes::is_anonymous;
use berth_run::{Container, Engine, State};
use chrono::{DateTime, Utc};
use clap::Args;
use serde::Serialize;
use serde_json::{json, Value};

use super::runroot;
use crate::output::{go_json, go_time, human_age};
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
    /// `json`, or a Go template (`{{.ID}} {{.Names}} {{.Status}}`; `table …` adds headers).
    #[arg(long)]
    format: Option<String>,
}

/// Podman's table.
const DEFAULT_FORMAT: &str = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.CreatedHuman}}\t\
    {{.Status}}\t{{.Ports}}\t{{.Names}}";

/// Go's zero time as a Unix time, which Podman shows for a start or exit that never was.
const GO_ZERO_UNIX: i64 = -62_135_596_800;

pub fn ps(ctx: &Context, args: PsArgs) -> Result<ExitCode> {
    super::enter(ctx)?;
    let store = ctx.store()?;
    let engine = Engine::new(&store, &runroot(ctx))?;
    let mut list = engine.list()?;
    if !args.all {
        list.retain(|c| c.state == State::Running);
    }
    let json = args.format.as_deref().is_some_and(is_json);
    if json {
        let records: Vec<JsonContainer> = list.iter().map(JsonContainer::new).collect();
        outln!("{}", go_json(&records, "  ")?);
        return Ok(ExitCode::SUCCESS);
    }
    if args.quiet && args.format.is_none() {
        for c in &list {
            outln!("{}", shown_id(&c.id, args.no_trunc));
        }
        return Ok(ExitCode::SUCCESS);
    }
    // Podman's namespaces are fields of the record too (`.Namespaces.PIDNS` is `.PIDNS`).
    let format = args
        .format
        .as_deref()
        .map(|f| f.replace(".Namespaces.", "."));
    let format = ListFormat::new(format.as_deref(), DEFAULT_FORMAT, args.noheading, "ps")?;
    let rows: Vec<Value> = list
        .iter()
        .map(|c| template_value(c, args.no_trunc))
        .collect();
    format.print(&headers(), &rows, "ps")?;
    Ok(ExitCode::SUCCESS)
}

fn shown_id(id: &str, no_trunc: bool) -> &str {
    if no_trunc {
        id
    } else {
        &id[..id.len().min(12)]
    }
}

/// Podman's STATUS (its `State()`): `Created`, `Up 3 seconds ago`, `Exited (0) 2 minutes
/// ago` (`unknown` for an exit code berth could not learn).
fn status(c: &Container) -> String {
    match c.state {
        State::Created => "Created".to_string(),
        State::Running => format!("Up {}", human_age(c.started.or(Some(Utc::now())))),
        State::Exited => {
            let code = c
                .exit_code
                .map(|c| c.to_string())
                .unwrap_or_else(|| "unknown".to_string());
            format!("Exited ({code}) {}", human_age(c.finished))
        }
    }
}

/// The COMMAND column: the command, cut to 17 characters and `...` unless `--no-trunc`.
fn command(c: &Container, no_trunc: bool) -> String {
    let cmd = c.command.join(" ");
    if !no_trunc && cmd.chars().count() > 17 {
        return cmd.chars().take(17).collect::<String>() + "...";
    }
    cmd
}

/// The container paths of the user's `-v` volumes (Podman's `UserVolumes`).
fn mounts(c: &Container) -> Vec<String> {
    c.options
        .volumes
        .iter()
        .map(|v| {
            let rest = if is_anonymous(v) {
                v.as_str()
            } else {
                v.split_once(':').map_or(v.as_str(), |(_, rest)| rest)
            };
            rest.split(':').next().unwrap_or(rest).to_string()
        })
        .collect()
}

fn unix_or_zero(t: Option<DateTime<Utc>>) -> i64 {
    t.map_or(GO_ZERO_UNIX, |t| t.timestamp())
}

fn labels(c: &Container) -> BTreeMap<String, String> {
    c.labels.iter().cloned().collect()
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

/// A container as templates see it: Podman's `psReporter` fields and methods.
fn template_value(c: &Container, no_trunc: bool) -> Value {
    let age = human_age(Some(c.created));
    let status = status(c);
    json!({
        "AutoRemove": c.auto_remove,
        "Command": command(c, no_trunc),
        "Created": go_time(c.created),
        "CreatedAt": go_time(c.created),
        "CreatedHuman": age,
        "RunningFor": age,
        "Exited": c.state == State::Exited,
        "ExitedAt": unix_or_zero(c.finished),
        "ExitCode": c.exit_code.unwrap_or(0),
        "ID": shown_id(&c.id, no_trunc),
        "Image": c.image_name,
        "ImageID": shown_id(c.image_id.trim_start_matches("sha256:"), no_trunc),
        "IsInfra": false,
        "Labels": labels(c),
        "Mounts": mounts(c),
        "Names": c.name,
        "Namespaces": {},
        "Networks": "",
        "Pid": c.pid.unwrap_or(0),
        "Pod": "",
        "PodName": "",
        "Ports": berth_run::published::ps_ports(&c.options.ports),
        "Size": "",
        "StartedAt": unix_or_zero(c.started),
        "State": status,
        "Status": status,
        "Cgroup": "", "IPC": "", "MNT": "", "NET": "", "PIDNS": "", "User": "", "UTS": "",
    })
}

/// Podman's `ps --format json` record (`ListContainer`, then `Created` as a Unix time).
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct JsonContainer {
    auto_remove: bool,
    command: Vec<String>,
    created_at: String,
    exited: bool,
    exited_at: i64,
    exit_code: i32,
    id: String,
    image: String,
    #[serde(rename = "ImageID")]
    image_id: String,
    is_infra: bool,
    labels: Option<BTreeMap<String, String>>,
    mounts: Vec<String>,
    names: Vec<String>,
    namespaces: BTreeMap<String, String>,
    networks: Vec<String>,
    pid: u32,
    pod: String,
    pod_name: String,
    ports: Option<Vec<Value>>,
    size: Option<Value>,
    started_at: i64,
    state: String,
    status: String,
    created: i64,
}

impl JsonContainer {
    fn new(c: &Container) -> JsonContainer {
        JsonContainer {
            auto_remove: c.auto_remove,
            command: c.command.clone(),
            created_at: human_age(Some(c.created)),
            exited: c.state == State::Exited,
            exited_at: unix_or_zero(c.finished),
            exit_code: c.exit_code.unwrap_or(0),
            id: c.id.clone(),
            image: c.image_name.clone(),
            image_id: c.image_id.trim_start_matches("sha256:").to_string(),
            is_infra: false,
            labels: (!c.labels.is_empty()).then(|| labels(c)),
            mounts: mounts(c),
            names: vec![c.name.clone()],
            namespaces: BTreeMap::new(),
            networks: Vec::new(),
            pid: c.pid.unwrap_or(0),
            pod: String::new(),
            pod_name: String::new(),
            ports: (!c.options.ports.is_empty()).then(|| {
                c.options
                    .ports
                    .iter()
                    .filter_map(|p| serde_json::to_value(p).ok())
                    .collect()
            }),
            size: None,
            started_at: unix_or_zero(c.started),
            state: c.state.as_str().to_string(),
            status: status(c),
            created: c.created.timestamp(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_cover_every_field() {
        let c = Container {
            id: "0123456789abcdef".into(),
            name: "web".into(),
            image_id: "sha256:ab".into(),
            image_name: "bb".into(),
            snapshot: String::new(),
            command: ["echo", "hello", "world", "this", "is", "long"]
                .map(String::from)
                .to_vec(),
            options: Default::default(),
            spec: String::new(),
            runtime: String::new(),
            auto_remove: false,
            labels: Vec::new(),
            created: Utc::now(),
            state: State::Created,
            pid: None,
            pid_start: None,
            monitor_pid: None,
            monitor_start: None,
            exit_code: None,
            error: None,
            started: None,
            finished: None,
        };
        let row = template_value(&c, false);
        let headers = headers();
        for key in row.as_object().unwrap().keys() {
            assert!(headers.get(key).is_some(), "{key} has no header");
        }
        assert_eq!(row["Command"], "echo hello world ...");
        assert_eq!(row["ID"], "0123456789ab");
        assert_eq!(row["StartedAt"], GO_ZERO_UNIX);
    }
}
