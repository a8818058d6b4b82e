//! `--squash` and `--squash-all`: the layers to merge (the target stage's own, or all) are
//! applied in order onto a snapshot of what is kept (the stage's FROM image, or nothing);
//! a whiteout deletes in the mounted overlay, which records it, so the snapshot's upper dir
//! is exactly the merged change and becomes the one new layer. The merged steps' history
//! entries stay, marked empty, and one entry for the squashed layer follows them.

use berth_layers::ApplyOptions;

use berth_image_store::Store;

use super::{mount_all, Builder, SnapGuard, Squash};
use crate::error::{BuildError, Result};
use crate::image::ImageState;

impl Builder<'_> {
    pub(super) fn squash(&mut self, img: &mut ImageState, how: Squash) -> Result<()> {
        let created_by = match how {
            Squash::No => return Ok(()),
            Squash::New => "/bin/sh -c #(nop) berth build --squash",
            Squash::All => "/bin/sh -c #(nop) berth build --squash-all",
        };
        squash(self.store, img, how, created_by)
    }
}

/// Merge `img`'s layers as `how` says into one new layer with history entry `created_by`
/// (the build's `--squash`/`--squash-all`, `berth buildah commit --squash`).
pub(crate) fn squash(
    store: &Store,
    img: &mut ImageState,
    how: Squash,
    created_by: &str,
) -> Result<()> {
    let (keep, first_history, base) = match how {
        Squash::No => return Ok(()),
        Squash::New => (img.from.layers, img.from.history, img.from.base.clone()),
        Squash::All => (0, 0, None),
    };
    let merged = img.layers.get(keep..).unwrap_or_default().to_vec();
    if merged.len() < 2 {
        // Zero or one layer to merge: the image already is its squashed self.
        return Ok(());
    }
    img.truncate_layers(keep, first_history, base);
    let key = super::snapshot_key()?;
    let snap = store.prepare_snapshot(&key, img.base.as_ref())?;
    let guard = SnapGuard { store, snap };
    {
        let _mounts = mount_all(&guard.snap)?;
        for layer in &merged {
            let blob = store.content().open(layer.digest())?;
            berth_layers::apply_layer(blob, &guard.snap.mountpoint, &ApplyOptions::default())
                .map_err(|e| BuildError::Invalid(format!("layer {}: {e}", layer.digest())))?;
        }
    }
    img.commit_upper(store, &guard.snap.upper, created_by)?;
    drop(guard);
    Ok(())
}
