//! The rootless netns (Podman 4.3's "rootless-netns", `libpod/networking_linux.go`): as a
//! plain user, bridge networks live in one long-lived network namespace of berth's user
//! namespace instead of the host's network, which the user cannot change.
//!
//! - It is made on the first attach of a bridge-mode container ([`netavark`] with
//!   [`ensure`]): a persistent namespace `<network run dir>/netns/rootless-netns` (`lo` up),
//!   connected to the host by a user-mode helper, pasta when installed (as Podman 4.4+'s
//!   default), else slirp4netns (Podman 4.3's), started exactly as for a container's
//!   `--network pasta|slirp4netns` with nothing forwarded (`pasta`,
//!   `slirp4netns`). Its [`UserNet`] record is `<network run dir>/rootless-netns.json`,
//!   and `rootless-netns.resolv.conf` names the helper's DNS forwarder.
//! - netavark runs inside it ([`Inside`]: joined between fork and exec, with that
//!   `resolv.conf` as `/etc/resolv.conf` for aardvark-dns): its bridges, veths, firewall rules
//!   and aardvark-dns are there; each container's own namespace is made by berth in its user
//!   namespace, as as root.
//! - Published ports cannot be the host's firewall rules: a forwarder process per container
//!   (`port_forward`, Podman's rootlessport) binds them on the host and connects
//!   from this namespace to the container's address.
//! - [`destroy`] ends the helper and removes the namespace; `attach::detach` calls it
//!   when the last attachment record is gone, as Podman's cleanup does once no running
//!   container uses a bridge network.
//!
//! Everything here runs under netavark's lock (`attach::driver_lock`): one attach
//! or detach at a time per user, so a namespace is never destroyed while another container
//! joins it.

use std::path::PathBuf;

use crate::dirs::NetworkDirs;
use crate::error::{NetworkError, Result};
use crate::netavark::{Inside, Netavark};
use crate::usernet::UserNet;

/// The namespace's name (under the network run directory's `netns/`).
pub const NAME: &str = "rootless-netns";

/// Whether bridge networks go through the rootless netns: not root on the host (berth's
/// user namespace included).
pub fn is_rootless() -> bool {
    !berth_image_store::store::is_host_root()
}

fn record_path(dirs: &NetworkDirs) -> PathBuf {
    dirs.run.join(format!("{NAME}.json"))
}

fn resolv_path(dirs: &NetworkDirs) -> PathBuf {
    dirs.run.join(format!("{NAME}.resolv.conf"))
}

/// The recorded helper of the rootless netns, if any (running or not).
pub fn recorded(dirs: &NetworkDirs) -> Option<UserNet> {
    let bytes = std::fs::read(record_path(dirs)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// The running rootless netns's helper, or `None`.
pub fn running(dirs: &NetworkDirs) -> Option<UserNet> {
    recorded(dirs).filter(|h| h.is_running() && h.netns.exists())
}

/// The rootless netns, made (and its helper started) when it is not running; a leftover of a
/// crash is cleared first.
pub fn ensure(dirs: &NetworkDirs) -> Result<UserNet> {
    if let Some(h) = running(dirs) {
        return Ok(h);
    }
    destroy(dirs);
    let helper = match crate::pasta::find() {
        Ok(_) => crate::pasta::start(dirs, NAME, &[], &[])?,
        Err(missing) => match crate::slirp4netns::find() {
            Ok(_) => crate::slirp4netns::start(dirs, NAME, &[], &[])?,
            Err(_) => return Err(missing),
        },
    };
    let written = write_files(dirs, &helper);
    if let Err(e) = written {
        helper.teardown(dirs, NAME);
        let _ = std::fs::remove_file(resolv_path(dirs));
        return Err(e);
    }
    Ok(helper)
}

/// The record and the `resolv.conf` of a new rootless netns.
fn write_files(dirs: &NetworkDirs, helper: &UserNet) -> Result<()> {
    let resolv: String = helper
        .dns_servers
        .iter()
        .map(|ip| format!("nameserver {ip}\n"))
        .collect();
    let path = resolv_path(dirs);
    berth_layers::atomic_file::write_atomically(&path, resolv.as_bytes(), 0o644)
        .map_err(|e| NetworkError::io(&path, e))?;
    let path = record_path(dirs);
    let bytes = serde_json::to_vec(helper).map_err(|source| NetworkError::Json {
        path: path.clone(),
        source,
    })?;
    berth_layers::atomic_file::write_atomically(&path, &bytes, 0o600)
        .map_err(|e| NetworkError::io(&path, e))
}

/// End the helper, remove the namespace and the files; nothing to do is not an error.
pub fn destroy(dirs: &NetworkDirs) {
    if let Some(h) = recorded(dirs) {
        h.teardown(dirs, NAME);
    }
    crate::netns::remove(&dirs.netns().join(NAME));
    let _ = std::fs::remove_file(record_path(dirs));
    let _ = std::fs::remove_file(resolv_path(dirs));
}

/// Where netavark runs for the running rootless netns `helper`.
fn inside(dirs: &NetworkDirs, helper: &UserNet) -> Inside {
    Inside {
        netns: helper.netns.clone(),
        resolv_conf: resolv_path(dirs),
    }
}

/// netavark for this user: as root the host's; rootless inside the rootless netns, made if
/// it is not running.
pub fn netavark(dirs: &NetworkDirs) -> Result<Netavark> {
    let n = Netavark::find(&dirs.netavark())?;
    if !is_rootless() {
        return Ok(n);
    }
    let helper = ensure(dirs)?;
    Ok(n.inside(inside(dirs, &helper)))
}

/// netavark for a teardown: `None` when rootless and the rootless netns is gone (its
/// bridges, rules and aardvark-dns went with it: nothing left to tear down).
pub fn netavark_if_up(dirs: &NetworkDirs) -> Result<Option<Netavark>> {
    let n = Netavark::find(&dirs.netavark())?;
    if !is_rootless() {
        return Ok(Some(n));
    }
    Ok(running(dirs).map(|h| n.inside(inside(dirs, &h))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destroy_of_nothing_does_nothing_and_a_dead_helper_is_not_running() {
        let tmp = tempfile::tempdir().unwrap();
        let dirs = NetworkDirs::under(tmp.path());
        std::fs::create_dir_all(&dirs.run).unwrap();
        destroy(&dirs);
        assert!(recorded(&dirs).is_none());
        // A record whose process is gone (a start time no process has) is not running, and
        // destroy removes its files without signalling anything.
        let dead = UserNet {
            program: "pasta".into(),
            pid: std::process::id(),
            start_time: u64::MAX,
            netns: dirs.netns().join(NAME),
            api_socket: None,
            dns_servers: vec!["169.254.0.1".parse().unwrap()],
            addresses: Vec::new(),
            gateway: None,
        };
        write_files(&dirs, &dead).unwrap();
        assert_eq!(
            std::fs::read_to_string(resolv_path(&dirs)).unwrap(),
            "nameserver 169.254.0.1\n"
        );
        assert_eq!(recorded(&dirs), Some(dead));
        assert!(running(&dirs).is_none());
        destroy(&dirs);
        assert!(!record_path(&dirs).exists() && !resolv_path(&dirs).exists());
    }
}
