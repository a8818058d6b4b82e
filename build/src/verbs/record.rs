//! Working containers as records: one JSON file per container under the store's
//! `working-containers/` (`berth_image_store::layout::WORKING_CONTAINERS`), written
//! atomically, created and removed under that directory's `lock` flock so two `from`s cannot
//! take one name; each container has a lock of its own (`<id>.lock`) for the verbs that mount
//! or change its files. A container's files are the writable snapshot `buildah-<id>`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use berth_image_store::lock::{FileLock, LockMode};
use berth_image_store::{ImageRecord, Store};
use serde::{Deserialize, Serialize};

use crate::error::{BuildError, Result};
use crate::extras::Extras;
use crate::image::ImageState;

/// A working container: what `from` made, `config` changed, and `commit` writes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WorkingContainer {
    /// 64 hex characters.
    pub id: String,
    pub name: String,
    /// The image as the user named it for `from`, `scratch` for none.
    pub from_image: String,
    /// The base image's id (its config digest, `sha256:…`), none for scratch.
    pub from_image_id: Option<String>,
    /// The base image's manifest digest, none for scratch.
    pub from_image_digest: Option<String>,
    /// The base image's first name (`localhost/x:latest`), what `containers` shows.
    pub from_image_name: Option<String>,
    /// When `from` made it (RFC 3339).
    pub created: String,
    /// The image config the commit writes (OCI's fields and Docker's extras: HEALTHCHECK,
    /// ONBUILD, SHELL), as JSON.
    pub config: serde_json::Value,
    /// `config --annotation`: the committed manifest's annotations.
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// `config --created-by`: the history entry of the committed layer.
    #[serde(default)]
    pub created_by: Option<String>,
    /// `config --history-comment`: the committed layer's history comment.
    #[serde(default)]
    pub comment: Option<String>,
}

impl WorkingContainer {
    /// The key of its writable snapshot.
    pub fn snapshot_key(&self) -> String {
        snapshot_key(&self.id)
    }

    /// The image being made: the base image's layers (as `base`) with this container's
    /// config.
    pub fn state(&self, store: &Store) -> Result<ImageState> {
        let mut state = match &self.from_image_id {
            Some(id) => ImageState::from_image(store, &self.base(store, id)?)?,
            None => ImageState::scratch()?,
        };
        state.mark_from();
        let bytes = serde_json::to_vec(&self.config).map_err(|e| encode_err(&self.name, e))?;
        let mut config: oci_spec::image::ImageConfiguration =
            serde_json::from_slice(&bytes).map_err(|e| encode_err(&self.name, e))?;
        // The layers are the base image's: the config's own list can only match them.
        config.set_rootfs(state.config.rootfs().clone());
        config.set_history(state.config.history().clone());
        state.config = config;
        state.extras = Extras::from_config_json(&bytes);
        Ok(state)
    }

    /// Take the config (and Docker's extras) from `state`.
    pub fn set_config(&mut self, state: &ImageState) -> Result<()> {
        let mut value =
            serde_json::to_value(&state.config).map_err(|e| encode_err(&self.name, e))?;
        state.extras.merge_into(&mut value);
        self.config = value;
        Ok(())
    }

    fn base(&self, store: &Store, id: &str) -> Result<ImageRecord> {
        store.lookup_image(id).map_err(|e| {
            BuildError::Invalid(format!(
                "working container {:?}: its image {id}: {e}",
                self.name
            ))
        })
    }
}

fn encode_err(name: &str, e: serde_json::Error) -> BuildError {
    BuildError::Invalid(format!("working container {name:?}: its config: {e}"))
}

/// The snapshot key of working container `id`.
pub(crate) fn snapshot_key(id: &str) -> String {
    format!("buildah-{id}")
}

/// The working containers of one store.
pub struct Records {
    dir: PathBuf,
}

impl Records {
    pub fn new(store: &Store) -> Records {
        Records {
            dir: store
                .root()
                .join(berth_image_store::layout::WORKING_CONTAINERS),
        }
    }

    /// The directory's lock (exclusive: creating, renaming or removing a record).
    pub(crate) fn lock(&self) -> Result<FileLock> {
        berth_layers::private_dir::ensure_private_dir(&self.dir)
            .map_err(|e| BuildError::io(&self.dir, e))?;
        let path = self.dir.join("lock");
        FileLock::acquire(&path, LockMode::Exclusive).map_err(|e| BuildError::io(&path, e))
    }

    /// Container `c`'s own lock, held by every verb that mounts, changes or removes its files
    /// (`run`, `copy`, `commit`, `mount`, `umount`, `rm`): one at a time, so its upper dir is
    /// never under two overlays at once.
    pub fn container_lock(&self, c: &WorkingContainer) -> Result<FileLock> {
        berth_layers::private_dir::ensure_private_dir(&self.dir)
            .map_err(|e| BuildError::io(&self.dir, e))?;
        let path = self.dir.join(format!("{}.lock", c.id));
        FileLock::acquire(&path, LockMode::Exclusive).map_err(|e| BuildError::io(&path, e))
    }

