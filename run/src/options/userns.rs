//! `--userns` and `--uidmap`/`--gidmap`, as Podman 4.3 parses them: `keep-id` (rootless
//! only: the user's own uid and gid inside, so files on a bind mount stay theirs) and
//! explicit `CONTAINER:HOST:SIZE` maps (host ids are berth's own: the host's as root, those of
//! berth's user namespace rootless). `host` (or nothing) is the default: no user namespace of
//! the container's own.

use crate::error::{Result, RunError};

/// One id map entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct IdMap {
    pub container: u32,
    pub host: u32,
    pub size: u32,
}

impl IdMap {
    /// Parse `CONTAINER:HOST:SIZE`.
    pub fn parse(what: &str, s: &str) -> Result<IdMap> {
        let f: Vec<&str> = s.split(':').collect();
        let n = |t: &str| t.parse::<u32>().ok();
        match f[..] {
            [c, h, z] => match (n(c), n(h), n(z)) {
                (Some(container), Some(host), Some(size)) if size > 0 => Ok(IdMap {
                    container,
                    host,
                    size,
                }),
                _ => Err(RunError::Invalid(format!(
                    "invalid {what} {s:?}: use CONTAINER:HOST:SIZE with numbers, SIZE over 0"
                ))),
            },
            _ => Err(RunError::Invalid(format!(
                "invalid {what} {s:?}: use CONTAINER:HOST:SIZE"
            ))),
        }
    }
}

/// The container's user namespace.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum UserNs {
    /// `--userns keep-id`: the user's uid and gid (on the host) are the same inside.
    KeepId,
    /// `--uidmap`/`--gidmap`.
    Maps { uids: Vec<IdMap>, gids: Vec<IdMap> },
}

impl UserNs {
    /// From `--userns`, `--uidmap` and `--gidmap`; `rootless` is whether berth runs as a
    /// plain user.
    pub fn parse(
        userns: Option<&str>,
        uidmap: &[String],
        gidmap: &[String],
        rootless: bool,
    ) -> Result<Option<UserNs>> {
        let maps = !uidmap.is_empty() || !gidmap.is_empty();
        match userns {
            None | Some("") | Some("host") if !maps => Ok(None),
            None | Some("") => {
                let uids = uidmap
                    .iter()
                    .map(|m| IdMap::parse("--uidmap", m))
                    .collect::<Result<Vec<_>>>()?;
                let gids = gidmap
                    .iter()
                    .map(|m| IdMap::parse("--gidmap", m))
                    .collect::<Result<Vec<_>>>()?;
                // Podman: one of the two given stands for both.
                let (uids, gids) = match (uids.is_empty(), gids.is_empty()) {
                    (true, false) => (gids.clone(), gids),
                    (false, true) => (uids.clone(), uids),
                    _ => (uids, gids),
                };
                Ok(Some(UserNs::Maps { uids, gids }))
            }
            Some(mode) if maps => Err(RunError::Invalid(format!(
                "--userns={mode} and --uidmap/--gidmap are mutually exclusive"
            ))),
            Some("keep-id") if !rootless => Err(RunError::Invalid(
                "keep-id is only supported in rootless mode".to_string(),
            )),
            Some("keep-id") => Ok(Some(UserNs::KeepId)),
            Some(other) => Err(RunError::Invalid(format!(
                "--userns {other:?}: berth knows host, keep-id (rootless), and --uidmap/--gidmap"
            ))),
        }
    }
}

impl UserNs {
    /// Whether the container can start with this namespace on runtime `runtime`: crun or
    /// runc (the embedded runtime does not make one yet), and a uid map that maps berth's own
    /// id (host id 0 in `--uidmap`'s terms: root's, or the user's in berth's namespace), since
    /// the runtime prepares the root file system as that id inside berth's private store.
    /// keep-id maps it by construction. Podman instead re-owns a copy of the image's layers
    /// for the mapping, which berth does not do yet.
    pub fn check_usable(&self, runtime: &str) -> Result<()> {
        if runtime == "embedded" {
            return Err(RunError::Invalid(
                "--userns/--uidmap/--gidmap: the embedded runtime does not make user \
                 namespaces yet: use --runtime crun or --runtime runc"
                    .to_string(),
            ));
        }
        if let UserNs::Maps { uids, .. } = self {
            if !uids.iter().any(|m| m.host == 0) {
                return Err(RunError::Invalid(
                    "--uidmap: berth's store is private to berth's own id, so the map must \
                     include host id 0 (e.g. --uidmap 1000:0:1); berth does not re-own a \
                     copy of the image for other maps yet"
                        .to_string(),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn podman_userns_syntax() {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(UserNs::parse(None, &[], &[], false).unwrap(), None);
        assert_eq!(UserNs::parse(Some("host"), &[], &[], true).unwrap(), None);
        assert_eq!(
            UserNs::parse(Some("keep-id"), &[], &[], false)
                .unwrap_err()
                .to_string(),
            "keep-id is only supported in rootless mode"
        );
        assert_eq!(
            UserNs::parse(Some("keep-id"), &[], &[], true).unwrap(),
            Some(UserNs::KeepId)
        );
        let m = IdMap {
            container: 0,
            host: 100000,
            size: 65536,
        };
        assert_eq!(
            UserNs::parse(None, &v(&["0:100000:65536"]), &[], false).unwrap(),
            Some(UserNs::Maps {
                uids: vec![m],
                gids: vec![m]
            })
        );
        assert!(UserNs::parse(None, &v(&["0:100000"]), &[], false).is_err());
        assert!(UserNs::parse(None, &v(&["0:x:1"]), &[], false).is_err());
        assert!(UserNs::parse(Some("keep-id"), &v(&["0:1:1"]), &[], true).is_err());
        assert!(UserNs::parse(Some("auto"), &[], &[], true).is_err());
        let maps = UserNs::parse(None, &v(&["0:100000:1000", "1000:0:1"]), &[], false)
            .unwrap()
            .unwrap();
        assert!(maps.check_usable("crun").is_ok());
        assert!(maps.check_usable("embedded").is_err());
        let no_zero = UserNs::parse(None, &v(&["0:100000:65536"]), &[], false)
            .unwrap()
            .unwrap();
        assert!(no_zero.check_usable("runc").is_err());
        assert!(UserNs::KeepId.check_usable("crun").is_ok());
    }
}
