//! `berth search`: repository names from a registry's catalog (`GET /v2/_catalog`) that
//! contain a term. Registries without a catalog (Docker Hub) answer with an error.

use crate::config::RegistriesConf;
use crate::connect::ConnectOptions;
use crate::error::Result;
use crate::reference::DOCKER_IO;

/// Most catalog entries read from one registry.
const CATALOG_CAP: usize = 10_000;

/// Names (`host/repo`) matching `term` (`[REGISTRY/]TEXT`), at most `limit` per registry.
/// Without a registry in `term`, the `unqualified-search-registries` are searched, and none
/// when none are configured.
pub fn search(term: &str, limit: usize, connect: &ConnectOptions) -> Result<Vec<String>> {
    let conf = RegistriesConf::load()?;
    let (registries, needle) = match term.split_once('/') {
        Some((first, rest))
            if first.contains('.') || first.contains(':') || first == "localhost" =>
        {
            (vec![first.to_string()], rest.to_string())
        }
        // None configured: nothing is searched (as Podman; no fallback to docker.io).
        _ => (conf.unqualified_search_registries.clone(), term.to_string()),
    };
    let mut out = Vec::new();
    for registry in registries {
        let host = if registry == DOCKER_IO {
            "registry-1.docker.io"
        } else {
            registry.as_str()
        };
        let client = connect.connect(host, &registry, conf.host_insecure(&registry))?;
        let names = client.catalog(CATALOG_CAP)?;
        out.extend(
            names
                .into_iter()
                .filter(|n| n.contains(&needle))
                .take(limit)
                .map(|n| format!("{registry}/{n}")),
        );
    }
    Ok(out)
}
