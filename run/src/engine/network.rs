//! A container's network in its lifecycle (ARCHITECTURE.md, "Networking"):
//!
//! - create ([`Engine::resolve_network`]): bridge mode made explicit (the default network
//!   named), each network checked to exist, the port mappings made final (`-P`'s exposed
//!   ports added, missing host ports chosen), as Podman does at create.
//! - start ([`Engine::join_network`]): the host ports bound and held by the supervisor while
//!   the container runs (as Podman's conmon holds them: a port taken by anyone else fails
//!   the start, naming it; rootless they are let go again for the forwarder process that
//!   `attach` starts), then [`berth_network::attach`]; the spec's network namespace is
//!   the attachment's, and what `/etc/hosts` and `/etc/resolv.conf` need comes from it. The
//!   [`Attachment`] is kept as `network.json` in the bundle for `inspect`. `container:ID`
//!   joins that container's namespace. Any failure after `attach` is undone by the caller's
//!   [`Engine::release`].
//! - stop ([`Engine::leave_network`], from [`Engine::release`]: the exit recorded by the
//!   monitor, a dead monitor noticed, `rm`, `rm -f`, `--rm`): [`berth_network::detach`],
//!   idempotent, from the record `attach` wrote, so also after a `kill -9` of the monitor.

use std::net::{IpAddr, SocketAddr, TcpListener, UdpSocket};
use std::path::PathBuf;

use berth_network::ports::{self, PortMapping, Protocol};
use berth_network::{Attachment, Catalog, NetworkDirs};
use oci_spec::image::ImageConfiguration;
use oci_spec::runtime::{LinuxNamespaceType, Spec};

use crate::container::Container;
use crate::error::{Result, RunError};
use crate::options::{Network, RunOptions};
use crate::spec::etc_files::NetworkEtc;

use super::Engine;

/// A host port held open (its socket) while the container runs.
pub(crate) struct HeldPort(#[allow(dead_code)] std::os::fd::OwnedFd);

/// What joining the network gave the start: the `/etc` files' input, the held host ports.
#[derive(Default)]
pub(crate) struct Joined {
    pub etc: Option<NetworkEtc>,
    pub held: Vec<HeldPort>,
}

/// The bundle's copy of the container's [`Attachment`].
pub(super) fn attachment_path(bundle: &std::path::Path) -> PathBuf {
    bundle.join("network.json")
}

impl Engine<'_> {
    /// At create: see the module's doc.
    pub(crate) fn resolve_network(
        &self,
        options: &mut RunOptions,
        config: &ImageConfiguration,
    ) -> Result<()> {
        let Some(requests) = options.network.requests() else {
            if matches!(options.network, Network::Pasta(_) | Network::Slirp4netns(_)) {
                allocate_ports(options, config)?;
            }
            return Ok(());
        };
        options.network = std::mem::take(&mut options.network).resolved();
        let catalog = Catalog::open(NetworkDirs::for_current_user())?;
        for r in &requests {
            catalog.get(&r.network)?;
        }
        allocate_ports(options, config)
    }

    /// At start: see the module's doc.
    pub(crate) fn join_network(&self, c: &Container, spec: &mut Spec) -> Result<Joined> {
        match &c.options.network {
            Network::Container(other) => {
                let (other, pid) = self.running_pid(
                    &self.records().get(other)?,
                    ": cannot join its network namespace",
                )?;
                set_netns_path(spec, PathBuf::from(format!("/proc/{pid}/ns/net")));
                // Its addresses and DNS servers (a pod's members: the infra container's).
                Ok(Joined {
                    etc: self.attachment(&other).map(|a| network_etc(&a)),
                    held: Vec::new(),
                })
            }
            Network::Pasta(_) | Network::Slirp4netns(_) => self.join_user_network(c, spec),
            network => {
                // No network left (`network disconnect` of each): a namespace with `lo` only.
                let Some(requests) = network.requests().filter(|r| !r.is_empty()) else {
                    return Ok(Joined::default());
                };
                let mut held = hold_ports(&c.options.ports)?;
                if berth_network::rootless_netns::is_rootless() {
                    // Rootless: checked free, then let go for the forwarder to bind.
                    held.clear();
                }
                let dirs = NetworkDirs::for_current_user();
                // What a crash may have left of an earlier start.
                berth_network::detach(&dirs, &c.id)?;
                let catalog = Catalog::open(dirs)?;
                let name = self.dns_name(c);
                // The record names this store, whose `system check` alone judges it.
                let keeper = berth_network::Keeper {
                    owner: None,
                    store: Some(self.store().root().to_path_buf()),
                };
                let attachment = berth_network::attach_owned(
                    &catalog,
                    &c.id,
                    &name,
                    &requests,
                    &c.options.ports,
                    &keeper,
                )?;
                let bundle = self.bundle_dir(&c.id);
                crate::bundle::write_json(&attachment_path(&bundle), &attachment)?;
                set_netns_path(spec, attachment.netns_path.clone());
                Ok(Joined {
                    etc: Some(network_etc(&attachment)),
                    held,
                })
            }
        }
    }

    /// At stop and removal: see the module's doc. Failures are logged: the rest of the
    /// release goes on, and a later `rm` tries again.
    pub(crate) fn leave_network(&self, c: &Container) {
        self.leave_user_network(c);
        // A namespace of its own that is not netavark's (`none`, every network disconnected).
        berth_network::netns::remove(&self.bundle_dir(&c.id).join("netns"));
        if c.options.network.requests().is_none() {
            return;
        }
        if let Err(e) = berth_network::detach(&NetworkDirs::for_current_user(), &c.id) {
            tracing::warn!(
                target: "berth_run::engine",
                container = %c.id,
                error = %e,
                "network teardown failed",
            );
        }
        let _ = std::fs::remove_file(attachment_path(&self.bundle_dir(&c.id)));
    }

    /// The name aardvark-dns serves for the container: its pod's for a pod's infra container
    /// (the members share its namespace), else its own, as Podman 4.3's `getCNIPodName`.
    fn dns_name(&self, c: &Container) -> String {
        c.options
            .pod
            .as_deref()
            .and_then(|p| self.pod(p).ok())
            .filter(|p| p.config.infra_id.as_deref() == Some(c.id.as_str()))
            .map(|p| p.name)
            .unwrap_or_else(|| c.name.clone())
    }

    /// The running container's [`Attachment`] (`None`: not on a network, or not running).
    pub fn attachment(&self, c: &Container) -> Option<Attachment> {
        let bytes = std::fs::read(attachment_path(&self.bundle_dir(&c.id))).ok()?;
        serde_json::from_slice(&bytes).ok()
    }
}

