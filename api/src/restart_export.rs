//! `POST /containers/{id}/restart?t=` (`berth restart`'s library call) and
//! `GET /containers/{id}/export` (`berth export`'s: the container's whole filesystem as a
//! tar stream, written as it is read).

use std::collections::HashMap;
use std::io::Write;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::error::{ApiError, ApiResult};
use crate::state::{blocking, spawn_with_engine, AppState};
use crate::stream::{channel_body, FrameWriter, StreamId};

/// `POST /containers/{id}/restart?t=SECONDS`: 204 (a stopped container is started).
pub async fn restart(
    State(st): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<StatusCode> {
    let secs = crate::containers::stop_seconds(&q)?;
    let (exe, args) = (st.berth_exe.clone(), st.global_args.clone());
    blocking(&st, move |engine| {
        let c = engine.get(&id)?;
        match engine.restart(&c, Duration::from_secs(secs), &exe, &args)? {
            Some(_) => Ok(StatusCode::NO_CONTENT),
            None => Err(ApiError::new(
                StatusCode::CONFLICT,
                format!(
                    "container {} was removed as it stopped (--rm): nothing to start again",
                    c.name
                ),
            )),
        }
    })
    .await
}

/// `GET /containers/{id}/export`: the tar stream of the container's filesystem.
pub async fn export(State(st): State<AppState>, Path(id): Path<String>) -> ApiResult<Response> {
    let c = blocking(&st, move |engine| Ok(engine.get(&id)?)).await?;
    let (tx, body) = channel_body();
    spawn_with_engine(&st, move |engine| {
        let out = FrameWriter {
            tx,
            stream: StreamId::Stdout,
            raw: true,
        };
        let written = engine
            .export(&c, std::io::BufWriter::with_capacity(256 * 1024, out))
            .map_err(ApiError::from)
            .and_then(|mut w| w.flush().map_err(|e| ApiError::internal(e.to_string())));
        if let Err(e) = written {
            tracing::debug!("export of {}: {e}", c.id);
        }
    });
    Ok((
        [(header::CONTENT_TYPE, "application/x-tar")],
        Body::from_stream(body),
    )
        .into_response())
}
