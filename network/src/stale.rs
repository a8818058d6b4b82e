//! What killed berths leave in a user's network run directory, for `system check`: attachment
//! records no process will detach, and persistent namespaces no record names.
//!
//! A record that names its store ([`crate::Keeper`]) is judged only by that store's check;
//! one written before records named it (these had piled up by the hundred on one machine) by
//! any store's. A record is stale when its owner (a build's RUN step's berth) is dead, or,
//! with no owner (a container's, whose monitor or `rm` takes it down), when its container is
//! not one of the store, no process lives in its namespace and it is older than a grace
//! period (a container being started has its record before its first process). A namespace
//! file without a record is stale when no process lives in it and it is older than the grace
//! period (`attach` mounts the namespace just before it writes the record); it names no
//! store, so any store's check reports it.

use std::collections::HashSet;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::attach::{detach_stale, records, Owner};
use crate::dirs::NetworkDirs;
use crate::error::Result;
use crate::netns;

/// How old an unowned record or a lone namespace must be before it can be stale.
pub const GRACE: Duration = Duration::from_secs(60);

/// One leftover in the network run directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stale {
    /// The attachment record of container `id` (its namespace, addresses and netavark's
    /// rules go with it on repair), and why it is stale.
    Record { id: String, why: &'static str },
    /// A namespace bind mount (or its file) that no record names.
    Namespace(PathBuf),
}

impl Stale {
    /// What it is, for a report line.
    pub fn what(&self) -> String {
        match self {
            Stale::Record { id, .. } => format!("network attachment {id}"),
            Stale::Namespace(p) => format!("network namespace {}", p.display()),
        }
    }

    /// Why it is stale, for a report line.
    pub fn why(&self) -> &'static str {
        match self {
            Stale::Record { why, .. } => why,
            Stale::Namespace(_) => "no attachment record names it and no process is in it",
        }
    }

    /// Take it away: detach the record's container (netavark's teardown, whose failure is
    /// only logged: the container is gone; the namespace, the addresses, the record), or
    /// unmount and remove the namespace file.
    pub fn repair(&self, dirs: &NetworkDirs) -> Result<()> {
        match self {
            Stale::Record { id, .. } => detach_stale(dirs, id),
            Stale::Namespace(p) => {
                netns::remove(p);
                Ok(())
            }
        }
    }
}

/// What the check asks of its caller: whether an owner is alive, whether a container id
/// is one of the caller's store, and that store's root.
pub struct Known<'a> {
    pub owner_alive: &'a dyn Fn(&Owner) -> bool,
    pub container_exists: &'a dyn Fn(&str) -> bool,
    pub store: &'a Path,
}

/// The leftovers in `dirs`, records first, each sorted.
pub fn find_stale(dirs: &NetworkDirs, known: &Known<'_>, grace: Duration) -> Result<Vec<Stale>> {
    let in_use = namespaces_in_use();
    let old = |path: &Path| {
        std::fs::metadata(path)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| SystemTime::now().duration_since(t).ok())
            .is_some_and(|age| age >= grace)
    };
    let used =
        |path: &Path| std::fs::metadata(path).is_ok_and(|m| in_use.contains(&(m.dev(), m.ino())));
    let mut out = Vec::new();
    let mut named: HashSet<PathBuf> = HashSet::new();
    let mut records = records(dirs)?;
    records.sort_by(|a, b| a.0.cmp(&b.0));
    for (id, record) in records {
        named.insert(record.netns_path.clone());
        named.insert(dirs.netns().join(&id));
        if record.store.as_deref().is_some_and(|s| s != known.store) {
            continue;
        }
        let why = match &record.owner {
            Some(owner) if !(known.owner_alive)(owner) => {
                Some("the berth that attached it (a build's RUN step) is gone")
            }
            Some(_) => None,
            None if !(known.container_exists)(&id)
                && !used(&record.netns_path)
                && old(&crate::attach::record_path(dirs, &id)) =>
            {
                Some("no container of this store and no process in its namespace")
            }
            None => None,
        };
        if let Some(why) = why {
            out.push(Stale::Record { id, why });
        }
    }
    let mut lone: Vec<PathBuf> = match std::fs::read_dir(dirs.netns()) {
        Ok(entries) => entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| !named.contains(p) && !used(p) && old(p))
            .collect(),
        Err(_) => Vec::new(),
    };
    lone.sort();
    out.extend(lone.into_iter().map(Stale::Namespace));
    Ok(out)
}

/// The network namespaces (device, inode) some process is in now.
fn namespaces_in_use() -> HashSet<(u64, u64)> {
    let mut out = HashSet::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        if !name
            .to_str()
            .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()))
        {
            continue;
        }
        if let Ok(m) = std::fs::metadata(e.path().join("ns/net")) {
            out.insert((m.dev(), m.ino()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attach::tests::record;

    #[test]
    fn dead_owners_unknown_containers_and_lone_namespaces_are_stale() {
        let tmp = tempfile::tempdir().unwrap();
        let dirs = NetworkDirs::under(tmp.path());
        let me = Owner { pid: 1, start: 1 };
        let dead = Owner { pid: 2, start: 2 };
        let (s, other) = (Some("/var/lib/s"), Some("/var/lib/other"));
        record(&dirs, "mine", &["web"], None, s);
        record(&dirs, "legacy", &["web"], None, None);
        record(&dirs, "dead", &["web"], Some(dead), s);
        record(&dirs, "elsewhere", &["web"], Some(dead), other);
        record(&dirs, "gone-elsewhere", &["web"], None, other);
        record(&dirs, "live", &["web"], Some(me), s);
        std::fs::create_dir_all(dirs.netns()).unwrap();
        std::fs::write(dirs.netns().join("lone"), "").unwrap();
        // A file of a recorded container is not lone.
        std::fs::write(dirs.netns().join("mine"), "").unwrap();
        let known = Known {
            owner_alive: &|o| *o == me,
            container_exists: &|id| id == "mine",
            store: Path::new("/var/lib/s"),
        };
        let found = find_stale(&dirs, &known, Duration::ZERO).unwrap();
        assert_eq!(
            found,
            [
                Stale::Record {
                    id: "dead".into(),
                    why: "the berth that attached it (a build's RUN step) is gone"
                },
                Stale::Record {
                    id: "legacy".into(),
                    why: "no container of this store and no process in its namespace"
                },
                Stale::Namespace(dirs.netns().join("lone")),
            ]
        );
        // Within the grace period only the dead owner's record is stale.
        let young = find_stale(&dirs, &known, GRACE).unwrap();
        assert_eq!(young, found[..1]);
        for s in &found {
            s.repair(&dirs).unwrap();
        }
        assert!(find_stale(&dirs, &known, Duration::ZERO)
            .unwrap()
            .is_empty());
        assert!(!dirs.netns().join("lone").exists());
        assert_eq!(
            crate::attached(&dirs, "web").unwrap(),
            ["elsewhere", "gone-elsewhere", "live", "mine"]
        );
    }
}
