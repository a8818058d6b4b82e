//! `system df [-v] [--format]`: disk usage of images, containers and volumes as Podman 4.3
//! prints it ([`berth_run::disk_usage`]): one line per kind (TYPE TOTAL ACTIVE SIZE
//! RECLAIMABLE), or with `-v` a table of each kind's objects.

use std::process::ExitCode;

use anyhow::{bail, Result};
use berth_run::disk_usage::{DiskUsage, UsageTotals};
use berth_run::stats::{human_age, human_size};
use berth_run::Engine;
use clap::Args;
use serde_json::{json, Value};

use crate::containers::{enter, runroot};
use crate::template::{is_json, tabwriter, ListFormat};
use crate::Context;

#[derive(Args)]
pub struct DfArgs {
    /// Pretty-print images using a Go template.
    #[arg(long, value_name = "FORMAT")]
    format: Option<String>,
    /// Show detailed information on disk usage.
    #[arg(short, long)]
    verbose: bool,
}

/// `SIZE (PERCENT%)`, as Podman's RECLAIMABLE column.
fn reclaimable(t: &UsageTotals) -> String {
    let percent = if t.size == 0 {
        0
    } else {
        (t.reclaimable as f64 * 100.0 / t.size as f64).round() as u64
    };
    format!("{} ({percent}%)", human_size(t.reclaimable))
}

fn summary_rows(du: &DiskUsage) -> Vec<Value> {
    [
        ("Images", du.image_totals()),
        ("Containers", du.container_totals()),
        ("Local Volumes", du.volume_totals()),
    ]
    .iter()
    .map(|(kind, t)| {
        json!({
            "Type": kind,
            "Total": t.total,
            "Active": t.active,
            "Size": human_size(t.size),
            "Reclaimable": reclaimable(t),
            "RawSize": t.size,
            "RawReclaimable": t.reclaimable,
        })
    })
    .collect()
}

pub fn df(ctx: &Context, args: DfArgs) -> Result<ExitCode> {
    enter(ctx)?;
    if args.verbose && args.format.is_some() {
        bail!("cannot combine --format and --verbose flags");
    }
    let store = ctx.store()?;
    let engine = Engine::new(&store, &runroot(ctx))?;
    let du = engine.disk_usage()?;
    if args.verbose {
        print_verbose(&du);
        return Ok(ExitCode::SUCCESS);
    }
    let rows = summary_rows(&du);
    if args.format.as_deref().is_some_and(is_json) {
        outln!("{}", crate::output::go_json(&rows, "    ")?);
        return Ok(ExitCode::SUCCESS);
    }
    let format = ListFormat::new(
        args.format.as_deref(),
        "table {{.Type}}\t{{.Total}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}",
        false,
        "system df",
    )?;
    let headers = json!({
        "Type": "TYPE", "Total": "TOTAL", "Active": "ACTIVE", "Size": "SIZE",
        "Reclaimable": "RECLAIMABLE",
    });
    format.print(&headers, &rows, "system df")?;
    Ok(ExitCode::SUCCESS)
}

/// An age as `system df -v` shows it (no "ago").
fn age(when: Option<chrono::DateTime<chrono::Utc>>) -> String {
    let text = human_age(when);
    text.strip_suffix(" ago").unwrap_or(&text).to_string()
}

/// An image name's repository and tag (`<none>` for what it lacks).
fn repo_tag(name: Option<&String>) -> (String, String) {
    let none = || "<none>".to_string();
    match name {
        Some(n) => match n.rsplit_once(':').filter(|(_, t)| !t.contains('/')) {
            Some((r, t)) => (r.to_string(), t.to_string()),
            None => (n.clone(), none()),
        },
        None => (none(), none()),
    }
}

/// Rows of cells through Podman's tab writer.
fn table(rows: Vec<Vec<String>>) -> String {
    let text: String = rows.iter().map(|r| r.join("\t") + "\n").collect();
    tabwriter(&text)
}

fn print_verbose(du: &DiskUsage) {
    let mut images = vec![[
        "REPOSITORY",
        "TAG",
        "IMAGE ID",
        "CREATED",
        "SIZE",
        "SHARED SIZE",
        "UNIQUE SIZE",
        "CONTAINERS",
    ]
    .map(String::from)
    .to_vec()];
    let mut rows: Vec<_> = du
        .images
        .iter()
        .map(|i| (repo_tag(i.image.name_texts().first()), i))
        .collect();
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    for ((repo, tag), i) in rows {
        images.push(vec![
            repo,
            tag,
            i.image.short_id().to_string(),
            age(i.image.created),
            human_size(i.summary.size),
            human_size(i.shared_size),
            human_size(i.unique_size),
            i.summary.containers.to_string(),
        ]);
    }
    let mut containers = vec![[
        "CONTAINER ID",
        "IMAGE",
        "COMMAND",
        "LOCAL VOLUMES",
        "SIZE",
        "CREATED",
        "STATUS",
        "NAMES",
    ]
    .map(String::from)
    .to_vec()];
    let mut sorted: Vec<_> = du.containers.iter().collect();
    sorted.sort_by(|a, b| a.container.id.cmp(&b.container.id));
    for c in sorted {
        let ctr = &c.container;
        containers.push(vec![
            ctr.short_id().to_string(),
            ctr.image_id
                .as_ref()
                .map_or(String::new(), |d| d.digest()[..12].to_string()),
            ctr.command.join(" "),
            c.volumes.to_string(),
            human_size(c.size),
            age(Some(ctr.created)),
            ctr.state.as_str().to_string(),
            ctr.name.clone(),
        ]);
    }
    let mut volumes = vec![["VOLUME NAME", "LINKS", "SIZE"].map(String::from).to_vec()];
    for v in &du.volumes {
        volumes.push(vec![
            v.volume.name.clone(),
            v.links.to_string(),
            human_size(v.size),
        ]);
    }
    outln!("Images space usage:\n");
    out!("{}", table(images));
    outln!("\nContainers space usage:\n");
    out!("{}", table(containers));
    outln!("\nLocal Volumes space usage:\n");
    out!("{}", table(volumes));
}
