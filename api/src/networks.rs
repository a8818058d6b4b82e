//! Networks: `GET /networks` (filters), `GET /networks/{id}`, `POST /networks/create`,
//! `DELETE /networks/{id}`, `POST /networks/prune`, in Docker's shapes. The definitions are
//! berth-network's [`Catalog`] (the one `berth network` uses); removal and prune ask
//! [`berth_run::network_admin`] who uses a network first, as the CLI does. berth's default
//! network is Docker's `bridge` here, both ways. `connect` and `disconnect` call
//! [`Engine::network_connect`] and [`Engine::network_disconnect`], as `berth network` does.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use berth_network::config::IpNet;
use berth_network::{Catalog, CreateOptions, Network, DEFAULT_NETWORK};
use berth_run::{network_admin, Engine};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::{ApiError, ApiResult};
use crate::filters::{allow_only, parse_filters, PruneLabels};
use crate::network_names::{berth_name, catalog, docker_name, DOCKER_DEFAULT};
use crate::state::{blocking, AppState, JsonBody};

/// Docker's IPAM `Config` entries of `n`.
fn ipam_config(n: &Network) -> Vec<Value> {
    n.subnets
        .iter()
        .map(|s| {
            let mut c = json!({ "Subnet": s.subnet.to_string() });
            if let Some(g) = s.gateway {
                c["Gateway"] = json!(g.to_string());
            }
            if let Some(r) = s.lease_range.as_ref().and_then(ip_range) {
                c["IPRange"] = json!(r);
            }
            c
        })
        .collect()
}

/// A lease range as the CIDR `--ip-range` gave (its first host to its last host).
fn ip_range(r: &berth_network::config::LeaseRange) -> Option<String> {
    let (start, end) = (r.start_ip?, r.end_ip?);
    (0..=128u8).rev().find_map(|len| {
        let net = IpNet::new(start, len).ok()?.trunc();
        (net.contains(&start) && net.contains(&end) && net.hosts().last() == Some(end))
            .then(|| net.to_string())
    })
}

/// Docker's network record. `containers`: the `Containers` map (inspect fills it).
pub fn network_record(n: &Network, containers: BTreeMap<String, Value>) -> Value {
    json!({
        "Name": docker_name(&n.name),
        "Id": n.id,
        "Created": n.created.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
        "Scope": "local",
        "Driver": n.driver,
        "EnableIPv6": n.ipv6_enabled,
        "IPAM": { "Driver": "default", "Options": n.ipam_options, "Config": ipam_config(n) },
        "Internal": n.internal,
        "Attachable": false,
        "Ingress": false,
        "ConfigFrom": { "Network": "" },
        "ConfigOnly": false,
        "Containers": containers,
        "Options": n.options,
        "Labels": n.labels,
    })
}

/// The containers attached to `n` now, as Docker's `Containers` map (by id).
fn attached_containers(
    engine: &Engine<'_>,
    catalog: &Catalog,
    n: &Network,
) -> ApiResult<BTreeMap<String, Value>> {
    let mut out = BTreeMap::new();
    for id in berth_network::attached(catalog.dirs(), &n.name)? {
        // Another store's container: berth knows only that it is there.
        let Ok(c) = engine.get(&id) else {
            out.insert(id, json!({ "Name": "", "EndpointID": "", "MacAddress": "", "IPv4Address": "", "IPv6Address": "" }));
            continue;
        };
        let net = engine
            .attachment(&c)
            .and_then(|a| a.networks.into_iter().find(|x| x.network == n.name));
        let addr = |v4: bool| {
            net.iter()
                .flat_map(|x| x.addresses.iter())
                .find(|a| a.ip.addr().is_ipv4() == v4)
                .map(|a| a.ip.to_string())
                .unwrap_or_default()
        };
        out.insert(
            c.id.clone(),
            json!({
                "Name": c.name,
                "EndpointID": "",
                "MacAddress": net.as_ref().map(|x| x.mac_address.clone()).unwrap_or_default(),
                "IPv4Address": addr(true),
                "IPv6Address": addr(false),
            }),
        );
    }
    Ok(out)
}

