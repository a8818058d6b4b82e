//! `berth events`, and where this process's events go ([`configure_log`]).

use std::ops::ControlFlow;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{anyhow, Result};
use berth_image_store::events::{self, time, Event, EventLog, Filters, ReadOptions};
use clap::{ArgAction, Args};

use crate::template::Template;
use crate::Context;

/// Set where the library functions this process calls write their events: containers.conf's
/// `events_logfile_path`, else `<runroot>/events/events.log`, nowhere with `events_logger =
/// "none"`; read at the first event.
pub fn configure_log(ctx: &Context) {
    let runroot: Option<PathBuf> = ctx.runroot.clone();
    events::configure(move || {
        let conf = match berth_trust::containers_conf::ContainersConf::load(
            berth_run::rootless::is_rootless(),
        ) {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!("events: {e}");
                Default::default()
            }
        };
        if conf.events_logger.as_deref() == Some("none") {
            return None;
        }
        let max = conf
            .events_logfile_max_size
            .unwrap_or(events::log::DEFAULT_MAX_SIZE);
        Some(match conf.events_logfile_path {
            Some(path) => EventLog::new(path, max),
            None => {
                let runroot = runroot.clone().unwrap_or_else(berth_run::default_runroot);
                EventLog::under_runroot(&runroot, max)
            }
        })
    });
}

#[derive(Args)]
pub struct EventsArgs {
    /// Show only events matching KEY=VALUE (container, event, image, label, network, type,
    /// volume); values of one key are alternatives, keys must all match.
    #[arg(short, long, value_name = "KEY=VALUE")]
    filter: Vec<String>,
    /// Show events from this time on (a timestamp, Unix seconds, or a duration: `10m`).
    #[arg(long)]
    since: Option<String>,
    /// Show events up to this time; following ends then.
    #[arg(long)]
    until: Option<String>,
    /// Output format: `json`, or a Go template (`{{.Status}} {{.Name}}`).
    #[arg(long)]
    format: Option<String>,
    /// Follow new events until interrupted (`--stream=false`: print what is logged, end).
    #[arg(long, action = ArgAction::Set, num_args = 0..=1, default_value_t = true,
          default_missing_value = "true", value_name = "BOOL")]
    stream: bool,
    /// As `--stream=false`.
    #[arg(long)]
    no_stream: bool,
    /// Do not truncate the output (berth never does; Podman's flag).
    #[arg(long, hide = true)]
    no_trunc: bool,
}

enum Output {
    Human,
    Json,
    Template(Template),
}

pub fn events(_ctx: &Context, args: EventsArgs) -> Result<ExitCode> {
    let now = chrono::Utc::now();
    let parse_time = |s: &Option<String>| -> Result<_> {
        s.as_deref()
            .map(|s| time::parse_input_time(s, now).map_err(|e| anyhow!(e)))
            .transpose()
    };
    let mut filters = Filters::new();
    for f in &args.filter {
        filters.add(f).map_err(|e| anyhow!(e))?;
    }
    let opts = ReadOptions {
        since: parse_time(&args.since)?,
        until: parse_time(&args.until)?,
        follow: args.stream && !args.no_stream,
        filters,
    };
    let output = match args.format.as_deref() {
        None | Some("") => Output::Human,
        Some(f) if crate::template::is_json(f) => Output::Json,
        Some(f) => Output::Template(Template::parse(f, "events")?),
    };
    let Some(log) = events::configured() else {
        return Ok(ExitCode::SUCCESS);
    };
    let mut failed = None;
    log.read(
        &opts,
        &mut |e| match print(&output, e) {
            Ok(()) => ControlFlow::Continue(()),
            Err(err) => {
                failed = Some(err);
                ControlFlow::Break(())
            }
        },
        &|| true,
    )
    .map_err(|e| anyhow!("reading {}: {e}", log.path().display()))?;
    match failed {
        Some(e) => Err(e),
        None => Ok(ExitCode::SUCCESS),
    }
}

fn print(output: &Output, e: &Event) -> Result<()> {
    match output {
        Output::Human => outln!("{}", e.to_human()),
        Output::Json => outln!("{}", serde_json::to_string(e)?),
        Output::Template(t) => {
            // Go prints a `time.Time` field with its `String` method.
            let mut record = serde_json::to_value(e)?;
            record["Time"] = time::go_string(&e.time).into();
            if record.get("ContainerExitCode").is_none() {
                record["ContainerExitCode"] = 0.into();
            }
            out!("{}", t.render_value(&record, "events")?);
        }
    }
    Ok(())
}
