//! Exec instances: `POST /containers/{id}/exec` (create), `POST /exec/{id}/start` (the
//! hijacked stream: Docker's multiplexed frames, raw with a terminal), `GET /exec/{id}/json`
//! and `POST /exec/{id}/resize`. An instance lives in this process ([`Execs`], by a 64-hex id
//! as Docker's) from its create until the service ends. Its process is `berth exec`'s: the
//! library's [`Engine::exec_spawn`](berth_run::Engine::exec_spawn) with pipes for its
//! streams, or with a terminal [`Engine::exec_served`](berth_run::Engine::exec_served) (an
//! exec monitor serving the terminal, as `exec -it`) relayed by [`crate::tty`].

use std::collections::HashMap;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use berth_run::attach::AttachEnd;
use berth_run::engine::ExecRequest;
use berth_run::runtime::{ContainerStdio, TtySink};
use berth_run::State as CState;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::attach::copy_out;
use crate::error::{ApiError, ApiResult};
use crate::hijack::{hijack, plain, stdin_from, wants_upgrade, Hijacked, MULTIPLEXED, RAW};
use crate::sessions::{Exec, ExecConfig, PendingTty};
use crate::state::{blocking, AppState, JsonBody};
use crate::stream::{frame, ChunkSender, StreamId};
use crate::tty::{detach_keys, relay_terminal, size};

fn no_such_exec(id: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        format!("No such exec instance: {id}"),
    )
}

/// `POST /containers/{id}/exec`: 201 `{"Id"}`; 409 when the container does not run.
pub async fn create(
    State(st): State<AppState>,
    Path(id): Path<String>,
    JsonBody(config): JsonBody<ExecConfig>,
) -> ApiResult<Response> {
    if config.cmd.is_empty() {
        return Err(ApiError::bad_request("No exec command specified"));
    }
    detach_keys(config.detach_keys.as_deref().filter(|k| !k.is_empty()))?;
    let c = blocking(&st, move |engine| Ok(engine.get(&id)?)).await?;
    if c.state != CState::Running {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!("container {} is not running", c.id),
        ));
    }
    let exec_id = berth_run::names::new_id()?;
    st.execs.insert(
        exec_id.clone(),
        Exec {
            container: c.id,
            size: config
                .console_size
                .as_deref()
                .and_then(|s| Some((*s.first()?, *s.get(1)?))),
            config,
            created: 0,
            started: false,
            running: false,
            exit_code: None,
            pid: 0,
            master: None,
        },
    );
    Ok((StatusCode::CREATED, Json(json!({ "Id": exec_id }))).into_response())
}

/// Docker's exec start body.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct StartBody {
    pub detach: bool,
    pub tty: Option<bool>,
}

/// `POST /exec/{id}/start`: the hijacked stream (or a plain body), or 200 at once with
/// `Detach`. 409 when it was started before.
pub async fn start(
    State(st): State<AppState>,
    Path(id): Path<String>,
    mut req: Request,
) -> ApiResult<Response> {
    let bytes = axum::body::to_bytes(std::mem::take(req.body_mut()), crate::state::BODY_LIMIT)
        .await
        .map_err(|e| ApiError::bad_request(format!("reading the request body: {e}")))?;
    let body: StartBody = if bytes.iter().all(u8::is_ascii_whitespace) {
        StartBody::default()
    } else {
        serde_json::from_slice(&bytes)
            .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))?
    };
    let (container, mut config) = {
        let mut map = st.execs.lock();
        let e = map.get_mut(&id).ok_or_else(|| no_such_exec(&id))?;
        if e.started {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                format!("exec instance {id} has already been started"),
            ));
        }
        e.started = true;
        e.running = true;
        (e.container.clone(), e.config.clone())
    };
    if let Some(tty) = body.tty {
        config.tty = tty;
    }
    let lookup = container.clone();
    let c = match blocking(&st, move |engine| Ok(engine.get(&lookup)?)).await {
        Ok(c) => c,
        Err(e) => {
            st.execs.update(&id, |x| x.running = false);
            return Err(e);
        }
    };
    let content_type = if config.tty { RAW } else { MULTIPLEXED };
    let (resp, client) = if body.detach {
        // Nobody reads its output: the body (and its channel's receiver) goes at once.
        let (_, client) = plain(content_type);
        (StatusCode::OK.into_response(), client)
    } else if wants_upgrade(&req) {
        hijack(&mut req, content_type, config.attach_stdin)
    } else {
        plain(content_type)
    };
    let st2 = st.clone();
    std::thread::spawn(move || run(st2, id, c, config, client));
    Ok(resp)
}

/// The request the CLI's `exec` makes of `config`.
fn request(config: &ExecConfig) -> ExecRequest {
    ExecRequest {
        command: config.cmd.clone(),
        env: config.env.clone().unwrap_or_default(),
        user: config.user.clone().filter(|u| !u.is_empty()),
        workdir: config.working_dir.clone().filter(|w| !w.is_empty()),
        interactive: config.attach_stdin,
        tty: config.tty,
        privileged: config.privileged,
    }
}

