//! Containers: `create`, `json` (list), `{id}/json`, `start`, `stop`, `kill`, `wait`, `logs`
//! and DELETE, each one call into `berth_run::Engine` as the CLI makes it. The Docker shapes
//! of the records are in [`crate::docker_shape`].

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use berth_run::{CreateRequest, RunError, RunOptions, State as CState};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::docker_shape::{inspect_record, list_record_with_health};
use crate::error::{ApiError, ApiResult};
use berth_run::list_filter::ContainerFilters;

use crate::filters::parse_filters;
use crate::state::{blocking, flag, AppState, JsonBody, Supervised};
use crate::stream::{channel_body, FrameWriter, StreamId};

/// The fields of Docker's create body that berth serves; others are ignored, as Docker
/// ignores fields it does not know.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct CreateBody {
    pub image: String,
    pub cmd: Option<Vec<String>>,
    /// An array, a string (one word) or null.
    pub entrypoint: Option<Value>,
    pub env: Option<Vec<String>>,
    pub working_dir: Option<String>,
    pub user: Option<String>,
    pub hostname: Option<String>,
    pub labels: Option<BTreeMap<String, String>>,
    pub tty: bool,
    pub open_stdin: bool,
    pub stop_signal: Option<String>,
    /// Docker's `Config.Healthcheck` ([`crate::create_health`]).
    pub healthcheck: Option<Value>,
    pub host_config: Option<HostConfig>,
    #[serde(flatten)]
    pub network: crate::create_network::ConfigNetwork,
}

/// The part of `HostConfig` berth serves.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct HostConfig {
    pub binds: Option<Vec<String>>,
    pub auto_remove: bool,
    pub privileged: bool,
    pub read_only: bool,
    pub cap_add: Option<Vec<String>>,
    pub cap_drop: Option<Vec<String>>,
    pub init: Option<bool>,
    pub restart_policy: Option<RestartPolicyBody>,
    #[serde(flatten)]
    pub network: crate::create_network::HostNetwork,
}

/// Docker's `HostConfig.RestartPolicy`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RestartPolicyBody {
    pub name: String,
    pub maximum_retry_count: u32,
}

impl RestartPolicyBody {
    /// The policy `--restart` would give: `""` and `no` are none; `on-failure` keeps its
    /// count (0: no limit).
    fn policy(&self) -> ApiResult<berth_run::restart_policy::RestartPolicy> {
        let text = match (self.name.as_str(), self.maximum_retry_count) {
            ("", _) => "no".to_string(),
            ("on-failure", n) if n > 0 => format!("on-failure:{n}"),
            (name, _) => name.to_string(),
        };
        text.parse()
            .map_err(|e: RunError| ApiError::bad_request(format!("HostConfig.RestartPolicy: {e}")))
    }
}

fn entrypoint(v: Option<Value>) -> ApiResult<Option<Vec<String>>> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(vec![s])),
        Some(v @ Value::Array(_)) => serde_json::from_value(v)
            .map(Some)
            .map_err(|e| ApiError::bad_request(format!("Entrypoint: {e}"))),
        Some(_) => Err(ApiError::bad_request(
            "Entrypoint: a string or an array of strings",
        )),
    }
}

/// Docker's create body → the engine's request (the same one `berth create` makes).
/// Also the warnings for the response (Podman's, of the network flags).
pub fn create_request(
    body: CreateBody,
    name: Option<String>,
) -> ApiResult<(CreateRequest, Vec<String>)> {
    if body.image.is_empty() {
        return Err(ApiError::bad_request("Config.Image: an image is required"));
    }
    let hc = body.host_config.unwrap_or_default();
    let stop_signal = body
        .stop_signal
        .as_deref()
        .map(berth_run::signals::parse_signal)
        .transpose()?;
    let options = RunOptions {
        entrypoint: entrypoint(body.entrypoint)?,
        command: body.cmd.unwrap_or_default(),
        env: body.env.unwrap_or_default(),
        workdir: body.working_dir.filter(|w| !w.is_empty()),
        user: body.user.filter(|u| !u.is_empty()),
        hostname: body.hostname.filter(|h| !h.is_empty()),
        terminal: body.tty,
        cap_add: hc.cap_add.unwrap_or_default(),
        cap_drop: hc.cap_drop.unwrap_or_default(),
        privileged: hc.privileged,
        volumes: hc
            .binds
            .unwrap_or_default()
            .iter()
            .map(|b| {
                b.parse()
                    .map_err(|e| ApiError::bad_request(format!("HostConfig.Binds: {e}")))
            })
            .collect::<ApiResult<_>>()?,
        read_only: hc.read_only,
        stop_signal,
        init: hc.init.unwrap_or(false),
        ..RunOptions::default()
    };
    let mut options = options;
    crate::create_health::apply(body.healthcheck, &mut options)?;
    if let Some(policy) = &hc.restart_policy {
        options.restart = policy.policy()?;
        berth_run::restart_policy::check_auto_remove(options.restart, hc.auto_remove)?;
    }
    let warnings = crate::create_network::apply(body.network, hc.network, &mut options)?;
    let _ = body.open_stdin;
    let req = CreateRequest {
        image: body.image,
        name: name.filter(|n| !n.is_empty()),
        options,
        runtime: None,
        keep_mounted: false,
        auto_remove: hc.auto_remove,
        labels: body.labels.unwrap_or_default().into_iter().collect(),
    };
    Ok((req, warnings))
}

