//! `image tree`: an image's layers, bottom first, each with its uncompressed size and the
//! images whose top layer it is (Podman's `image tree`); with `--whatrequires`, the image's
//! top layer and the layers of every image built on it instead. A layer is named by its chain
//! id (what c/storage names a pulled layer by, and what `overlay/<chain-hex>` holds).

use berth_layers::Digest;

use crate::error::Result;
use crate::images::{image_layers, ImageLayer, ImageRecord};
use crate::store::Store;

/// One layer of the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeLayer {
    pub chain_id: Digest,
    /// Uncompressed bytes.
    pub size: u64,
    /// Names (or short ids) of the images whose top layer this is.
    pub top_of: Vec<String>,
}

/// What `image tree` prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageTree {
    pub image: ImageRecord,
    /// The image's size as `images` counts it, uncompressed.
    pub size: u64,
    pub layers: Vec<TreeLayer>,
}

impl Store {
    /// `image`'s tree; with `what_requires`, its top layer and the layers above it in other
    /// images (by depth, each once).
    pub fn image_tree(&self, image: &ImageRecord, what_requires: bool) -> Result<ImageTree> {
        let mut chains_of = Vec::new();
        for img in self.list_images()? {
            let layers = image_layers(&self.conn(), &img.id)?;
            chains_of.push((img, layers));
        }
        let top_of = |chain: &Digest| -> Vec<String> {
            chains_of
                .iter()
                .filter(|(_, ls)| ls.last().map(|l| &l.chain_id) == Some(chain))
                .flat_map(|(img, _)| {
                    let names = img.name_texts();
                    if names.is_empty() {
                        vec![img.short_id().to_string()]
                    } else {
                        names
                    }
                })
                .collect()
        };
        let own = image_layers(&self.conn(), &image.id)?;
        let mut picked = Vec::new();
        if what_requires {
            if let Some(top) = own.last() {
                picked.push(top.clone());
                let depth = own.len();
                let mut above: Vec<(usize, ImageLayer)> = Vec::new();
                for (_, ls) in &chains_of {
                    if ls.len() > depth && ls[depth - 1].chain_id == top.chain_id {
                        for (i, l) in ls.iter().enumerate().skip(depth) {
                            if !above.iter().any(|(_, a)| a.chain_id == l.chain_id) {
                                above.push((i, l.clone()));
                            }
                        }
                    }
                }
                above.sort_by_key(|(i, _)| *i);
                picked.extend(above.into_iter().map(|(_, l)| l));
            }
        } else {
            picked = own;
        }
        let mut layers = Vec::new();
        for l in picked {
            layers.push(TreeLayer {
                size: self.diff_size(&l.digest, &l.diff_id)?,
                top_of: top_of(&l.chain_id),
                chain_id: l.chain_id,
            });
        }
        Ok(ImageTree {
            size: self.uncompressed_size(image)?,
            image: image.clone(),
            layers,
        })
    }
}
