//! `GET /containers/{id}/top?ps_args=` (Docker's `{"Titles", "Processes"}`, from `berth
//! top`'s library call) and `GET /containers/{id}/stats?stream=&one-shot=` (Docker's stats
//! JSON, from `berth stats`' samples: one object, or one line a second while streaming).

use std::collections::HashMap;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use berth_run::stats::ContainerStats;
use serde_json::{json, Value};

use crate::error::ApiResult;
use crate::state::{blocking, flag, spawn_with_engine, AppState};
use crate::stream::{channel_body, LineSender};

/// `ps -ef`'s columns, as Docker shows them by default, and berth's descriptors for them.
const PS_EF: &[(&str, &str)] = &[
    ("UID", "user"),
    ("PID", "pid"),
    ("PPID", "ppid"),
    ("C", "pcpu"),
    ("STIME", "stime"),
    ("TTY", "tty"),
    ("TIME", "time"),
    ("CMD", "args"),
];

/// `GET /containers/{id}/top?ps_args=`: `ps -ef`'s columns, or berth's (Podman's)
/// descriptors given as `ps_args` (`pid,args`); ps options (`-ef`, `aux`) mean the default.
pub async fn top(
    State(st): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let args = q.get("ps_args").map(String::as_str).unwrap_or("").trim();
    let ps_options = args.is_empty() || args.starts_with('-') || args == "aux";
    let (titles, descriptors) = if ps_options {
        (
            PS_EF.iter().map(|(t, _)| t.to_string()).collect(),
            PS_EF.iter().map(|(_, d)| d.to_string()).collect(),
        )
    } else {
        let words: Vec<String> = args.split_whitespace().map(String::from).collect();
        (Vec::new(), berth_run::top::parse_descriptors(&words)?)
    };
    blocking(&st, move |engine| {
        let c = engine.get(&id)?;
        let top = engine.top(&c, &descriptors)?;
        let titles = if titles.is_empty() {
            top.headers
        } else {
            titles
        };
        Ok(Json(json!({ "Titles": titles, "Processes": top.rows })))
    })
    .await
}

/// The host's CPU time, nanoseconds (`/proc/stat`'s `cpu` line), as Docker's
/// `system_cpu_usage`.
fn system_cpu_nanos() -> u64 {
    // SAFETY: sysconf has no memory effects.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    std::fs::read_to_string("/proc/stat")
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("cpu "))?.to_string();
            Some(
                line.split_whitespace()
                    .skip(1)
                    .filter_map(|f| f.parse::<u64>().ok())
                    .sum::<u64>(),
            )
        })
        .map_or(0, |ticks| ticks.saturating_mul(1_000_000_000 / hz))
}

/// One sample with the host's CPU time at its reading.
#[derive(Clone)]
struct Sample {
    stats: ContainerStats,
    system: u64,
}

fn cpu_json(s: Option<&Sample>, cpus: usize) -> Value {
    match s {
        Some(s) => json!({
            "cpu_usage": { "total_usage": s.stats.cpu_nanos, "usage_in_kernelmode": 0, "usage_in_usermode": 0 },
            "system_cpu_usage": s.system,
            "online_cpus": cpus,
            "throttling_data": { "periods": 0, "throttled_periods": 0, "throttled_time": 0 },
        }),
        None => json!({ "cpu_usage": { "total_usage": 0 }, "throttling_data": {} }),
    }
}

fn rfc3339(nanos: u64) -> String {
    chrono::DateTime::from_timestamp_nanos(nanos as i64)
        .to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}

/// Docker's stats object of `now` after `pre`.
fn stats_json(name: &str, now: &Sample, pre: Option<&Sample>) -> Value {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let s = &now.stats;
    json!({
        "read": rfc3339(s.system_nanos),
        "preread": pre.map_or("0001-01-01T00:00:00Z".to_string(), |p| rfc3339(p.stats.system_nanos)),
        "id": s.id,
        "name": format!("/{name}"),
        "num_procs": 0,
        "pids_stats": { "current": s.pids },
        "cpu_stats": cpu_json(Some(now), cpus),
        "precpu_stats": cpu_json(pre, cpus),
        "memory_stats": { "usage": s.mem_usage, "limit": s.mem_limit, "stats": {} },
        "blkio_stats": { "io_service_bytes_recursive": [
            { "major": 0, "minor": 0, "op": "read", "value": s.block_input },
            { "major": 0, "minor": 0, "op": "write", "value": s.block_output },
        ] },
        "networks": { "eth0": {
            "rx_bytes": s.net_input, "tx_bytes": s.net_output,
            "rx_packets": 0, "tx_packets": 0, "rx_errors": 0, "tx_errors": 0,
            "rx_dropped": 0, "tx_dropped": 0,
        } },
    })
}

/// `GET /containers/{id}/stats?stream=&one-shot=`: streamed (the default), a line a second
/// until the container stops or the client goes; else one object, measured over a second
/// unless `one-shot`.
pub async fn stats(
    State(st): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    let stream = q.get("stream").is_none_or(|_| flag(&q, "stream"));
    let one_shot = flag(&q, "one-shot");
    let lookup = id.clone();
    let (c, first) = blocking(&st, move |engine| {
        let c = engine.get(&lookup)?;
        let stats = engine.stats(&c, None)?;
        Ok((
            c,
            Sample {
                stats,
                system: system_cpu_nanos(),
            },
        ))
    })
    .await?;
    if !stream {
        if one_shot {
            return Ok(Json(stats_json(&c.name, &first, None)).into_response());
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        let (c2, pre) = (c.clone(), first.clone());
        let now = blocking(&st, move |engine| {
            let stats = engine.stats(&c2, Some(&pre.stats))?;
            Ok(Sample {
                stats,
                system: system_cpu_nanos(),
            })
        })
        .await?;
        return Ok(Json(stats_json(&c.name, &now, Some(&first))).into_response());
    }
    let (tx, body) = channel_body();
    spawn_with_engine(&st, move |engine| {
        let lines = LineSender(tx);
        let mut pre: Option<Sample> = None;
        let mut now = first;
        loop {
            lines.json(&stats_json(&c.name, &now, pre.as_ref()));
            if lines.0.is_closed() {
                return;
            }
            std::thread::sleep(Duration::from_secs(1));
            let Ok(next) = engine.stats(&c, Some(&now.stats)) else {
                return;
            };
            pre = Some(now);
            now = Sample {
                stats: next,
                system: system_cpu_nanos(),
            };
        }
    });
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(body),
    )
        .into_response())
}
