//! The network of a build's RUN steps, from the front end's `--network` (the CLI) or
//! `networkmode` (the REST API): one rule for both.

use berth_run::options::Network;

use crate::error::{BuildError, Result};

/// `value` as RUN's network, checked as `run` checks a network. `None`: the default,
/// Buildah's `private` (a bridge on the default network) as root and the host's network as
/// a plain user. `container:` is refused: a build step joins no container.
pub fn run_network(value: Option<&str>) -> Result<Network> {
    let network = match value {
        None if berth_image_store::store::is_host_root() => Network::Private,
        None => Network::Host,
        Some(v) => Network::parse_flags(&[v])?,
    };
    if let Network::Container(_) = network {
        return Err(BuildError::Invalid(
            "--network container: is not supported by build".into(),
        ));
    }
    network.ensure_wired()?;
    Ok(network)
}
