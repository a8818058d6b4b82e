//! IP assignment: which container holds which address of which network. A small SQLite file
//! in the network run directory (`ipam.db`, as Podman keeps its `ipam.db` under
//! `/run/containers/networks`), not the store's `berth.db`: addresses are host-wide and a
//! store is not. Each allocation is one transaction, so allocations survive a crash and two
//! processes never hand out one address.

use std::collections::HashSet;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{params, Connection, TransactionBehavior};

use crate::config::{self, Network, Subnet};
use crate::error::{NetworkError, Result};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS allocations (
    network TEXT NOT NULL,
    ip TEXT NOT NULL,
    container_id TEXT NOT NULL,
    PRIMARY KEY (network, ip)
);
CREATE INDEX IF NOT EXISTS allocations_by_container ON allocations (container_id);
";

/// The IPAM database.
pub struct Ipam {
    conn: Connection,
    path: PathBuf,
}

impl Ipam {
    /// Open (creating) the database at `path`.
    pub fn open(path: &Path) -> Result<Ipam> {
        let err = |source| NetworkError::Ipam {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| NetworkError::io(dir, e))?;
        }
        let conn = Connection::open(path).map_err(err)?;
        conn.busy_timeout(Duration::from_secs(30)).map_err(err)?;
        conn.execute_batch(SCHEMA).map_err(err)?;
        Ok(Ipam {
            conn,
            path: path.to_path_buf(),
        })
    }

    fn err(&self, source: rusqlite::Error) -> NetworkError {
        NetworkError::Ipam {
            path: self.path.clone(),
            source,
        }
    }

    /// One address in each subnet of `network` for `container_id`: `requested` in the subnet
    /// that holds it, the lowest free address of the lease range (or of the subnet, without
    /// its network, gateway and broadcast addresses) in the others. A container that already
    /// holds addresses there gets them again.
    pub fn allocate(
        &mut self,
        network: &Network,
        container_id: &str,
        requested: Option<IpAddr>,
    ) -> Result<Vec<IpAddr>> {
        if let Some(ip) = requested {
            if !network.subnets.iter().any(|s| s.subnet.contains(&ip)) {
                return Err(NetworkError::Invalid(format!(
                    "requested ip address {ip} is not in any subnet of network {}",
                    network.name
                )));
            }
        }
        let path = self.path.clone();
        let err = |source| NetworkError::Ipam {
            path: path.clone(),
            source,
        };
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
        let held = addresses_in(&tx, &network.name, Some(container_id)).map_err(err)?;
        if !held.is_empty() && requested.is_none_or(|r| held.iter().any(|(_, ip)| *ip == r)) {
            return Ok(held.into_iter().map(|(_, ip)| ip).collect());
        }
        tx.execute(
            "DELETE FROM allocations WHERE network = ?1 AND container_id = ?2",
            params![network.name, container_id],
        )
        .map_err(err)?;
        let taken: Vec<(String, IpAddr)> = addresses_in(&tx, &network.name, None).map_err(err)?;
        let mut out = Vec::new();
        for subnet in &network.subnets {
            let ip = match requested.filter(|r| subnet.subnet.contains(r)) {
                Some(r) => check_requested(network, subnet, r, &taken)?,
                None => {
                    let used: HashSet<IpAddr> = taken.iter().map(|(_, ip)| *ip).collect();
                    lowest_free(subnet, &used).ok_or_else(|| {
                        NetworkError::Refused(format!(
                            "IPAM error: failed to find free IP in range: {} of network {}",
                            subnet.subnet, network.name
                        ))
                    })?
                }
            };
            tx.execute(
                "INSERT INTO allocations (network, ip, container_id) VALUES (?1, ?2, ?3)",
                params![network.name, ip.to_string(), container_id],
            )
            .map_err(err)?;
            out.push(ip);
        }
        tx.commit().map_err(err)?;
        Ok(out)
    }

    /// Give back `container_id`'s addresses (on `network`, or on every network); nothing to
    /// give back is not an error.
    pub fn release(&mut self, container_id: &str, network: Option<&str>) -> Result<()> {
        let r = match network {
            Some(n) => self.conn.execute(
                "DELETE FROM allocations WHERE container_id = ?1 AND network = ?2",
                params![container_id, n],
            ),
            None => self.conn.execute(
                "DELETE FROM allocations WHERE container_id = ?1",
                params![container_id],
            ),
        };
        r.map(drop).map_err(|e| self.err(e))
    }

    /// `container_id`'s addresses: (network, address), by network.
    pub fn addresses_of(&self, container_id: &str) -> Result<Vec<(String, IpAddr)>> {
        let mut stmt = self
            .conn
            .prepare("SELECT network, ip FROM allocations WHERE container_id = ?1 ORDER BY network")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![container_id], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })
            .map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (net, ip) = row.map_err(|e| self.err(e))?;
            if let Ok(ip) = ip.parse() {
                out.push((net, ip));
            }
        }
        Ok(out)
    }

    /// Every allocation on `network`: (container id, address).
    pub fn allocations(&self, network: &str) -> Result<Vec<(String, IpAddr)>> {
        addresses_in(&self.conn, network, None).map_err(|e| self.err(e))
    }
}