/// `-p` and `-P`'s exposed ports as final mappings (missing host ports chosen), at create.
fn allocate_ports(options: &mut RunOptions, config: &ImageConfiguration) -> Result<()> {
    let exposed = match (options.publish_all, config.config()) {
        (true, Some(c)) => {
            ports::exposed_ports(c.exposed_ports().iter().flatten().map(String::as_str))
                .map_err(|e| RunError::Invalid(e.to_string()))?
        }
        _ => Vec::new(),
    };
    options.ports = ports::allocate(&options.publish, &exposed, &mut ports::bind_free_port)
        .map_err(|e| RunError::Invalid(e.to_string()))?;
    Ok(())
}

/// Point the spec's network namespace at `path` (the runtime joins it, makes none).
pub(crate) fn set_netns_path(spec: &mut Spec, path: PathBuf) {
    super::namespaces::set_namespace_path(spec, LinuxNamespaceType::Network, path);
}

/// What the container's `/etc/hosts` and `/etc/resolv.conf` need from its attachment.
pub fn network_etc(a: &Attachment) -> NetworkEtc {
    let addresses: Vec<IpAddr> = a
        .networks
        .iter()
        .flat_map(|n| n.addresses.iter().map(|x| x.ip.addr()))
        .collect();
    NetworkEtc {
        ipv6: addresses.iter().any(IpAddr::is_ipv6),
        gateway: a
            .networks
            .first()
            .and_then(|n| n.addresses.iter().find_map(|x| x.gateway)),
        addresses,
        dns_servers: a.dns_servers.clone(),
    }
}

/// Bind every host port of `mappings` (Podman's check, with its words): a port taken by a
/// host process or another container fails here, before anything is set up.
pub(super) fn hold_ports(mappings: &[PortMapping]) -> Result<Vec<HeldPort>> {
    let mut held = Vec::new();
    for m in mappings {
        let ip: IpAddr = if m.host_ip.is_empty() {
            IpAddr::from([0, 0, 0, 0])
        } else {
            m.host_ip
                .parse()
                .map_err(|_| RunError::Invalid(format!("invalid host ip {:?}", m.host_ip)))?
        };
        // `allocate` keeps host_port + range - 1 within 65535.
        for port in (0..m.range).map(|i| m.host_port + i) {
            let addr = SocketAddr::new(ip, port);
            let family = if ip.is_ipv4() { "4" } else { "6" };
            let bound = match m.protocol {
                Protocol::Udp => UdpSocket::bind(addr).map(|s| HeldPort(s.into())),
                // SCTP: the kernel's SCTP port space is not checked here.
                Protocol::Tcp | Protocol::Sctp => {
                    TcpListener::bind(addr).map(|s| HeldPort(s.into()))
                }
            };
            match bound {
                Ok(h) => held.push(h),
                Err(e) => {
                    return Err(RunError::FailedPrecondition(format!(
                        "cannot listen on the {} port: listen {}{family} {addr}: bind: {}",
                        m.protocol.as_str().to_uppercase(),
                        m.protocol,
                        io_words(&e)
                    )))
                }
            }
        }
    }
    Ok(held)
}

/// An io error as Go prints it (`address already in use`).
fn io_words(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::AddrInUse => "address already in use".to_string(),
        _ => e.to_string(),
    }
}
