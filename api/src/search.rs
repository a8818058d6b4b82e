//! `GET /images/search?term=&limit=&filters=`: `berth search`'s library call
//! (`berth_registry::search::search`, the registries of registries.conf or the one the term
//! names), in Docker's result shape. berth's search knows names only: no stars, nothing
//! official or automated, so `stars` above 0 and `is-official`/`is-automated` true filter
//! everything out.

use std::collections::{BTreeMap, HashMap};

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::Json;
use serde_json::{json, Value};

use crate::error::{ApiError, ApiResult};
use crate::filters::parse_filters;
use crate::images::{loopback_registry, registry_auth};
use crate::state::AppState;

/// Results per registry when `limit` is not given (Docker's and Podman's default).
const DEFAULT_LIMIT: usize = 25;

/// Whether the filters leave anything of a result with no stars that is neither official
/// nor automated.
fn filters_keep_plain_results(filters: &BTreeMap<String, Vec<String>>) -> ApiResult<bool> {
    let mut keep = true;
    for (k, values) in filters {
        for v in values {
            match k.as_str() {
                "stars" => {
                    let n: u64 = v
                        .parse()
                        .map_err(|_| ApiError::bad_request(format!("stars {v:?}: a number")))?;
                    keep &= n == 0;
                }
                "is-official" | "is-automated" => keep &= !matches!(v.as_str(), "true" | "1"),
                other => return Err(ApiError::bad_request(format!("invalid filter {other:?}"))),
            }
        }
    }
    Ok(keep)
}

/// `GET /images/search`.
pub async fn search(
    State(_st): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> ApiResult<Json<Value>> {
    let term = q
        .get("term")
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::bad_request("term is required"))?
        .clone();
    let limit = match q.get("limit").filter(|l| !l.is_empty()) {
        Some(l) => l
            .parse()
            .map_err(|_| ApiError::bad_request(format!("limit {l:?}: a number")))?,
        None => DEFAULT_LIMIT,
    };
    if !filters_keep_plain_results(&parse_filters(&q)?)? {
        return Ok(Json(json!([])));
    }
    let connect = berth_registry::connect::ConnectOptions {
        tls_verify: loopback_registry(&format!("{term}/")).then_some(false),
        creds: registry_auth(&headers)?,
        ..Default::default()
    };
    let names = tokio::task::spawn_blocking(move || {
        berth_registry::search::search(&term, limit, &connect)
            .map_err(|e| ApiError::internal(format!("searching {term}: {e}")))
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))??;
    Ok(Json(Value::Array(
        names
            .into_iter()
            .map(|name| {
                json!({
                    "name": name,
                    "description": "",
                    "star_count": 0,
                    "is_official": false,
                    "is_automated": false,
                })
            })
            .collect(),
    )))
}
