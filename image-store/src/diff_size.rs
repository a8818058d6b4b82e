//! Uncompressed layer sizes, which `images` and `history` show as Podman does (containers/
//! storage records each layer's uncompressed size when it applies it). The size belongs to the
//! layer's diff_id (the hash of the same uncompressed stream), so the table `diff_sizes` keys
//! it by diff_id: written when a layer is unpacked (the unpacker counts the bytes it reads),
//! else found the first time it is asked for by decompressing the blob once.

use std::io::BufReader;

use berth_layers::compression::decompress;
use berth_layers::Digest;
use rusqlite::{params, OptionalExtension};

use crate::error::{Result, StoreError};
use crate::images::{image_layers, ImageRecord};
use crate::store::Store;

impl Store {
    /// Each layer's uncompressed size, bottom layer first.
    pub fn layer_uncompressed_sizes(&self, image: &ImageRecord) -> Result<Vec<u64>> {
        let layers = image_layers(&self.conn(), &image.id)?;
        layers
            .iter()
            .map(|l| self.diff_size(&l.digest, &l.diff_id))
            .collect()
    }

    /// Each layer's chain id and uncompressed size, bottom layer first (what `system df`
    /// counts as shared between images).
    pub fn layer_sizes_by_chain(&self, image: &ImageRecord) -> Result<Vec<(Digest, u64)>> {
        let layers = image_layers(&self.conn(), &image.id)?;
        layers
            .iter()
            .map(|l| Ok((l.chain_id.clone(), self.diff_size(&l.digest, &l.diff_id)?)))
            .collect()
    }

    /// The image's size as Podman shows it: its layers uncompressed, plus its manifest and
    /// config (`ImageRecord::size` counts the layers as stored, compressed).
    pub fn uncompressed_size(&self, image: &ImageRecord) -> Result<u64> {
        let layers = image_layers(&self.conn(), &image.id)?;
        let stored: u64 = layers.iter().map(|l| l.size).sum();
        let mut total = image.size.saturating_sub(stored);
        for l in &layers {
            total += self.diff_size(&l.digest, &l.diff_id)?;
        }
        Ok(total)
    }

    /// Every layer of every image, each counted once (by diff_id), uncompressed: what the
    /// images take on disk together (`system df`'s `LayersSize`).
    pub fn layers_size(&self) -> Result<u64> {
        let mut seen = std::collections::HashSet::new();
        let mut total = 0;
        for image in self.list_images()? {
            // Bound first: the connection is locked only while the rows are read.
            let layers = image_layers(&self.conn(), &image.id)?;
            for l in layers {
                if seen.insert(l.diff_id.clone()) {
                    total += self.diff_size(&l.digest, &l.diff_id)?;
                }
            }
        }
        Ok(total)
    }

    /// Note that the layer `diff_id` is `size` bytes uncompressed.
    pub(crate) fn record_diff_size(&self, diff_id: &Digest, size: u64) -> Result<()> {
        self.conn().execute(
            "INSERT OR IGNORE INTO diff_sizes (diff_id, size) VALUES (?1, ?2)",
            params![diff_id.to_string(), size as i64],
        )?;
        Ok(())
    }

    pub(crate) fn diff_size(&self, blob: &Digest, diff_id: &Digest) -> Result<u64> {
        let known: Option<i64> = self
            .conn()
            .query_row(
                "SELECT size FROM diff_sizes WHERE diff_id = ?1",
                [diff_id.to_string()],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(size) = known {
            return Ok(size as u64);
        }
        let file = self.content().open(blob)?;
        let unreadable = |e: std::io::Error| StoreError::Invalid(format!("layer {blob}: {e}"));
        let (_, mut stream) =
            decompress(BufReader::with_capacity(256 * 1024, file)).map_err(unreadable)?;
        let size = std::io::copy(&mut stream, &mut std::io::sink()).map_err(unreadable)?;
        self.record_diff_size(diff_id, size)?;
        Ok(size)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use berth_layers::compression::{compressor, Compression};
    use berth_layers::digest::digest_bytes;

    use crate::store::Store;
    use crate::testutil::{layer_tar, ImageBuilder};

    #[test]
    fn a_compressed_layer_counts_its_uncompressed_bytes_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let tar = layer_tar(&[("big", Some(&[0u8; 100_000][..]))]);
        let mut gz = compressor(Vec::new(), Compression::Gzip, None).unwrap();
        gz.write_all(&tar).unwrap();
        let blob = gz.finish().unwrap();
        assert!(blob.len() < tar.len() / 10);
        let mut builder = ImageBuilder::new("gz", vec![blob.clone()]);
        builder.diff_ids = Some(vec![digest_bytes(&tar)]);
        let image = builder.add(&store, &["gz"]).unwrap();
        let sizes = store.layer_uncompressed_sizes(&image).unwrap();
        assert_eq!(sizes, vec![tar.len() as u64]);
        let others = image.size - blob.len() as u64;
        assert_eq!(
            store.uncompressed_size(&image).unwrap(),
            tar.len() as u64 + others
        );
        // A second image on the same layer: the layer counts once.
        let mut other = ImageBuilder::new("gz2", vec![blob.clone()]);
        other.diff_ids = Some(vec![digest_bytes(&tar)]);
        other.add(&store, &["gz2"]).unwrap();
        assert_eq!(store.list_images().unwrap().len(), 2);
        assert_eq!(store.layers_size().unwrap(), tar.len() as u64);
        // Recorded: found again without the blob.
        std::fs::remove_file(store.content().blob_path(&image_layer(&store, &image))).unwrap();
        assert_eq!(store.layer_uncompressed_sizes(&image).unwrap(), sizes);
    }

    fn image_layer(store: &Store, image: &crate::images::ImageRecord) -> berth_layers::Digest {
        crate::images::image_layers(&store.conn(), &image.id).unwrap()[0]
            .digest
            .clone()
    }
}
