//! libpod's pods, for `podman --remote pod create|ps|inspect|start|stop|restart|kill|pause|
//! unpause|rm|prune` (seen on the wire against Podman 4.3.1's service: `create` posts a
//! PodSpecGenerator; `ps` is `pods/json`; the verbs on a pod first list the pods and inspect
//! the name, then act on the id; `kill` sends `signal=KILL`; `prune` is `POST pods/prune`).
//! Each handler calls what `berth pod …` calls: `Engine::create_pod` with [`PodOptions`] (the
//! network fields through the CLI's network flags), the records `pod ps --format json` and
//! `pod inspect` print (`PodSummary`, `PodInspect`), `start_pod`, `stop_pod`,
//! `restart_pod`, `kill_pod`, `pause_pod`, `unpause_pod`, `remove_pod`, `prune_pods`.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use berth_run::options::NetworkFlags;
use berth_run::pod::{ExitPolicy, PodOptions, SharedNamespace};
use berth_run::pod_summary::{PodInspect, PodSummary};
use serde::Deserialize;
use serde_json::{json, Value};

use super::spec::{network_values, publish_args, Namespace, PortMapping};
use crate::error::{ApiError, ApiResult};
use crate::filters::parse_filters;
use crate::state::{blocking, flag, AppState, JsonBody};

/// `pod stop`'s default timeout (the CLI's `-t`), for libpod's `timeout=-1` or none.
const DEFAULT_STOP_SECS: u64 = 10;

/// The PodSpecGenerator fields berth serves; the others Podman's client sends are ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PodSpec {
    pub name: String,
    pub hostname: String,
    pub labels: Option<BTreeMap<String, String>>,
    pub no_infra: bool,
    pub infra_image: String,
    pub infra_name: String,
    /// `None`: the default (`ipc`, `net`, `uts`).
    pub shared_namespaces: Option<Vec<String>>,
    pub netns: Namespace,
    #[serde(rename = "Networks")]
    pub networks: Option<HashMap<String, Value>>,
    pub portmappings: Option<Vec<PortMapping>>,
    pub dns_server: Option<Vec<String>>,
    pub dns_search: Option<Vec<String>>,
    pub dns_option: Option<Vec<String>>,
    pub hostadd: Option<Vec<String>>,
    pub no_manage_hosts: bool,
    pub pod_create_command: Option<Vec<String>>,
    pub infra_command: Option<Vec<String>>,
    /// `continue` (also when empty) or `stop`.
    pub exit_policy: String,
}

/// The create body → `berth pod create`'s options.
pub fn pod_options(s: PodSpec) -> ApiResult<PodOptions> {
    let nonempty = |v: String| (!v.is_empty()).then_some(v);
    let share = match &s.shared_namespaces {
        None => SharedNamespace::DEFAULT.to_vec(),
        Some(list) => SharedNamespace::parse_list(&list.join(","))?,
    };
    Ok(PodOptions {
        labels: s.labels.clone().unwrap_or_default().into_iter().collect(),
        infra: !s.no_infra,
        share,
        network: NetworkFlags {
            network: network_values(&s.netns, s.networks.as_ref())?,
            publish: s
                .portmappings
                .iter()
                .flatten()
                .flat_map(publish_args)
                .collect(),
            dns: s.dns_server.clone().unwrap_or_default(),
            dns_search: s.dns_search.clone().unwrap_or_default(),
            dns_option: s.dns_option.clone().unwrap_or_default(),
            add_host: s.hostadd.clone().unwrap_or_default(),
            no_hosts: s.no_manage_hosts,
            ..NetworkFlags::default()
        },
        create_command: s.pod_create_command.unwrap_or_default(),
        name: nonempty(s.name),
        hostname: nonempty(s.hostname),
        infra_image: nonempty(s.infra_image),
        infra_name: nonempty(s.infra_name),
        infra_command: s.infra_command.filter(|c| !c.is_empty()),
        exit_policy: match s.exit_policy.as_str() {
            "" => ExitPolicy::default(),
            word => word.parse()?,
        },
    })
}

/// `POST /libpod/pods/create`: 201 `{"Id"}`.
pub async fn create(
    State(st): State<AppState>,
    JsonBody(spec): JsonBody<PodSpec>,
) -> ApiResult<Response> {
    let options = pod_options(spec)?;
    let id = blocking(&st, move |engine| Ok(engine.create_pod(&options)?.id)).await?;
    Ok((StatusCode::CREATED, Json(json!({ "Id": id }))).into_response())
}

/// `GET /libpod/pods/json`: `berth pod ps --format json`'s records. Filters are not served
/// yet (refused by name).
pub async fn list(
    State(st): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    if let Some(kind) = parse_filters(&q)?.keys().next() {
        return Err(ApiError::bad_request(format!(
            "pods/json: the filter {kind:?} is not served by berth's libpod API yet"
        )));
    }
    blocking(&st, move |engine| {
        let mut out = Vec::new();
        for pod in engine.pods()? {
            let containers = engine.pod_containers(&pod)?;
            out.push(PodSummary::of(engine, &pod, &containers));
        }
        Ok(Json(json!(out)))
    })
    .await
}

