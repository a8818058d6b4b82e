//! libpod's `_ping`, `version` and `info`: what `podman --remote` negotiates with and shows.

use axum::extract::State;
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::LIBPOD_API_VERSION;
use crate::error::ApiResult;
use crate::state::{blocking, AppState};
use crate::system::{arch, kernel};
use crate::version::{API_VERSION, MIN_API_VERSION};

/// `GET|HEAD /libpod/_ping`: Docker's ping, with `Libpod-API-Version`, which Podman's client
/// requires (and compares with its minimum, 4.0.0).
pub async fn ping() -> Response {
    let mut resp = crate::system::ping().await.into_response();
    resp.headers_mut().insert(
        "Libpod-API-Version",
        HeaderValue::from_static(LIBPOD_API_VERSION),
    );
    resp
}

/// Go's zero time as RFC 3339: berth keeps no build time.
const BUILD_TIME: &str = "1970-01-01T00:00:00Z";

/// `GET /libpod/version`. Podman's client takes the libpod API version from the component
/// named `Podman Engine` (the name is the key it looks for).
pub async fn version() -> Json<Value> {
    let v = env!("CARGO_PKG_VERSION");
    Json(json!({
        "Platform": {"Name": format!("linux/{}/berth", arch())},
        "Components": [{
            "Name": "Podman Engine",
            "Version": v,
            "Details": {
                "APIVersion": LIBPOD_API_VERSION,
                "MinAPIVersion": "4.0.0",
                "Arch": arch(),
                "Os": "linux",
                "BuildTime": BUILD_TIME,
                "Experimental": "false",
                "GitCommit": "",
                "GoVersion": "",
                "KernelVersion": kernel(),
            },
        }],
        "Version": v,
        "ApiVersion": API_VERSION,
        "MinAPIVersion": MIN_API_VERSION,
        "GitCommit": "",
        "GoVersion": "",
        "Os": "linux",
        "Arch": arch(),
        "KernelVersion": kernel(),
        "BuildTime": BUILD_TIME,
    }))
}

fn meminfo(key: &str) -> u64 {
    let text = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches(" kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .map_or(0, |kb| kb * 1024)
}

/// `GET /libpod/info`: Podman's `host`, `store`, `registries`, `plugins` and `version`, with
/// the fields berth knows (the rest are left to the client's zero values).
pub async fn info(State(st): State<AppState>) -> ApiResult<Json<Value>> {
    let (root, runroot) = (st.root.clone(), st.runroot.clone());
    let (containers, images) = blocking(&st, |engine| {
        Ok((engine.list()?, engine.store().list_images()?.len()))
    })
    .await?;
    let count = |s: berth_run::State| containers.iter().filter(|c| c.state == s).count();
    let running = count(berth_run::State::Running);
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let rootless = !berth_image_store::store::is_host_root();
    let v = env!("CARGO_PKG_VERSION");
    Ok(Json(json!({
        "host": {
            "arch": arch(),
            "cpus": cpus,
            "hostname": hostname.trim(),
            "kernel": kernel(),
            "os": "linux",
            "memTotal": meminfo("MemTotal"),
            "memFree": meminfo("MemAvailable"),
            "eventLogger": "file",
            "logDriver": "k8s-file",
            "cgroupManager": "cgroupfs",
            "networkBackend": "netavark",
            "ociRuntime": {"name": "berth", "path": st.berth_exe, "version": v},
            "security": {"rootless": rootless},
            "idMappings": {"gidmap": null, "uidmap": null},
            "serviceIsRemote": false,
        },
        "store": {
            "graphDriverName": "overlay",
            "graphRoot": root,
            "runRoot": runroot,
            "containerStore": {
                "number": containers.len(),
                "paused": 0,
                "running": running,
                "stopped": containers.len() - running,
            },
            "imageStore": {"number": images},
            "graphOptions": {},
            "graphStatus": {},
        },
        "registries": {},
        "plugins": {
            "volume": ["local"],
            "network": ["bridge", "macvlan"],
            "log": ["k8s-file"],
            "authorization": null,
        },
        "version": {
            "APIVersion": LIBPOD_API_VERSION,
            "Version": v,
            "GoVersion": "",
            "GitCommit": "",
            "BuiltTime": "Thu Jan  1 00:00:00 1970",
            "Built": 0,
            "OsArch": format!("linux/{}", arch()),
            "Os": "linux",
        },
    })))
}
