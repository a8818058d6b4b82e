//! A container's networks changed after create, as Podman 4.3's `network connect`,
//! `network disconnect` and `network reload` (ARCHITECTURE.md, "Networking"):
//!
//! - connect/disconnect: the container's options (its `Network::Bridge` list, kept in its
//!   record, so `inspect`, `ps` and the next start see it) always; while it runs, also
//!   netavark for that one network on its namespace ([`berth_network::connect`]), the
//!   bundle's `network.json` and its `/etc/hosts` and `/etc/resolv.conf` (a line per address,
//!   the network's DNS server first, as Podman writes them). Under the start lock: a start
//!   cannot race it.
//! - reload: netavark's teardown and setup again for a running container, after its firewall
//!   rules were flushed.
//! - the names a network with DNS must serve ([`Engine::check_dns_names`], at create and
//!   connect): a name aardvark-dns could not answer for is refused before anything is made.

use std::net::IpAddr;

use berth_network::{Attachment, Catalog, NetworkDirs, NetworkRequest, DEFAULT_NETWORK};

use crate::container::{Container, State};
use crate::error::{Result, RunError};
use crate::options::network::NetworkAttachment;
use crate::options::{Network, RunOptions};

use super::network::{attachment_path, network_etc};
use super::Engine;

/// `network connect`'s options.
#[derive(Debug, Clone, Default)]
pub struct ConnectRequest {
    /// The network's name or id.
    pub network: String,
    /// `--alias`.
    pub aliases: Vec<String>,
    /// `--ip`.
    pub static_ip: Option<IpAddr>,
    /// `--mac-address`.
    pub static_mac: Option<String>,
}

/// The network a bridge-mode attachment names.
fn network_name(a: &NetworkAttachment) -> &str {
    a.name.as_deref().unwrap_or(DEFAULT_NETWORK)
}

/// The attachments of a bridge-mode container, or Podman's refusal for other modes.
fn bridge_attachments(c: &Container) -> Result<Vec<NetworkAttachment>> {
    match c.options.network.clone().resolved() {
        Network::Bridge(list) => Ok(list),
        other => Err(RunError::Invalid(format!(
            "\"{}\" is not supported: invalid network mode",
            other.mode()
        ))),
    }
}

