//! storage.conf, as containers/storage finds it (`containers-storage.conf(5)`), for the keys
//! that choose where berth's store is: `[storage] graphroot`, `runroot`, `driver` and
//! `rootless_storage_path`.
//!
//! Which file: `$CONTAINERS_STORAGE_CONF` when set (it must exist); else, as root,
//! `/etc/containers/storage.conf`; as a plain user `~/.config/containers/storage.conf` when it
//! exists, else the system file, of which only `rootless_storage_path` applies to a plain
//! user (containers/storage's rule: the system `graphroot` is root's). A missing file means
//! berth's own defaults. `--root`/`--runroot` still win (the CLI asks here only without them).
//!
//! berth's store is its own layout, not containers/storage's: a `graphroot` shared with
//! Podman gets berth's files beside Podman's, never read by Podman.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::config_dir;
use crate::containers_conf::ConfError;

/// The environment variable naming the one storage.conf to read.
pub const ENV: &str = "CONTAINERS_STORAGE_CONF";
const FILE: &str = "storage.conf";

/// Where the store and its run state are, from storage.conf (`None`: berth's default).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StorageConf {
    /// The store root (`graphroot`, or a plain user's `rootless_storage_path`).
    pub graphroot: Option<PathBuf>,
    /// The run state root (`runroot`).
    pub runroot: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
struct File {
    #[serde(default)]
    storage: Storage,
}

#[derive(Debug, Default, Deserialize)]
struct Storage {
    driver: Option<String>,
    graphroot: Option<PathBuf>,
    runroot: Option<PathBuf>,
    rootless_storage_path: Option<String>,
}

impl StorageConf {
    /// The storage.conf this process would read (see the module doc); `rootless`: the caller
    /// is not root on the host.
    pub fn load(rootless: bool) -> Result<StorageConf, ConfError> {
        if let Some(path) = std::env::var_os(ENV).map(PathBuf::from) {
            let text = std::fs::read_to_string(&path).map_err(|source| ConfError::Read {
                path: path.clone(),
                source,
            })?;
            return StorageConf::from_text(&path, &text, false);
        }
        if rootless {
            if let Some(user) = config_dir::user_path(FILE) {
                if let Some(text) = read_if_there(&user)? {
                    return StorageConf::from_text(&user, &text, false);
                }
            }
        }
        let system = config_dir::system_path(FILE);
        match read_if_there(&system)? {
            Some(text) => StorageConf::from_text(&system, &text, rootless),
            None => Ok(StorageConf::default()),
        }
    }

    /// One file's settings; `system_for_user`: the system file read for a plain user (only
    /// `rootless_storage_path` applies).
    fn from_text(path: &Path, text: &str, system_for_user: bool) -> Result<StorageConf, ConfError> {
        let file: File = crate::containers_conf::parse_toml(path, text)?;
        let s = file.storage;
        match s.driver.as_deref() {
            None | Some("") | Some("overlay") | Some("overlay2") => {}
            Some(other) => {
                return Err(ConfError::Unsupported(format!(
                    "{}: storage driver {other:?} is not supported: berth stores layers with \
                     overlay only (set driver = \"overlay\")",
                    path.display()
                )))
            }
        }
        let rootless_path = s.rootless_storage_path.as_deref().map(expand);
        if system_for_user {
            return Ok(StorageConf {
                graphroot: rootless_path,
                runroot: None,
            });
        }
        Ok(StorageConf {
            graphroot: s.graphroot.filter(|p| !p.as_os_str().is_empty()),
            runroot: s.runroot.filter(|p| !p.as_os_str().is_empty()),
        })
    }
}

fn read_if_there(path: &Path) -> Result<Option<String>, ConfError> {
    match std::fs::read_to_string(path) {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(ConfError::Read {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// `rootless_storage_path`'s variables: `$HOME`, `$UID`, `$USER` (containers/storage's).
fn expand(text: &str) -> PathBuf {
    // SAFETY: getuid(2) cannot fail and touches no memory.
    let uid = unsafe { libc::getuid() }.to_string();
    let home = std::env::var("HOME").unwrap_or_default();
    let user = std::env::var("USER").unwrap_or_default();
    PathBuf::from(
        text.replace("$HOME", &home)
            .replace("$UID", &uid)
            .replace("$USER", &user),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roots_driver_and_the_rootless_rule() {
        let p = Path::new("/s.conf");
        let text = "[storage]\ndriver = \"overlay\"\ngraphroot = \"/g\"\nrunroot = \"/r\"\n\
                    rootless_storage_path = \"$HOME/x\"\n";
        let c = StorageConf::from_text(p, text, false).unwrap();
        assert_eq!(c.graphroot.as_deref(), Some(Path::new("/g")));
        assert_eq!(c.runroot.as_deref(), Some(Path::new("/r")));
        let home = std::env::var("HOME").unwrap_or_default();
        let c = StorageConf::from_text(p, text, true).unwrap();
        assert_eq!(c.graphroot, Some(PathBuf::from(format!("{home}/x"))));
        assert_eq!(c.runroot, None);
        let err = StorageConf::from_text(p, "[storage]\ndriver = \"btrfs\"\n", false)
            .unwrap_err()
            .to_string();
        assert!(err.contains("\"btrfs\" is not supported"), "{err}");
        assert_eq!(
            StorageConf::from_text(p, "", false).unwrap(),
            StorageConf::default()
        );
    }
}
