//! The network definitions on disk and what changes them: the default network (materialised
//! on first use, never removed), `network create` with a free subnet and bridge picked when
//! none is given, lookup by name or id prefix, removal. Files are written through layers'
//! `atomic_file`; changes hold an exclusive [`FileLock`] so two berth processes never pick
//! the same subnet or bridge.

use std::collections::BTreeMap;
use std::fs;
use std::net::IpAddr;
use std::path::Path;

use berth_image_store::lock::{FileLock, LockMode};
use ipnet::IpNet;
use sha2::{Digest as _, Sha256};

use crate::config::{self, Network, Subnet, BRIDGE};
use crate::dirs::NetworkDirs;
use crate::error::{NetworkError, Result};
use crate::hostnets;

/// The default network's name, bridge and subnet (Podman's are `podman`, `podman0`,
/// 10.88.0.0/16: berth's sit next to them, so both can run on one host).
pub const DEFAULT_NETWORK: &str = "berth";
const DEFAULT_BRIDGE: &str = "berth0";
const DEFAULT_SUBNET: &str = "10.87.0.0/16";
/// Podman's default network, which is not always on disk but is used whenever Podman runs.
const PODMAN_DEFAULT_SUBNET: &str = "10.88.0.0/16";
/// Where Podman keeps its (root) definitions.
const PODMAN_NETWORKS: &str = "/etc/containers/networks";
/// Subnets picked for new networks: /24s from 10.90.0.0 upward.
const AUTO_FIRST: [u8; 4] = [10, 90, 0, 0];

/// What `network create` asks for.
#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    /// The name; the first free `berthN` when absent (as Podman's `podmanN`).
    pub name: Option<String>,
    /// `-d`: only `bridge` (the default).
    pub driver: Option<String>,
    pub subnet: Option<IpNet>,
    pub gateway: Option<IpAddr>,
    pub ip_range: Option<IpNet>,
    pub internal: bool,
    pub disable_dns: bool,
    pub labels: BTreeMap<String, String>,
    /// The bridge device; the first free `berthN` when absent.
    pub interface_name: Option<String>,
}

/// A user's network definitions.
#[derive(Debug, Clone)]
pub struct Catalog {
    dirs: NetworkDirs,
}

impl Catalog {
    /// The definitions under `dirs` (both directories are made when missing).
    pub fn open(dirs: NetworkDirs) -> Result<Catalog> {
        for d in [&dirs.config, &dirs.run] {
            fs::create_dir_all(d).map_err(|e| NetworkError::io(d, e))?;
        }
        Ok(Catalog { dirs })
    }

    /// Where they are.
    pub fn dirs(&self) -> &NetworkDirs {
        &self.dirs
    }

    fn lock(&self) -> Result<FileLock> {
        let path = self.dirs.lock();
        FileLock::acquire(&path, LockMode::Exclusive).map_err(|e| NetworkError::io(path, e))
    }

    /// Every network, the default one first, the others by name.
    pub fn list(&self) -> Result<Vec<Network>> {
        let default = self.default_network()?;
        let mut out: Vec<Network> = self
            .read_all()?
            .into_iter()
            .filter(|n| n.name != DEFAULT_NETWORK)
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out.insert(0, default);
        Ok(out)
    }

    /// The network named `name_or_id`, else the one whose id starts with it (if only one).
    pub fn get(&self, name_or_id: &str) -> Result<Network> {
        let all = self.list()?;
        if let Some(n) = all.iter().find(|n| n.name == name_or_id) {
            return Ok(n.clone());
        }
        let by_id: Vec<&Network> = if name_or_id.is_empty() {
            Vec::new()
        } else {
            all.iter()
                .filter(|n| n.id.starts_with(name_or_id))
                .collect()
        };
        match by_id.as_slice() {
            [one] => Ok((*one).clone()),
            [] => Err(NetworkError::NotFound(name_or_id.to_string())),
            _ => Err(NetworkError::Invalid(format!(
                "more than one network matches ID {name_or_id}: be more specific"
            ))),
        }
    }

