//! What the container lifecycle calls: [`attach`] puts a container on its networks (an
//! address from the IPAM on each, a persistent namespace, netavark's setup) and undoes all of
//! it when any step fails; [`detach`] takes it off again (netavark's teardown, the addresses
//! given back, the namespace removed), idempotently, also after a crash: what netavark was
//! given is kept in `<run dir>/attachments/<container id>.json` until the teardown is done.
//!
//! Rootless, netavark runs inside the rootless netns ([`crate::rootless_netns`], made on the
//! first attach, destroyed by the detach that removes the last record), and published ports
//! get a forwarder process ([`crate::port_forward`]) named in the record.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use berth_image_store::lock::{FileLock, LockMode};
use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::catalog::Catalog;
use crate::dirs::NetworkDirs;
use crate::error::{NetworkError, Result};
use crate::ipam::Ipam;
use crate::netavark::{Netavark, NetworkOptions, PerNetworkOptions, StatusBlock};
use crate::netns;
use crate::port_forward::{self, ForwardConfig};
use crate::ports::PortMapping;
use crate::rootless_netns;
use crate::usernet::UserNet;

/// One network a container asks to join.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetworkRequest {
    /// The network's name or id.
    pub network: String,
    /// Names aardvark-dns resolves to the container besides its name (`--network-alias`).
    pub aliases: Vec<String>,
    /// `--ip`: this address rather than the IPAM's choice.
    pub static_ip: Option<IpAddr>,
    /// `--mac-address`.
    pub static_mac: Option<String>,
}

/// A container on its networks: what `/etc/hosts`, `/etc/resolv.conf`, `inspect` and the
/// runtime (which joins `netns_path`) need. Kept in the container's record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attachment {
    pub netns_path: PathBuf,
    /// In the order asked for (`eth0` first).
    pub networks: Vec<AttachedNetwork>,
    pub dns_servers: Vec<IpAddr>,
    pub dns_search_domains: Vec<String>,
}

/// The container's interface on one network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttachedNetwork {
    pub network: String,
    pub interface: String,
    pub mac_address: String,
    pub addresses: Vec<AttachedAddress>,
}

/// One address of an interface.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttachedAddress {
    /// The address with its prefix length (`10.90.0.2/24`).
    pub ip: IpNet,
    /// The subnet it is in (`10.90.0.0/24`).
    pub subnet: IpNet,
    pub gateway: Option<IpAddr>,
}

/// What [`detach`] needs after any crash: the namespace and netavark's input, and the
/// process that must detach it when no container monitor will ([`attach_owned`]).
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Record {
    pub(crate) netns_path: PathBuf,
    pub(crate) options: NetworkOptions,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) owner: Option<Owner>,
    /// Rootless: the process forwarding the published ports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) forwarder: Option<UserNet>,
    /// The root of the store whose container this is (records written before it was kept
    /// name none): only that store's `system check` judges the record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) store: Option<PathBuf>,
}

/// A process by pid and start time (the start time tells a reused pid apart).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Owner {
    pub pid: u32,
    pub start: u64,
}

pub(crate) fn record_path(dirs: &NetworkDirs, container_id: &str) -> PathBuf {
    dirs.run
        .join("attachments")
        .join(format!("{container_id}.json"))
}

/// netavark and aardvark-dns's files are shared by every container: one call at a time.
pub(crate) fn driver_lock(dirs: &NetworkDirs) -> Result<FileLock> {
    let path = dirs.run.join("netavark.lock");
    FileLock::acquire(&path, LockMode::Exclusive).map_err(|e| NetworkError::io(path, e))
}

/// Put the container on the networks of `requests` (at least one), publishing `ports`.
pub fn attach(
    catalog: &Catalog,
    container_id: &str,
    container_name: &str,
    requests: &[NetworkRequest],
    ports: &[PortMapping],
) -> Result<Attachment> {
    attach_owned(
        catalog,
        container_id,
        container_name,
        requests,
        ports,
        &Keeper::default(),
    )
}

/// Who answers for an attachment, written with its record: the process that detaches the
/// container when no monitor will (a build's RUN container; if it dies first, [`owned`] lists
/// the record for another process to detach), and the store the container is of.
#[derive(Debug, Clone, Default)]
pub struct Keeper {
    pub owner: Option<Owner>,
    pub store: Option<PathBuf>,
}

