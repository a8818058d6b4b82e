//! Where berth keeps its networks. Bridges, addresses and firewall rules are host-wide and a
//! store (`--root`) is not, so, as Podman does, the definitions live in one directory per
//! user and the IPAM and netavark's state in one run directory per user (ARCHITECTURE.md,
//! "Networking").

use std::path::{Path, PathBuf};

/// A user's network directories.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkDirs {
    /// The definitions (`NAME.json`): root `/etc/berth/networks`, rootless
    /// `$XDG_CONFIG_HOME/berth/networks` (default `~/.config/berth/networks`).
    pub config: PathBuf,
    /// IPAM database, netavark's `--config` directory, the namespaces: root
    /// `/run/berth/networks`, rootless `$XDG_RUNTIME_DIR/berth/networks`.
    pub run: PathBuf,
}

impl NetworkDirs {
    /// The directories of the user berth runs as on the host (also inside berth's rootless
    /// user namespace, where the environment is the user's).
    pub fn for_current_user() -> NetworkDirs {
        if berth_image_store::store::is_host_root() {
            return NetworkDirs {
                config: PathBuf::from("/etc/berth/networks"),
                run: PathBuf::from("/run/berth/networks"),
            };
        }
        let env = |k: &str| {
            std::env::var_os(k)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        let config = env("XDG_CONFIG_HOME")
            .or_else(|| env("HOME").map(|h| h.join(".config")))
            .unwrap_or_else(|| PathBuf::from("/nonexistent/.config"))
            .join("berth/networks");
        let run = env("XDG_RUNTIME_DIR")
            .map(|r| r.join("berth"))
            .unwrap_or_else(|| {
                std::env::temp_dir().join(format!("berth-run-{}", rustix::process::getuid()))
            })
            .join("networks");
        NetworkDirs { config, run }
    }

    /// Directories under `base` (tests): `base/config` and `base/run`.
    pub fn under(base: &Path) -> NetworkDirs {
        NetworkDirs {
            config: base.join("config"),
            run: base.join("run"),
        }
    }

    /// The definition file of network `name`.
    pub fn definition(&self, name: &str) -> PathBuf {
        self.config.join(format!("{name}.json"))
    }

    /// The lock taken while definitions change.
    pub fn lock(&self) -> PathBuf {
        self.run.join("networks.lock")
    }

    /// The IPAM database.
    pub fn ipam_db(&self) -> PathBuf {
        self.run.join("ipam.db")
    }

    /// netavark's `--config` directory (aardvark-dns's state lives under it).
    pub fn netavark(&self) -> PathBuf {
        self.run.join("netavark")
    }

    /// Where persistent network namespaces are bind-mounted.
    pub fn netns(&self) -> PathBuf {
        self.run.join("netns")
    }
}
