//! A container's volumes: `-v NAME:/path` and `-v /path` resolved to volume directories at
//! create, anonymous volumes removed with the container, and who uses a volume.

use crate::error::Result;
use crate::options::{RunOptions, VolumeSource};
use crate::volumes::{Volume, Volumes};

use super::Engine;

impl Engine<'_> {
    /// Replace `-v NAME:/path` sources by the volumes' directories (creating missing
    /// volumes) and remember the names; `-v /path[:opts]` gets a new anonymous volume.
    pub(crate) fn resolve_volumes(&self, options: &mut RunOptions) -> Result<()> {
        let mut volumes = None;
        for v in options.volumes.iter_mut() {
            let anonymous = match &v.source {
                VolumeSource::Host(_) => continue,
                VolumeSource::Anonymous => true,
                VolumeSource::Named(_) => false,
            };
            if volumes.is_none() {
                volumes = Some(Volumes::open(self.store.root())?);
            }
            let vols = volumes.as_ref().expect("opened above");
            let vol = match &v.source {
                VolumeSource::Named(name) => vols.get_or_create(name)?,
                _ => vols.create(None)?,
            };
            options.named_volumes.push(vol.name.clone());
            if anonymous {
                options.anonymous_volumes.push(vol.name.clone());
            }
            *v = v.with_host_source(vol.mountpoint.clone());
        }
        Ok(())
    }

    /// Remove the anonymous volumes made for a container (`rm -v`, `--rm`); a failure is
    /// logged, not returned: the container is gone either way.
    pub fn remove_anonymous_volumes(&self, options: &RunOptions) {
        if options.anonymous_volumes.is_empty() {
            return;
        }
        let vols = match Volumes::open(self.store.root()) {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(
                    target: "berth_run::engine",
                    error = %e,
                    "opening volumes",
                );
                return;
            }
        };
        for name in &options.anonymous_volumes {
            if let Err(e) = vols.remove(name, &[]) {
                tracing::warn!(
                    target: "berth_run::engine",
                    volume = %name,
                    error = %e,
                    "removing an anonymous volume",
                );
            }
        }
    }

    /// Names of the containers using volume `name`.
    pub fn volume_users(&self, name: &str) -> Result<Vec<String>> {
        Ok(self
            .records
            .list()?
            .into_iter()
            .filter(|c| c.options.named_volumes.iter().any(|n| n == name))
            .map(|c| c.name)
            .collect())
    }

    /// Remove volume `name` and its data (`volume rm`), refused while a container uses it.
    pub fn remove_volume(&self, name: &str) -> Result<()> {
        let users = self.volume_users(name)?;
        Volumes::open(self.store.root())?.remove(name, &users)
    }

    /// Remove every volume no container uses that `only` keeps (`volume prune`); the
    /// volumes removed.
    pub fn prune_volumes(&self, only: &dyn Fn(&Volume) -> bool) -> Result<Vec<Volume>> {
        let volumes = Volumes::open(self.store.root())?;
        let mut removed = Vec::new();
        for v in volumes.list()? {
            if only(&v) && self.volume_users(&v.name)?.is_empty() {
                volumes.remove(&v.name, &[])?;
                removed.push(v);
            }
        }
        Ok(removed)
    }
}
