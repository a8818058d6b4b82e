//! Images: `GET /images/json`, `GET /images/{name}/json`, `GET /images/{name}/history`,
//! `POST /images/{name}/tag`, `DELETE /images/{name}` (and dispatched from the same routes:
//! `POST /images/{name}/push`, `GET /images/{name}/get`), and `POST /images/create` (pull, with
//! Docker's JSON progress lines streamed as they come). Names may hold slashes, so one
//! wildcard route takes them and the last segment says which operation.

use std::collections::HashMap;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine as _;
use berth_image_store::images::RemoveOutcome;
use berth_image_store::list_filter::ImageFilters;
use berth_registry::auth::Credentials;
use berth_registry::pull_policy::{self, PullPolicy};
use serde_json::{json, Value};

use crate::error::{ApiError, ApiResult};
use crate::state::{blocking, flag, AppState};
use crate::stream::{channel_body, json_response, LineSender};

/// Seconds a forced removal gives a running container before SIGKILL (Podman's default).
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// A store record in the shape of Docker's image list entry.
pub(crate) fn docker_summary(s: berth_image_store::summary::ImageSummary) -> Value {
    json!({
        "Id": s.id,
        "ParentId": s.parent_id,
        "RepoTags": s.names,
        "RepoDigests": s.repo_digests,
        "Created": s.created,
        "Size": s.size,
        "SharedSize": -1,
        "VirtualSize": s.virtual_size,
        "Labels": s.labels,
        "Containers": -1,
    })
}

/// `GET /images/json?filters=` (`all` is accepted; berth has no intermediate images):
/// Docker's filters (`dangling`, `label`, `before`, `since`, `reference`) through the image
/// filters `berth images --filter` applies.
pub async fn list(
    State(st): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let filters = crate::filters::parse_filters(&q)?;
    blocking(&st, move |engine| {
        let store = engine.store();
        let filters = ImageFilters::parse(store, crate::filters::pairs(&filters))?;
        let mut out = Vec::new();
        for img in filters.apply(store, store.list_images()?)? {
            out.push(docker_summary(store.image_summary(&img, 0, true)?));
        }
        Ok(Json(Value::Array(out)))
    })
    .await
}

/// Split `NAME/OP` (the wildcard's text) into the image name and the operation.
fn split_op<'a>(rest: &'a str, ops: &[&str]) -> Option<(&'a str, &'a str)> {
    let (name, op) = rest.rsplit_once('/')?;
    ops.contains(&op).then_some((name, op))
}

fn inspect_record(
    engine: &berth_run::Engine<'_>,
    name: &str,
) -> ApiResult<berth_image_store::inspect::ImageInspect> {
    let store = engine.store();
    let img = store
        .lookup_image(name)
        .map_err(|_| ApiError::no_such_image(name))?;
    Ok(store.inspect_image(&img)?)
}

/// `GET /images/{name}/json`, `GET /images/{name}/history` and `GET /images/{name}/get`
/// ([`crate::image_archive`]).
pub async fn get_route(
    State(st): State<AppState>,
    Path(rest): Path<String>,
) -> ApiResult<Response> {
    let Some((name, op)) = split_op(&rest, &["json", "history", "get"]) else {
        return Err(ApiError::new(StatusCode::NOT_FOUND, "page not found"));
    };
    if op == "get" {
        return crate::image_archive::save(st, vec![name.to_string()]).await;
    }
    let (name, op) = (name.to_string(), op.to_string());
    blocking(&st, move |engine| {
        let record = inspect_record(engine, &name)?;
        if op == "json" {
            let mut v =
                serde_json::to_value(&record).map_err(|e| ApiError::internal(e.to_string()))?;
            v["Container"] = json!("");
            v["DockerVersion"] = json!("");
            v["Metadata"] = json!({"LastTagTime": null});
            return Ok(Json(v).into_response());
        }
        Ok(Json(history(&record)).into_response())
    })
    .await
}

