//! A pod spec's `volumes` to what its containers mount, and the objects behind them:
//!
//! - `hostPath`: the host path (its `type` checked; `DirectoryOrCreate`/`FileOrCreate` made);
//! - `persistentVolumeClaim`: the named volume `claimName` (a PersistentVolumeClaim document
//!   makes it first, as Podman 4.3);
//! - `configMap`: a named volume named after the ConfigMap, as Podman 4.3, each key (or
//!   `items`' path) a file in it. A key or path must be a file name: one naming `/`, `.` or
//!   `..` is refused; the files are replaced atomically, so a symlink a container left in
//!   the volume is replaced, never followed;
//! - `emptyDir`: the named volume `<pod>-<volume>` (mode 0777, as Kubernetes makes it),
//!   shared by the pod's containers and removed by `kube down`;
//! - `secret`: each key a file through berth's secret store (`--secret …,type=mount`),
//!   never written into a volume or the record.
//!
//! A Secret document's keys are stored as berth secrets named `<secret>.<key>`
//! ([`secret_name`]), labelled [`SECRET_LABEL`] and [`KEY_LABEL`].

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use berth_run::secrets::SecretStore;
use berth_run::volumes::Volumes;
use k8s_openapi::api::core::v1::{ConfigMap, KeyToPath, Secret, Volume};

/// What one pod volume is for its containers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PodVolume {
    Host(PathBuf),
    Named {
        name: String,
        read_only: bool,
    },
    /// Keys of a Secret and the file name each gets under the mount path.
    Secret {
        secret: String,
        items: Vec<(String, String)>,
    },
    /// An optional ConfigMap or Secret that does not exist, or an unsupported source
    /// (warned about when the file was read): nothing is mounted.
    Absent,
}

/// The label naming the Secret a berth secret holds a key of.
pub const SECRET_LABEL: &str = "io.berth.kube.secret";
/// The label naming that key.
pub const KEY_LABEL: &str = "io.berth.kube.key";

/// The berth secret holding `key` of the Secret `secret`.
pub fn secret_name(secret: &str, key: &str) -> String {
    format!("{secret}.{key}")
}

/// The emptyDir volume of pod `pod`.
pub fn empty_dir_name(pod: &str, volume: &str) -> String {
    format!("{pod}-{volume}")
}

/// A ConfigMap or Secret key (or an `items` path) as a file name: one component, not `.`
/// or `..`.
pub fn check_file_name(what: &str, name: &str) -> Result<()> {
    if name.is_empty()
        || name == "."
        || name == ".."
        || name.contains('/')
        || name.contains('\0')
        || name.len() > 253
    {
        bail!("{what} {name:?}: must be a file name (no \"/\", not \".\" or \"..\")");
    }
    Ok(())
}

/// The keys of every Secret berth's store holds from a kube play (Secret name → keys).
pub fn known_secrets(store: &SecretStore) -> Result<BTreeMap<String, Vec<String>>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for s in store.list()? {
        if let (Some(secret), Some(key)) = (s.labels.get(SECRET_LABEL), s.labels.get(KEY_LABEL)) {
            out.entry(secret.clone()).or_default().push(key.clone());
        }
    }
    Ok(out)
}

/// A Secret document's keys as berth secrets (`data` decoded, then `stringData`, which wins);
/// returns the names made.
pub fn store_secret(store: &SecretStore, secret: &Secret) -> Result<Vec<String>> {
    let name = secret
        .metadata
        .name
        .as_deref()
        .filter(|n| !n.is_empty())
        .ok_or_else(|| anyhow!("Secret does not have a name"))?;
    let mut keys: BTreeMap<&str, Vec<u8>> = BTreeMap::new();
    for (k, v) in secret.data.iter().flatten() {
        keys.insert(k, v.0.clone());
    }
    for (k, v) in secret.string_data.iter().flatten() {
        keys.insert(k, v.clone().into_bytes());
    }
    for key in keys.keys() {
        check_file_name("Secret key", key)?;
    }
    let mut made: Vec<String> = Vec::new();
    for (key, data) in keys {
        let full = secret_name(name, key);
        let labels = BTreeMap::from([
            (SECRET_LABEL.to_string(), name.to_string()),
            (KEY_LABEL.to_string(), key.to_string()),
        ]);
        let created = store
            .create(&full, &data, berth_run::secrets::store::FILE_DRIVER, labels)
            .with_context(|| format!("Secret {name}"));
        if let Err(e) = created {
            for m in &made {
                let _ = store.remove(m);
            }
            return Err(e);
        }
        made.push(full);
    }
    Ok(made)
}

