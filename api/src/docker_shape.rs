//! A container record in Docker's shapes: the list entry (`GET /containers/json`) and the
//! inspect document (`GET /containers/{id}/json`), built from the stored
//! [`berth_run::Container`] and the STATUS text `berth ps` shows.

use std::collections::BTreeMap;

use berth_run::{Container, Engine, State};
use serde_json::{json, Value};

use crate::container_network;

/// Docker's time format for a time never reached.
const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

fn time(t: Option<chrono::DateTime<chrono::Utc>>) -> String {
    t.map_or(ZERO_TIME.to_string(), |t| {
        t.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
    })
}

fn labels(c: &Container) -> BTreeMap<&str, &str> {
    c.labels
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

/// The process the container runs, as one line (`ps`'s COMMAND).
fn command_line(c: &Container) -> String {
    c.command.join(" ")
}

/// One entry of Docker's container list.
pub fn list_record(c: &Container) -> Value {
    json!({
        "Id": c.id,
        "Names": [format!("/{}", c.name)],
        "Image": c.image_name,
        "ImageID": c.image_id,
        "Command": command_line(c),
        "Created": c.created.timestamp(),
        "Ports": container_network::list_ports(c),
        "Labels": labels(c),
        "State": berth_run::summary::state_name(c),
        "Status": berth_run::summary::status_text(c),
        "HostConfig": { "NetworkMode": container_network::network_mode(c) },
        "NetworkSettings": { "Networks": container_network::list_networks(c) },
        "Mounts": [],
    })
}

/// A running container's health as Docker's `ps` shows it after `Up …`: `healthy`,
/// `unhealthy` or `health: starting`; `None` without a check or when not running.
pub fn health_word(engine: &Engine<'_>, c: &Container) -> Option<String> {
    if c.options.healthcheck.is_none() || c.state != State::Running {
        return None;
    }
    let status = engine.health(c).status;
    Some(match status.as_str() {
        berth_run::health::STARTING => format!("health: {status}"),
        _ => status,
    })
}

/// [`list_record`] with the health check's word after the status, as Docker lists it.
pub fn list_record_with_health(engine: &Engine<'_>, c: &Container) -> Value {
    let mut v = list_record(c);
    if let Some(word) = health_word(engine, c) {
        v["Status"] = json!(format!("{} ({word})", berth_run::summary::status_text(c)));
    }
    v
}

/// Docker's inspect document of `c`.
pub fn inspect_record(engine: &Engine<'_>, c: &Container) -> Value {
    let running = c.state == State::Running;
    let status = berth_run::summary::state_name(c);
    let (path, args) = match c.command.split_first() {
        Some((p, a)) => (p.clone(), a.to_vec()),
        None => (String::new(), Vec::new()),
    };
    let o = &c.options;
    let mut doc = json!({
        "Id": c.id,
        "Created": time(Some(c.created)),
        "Path": path,
        "Args": args,
        "State": {
            "Status": status,
            "Running": running,
            "Paused": status == "paused",
            "Restarting": false,
            "OOMKilled": false,
            "Dead": false,
            "Pid": if running { c.pid.unwrap_or(0) } else { 0 },
            "ExitCode": c.exit_code.unwrap_or(0),
            "Error": c.error.clone().unwrap_or_default(),
            "StartedAt": time(c.started),
            "FinishedAt": time(c.finished),
        },
        "Image": c.image_id,
        "ResolvConfPath": "",
        "HostnamePath": "",
        "HostsPath": "",
        "LogPath": engine.log_path(&c.id),
        "Name": format!("/{}", c.name),
        "RestartCount": 0,
        "Driver": "overlay",
        "Platform": "linux",
        "MountLabel": "",
        "ProcessLabel": "",
        "AppArmorProfile": "",
        "HostConfig": {
            "Binds": o.volumes,
            "AutoRemove": c.auto_remove,
            "Privileged": o.privileged,
            "ReadonlyRootfs": o.read_only,
            "CapAdd": o.cap_add,
            "CapDrop": o.cap_drop,
            "Init": o.init,
            // Docker's name for a log the daemon keeps and `logs` reads back (berth's is
            // Podman's k8s-file format): docker-py reads the output of `containers.run`
            // only from a `json-file` or `journald` log.
            "LogConfig": { "Type": "json-file", "Config": {} },
            "RestartPolicy": { "Name": "no", "MaximumRetryCount": 0 },
        },
        "Mounts": [],
        "Config": {
            "Hostname": o.hostname.clone().unwrap_or_else(|| c.short_id().to_string()),
            "User": o.user.clone().unwrap_or_default(),
            "Tty": o.terminal,
            // A terminal container's input is served to any client that attaches.
            "OpenStdin": o.terminal,
            "Env": o.env,
            "Cmd": c.command,
            "Image": c.image_name,
            "WorkingDir": o.workdir.clone().unwrap_or_default(),
            "Entrypoint": o.entrypoint,
            "Labels": labels(c),
        },
    });
    if let Some(hc) = &o.healthcheck {
        // Docker's: present only for a container with a check.
        doc["State"]["Health"] = json!(engine.health(c));
        doc["Config"]["Healthcheck"] = json!(hc);
    }
    let catalog = crate::network_names::catalog().ok();
    doc["NetworkSettings"] = container_network::settings(engine, catalog.as_ref(), c);
    if let (Some(hc), Value::Object(net)) = (
        doc["HostConfig"].as_object_mut(),
        container_network::host_config(c),
    ) {
        hc.extend(net);
    }
    doc
}