/// Docker's history: newest first; the top entry carries the image id and tags.
fn history(record: &berth_image_store::inspect::ImageInspect) -> Value {
    let entries = record.history.as_array().cloned().unwrap_or_default();
    let mut out: Vec<Value> = entries
        .iter()
        .map(|h| {
            let created = h["created"]
                .as_str()
                .and_then(|c| chrono::DateTime::parse_from_rfc3339(c).ok())
                .map_or(0, |c| c.timestamp());
            json!({
                "Id": "<missing>",
                "Created": created,
                "CreatedBy": h["created_by"].as_str().unwrap_or(""),
                "Tags": null,
                "Size": 0,
                "Comment": h["comment"].as_str().unwrap_or(""),
            })
        })
        .collect();
    out.reverse();
    if let Some(top) = out.first_mut() {
        top["Id"] = json!(record.id);
        top["Tags"] = json!(record.repo_tags);
    }
    Value::Array(out)
}

/// `POST /images/{name}/tag?repo=R&tag=T` and `POST /images/{name}/push`
/// ([`crate::push`]).
pub async fn post_route(
    State(st): State<AppState>,
    Path(rest): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let Some((name, op)) = split_op(&rest, &["tag", "push"]) else {
        return Err(ApiError::new(StatusCode::NOT_FOUND, "page not found"));
    };
    if op == "push" {
        let connect = berth_registry::connect::ConnectOptions {
            tls_verify: loopback_registry(name).then_some(false),
            creds: registry_auth(&headers)?,
            ..Default::default()
        };
        return crate::push::push_image(st, name.to_string(), q, connect).await;
    }
    let name = name.to_string();
    let repo = q
        .get("repo")
        .filter(|r| !r.is_empty())
        .ok_or_else(|| ApiError::bad_request("repo is required"))?
        .clone();
    let target = match q.get("tag").filter(|t| !t.is_empty()) {
        Some(tag) => format!("{repo}:{tag}"),
        None => repo,
    };
    blocking(&st, move |engine| {
        let store = engine.store();
        let img = store
            .lookup_image(&name)
            .map_err(|_| ApiError::no_such_image(&name))?;
        store.tag_image(&img, &target).map_err(|e| match e {
            berth_image_store::StoreError::Invalid(m) => ApiError::bad_request(m),
            other => other.into(),
        })?;
        Ok(StatusCode::CREATED.into_response())
    })
    .await
}

/// `DELETE /images/{name}?force=`: `rmi`'s library call; Docker's list of what went.
pub async fn remove(
    State(st): State<AppState>,
    Path(name): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let force = flag(&q, "force");
    blocking(&st, move |engine| {
        let names = engine
            .store()
            .lookup_image(&name)
            .map_err(|_| ApiError::no_such_image(&name))?
            .names;
        let (outcome, _) = engine.remove_image(&name, force, STOP_TIMEOUT)?;
        Ok(Json(match outcome {
            RemoveOutcome::Untagged(n) => json!([{ "Untagged": n }]),
            RemoveOutcome::Deleted(id) => {
                let mut out: Vec<Value> = names.iter().map(|n| json!({ "Untagged": n })).collect();
                out.push(json!({ "Deleted": id.to_string() }));
                Value::Array(out)
            }
        }))
    })
    .await
}

/// `X-Registry-Auth`: base64url JSON `{"username", "password", …}` (an empty object: none).
pub(crate) fn registry_auth(headers: &HeaderMap) -> ApiResult<Option<Credentials>> {
    let Some(raw) = headers.get("X-Registry-Auth") else {
        return Ok(None);
    };
    let raw = raw.as_bytes();
    let decoded = base64::engine::general_purpose::URL_SAFE
        .decode(raw)
        .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(raw))
        .or_else(|_| base64::engine::general_purpose::STANDARD.decode(raw))
        .map_err(|e| ApiError::bad_request(format!("X-Registry-Auth: not base64: {e}")))?;
    let v: Value = serde_json::from_slice(&decoded)
        .map_err(|e| ApiError::bad_request(format!("X-Registry-Auth: not JSON: {e}")))?;
    let user = v["username"].as_str().unwrap_or("");
    let pass = v["password"].as_str().unwrap_or("");
    if user.is_empty() && pass.is_empty() {
        return Ok(None);
    }
    Ok(Some(Credentials {
        username: user.to_string(),
        password: pass.to_string(),
    }))
}

