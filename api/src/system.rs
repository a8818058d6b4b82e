//! `/_ping`, `/version` and `/info`: what a client negotiates with and shows.

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Value};

use crate::error::ApiResult;
use crate::state::{blocking, AppState};
use crate::version::{API_VERSION, MIN_API_VERSION};

/// The headers Docker's `_ping` answers with. `Builder-Version: 1`: the classic builder, so
/// the CLI does not ask for BuildKit.
fn ping_headers() -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert("API-Version", HeaderValue::from_static(API_VERSION));
    h.insert("Builder-Version", HeaderValue::from_static("1"));
    h.insert("Docker-Experimental", HeaderValue::from_static("false"));
    h.insert("OSType", HeaderValue::from_static("linux"));
    h.insert(
        "Cache-Control",
        HeaderValue::from_static("no-cache, no-store, must-revalidate"),
    );
    h.insert("Pragma", HeaderValue::from_static("no-cache"));
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    h
}

/// `GET|HEAD /_ping`: `OK` (HEAD: headers only, hyper leaves the body out).
pub async fn ping() -> impl IntoResponse {
    (ping_headers(), "OK")
}

pub(crate) fn arch() -> &'static str {
    berth_image_store::import::host_arch()
}

pub(crate) fn kernel() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// `GET /version`.
pub async fn version() -> Json<Value> {
    let v = env!("CARGO_PKG_VERSION");
    Json(json!({
        "Platform": {"Name": "berth"},
        "Components": [{
            "Name": "Engine",
            "Version": v,
            "Details": {"ApiVersion": API_VERSION, "MinAPIVersion": MIN_API_VERSION, "Os": "linux", "Arch": arch()},
        }],
        "Version": v,
        "ApiVersion": API_VERSION,
        "MinAPIVersion": MIN_API_VERSION,
        "GitCommit": "",
        "GoVersion": "",
        "Os": "linux",
        "Arch": arch(),
        "KernelVersion": kernel(),
        "BuildTime": "",
    }))
}

/// `GET /info`: counts from the store, where it is, and the host.
pub async fn info(State(st): State<AppState>) -> ApiResult<Json<Value>> {
    let root = st.root.clone();
    let (containers, images) = blocking(&st, |engine| {
        let list = engine.list()?;
        let images = engine.store().list_images()?.len();
        Ok((list, images))
    })
    .await?;
    let state_count = |s: berth_run::State| containers.iter().filter(|c| c.state == s).count();
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    Ok(Json(json!({
        "ID": "",
        "Containers": containers.len(),
        "ContainersRunning": state_count(berth_run::State::Running),
        "ContainersPaused": 0,
        "ContainersStopped": containers.len() - state_count(berth_run::State::Running),
        "Images": images,
        "Driver": "overlay",
        "DriverStatus": [["Backing Filesystem", "overlay"]],
        "DockerRootDir": root,
        "Name": host.trim(),
        "OperatingSystem": "berth",
        "OSType": "linux",
        "Architecture": arch(),
        "KernelVersion": kernel(),
        "NCPU": cpus,
        "ServerVersion": env!("CARGO_PKG_VERSION"),
        "CgroupDriver": "cgroupfs",
        "LoggingDriver": "k8s-file",
        "Plugins": {"Volume": ["local"], "Network": ["host", "none"], "Log": ["k8s-file"]},
        "SecurityOptions": ["name=seccomp,profile=default"],
        "Runtimes": {"berth": {"path": "berth"}},
        "DefaultRuntime": "berth",
        "Swarm": {"LocalNodeState": "inactive"},
        "Labels": [],
        "ExperimentalBuild": false,
        "Warnings": [],
    })))
}