/// The allocations on `network` (of `container` only, if given): (container id, address).
fn addresses_in(
    conn: &Connection,
    network: &str,
    container: Option<&str>,
) -> rusqlite::Result<Vec<(String, IpAddr)>> {
    let mut stmt = conn.prepare(
        "SELECT container_id, ip FROM allocations WHERE network = ?1
         AND (?2 IS NULL OR container_id = ?2) ORDER BY rowid",
    )?;
    let rows = stmt.query_map(params![network, container], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, ip) = row?;
        if let Ok(ip) = ip.parse() {
            out.push((id, ip));
        }
    }
    Ok(out)
}

/// `ip` if a container may have it: a host address of `subnet`, not the gateway, free.
fn check_requested(
    network: &Network,
    subnet: &Subnet,
    ip: IpAddr,
    taken: &[(String, IpAddr)],
) -> Result<IpAddr> {
    if !config::is_host(&subnet.subnet, ip) || subnet.gateway == Some(ip) {
        return Err(NetworkError::Invalid(format!(
            "requested ip address {ip} cannot be given to a container in subnet {} of network {}",
            subnet.subnet, network.name
        )));
    }
    if let Some((owner, _)) = taken.iter().find(|(_, t)| *t == ip) {
        return Err(NetworkError::Refused(format!(
            "IPAM error: requested ip address {ip} is already allocated to container ID {owner}"
        )));
    }
    Ok(ip)
}

/// The lowest address of `subnet`'s lease range (else of the subnet) a container may have
/// and nobody holds.
fn lowest_free(subnet: &Subnet, used: &HashSet<IpAddr>) -> Option<IpAddr> {
    let net = &subnet.subnet;
    let range = subnet.lease_range.as_ref();
    let start = range
        .and_then(|r| r.start_ip)
        .or_else(|| config::nth_host(net, 1))?;
    let end = range
        .and_then(|r| r.end_ip)
        .unwrap_or_else(|| net.broadcast());
    let (start, end) = (config::to_u128(start), config::to_u128(end));
    (start..=end)
        .map(|n| config::from_u128(net.network(), n))
        .find(|ip| config::is_host(net, *ip) && subnet.gateway != Some(*ip) && !used.contains(ip))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn net(subnet: &str, range: Option<&str>) -> Network {
        Network {
            name: "t".into(),
            id: "0".repeat(64),
            driver: "bridge".into(),
            network_interface: "b".into(),
            created: chrono::Utc::now(),
            subnets: vec![Subnet::new(
                subnet.parse().unwrap(),
                None,
                range.map(|r| r.parse().unwrap()),
            )
            .unwrap()],
            ipv6_enabled: false,
            internal: false,
            dns_enabled: true,
            labels: BTreeMap::new(),
            options: BTreeMap::new(),
            ipam_options: BTreeMap::new(),
        }
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn addresses_are_handed_out_once_and_come_back() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("ipam.db");
        let n = net("10.1.2.0/30", None);
        let mut ipam = Ipam::open(&db).unwrap();
        // A /30 has two host addresses; the gateway takes the first.
        assert_eq!(ipam.allocate(&n, "c1", None).unwrap(), vec![ip("10.1.2.2")]);
        // Asking again gives the same address.
        assert_eq!(ipam.allocate(&n, "c1", None).unwrap(), vec![ip("10.1.2.2")]);
        let e = ipam.allocate(&n, "c2", None).unwrap_err().to_string();
        assert!(e.contains("failed to find free IP"), "{e}");
        // The allocation is in the file: another connection sees it.
        drop(ipam);
        let mut ipam = Ipam::open(&db).unwrap();
        assert_eq!(
            ipam.addresses_of("c1").unwrap(),
            vec![("t".into(), ip("10.1.2.2"))]
        );
        ipam.release("c1", None).unwrap();
        ipam.release("c1", None).unwrap();
        assert_eq!(ipam.allocate(&n, "c2", None).unwrap(), vec![ip("10.1.2.2")]);
    }

    #[test]
    fn requested_addresses_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let mut ipam = Ipam::open(&dir.path().join("ipam.db")).unwrap();
        let n = net("10.1.2.0/24", Some("10.1.2.128/25"));
        assert_eq!(
            ipam.allocate(&n, "a", None).unwrap(),
            vec![ip("10.1.2.129")]
        );
        assert_eq!(
            ipam.allocate(&n, "b", Some(ip("10.1.2.7"))).unwrap(),
            vec![ip("10.1.2.7")]
        );
        let e = ipam.allocate(&n, "c", Some(ip("10.1.2.7"))).unwrap_err();
        assert!(
            e.to_string()
                .contains("already allocated to container ID b"),
            "{e}"
        );
        let e = ipam.allocate(&n, "c", Some(ip("10.9.9.9"))).unwrap_err();
        assert!(e.to_string().contains("not in any subnet"), "{e}");
        for bad in ["10.1.2.0", "10.1.2.1", "10.1.2.255"] {
            assert!(ipam.allocate(&n, "c", Some(ip(bad))).is_err(), "{bad}");
        }
        assert!(ipam.addresses_of("c").unwrap().is_empty());
        ipam.release("b", Some("t")).unwrap();
        assert_eq!(
            ipam.allocations("t").unwrap(),
            vec![("a".into(), ip("10.1.2.129"))]
        );
    }
}
