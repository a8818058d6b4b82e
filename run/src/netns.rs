//! A container's own network namespace for `--network none` (and a build's
//! `RUN --network=none`): berth-network's [`NetNs`] (a namespace with `lo` up) on a file in the
//! bundle, which the spec points the runtime at. It is unmounted once the runtime's `create`
//! has returned: the container's processes keep it alive from then on (and `exec` joins it
//! through them).

use std::path::Path;

use berth_network::netns::NetNs;
use oci_spec::runtime::{LinuxNamespaceType, Spec};

use crate::error::Result;

/// When `spec` asks for a new network namespace, make it here (`lo` up) on `<bundle>/netns`
/// and point the spec at it. Hold the result until the runtime's `create` has returned.
pub fn prepare(spec: &mut Spec, bundle: &Path) -> Result<Option<NetNs>> {
    let Some(mut linux) = spec.linux().clone() else {
        return Ok(None);
    };
    let Some(mut namespaces) = linux.namespaces().clone() else {
        return Ok(None);
    };
    let Some(net) = namespaces
        .iter_mut()
        .find(|n| n.typ() == LinuxNamespaceType::Network && n.path().is_none())
    else {
        return Ok(None);
    };
    let ns = NetNs::create(&bundle.join("netns"))?;
    net.set_path(Some(ns.path().to_path_buf()));
    linux.set_namespaces(Some(namespaces));
    spec.set_linux(Some(linux));
    Ok(Some(ns))
}
