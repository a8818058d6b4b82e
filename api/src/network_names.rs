//! berth's networks under Docker's names: berth's default network is Docker's `bridge`,
//! both ways; and the catalog every network handler opens.

use berth_network::{Catalog, NetworkDirs, DEFAULT_NETWORK};

use crate::error::ApiResult;

/// Docker's name of berth's default network.
pub const DOCKER_DEFAULT: &str = "bridge";

/// The user's networks (`--root` does not choose them, as for the CLI).
pub fn catalog() -> ApiResult<Catalog> {
    Ok(Catalog::open(NetworkDirs::for_current_user())?)
}

/// A network's name as Docker clients see it (berth's default network is `bridge`).
pub fn docker_name(berth_name: &str) -> &str {
    if berth_name == DEFAULT_NETWORK {
        DOCKER_DEFAULT
    } else {
        berth_name
    }
}

/// A name or id from a Docker client, as berth looks it up.
pub fn berth_name(docker_name: &str) -> &str {
    if docker_name == DOCKER_DEFAULT {
        DEFAULT_NETWORK
    } else {
        docker_name
    }
}