    fn path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.json"))
    }

    /// Every working container, oldest first.
    pub fn list(&self) -> Result<Vec<WorkingContainer>> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(BuildError::io(&self.dir, e)),
        };
        let mut out = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| BuildError::io(&self.dir, e))?;
            let name = entry.file_name();
            let Some(id) = name.to_str().and_then(|n| n.strip_suffix(".json")) else {
                continue;
            };
            if berth_layers::atomic_file::is_temp_name(&name) {
                continue;
            }
            out.push(self.read(id)?);
        }
        out.sort_by(|a, b| a.created.cmp(&b.created).then(a.id.cmp(&b.id)));
        Ok(out)
    }

    fn read(&self, id: &str) -> Result<WorkingContainer> {
        let path = self.path(id);
        let bytes = std::fs::read(&path).map_err(|e| BuildError::io(&path, e))?;
        serde_json::from_slice(&bytes)
            .map_err(|e| BuildError::io(&path, std::io::Error::other(e.to_string())))
    }

    /// The container named `name`, or whose id is or starts with `name`.
    pub fn find(&self, name: &str) -> Result<WorkingContainer> {
        let all = self.list()?;
        if let Some(c) = all.iter().find(|c| c.name == name || c.id == name) {
            return Ok(c.clone());
        }
        let mut prefixed = all.into_iter().filter(|c| c.id.starts_with(name));
        match (prefixed.next(), prefixed.next()) {
            (Some(c), None) if !name.is_empty() => Ok(c),
            (Some(_), Some(_)) => Err(BuildError::Invalid(format!(
                "reading build container {name:?}: more than one container has an id starting \
                 with it"
            ))),
            _ => Err(not_known(name)),
        }
    }

    /// Write `c` (new or changed).
    pub fn save(&self, c: &WorkingContainer) -> Result<()> {
        berth_layers::private_dir::ensure_private_dir(&self.dir)
            .map_err(|e| BuildError::io(&self.dir, e))?;
        let path = self.path(&c.id);
        let bytes = serde_json::to_vec_pretty(c).map_err(|e| encode_err(&c.name, e))?;
        berth_layers::atomic_file::write_atomically(&path, &bytes, 0o600)
            .map_err(|e| BuildError::io(&path, e))
    }

    /// Remove `c`'s record and its lock file (its snapshot is the caller's).
    pub fn remove(&self, c: &WorkingContainer) -> Result<()> {
        for path in [self.path(&c.id), self.dir.join(format!("{}.lock", c.id))] {
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(BuildError::io(&path, e)),
            }
        }
        Ok(())
    }

    /// A free name from `base` (`base`, then `base-1`, `base-2`, … as Buildah); call with
    /// the lock held.
    pub(crate) fn free_name(&self, base: &str) -> Result<String> {
        let taken: Vec<String> = self.list()?.into_iter().map(|c| c.name).collect();
        let mut name = base.to_string();
        let mut n = 0;
        while taken.contains(&name) {
            n += 1;
            name = format!("{base}-{n}");
        }
        Ok(name)
    }

    /// The container holding `name`, if any.
    pub(crate) fn holder(&self, name: &str) -> Result<Option<WorkingContainer>> {
        Ok(self.list()?.into_iter().find(|c| c.name == name))
    }

    /// Where the records are.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// Buildah's words for a container that is not there.
pub(crate) fn not_known(name: &str) -> BuildError {
    BuildError::Invalid(format!(
        "reading build container {name:?}: container not known"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn container(id: &str, name: &str) -> WorkingContainer {
        WorkingContainer {
            id: id.to_string(),
            name: name.to_string(),
            from_image: "scratch".to_string(),
            from_image_id: None,
            from_image_digest: None,
            from_image_name: None,
            created: format!("2026-01-01T00:00:0{}Z", id.len() % 10),
            config: serde_json::json!({}),
            annotations: BTreeMap::new(),
            created_by: None,
            comment: None,
        }
    }

    #[test]
    fn found_by_name_id_or_unique_prefix_and_names_are_free() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let records = Records::new(&store);
        assert!(records.list().unwrap().is_empty());
        records
            .save(&container("abc1", "working-container"))
            .unwrap();
        records.save(&container("abd2", "other")).unwrap();
        assert_eq!(records.find("other").unwrap().id, "abd2");
        assert_eq!(records.find("abc1").unwrap().name, "working-container");
        assert_eq!(records.find("abd").unwrap().name, "other");
        let err = records.find("ab").unwrap_err().to_string();
        assert!(err.contains("more than one"), "{err}");
        let err = records.find("nosuch").unwrap_err().to_string();
        assert!(err.contains("container not known"), "{err}");
        assert!(records.find("").is_err());
        assert_eq!(
            records.free_name("working-container").unwrap(),
            "working-container-1"
        );
        assert_eq!(records.free_name("fresh").unwrap(), "fresh");
        records.remove(&records.find("other").unwrap()).unwrap();
        assert_eq!(records.list().unwrap().len(), 1);
        // A second removal is not an error (a crash between snapshot and record).
        records.remove(&container("abd2", "other")).unwrap();
    }
}
