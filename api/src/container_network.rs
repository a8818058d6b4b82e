//! A container's networking in Docker's shapes: inspect's `NetworkSettings` (berth-run's
//! [`network_settings`], the record `berth inspect` shows, with Docker's names: the default
//! network is `bridge`, `NetworkID` is the network's id, and a container not running yet
//! lists the networks it will join with their aliases, the short id first, as Docker does),
//! `HostConfig.NetworkMode`, and the list's `Ports`.

use std::collections::BTreeMap;

use berth_network::Catalog;
use berth_run::inspect::network_settings;
use berth_run::options::Network;
use berth_run::{Container, Engine};
use serde_json::{json, Value};

use crate::network_names::docker_name;

/// `HostConfig.NetworkMode` as Docker shows it: `bridge` for the default network, the
/// first network's name in bridge mode, else the mode (`host`, `none`, `container:ID`).
pub fn network_mode(c: &Container) -> String {
    match &c.options.network {
        Network::Bridge(a) => a
            .first()
            .and_then(|a| a.name.clone())
            .map_or_else(|| "bridge".to_string(), |n| docker_name(&n).to_string()),
        other => other.inspect_mode(),
    }
}

/// Inspect's `NetworkSettings`.
pub fn settings(engine: &Engine<'_>, catalog: Option<&Catalog>, c: &Container) -> Value {
    let s = network_settings(engine, c);
    let mut v = serde_json::to_value(&s).unwrap_or_else(|_| json!({}));
    let mut networks = BTreeMap::new();
    for (name, mut n) in s.networks {
        if let Some(id) = catalog.and_then(|cat| cat.get(&name).ok()).map(|n| n.id) {
            n.network_id = id;
        }
        networks.insert(docker_name(&name).to_string(), json!(n));
    }
    for r in c.options.network.requests().unwrap_or_default() {
        let key = docker_name(&r.network).to_string();
        if networks.contains_key(&key) {
            continue;
        }
        let mut aliases = vec![c.short_id().to_string()];
        aliases.extend(r.aliases.iter().cloned());
        let id = catalog
            .and_then(|cat| cat.get(&r.network).ok())
            .map(|n| n.id)
            .unwrap_or_default();
        networks.insert(
            key,
            json!({
                "IPAMConfig": r.static_ip.map(|ip| json!({ "IPv4Address": ip.to_string() })),
                "Links": null, "Aliases": aliases, "NetworkID": id, "EndpointID": "",
                "Gateway": "", "IPAddress": "", "IPPrefixLen": 0, "IPv6Gateway": "",
                "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0,
                "MacAddress": r.static_mac.clone().unwrap_or_default(), "DriverOpts": null,
            }),
        );
    }
    v["Networks"] = json!(networks);
    v
}

/// The list's `NetworkSettings.Networks`: the networks asked for, by Docker's names.
pub fn list_networks(c: &Container) -> Value {
    let names: BTreeMap<String, Value> = c
        .options
        .network
        .requests()
        .unwrap_or_default()
        .into_iter()
        .map(|r| {
            (
                docker_name(&r.network).to_string(),
                json!({ "Aliases": r.aliases }),
            )
        })
        .collect();
    json!(names)
}

/// `HostConfig`'s networking fields, as given at create.
pub fn host_config(c: &Container) -> Value {
    let o = &c.options;
    json!({
        "NetworkMode": network_mode(c),
        "PortBindings": berth_run::published::inspect_ports(&o.ports),
        "PublishAllPorts": o.publish_all,
        "Dns": o.dns_servers.iter().map(|d| d.to_string()).collect::<Vec<_>>(),
        "DnsSearch": o.dns_search,
        "DnsOptions": o.dns_options,
        "ExtraHosts": o.add_hosts.iter().map(|h| format!("{}:{}", h.name, h.ip)).collect::<Vec<_>>(),
    })
}

/// The list's `Ports`: `[{"IP", "PrivatePort", "PublicPort", "Type"}]`, one per port.
pub fn list_ports(c: &Container) -> Value {
    let mut out = Vec::new();
    for m in &c.options.ports {
        for i in 0..m.range {
            out.push(json!({
                "IP": if m.host_ip.is_empty() { "0.0.0.0" } else { m.host_ip.as_str() },
                "PrivatePort": m.container_port + i,
                "PublicPort": m.host_port + i,
                "Type": m.protocol.as_str(),
            }));
        }
    }
    Value::Array(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_network::ports::{PortMapping, Protocol};
    use berth_run::options::NetworkAttachment;

    #[test]
    fn modes_and_ports_as_docker_shows_them() {
        let mut c = berth_run::testutil::container(berth_run::State::Created);
        c.options.network = Network::Bridge(vec![NetworkAttachment::default()]);
        assert_eq!(network_mode(&c), "bridge");
        c.options.network = Network::Bridge(vec![NetworkAttachment {
            name: Some("front".into()),
            ..Default::default()
        }]);
        assert_eq!(network_mode(&c), "front");
        c.options.network = Network::Container("abc".into());
        assert_eq!(network_mode(&c), "container:abc");
        c.options.ports = vec![PortMapping {
            host_ip: "127.0.0.1".into(),
            container_port: 80,
            host_port: 8080,
            range: 2,
            protocol: Protocol::Tcp,
        }];
        assert_eq!(
            list_ports(&c),
            json!([
                {"IP": "127.0.0.1", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"},
                {"IP": "127.0.0.1", "PrivatePort": 81, "PublicPort": 8081, "Type": "tcp"},
            ])
        );
    }
}