/// [`attach`], the record naming its [`Keeper`] from its first write.
pub fn attach_owned(
    catalog: &Catalog,
    container_id: &str,
    container_name: &str,
    requests: &[NetworkRequest],
    ports: &[PortMapping],
    keeper: &Keeper,
) -> Result<Attachment> {
    let attached = attach_undoing(
        catalog,
        container_id,
        container_name,
        requests,
        ports,
        keeper,
    );
    if attached.is_err() && rootless_netns::is_rootless() {
        // A rootless netns made for this container alone goes with it.
        let dirs = catalog.dirs();
        let _lock = driver_lock(dirs)?;
        destroy_rootless_netns_if_unused(dirs)?;
    }
    attached
}

/// [`attach_owned`], everything undone on failure but the rootless netns.
fn attach_undoing(
    catalog: &Catalog,
    container_id: &str,
    container_name: &str,
    requests: &[NetworkRequest],
    ports: &[PortMapping],
    keeper: &Keeper,
) -> Result<Attachment> {
    if requests.is_empty() {
        return Err(NetworkError::Invalid(format!(
            "container {container_name}: no network to attach to"
        )));
    }
    if container_id.is_empty() || !container_id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(NetworkError::Invalid(format!(
            "container id {container_id:?} invalid for a network namespace"
        )));
    }
    let dirs = catalog.dirs();
    Netavark::find(&dirs.netavark())?;
    std::fs::create_dir_all(dirs.netavark()).map_err(|e| NetworkError::io(dirs.netavark(), e))?;
    let mut networks = Vec::new();
    for r in requests {
        let n = catalog.get(&r.network)?;
        if networks
            .iter()
            .any(|(m, _): &(crate::config::Network, _)| m.name == n.name)
        {
            return Err(NetworkError::Invalid(format!(
                "container {container_name}: network {} given twice",
                n.name
            )));
        }
        networks.push((n, r));
    }
    let mut undo = Undo {
        dirs,
        container_id,
        netavark: None,
        released: false,
    };
    let mut options = NetworkOptions {
        container_id: container_id.to_string(),
        container_name: container_name.to_string(),
        networks: BTreeMap::new(),
        network_info: BTreeMap::new(),
        port_mappings: ports.to_vec(),
    };
    let mut ipam = Ipam::open(&dirs.ipam_db())?;
    for (i, (n, r)) in networks.iter().enumerate() {
        let ips = ipam.allocate(n, container_id, r.static_ip)?;
        options.networks.insert(
            n.name.clone(),
            PerNetworkOptions {
                aliases: r.aliases.clone(),
                interface_name: format!("eth{i}"),
                static_ips: ips,
                static_mac: r.static_mac.clone(),
            },
        );
        options.network_info.insert(n.name.clone(), n.clone());
    }
    drop(ipam);
    let netns_path = netns::create_persistent(&dirs.netns(), container_id)?;
    let mut record = Record {
        netns_path: netns_path.clone(),
        options,
        owner: keeper.owner,
        store: keeper.store.clone(),
        forwarder: None,
    };
    write_record(dirs, container_id, &record)?;
    let _lock = driver_lock(dirs)?;
    // Rootless: inside the rootless netns, made now if it is not running.
    let netavark = rootless_netns::netavark(dirs)?;
    undo.netavark = Some((netavark.clone(), record.options.clone()));
    let status = netavark.setup(&netns_path, &record.options)?;
    let attachment = attachment_of(&netns_path, &networks, &record.options, &status)?;
    if rootless_netns::is_rootless() && !ports.is_empty() {
        let forwarder = start_forwarder(dirs, container_id, &attachment, ports)?;
        record.forwarder = Some(forwarder.clone());
        if let Err(e) = write_record(dirs, container_id, &record) {
            port_forward::stop(dirs, container_id, &forwarder);
            return Err(e);
        }
    }
    undo.released = true;
    Ok(attachment)
}

/// Rootless `-p`: the forwarder from the host's ports to the container's first IPv4 address
/// (else its first address), as Podman's rootlessport's child IP.
fn start_forwarder(
    dirs: &NetworkDirs,
    container_id: &str,
    attachment: &Attachment,
    ports: &[PortMapping],
) -> Result<UserNet> {
    let addresses: Vec<IpAddr> = attachment
        .networks
        .iter()
        .flat_map(|n| n.addresses.iter().map(|a| a.ip.addr()))
        .collect();
    let target = addresses
        .iter()
        .find(|a| a.is_ipv4())
        .or(addresses.first())
        .copied()
        .ok_or_else(|| {
            NetworkError::Refused(format!(
                "container {container_id}: no address to forward its published ports to"
            ))
        })?;
    let netns = rootless_netns::running(dirs)
        .map(|h| h.netns)
        .ok_or_else(|| NetworkError::Refused("the rootless netns is not running".into()))?;
    port_forward::start(
        dirs,
        container_id,
        &ForwardConfig {
            netns,
            target,
            ports: ports.to_vec(),
        },
    )
}

