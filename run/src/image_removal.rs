//! Removing an image together with the containers made from it (`rmi -f`, as Podman): the
//! store alone would delete the containers' snapshots under them, leaving a running container
//! on a deleted image.

use std::time::Duration;

use berth_image_store::images::RemoveOutcome;
use berth_layers::Digest;

use crate::container::Container;
use crate::engine::Engine;
use crate::error::Result;

impl Engine<'_> {
    /// The containers made from image `image_id` (`sha256:…`).
    pub fn image_users(&self, image_id: &Digest) -> Result<Vec<Container>> {
        Ok(self
            .list()?
            .into_iter()
            .filter(|c| c.image_id.as_ref() == Some(image_id))
            .collect())
    }

    /// Remove image `name_or_id` as `rmi` does. With `force`, when the image itself goes (not
    /// only one of its several names), the containers made from it go first: running ones are
    /// stopped (the stop signal, then SIGKILL after `stop_timeout`). Without `force` the
    /// store refuses an image a container uses. Returns what happened to the image and the
    /// containers removed.
    pub fn remove_image(
        &self,
        name_or_id: &str,
        force: bool,
        stop_timeout: Duration,
    ) -> Result<(RemoveOutcome, Vec<Container>)> {
        let mut removed = Vec::new();
        if force {
            if let Some(image) = self.store().image_to_delete(name_or_id)? {
                for c in self.image_users(&image.id)? {
                    // A `--rm` container's monitor removes it as it stops.
                    if let Some(stopped) = self.stop(&c, stop_timeout)? {
                        self.remove(&stopped, true)?;
                    }
                    removed.push(c);
                }
            }
        }
        let outcome = self.store().remove_image(name_or_id, force)?;
        Ok((outcome, removed))
    }
}