/// Docker's network filters: `name`, `id`, `driver`, `label` (berth-run's matching, as the
/// CLI's), `scope` (`local`), `type` (`builtin`: the default network, `custom`: the rest),
/// `dangling` (no container uses it).
fn keep(
    engine: &Engine<'_>,
    catalog: &Catalog,
    n: &Network,
    filters: &BTreeMap<String, Vec<String>>,
) -> ApiResult<bool> {
    let mut pairs = Vec::new();
    for (kind, values) in filters.iter().filter(|(_, v)| !v.is_empty()) {
        let ok = match kind.as_str() {
            "name" | "id" | "driver" | "label" => {
                pairs.extend(values.iter().map(|v| {
                    let v = if kind == "name" { berth_name(v) } else { v };
                    (kind.clone(), v.to_string())
                }));
                true
            }
            "scope" => values.iter().any(|v| v == "local"),
            "type" => {
                let builtin = n.name == DEFAULT_NETWORK;
                values.iter().any(|v| match v.as_str() {
                    "builtin" => builtin,
                    "custom" => !builtin,
                    _ => false,
                })
            }
            "dangling" => {
                let used = network_admin::in_use(Some(engine), catalog, &n.name)?;
                values.iter().any(|v| match v.as_str() {
                    "true" | "1" => !used,
                    "false" | "0" => used,
                    _ => false,
                })
            }
            _ => true,
        };
        if !ok {
            return Ok(false);
        }
    }
    // The default network matches `name=bridge` as Docker's own.
    if n.name == DEFAULT_NETWORK {
        if let Some(names) = filters.get("name").filter(|v| !v.is_empty()) {
            let others: Vec<(String, String)> =
                pairs.iter().filter(|(k, _)| k != "name").cloned().collect();
            return Ok(names.iter().any(|v| DOCKER_DEFAULT.contains(v.as_str()))
                && network_admin::matches(n, &others));
        }
    }
    Ok(network_admin::matches(n, &pairs))
}

/// `GET /networks?filters=`.
pub async fn list(
    State(st): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let filters = parse_filters(&q)?;
    allow_only(
        &filters,
        &["name", "id", "driver", "label", "scope", "type", "dangling"],
    )?;
    blocking(&st, move |engine| {
        let catalog = catalog()?;
        let mut out = Vec::new();
        for n in catalog.list()? {
            if keep(engine, &catalog, &n, &filters)? {
                out.push(network_record(&n, BTreeMap::new()));
            }
        }
        Ok(Json(Value::Array(out)))
    })
    .await
}

/// `GET /networks/{id}`: the network with the containers on it now.
pub async fn inspect(State(st): State<AppState>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    blocking(&st, move |engine| {
        let catalog = catalog()?;
        let n = catalog.get(berth_name(&id))?;
        let containers = attached_containers(engine, &catalog, &n)?;
        Ok(Json(network_record(&n, containers)))
    })
    .await
}

