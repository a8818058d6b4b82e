//! Volumes: `GET /volumes` (filters), `POST /volumes/create`, `GET /volumes/{name}`,
//! `DELETE /volumes/{name}` (`force`), `POST /volumes/prune`, in Docker's shapes (berth-run's
//! [`VolumeInspect`], the record `berth volume inspect` prints). Each is one call into
//! berth-run's [`Volumes`] or the engine's `remove_volume`/`prune_volumes`, as the CLI's.

use std::collections::{BTreeMap, HashMap};

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use berth_run::inspect::VolumeInspect;
use berth_run::volume_filter::VolumeFilters;
use berth_run::volumes::{Volume, Volumes};
use berth_run::RunError;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::{ApiError, ApiResult};
use crate::filters::{parse_filters, PruneLabels};
use crate::state::{blocking, flag, AppState, JsonBody};

/// Docker's volume record.
fn record(v: &Volume) -> Value {
    serde_json::to_value(VolumeInspect::from(v)).unwrap_or(Value::Null)
}

/// `GET /volumes?filters=`: `{"Volumes": […], "Warnings": []}`, through the volume filters
/// `berth volume ls --filter` applies.
pub async fn list(
    State(st): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let filters = parse_filters(&q)?;
    let filters = VolumeFilters::parse(crate::filters::pairs(&filters))?;
    blocking(&st, move |engine| {
        let mut out = Vec::new();
        for v in filters.apply(engine, Volumes::open(engine.store().root())?.list()?)? {
            out.push(record(&v));
        }
        Ok(Json(json!({ "Volumes": out, "Warnings": [] })))
    })
    .await
}

/// Docker's create body.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct CreateBody {
    pub name: String,
    pub driver: String,
    pub driver_opts: Option<BTreeMap<String, String>>,
    pub labels: Option<BTreeMap<String, String>>,
}

/// `POST /volumes/create`: 201 with the volume. As Docker, a name that exists gives that
/// volume back (unless its labels differ: 409).
pub async fn create(
    State(st): State<AppState>,
    JsonBody(body): JsonBody<CreateBody>,
) -> ApiResult<Response> {
    if !body.driver.is_empty() && body.driver != "local" {
        return Err(ApiError::bad_request(format!(
            "Driver: {:?} is not supported by berth (only local)",
            body.driver
        )));
    }
    if body.driver_opts.as_ref().is_some_and(|o| !o.is_empty()) {
        return Err(ApiError::bad_request(
            "DriverOpts: volume driver options are not supported by berth",
        ));
    }
    let labels = body.labels.unwrap_or_default();
    let name = Some(body.name).filter(|n| !n.is_empty());
    let v = blocking(&st, move |engine| {
        let volumes = Volumes::open(engine.store().root())?;
        if let Some(v) = name
            .as_deref()
            .map(|n| volumes.find(n))
            .transpose()?
            .flatten()
        {
            if !labels.is_empty() && v.labels != labels {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    format!("volume {} already exists with other labels", v.name),
                ));
            }
            return Ok(v);
        }
        Ok(volumes.create_labelled(name.as_deref(), &labels)?)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(record(&v))).into_response())
}

/// `GET /volumes/{name}`.
pub async fn inspect(
    State(st): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<Json<Value>> {
    blocking(&st, move |engine| {
        let v = Volumes::open(engine.store().root())?.get(&name)?;
        Ok(Json(record(&v)))
    })
    .await
}

/// `DELETE /volumes/{name}?force=`: 204; 409 while a container uses it; 404 when there is
/// none, which `force` turns into 204 (as Docker).
pub async fn remove(
    State(st): State<AppState>,
    Path(name): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<StatusCode> {
    let force = flag(&q, "force");
    blocking(&st, move |engine| match engine.remove_volume(&name) {
        Ok(()) => Ok(StatusCode::NO_CONTENT),
        Err(RunError::NoSuchVolume(_)) if force => Ok(StatusCode::NO_CONTENT),
        Err(e) => Err(e.into()),
    })
    .await
}

/// `POST /volumes/prune?filters=`: every volume no container uses that passes the `label`
/// filters (`label!=` excludes); `{"VolumesDeleted": [names], "SpaceReclaimed": 0}`. berth
/// does not tell anonymous volumes from named ones once made, so Docker's `all` filter is
/// accepted and every unused volume is a candidate.
pub async fn prune(
    State(st): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let labels = PruneLabels::parse(parse_filters(&q)?, &["all"])?;
    blocking(&st, move |engine| {
        let only = |v: &Volume| labels.keeps(&v.labels);
        let removed = engine.prune_volumes(&only)?;
        let names: Vec<&str> = removed.iter().map(|v| v.name.as_str()).collect();
        Ok(Json(
            json!({ "VolumesDeleted": names, "SpaceReclaimed": 0 }),
        ))
    })
    .await
}