/// The file name each key gets: `items` (checked) or every key.
fn items_or_all(
    items: Option<&Vec<KeyToPath>>,
    keys: impl Iterator<Item = String>,
    what: &str,
) -> Result<Vec<(String, String)>> {
    let pairs: Vec<(String, String)> = match items {
        Some(items) => items
            .iter()
            .map(|i| (i.key.clone(), i.path.clone()))
            .collect(),
        None => keys.map(|k| (k.clone(), k)).collect(),
    };
    for (key, path) in &pairs {
        check_file_name(&format!("{what} key"), key)?;
        check_file_name(&format!("{what} path"), path)?;
    }
    Ok(pairs)
}

/// Resolve the pod's volumes, making what they need (see the module's doc).
pub fn resolve(
    pod_name: &str,
    volumes: &[Volume],
    config_maps: &[ConfigMap],
    secrets: &BTreeMap<String, Vec<String>>,
    store_volumes: &Volumes,
) -> Result<BTreeMap<String, PodVolume>> {
    let mut out = BTreeMap::new();
    for v in volumes {
        let resolved = if let Some(h) = &v.host_path {
            PodVolume::Host(host_path(&h.path, h.type_.as_deref().unwrap_or(""))?)
        } else if let Some(c) = &v.persistent_volume_claim {
            PodVolume::Named {
                name: c.claim_name.clone(),
                read_only: c.read_only.unwrap_or(false),
            }
        } else if v.empty_dir.is_some() {
            // World-writable, as Kubernetes makes an emptyDir: any user of the pod writes.
            let name = empty_dir_name(pod_name, &v.name);
            let vol = store_volumes.get_or_create(&name)?;
            std::fs::set_permissions(&vol.mountpoint, std::fs::Permissions::from_mode(0o777))
                .with_context(|| format!("emptyDir {}", v.name))?;
            PodVolume::Named {
                name,
                read_only: false,
            }
        } else if let Some(c) = &v.config_map {
            let cm = config_maps
                .iter()
                .find(|cm| cm.metadata.name.as_deref() == Some(c.name.as_str()));
            match cm {
                Some(cm) => {
                    let data = cm.data.clone().unwrap_or_default();
                    let items = items_or_all(c.items.as_ref(), data.keys().cloned(), "ConfigMap")?;
                    let vol = store_volumes.get_or_create(&c.name)?;
                    for (key, path) in &items {
                        let value = data.get(key).ok_or_else(|| {
                            anyhow!("key {key:?} not found in ConfigMap {}", c.name)
                        })?;
                        write_file(&vol.mountpoint, path, value.as_bytes())?;
                    }
                    PodVolume::Named {
                        name: c.name.clone(),
                        read_only: false,
                    }
                }
                None if c.optional == Some(true) => PodVolume::Absent,
                None => bail!("no such ConfigMap {:?}", c.name),
            }
        } else if let Some(s) = &v.secret {
            let name = s.secret_name.clone().unwrap_or_default();
            match secrets.get(&name) {
                Some(keys) => {
                    let items = items_or_all(s.items.as_ref(), keys.iter().cloned(), "Secret")?;
                    if let Some((key, _)) = items.iter().find(|(k, _)| !keys.contains(k)) {
                        bail!("key {key:?} not found in Secret {name}");
                    }
                    PodVolume::Secret {
                        secret: name,
                        items,
                    }
                }
                None if s.optional == Some(true) => PodVolume::Absent,
                None => bail!("no such Secret {name:?}"),
            }
        } else {
            PodVolume::Absent
        };
        out.insert(v.name.clone(), resolved);
    }
    Ok(out)
}

