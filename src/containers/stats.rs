//! `berth stats`: containers' CPU, memory, network, block I/O and PIDs, as `podman stats`:
//! Podman 4's table (`ID NAME CPU % MEM USAGE / LIMIT MEM % NET IO BLOCK IO PIDS CPU TIME
//! AVG CPU %`), its `--format json` field names, and Go-template-like `--format` strings
//! (`{{.Field}}`, `table …`). The figures come from [`berth_run::stats`]; without
//! `--no-stream` the report is redrawn every `--interval` seconds until interrupted, CPU %
//! then measured over the interval.

use std::collections::HashMap;
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Result};
use berth_run::stats::{go_duration, ContainerStats};
use berth_run::{Container, Engine, State};
use clap::Args;
use serde::Serialize;

use super::{enter, runroot};
use crate::template::{tabwriter, Action, Template};
use crate::Context;

#[derive(Args)]
pub struct StatsArgs {
    /// Show all containers (stopped ones with zeros). Only running containers by default.
    #[arg(short, long)]
    all: bool,
    /// `json`, or a Go template of fields (`{{.Name}} {{.CPUPerc}}`; `table …` adds headers).
    #[arg(long)]
    format: Option<String>,
    /// Seconds between reports.
    #[arg(short, long, default_value_t = 5, allow_negative_numbers = true)]
    interval: i64,
    /// Act on the latest container berth is aware of.
    #[arg(short, long)]
    latest: bool,
    /// Do not clear the screen between reports.
    #[arg(long)]
    no_reset: bool,
    /// Print one report and exit.
    #[arg(long)]
    no_stream: bool,
    /// Do not truncate container IDs.
    #[arg(long)]
    no_trunc: bool,
    /// Containers (names or ids); default: every running container.
    containers: Vec<String>,
}

impl StatsArgs {
    /// A report of `containers` (`pod stats`).
    pub(crate) fn for_containers(
        containers: Vec<String>,
        no_stream: bool,
        format: String,
    ) -> StatsArgs {
        StatsArgs {
            all: false,
            format: Some(format),
            interval: 5,
            latest: false,
            no_reset: false,
            no_stream,
            no_trunc: false,
            containers,
        }
    }
}

/// Template fields: name and table header (Podman's `containerStats` fields and methods).
const FIELDS: &[(&str, &str)] = &[
    ("ID", "ID"),
    ("Name", "NAME"),
    ("CPUPerc", "CPU %"),
    ("MemUsage", "MEM USAGE / LIMIT"),
    ("MemUsageBytes", "MEM USAGE / LIMIT"),
    ("MemPerc", "MEM %"),
    ("NetIO", "NET IO"),
    ("BlockIO", "BLOCK IO"),
    ("PIDS", "PIDS"),
    ("UpTime", "CPU TIME"),
    ("Up", "UP"),
    ("AVGCPU", "AVG CPU %"),
    ("ContainerID", "CONTAINER ID"),
    ("CPU", "CPU"),
    ("CPUNano", "CPU NANO"),
    ("SystemNano", "SYSTEM NANO"),
    ("MemLimit", "MEM LIMIT"),
    ("NetInput", "NET INPUT"),
    ("NetOutput", "NET OUTPUT"),
    ("BlockInput", "BLOCK INPUT"),
    ("BlockOutput", "BLOCK OUTPUT"),
    ("PIDs", "PIDS"),
    ("AvgCPU", "AVG CPU"),
    ("Duration", "DURATION"),
];

/// Podman's default table.
const DEFAULT_FORMAT: &str = "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t\
    {{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDS}}\t{{.UpTime}}\t{{.AVGCPU}}";

/// Parse a stats `--format` ([`Template`]): `table` alone is Podman's default table, and
/// every action must be one of [`FIELDS`].
fn parse_format(format: &str) -> Result<Template> {
    let t = Template::parse(format, "stats")?;
    if t.table && t.pieces.is_empty() {
        return parse_format(DEFAULT_FORMAT);
    }
    if !t.is_flat() {
        bail!(
            "template: stats: unsupported template {format:?}: use {{{{.Field}}}} with a field \
             of {}",
            field_names()
        );
    }
    for a in t.actions() {
        let Some([name]) = a.field() else {
            bail!(
                "template: stats: unsupported action in {format:?}: use {{{{.Field}}}} with a \
                 field of {}",
                field_names()
            );
        };
        if !FIELDS.iter().any(|(f, _)| f == name) {
            bail!(
                "template: stats: can't evaluate field {name} in type containerStats \
                 (fields: {})",
                field_names()
            );
        }
    }
    Ok(t)
}

/// An action's field name (a stats action has one, see [`parse_format`]).
fn first(a: &Action) -> &str {
    a.field()
        .and_then(<[String]>::first)
        .map(String::as_str)
        .unwrap_or("")
}

