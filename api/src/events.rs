//! `GET /events?since=&until=&filters=`: the event log ([`berth_image_store::events`], the
//! file the CLI, the monitors and this service append to) as Docker's JSON messages,
//! streamed: what is logged since `since` (without it, nothing from before the request, as
//! Docker), then each new event until `until` has passed (or for ever without `until`,
//! until the client goes).

use std::collections::HashMap;
use std::ops::ControlFlow;

use axum::body::Body;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use berth_image_store::events::filter::Docker;
use berth_image_store::events::{time, Event, EventLog, EventType, Filters, ReadOptions};
use bytes::Bytes;
use serde_json::{json, Value};

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::stream::channel_body;

/// Docker's message for `e` (Podman's compat names: `die`, `destroy`, `delete`…).
pub fn docker_message(e: &Event) -> Value {
    let action = Docker::action(e.kind, &e.status);
    let nanos = e.time.timestamp_nanos_opt().unwrap_or(0);
    let mut attributes: serde_json::Map<String, Value> = e
        .attributes
        .iter()
        .flatten()
        .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
        .collect();
    if !e.name.is_empty() {
        attributes.insert("name".into(), e.name.clone().into());
    }
    let mut msg = json!({
        "Type": e.kind.as_str(),
        "Action": action,
        "Actor": { "ID": e.id },
        "scope": "local",
        "time": e.time.timestamp(),
        "timeNano": nanos,
    });
    match e.kind {
        EventType::Container => {
            attributes.insert("image".into(), e.image.clone().into());
            if action == "die" || action == "exec_die" {
                let code = e.exit_code.unwrap_or(0);
                attributes.insert("exitCode".into(), code.to_string().into());
            }
            msg["status"] = action.into();
            msg["id"] = e.id.clone().into();
            msg["from"] = e.image.clone().into();
        }
        EventType::Image => {
            msg["status"] = action.into();
            msg["id"] = e.id.clone().into();
        }
        EventType::Volume => msg["Actor"]["ID"] = e.name.clone().into(),
        EventType::Network | EventType::Pod | EventType::System => {}
    }
    msg["Actor"]["Attributes"] = Value::Object(attributes);
    msg
}

/// An event as libpod's `/libpod/events` sends it: Docker's message shape with Podman's own
/// status names (`died`, `remove`…) as `Action` and `status`, and `containerExitCode` on
/// every event (Podman's client drops an event without a number there: its
/// `ConvertToLibpodEvent` returns nil, and `podman events` then crashed on it).
pub fn libpod_message(e: &Event) -> Value {
    let mut msg = docker_message(e);
    msg["Action"] = e.status.clone().into();
    if msg.get("status").is_some() {
        msg["status"] = e.status.clone().into();
    }
    if let Some(attrs) = msg["Actor"]["Attributes"].as_object_mut() {
        let code = attrs.remove("exitCode").unwrap_or_else(|| "0".into());
        attrs.insert("containerExitCode".into(), code);
    }
    msg
}

/// `GET /events`: from `since` (default: now) on, following.
pub async fn events(
    State(st): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    serve_events(st, q, docker_message, true, chrono::Utc::now())
}

/// `GET /libpod/events`: the log from its start (or `since`), following unless
/// `stream=false`.
pub async fn libpod_events(
    State(st): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    let follow = q.get("stream").is_none_or(|v| v != "false" && v != "0");
    serve_events(st, q, libpod_message, follow, chrono::DateTime::UNIX_EPOCH)
}

/// The event log as JSON lines of `message`, from `since` (or `from` when not given) to
/// `until`, following when `follow`, until the client goes.
fn serve_events(
    st: AppState,
    q: HashMap<String, String>,
    message: fn(&Event) -> Value,
    follow: bool,
    from: chrono::DateTime<chrono::Utc>,
) -> ApiResult<Response> {
    let now = chrono::Utc::now();
    let time_of = |key: &str| -> ApiResult<_> {
        q.get(key)
            .filter(|v| !v.is_empty())
            .map(|v| time::parse_input_time(v, now).map_err(ApiError::bad_request))
            .transpose()
    };
    let filters = match q.get("filters").filter(|f| !f.is_empty()) {
        Some(f) => Filters::from_docker_json(f).map_err(ApiError::bad_request)?,
        None => Filters::new(),
    };
    let opts = ReadOptions {
        since: Some(time_of("since")?.unwrap_or(from)),
        until: time_of("until")?,
        follow,
        filters,
    };
    let log = berth_image_store::events::configured()
        .cloned()
        .unwrap_or_else(|| {
            EventLog::under_runroot(
                &st.runroot,
                berth_image_store::events::log::DEFAULT_MAX_SIZE,
            )
        });
    let (tx, body) = channel_body();
    tokio::task::spawn_blocking(move || {
        let gone = tx.clone();
        let _ = log.read(
            &opts,
            &mut |e| {
                let mut line = message(e).to_string();
                line.push('\n');
                match tx.blocking_send(Bytes::from(line)) {
                    Ok(()) => ControlFlow::Continue(()),
                    Err(_) => ControlFlow::Break(()),
                }
            },
            &|| !gone.is_closed(),
        );
    });
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        Body::from_stream(body),
    )
        .into_response())
}

/// The exit code the event log last recorded (`died`) for the container `id` (its full id,
/// or its name), when the container itself is gone: a `--rm` container supervised by its
/// own monitor (a terminal) can be removed before a client's `wait` reaches the service.
/// `None`: no such event.
pub(crate) fn last_exit_code(id: &str) -> Option<i32> {
    let log = berth_image_store::events::configured()?;
    let opts = ReadOptions::default();
    let mut found = None;
    let _ = log.read(
        &opts,
        &mut |e: &Event| {
            if e.kind == EventType::Container && e.status == "died" && (e.id == id || e.name == id)
            {
                found = Some(e.exit_code.unwrap_or(0));
            }
            ControlFlow::Continue(())
        },
        &|| false,
    );
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_and_image_messages_are_dockers() {
        let e = Event::container("died", "abc", "web", "localhost/bb:latest").with_exit_code(3);
        let m = docker_message(&e);
        assert_eq!(m["Action"], "die");
        assert_eq!(m["status"], "die");
        assert_eq!(m["from"], "localhost/bb:latest");
        assert_eq!(m["Actor"]["Attributes"]["exitCode"], "3");
        assert_eq!(m["Actor"]["Attributes"]["name"], "web");
        assert_eq!(m["Type"], "container");
        let i = docker_message(&Event::image("remove", "123", "localhost/bb:latest"));
        assert_eq!(i["Action"], "delete");
        assert_eq!(i["Actor"]["ID"], "123");
        let l = libpod_message(&e);
        assert_eq!(l["Action"], "died");
        assert_eq!(l["Actor"]["Attributes"]["containerExitCode"], "3");
        let l = libpod_message(&Event::image("remove", "123", "localhost/bb:latest"));
        assert_eq!(l["Action"], "remove");
        assert_eq!(l["Actor"]["Attributes"]["containerExitCode"], "0");
    }
}