/// Rootless, with no attachment record left: the rootless netns destroyed (the caller holds
/// [`driver_lock`]).
fn destroy_rootless_netns_if_unused(dirs: &NetworkDirs) -> Result<()> {
    if records(dirs)?.is_empty() && rootless_netns::recorded(dirs).is_some() {
        rootless_netns::destroy(dirs);
    }
    Ok(())
}

/// Take the container off its networks; nothing to do is not an error.
pub fn detach(dirs: &NetworkDirs, container_id: &str) -> Result<()> {
    detach_with(dirs, container_id, false)
}

/// [`detach`] a container that is gone for good (a stale record, `system check --repair`):
/// a failed netavark teardown (an interface already gone with a half-made or half-undone
/// setup) does not keep its namespace, addresses and record; it is logged.
pub fn detach_stale(dirs: &NetworkDirs, container_id: &str) -> Result<()> {
    detach_with(dirs, container_id, true)
}

fn detach_with(dirs: &NetworkDirs, container_id: &str, stale: bool) -> Result<()> {
    let path = record_path(dirs, container_id);
    // The record is read under the driver's lock: two processes may detach one container at
    // once (two builds' steps both finding a dead step's record), and the second must find
    // it gone rather than tear down what the first already did.
    let _lock = driver_lock(dirs)?;
    let record = read_record(dirs, container_id)?;
    let rootless = rootless_netns::is_rootless();
    if record.is_none() && !rootless {
        netns::remove(&dirs.netns().join(container_id));
        return Ipam::open(&dirs.ipam_db())?.release(container_id, None);
    }
    if let Some(r) = &record {
        if let Some(f) = &r.forwarder {
            port_forward::stop(dirs, container_id, f);
        }
        // Every network disconnected: nothing of netavark's is left. Rootless with the
        // rootless netns gone: its bridges, rules and aardvark-dns went with it.
        if r.netns_path.exists() && !r.options.networks.is_empty() {
            if let Some(netavark) = rootless_netns::netavark_if_up(dirs)? {
                match netavark.teardown(&r.netns_path, &r.options) {
                    Ok(()) => {}
                    // Expected of a dead container (its interface went with a half-made or
                    // half-undone setup): said at info, not on every build's stderr.
                    Err(e) if stale => {
                        tracing::info!(container = %container_id, error = %e, "teardown of a stale attachment");
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        netns::remove(&r.netns_path);
    }
    netns::remove(&dirs.netns().join(container_id));
    Ipam::open(&dirs.ipam_db())?.release(container_id, None)?;
    match std::fs::remove_file(&path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(NetworkError::io(path, e)),
    }
    if rootless {
        destroy_rootless_netns_if_unused(dirs)?;
    }
    Ok(())
}

/// The attachments that name an owner, by container id.
pub fn owned(dirs: &NetworkDirs) -> Result<Vec<(String, Owner)>> {
    let mut out = Vec::new();
    for (id, record) in records(dirs)? {
        if let Some(owner) = record.owner {
            out.push((id, owner));
        }
    }
    Ok(out)
}

/// Every attachment record of this user, by container id (unreadable ones left out).
pub(crate) fn records(dirs: &NetworkDirs) -> Result<Vec<(String, Record)>> {
    let dir = dirs.run.join("attachments");
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(NetworkError::io(dir, e)),
    };
    let mut out = Vec::new();
    for e in entries.flatten() {
        let path = e.path();
        let Some(id) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".json"))
        else {
            continue;
        };
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        if let Ok(r) = serde_json::from_slice::<Record>(&bytes) {
            out.push((id.to_string(), r));
        }
    }
    Ok(out)
}

/// The record [`attach`] wrote for the container (`None`: not attached).
pub(crate) fn read_record(dirs: &NetworkDirs, container_id: &str) -> Result<Option<Record>> {
    let path = record_path(dirs, container_id);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|source| NetworkError::Json { path, source }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(NetworkError::io(&path, e)),
    }
}

/// The containers on network `name` now (an attachment record names it), by id: those of
/// every store of this user, running or left by a crash.
pub fn attached(dirs: &NetworkDirs, name: &str) -> Result<Vec<String>> {
    let mut out: Vec<String> = records(dirs)?
        .into_iter()
        .filter(|(_, r)| r.options.networks.contains_key(name))
        .map(|(id, _)| id)
        .collect();
    out.sort();
    Ok(out)
}

pub(crate) fn write_record(dirs: &NetworkDirs, container_id: &str, record: &Record) -> Result<()> {
    let path = record_path(dirs, container_id);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| NetworkError::io(dir, e))?;
    }
    let bytes = serde_json::to_vec(record).map_err(|source| NetworkError::Json {
        path: path.clone(),
        source,
    })?;
    berth_layers::atomic_file::write_atomically(&path, &bytes, 0o600)
        .map_err(|e| NetworkError::io(path, e))
}

