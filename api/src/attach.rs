//! `POST /containers/{id}/attach`: the HTTP upgrade hijack ([`crate::hijack`]): the
//! connection becomes Docker's 8-byte multiplexed stream of the container's stdout and
//! stderr. Served for a container not yet started and without a terminal, which is what
//! `docker run` asks for: attach, then start (a container with a terminal is
//! [`crate::tty`]'s). The stream waits in [`Shared::attached`](crate::state::Shared)
//! until `start` finds it; that start then supervises the container in this process with
//! the same library call as `berth run` in the foreground (`Engine::run_attached`), its
//! output in pipes copied into the stream.

use std::collections::HashMap;
use std::io::Read;
use std::os::fd::{AsRawFd, OwnedFd};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, Query, Request, State};
use axum::response::Response;
use berth_run::runtime::{ContainerStdio, TtySink};
use berth_run::{Container, State as CState};
use tokio::sync::oneshot;

use crate::error::{ApiError, ApiResult};
use crate::hijack::{hijack, plain, stdin_from, wants_upgrade, MULTIPLEXED};
use crate::state::{blocking, flag, AppState, AttachSink};
use crate::stream::{frame, ChunkSender, StreamId};

/// `POST /containers/{id}/attach?stream=1&stdout=1&stderr=1`.
pub async fn attach(
    State(st): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    mut req: Request,
) -> ApiResult<Response> {
    let c = blocking(&st, move |engine| Ok(engine.get(&id)?)).await?;
    if c.options.terminal {
        return crate::tty::attach(&st, c, &q, &mut req).await;
    }
    if c.state == CState::Running {
        return Err(ApiError::not_implemented(
            "attaching to a running container is not served by berth's API yet",
        ));
    }
    if !flag(&q, "stream") {
        return Err(ApiError::bad_request(
            "attach without stream=1 is not served",
        ));
    }
    let stdin = flag(&q, "stdin");
    let (resp, client) = if wants_upgrade(&req) {
        hijack(&mut req, MULTIPLEXED, stdin)
    } else if stdin {
        return Err(ApiError::bad_request(
            "attaching stdin needs the connection upgraded (Upgrade: tcp)",
        ));
    } else {
        // No hijack asked for: the stream as a plain response body.
        plain(MULTIPLEXED)
    };
    st.attached
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(
            c.id.clone(),
            AttachSink {
                tx: client.output,
                input: client.input,
                stdout: flag(&q, "stdout"),
                stderr: flag(&q, "stderr"),
            },
        );
    Ok(resp)
}

fn pipe(what: &str) -> ApiResult<(OwnedFd, OwnedFd)> {
    rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)
        .map_err(|e| ApiError::internal(format!("{what} pipe: {e}")))
}

/// Copy a pipe into the client's stream as frames of `stream` (or nowhere when not asked
/// for, or once the client has gone) until it is closed, or until `exited` is set and
/// nothing more is there to read (a process the container started may keep a copy of the
/// pipe open after the container's own process exited).
pub(crate) fn copy_out(
    pipe: OwnedFd,
    tx: Option<ChunkSender>,
    stream: StreamId,
    exited: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut from = std::fs::File::from(pipe);
        let mut buf = vec![0u8; 32 * 1024];
        let mut tx = tx;
        loop {
            let mut pfd = libc::pollfd {
                fd: from.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd for a descriptor this thread owns, for the call only.
            let ready = unsafe { libc::poll(&mut pfd, 1, 100) };
            if ready == 0 {
                if exited.load(Ordering::SeqCst) {
                    return;
                }
                continue;
            }
            let n = match from.read(&mut buf) {
                Ok(0) => return,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => return,
                Ok(n) => n,
            };
            if let Some(t) = &tx {
                if t.blocking_send(frame(stream, &buf[..n])).is_err() {
                    tx = None;
                }
            }
        }
    })
}

/// Start `c` supervised by this process with its output going to `sink`; returns once it
/// runs (or has already exited), or with the error that kept it from starting (a `--rm`
/// container is then removed, as `berth run` does).
pub async fn start_attached(st: &AppState, c: Container, mut sink: AttachSink) -> ApiResult<()> {
    let (out_r, out_w) = pipe("stdout")?;
    let (err_r, err_w) = pipe("stderr")?;
    let stdin = match sink.input.take() {
        Some(input) => {
            stdin_from(input).map_err(|e| ApiError::internal(format!("stdin pipe: {e}")))?
        }
        None => Stdio::null(),
    };
    let exited = Arc::new(AtomicBool::new(false));
    let readers = [
        copy_out(
            out_r,
            sink.stdout.then(|| sink.tx.clone()),
            StreamId::Stdout,
            exited.clone(),
        ),
        copy_out(
            err_r,
            sink.stderr.then(|| sink.tx.clone()),
            StreamId::Stderr,
            exited.clone(),
        ),
    ];
    drop(sink);
    let (done_tx, mut done_rx) = oneshot::channel::<ApiResult<()>>();
    let id = c.id.clone();
    st.exits.running(&id);
    let st2 = st.clone();
    tokio::task::spawn_blocking(move || {
        let result = (|| -> ApiResult<Option<i32>> {
            let store = berth_image_store::Store::open(&st2.root)?;
            let engine = berth_run::Engine::new(&store, &st2.runroot)?;
            let stdio = ContainerStdio {
                stdin,
                stdout: Stdio::from(out_w),
                stderr: Stdio::from(err_w),
                tty: TtySink::User { interactive: false },
            };
            match engine.run_attached(&c, stdio) {
                Ok(code) => Ok(code),
                Err(e) => {
                    if c.auto_remove {
                        if let Ok(now) = engine.records().get(&c.id) {
                            let _ = engine.remove_with(&now, true, true);
                        }
                    }
                    Err(e.into())
                }
            }
        })();
        exited.store(true, Ordering::SeqCst);
        let code = result.as_ref().ok().copied().flatten();
        st2.exits.exited(&c.id, code);
        for r in readers {
            let _ = r.join();
        }
        let _ = done_tx.send(result.map(|_| ()));
    });
    loop {
        tokio::select! {
            r = &mut done_rx => {
                return r.unwrap_or_else(|_| Err(ApiError::internal("the supervising thread failed")));
            }
            _ = tokio::time::sleep(Duration::from_millis(20)) => {
                let lookup = id.clone();
                let state = blocking(st, move |engine| match engine.records().get(&lookup) {
                    Ok(c) => Ok(Some(c.state)),
                    Err(berth_run::RunError::NoSuchContainer(_)) => Ok(None),
                    Err(e) => Err(e.into()),
                })
                .await?;
                // Running, or already gone through its whole life.
                if state != Some(CState::Created) {
                    return Ok(());
                }
            }
        }
    }
}
