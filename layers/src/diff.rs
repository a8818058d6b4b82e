//! Diff: a directory's changes → a layer.
//!
//! - [`overlay_upper_to_layer`]: an overlay upper dir, where a 0/0 character device is a
//!   whiteout (→ `.wh.<name>`) and a directory with `trusted.overlay.opaque=y` or
//!   `user.overlay.opaque=y` is opaque (→ `.wh..wh..opq` inside it).
//! - [`dir_diff_to_layer`]: the fallback, comparing two plain directories (or one whole tree
//!   when `lower` is `None`).

use std::io::Write;
use std::path::Path;

use crate::error::Result;
use crate::writer::{LayerDescriptor, LayerOptions};

/// Turn an overlay upper dir into a layer written to `sink`.
pub fn overlay_upper_to_layer<W: Write + Send + 'static>(
    upper: &Path,
    sink: W,
    options: LayerOptions,
) -> Result<(W, LayerDescriptor)> {
    let _ = (upper, sink, options);
    todo!()
}

/// Turn the difference from `lower` to `upper` into a layer written to `sink`: added and
/// changed entries of `upper`, and a whiteout for every entry of `lower` missing from `upper`.
/// With `lower = None`, the whole of `upper` becomes the layer.
pub fn dir_diff_to_layer<W: Write + Send + 'static>(
    lower: Option<&Path>,
    upper: &Path,
    sink: W,
    options: LayerOptions,
) -> Result<(W, LayerDescriptor)> {
    let _ = (lower, upper, sink, options);
    todo!()
}