/// netavark's answer as an [`Attachment`], networks in the order asked for.
pub(crate) fn attachment_of(
    netns_path: &Path,
    networks: &[(crate::config::Network, &NetworkRequest)],
    options: &NetworkOptions,
    status: &BTreeMap<String, StatusBlock>,
) -> Result<Attachment> {
    let mut out = Attachment {
        netns_path: netns_path.to_path_buf(),
        networks: Vec::new(),
        dns_servers: Vec::new(),
        dns_search_domains: Vec::new(),
    };
    for (n, _) in networks {
        let per = &options.networks[&n.name];
        let block = status.get(&n.name).ok_or_else(|| NetworkError::Netavark {
            action: "setup".into(),
            message: format!("no status for network {}", n.name),
        })?;
        let iface = block
            .interfaces
            .get(&per.interface_name)
            .cloned()
            .unwrap_or_default();
        let addresses = iface
            .subnets
            .iter()
            .map(|a| AttachedAddress {
                ip: a.ipnet,
                subnet: a.ipnet.trunc(),
                gateway: a.gateway,
            })
            .collect();
        out.networks.push(AttachedNetwork {
            network: n.name.clone(),
            interface: per.interface_name.clone(),
            mac_address: iface.mac_address,
            addresses,
        });
        for ip in &block.dns_server_ips {
            if !out.dns_servers.contains(ip) {
                out.dns_servers.push(*ip);
            }
        }
        for d in &block.dns_search_domains {
            if !out.dns_search_domains.contains(d) {
                out.dns_search_domains.push(d.clone());
            }
        }
    }
    Ok(out)
}

/// Undoes a half-made [`attach`] when dropped before `released`: teardown (if netavark
/// ran), the namespace, the addresses, the record.
struct Undo<'a> {
    dirs: &'a NetworkDirs,
    container_id: &'a str,
    netavark: Option<(Netavark, NetworkOptions)>,
    released: bool,
}

impl Drop for Undo<'_> {
    fn drop(&mut self) {
        if self.released {
            return;
        }
        let ns = self.dirs.netns().join(self.container_id);
        if let Some((netavark, options)) = &self.netavark {
            if ns.exists() {
                // The attach's own hold of the lock ended before this guard (declared later).
                let _lock = driver_lock(self.dirs);
                if let Err(e) = netavark.teardown(&ns, options) {
                    tracing::debug!("undoing a failed network setup: {e}");
                }
            }
        }
        netns::remove(&ns);
        if let Ok(mut ipam) = Ipam::open(&self.dirs.ipam_db()) {
            let _ = ipam.release(self.container_id, None);
        }
        let _ = std::fs::remove_file(record_path(self.dirs, self.container_id));
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn record(
        dirs: &NetworkDirs,
        id: &str,
        networks: &[&str],
        owner: Option<Owner>,
        store: Option<&str>,
    ) {
        let mut options = NetworkOptions {
            container_id: id.into(),
            container_name: id.into(),
            networks: BTreeMap::new(),
            network_info: BTreeMap::new(),
            port_mappings: Vec::new(),
        };
        for n in networks {
            options.networks.insert(
                n.to_string(),
                PerNetworkOptions {
                    aliases: Vec::new(),
                    interface_name: "eth0".into(),
                    static_ips: Vec::new(),
                    static_mac: None,
                },
            );
        }
        let r = Record {
            netns_path: dirs.netns().join(id),
            options,
            owner,
            store: store.map(PathBuf::from),
            forwarder: None,
        };
        write_record(dirs, id, &r).unwrap();
    }

    #[test]
    fn attached_lists_the_containers_on_a_network_from_their_records() {
        let tmp = tempfile::tempdir().unwrap();
        let dirs = NetworkDirs::under(tmp.path());
        assert!(attached(&dirs, "web").unwrap().is_empty());
        record(&dirs, "b2", &["web", "db"], None, None);
        record(&dirs, "a1", &["web"], None, None);
        record(&dirs, "c3", &["db"], None, None);
        std::fs::write(dirs.run.join("attachments/junk.json"), "{").unwrap();
        assert_eq!(attached(&dirs, "web").unwrap(), ["a1", "b2"]);
        assert_eq!(attached(&dirs, "db").unwrap(), ["b2", "c3"]);
        // detach of one with no namespace left removes its record.
        detach(&dirs, "a1").unwrap();
        assert_eq!(attached(&dirs, "web").unwrap(), ["b2"]);
    }
}
