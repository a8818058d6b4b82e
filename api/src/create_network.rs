//! The networking fields of Docker's container create body, mapped to the run options
//! `berth create` builds from its network flags: `HostConfig.NetworkMode`, `PortBindings`,
//! `PublishAllPorts` (with `ExposedPorts`), `Dns`, `DnsSearch`, `DnsOptions`,
//! `ExtraHosts`, the top-level `MacAddress`, and `NetworkingConfig.EndpointsConfig`
//! (aliases, static addresses, MAC per network). Everything goes through
//! [`RunOptions::apply_network_flags`], the CLI's parser, as the strings Podman's flags would
//! be; the endpoints then fill the per-network options. Docker's network `bridge` is berth's
//! default network.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use berth_run::options::network::parse_mac;
use berth_run::options::{Network, NetworkAttachment, NetworkFlags};
use berth_run::RunOptions;
use serde::Deserialize;
use serde_json::Value;

use crate::error::{ApiError, ApiResult};
use crate::network_names::DOCKER_DEFAULT;

/// The networking fields of the create body's top level (`Config`).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ConfigNetwork {
    pub domainname: Option<String>,
    pub mac_address: Option<String>,
    pub exposed_ports: Option<BTreeMap<String, Value>>,
    pub networking_config: Option<NetworkingConfig>,
}

/// The networking fields of `HostConfig`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct HostNetwork {
    pub network_mode: Option<String>,
    pub port_bindings: Option<BTreeMap<String, Option<Vec<PortBinding>>>>,
    pub publish_all_ports: bool,
    pub dns: Option<Vec<String>>,
    pub dns_search: Option<Vec<String>>,
    pub dns_options: Option<Vec<String>>,
    pub extra_hosts: Option<Vec<String>>,
}

/// One host end of `PortBindings`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct PortBinding {
    pub host_ip: String,
    pub host_port: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct NetworkingConfig {
    pub endpoints_config: Option<HashMap<String, Option<EndpointSettings>>>,
}

/// What a client asks of the container on one network.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct EndpointSettings {
    pub aliases: Option<Vec<String>>,
    #[serde(rename = "IPAMConfig")]
    pub ipam_config: Option<EndpointIpam>,
    pub mac_address: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct EndpointIpam {
    #[serde(rename = "IPv4Address")]
    pub ipv4_address: Option<String>,
    #[serde(rename = "IPv6Address")]
    pub ipv6_address: Option<String>,
}

fn some(v: Option<String>) -> Option<String> {
    v.filter(|s| !s.is_empty())
}

/// `PortBindings` (and, with `PublishAllPorts`, the `ExposedPorts` not bound) as `-p` values.
fn publish_values(
    bindings: Option<BTreeMap<String, Option<Vec<PortBinding>>>>,
    publish_all: bool,
    exposed: Option<BTreeMap<String, Value>>,
) -> Vec<String> {
    let bindings = bindings.unwrap_or_default();
    let mut out = Vec::new();
    for (port, hosts) in &bindings {
        let hosts = hosts.as_deref().unwrap_or_default();
        if hosts.is_empty() && publish_all {
            out.push(port.clone());
        }
        for h in hosts {
            let ip = match h.host_ip.parse::<IpAddr>() {
                Ok(IpAddr::V6(v6)) => format!("[{v6}]:"),
                _ if h.host_ip.is_empty() => String::new(),
                _ => format!("{}:", h.host_ip),
            };
            if ip.is_empty() && h.host_port.is_empty() {
                out.push(port.clone());
            } else {
                out.push(format!("{ip}{}:{port}", h.host_port));
            }
        }
    }
    if publish_all {
        for port in exposed.unwrap_or_default().into_keys() {
            if !bindings.contains_key(&port) {
                out.push(port);
            }
        }
    }
    out
}

/// Apply the networking fields to `options`; the warnings for the create response.
pub fn apply(
    config: ConfigNetwork,
    host: HostNetwork,
    options: &mut RunOptions,
) -> ApiResult<Vec<String>> {
    if some(config.domainname).is_some() {
        return Err(ApiError::bad_request(
            "Domainname: setting a container's NIS domain name is not supported by berth",
        ));
    }
    // Docker's `default` is the daemon's default network, which is berth's default mode.
    let mode = some(host.network_mode).filter(|m| m != "default");
    let flags = NetworkFlags {
        network: mode.into_iter().collect(),
        publish: publish_values(
            host.port_bindings,
            host.publish_all_ports,
            config.exposed_ports,
        ),
        publish_all: host.publish_all_ports,
        dns: host.dns.unwrap_or_default(),
        dns_search: host.dns_search.unwrap_or_default(),
        dns_option: host.dns_options.unwrap_or_default(),
        add_host: host.extra_hosts.unwrap_or_default(),
        mac_address: some(config.mac_address),
        ..NetworkFlags::default()
    };
    let warnings = options
        .apply_network_flags(&flags)
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let endpoints = config
        .networking_config
        .and_then(|n| n.endpoints_config)
        .unwrap_or_default();
    let mut endpoints: Vec<(String, EndpointSettings)> = endpoints
        .into_iter()
        .map(|(k, v)| (k, v.unwrap_or_default()))
        .collect();
    endpoints.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, ep) in endpoints {
        apply_endpoint(&mut options.network, &name, ep)?;
    }
    options
        .network
        .ensure_wired()
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    Ok(warnings.into_iter().map(String::from).collect())
}

