//! [`Lists`]: the lists of a store as [`ManifestList`]s: find, create, save, remove, lock, over
//! the store's manifest list directory ([`berth_image_store::manifest_lists`]).

use super::*;

/// The lists of one store.
pub struct Lists<'a> {
    store: &'a Store,
    files: ManifestListFiles,
}

fn not_found(input: &str) -> RegistryError {
    RegistryError::Store(StoreError::NotFound(format!("manifest list {input}")))
}

impl<'a> Lists<'a> {
    /// The lists of `store` (its `manifests/` directory, created when missing).
    pub fn new(store: &'a Store) -> Result<Lists<'a>> {
        Ok(Lists {
            store,
            files: store.manifest_lists()?,
        })
    }

    /// Hold the lists lock (exclusive) for a read-modify-write.
    pub fn lock(&self) -> Result<ListsLock> {
        Ok(self.files.lock()?)
    }

    fn parse(path: &Path, bytes: &[u8]) -> Result<ManifestList> {
        serde_json::from_slice(bytes).map_err(|e| RegistryError::Config {
            path: path.to_path_buf(),
            message: format!("manifest list: {e}"),
        })
    }

    fn read(&self, normalized: &str) -> Result<Option<ManifestList>> {
        match self.files.read(normalized)? {
            Some((path, bytes)) => Self::parse(&path, &bytes).map(Some),
            None => Ok(None),
        }
    }

    /// Every list, sorted by name.
    pub fn all(&self) -> Result<Vec<ManifestList>> {
        let mut out = Vec::new();
        for (path, bytes) in self.files.all()? {
            out.push(Self::parse(&path, &bytes)?);
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// The list named `input` (normalized like image names), or whose id starts with it.
    pub fn find(&self, input: &str) -> Result<Option<ManifestList>> {
        if let Ok(name) = normalize_local(input) {
            if let Some(l) = self.read(&name)? {
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
                return Err(RegistryError::Store(StoreError::Ambiguous(format!(
                    "manifest list {input}: the id prefix is ambiguous"
                ))));
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
        if let Some(existing) = self.read(&normalized)? {
            if amend {
                return Ok(existing);
            }
            return Err(RegistryError::Store(StoreError::AlreadyExists(format!(
                "manifest list {normalized}"
            ))));
        }
        if let Ok(img) = self.store.lookup_image(&normalized) {
            if img.names.iter().any(|n| *n == normalized) {
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
        let bytes = serde_json::to_vec_pretty(list).map_err(|e| RegistryError::Invalid {
            what: format!("manifest list {}", list.name),
            message: e.to_string(),
        })?;
        Ok(self.files.write(&list.name, &bytes)?)
    }

    /// Remove the list `input`; returns it, or `None` if there was none.
    pub fn remove(&self, input: &str) -> Result<Option<ManifestList>> {
        let Some(list) = self.find(input)? else {
            return Ok(None);
        };
        self.files.remove(&list.name)?;
        Ok(Some(list))
    }
}
