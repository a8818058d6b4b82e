//! What killed berths leave outside the store, for `system check` (the store's own debris is
//! `berth_image_store::check`'s): a build's RUN step's bundle and runtime state in the run
//! root (`<runroot>/containers/<id>/` with its [`StepOwner`]), and in the user's network run
//! directory the attachment records and namespaces no process will take down
//! (`berth_network::stale`).
//!
//! A RUN step's bundle names its berth ([`StepOwner::write`], `owner.json`): the step is a
//! leftover once that berth is dead. Repair ends what the runtime still holds of it (state,
//! cgroups, any process: a forced delete), unmounts its namespace file and removes the bundle.

use std::path::{Path, PathBuf};

use berth_image_store::check::Problem;
use berth_network::stale::{find_stale, Known, GRACE};
use berth_network::NetworkDirs;
use serde::{Deserialize, Serialize};

use crate::container::Records;
use crate::error::{Result, RunError};

/// The file in a RUN step's bundle that names the berth running it.
const OWNER_FILE: &str = "owner.json";

/// The berth that runs a build's RUN step (a container with no record and no monitor), and
/// the runtime it asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepOwner {
    pub pid: u32,
    /// Its start time (`/proc/PID/stat`), which tells a reused pid apart.
    pub start: u64,
    /// The `--runtime` of the step (`None`: the default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime: Option<String>,
    /// The root of the store the build works in: the run root may be shared by stores
    /// (`/run/berth`), and only this store's check reports the bundle.
    pub store: PathBuf,
}

impl StepOwner {
    /// This process, running `runtime` for the store at `store`.
    pub fn me(runtime: Option<&str>, store: &Path) -> Option<StepOwner> {
        let pid = std::process::id();
        Some(StepOwner {
            pid,
            start: crate::process::proc_start_time(pid)?,
            runtime: runtime.map(str::to_string),
            store: store.to_path_buf(),
        })
    }

    /// Write it into `bundle`.
    pub fn write(&self, bundle: &Path) -> Result<()> {
        crate::bundle::write_json(&bundle.join(OWNER_FILE), self)
    }

    fn read(bundle: &Path) -> Option<StepOwner> {
        serde_json::from_slice(&std::fs::read(bundle.join(OWNER_FILE)).ok()?).ok()
    }

    fn alive(&self) -> bool {
        crate::process::alive(Some(self.pid), Some(self.start))
    }
}

/// What [`check`] found and, with `repair`, removed.
#[derive(Debug, Default)]
pub struct LeftoverReport {
    pub problems: Vec<Problem>,
    pub repaired: Vec<String>,
}

/// Look for leftovers of killed berths that worked for the store at `store` (whose
/// containers `records` holds) in `runroot` and in `dirs` (the user's network run
/// directory); with `repair`, take each away.
pub fn check(
    store: &Path,
    records: &Records,
    runroot: &Path,
    dirs: &NetworkDirs,
    repair: bool,
) -> Result<LeftoverReport> {
    let mut report = LeftoverReport::default();
    for (bundle, owner) in dead_steps(runroot, store) {
        let what = format!("bundle {}", bundle.display());
        report.problems.push(Problem {
            what: what.clone(),
            reason: "left by a RUN step whose berth is gone".to_string(),
        });
        if repair {
            remove_step(runroot, &bundle, &owner)?;
            report.repaired.push(what);
        }
    }
    let ids: std::collections::HashSet<String> =
        records.list()?.into_iter().map(|c| c.id).collect();
    let known = Known {
        owner_alive: &|o| crate::process::alive(Some(o.pid), Some(o.start)),
        container_exists: &|id| ids.contains(id),
        store,
    };
    for stale in find_stale(dirs, &known, GRACE)? {
        report.problems.push(Problem {
            what: stale.what(),
            reason: stale.why().to_string(),
        });
        if repair {
            stale.repair(dirs)?;
            report.repaired.push(stale.what());
        }
    }
    Ok(report)
}

/// The bundles under `runroot` whose RUN step's berth, working for `store`, is dead, sorted.
fn dead_steps(runroot: &Path, store: &Path) -> Vec<(PathBuf, StepOwner)> {
    let Ok(entries) = std::fs::read_dir(runroot.join("containers")) else {
        return Vec::new();
    };
    let mut out: Vec<(PathBuf, StepOwner)> = entries
        .flatten()
        .filter_map(|e| {
            let owner = StepOwner::read(&e.path())?;
            (owner.store == store && !owner.alive()).then(|| (e.path(), owner))
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// End what the runtime holds of the step in `bundle` and remove the bundle.
fn remove_step(runroot: &Path, bundle: &Path, owner: &StepOwner) -> Result<()> {
    let id = bundle
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| RunError::Invalid(format!("{}: not a bundle", bundle.display())))?;
    let rt = crate::runtime::resolve(owner.runtime.as_deref(), runroot)?;
    rt.delete(id, true)?;
    // `--network none`'s namespace, mounted in the bundle until the runtime joined it.
    berth_network::netns::remove(&bundle.join("netns"));
    match std::fs::remove_dir_all(bundle) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(RunError::io(bundle, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dead_steps_bundle_is_found_and_a_live_ones_is_not() {
        let d = tempfile::tempdir().unwrap();
        let containers = d.path().join("containers");
        for name in ["live", "dead", "other-store", "container"] {
            std::fs::create_dir_all(containers.join(name)).unwrap();
        }
        let store = Path::new("/var/lib/s");
        StepOwner::me(None, store)
            .unwrap()
            .write(&containers.join("live"))
            .unwrap();
        let dead = StepOwner {
            pid: std::process::id(),
            start: 1,
            runtime: Some("embedded".to_string()),
            store: store.to_path_buf(),
        };
        dead.write(&containers.join("dead")).unwrap();
        let other = StepOwner {
            store: PathBuf::from("/var/lib/other"),
            ..dead.clone()
        };
        other.write(&containers.join("other-store")).unwrap();
        assert_eq!(
            dead_steps(d.path(), store),
            [(containers.join("dead"), dead.clone())]
        );
        remove_step(d.path(), &containers.join("dead"), &dead).unwrap();
        assert!(!containers.join("dead").exists());
        assert!(containers.join("container").exists());
        assert!(dead_steps(d.path(), store).is_empty());
    }
}
