//! The secret store (Podman's `file` driver): one place under the store root
//! ([`berth_image_store::layout::SECRETS`]). `secrets.json` lists the secrets (id, name,
//! driver, dates, labels); each one's data is `data/<id>`, mode 0600, in directories of mode
//! 0700, replaced atomically. Changes hold the `lock` flock. Names, ids, the size limit and
//! the error words are Podman 4.3's.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use berth_image_store::lock::{FileLock, LockMode};
use berth_layers::atomic_file::write_atomically;
use berth_layers::private_dir::ensure_private_dir;
use chrono::{DateTime, Utc};

use crate::error::{Result, RunError};

/// Podman's limit: data of 1 byte up to (not including) 512000 bytes.
pub const MAX_SECRET_SIZE: usize = 512_000;

/// The longest secret name (Podman's).
const MAX_NAME: usize = 253;

/// The driver berth has.
pub const FILE_DRIVER: &str = "file";

/// One secret's record (never its data).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Secret {
    /// 25 hex characters, as Podman's.
    pub id: String,
    pub name: String,
    pub driver: String,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// The secrets of one store root.
pub struct SecretStore {
    dir: PathBuf,
}

impl SecretStore {
    /// The secrets under store root `root` (nothing is created until one is).
    pub fn new(root: &Path) -> SecretStore {
        SecretStore {
            dir: root.join(berth_image_store::layout::SECRETS),
        }
    }

    /// Where the file driver keeps the data (`inspect`'s `Driver.Options.path`).
    pub fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn index_path(&self) -> PathBuf {
        self.dir.join("secrets.json")
    }

    fn lock(&self) -> Result<FileLock> {
        for d in [&self.dir, &self.data_dir()] {
            ensure_private_dir(d).map_err(|e| RunError::io(d.as_path(), e))?;
        }
        let path = self.dir.join("lock");
        FileLock::acquire(&path, LockMode::Exclusive).map_err(|e| RunError::io(path, e))
    }

    /// Every secret, oldest first.
    pub fn list(&self) -> Result<Vec<Secret>> {
        let path = self.index_path();
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                RunError::io(
                    &path,
                    std::io::Error::new(std::io::ErrorKind::InvalidData, e),
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(RunError::io(path, e)),
        }
    }

    fn save(&self, all: &[Secret]) -> Result<()> {
        let path = self.index_path();
        let bytes = serde_json::to_vec_pretty(all).map_err(|e| RunError::Spec(e.to_string()))?;
        write_atomically(&path, &bytes, 0o600).map_err(|e| RunError::io(path, e))
    }

    /// The secret `name_or_id` names: a name, an id, or a unique id prefix.
    pub fn lookup(&self, name_or_id: &str) -> Result<Secret> {
        find(&self.list()?, name_or_id)
            .cloned()
            .ok_or_else(|| RunError::NoSuchSecret(name_or_id.to_string()))
    }

    /// Whether a secret by that name or id exists.
    pub fn exists(&self, name_or_id: &str) -> Result<bool> {
        Ok(find(&self.list()?, name_or_id).is_some())
    }

    /// Store a new secret; returns its id.
    pub fn create(
        &self,
        name: &str,
        data: &[u8],
        driver: &str,
        labels: BTreeMap<String, String>,
    ) -> Result<String> {
        check_name(name)?;
        if driver != FILE_DRIVER {
            return Err(RunError::Invalid(format!(
                "secret driver {driver:?}: berth has the file driver only"
            )));
        }
        check_size(data.len())?;
        let _lock = self.lock()?;
        let mut all = self.list()?;
        if all.iter().any(|s| s.name == name) {
            return Err(RunError::Invalid(format!("{name}: secret name in use")));
        }
        let id = loop {
            let id: String = crate::names::new_id()?.chars().take(25).collect();
            if !all.iter().any(|s| s.id == id) {
                break id;
            }
        };
        let path = self.data_dir().join(&id);
        write_atomically(&path, data, 0o600).map_err(|e| RunError::io(&path, e))?;
        let now = Utc::now();
        all.push(Secret {
            id: id.clone(),
            name: name.to_string(),
            driver: driver.to_string(),
            created: now,
            updated: now,
            labels,
        });
        if let Err(e) = self.save(&all) {
            let _ = std::fs::remove_file(&path);
            return Err(e);
        }
        Ok(id)
    }

