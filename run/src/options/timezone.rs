//! `--tz` (and containers.conf's `tz`), as Podman 4.3: `local` is the host's `/etc/localtime`,
//! any other value a zone under `/usr/share/zoneinfo` (`Asia/Tokyo`, `UTC`). The zone file is
//! bind-mounted read-only at the container's `/etc/localtime` (`spec::mod`).

use std::path::{Component, Path, PathBuf};

use crate::error::{Result, RunError};

/// The host's zone database.
const ZONEINFO: &str = "/usr/share/zoneinfo";

/// The host file `tz` names (its symlinks resolved), which must exist; a name that would
/// leave the zone database is refused.
pub fn zone_file(tz: &str) -> Result<PathBuf> {
    let invalid = |why: String| RunError::Invalid(format!("finding timezone {tz:?}: {why}"));
    let path = if tz == "local" {
        PathBuf::from("/etc/localtime")
    } else {
        let rel = Path::new(tz);
        if tz.is_empty() || !rel.components().all(|c| matches!(c, Component::Normal(_))) {
            return Err(invalid(
                "not a zone name (e.g. Europe/Paris, UTC, local)".into(),
            ));
        }
        Path::new(ZONEINFO).join(rel)
    };
    let real = std::fs::canonicalize(&path).map_err(|e| invalid(e.to_string()))?;
    if !real.is_file() {
        return Err(invalid(format!("{} is not a file", real.display())));
    }
    Ok(real)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zone_names_stay_in_the_database() {
        assert!(zone_file("../../etc/shadow").is_err());
        assert!(zone_file("/etc/shadow").is_err());
        assert!(zone_file("").is_err());
        assert!(zone_file("No/Such_Zone").is_err());
        if Path::new("/usr/share/zoneinfo/UTC").exists() {
            assert!(zone_file("UTC").unwrap().is_file());
        }
    }
}
