//! Where the containers ecosystem's configuration files live: the user's directory
//! (`$HOME/.config/containers`), looked at before the system's (`/etc/containers`).
//!
//! Every reader of those files asks here: policy.json and registries.d in this crate,
//! registries.conf and auth.json in berth-registry (this is the lowest crate that reads them).
//! `$XDG_CONFIG_HOME` is not consulted, as berth never has.

use std::path::PathBuf;

/// The system-wide directory.
pub const SYSTEM_DIR: &str = "/etc/containers";

/// The user's directory, `$HOME/.config/containers`; `None` without `$HOME`.
pub fn user_dir() -> Option<PathBuf> {
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".config/containers"))
}

/// `name` (a file or directory) in the user's directory; `None` without `$HOME`.
pub fn user_path(name: &str) -> Option<PathBuf> {
    user_dir().map(|dir| dir.join(name))
}

/// `name` in the system-wide directory.
pub fn system_path(name: &str) -> PathBuf {
    PathBuf::from(SYSTEM_DIR).join(name)
}
