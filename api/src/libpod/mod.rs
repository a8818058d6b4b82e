//! Podman's libpod API (`/libpod/…`, which Podman's clients call as `/v4.3.1/libpod/…`):
//! what `podman --remote` 4.3 asks for to `run`, list `images` and `ps`, plus `version` and
//! `info`. The handlers call the same library functions as the CLI and the Docker handlers;
//! where libpod's request and answer are Docker's (`start`, `kill`, the hijacked `attach`,
//! image `tag` and `json`) the Docker handler itself serves the route. What differs is the shapes: Podman's records
//! (`berth_run::summary`, `berth_run::inspect`, `berth_image_store::summary` already hold
//! them), the SpecGenerator create body ([`spec`]) and libpod's error body
//! `{"cause", "message", "response"}` ([`libpod_errors`]), whose words Podman's client
//! matches (`no such container`).
//!
//! The requests `podman --remote` 4.3.1 makes (seen on the wire against `podman system
//! service`):
//! - every command: `GET /libpod/_ping`, twice; the `Libpod-API-Version` header must be there
//!   and at least the client's minimum (4.0.0);
//! - `run --rm IMG CMD`: `POST /libpod/images/pull?reference=IMG&policy=missing`, `POST
//!   /libpod/containers/create` (SpecGenerator JSON), `GET /libpod/containers/{id}/json`
//!   (it reads `Config.Tty`), `POST …/attach?stream=true&stdout=true&stderr=true` with
//!   `Upgrade: tcp` (Docker's multiplexed frames follow the 101), `POST …/start`, `POST
//!   …/wait` (the exit code as a bare JSON number), `POST …/shouldrestart` (Podman 4.3.1
//!   itself answers 404), `DELETE …?force=false&volumes=true` (404 "no such container" is
//!   fine: `remove` made the server remove it already);
//! - `images`: `GET /libpod/images/json?all=false&filters={}`;
//! - `ps -a`: `GET /libpod/containers/json?all=true&filters={}&last=-1&size=false…`;
//! - `version`: `GET /libpod/version`; `info`: `GET /libpod/info`;
//! - `run -d`: pull, create, `start?recursive=true`; `logs`: `GET …/logs?tail=-1&…`; `stop`:
//!   `POST …/stop?timeout=`; `kill`: `POST …/kill?signal=KILL`; `rm -f`, `stop`, `kill`,
//!   `start` first list `containers/json?all=true&sync=true` and inspect the name;
//! - `tag`: `POST /libpod/images/{name}/tag?repo=&tag=`; `image inspect`: `GET
//!   …/images/{name}/json`; `rmi`: `DELETE /libpod/images/remove?images=NAME&force=`.
//!
//! - `pod create|ps|inspect|start|stop|rm`: `POST /libpod/pods/create` (PodSpecGenerator
//!   JSON), `GET /libpod/pods/json`, `GET …/pods/{name}/json`, `POST …/pods/{id}/start`,
//!   `POST …/pods/{id}/stop?timeout=-1`, `…/restart`, `…/kill?signal=KILL`, `…/pause`,
//!   `…/unpause`, `DELETE …/pods/{id}?force=`, `POST …/pods/prune`; `run --pod` sends the
//!   pod in the SpecGenerator's `pod`.
//!
//! Modules: [`spec`] (the create body → the engine's request), [`system`], [`images`],
//! [`containers`], [`pods`]; [`router`] here.

pub mod containers;
pub mod images;
pub mod pods;
pub mod spec;
pub mod system;

use axum::body::Body;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::state::AppState;

/// The libpod API version served: the shapes are Podman 4.3.1's.
pub const LIBPOD_API_VERSION: &str = "4.3.1";