impl Engine<'_> {
    /// `network connect`: see the module's doc. Returns the network's name.
    pub fn network_connect(&self, c: &Container, req: &ConnectRequest) -> Result<String> {
        let _lock = self.start_lock(c)?;
        let c = self.refresh(self.records().get(&c.id)?)?;
        let mut list = bridge_attachments(&c)?;
        let catalog = Catalog::open(NetworkDirs::for_current_user())?;
        let n = catalog.get(&req.network)?;
        if list.iter().any(|a| network_name(a) == n.name) {
            return Err(RunError::Invalid(format!(
                "container {} is already connected to network {:?}: network is already connected",
                c.id, n.name
            )));
        }
        if n.dns_enabled {
            dns_names_ok(&c.name, &req.aliases, &n.name)?;
        }
        let running = c.state == State::Running;
        if let (true, Some(mut a)) = (running, self.attachment(&c)) {
            let request = NetworkRequest {
                network: n.name.clone(),
                aliases: req.aliases.clone(),
                static_ip: req.static_ip,
                static_mac: req.static_mac.clone(),
            };
            let part = berth_network::connect::connect(&catalog, &c.id, &request)?;
            // The new network's DNS server first, as Podman's resolv.conf has it.
            let mut servers = part.dns_servers.clone();
            for s in &a.dns_servers {
                if !servers.contains(s) {
                    servers.push(*s);
                }
            }
            a.dns_servers = servers;
            for d in part.dns_search_domains {
                if !a.dns_search_domains.contains(&d) {
                    a.dns_search_domains.push(d);
                }
            }
            a.networks.extend(part.networks);
            self.network_changed(&c, &a)?;
        }
        list.push(NetworkAttachment {
            name: Some(n.name.clone()),
            static_ips: req.static_ip.into_iter().collect(),
            static_mac: req.static_mac.clone(),
            aliases: req.aliases.clone(),
            interface_name: None,
        });
        let mut options = c.options.clone();
        options.network = Network::Bridge(list);
        self.records().set_options(&c.id, &options)?;
        Ok(n.name)
    }

    /// `network disconnect [-f]`: see the module's doc. Returns the network's name.
    pub fn network_disconnect(&self, c: &Container, network: &str, force: bool) -> Result<String> {
        let _lock = self.start_lock(c)?;
        let c = self.refresh(self.records().get(&c.id)?)?;
        let catalog = Catalog::open(NetworkDirs::for_current_user())?;
        let name = catalog
            .get(network)
            .map(|n| n.name)
            .unwrap_or_else(|_| network.to_string());
        let not_connected = || {
            RunError::Invalid(format!(
                "container {} is not connected to network {name}",
                c.name
            ))
        };
        let mut list = bridge_attachments(&c).map_err(|_| not_connected())?;
        let at = list
            .iter()
            .position(|a| network_name(a) == name)
            .ok_or_else(not_connected)?;
        let live = self
            .attachment(&c)
            .filter(|a| c.state == State::Running && a.networks.iter().any(|n| n.network == name));
        if let Some(mut a) = live {
            berth_network::connect::disconnect(&catalog, &c.id, &c.name, &name, force)?;
            a.networks.retain(|n| n.network != name);
            // A DNS server is a remaining network's gateway (aardvark-dns listens there).
            let gateways: Vec<IpAddr> = a
                .networks
                .iter()
                .flat_map(|n| n.addresses.iter().filter_map(|x| x.gateway))
                .collect();
            a.dns_servers.retain(|s| gateways.contains(s));
            self.network_changed(&c, &a)?;
        }
        list.remove(at);
        let mut options = c.options.clone();
        options.network = Network::Bridge(list);
        self.records().set_options(&c.id, &options)?;
        Ok(name)
    }

    /// `network reload`: netavark's rules made again for running container `c` (a container
    /// not in bridge mode has none: nothing to do).
    pub fn network_reload(&self, c: &Container) -> Result<()> {
        let (c, _) = self.running_pid(c, "")?;
        if c.options.network.requests().is_none() {
            return Ok(());
        }
        let a = berth_network::connect::reload(&NetworkDirs::for_current_user(), &c.id)?;
        let mut kept = self.attachment(&c).unwrap_or_else(|| a.clone());
        // The networks as they were asked for (eth0 first), with netavark's new answer.
        for n in kept.networks.iter_mut() {
            if let Some(now) = a.networks.iter().find(|m| m.network == n.network) {
                *n = now.clone();
            }
        }
        self.network_changed(&c, &kept)
    }

    /// Every name a container is known by on a network with DNS must be one aardvark-dns
    /// can serve: refused at create, before anything is made (`options` resolved).
    pub(crate) fn check_dns_names(&self, name: &str, options: &RunOptions) -> Result<()> {
        let Some(requests) = options.network.requests() else {
            return Ok(());
        };
        let catalog = Catalog::open(NetworkDirs::for_current_user())?;
        for r in requests {
            if catalog.get(&r.network)?.dns_enabled {
                dns_names_ok(name, &r.aliases, &r.network)?;
            }
        }
        Ok(())
    }

    /// The running container's attachment is now `a`: `network.json` and its `/etc` files.
    fn network_changed(&self, c: &Container, a: &Attachment) -> Result<()> {
        let bundle = self.bundle_dir(&c.id);
        crate::bundle::write_json(&attachment_path(&bundle), a)?;
        let hostname = crate::spec::etc_files::spec_hostname(c.spec.get()?);
        crate::spec::etc_files::rewrite_network_files(
            &bundle,
            &hostname,
            &c.options,
            &c.name,
            Some(&network_etc(a)),
        )
    }
}

/// `name` and `aliases` as DNS names on network `network`, or the one-line error.
fn dns_names_ok(name: &str, aliases: &[String], network: &str) -> Result<()> {
    let names = std::iter::once(("container name", name))
        .chain(aliases.iter().map(|a| ("network alias", a.as_str())));
    for (what, n) in names {
        if let Some(why) = berth_network::config::dns_name_problem(n) {
            return Err(RunError::Invalid(format!(
                "{what} {n:?} is not a valid DNS name on network {network} (it has DNS enabled): {why}"
            )));
        }
    }
    Ok(())
}