/// A table's header line: each field's column name.
fn header(t: &Template) -> String {
    t.render(|a| {
        FIELDS
            .iter()
            .find(|(n, _)| first(a) == *n)
            .map(|(_, h)| h.to_string())
            .unwrap_or_default()
    })
}

fn field_names() -> String {
    FIELDS
        .iter()
        .map(|(n, _)| *n)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The container id as shown: 12 characters unless `--no-trunc`.
fn shown_id(s: &ContainerStats, no_trunc: bool) -> String {
    if no_trunc {
        s.id.clone()
    } else {
        s.id.chars().take(12).collect()
    }
}

/// The value of template field `f` (one of [`FIELDS`]).
fn field(s: &ContainerStats, f: &str, no_trunc: bool) -> String {
    match f {
        "ID" => shown_id(s, no_trunc),
        "Name" => s.name.clone(),
        "CPUPerc" => s.cpu_perc(),
        "MemUsage" => s.mem_usage_text(),
        "MemUsageBytes" => s.mem_usage_bytes_text(),
        "MemPerc" => s.mem_perc(),
        "NetIO" => s.net_io(),
        "BlockIO" => s.block_io(),
        "PIDS" | "PIDs" => s.pids.to_string(),
        "UpTime" | "Up" => s.cpu_time(),
        "AVGCPU" => s.avg_cpu_perc(),
        "ContainerID" => s.id.clone(),
        "CPU" => s.cpu_percent.to_string(),
        "CPUNano" | "Duration" => s.cpu_nanos.to_string(),
        "SystemNano" => s.system_nanos.to_string(),
        "MemLimit" => s.mem_limit.to_string(),
        "NetInput" => s.net_input.to_string(),
        "NetOutput" => s.net_output.to_string(),
        "BlockInput" => s.block_input.to_string(),
        "BlockOutput" => s.block_output.to_string(),
        "AvgCPU" => s.avg_cpu.to_string(),
        _ => String::new(),
    }
}

/// Podman's `--format json` record.
#[derive(Serialize)]
struct JsonStats {
    id: String,
    name: String,
    cpu_time: String,
    cpu_percent: String,
    avg_cpu: String,
    mem_usage: String,
    mem_percent: String,
    net_io: String,
    block_io: String,
    pids: String,
}

fn to_json(stats: &[ContainerStats], no_trunc: bool) -> Result<String> {
    let records: Vec<JsonStats> = stats
        .iter()
        .map(|s| JsonStats {
            id: shown_id(s, no_trunc),
            name: s.name.clone(),
            cpu_time: go_duration(s.cpu_nanos),
            cpu_percent: s.cpu_perc(),
            avg_cpu: s.avg_cpu_perc(),
            mem_usage: s.mem_usage_text(),
            mem_percent: s.mem_perc(),
            net_io: s.net_io(),
            block_io: s.block_io(),
            pids: s.pids.to_string(),
        })
        .collect();
    Ok(crate::output::go_json(&records, " ")? + "\n")
}

/// What the report covers.
enum Which {
    Named(Vec<String>),
    Latest,
    All,
    Running,
}

/// One report: the stats of the containers `which` names, CPU % since `previous`.
fn collect(
    engine: &Engine,
    which: &Which,
    previous: &HashMap<String, ContainerStats>,
) -> Result<Vec<ContainerStats>> {
    let mut out = Vec::new();
    let named: Vec<Container> = match which {
        Which::Named(names) => names
            .iter()
            .map(|n| engine.get(n))
            .collect::<Result<_, _>>()?,
        Which::Latest => match engine.list()?.into_iter().next() {
            Some(c) => vec![c],
            None => bail!("no containers to show the stats of: there is no latest container"),
        },
        Which::All | Which::Running => {
            for c in engine.list()? {
                if c.state != State::Running {
                    if matches!(which, Which::All) {
                        out.push(ContainerStats::idle(&c));
                    }
                    continue;
                }
                match engine.stats(&c, previous.get(&c.id)) {
                    Ok(s) => out.push(s),
                    // Stopped since it was listed: as one that was never running.
                    Err(_) if engine.get(&c.id)?.state != State::Running => {
                        if matches!(which, Which::All) {
                            out.push(ContainerStats::idle(&c));
                        }
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            return Ok(out);
        }
    };
    for c in named {
        out.push(engine.stats(&c, previous.get(&c.id))?);
    }
    Ok(out)
}

/// `berth stats [CONTAINER…]`: a live (or, with `--no-stream`, one) report of containers'
/// resource use, as `podman stats`.
pub fn stats(ctx: &Context, args: StatsArgs) -> Result<ExitCode> {
    if args.interval < 1 {
        bail!("invalid interval, must be a positive number greater zero");
    }
    let chosen = [args.all, args.latest, !args.containers.is_empty()];
    if chosen.iter().filter(|c| **c).count() > 1 {
        bail!("--all, --latest and containers cannot be used together");
    }
    let format = args.format.as_deref().unwrap_or(DEFAULT_FORMAT);
    let json = matches!(format.trim(), "json" | "{{json .}}");
    let template = if json {
        None
    } else {
        Some(parse_format(format)?)
    };
    // Before entering the user namespace: a plain user on cgroup v1 has nothing to read.
    berth_run::stats::check_supported()?;
    enter(ctx)?;
    let store = ctx.store()?;
    let engine = Engine::new(&store, &runroot(ctx))?;
    let which = if !args.containers.is_empty() {
        Which::Named(args.containers.clone())
    } else if args.latest {
        Which::Latest
    } else if args.all {
        Which::All
    } else {
        Which::Running
    };
    let mut previous: HashMap<String, ContainerStats> = HashMap::new();
    loop {
        let stats = collect(&engine, &which, &previous)?;
        let text = match &template {
            None => to_json(&stats, args.no_trunc)?,
            Some(t) => {
                let mut text = String::new();
                if t.table {
                    text.push_str(&header(t));
                }
                for s in &stats {
                    text.push_str(&t.render(|a| field(s, first(a), args.no_trunc)));
                }
                tabwriter(&text)
            }
        };
        let mut stdout = std::io::BufWriter::new(crate::stdio::stdout());
        if !args.no_stream && !args.no_reset {
            // Clear the screen and home the cursor, as Podman (goterm) does.
            write!(stdout, "\x1b[2J\x1b[1;1H")?;
        }
        stdout.write_all(text.as_bytes())?;
        stdout.flush()?;
        drop(stdout);
        if args.no_stream {
            return Ok(ExitCode::SUCCESS);
        }
        previous = stats.into_iter().map(|s| (s.id.clone(), s)).collect();
        std::thread::sleep(Duration::from_secs(args.interval as u64));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> ContainerStats {
        ContainerStats {
            id: "efa58fce43d593cdaf84022440d4c376b24c71b5b2c9df2cebc2cdcfb405214f".into(),
            name: "pbusy".into(),
            cpu_percent: 35.734,
            avg_cpu: 35.734,
            cpu_nanos: 944_422_300,
            mem_usage: 241_664,
            mem_limit: 67_108_864,
            mem_percent: 0.36,
            pids: 1,
            ..ContainerStats::default()
        }
    }

    #[test]
    fn default_table_as_podman() {
        let t = parse_format(DEFAULT_FORMAT).unwrap();
        let s = sample();
        let text = tabwriter(&(header(&t) + &t.render(|a| field(&s, first(a), false))));
        assert_eq!(
            text,
            "ID            NAME        CPU %       MEM USAGE / LIMIT  MEM %       NET IO      \
             BLOCK IO    PIDS        CPU TIME    AVG CPU %\n\
             efa58fce43d5  pbusy       35.73%      241.7kB / 67.11MB  0.36%       0B / 0B     \
             0B / 0B     1           944.4223ms  35.73%\n"
        );
    }

    #[test]
    fn templates() {
        let t = parse_format("{{.Name}} {{ .MemUsage }}").unwrap();
        assert!(!t.table);
        assert_eq!(
            t.render(|a| field(&sample(), first(a), false)),
            "pbusy 241.7kB / 67.11MB\n"
        );
        let t = parse_format("table {{.ID}} {{.PIDS}}").unwrap();
        assert!(t.table);
        assert_eq!(header(&t), "ID\tPIDS\n");
        assert_eq!(
            t.render(|a| field(&sample(), first(a), true)),
            format!("{}\t1\n", sample().id)
        );
        assert_eq!(parse_format("table").unwrap().pieces.len(), 20);
        let err = parse_format("{{.Foo}}").unwrap_err().to_string();
        assert!(err.contains("can't evaluate field Foo"), "{err}");
        assert!(parse_format("{{range .}}").is_err());
        assert!(parse_format("{{.Name").is_err());
    }

    #[test]
    fn json_uses_podmans_field_names() {
        let text = to_json(&[sample()], false).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v[0]["id"], "efa58fce43d5");
        assert_eq!(v[0]["mem_usage"], "241.7kB / 67.11MB");
        assert_eq!(v[0]["cpu_time"], "944.4223ms");
        assert_eq!(v[0]["pids"], "1");
        assert!(text.starts_with("[\n {\n  \"id\""), "{text}");
        assert_eq!(to_json(&[], false).unwrap(), "[]\n");
    }
}
