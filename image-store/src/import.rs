//! `berth import`: a rootfs tarball (any codec) → a one-layer image.

use std::io::Read;

use berth_layers::LayerOptions;

use crate::error::Result;
use crate::images::ImageRecord;
use crate::store::Store;

/// Options of an import.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// Name for the image (normalized as a local name).
    pub name: Option<String>,
    /// Dockerfile-style changes: `CMD …`, `ENTRYPOINT …`, `ENV k=v`, `EXPOSE …`, `LABEL k=v`,
    /// `USER …`, `VOLUME …`, `WORKDIR …`, `STOPSIGNAL …`, `ONBUILD …`.
    pub changes: Vec<String>,
    /// History comment (`--message`).
    pub message: Option<String>,
    /// How to write the layer.
    pub layer: LayerOptions,
}

/// Import a rootfs tarball as a new image.
pub fn import_rootfs(store: &Store, input: impl Read + Send, options: &ImportOptions) -> Result<ImageRecord> {
    let _ = (store, input, options);
    todo!()
}