/// `GET /libpod/pods/{name}/json`: `berth pod inspect`'s record.
pub async fn inspect(
    State(st): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<Json<Value>> {
    blocking(&st, move |engine| {
        let pod = engine.pod(&name)?;
        Ok(Json(json!(PodInspect::of(engine, &pod)?)))
    })
    .await
}

/// `GET /libpod/pods/{name}/exists`: 204, or 404.
pub async fn exists(State(st): State<AppState>, Path(name): Path<String>) -> ApiResult<Response> {
    blocking(&st, move |engine| Ok(engine.pod(&name).map(|_| ())?)).await?;
    Ok(super::no_content())
}

/// A pod verb: `f` on the pod `name`, answered as libpod's reports `{"Errs": null, "Id"}`.
async fn verb(
    st: &AppState,
    name: String,
    f: impl FnOnce(&berth_run::Engine<'_>, &berth_run::pod::Pod) -> berth_run::Result<()>
        + Send
        + 'static,
) -> ApiResult<Response> {
    let id = blocking(st, move |engine| {
        let pod = engine.pod(&name)?;
        f(engine, &pod)?;
        Ok(pod.id)
    })
    .await?;
    Ok(Json(json!({ "Errs": null, "Id": id })).into_response())
}

/// `?timeout=` of `stop` and `restart`: `-1` (what Podman's client sends without `-t`) or
/// none is the CLI's default.
fn stop_timeout(q: &HashMap<String, String>) -> ApiResult<Duration> {
    let secs = match q.get("timeout").map(|t| t.parse::<i64>()) {
        None => DEFAULT_STOP_SECS,
        Some(Ok(t)) if t < 0 => DEFAULT_STOP_SECS,
        Some(Ok(t)) => t as u64,
        Some(Err(_)) => return Err(ApiError::bad_request("timeout: not a number")),
    };
    Ok(Duration::from_secs(secs))
}

/// `POST /libpod/pods/{name}/start`.
pub async fn start(State(st): State<AppState>, Path(name): Path<String>) -> ApiResult<Response> {
    let (exe, args) = (st.berth_exe.clone(), st.global_args.clone());
    verb(&st, name, move |e, pod| e.start_pod(pod, &exe, &args)).await
}

/// `POST /libpod/pods/{name}/stop?timeout=`.
pub async fn stop(
    State(st): State<AppState>,
    Path(name): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    let timeout = stop_timeout(&q)?;
    verb(&st, name, move |e, pod| e.stop_pod(pod, timeout)).await
}

/// `POST /libpod/pods/{name}/restart?timeout=`.
pub async fn restart(
    State(st): State<AppState>,
    Path(name): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    let timeout = stop_timeout(&q)?;
    let (exe, args) = (st.berth_exe.clone(), st.global_args.clone());
    verb(&st, name, move |e, pod| {
        e.restart_pod(pod, timeout, &exe, &args)
    })
    .await
}

/// `POST /libpod/pods/{name}/kill?signal=` (default `KILL`).
pub async fn kill(
    State(st): State<AppState>,
    Path(name): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    let signal = berth_run::signals::parse_signal(q.get("signal").map_or("KILL", |s| s.as_str()))?;
    verb(&st, name, move |e, pod| e.kill_pod(pod, signal)).await
}

/// `POST /libpod/pods/{name}/pause`.
pub async fn pause(State(st): State<AppState>, Path(name): Path<String>) -> ApiResult<Response> {
    verb(&st, name, |e, pod| e.pause_pod(pod)).await
}

/// `POST /libpod/pods/{name}/unpause`.
pub async fn unpause(State(st): State<AppState>, Path(name): Path<String>) -> ApiResult<Response> {
    verb(&st, name, |e, pod| e.unpause_pod(pod)).await
}

/// `POST /libpod/pods/prune`: `[{"Err": null, "Id"}]` for each pod removed.
pub async fn prune(State(st): State<AppState>) -> ApiResult<Json<Value>> {
    let ids = blocking(&st, |engine| Ok(engine.prune_pods()?)).await?;
    Ok(Json(json!(ids
        .into_iter()
        .map(|id| json!({ "Err": null, "Id": id }))
        .collect::<Vec<_>>())))
}

/// `DELETE /libpod/pods/{name}?force=`: `{"Err": null, "Id"}`.
pub async fn remove(
    State(st): State<AppState>,
    Path(name): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    let force = flag(&q, "force");
    let id = blocking(&st, move |engine| {
        let pod = engine.pod(&name)?;
        engine.remove_pod(&pod, force)?;
        Ok(pod.id)
    })
    .await?;
    Ok(Json(json!({ "Err": null, "Id": id })).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn podmans_create_body_becomes_the_clis_options() {
        // As `podman --remote pod create --name wp1 -p 127.0.0.1:8080:80 --label a=b` sends it.
        let body = json!({
            "name": "wp1", "exit_policy": "continue",
            "shared_namespaces": ["ipc", "net", "uts"], "share_parent": true,
            "labels": {"a": "b"},
            "portmappings": [{"host_ip": "127.0.0.1", "container_port": 80, "host_port": 8080}],
            "pod_create_command": ["podman", "pod", "create"],
            "pidns": {"nsmode": "private"}, "userns": {}, "utsns": {}, "netns": {},
            "Networks": null, "resource_limits": {"cpu": {}}
        });
        let o = pod_options(serde_json::from_value(body).unwrap()).unwrap();
        assert_eq!(o.name.as_deref(), Some("wp1"));
        assert!(o.infra);
        assert_eq!(
            o.share,
            [
                SharedNamespace::Ipc,
                SharedNamespace::Net,
                SharedNamespace::Uts
            ]
        );
        assert_eq!(o.labels, [("a".to_string(), "b".to_string())]);
        assert_eq!(o.network.publish, ["127.0.0.1:8080:80/tcp"]);
        assert!(o.network.network.is_empty());
        assert_eq!(o.create_command, ["podman", "pod", "create"]);
        let bad = json!({"shared_namespaces": ["mnt"]});
        assert!(pod_options(serde_json::from_value(bad).unwrap()).is_err());
        let host = json!({"netns": {"nsmode": "host"}, "no_infra": true});
        let o = pod_options(serde_json::from_value(host).unwrap()).unwrap();
        assert_eq!(o.network.network, ["host"]);
        assert!(!o.infra);
    }
}