/// Whether `reference` names a registry on the loopback network, which Docker's daemon
/// treats as insecure by default (plain HTTP allowed).
pub(crate) fn loopback_registry(reference: &str) -> bool {
    let host = reference.split('/').next().unwrap_or("");
    let host = host.rsplit_once(':').map_or(host, |(h, _)| h);
    reference.contains('/') && (host == "localhost" || host.starts_with("127."))
}

/// `POST /images/create?fromImage=NAME&tag=TAG`: a pull through the same library call as
/// `berth run`'s pull (trust policy included), streaming `{"status": …}` lines and, on a
/// failure after the stream began, `{"errorDetail": …, "error": …}`.
pub async fn create(
    State(st): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let from = q
        .get("fromImage")
        .filter(|f| !f.is_empty())
        .ok_or_else(|| {
            ApiError::bad_request("fromImage is required (import from a file is not served)")
        })?;
    let reference = match q.get("tag").filter(|t| !t.is_empty()) {
        Some(tag) if tag.starts_with("sha256:") => format!("{from}@{tag}"),
        Some(tag) => format!("{from}:{tag}"),
        None if from.contains('@') => from.clone(),
        None => format!("{from}:latest"),
    };
    let creds = registry_auth(&headers)?;
    let (tx, body) = channel_body();
    let st2 = st.clone();
    tokio::task::spawn_blocking(move || {
        let lines = LineSender(tx);
        let result = (|| -> ApiResult<String> {
            let store = berth_image_store::Store::open(&st2.root)?;
            let opts = berth_registry::pull::PullOptions {
                connect: berth_registry::connect::ConnectOptions {
                    tls_verify: loopback_registry(&reference).then_some(false),
                    creds,
                    ..Default::default()
                },
                ..Default::default()
            };
            let print = |line: &str| lines.json(&json!({ "status": line }));
            lines.json(&json!({ "status": format!("Pulling from {reference}") }));
            let record =
                pull_policy::ensure_image(&store, &reference, PullPolicy::Always, &opts, &print)
                    .map_err(|e| ApiError::internal(e.to_string()))?
                    .ok_or_else(|| ApiError::no_such_image(&reference))?;
            Ok(record.manifest_digest.to_string())
        })();
        match result {
            Ok(digest) => {
                lines.json(&json!({ "status": format!("Digest: {digest}") }));
                lines.json(
                    &json!({ "status": format!("Status: Downloaded newer image for {reference}") }),
                );
            }
            Err(e) => {
                lines.json(&json!({ "errorDetail": { "message": e.message }, "error": e.message }))
            }
        }
    });
    Ok(json_response(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ops_split_off_names_with_slashes() {
        assert_eq!(
            split_op("127.0.0.1:5000/a/b:1/json", &["json"]),
            Some(("127.0.0.1:5000/a/b:1", "json"))
        );
        assert_eq!(split_op("busybox", &["json"]), None);
        assert_eq!(split_op("a/b", &["json"]), None);
    }

    #[test]
    fn loopback_registries_are_insecure_as_in_docker() {
        assert!(loopback_registry("127.0.0.1:5000/busybox:latest"));
        assert!(loopback_registry("localhost:5000/busybox:latest"));
        assert!(!loopback_registry("docker.io/library/busybox:latest"));
        assert!(!loopback_registry("busybox:latest"));
    }

    #[test]
    fn registry_auth_header() {
        let mut h = HeaderMap::new();
        let enc =
            base64::engine::general_purpose::URL_SAFE.encode(r#"{"username":"u","password":"p"}"#);
        h.insert("X-Registry-Auth", enc.parse().unwrap());
        let c = registry_auth(&h).unwrap().unwrap();
        assert_eq!((c.username.as_str(), c.password.as_str()), ("u", "p"));
        h.insert("X-Registry-Auth", "e30=".parse().unwrap());
        assert!(registry_auth(&h).unwrap().is_none());
        h.insert("X-Registry-Auth", "!!".parse().unwrap());
        assert_eq!(
            registry_auth(&h).unwrap_err().status,
            StatusCode::BAD_REQUEST
        );
    }
}