/// A hostPath, checked as its `type` says.
fn host_path(path: &str, kind: &str) -> Result<PathBuf> {
    let p = PathBuf::from(path);
    if !p.is_absolute() {
        bail!("hostPath {path:?}: must be an absolute path");
    }
    let meta = std::fs::metadata(&p);
    let is = |f: &dyn Fn(&std::fs::Metadata) -> bool| meta.as_ref().is_ok_and(f);
    use std::os::unix::fs::FileTypeExt;
    // Regular files and directories only: opening a device to check it could act on it.
    let plain = meta.as_ref().is_ok_and(|m| m.is_dir() || m.is_file());
    if plain && !berth_image_store::store::is_host_root() {
        readable(&p, meta.as_ref().is_ok_and(|m| m.is_dir()))?;
    }
    match kind {
        "" => {}
        "DirectoryOrCreate" => {
            if meta.is_err() {
                std::fs::create_dir_all(&p).with_context(|| format!("hostPath {path}"))?;
            } else if !is(&|m| m.is_dir()) {
                bail!("hostPath {path:?}: not a directory");
            }
        }
        "FileOrCreate" => {
            if meta.is_err() {
                std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&p)
                    .with_context(|| format!("hostPath {path}"))?;
            } else if !is(&|m| m.is_file()) {
                bail!("hostPath {path:?}: not a file");
            }
        }
        "Directory" if !is(&|m| m.is_dir()) => bail!("hostPath {path:?}: not a directory"),
        "File" if !is(&|m| m.is_file()) => bail!("hostPath {path:?}: not a file"),
        "Socket" if !is(&|m| m.file_type().is_socket()) => bail!("hostPath {path:?}: not a socket"),
        "CharDevice" if !is(&|m| m.file_type().is_char_device()) => {
            bail!("hostPath {path:?}: not a character device")
        }
        "BlockDevice" if !is(&|m| m.file_type().is_block_device()) => {
            bail!("hostPath {path:?}: not a block device")
        }
        "Directory" | "File" | "Socket" | "CharDevice" | "BlockDevice" => {}
        other => bail!("hostPath {path:?}: unknown type {other:?}"),
    }
    Ok(p)
}

/// As a plain user (inside berth's user namespace, where the user's own permissions apply to
/// the host's files): a hostPath the user cannot read is refused, not handed to a container.
fn readable(path: &Path, dir: bool) -> Result<()> {
    let read = match dir {
        true => std::fs::read_dir(path).map(drop),
        false => std::fs::File::open(path).map(drop),
    };
    read.map_err(|e| anyhow!("hostPath {}: not readable by you: {e}", path.display()))
}

/// Write `name` (a checked file name) in the volume directory `dir`: a new file renamed over
/// whatever was there.
fn write_file(dir: &Path, name: &str, data: &[u8]) -> Result<()> {
    let path = dir.join(name);
    berth_layers::atomic_file::write_atomically(&path, data, 0o644)
        .with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_must_be_file_names() {
        for bad in ["../x", "/etc/passwd", "..", ".", "a/b", ""] {
            let err = check_file_name("ConfigMap key", bad)
                .unwrap_err()
                .to_string();
            assert!(err.contains("must be a file name"), "{err}");
        }
        check_file_name("ConfigMap key", "index.html").unwrap();
        check_file_name("ConfigMap key", "..data").unwrap();
    }

    #[test]
    fn a_symlink_in_the_volume_is_replaced_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("outside");
        std::fs::write(&outside, "keep").unwrap();
        let vol = dir.path().join("vol");
        std::fs::create_dir(&vol).unwrap();
        std::os::unix::fs::symlink(&outside, vol.join("key")).unwrap();
        write_file(&vol, "key", b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&outside).unwrap(), "keep");
        assert_eq!(std::fs::read_to_string(vol.join("key")).unwrap(), "new");
        assert!(!std::fs::symlink_metadata(vol.join("key"))
            .unwrap()
            .is_symlink());
    }

    #[test]
    fn host_paths_are_checked_as_their_type_says() {
        let dir = tempfile::tempdir().unwrap();
        let made = dir.path().join("made");
        host_path(made.to_str().unwrap(), "DirectoryOrCreate").unwrap();
        assert!(made.is_dir());
        assert!(host_path(made.to_str().unwrap(), "File").is_err());
        assert!(host_path("relative", "").is_err());
        assert!(host_path(made.to_str().unwrap(), "Bogus").is_err());
    }
}