    /// Whether a network `name_or_id` exists.
    pub fn exists(&self, name_or_id: &str) -> Result<bool> {
        match self.get(name_or_id) {
            Ok(_) => Ok(true),
            Err(NetworkError::NotFound(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The default network, written to disk the first time it is asked for.
    pub fn default_network(&self) -> Result<Network> {
        let path = self.dirs.definition(DEFAULT_NETWORK);
        if let Some(n) = read_definition(&path)? {
            return Ok(n);
        }
        let _lock = self.lock()?;
        if let Some(n) = read_definition(&path)? {
            return Ok(n);
        }
        let n = Network {
            name: DEFAULT_NETWORK.to_string(),
            id: hex::encode(Sha256::digest(DEFAULT_NETWORK.as_bytes())),
            driver: BRIDGE.to_string(),
            network_interface: DEFAULT_BRIDGE.to_string(),
            created: chrono::Utc::now(),
            subnets: vec![Subnet::new(parse_net(DEFAULT_SUBNET), None, None)?],
            ipv6_enabled: false,
            internal: false,
            dns_enabled: false,
            labels: BTreeMap::new(),
            options: BTreeMap::new(),
            ipam_options: host_local(),
        };
        self.write(&n)?;
        Ok(n)
    }

    /// Create a network (see [`CreateOptions`]); nothing is written when a check fails.
    pub fn create(&self, opts: &CreateOptions) -> Result<Network> {
        let driver = opts.driver.as_deref().unwrap_or(BRIDGE);
        if driver != BRIDGE {
            return Err(NetworkError::Invalid(format!(
                "unsupported driver {driver}: only {BRIDGE} is supported"
            )));
        }
        if opts.subnet.is_none() && (opts.gateway.is_some() || opts.ip_range.is_some()) {
            return Err(NetworkError::Invalid(
                "cannot set gateway or range without subnet".to_string(),
            ));
        }
        if let Some(name) = &opts.name {
            config::validate_name(name)?;
        }
        if let Some(i) = &opts.interface_name {
            config::validate_interface_name(i)?;
        }
        self.default_network()?;
        let _lock = self.lock()?;
        let existing = self.read_all()?;
        let name = match &opts.name {
            Some(n) if existing.iter().any(|e| &e.name == n) => {
                return Err(NetworkError::Exists(n.clone()))
            }
            Some(n) => n.clone(),
            None => first_free("berth", 1, |c| existing.iter().any(|e| e.name == c)),
        };
        let used = used_subnets(&existing);
        let subnet = match opts.subnet {
            Some(s) => {
                let s = s.trunc();
                if used.iter().any(|u| config::overlaps(u, &s)) {
                    return Err(NetworkError::Invalid(format!(
                        "subnet {s} is already used on the host or by another config"
                    )));
                }
                Subnet::new(s, opts.gateway, opts.ip_range)?
            }
            None => Subnet::new(free_subnet(&used)?, None, None)?,
        };
        let bridge = match &opts.interface_name {
            Some(i) => {
                if existing.iter().any(|e| &e.network_interface == i) {
                    return Err(NetworkError::Invalid(format!(
                        "bridge name {i} already in use"
                    )));
                }
                i.clone()
            }
            None => first_free("berth", 1, |c| {
                existing.iter().any(|e| e.network_interface == c) || hostnets::interface_exists(c)
            }),
        };
        let n = Network {
            name,
            id: random_id()?,
            driver: BRIDGE.to_string(),
            network_interface: bridge,
            created: chrono::Utc::now(),
            ipv6_enabled: subnet.subnet.network().is_ipv6(),
            subnets: vec![subnet],
            internal: opts.internal,
            dns_enabled: !opts.disable_dns,
            labels: opts.labels.clone(),
            options: BTreeMap::new(),
            ipam_options: host_local(),
        };
        n.validate()?;
        self.write(&n)?;
        berth_image_store::events::emit(berth_image_store::events::Event::network(
            "create", &n.id, &n.name,
        ));
        Ok(n)
    }

    /// Remove the network `name_or_id` (not the default one: [`removable`]) and return its definition.
    /// Whether containers use it is the caller's check (they are a store's, the catalog is
    /// the user's): `berth network rm` removes them first with `-f`, else refuses.
    pub fn remove(&self, name_or_id: &str) -> Result<Network> {
        let n = self.get(name_or_id)?;
        removable(&n)?;
        let _lock = self.lock()?;
        let path = self.dirs.definition(&n.name);
        match fs::remove_file(&path) {
            Ok(()) => {
                berth_image_store::events::emit(berth_image_store::events::Event::network(
                    "remove", &n.id, &n.name,
                ));
                Ok(n)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(NetworkError::NotFound(name_or_id.to_string()))
            }
            Err(e) => Err(NetworkError::io(path, e)),
        }
    }

    fn write(&self, n: &Network) -> Result<()> {
        let path = self.dirs.definition(&n.name);
        berth_layers::atomic_file::write_atomically(&path, n.to_json().as_bytes(), 0o644)
            .map_err(|e| NetworkError::io(path, e))
    }

    /// Every definition file in the config directory.
    fn read_all(&self) -> Result<Vec<Network>> {
        read_dir_definitions(&self.dirs.config)
    }
}

/// The definitions (`*.json`) in `dir`; none when it is missing.
fn read_dir_definitions(dir: &Path) -> Result<Vec<Network>> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(NetworkError::io(dir, e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| NetworkError::io(dir, e))?;
        let path = entry.path();
        if path.extension().is_some_and(|x| x == "json") {
            if let Some(n) = read_definition(&path)? {
                out.push(n);
            }
        }
    }
    Ok(out)
}

/// The definition at `path`, `None` when there is none.
fn read_definition(path: &Path) -> Result<Option<Network>> {
    match fs::read(path) {
        Ok(bytes) => Network::from_json(&bytes)
            .map(Some)
            .map_err(|source| NetworkError::Json {
                path: path.to_path_buf(),
                source,
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(NetworkError::io(path, e)),
    }
}

/// Subnets a new network must not overlap: berth's networks, Podman's (its default and its
/// definitions), and the host's own.
fn used_subnets(existing: &[Network]) -> Vec<IpNet> {
    let mut used: Vec<IpNet> = existing
        .iter()
        .flat_map(|n| n.subnets.iter().map(|s| s.subnet))
        .collect();
    used.push(parse_net(PODMAN_DEFAULT_SUBNET));
    if let Ok(podman) = read_dir_definitions(Path::new(PODMAN_NETWORKS)) {
        used.extend(
            podman
                .iter()
                .flat_map(|n| n.subnets.iter().map(|s| s.subnet)),
        );
    }
    used.extend(hostnets::host_subnets());
    used
}

/// The first /24 from 10.90.0.0 upward that overlaps nothing in `used`.
fn free_subnet(used: &[IpNet]) -> Result<IpNet> {
    let first = u32::from_be_bytes(AUTO_FIRST);
    let last = u32::from_be_bytes([10, 255, 255, 0]);
    (first..=last)
        .step_by(256)
        .map(|n| parse_net(&format!("{}/24", std::net::Ipv4Addr::from(n))))
        .find(|c| !used.iter().any(|u| config::overlaps(u, c)))
        .ok_or_else(|| {
            NetworkError::Invalid(
                "could not find a free subnet from 10.90.0.0/24 to 10.255.255.0/24: give --subnet"
                    .to_string(),
            )
        })
}

/// `prefix` followed by the first number from `from` for which `taken` is false.
fn first_free(prefix: &str, from: u32, taken: impl Fn(&str) -> bool) -> String {
    (from..)
        .map(|i| format!("{prefix}{i}"))
        .find(|c| !taken(c))
        .unwrap_or_default()
}

fn parse_net(text: &str) -> IpNet {
    text.parse().expect("a constant subnet")
}

fn host_local() -> BTreeMap<String, String> {
    BTreeMap::from([("driver".to_string(), "host-local".to_string())])
}

/// 64 random hex digits (as Podman's network ids).
fn random_id() -> Result<String> {
    let mut id = String::with_capacity(64);
    for _ in 0..4 {
        let r = berth_layers::atomic_file::random_u64()
            .map_err(|e| NetworkError::io("getrandom", e))?;
        id.push_str(&format!("{r:016x}"));
    }
    Ok(id)
}

/// Whether network `n` may be removed at all: never the default network (checked before
/// who uses it, so `network rm -f berth` removes no container).
pub fn removable(n: &Network) -> Result<()> {
    if n.name == DEFAULT_NETWORK {
        return Err(NetworkError::Refused(format!(
            "default network {DEFAULT_NETWORK} cannot be removed: invalid argument"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> (tempfile::TempDir, Catalog) {
        let dir = tempfile::tempdir().unwrap();
        let c = Catalog::open(NetworkDirs::under(dir.path())).unwrap();
        (dir, c)
    }

    #[test]
    fn the_default_network_is_there_and_stays() {
        let (_d, c) = catalog();
        let list = c.list().unwrap();
        assert_eq!(list.len(), 1);
        let d = &list[0];
        assert_eq!(
            (d.name.as_str(), d.network_interface.as_str()),
            ("berth", "berth0")
        );
        assert_eq!(d.subnets[0].subnet.to_string(), "10.87.0.0/16");
        assert!(!d.dns_enabled);
        assert_eq!(c.get("berth").unwrap(), *d);
        let e = c.remove("berth").unwrap_err().to_string();
        assert!(e.contains("cannot be removed"), "{e}");
    }

    #[test]
    fn create_picks_free_subnets_and_bridges() {
        // Names that are not hex: "a" would also match an id starting with it.
        let (_d, c) = catalog();
        let named = |n: &str| CreateOptions {
            name: Some(n.to_string()),
            ..Default::default()
        };
        let a = c.create(&named("net-a")).unwrap();
        let b = c.create(&named("net-b")).unwrap();
        assert_ne!(a.subnets[0].subnet, b.subnets[0].subnet);
        assert!(parse_net("10.90.0.0/16").contains(&a.subnets[0].subnet.network()));
        assert_ne!(a.network_interface, b.network_interface);
        assert!(a.dns_enabled);
        let e = c.create(&named("net-a")).unwrap_err().to_string();
        assert_eq!(e, "network name net-a already used: network already exists");
        let overlap = CreateOptions {
            subnet: Some(a.subnets[0].subnet),
            ..named("net-c")
        };
        let e = c.create(&overlap).unwrap_err().to_string();
        assert!(e.contains("already used"), "{e}");
        assert_eq!(c.get(&a.id[..12]).unwrap().name, "net-a");
        c.remove("net-a").unwrap();
        assert!(!c.exists("net-a").unwrap());
        assert!(matches!(c.remove("net-a"), Err(NetworkError::NotFound(_))));
    }

    #[test]
    fn free_subnets_skip_what_is_used() {
        let used = vec![parse_net("10.90.0.0/23"), parse_net("10.90.3.0/24")];
        assert_eq!(free_subnet(&used).unwrap(), parse_net("10.90.2.0/24"));
    }
}