/// Docker's create body (what berth serves of it; the rest is refused by name).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct CreateBody {
    pub name: String,
    pub driver: Option<String>,
    pub internal: bool,
    pub ingress: bool,
    #[serde(rename = "EnableIPv6")]
    pub enable_ipv6: Option<bool>,
    #[serde(rename = "IPAM")]
    pub ipam: Option<Ipam>,
    pub options: Option<BTreeMap<String, String>>,
    pub labels: Option<BTreeMap<String, String>>,
    /// berth always refuses a name in use (Docker does since API 1.44).
    pub check_duplicate: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Ipam {
    pub driver: Option<String>,
    pub config: Option<Vec<IpamConfig>>,
    pub options: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct IpamConfig {
    pub subnet: Option<String>,
    #[serde(rename = "IPRange")]
    pub ip_range: Option<String>,
    pub gateway: Option<String>,
    pub auxiliary_addresses: Option<BTreeMap<String, String>>,
}

/// The bridge option Docker names the bridge device with (`--opt com.docker.network.bridge.name=`).
const BRIDGE_NAME_OPTION: &str = "com.docker.network.bridge.name";

/// Docker's create body → the catalog's options (the same `berth network create` builds).
pub fn create_options(body: CreateBody) -> ApiResult<CreateOptions> {
    if body.name.is_empty() {
        return Err(ApiError::bad_request("Name: a network name is required"));
    }
    if body.enable_ipv6 == Some(true) {
        return Err(ApiError::bad_request(
            "EnableIPv6: berth's networks are IPv4 only; IPv6 networks are not supported",
        ));
    }
    if body.ingress {
        return Err(ApiError::bad_request(
            "Ingress: swarm networks are not supported by berth",
        ));
    }
    let mut interface_name = None;
    for (k, v) in body.options.unwrap_or_default() {
        match k.as_str() {
            BRIDGE_NAME_OPTION => interface_name = Some(v),
            other => {
                return Err(ApiError::bad_request(format!(
                    "Options: driver option {other:?} is not supported by berth (only {BRIDGE_NAME_OPTION})"
                )))
            }
        }
    }
    let ipam = body.ipam.unwrap_or_default();
    if let Some(d) = ipam
        .driver
        .as_deref()
        .filter(|d| !d.is_empty() && *d != "default")
    {
        return Err(ApiError::bad_request(format!(
            "IPAM.Driver: {d:?} is not supported by berth (only default)"
        )));
    }
    if ipam.options.as_ref().is_some_and(|o| !o.is_empty()) {
        return Err(ApiError::bad_request(
            "IPAM.Options: IPAM driver options are not supported by berth",
        ));
    }
    let mut configs = ipam.config.unwrap_or_default();
    if configs.len() > 1 {
        return Err(ApiError::bad_request(
            "IPAM.Config: berth's networks have one subnet; give at most one",
        ));
    }
    let config = configs.pop().unwrap_or_default();
    if config
        .auxiliary_addresses
        .as_ref()
        .is_some_and(|a| !a.is_empty())
    {
        return Err(ApiError::bad_request(
            "IPAM.Config.AuxiliaryAddresses: not supported by berth",
        ));
    }
    let net = |field: &str, v: Option<String>| -> ApiResult<Option<IpNet>> {
        v.filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<IpNet>()
                    .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| {
                        ApiError::bad_request(format!("IPAM.Config.{field}: invalid CIDR {s:?}"))
                    })
            })
            .transpose()
    };
    let gateway = config
        .gateway
        .filter(|g| !g.is_empty())
        .map(|g| {
            g.parse::<IpAddr>().map_err(|_| {
                ApiError::bad_request(format!("IPAM.Config.Gateway: invalid IP address {g:?}"))
            })
        })
        .transpose()?;
    Ok(CreateOptions {
        name: Some(berth_name(&body.name).to_string()),
        driver: body.driver.filter(|d| !d.is_empty()),
        subnet: net("Subnet", config.subnet)?,
        gateway,
        ip_range: net("IPRange", config.ip_range)?,
        internal: body.internal,
        disable_dns: false,
        labels: body.labels.unwrap_or_default(),
        interface_name,
    })
}

/// `POST /networks/create`: 201 `{"Id", "Warning"}`; 409 when the name is taken.
pub async fn create(
    State(st): State<AppState>,
    JsonBody(body): JsonBody<CreateBody>,
) -> ApiResult<Response> {
    let opts = create_options(body)?;
    let id = blocking(&st, move |_| Ok(catalog()?.create(&opts)?.id)).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "Id": id, "Warning": "" })),
    )
        .into_response())
}

/// `DELETE /networks/{id}`: 204; 403 while a container uses it, or for the default network.
pub async fn remove(State(st): State<AppState>, Path(id): Path<String>) -> ApiResult<StatusCode> {
    blocking(&st, move |engine| {
        network_admin::remove(Some(engine), &catalog()?, berth_name(&id), false)?;
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

/// `POST /networks/prune?filters=`: every unused network (never the default one) that
/// passes the `label` and `label!` filters; `{"NetworksDeleted": [names]}`.
pub async fn prune(
    State(st): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let labels = PruneLabels::parse(parse_filters(&q)?, &[])?;
    blocking(&st, move |engine| {
        let only = |n: &Network| labels.keeps(&n.labels);
        let removed = network_admin::prune(Some(engine), &catalog()?, &only)?;
        let names: Vec<&str> = removed.iter().map(|n| docker_name(&n.name)).collect();
        Ok(Json(json!({ "NetworksDeleted": names })))
    })
    .await
}

/// `POST /networks/{id}/connect`'s body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ConnectBody {
    container: String,
    #[serde(default)]
    endpoint_config: Option<EndpointConfig>,
}

/// The parts of Docker's `EndpointConfig` berth honours on connect.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EndpointConfig {
    #[serde(default)]
    aliases: Option<Vec<String>>,
    #[serde(default, rename = "IPAMConfig")]
    ipam_config: Option<EndpointIpam>,
    #[serde(default)]
    mac_address: Option<String>,
}

/// `EndpointConfig.IPAMConfig`.
#[derive(Debug, Default, Deserialize)]
pub struct EndpointIpam {
    #[serde(default, rename = "IPv4Address")]
    ipv4_address: Option<String>,
}

/// `POST /networks/{id}/connect`: the container joins the network (at once when it runs, at
/// its next start otherwise), through the function `berth network connect` calls; 200.
pub async fn connect(
    State(st): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<ConnectBody>,
) -> ApiResult<StatusCode> {
    let endpoint = body.endpoint_config.unwrap_or_default();
    let static_ip = endpoint
        .ipam_config
        .and_then(|i| i.ipv4_address)
        .filter(|a| !a.is_empty())
        .map(|a| {
            a.parse::<IpAddr>().map_err(|_| {
                ApiError::bad_request(format!("EndpointConfig.IPAMConfig.IPv4Address: {a:?}"))
            })
        })
        .transpose()?;
    let req = berth_run::ConnectRequest {
        network: berth_name(&id).to_string(),
        aliases: endpoint.aliases.unwrap_or_default(),
        static_ip,
        static_mac: endpoint.mac_address.filter(|m| !m.is_empty()),
    };
    blocking(&st, move |engine| {
        let c = engine.get(&body.container)?;
        engine.network_connect(&c, &req)?;
        Ok(StatusCode::OK)
    })
    .await
}

/// `POST /networks/{id}/disconnect`'s body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DisconnectBody {
    container: String,
    #[serde(default)]
    force: bool,
}

