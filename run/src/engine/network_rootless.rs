//! A rootless container's network (`--network pasta` or `slirp4netns`, ARCHITECTURE.md,
//! "Networking") in its lifecycle:
//!
//! - start ([`Engine::join_user_network`], from [`Engine::join_network`], in the supervisor,
//!   inside berth's user namespace): the host ports checked free (each bound and let go: the
//!   helper binds them itself, so they cannot be held as in bridge mode), a new namespace
//!   under the network run directory, the helper started on it (`-p` forwarded), its
//!   [`UserNet`] record written to the bundle (`usernet.json`) before the runtime runs, and
//!   the spec pointed at the namespace.
//! - stop ([`Engine::leave_user_network`], from [`Engine::leave_network`], so from
//!   [`Engine::release`]: the exit the monitor recorded, a dead monitor noticed, `rm`,
//!   `--rm`, a failed start): the helper ended by its recorded pid (and start time), the
//!   namespace removed. The record lives in the bundle until then, so `rm` after a `kill -9`
//!   of the monitor still ends the helper.

use std::path::{Path, PathBuf};

use berth_network::{NetworkDirs, UserNet};
use oci_spec::runtime::Spec;

use crate::container::Container;
use crate::error::Result;
use crate::options::Network;
use crate::spec::etc_files::NetworkEtc;

use super::network::{hold_ports, set_netns_path, Joined};
use super::Engine;

/// The bundle's record of the container's network helper.
pub fn usernet_path(bundle: &Path) -> PathBuf {
    bundle.join("usernet.json")
}

impl Engine<'_> {
    /// At start: see the module's doc.
    pub(crate) fn join_user_network(&self, c: &Container, spec: &mut Spec) -> Result<Joined> {
        // What a crash may have left of an earlier start.
        self.leave_user_network(c);
        drop(hold_ports(&c.options.ports)?);
        let dirs = NetworkDirs::for_current_user();
        let helper = match &c.options.network {
            Network::Pasta(opts) => {
                berth_network::pasta::start(&dirs, &c.id, &c.options.ports, opts)?
            }
            Network::Slirp4netns(opts) => {
                berth_network::slirp4netns::start(&dirs, &c.id, &c.options.ports, opts)?
            }
            _ => return Ok(Joined::default()),
        };
        let record = usernet_path(&self.bundle_dir(&c.id));
        if let Err(e) = crate::bundle::write_json(&record, &helper) {
            helper.teardown(&dirs, &c.id);
            return Err(e);
        }
        set_netns_path(spec, helper.netns.clone());
        Ok(Joined {
            etc: Some(NetworkEtc {
                addresses: helper.addresses.clone(),
                gateway: helper.gateway,
                dns_servers: helper.dns_servers.clone(),
                ipv6: false,
            }),
            held: Vec::new(),
        })
    }

    /// At stop and removal: see the module's doc. Nothing when the container has no helper.
    pub(crate) fn leave_user_network(&self, c: &Container) {
        let record = usernet_path(&self.bundle_dir(&c.id));
        let Ok(bytes) = std::fs::read(&record) else {
            return;
        };
        match serde_json::from_slice::<UserNet>(&bytes) {
            Ok(helper) => helper.teardown(&NetworkDirs::for_current_user(), &c.id),
            Err(e) => tracing::warn!(
                target: "berth_run::engine",
                container = %c.id,
                error = %e,
                "unreadable network helper record",
            ),
        }
        let _ = std::fs::remove_file(&record);
    }
}