    /// Remove the secret `name_or_id` (record and data); returns its id.
    pub fn remove(&self, name_or_id: &str) -> Result<String> {
        let _lock = self.lock()?;
        let mut all = self.list()?;
        let id = find(&all, name_or_id)
            .map(|s| s.id.clone())
            .ok_or_else(|| RunError::NoSuchSecret(name_or_id.to_string()))?;
        all.retain(|s| s.id != id);
        self.save(&all)?;
        let path = self.data_dir().join(&id);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(id),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(id),
            Err(e) => Err(RunError::io(path, e)),
        }
    }

    /// The data of secret `id` (read at each start of a container that uses it).
    pub fn data(&self, id: &str) -> Result<Vec<u8>> {
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(RunError::NoSuchSecret(id.to_string()));
        }
        let path = self.data_dir().join(id);
        match std::fs::read(&path) {
            Ok(d) => Ok(d),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(RunError::NoSuchSecret(id.to_string()))
            }
            Err(e) => Err(RunError::io(path, e)),
        }
    }
}

fn find<'a>(all: &'a [Secret], name_or_id: &str) -> Option<&'a Secret> {
    if let Some(s) = all
        .iter()
        .find(|s| s.name == name_or_id || s.id == name_or_id)
    {
        return Some(s);
    }
    if name_or_id.is_empty() {
        return None;
    }
    let mut prefixed = all.iter().filter(|s| s.id.starts_with(name_or_id));
    match (prefixed.next(), prefixed.next()) {
        (Some(s), None) => Some(s),
        _ => None,
    }
}

/// Podman's secret name rule.
pub fn check_name(name: &str) -> Result<()> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    let edges = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    if name.len() <= MAX_NAME
        && name.chars().all(ok_char)
        && edges(name.chars().next())
        && edges(name.chars().last())
    {
        return Ok(());
    }
    Err(RunError::Invalid(format!(
        "only 64 [a-zA-Z0-9-_.] characters allowed, and the start and end character must be \
         [a-zA-Z0-9]: {name}: invalid secret name"
    )))
}

/// Podman's size rule.
pub fn check_size(len: usize) -> Result<()> {
    if len == 0 || len >= MAX_SECRET_SIZE {
        return Err(RunError::Invalid(format!(
            "secret data must be larger than 0 and less than {MAX_SECRET_SIZE} bytes"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn create_lookup_remove() {
        let root = tempfile::tempdir().unwrap();
        let s = SecretStore::new(root.path());
        assert!(s.list().unwrap().is_empty());
        let id = s
            .create("db-pass", b"hunter2", FILE_DRIVER, BTreeMap::new())
            .unwrap();
        assert_eq!(id.len(), 25);
        let data = s.data_dir().join(&id);
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&data), 0o600);
        assert_eq!(mode(&s.data_dir()), 0o700);
        assert_eq!(s.data(&id).unwrap(), b"hunter2");
        assert_eq!(s.lookup("db-pass").unwrap().id, id);
        assert_eq!(s.lookup(&id[..6]).unwrap().name, "db-pass");
        assert!(s.exists("db-pass").unwrap());
        assert_eq!(
            s.create("db-pass", b"x", FILE_DRIVER, BTreeMap::new())
                .unwrap_err()
                .to_string(),
            "db-pass: secret name in use"
        );
        // The index holds no data.
        let index = std::fs::read_to_string(root.path().join("secrets/secrets.json")).unwrap();
        assert!(!index.contains("hunter2"));
        assert_eq!(s.remove("db-pass").unwrap(), id);
        assert!(!data.exists());
        assert_eq!(
            s.lookup("db-pass").unwrap_err().to_string(),
            "no secret with name or id \"db-pass\": no such secret"
        );
        assert!(!s.exists("db-pass").unwrap());
    }

    #[test]
    fn podman_rules() {
        assert!(check_name("a.b-c_d9").is_ok());
        for bad in ["bad/name", "-a", "a-", "", "a b"] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
        assert!(check_size(0).is_err());
        assert!(check_size(MAX_SECRET_SIZE).is_err());
        assert!(check_size(MAX_SECRET_SIZE - 1).is_ok());
        let root = tempfile::tempdir().unwrap();
        let s = SecretStore::new(root.path());
        let big = vec![b'x'; MAX_SECRET_SIZE];
        let err = s
            .create("big", &big, FILE_DRIVER, BTreeMap::new())
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "secret data must be larger than 0 and less than 512000 bytes"
        );
        assert!(s.data("../x").is_err());
    }
}
