//! The list files under `<root>/manifests/`: find, create, save atomically, remove, lock.

use berth_image_store::lock::{FileLock, LockMode};

use super::*;

/// The lists of one store.
pub struct Lists<'a> {
    store: &'a Store,
    dir: PathBuf,
}

/// An exclusive lock on the lists directory, released on drop.
pub struct ListsLock {
    _lock: FileLock,
}

fn not_found(input: &str) -> RegistryError {
    RegistryError::Store(StoreError::NotFound(format!("manifest list {input}")))
}

impl<'a> Lists<'a> {
    /// The lists of `store` (creating `<root>/manifests`, mode 0700).
    pub fn new(store: &'a Store) -> Result<Lists<'a>> {
        let dir = store.root().join(LISTS_DIR);
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(|e| RegistryError::io(&dir, e))?;
        Ok(Lists { store, dir })
    }

    /// Hold the lists lock (exclusive) for a read-modify-write.
    pub fn lock(&self) -> Result<ListsLock> {
        let path = self.dir.join("lock");
        FileLock::acquire(&path, LockMode::Exclusive)
            .map(|l| ListsLock { _lock: l })
            .map_err(|e| RegistryError::io(&path, e))
    }

    fn path_of(&self, normalized: &str) -> PathBuf {
        let key = digest_bytes(normalized.as_bytes());
        self.dir.join(format!("{}.json", key.digest()))
    }

    fn read(path: &Path) -> Result<Option<ManifestList>> {
        let bytes = match fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(RegistryError::io(path, e)),
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| RegistryError::Config {
                path: path.to_path_buf(),
                message: format!("manifest list: {e}"),
            })
    }

    /// Every list, sorted by name.
    pub fn all(&self) -> Result<Vec<ManifestList>> {
        let rd = fs::read_dir(&self.dir).map_err(|e| RegistryError::io(&self.dir, e))?;
        let mut out = Vec::new();
        for entry in rd {
            let entry = entry.map_err(|e| RegistryError::io(&self.dir, e))?;
            let path = entry.path();
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') || !name.ends_with(".json") {
                continue;
            }
            if let Some(l) = Self::read(&path)? {
                out.push(l);
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// The list named `input` (normalized like image names), or whose id starts with it.
    pub fn find(&self, input: &str) -> Result<Option<ManifestList>> {
        if let Ok(name) = normalize_local(input) {
            if let Some(l) = Self::read(&self.path_of(&name))? {
                return Ok(Some(l));
            }
        }
        let hex = input.strip_prefix("sha256:").unwrap_or(input);
        if hex.len() >= 3 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            let hex = hex.to_ascii_lowercase();
            let mut hits: Vec<ManifestList> = self
                .all()?
                .into_iter()
                .filter(|l| l.id.starts_with(&hex))
                .collect();
            if hits.len() > 1 {
                return Err(RegistryError::Invalid {
                    what: format!("manifest list {input}"),
                    message: "the id prefix is ambiguous".into(),
                });
            }
            return Ok(hits.pop());
        }
        Ok(None)
    }

    /// The list named `input`; `NotFound` naming it otherwise.
    pub fn get(&self, input: &str) -> Result<ManifestList> {
        self.find(input)?.ok_or_else(|| not_found(input))
    }

    /// Create the list `name` (or with `amend`, return the existing one). A name an image
    /// of the store already has is refused.
    pub fn create(&self, name: &str, amend: bool) -> Result<ManifestList> {
        let normalized = normalize_local(name)?;
        if let Some(existing) = Self::read(&self.path_of(&normalized))? {
            if amend {
                return Ok(existing);
            }
            return Err(RegistryError::Store(StoreError::AlreadyExists(format!(
                "manifest list {normalized}"
            ))));
        }
        if let Ok(img) = self.store.lookup_image(&normalized) {
            if img.names.contains(&normalized) {
                return Err(RegistryError::Store(StoreError::AlreadyExists(format!(
                    "{normalized} (the name of image {})",
                    img.short_id()
                ))));
            }
        }
        Ok(ManifestList::new(&normalized))
    }

    /// Write `list` atomically.
    pub fn save(&self, list: &ManifestList) -> Result<()> {
        let path = self.path_of(&list.name);
        let bytes = serde_json::to_vec_pretty(list).map_err(|e| RegistryError::Invalid {
            what: format!("manifest list {}", list.name),
            message: e.to_string(),
        })?;
        berth_layers::atomic_file::write_atomically(&path, &bytes, 0o600)
            .map_err(|e| RegistryError::io(&path, e))
    }

    /// Remove the list `input`; returns it, or `None` if there was none.
    pub fn remove(&self, input: &str) -> Result<Option<ManifestList>> {
        let Some(list) = self.find(input)? else {
            return Ok(None);
        };
        let path = self.path_of(&list.name);
        fs::remove_file(&path).map_err(|e| RegistryError::io(&path, e))?;
        Ok(Some(list))
    }
}