/// The libpod routes, to be nested under `/libpod`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/_ping", get(system::ping).head(system::ping))
        .route("/version", get(system::version))
        .route("/info", get(system::info))
        .route("/events", get(crate::events::libpod_events))
        .route("/images/json", get(images::list))
        .route("/images/pull", post(images::pull))
        .route("/images/remove", axum::routing::delete(images::remove))
        .route(
            "/images/{*name}",
            get(images::get_route).post(crate::images::post_route),
        )
        .route("/pods/create", post(pods::create))
        .route("/pods/json", get(pods::list))
        .route("/pods/{name}/json", get(pods::inspect))
        .route("/pods/{name}/exists", get(pods::exists))
        .route("/pods/{name}/start", post(pods::start))
        .route("/pods/{name}/stop", post(pods::stop))
        .route("/pods/{name}/restart", post(pods::restart))
        .route("/pods/{name}/kill", post(pods::kill))
        .route("/pods/{name}/pause", post(pods::pause))
        .route("/pods/{name}/unpause", post(pods::unpause))
        .route("/pods/prune", post(pods::prune))
        .route("/pods/{name}", axum::routing::delete(pods::remove))
        .route("/containers/json", get(containers::list))
        .route("/containers/create", post(containers::create))
        .route(
            "/containers/{id}",
            axum::routing::delete(containers::remove),
        )
        .route("/containers/{id}/json", get(containers::inspect))
        .route("/containers/{id}/exists", get(containers::exists))
        .route("/containers/{id}/start", post(crate::containers::start))
        .route("/containers/{id}/attach", post(crate::attach::attach))
        .route("/containers/{id}/resize", post(crate::tty::resize))
        .route("/containers/{id}/wait", post(containers::wait))
        .route("/containers/{id}/stop", post(containers::stop))
        .route("/containers/{id}/kill", post(crate::containers::kill))
        .route("/containers/{id}/logs", get(containers::logs))
        .route("/containers/{id}/changes", get(crate::changes::changes))
        .route("/containers/{id}/exec", post(crate::exec::create))
        .route("/exec/{id}/start", post(crate::exec::start))
        .route("/exec/{id}/json", get(crate::exec::inspect))
        .route("/exec/{id}/resize", post(crate::exec::resize))
        .fallback(|| async {
            (
                StatusCode::NOT_FOUND,
                Json(json!({"message": "page not found"})),
            )
        })
        .layer(axum::middleware::map_response(libpod_errors))
}

/// Podman's words for what Docker's handlers say, as Podman's client matches them: its
/// `cause` and `message`.
pub(crate) fn libpod_words(message: &str) -> (String, String) {
    if let Some(name) = message.strip_prefix("No such container: ") {
        return (
            "no such container".into(),
            format!("no container with name or ID {name:?} found: no such container"),
        );
    }
    if message.ends_with(": no such pod") {
        return ("no such pod".into(), message.to_string());
    }
    if let Some(name) = message.strip_prefix("No such image: ") {
        return ("image not known".into(), format!("{name}: image not known"));
    }
    (message.to_string(), message.to_string())
}

/// An error response (`{"message"}`, from [`crate::error::ApiError`]) as libpod's body:
/// `{"cause", "message", "response"}`.
pub async fn libpod_errors(resp: Response) -> Response {
    let status = resp.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap_or_default();
    let message = serde_json::from_slice::<Value>(&bytes)
        .ok()
        .and_then(|v| v["message"].as_str().map(String::from))
        .unwrap_or_else(|| String::from_utf8_lossy(&bytes).trim().to_string());
    let (cause, message) = libpod_words(&message);
    let body = json!({ "cause": cause, "message": message, "response": status.as_u16() });
    let mut out = Response::new(Body::from(body.to_string()));
    *out.status_mut() = status;
    out.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    out
}

/// A `204 No Content`, libpod's answer to `exists` when the object is there.
pub(crate) fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_words_become_podmans() {
        let (cause, msg) = libpod_words("No such container: abc");
        assert_eq!(cause, "no such container");
        assert_eq!(
            msg,
            "no container with name or ID \"abc\" found: no such container"
        );
        let (cause, msg) = libpod_words("No such image: bb");
        assert_eq!(
            (cause.as_str(), msg.as_str()),
            ("image not known", "bb: image not known")
        );
        let (cause, msg) = libpod_words("bad");
        assert_eq!((cause.as_str(), msg.as_str()), ("bad", "bad"));
    }

    #[tokio::test]
    async fn error_bodies_take_libpods_shape() {
        let resp = crate::error::ApiError::no_such_container("x").into_response();
        let resp = libpod_errors(resp).await;
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);
        let bytes = axum::body::to_bytes(resp.into_body(), 4096).await.unwrap();
        let v: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(v["cause"], "no such container");
        assert_eq!(v["response"], 404);
    }
}