/// One entry of `EndpointsConfig`. The docker CLI sends one for every mode (`host`: `{}`);
/// an empty one asks nothing. A network not named by `NetworkMode` is joined as well.
fn apply_endpoint(network: &mut Network, name: &str, ep: EndpointSettings) -> ApiResult<()> {
    let aliases: Vec<String> = ep.aliases.unwrap_or_default();
    let ipam = ep.ipam_config.unwrap_or_default();
    let mut ips = Vec::new();
    for ip in [ipam.ipv4_address, ipam.ipv6_address].into_iter().flatten() {
        if ip.is_empty() {
            continue;
        }
        ips.push(ip.parse::<IpAddr>().map_err(|_| {
            ApiError::bad_request(format!(
                "EndpointsConfig.{name}.IPAMConfig: {ip:?} is not an IP address"
            ))
        })?);
    }
    let mac = some(ep.mac_address)
        .map(|m| parse_mac(&m).map_err(|e| ApiError::bad_request(format!("MacAddress: {e}"))))
        .transpose()?;
    if aliases.is_empty() && ips.is_empty() && mac.is_none() {
        return Ok(());
    }
    if *network == Network::Private {
        *network = Network::Bridge(vec![NetworkAttachment::default()]);
    }
    let Network::Bridge(attachments) = network else {
        return Err(ApiError::bad_request(format!(
            "NetworkingConfig.EndpointsConfig.{name}: aliases, addresses and MAC addresses \
             need a bridge network, not network mode {}",
            network.mode()
        )));
    };
    let key = (name != DOCKER_DEFAULT).then(|| name.to_string());
    let a = match attachments.iter().position(|a| a.name == key) {
        Some(i) => &mut attachments[i],
        None => {
            attachments.push(NetworkAttachment {
                name: key,
                ..Default::default()
            });
            attachments.last_mut().expect("pushed")
        }
    };
    for alias in aliases {
        if alias.is_empty() {
            return Err(ApiError::bad_request(format!(
                "EndpointsConfig.{name}.Aliases: an alias cannot be empty"
            )));
        }
        if !a.aliases.contains(&alias) {
            a.aliases.push(alias);
        }
    }
    a.static_ips.extend(ips);
    if mac.is_some() {
        a.static_mac = mac;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(config: Value, host: Value) -> ApiResult<RunOptions> {
        let mut o = RunOptions::default();
        apply(
            serde_json::from_value(config).unwrap(),
            serde_json::from_value(host).unwrap(),
            &mut o,
        )?;
        Ok(o)
    }

    #[test]
    fn port_bindings_become_publish_values() {
        let b: BTreeMap<String, Option<Vec<PortBinding>>> = serde_json::from_value(json!({
            "80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}],
            "53/udp": [{"HostIp": "", "HostPort": ""}],
            "90/tcp": [{"HostIp": "::1", "HostPort": "9090"}],
            "91/tcp": null,
        }))
        .unwrap();
        let exposed = serde_json::from_value(json!({"80/tcp": {}, "7000/tcp": {}})).unwrap();
        assert_eq!(
            publish_values(Some(b), true, Some(exposed)),
            [
                "53/udp",
                "127.0.0.1:8080:80/tcp",
                "[::1]:9090:90/tcp",
                "91/tcp",
                "7000/tcp"
            ]
        );
    }

    #[test]
    fn endpoints_fill_the_named_network() {
        let o = run(
            json!({"MacAddress": "", "NetworkingConfig": {"EndpointsConfig": {
                "web": {"Aliases": ["a", "b"], "IPAMConfig": {"IPv4Address": "10.9.0.5"}},
                "bridge": {"Aliases": ["c"]},
            }}}),
            json!({"NetworkMode": "web", "Dns": ["1.1.1.1"], "ExtraHosts": ["h:10.0.0.1"],
                   "PortBindings": {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}]}}),
        )
        .unwrap();
        let Network::Bridge(a) = &o.network else {
            panic!("{:?}", o.network)
        };
        assert_eq!(a[0].name.as_deref(), Some("web"));
        assert_eq!(a[0].aliases, ["a", "b"]);
        assert_eq!(a[0].static_ips, ["10.9.0.5".parse::<IpAddr>().unwrap()]);
        assert_eq!(
            (a[1].name.as_deref(), &a[1].aliases[..]),
            (None, &["c".to_string()][..])
        );
        assert_eq!(o.dns_servers.len(), 1);
        assert_eq!(o.add_hosts.len(), 1);
        assert_eq!(o.publish.len(), 1);
    }

    #[test]
    fn modes_and_refusals() {
        let o = run(json!({}), json!({"NetworkMode": "host"})).unwrap();
        assert_eq!(o.network, Network::Host);
        // The docker CLI's empty endpoint for the mode asks nothing.
        let o = run(
            json!({"NetworkingConfig": {"EndpointsConfig": {"none": {}}}}),
            json!({"NetworkMode": "none"}),
        )
        .unwrap();
        assert_eq!(o.network, Network::None);
        let e = run(
            json!({"NetworkingConfig": {"EndpointsConfig": {"host": {"Aliases": ["x"]}}}}),
            json!({"NetworkMode": "host"}),
        )
        .unwrap_err();
        assert_eq!(e.status, axum::http::StatusCode::BAD_REQUEST);
        assert!(run(json!({"Domainname": "example.org"}), json!({})).is_err());
        assert!(run(json!({}), json!({"Dns": ["nope"]})).is_err());
        assert!(run(json!({}), json!({"NetworkMode": "nosuch:mode"})).is_err());
    }
}
