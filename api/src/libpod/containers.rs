//! libpod's containers: `create` (a SpecGenerator body, [`super::spec`]), `json` (the list:
//! the record `berth ps --format json` prints), `{id}/json` (the record `berth inspect`
//! prints), `{id}/exists`, `{id}/wait` (the exit code as a bare number) and DELETE (libpod's
//! list of removal reports), and `stop` and `logs` through Docker's handlers with libpod's
//! parameters. `start`, `attach` and `kill` are Docker's handlers (see the router).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use berth_run::list_filter::ContainerFilters;
use berth_run::State as CState;
use serde_json::{json, Value};

use super::spec::{create_request, SpecGenerator};
use crate::containers::{wait_for, Condition};
use crate::error::{ApiError, ApiResult};
use crate::filters::parse_filters;
use crate::state::{blocking, flag, AppState, JsonBody};

/// `POST /libpod/containers/create`: 201 `{"Id", "Warnings"}`; 404 when the image is not in
/// the store (Podman's client pulls before it creates).
pub async fn create(
    State(st): State<AppState>,
    JsonBody(body): JsonBody<SpecGenerator>,
) -> ApiResult<Response> {
    crate::containers::create_container(&st, create_request(body)?, Vec::new()).await
}

/// One list entry: `berth ps --format json`'s record, with `Created` as the API has it (Go's
/// RFC 3339 time, where the CLI prints a Unix time) and `Status` the health check's status
/// (empty without one), which Podman's client appends to the state it shows.
fn list_entry(engine: &berth_run::Engine<'_>, c: &berth_run::Container) -> ApiResult<Value> {
    let summary = berth_run::summary::ContainerSummary::of(c);
    let mut v = serde_json::to_value(&summary).map_err(|e| ApiError::internal(e.to_string()))?;
    v["Created"] = json!(c
        .created
        .to_rfc3339_opts(chrono::SecondsFormat::Nanos, true));
    let health = match c.options.healthcheck {
        Some(_) if c.state == CState::Running => engine.health(c).status,
        _ => String::new(),
    };
    v["Status"] = json!(health);
    Ok(v)
}

/// `GET /libpod/containers/json?all=&filters=&last=`: newest first; Docker's filters
/// (`status`, `name`, `id`, `label`, `ancestor`).
pub async fn list(
    State(st): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let all = flag(&q, "all");
    let filters = parse_filters(&q)?;
    let last: Option<usize> = q
        .get("last")
        .and_then(|l| l.parse::<i64>().ok())
        .filter(|&l| l > 0)
        .map(|l| l as usize);
    blocking(&st, move |engine| {
        let mut list = engine.list()?;
        let filters = ContainerFilters::parse(crate::filters::pairs(&filters), &list)?;
        let all = all || last.is_some() || filters.names_status();
        list.sort_by_key(|c| std::cmp::Reverse(c.created));
        let mut out = Vec::new();
        for c in list
            .iter()
            .filter(|c| (all || c.state == CState::Running) && filters.matches(c))
            .take(last.unwrap_or(usize::MAX))
        {
            out.push(list_entry(engine, c)?);
        }
        Ok(Json(Value::Array(out)))
    })
    .await
}

/// `GET /libpod/containers/{id}/json`: Podman's inspect record (`size` is not served).
pub async fn inspect(State(st): State<AppState>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    blocking(&st, move |engine| {
        let c = engine.get(&id)?;
        let record = berth_run::inspect::inspect(engine, &c)?;
        Ok(Json(
            serde_json::to_value(record).map_err(|e| ApiError::internal(e.to_string()))?,
        ))
    })
    .await
}

/// `GET /libpod/containers/{id}/exists`: 204, or 404.
pub async fn exists(State(st): State<AppState>, Path(id): Path<String>) -> ApiResult<Response> {
    blocking(&st, move |engine| {
        engine.get(&id)?;
        Ok(super::no_content())
    })
    .await
}

/// libpod's `condition` values as Docker's wait conditions: the states a container stops
/// in (`stopped`, `exited`; the default) are served.
fn condition(pairs: &[(String, String)]) -> ApiResult<Condition> {
    for (key, value) in pairs.iter().filter(|(k, _)| k == "condition") {
        if !matches!(value.as_str(), "stopped" | "exited" | "") {
            return Err(ApiError::bad_request(format!(
                "{key}={value}: berth's libpod API waits for stopped or exited only"
            )));
        }
    }
    Ok(Condition::NotRunning)
}

