//! Named volumes: directories under the store (`volumes/<name>/_data`) with a row each in the
//! store database (table `volumes`: name, created, labels as JSON). `-v NAME:/path` mounts one, creating it on first use as
//! Podman does; a volume in use by a container cannot be removed.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use crate::error::{Result, RunError};
use crate::names::{check_name, random_bytes};

/// One volume.
#[derive(Debug, Clone, Serialize)]
pub struct Volume {
    pub name: String,
    /// The directory containers see.
    pub mountpoint: PathBuf,
    pub created: DateTime<Utc>,
    /// `--label`, the API's `Labels`.
    pub labels: BTreeMap<String, String>,
}

/// The volumes of one store.
pub struct Volumes {
    conn: Connection,
    root: PathBuf,
}

impl Volumes {
    /// Open the volume table of the store at `store_root`.
    pub fn open(store_root: &Path) -> Result<Volumes> {
        // The table is made by the store's migrations (berth_image_store::db).
        let conn =
            berth_image_store::db::open(&store_root.join(berth_image_store::layout::DATABASE))?;
        Ok(Volumes {
            conn,
            root: store_root.join(berth_image_store::layout::VOLUMES),
        })
    }

    fn value(&self, (name, created, labels): (String, String, String)) -> Volume {
        Volume {
            mountpoint: self.root.join(&name).join("_data"),
            created: DateTime::parse_from_rfc3339(&created)
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or_default(),
            labels: serde_json::from_str(&labels).unwrap_or_default(),
            name,
        }
    }

    /// Create a volume (`None`: a random 64-hex name); an existing name is refused.
    pub fn create(&self, name: Option<&str>) -> Result<Volume> {
        self.create_labelled(name, &BTreeMap::new())
    }

    /// [`Volumes::create`] with labels.
    pub fn create_labelled(
        &self,
        name: Option<&str>,
        labels: &BTreeMap<String, String>,
    ) -> Result<Volume> {
        let name = match name {
            Some(n) => {
                check_name(n)?;
                n.to_string()
            }
            None => random_bytes(32)?
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect(),
        };
        if self.get(&name).is_ok() {
            return Err(RunError::FailedPrecondition(format!(
                "volume {name} already exists"
            )));
        }
        let data = self.root.join(&name).join("_data");
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(&data)
            .map_err(|e| RunError::io(&data, e))?;
        let now = Utc::now().to_rfc3339_opts(SecondsFormat::Nanos, true);
        let labels = serde_json::to_string(labels)
            .map_err(|e| RunError::Invalid(format!("volume labels: {e}")))?;
        self.conn.execute(
            "INSERT INTO volumes (name, created, labels) VALUES (?1, ?2, ?3)",
            params![name, now, labels],
        )?;
        berth_image_store::events::emit(berth_image_store::events::Event::volume("create", &name));
        Ok(self.value((name, now, labels)))
    }

    /// Look a volume up.
    pub fn get(&self, name: &str) -> Result<Volume> {
        self.find(name)?
            .ok_or_else(|| RunError::NoSuchVolume(name.to_string()))
    }

    /// The volume `name`, or `None` when there is none.
    pub fn find(&self, name: &str) -> Result<Option<Volume>> {
        let row: Option<(String, String, String)> = self
            .conn
            .query_row(
                "SELECT name, created, labels FROM volumes WHERE name = ?1",
                [name],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        Ok(row.map(|r| self.value(r)))
    }

    /// The volume `name`, created if missing (for `-v NAME:/path`).
    pub fn get_or_create(&self, name: &str) -> Result<Volume> {
        match self.get(name) {
            Ok(v) => Ok(v),
            Err(_) => self.create(Some(name)),
        }
    }

    /// Every volume, by name.
    pub fn list(&self) -> Result<Vec<Volume>> {
        let mut st = self
            .conn
            .prepare("SELECT name, created, labels FROM volumes ORDER BY name")?;
        let rows = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<rusqlite::Result<Vec<(String, String, String)>>>()?;
        Ok(rows.into_iter().map(|r| self.value(r)).collect())
    }

    /// Remove a volume and its data. `users` are the containers using it: removal is refused
    /// while there are any.
    pub fn remove(&self, name: &str, users: &[String]) -> Result<()> {
        let v = self.get(name)?;
        if !users.is_empty() {
            return Err(RunError::FailedPrecondition(format!(
                "volume {name} is being used by the following container(s): {}: volume is being used",
                users.join(", ")
            )));
        }
        let dir = self.root.join(&v.name);
        match fs::remove_dir_all(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(RunError::io(&dir, e)),
        }
        self.conn
            .execute("DELETE FROM volumes WHERE name = ?1", [name])?;
        berth_image_store::events::emit(berth_image_store::events::Event::volume("remove", name));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_list_remove() {
        let d = tempfile::tempdir().unwrap();
        let v = Volumes::open(d.path()).unwrap();
        let a = v.create(Some("data")).unwrap();
        assert!(a.mountpoint.is_dir());
        assert!(v.create(Some("data")).is_err());
        let anon = v.create(None).unwrap();
        let labels = BTreeMap::from([("k".to_string(), "v".to_string())]);
        v.create_labelled(Some("tagged"), &labels).unwrap();
        assert_eq!(v.get("tagged").unwrap().labels, labels);
        v.remove("tagged", &[]).unwrap();
        assert_eq!(anon.name.len(), 64);
        assert_eq!(v.get_or_create("data").unwrap().mountpoint, a.mountpoint);
        assert_eq!(v.list().unwrap().len(), 2);
        let err = v.remove("data", &["web".to_string()]).unwrap_err();
        assert!(err.to_string().contains("web"), "{err}");
        v.remove("data", &[]).unwrap();
        assert!(!a.mountpoint.exists());
        assert!(v.get("data").is_err());
    }
}