/// Run exec `id` to its end (on a thread of its own), its streams to `client`; record its
/// pid, exit code and end before the stream closes (a client then inspects it).
fn run(st: AppState, id: String, c: berth_run::Container, config: ExecConfig, client: Hijacked) {
    let output = client.output.clone();
    let result = (|| -> berth_run::Result<Option<i32>> {
        let store = berth_image_store::Store::open(&st.root)?;
        let engine = berth_run::Engine::new(&store, &st.runroot)?;
        let session = Session {
            st: &st,
            id: &id,
            engine: &engine,
            c: &c,
            req: request(&config),
            config: &config,
        };
        if config.tty {
            session.tty(client)
        } else {
            session.piped(client)
        }
    })();
    let code = match result {
        Ok(code) => code,
        Err(e) => {
            let msg = format!("{}\n", e.to_string().replace('\n', " "));
            let chunk = if config.tty {
                bytes::Bytes::from(msg.into_bytes())
            } else {
                frame(StreamId::Stderr, msg.as_bytes())
            };
            let _ = output.blocking_send(chunk);
            Some(i32::from(e.exit_code()))
        }
    };
    st.execs.update(&id, |e| {
        e.running = false;
        e.exit_code = code;
        e.master = None;
    });
    drop(output);
}

fn os_pipe(what: &str) -> berth_run::Result<(std::os::fd::OwnedFd, std::os::fd::OwnedFd)> {
    rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)
        .map_err(|e| berth_run::RunError::io(format!("{what} pipe"), e.into()))
}

/// One exec's start: what it runs, where, and what to record.
struct Session<'a> {
    st: &'a AppState,
    id: &'a str,
    engine: &'a berth_run::Engine<'a>,
    c: &'a berth_run::Container,
    req: ExecRequest,
    config: &'a ExecConfig,
}

impl Session<'_> {
    /// Without a terminal: the streams in pipes, copied to the client as frames.
    fn piped(&self, client: Hijacked) -> berth_run::Result<Option<i32>> {
        let (st, id, config) = (self.st, self.id, self.config);
        let stdin = match client.input {
            Some(input) if config.attach_stdin => {
                stdin_from(input).map_err(|e| berth_run::RunError::io("stdin pipe", e))?
            }
            _ => Stdio::null(),
        };
        let (out_r, out_w) = os_pipe("stdout")?;
        let (err_r, err_w) = os_pipe("stderr")?;
        let exited = Arc::new(AtomicBool::new(false));
        let tx = |on: bool| -> Option<ChunkSender> { on.then(|| client.output.clone()) };
        let readers = [
            copy_out(
                out_r,
                tx(config.attach_stdout),
                StreamId::Stdout,
                exited.clone(),
            ),
            copy_out(
                err_r,
                tx(config.attach_stderr),
                StreamId::Stderr,
                exited.clone(),
            ),
        ];
        drop(client.output);
        let spawned = self.engine.exec_spawn(
            self.c,
            &self.req,
            ContainerStdio {
                stdin,
                stdout: Stdio::from(out_w),
                stderr: Stdio::from(err_w),
                tty: TtySink::User { interactive: false },
            },
        );
        let code = match spawned {
            Ok(child) => {
                let pid = child.pid();
                st.execs.update(id, |e| e.pid = pid);
                child.wait()
            }
            Err(e) => Err(e),
        };
        exited.store(true, Ordering::SeqCst);
        for r in readers {
            let _ = r.join();
        }
        code
    }

    /// With a terminal: served by an exec monitor, relayed raw.
    fn tty(&self, client: Hijacked) -> berth_run::Result<Option<i32>> {
        let (st, id, config) = (self.st, self.id, self.config);
        let keys = berth_run::detach::parse(
            config
                .detach_keys
                .as_deref()
                .filter(|k| !k.is_empty())
                .unwrap_or(berth_run::detach::DEFAULT_DETACH_KEYS),
        )?;
        let served = self
            .engine
            .exec_served(self.c, &self.req, &st.berth_exe, &st.global_args)?;
        st.execs.update(id, |e| e.pid = served.pid);
        let end = relay_terminal(&served.socket, PendingTty { client, keys }, |m| {
            st.execs.update(id, |e| {
                if let Some((h, w)) = e.size {
                    let _ = berth_run::console::set_size(&m, h, w);
                }
                e.master = Some(m);
            });
        })?;
        match end {
            AttachEnd::Exited(code) => {
                served.wait_monitor();
                Ok(code)
            }
            AttachEnd::Detached => {
                // It runs on under its monitor, which ends with it (the code is not told).
                st.execs.update(id, |e| e.master = None);
                served.wait_monitor();
                Ok(None)
            }
        }
    }
}

/// `GET /exec/{id}/json`.
pub async fn inspect(State(st): State<AppState>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let map = st.execs.lock();
    let e = map.get(&id).ok_or_else(|| no_such_exec(&id))?;
    let (entrypoint, arguments) = match e.config.cmd.split_first() {
        Some((first, rest)) => (first.clone(), rest.to_vec()),
        None => (String::new(), Vec::new()),
    };
    Ok(Json(json!({
        "ID": id,
        "Running": e.running,
        "ExitCode": e.exit_code,
        "ProcessConfig": {
            "tty": e.config.tty,
            "entrypoint": entrypoint,
            "arguments": arguments,
            "privileged": e.config.privileged,
            "user": e.config.user.clone().unwrap_or_default(),
        },
        "OpenStdin": e.config.attach_stdin,
        "OpenStderr": e.config.attach_stderr,
        "OpenStdout": e.config.attach_stdout,
        "CanRemove": false,
        "ContainerID": e.container,
        "DetachKeys": e.config.detach_keys.clone().unwrap_or_default(),
        "Pid": e.pid,
    })))
}

/// `POST /exec/{id}/resize?h=&w=`: the session's terminal (or the size it gets once there).
pub async fn resize(
    State(st): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<StatusCode> {
    let (h, w) = size(&q)?;
    let mut map = st.execs.lock();
    let e = map.get_mut(&id).ok_or_else(|| no_such_exec(&id))?;
    match &e.master {
        Some(m) => berth_run::console::set_size(m, h, w)?,
        None => e.size = Some((h, w)),
    }
    Ok(StatusCode::OK)
}