/// `POST /networks/{id}/disconnect`: the container leaves the network, as `berth network
/// disconnect`; 200.
pub async fn disconnect(
    State(st): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<DisconnectBody>,
) -> ApiResult<StatusCode> {
    blocking(&st, move |engine| {
        let c = engine.get(&body.container)?;
        engine.network_disconnect(&c, berth_name(&id), body.force)?;
        Ok(StatusCode::OK)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(v: Value) -> CreateBody {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn create_body_maps_to_catalog_options() {
        let o = create_options(body(json!({
            "Name": "web", "Driver": "bridge", "Internal": true, "CheckDuplicate": true,
            "Labels": {"a": "b"}, "Attachable": true, "EnableIPv6": false,
            "IPAM": {"Driver": "default", "Config": [
                {"Subnet": "10.99.0.0/24", "Gateway": "10.99.0.1", "IPRange": "10.99.0.128/25"}
            ]},
            "Options": {"com.docker.network.bridge.name": "br-web"},
        })))
        .unwrap();
        assert_eq!(o.name.as_deref(), Some("web"));
        assert_eq!(o.subnet.unwrap().to_string(), "10.99.0.0/24");
        assert_eq!(o.gateway.unwrap().to_string(), "10.99.0.1");
        assert_eq!(o.ip_range.unwrap().to_string(), "10.99.0.128/25");
        assert!(o.internal);
        assert_eq!(o.labels["a"], "b");
        assert_eq!(o.interface_name.as_deref(), Some("br-web"));
        for bad in [
            json!({}),
            json!({"Name": "x", "EnableIPv6": true}),
            json!({"Name": "x", "Options": {"com.docker.network.bridge.enable_icc": "false"}}),
            json!({"Name": "x", "IPAM": {"Config": [{"Subnet": "10.1.0.0/24"}, {"Subnet": "10.2.0.0/24"}]}}),
            json!({"Name": "x", "IPAM": {"Config": [{"Subnet": "nope"}]}}),
            json!({"Name": "x", "IPAM": {"Driver": "dhcp"}}),
        ] {
            let e = create_options(body(bad.clone())).unwrap_err();
            assert_eq!(e.status, StatusCode::BAD_REQUEST, "{bad}");
        }
    }

    #[test]
    fn records_in_dockers_shape() {
        let n = Network::from_json(
            format!(
                r#"{{"name":"berth","id":"{}","driver":"bridge","subnets":[
                {{"subnet":"10.87.0.0/16","gateway":"10.87.0.1",
                  "lease_range":{{"start_ip":"10.87.1.1","end_ip":"10.87.1.254"}}}}]}}"#,
                "ab".repeat(32)
            )
            .as_bytes(),
        )
        .unwrap();
        let r = network_record(&n, BTreeMap::new());
        assert_eq!(r["Name"], "bridge");
        assert_eq!(r["Scope"], "local");
        assert_eq!(
            r["IPAM"]["Config"][0],
            json!({"Subnet": "10.87.0.0/16", "Gateway": "10.87.0.1", "IPRange": "10.87.1.0/24"})
        );
        assert_eq!(berth_name("bridge"), "berth");
        assert_eq!(docker_name("web"), "web");
    }
}