/// `POST /containers/create?name=`: 201 `{"Id", "Warnings"}`; 404 when the image is not in
/// the store (the docker CLI then pulls it and asks again).
pub async fn create(
    State(st): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
    JsonBody(body): JsonBody<CreateBody>,
) -> ApiResult<Response> {
    let (req, warnings) = create_request(body, q.get("name").cloned())?;
    create_container(&st, req, warnings).await
}

/// Create the container `req` asks for: 201 `{"Id", "Warnings"}`, or 404 with Docker's
/// words when the image is not in the store (libpod's create answers the same).
pub(crate) async fn create_container(
    st: &AppState,
    req: CreateRequest,
    warnings: Vec<String>,
) -> ApiResult<Response> {
    let id = blocking(st, move |engine| {
        engine
            .store()
            .lookup_image(&req.image)
            .map_err(|_| ApiError::no_such_image(&req.image))?;
        Ok(engine.create(&req)?.id)
    })
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "Id": id, "Warnings": warnings })),
    )
        .into_response())
}

/// `GET /containers/json?all=&filters=`: newest first, through the container filters
/// `berth ps --filter` applies (a `status` filter picks among all containers).
pub async fn list(
    State(st): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let all = flag(&q, "all");
    let filters = parse_filters(&q)?;
    blocking(&st, move |engine| {
        let mut list = engine.list()?;
        let filters = ContainerFilters::parse(crate::filters::pairs(&filters), &list)?;
        let all = all || filters.names_status();
        list.sort_by_key(|c| std::cmp::Reverse(c.created));
        Ok(Json(Value::Array(
            list.iter()
                .filter(|c| (all || c.state == CState::Running) && filters.matches(c))
                .map(|c| list_record_with_health(engine, c))
                .collect(),
        )))
    })
    .await
}

/// `GET /containers/{id}/json`.
pub async fn inspect(State(st): State<AppState>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    blocking(&st, move |engine| {
        let c = engine.get(&id)?;
        Ok(Json(inspect_record(engine, &c)))
    })
    .await
}

