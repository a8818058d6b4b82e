//! `POST /containers/{id}/pause`, `/unpause` and `/rename?name=`: 204, as Docker; the
//! library's `pause`, `unpause` and `rename` (a container not running, or a name in use:
//! 409).

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;

use crate::error::{ApiError, ApiResult};
use crate::state::{blocking, AppState};

/// `POST /containers/{id}/pause`.
pub async fn pause(State(st): State<AppState>, Path(id): Path<String>) -> ApiResult<StatusCode> {
    blocking(&st, move |engine| {
        engine.pause(&engine.get(&id)?)?;
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

/// `POST /containers/{id}/unpause`.
pub async fn unpause(State(st): State<AppState>, Path(id): Path<String>) -> ApiResult<StatusCode> {
    blocking(&st, move |engine| {
        engine.unpause(&engine.get(&id)?)?;
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

/// `POST /containers/{id}/rename?name=NEW`.
pub async fn rename(
    State(st): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<StatusCode> {
    let name = q
        .get("name")
        .filter(|n| !n.is_empty())
        .cloned()
        .ok_or_else(|| ApiError::bad_request("rename: a new name is required (name=)"))?;
    blocking(&st, move |engine| {
        engine.rename(&engine.get(&id)?, &name)?;
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}
