//! Networks with the containers that use them: who is on a network (this store's records
//! that name it, and any container attached now, of any store), and the removal and prune
//! that must ask that first. `berth network rm|prune` and the REST API's `DELETE /networks`
//! and `/networks/prune` call these; the definitions themselves are berth-network's
//! [`Catalog`].
//!
//! The engine is optional: a plain user's containers join no network through a store (the
//! CLI opens none then), so only the attachments count.

use std::collections::BTreeSet;

use berth_network::{Catalog, Network, NetworkError, DEFAULT_NETWORK};

use crate::container::Container;
use crate::engine::Engine;
use crate::error::Result;

/// Whether network `n` passes every filter (`name`, `id`, `driver`, `label=KEY[=VALUE]`),
/// as Podman and Docker combine them: filters of one kind are alternatives, different kinds
/// must all hold. An unknown kind matches nothing.
pub fn matches(n: &Network, filters: &[(String, String)]) -> bool {
    let one = |k: &str, v: &str| match k {
        "name" => n.name.contains(v),
        "id" => n.id.starts_with(v),
        "driver" => n.driver == v,
        "label" => match v.split_once('=') {
            Some((lk, lv)) => n.labels.get(lk).is_some_and(|x| x == lv),
            None => n.labels.contains_key(v),
        },
        _ => false,
    };
    let kinds: BTreeSet<&str> = filters.iter().map(|(k, _)| k.as_str()).collect();
    kinds.iter().all(|kind| {
        filters
            .iter()
            .filter(|(k, _)| k == kind)
            .any(|(k, v)| one(k, v))
    })
}

/// The containers of `engine`'s store whose options name network `name` (any state).
pub fn containers_on(engine: Option<&Engine<'_>>, name: &str) -> Result<Vec<Container>> {
    let Some(engine) = engine else {
        return Ok(Vec::new());
    };
    Ok(engine
        .list()?
        .into_iter()
        .filter(|c| {
            c.options
                .network
                .requests()
                .is_some_and(|r| r.iter().any(|r| r.network == name))
        })
        .collect())
}

/// Whether any container uses network `name`: a record of this store names it, or a
/// container (of any store) is attached to it now.
pub fn in_use(engine: Option<&Engine<'_>>, catalog: &Catalog, name: &str) -> Result<bool> {
    Ok(!containers_on(engine, name)?.is_empty()
        || !berth_network::attached(catalog.dirs(), name)?.is_empty())
}

/// Remove network `name_or_id`. One in use is refused ([`NetworkError::InUse`]) unless
/// `force`, which removes its containers first (as Podman: forced, volumes kept). The
/// default network is refused first, in use or not.
pub fn remove(
    engine: Option<&Engine<'_>>,
    catalog: &Catalog,
    name_or_id: &str,
    force: bool,
) -> Result<Network> {
    let n = catalog.get(name_or_id)?;
    if n.name == DEFAULT_NETWORK {
        // Refused whoever uses it (the catalog says so), and its containers are not removed.
        return Ok(catalog.remove(&n.name)?);
    }
    if force {
        if let Some(e) = engine {
            for c in containers_on(engine, &n.name)? {
                e.remove_with(&c, true, false)?;
            }
        }
    }
    if in_use(engine, catalog, &n.name)? {
        return Err(NetworkError::InUse(n.name).into());
    }
    Ok(catalog.remove(&n.name)?)
}

/// Remove every network no container uses that `only` keeps (the CLI: [`matches`] of its
/// filters), never the default network; the networks removed.
pub fn prune(
    engine: Option<&Engine<'_>>,
    catalog: &Catalog,
    only: &dyn Fn(&Network) -> bool,
) -> Result<Vec<Network>> {
    let mut removed = Vec::new();
    for n in catalog.list()? {
        if n.name != DEFAULT_NETWORK && only(&n) && !in_use(engine, catalog, &n.name)? {
            catalog.remove(&n.name)?;
            removed.push(n);
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_network::{CreateOptions, NetworkDirs};

    fn net(name: &str, labels: &[(&str, &str)]) -> Network {
        let mut n = Network::from_json(
            format!(
                r#"{{"name":"{name}","id":"{}","driver":"bridge"}}"#,
                "ab".repeat(32)
            )
            .as_bytes(),
        )
        .unwrap();
        for (k, v) in labels {
            n.labels.insert(k.to_string(), v.to_string());
        }
        n
    }

    fn f(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn filters_combine_as_podmans() {
        let n = net("web", &[("team", "a")]);
        assert!(matches(&n, &f(&[("label", "team=a")])));
        assert!(matches(&n, &f(&[("label", "team"), ("name", "we")])));
        assert!(!matches(&n, &f(&[("label", "team=b")])));
        assert!(matches(&n, &f(&[("name", "x"), ("name", "web")])));
        assert!(matches(&n, &f(&[("id", "abab"), ("driver", "bridge")])));
        assert!(!matches(&n, &f(&[("until", "1h")])));
        assert!(matches(&n, &[]));
    }

    #[test]
    fn prune_and_remove_spare_what_is_used_or_unmatched() {
        let d = tempfile::tempdir().unwrap();
        let catalog = Catalog::open(NetworkDirs::under(d.path())).unwrap();
        let create = |name: &str, label: &str| {
            let mut labels = std::collections::BTreeMap::new();
            labels.insert(label.to_string(), String::new());
            catalog
                .create(&CreateOptions {
                    name: Some(name.into()),
                    labels,
                    interface_name: Some(format!("tst{name}")),
                    ..Default::default()
                })
                .unwrap();
        };
        create("a", "keep");
        create("b", "drop");
        let drop = f(&[("label", "drop")]);
        let removed = prune(None, &catalog, &|n| matches(n, &drop)).unwrap();
        assert_eq!(
            removed.iter().map(|n| n.name.as_str()).collect::<Vec<_>>(),
            ["b"]
        );
        assert!(catalog.exists("a").unwrap());
        assert!(catalog.exists(DEFAULT_NETWORK).unwrap());
        assert!(matches!(
            remove(None, &catalog, DEFAULT_NETWORK, true),
            Err(crate::RunError::Network(NetworkError::Refused(_)))
        ));
        assert_eq!(remove(None, &catalog, "a", false).unwrap().name, "a");
        assert!(matches!(
            remove(None, &catalog, "a", false),
            Err(crate::RunError::Network(NetworkError::NotFound(_)))
        ));
    }
}