/// `POST /containers/{id}/start`: 204, 304 when already running. A client attached first
/// (`attach`) gets the container's output: this process supervises it ([`crate::attach`]);
/// otherwise a detached start under its monitor, as `berth start`.
pub async fn start(State(st): State<AppState>, Path(id): Path<String>) -> ApiResult<StatusCode> {
    let lookup = id.clone();
    let c = blocking(&st, move |engine| Ok(engine.get(&lookup)?)).await?;
    if c.state == CState::Running {
        return Ok(StatusCode::NOT_MODIFIED);
    }
    let sink = st
        .attached
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .remove(&c.id);
    if let Some(sink) = sink {
        crate::attach::start_attached(&st, c, sink).await?;
        return Ok(StatusCode::NO_CONTENT);
    }
    if let Some(client) = st.tty.take_pending(&c.id) {
        crate::tty::start_attached(&st, c, client).await?;
        return Ok(StatusCode::NO_CONTENT);
    }
    let (exe, args) = (st.berth_exe.clone(), st.global_args.clone());
    blocking(&st, move |engine| {
        engine.start_detached(&c, &exe, &args)?;
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

/// Docker's `t`: seconds to wait before SIGKILL (default 10; negative: 0).
pub(crate) fn stop_seconds(q: &HashMap<String, String>) -> ApiResult<u64> {
    match q.get("t").filter(|t| !t.is_empty()) {
        Some(t) => Ok(t
            .parse::<i64>()
            .map_err(|_| ApiError::bad_request(format!("t: {t:?} is not a number of seconds")))?
            .max(0) as u64),
        None => Ok(10),
    }
}

/// `POST /containers/{id}/stop?t=SECONDS`: 204, 304 when not running.
pub async fn stop(
    State(st): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<StatusCode> {
    let secs = stop_seconds(&q)?;
    blocking(&st, move |engine| {
        let c = engine.get(&id)?;
        if c.state != CState::Running {
            return Ok(StatusCode::NOT_MODIFIED);
        }
        engine.stop(&c, Duration::from_secs(secs))?;
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

/// `POST /containers/{id}/kill?signal=`: 204; 409 when not running, as Docker.
pub async fn kill(
    State(st): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<StatusCode> {
    let signal = berth_run::signals::parse_signal(q.get("signal").map_or("KILL", |s| s.as_str()))
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    blocking(&st, move |engine| {
        let c = engine.get(&id)?;
        if c.state != CState::Running {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                format!("Container {} is not running", c.id),
            ));
        }
        engine.kill(&c, signal)?;
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

/// What `wait` waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Condition {
    NotRunning,
    NextExit,
    Removed,
}

/// `POST /containers/{id}/wait?condition=not-running|next-exit|removed`:
/// `{"StatusCode": N, "Error": null}` once the condition holds.
pub async fn wait(
    State(st): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    let condition = match q.get("condition").map(String::as_str) {
        None | Some("") | Some("not-running") => Condition::NotRunning,
        Some("next-exit") => Condition::NextExit,
        Some("removed") => Condition::Removed,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "invalid condition {other:?}: not-running, next-exit or removed"
            )))
        }
    };
    // Headers go out now, the status when the condition holds: the docker CLI waits for
    // the headers before it starts the container.
    let lookup = id.clone();
    let first = blocking(&st, move |engine| Ok(engine.get(&lookup)?)).await?;
    let (tx, body) = channel_body();
    let st2 = st.clone();
    let waiter = st.clone();
    tokio::spawn(async move {
        let _ = tx.send(bytes::Bytes::from_static(b" ")).await;
        let client = tx.clone();
        let code = blocking(&waiter, move |engine| {
            wait_for(engine, &st2, first, condition, &|| client.is_closed())
        })
        .await;
        let line = match code {
            Ok(code) => json!({ "StatusCode": code.unwrap_or(-1), "Error": null }),
            Err(e) => json!({ "StatusCode": -1, "Error": { "Message": e.message } }),
        };
        let _ = tx.send(bytes::Bytes::from(format!("{line}\n"))).await;
    });
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        Body::from_stream(body),
    )
        .into_response())
}

/// Poll `first`'s record until `condition` holds; its exit code. Stops early (an error) once
/// `gone` says the client that asked has gone, so no thread polls for nobody.
pub(crate) fn wait_for(
    engine: &berth_run::Engine<'_>,
    st: &AppState,
    first: berth_run::Container,
    condition: Condition,
    gone: &dyn Fn() -> bool,
) -> ApiResult<Option<i32>> {
    let mut last_code = first.exit_code;
    loop {
        if gone() {
            return Err(ApiError::bad_request("the client has gone"));
        }
        let now = match engine.get(&first.id) {
            Ok(c) => c,
            Err(RunError::NoSuchContainer(_)) => {
                let seen = st.exits.get(&first.id);
                match seen {
                    // This process supervises it: its exit code is on its way.
                    Some(Supervised::Running) => {
                        std::thread::sleep(Duration::from_millis(20));
                        continue;
                    }
                    Some(Supervised::Exited(code)) => return Ok(code.or(last_code)),
                    // Another process supervised it (a terminal's monitor, `--rm`): the exit
                    // the event log recorded.
                    None => return Ok(crate::events::last_exit_code(&first.id).or(last_code)),
                }
            }
            Err(e) => return Err(e.into()),
        };
        last_code = now.exit_code;
        let done = match condition {
            Condition::NotRunning => now.state != CState::Running,
            Condition::NextExit => now.state == CState::Exited && now.finished != first.finished,
            Condition::Removed => false,
        };
        if done {
            return Ok(now.exit_code);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Docker's `tail`: `all` or a number.
fn tail(q: &HashMap<String, String>) -> ApiResult<Option<usize>> {
    match q.get("tail").map(String::as_str) {
        None | Some("") | Some("all") => Ok(None),
        Some(n) => n
            .parse()
            .map(Some)
            .map_err(|_| ApiError::bad_request(format!("tail: {n:?} is not a number or all"))),
    }
}

/// `GET /containers/{id}/logs?stdout=&stderr=&follow=&timestamps=&tail=`: the log through
/// `berth logs`' library call, framed unless the container has a terminal.
pub async fn logs(
    State(st): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    let (want_out, want_err) = (flag(&q, "stdout"), flag(&q, "stderr"));
    if !want_out && !want_err {
        return Err(ApiError::bad_request("you must choose at least one stream"));
    }
    let opts = berth_run::logs::LogOptions {
        tail: tail(&q)?,
        follow: flag(&q, "follow"),
        timestamps: flag(&q, "timestamps"),
        ..Default::default()
    };
    let lookup = id.clone();
    let c = blocking(&st, move |engine| Ok(engine.get(&lookup)?)).await?;
    let raw = c.options.terminal;
    let (tx, body) = channel_body();
    let st2 = st.clone();
    tokio::task::spawn_blocking(move || {
        let Ok(store) = berth_image_store::Store::open(&st2.root) else {
            return;
        };
        let Ok(engine) = berth_run::Engine::new(&store, &st2.runroot) else {
            return;
        };
        let mut out = FrameWriter {
            tx: tx.clone(),
            stream: StreamId::Stdout,
            raw,
        };
        let mut err = FrameWriter {
            tx,
            stream: StreamId::Stderr,
            raw,
        };
        let mut sink = std::io::sink();
        let mut sink2 = std::io::sink();
        let _ = engine.logs(
            &c,
            &opts,
            &mut berth_run::logs::LogOutput {
                stdout: if want_out { &mut out } else { &mut sink },
                stderr: if want_err { &mut err } else { &mut sink2 },
            },
        );
    });
    let content_type = if raw {
        "application/vnd.docker.raw-stream"
    } else {
        "application/vnd.docker.multiplexed-stream"
    };
    Ok((
        [(axum::http::header::CONTENT_TYPE, content_type)],
        Body::from_stream(body),
    )
        .into_response())
}

/// `DELETE /containers/{id}?force=&v=`: 204; 409 for a running container without force.
pub async fn remove(
    State(st): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<StatusCode> {
    let (force, volumes) = (flag(&q, "force"), flag(&q, "v"));
    blocking(&st, move |engine| {
        let c = engine.get(&id)?;
        if c.state == CState::Running && !force {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                format!(
                    "cannot remove container \"/{}\": container is running: stop the container before removing or force remove",
                    c.name
                ),
            ));
        }
        engine.remove_with(&c, force, volumes)?;
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(v: Value) -> CreateBody {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn create_body_maps_to_the_engine_request() {
        let req = create_request(
            body(json!({
                "Image": "busybox", "Cmd": ["echo", "hi"], "Entrypoint": null,
                "Env": ["A=1"], "WorkingDir": "/tmp", "User": "", "Tty": false,
                "Labels": {"k": "v"}, "Unknown": 1,
                "HostConfig": {"AutoRemove": true, "NetworkMode": "default", "Binds": ["/a:/b"]}
            })),
            Some("web".into()),
        )
        .unwrap()
        .0;
        assert_eq!(req.image, "busybox");
        assert_eq!(req.options.command, ["echo", "hi"]);
        assert_eq!(req.options.env, ["A=1"]);
        assert_eq!(req.options.workdir.as_deref(), Some("/tmp"));
        assert_eq!(req.options.user, None);
        assert_eq!(req.options.volumes, ["/a:/b".parse().unwrap()]);
        assert!(req.auto_remove);
        assert_eq!(req.name.as_deref(), Some("web"));
        assert_eq!(req.labels, [("k".to_string(), "v".to_string())]);
        let (req, _) =
            create_request(body(json!({"Image": "b", "Entrypoint": "sh"})), None).unwrap();
        assert_eq!(req.options.entrypoint, Some(vec!["sh".to_string()]));
    }

    #[test]
    fn create_body_errors_are_bad_requests() {
        let e = create_request(body(json!({})), None).unwrap_err();
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        let e = create_request(
            body(json!({"Image": "b", "HostConfig": {"PortBindings": {"80/tcp": [{"HostPort": "x"}]}}})),
            None,
        )
        .unwrap_err();
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        let e = create_request(
            body(json!({"Image": "b", "HostConfig": {"NetworkMode": "nosuch:mode"}})),
            None,
        )
        .unwrap_err();
        assert_eq!(e.status, StatusCode::BAD_REQUEST, "{}", e.message);
    }
}
