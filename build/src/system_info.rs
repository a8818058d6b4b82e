//! `system info` composed: Podman's `info` record ([`Info`]) as far as berth has the data,
//! under Podman's JSON key names (`host`, `store`, `graphRoot`, …), so the CLI and the Docker
//! API front end serve the same record. It lives here, the one crate above every source it
//! reads: the store (root, images, blobs), the runtime's run directory (given by the front
//! end, which resolves `--runroot`), the host, and the trust policy (berth-trust).
//!
//! Fields are in the (sorted) order `system info` has always printed them.

use std::path::{Path, PathBuf};

use berth_image_store::import::host_arch;
use berth_image_store::store::is_host_root;
use berth_image_store::{Store, StoreError};
use berth_trust::{Policy, PolicySource};
use serde::Serialize;

/// Podman's `info` record, the parts berth fills.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Info {
    pub host: HostInfo,
    pub store: StoreInfo,
    pub trust: TrustInfo,
    pub version: VersionInfo,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HostInfo {
    /// Go's name of the architecture (`amd64`).
    pub arch: String,
    pub cpus: usize,
    pub hostname: String,
    pub kernel: String,
    pub os: String,
    /// Not root of the host (uid 0 in a plain user's namespace is rootless).
    pub rootless: bool,
    pub security: SecurityInfo,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SecurityInfo {
    pub rootless: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StoreInfo {
    /// How many blobs the content store holds.
    pub blobs: usize,
    pub config_file: String,
    pub graph_driver_name: String,
    pub graph_root: PathBuf,
    pub image_store: ImageStoreInfo,
    pub run_root: PathBuf,
    pub volume_path: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImageStoreInfo {
    pub number: usize,
}

/// Which policy.json applies, or why none could be loaded.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum TrustInfo {
    #[serde(rename_all = "camelCase")]
    Policy {
        /// No file at all: the embedded default applies.
        builtin_default: bool,
        /// The embedded default's text, when it applies.
        builtin_default_policy: Option<String>,
        policy_path: String,
    },
    Error {
        error: String,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct VersionInfo {
    pub os: String,
    pub os_arch: String,
    pub version: String,
}

impl Info {
    /// The record for `store`, with the runtime's run directory `run_root` and the front
    /// end's `version`.
    pub fn gather(store: &Store, run_root: &Path, version: &str) -> Result<Info, StoreError> {
        let images = store.list_images()?.len();
        let blobs = store.content().list()?.len();
        let rootless = !is_host_root();
        let os = std::env::consts::OS.to_string();
        Ok(Info {
            host: HostInfo {
                arch: host_arch().to_string(),
                cpus: std::thread::available_parallelism()
                    .map(|n| n.get())
                    .unwrap_or(1),
                hostname: proc_text("/proc/sys/kernel/hostname"),
                kernel: proc_text("/proc/sys/kernel/osrelease"),
                os: os.clone(),
                rootless,
                security: SecurityInfo { rootless },
            },
            store: StoreInfo {
                blobs,
                config_file: "/etc/containers/storage.conf (not read yet)".to_string(),
                graph_driver_name: "overlay".to_string(),
                graph_root: store.root().to_path_buf(),
                image_store: ImageStoreInfo { number: images },
                run_root: run_root.to_path_buf(),
                volume_path: store.root().join("volumes"),
            },
            trust: TrustInfo::load(),
            version: VersionInfo {
                os_arch: format!("{os}/{}", host_arch()),
                os,
                version: version.to_string(),
            },
        })
    }
}

impl TrustInfo {
    /// The policy `pull` would load now.
    pub fn load() -> TrustInfo {
        match Policy::load(None) {
            Ok(p) => {
                let builtin = p.source == PolicySource::Default;
                TrustInfo::Policy {
                    builtin_default: builtin,
                    builtin_default_policy: builtin
                        .then(|| berth_trust::policy::DEFAULT_POLICY.to_string()),
                    policy_path: p.source.to_string(),
                }
            }
            Err(e) => TrustInfo::Error {
                error: e.to_string(),
            },
        }
    }
}

/// A one-line /proc file, trimmed; empty when unreadable.
fn proc_text(path: &str) -> String {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_under_podmans_names_in_the_printed_order() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let info = Info::gather(&store, Path::new("/run/x"), "9.9").unwrap();
        let json = serde_json::to_string(&info).unwrap();
        assert!(json.starts_with(r#"{"host":{"arch":""#), "{json}");
        assert!(
            json.contains(r#""store":{"blobs":0,"configFile":"#),
            "{json}"
        );
        assert!(json.contains(r#""imageStore":{"number":0},"runRoot":"/run/x","volumePath":"#));
        assert!(json.ends_with(r#""Version":"9.9"}}"#), "{json}");
        let trust = TrustInfo::Policy {
            builtin_default: true,
            builtin_default_policy: Some("{}".into()),
            policy_path: "p".into(),
        };
        assert_eq!(
            serde_json::to_string(&trust).unwrap(),
            r#"{"builtinDefault":true,"builtinDefaultPolicy":"{}","policyPath":"p"}"#
        );
        let error = TrustInfo::Error { error: "e".into() };
        assert_eq!(serde_json::to_string(&error).unwrap(), r#"{"error":"e"}"#);
    }
}
