//! libpod's images: `GET /libpod/images/json` (Podman's `ImageSummary`, the record `berth
//! images --format json` prints, with its names as `RepoTags` as the API has them),
//! `GET /libpod/images/{name}/exists` and `…/json`, `POST …/tag`, `DELETE
//! /libpod/images/remove`, and `POST /libpod/images/pull` (the pull policy's library call,
//! streaming libpod's JSON lines: `{"stream"}` progress, `{"error"}`, and at the end
//! `{"images": [ID], "id": ID}`).

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use berth_image_store::list_filter::ImageFilters;
use berth_registry::pull_policy::{self, PullPolicy};
use serde_json::{json, Value};

use crate::error::{ApiError, ApiResult};
use crate::state::{blocking, flag, AppState};
use crate::stream::{channel_body, json_response, LineSender};

/// `GET /libpod/images/json?filters=`: every image (berth keeps no intermediate images, so
/// `all` changes nothing), as the image filters (`berth images --filter`) keep them.
pub async fn list(
    State(st): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let filters = crate::filters::parse_filters(&q)?;
    blocking(&st, move |engine| {
        let containers = engine.list()?;
        let store = engine.store();
        let filters = ImageFilters::parse(store, crate::filters::pairs(&filters))?;
        let mut out = Vec::new();
        for img in filters.apply(store, store.list_images()?)? {
            let hex = img.id.digest().to_string();
            let users = containers
                .iter()
                .filter(|c| c.image_id_hex() == hex)
                .count();
            let summary = store.image_summary(&img, users, true)?;
            let mut v =
                serde_json::to_value(&summary).map_err(|e| ApiError::internal(e.to_string()))?;
            v["RepoTags"] = json!(summary.names);
            v["Dangling"] = json!(summary.dangling);
            out.push(v);
        }
        Ok(Json(Value::Array(out)))
    })
    .await
}

/// `GET /libpod/images/{name}/exists`: 204, or 404 when the store has no such image;
/// `GET /libpod/images/{name}/json`: Docker's handler (the record is Podman's inspect).
pub async fn get_route(
    State(st): State<AppState>,
    Path(rest): Path<String>,
) -> ApiResult<Response> {
    if rest.ends_with("/json") {
        return Ok(crate::images::get_route(State(st), Path(rest))
            .await?
            .into_response());
    }
    let Some(name) = rest.strip_suffix("/exists") else {
        return Err(ApiError::new(StatusCode::NOT_FOUND, "page not found"));
    };
    let name = name.to_string();
    blocking(&st, move |engine| {
        engine
            .store()
            .lookup_image(&name)
            .map_err(|_| ApiError::no_such_image(&name))?;
        Ok(super::no_content())
    })
    .await
}

/// `DELETE /libpod/images/remove?images=NAME…&force=`: each through Docker's removal (the
/// `rmi` library call), reported as libpod does, with status 200 even when one failed:
/// `{"Untagged", "Deleted", "Errors", "ExitCode"}` (1: no such image, 2: in use, 125).
pub async fn remove(
    State(st): State<AppState>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Json<Value> {
    let force = pairs
        .iter()
        .any(|(k, v)| k == "force" && matches!(v.as_str(), "1" | "true" | "True"));
    let mut q = HashMap::new();
    q.insert("force".to_string(), force.to_string());
    let (mut untagged, mut deleted, mut errors) = (Vec::new(), Vec::new(), Vec::new());
    let mut exit_code = 0;
    for (_, name) in pairs.iter().filter(|(k, _)| k == "images") {
        let done = crate::images::remove(State(st.clone()), Path(name.clone()), Query(q.clone()));
        match done.await {
            Ok(Json(list)) => {
                for entry in list.as_array().into_iter().flatten() {
                    if let Some(n) = entry["Untagged"].as_str() {
                        untagged.push(n.to_string());
                    }
                    if let Some(id) = entry["Deleted"].as_str() {
                        deleted.push(id.trim_start_matches("sha256:").to_string());
                    }
                }
            }
            Err(e) => {
                exit_code = match e.status {
                    StatusCode::NOT_FOUND => 1,
                    StatusCode::CONFLICT => 2,
                    _ => 125,
                };
                errors.push(super::libpod_words(&e.message).1);
            }
        }
    }
    Json(json!({
        "Untagged": untagged,
        "Deleted": deleted,
        "Errors": errors,
        "ExitCode": exit_code,
    }))
}

/// `POST /libpod/images/pull?reference=&policy=&quiet=&tlsVerify=`: the image as `policy`
/// says (libpod's default: `always`), through `pull_policy::ensure_image`, the call `berth
/// run` and `berth pull` make.
pub async fn pull(
    State(st): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let reference = q
        .get("reference")
        .filter(|r| !r.is_empty())
        .ok_or_else(|| ApiError::bad_request("reference is required"))?
        .clone();
    let policy: PullPolicy = match q.get("policy").filter(|p| !p.is_empty()) {
        Some(p) => p.parse().map_err(ApiError::bad_request)?,
        None => PullPolicy::Always,
    };
    if flag(&q, "allTags") {
        return Err(ApiError::not_implemented(
            "pulling all tags is not served by berth's libpod API yet",
        ));
    }
    for key in ["arch", "os", "variant"] {
        if q.get(key).is_some_and(|v| !v.is_empty()) {
            return Err(ApiError::not_implemented(format!(
                "{key}: choosing a platform is not served by berth's libpod API yet"
            )));
        }
    }
    let tls_verify = match q.get("tlsVerify").map(String::as_str) {
        Some("false" | "0" | "False") => Some(false),
        _ => None,
    };
    let quiet = flag(&q, "quiet");
    let creds = crate::images::registry_auth(&headers)?;
    let (tx, body) = channel_body();
    let st2 = st.clone();
    tokio::task::spawn_blocking(move || {
        let lines = LineSender(tx);
        let result = (|| -> ApiResult<String> {
            let store = berth_image_store::Store::open(&st2.root)?;
            let opts = berth_registry::pull::PullOptions {
                connect: berth_registry::connect::ConnectOptions {
                    tls_verify,
                    creds,
                    ..Default::default()
                },
                ..Default::default()
            };
            let print = |line: &str| {
                if !quiet {
                    lines.json(&json!({ "stream": format!("{line}\n") }));
                }
            };
            let record = pull_policy::ensure_image(&store, &reference, policy, &opts, &print)
                .map_err(|e| ApiError::internal(e.to_string()))?
                .ok_or_else(|| ApiError::no_such_image(&reference))?;
            Ok(record.id.digest().to_string())
        })();
        match result {
            Ok(id) => lines.json(&json!({ "images": [id], "id": id })),
            Err(e) => lines.json(&json!({ "error": e.message })),
        }
    });
    Ok(json_response(body))
}