/// A flag set when the request that holds it is dropped, which hyper does when its client
/// closes the connection.
#[derive(Default)]
struct ClientGone(Arc<AtomicBool>);

impl Drop for ClientGone {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// `POST /libpod/containers/{id}/wait?condition=`: the exit code, a bare JSON number, once
/// the container is not running (a container gone with `remove` is waited for through the
/// process that supervised it, as Docker's `wait`).
pub async fn wait(
    State(st): State<AppState>,
    Path(id): Path<String>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> ApiResult<Response> {
    let condition = condition(&pairs)?;
    let waiter = st.clone();
    // Set when this request is dropped (the client has gone): the poll then stops.
    let gone = ClientGone::default();
    let flag = gone.0.clone();
    let code = blocking(&st, move |engine| {
        let first = match engine.get(&id) {
            Ok(c) => c,
            // Removed already (`--rm` under its own monitor): its exit as the log has it.
            Err(e @ berth_run::RunError::NoSuchContainer(_)) => {
                return crate::events::last_exit_code(&id).map(Some).ok_or(e.into());
            }
            Err(e) => return Err(e.into()),
        };
        wait_for(engine, &waiter, first, condition, &|| {
            flag.load(Ordering::SeqCst)
        })
    })
    .await?;
    drop(gone);
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        format!("{}\n", code.unwrap_or(-1)),
    )
        .into_response())
}

/// `POST /libpod/containers/{id}/stop?timeout=`: Docker's stop (its `t`).
pub async fn stop(
    State(st): State<AppState>,
    Path(id): Path<String>,
    Query(mut q): Query<HashMap<String, String>>,
) -> ApiResult<StatusCode> {
    if let Some(t) = q.remove("timeout") {
        q.insert("t".to_string(), t);
    }
    crate::containers::stop(State(st), Path(id), Query(q)).await
}

/// `GET /libpod/containers/{id}/logs?stdout=&stderr=&follow=&tail=&timestamps=`: Docker's
/// logs (the same frames); libpod's `tail=-1` is all of it.
pub async fn logs(
    State(st): State<AppState>,
    Path(id): Path<String>,
    Query(mut q): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    if q.get("tail").is_some_and(|t| t.starts_with('-')) {
        q.insert("tail".to_string(), "all".to_string());
    }
    crate::containers::logs(State(st), Path(id), Query(q)).await
}

/// `DELETE /libpod/containers/{id}?force=&volumes=&ignore=`: Docker's removal (a running
/// container only with `force`), answered with libpod's report list `[{"Id", "RawInput"}]`
/// (`ignore`: a missing container is an empty list).
pub async fn remove(
    State(st): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let lookup = id.clone();
    let found = blocking(&st, move |engine| match engine.get(&lookup) {
        Ok(c) => Ok(Some(c.id)),
        Err(berth_run::RunError::NoSuchContainer(_)) => Ok(None),
        Err(e) => Err(e.into()),
    })
    .await?;
    let Some(full) = found else {
        if flag(&q, "ignore") {
            return Ok(Json(json!([])));
        }
        return Err(ApiError::no_such_container(&id));
    };
    let mut docker_q = HashMap::new();
    docker_q.insert("force".to_string(), flag(&q, "force").to_string());
    docker_q.insert(
        "v".to_string(),
        (flag(&q, "volumes") || flag(&q, "v")).to_string(),
    );
    crate::containers::remove(State(st), Path(full.clone()), Query(docker_q)).await?;
    Ok(Json(json!([{ "Id": full, "RawInput": id }])))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_conditions() {
        let q = |v: &[(&str, &str)]| -> Vec<(String, String)> {
            v.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect()
        };
        assert_eq!(condition(&q(&[])).unwrap(), Condition::NotRunning);
        assert_eq!(
            condition(&q(&[("condition", "exited"), ("condition", "stopped")])).unwrap(),
            Condition::NotRunning
        );
        let e = condition(&q(&[("condition", "running")])).unwrap_err();
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
    }
}
