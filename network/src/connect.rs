//! A running container's networks changed in place, as Podman's `network connect`,
//! `network disconnect` and `network reload` do: netavark's setup or teardown for just the
//! one network on the container's existing namespace, the IPAM and the attachment record
//! (`attachments/<id>.json`, what [`crate::detach`] tears down) kept true; and the
//! container's firewall rules made again after someone flushed them.

use std::collections::BTreeMap;

use crate::attach::{
    attachment_of, driver_lock, read_record, write_record, Attachment, NetworkRequest, Record,
};
use crate::catalog::Catalog;
use crate::config::Network;
use crate::dirs::NetworkDirs;
use crate::error::{NetworkError, Result};
use crate::ipam::Ipam;
use crate::netavark::{NetworkOptions, PerNetworkOptions};

/// The attachment record of a container on networks now, or the error saying it is not.
fn attached_record(dirs: &NetworkDirs, container_id: &str) -> Result<Record> {
    read_record(dirs, container_id)?.ok_or_else(|| {
        NetworkError::Refused(format!(
            "container {container_id} has no network namespace of berth's: is it running in bridge mode?"
        ))
    })
}

/// `options` with only network `name` (and every port mapping, as Podman passes them).
fn only(
    options: &NetworkOptions,
    name: &str,
    per: PerNetworkOptions,
    n: Network,
) -> NetworkOptions {
    NetworkOptions {
        container_id: options.container_id.clone(),
        container_name: options.container_name.clone(),
        networks: BTreeMap::from([(name.to_string(), per)]),
        network_info: BTreeMap::from([(name.to_string(), n)]),
        port_mappings: options.port_mappings.clone(),
    }
}

/// Put the running container on one more network (`request`): an address from the IPAM, the
/// next free `ethN`, netavark's setup of that network alone. Returns the new network's part
/// of the container's [`Attachment`] (one network, its DNS servers). Already on it: Podman's
/// error. Nothing is left of a failed connect.
pub fn connect(
    catalog: &Catalog,
    container_id: &str,
    request: &NetworkRequest,
) -> Result<Attachment> {
    let dirs = catalog.dirs();
    let n = catalog.get(&request.network)?;
    let _lock = driver_lock(dirs)?;
    let netavark = crate::rootless_netns::netavark(dirs)?;
    let mut record = attached_record(dirs, container_id)?;
    if record.options.networks.contains_key(&n.name) {
        return Err(NetworkError::Refused(format!(
            "container {container_id} is already connected to network {:?}: network is already connected",
            n.name
        )));
    }
    let interface_name = (0..)
        .map(|i| format!("eth{i}"))
        .find(|name| {
            !record
                .options
                .networks
                .values()
                .any(|p| &p.interface_name == name)
        })
        .unwrap_or_default();
    let static_ips = Ipam::open(&dirs.ipam_db())?.allocate(&n, container_id, request.static_ip)?;
    let per = PerNetworkOptions {
        aliases: request.aliases.clone(),
        interface_name,
        static_ips,
        static_mac: request.static_mac.clone(),
    };
    let options = only(&record.options, &n.name, per.clone(), n.clone());
    let status = match netavark.setup(&record.netns_path, &options) {
        Ok(s) => s,
        Err(e) => {
            // netavark undoes its own half-made setup; the address goes back.
            Ipam::open(&dirs.ipam_db())?.release(container_id, Some(&n.name))?;
            return Err(e);
        }
    };
    record.options.networks.insert(n.name.clone(), per);
    record
        .options
        .network_info
        .insert(n.name.clone(), n.clone());
    write_record(dirs, container_id, &record)?;
    attachment_of(&record.netns_path, &[(n, request)], &options, &status)
}

/// Take the running container off network `network` (name or id): netavark's teardown of
/// that network alone, its address given back, the record without it. `force`: a failed
/// teardown (its rules already gone) does not stop the rest. Not on it: Podman's error.
/// Returns the network's name.
pub fn disconnect(
    catalog: &Catalog,
    container_id: &str,
    container_name: &str,
    network: &str,
    force: bool,
) -> Result<String> {
    let dirs = catalog.dirs();
    // A network removed since (`network rm -f`) is still named by the record.
    let name = catalog
        .get(network)
        .map(|n| n.name)
        .unwrap_or_else(|_| network.to_string());
    let _lock = driver_lock(dirs)?;
    let netavark = crate::rootless_netns::netavark(dirs)?;
    let mut record = attached_record(dirs, container_id)?;
    let not_connected = || {
        NetworkError::Refused(format!(
            "container {container_name} is not connected to network {name}"
        ))
    };
    let per = record
        .options
        .networks
        .get(&name)
        .cloned()
        .ok_or_else(not_connected)?;
    let info = record
        .options
        .network_info
        .get(&name)
        .cloned()
        .ok_or_else(not_connected)?;
    let options = only(&record.options, &name, per, info);
    if record.netns_path.exists() {
        if let Err(e) = netavark.teardown(&record.netns_path, &options) {
            if !force {
                return Err(e);
            }
            tracing::warn!("disconnecting {container_name} from {name}: {e}");
        }
    }
    Ipam::open(&dirs.ipam_db())?.release(container_id, Some(&name))?;
    record.options.networks.remove(&name);
    record.options.network_info.remove(&name);
    write_record(dirs, container_id, &record)?;
    Ok(name)
}

/// Make the running container's networks again as Podman's `network reload` does: netavark's
/// teardown (its errors ignored: the rules it would remove may be gone already), then its
/// setup with the same input (addresses, aliases, ports). Returns the new [`Attachment`]
/// (a MAC address may change), the networks in their interface order.
pub fn reload(dirs: &NetworkDirs, container_id: &str) -> Result<Attachment> {
    let _lock = driver_lock(dirs)?;
    let netavark = crate::rootless_netns::netavark(dirs)?;
    let record = attached_record(dirs, container_id)?;
    if !record.netns_path.exists() {
        return Err(NetworkError::Refused(format!(
            "container {container_id}: its network namespace {} is gone",
            record.netns_path.display()
        )));
    }
    if let Err(e) = netavark.teardown(&record.netns_path, &record.options) {
        tracing::debug!("network reload of {container_id}, teardown: {e}");
    }
    let status = netavark.setup(&record.netns_path, &record.options)?;
    let mut networks: Vec<(Network, NetworkRequest)> = record
        .options
        .network_info
        .values()
        .map(|n| (n.clone(), NetworkRequest::default()))
        .collect();
    let iface = |n: &Network| {
        record
            .options
            .networks
            .get(&n.name)
            .map(|p| p.interface_name.clone())
            .unwrap_or_default()
    };
    networks.sort_by_key(|(n, _)| {
        let i = iface(n);
        (i.len(), i)
    });
    let networks: Vec<(Network, &NetworkRequest)> =
        networks.iter().map(|(n, r)| (n.clone(), r)).collect();
    attachment_of(&record.netns_path, &networks, &record.options, &status)
}
