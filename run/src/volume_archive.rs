//! `volume export` and `volume import`: a named volume's contents as a plain tar stream, out
//! through the layer codec's tree walk (`berth_layers::dir_diff_to_layer` over the whole
//! directory, uncompressed) and in through its in-root apply (`berth_layers::apply_layer`:
//! nothing lands outside the volume, whatever the archive's paths or links say).

use std::io::{Read, Write};

use berth_layers::{apply_layer, dir_diff_to_layer, ApplyOptions, Compression, LayerOptions};

use berth_image_store::StoreError;

use crate::error::Result;
use crate::volumes::Volumes;

impl Volumes {
    /// Write volume `name`'s contents to `out` as a tar stream; returns `out`.
    pub fn export<W: Write + Send + 'static>(&self, name: &str, out: W) -> Result<W> {
        let v = self.get(name)?;
        let options = LayerOptions {
            compression: Compression::None,
            ..LayerOptions::default()
        };
        let (out, _) =
            dir_diff_to_layer(None, &v.mountpoint, out, options).map_err(StoreError::from)?;
        Ok(out)
    }

    /// Unpack the tar stream `input` into volume `name` (over what it holds).
    pub fn import(&self, name: &str, input: impl Read + Send) -> Result<()> {
        let v = self.get(name)?;
        apply_layer(input, &v.mountpoint, &ApplyOptions::default()).map_err(StoreError::from)?;
        Ok(())
    }
}
