//! `berth system check`: prove the store consistent, or list the damage.

use crate::error::Result;
use crate::store::Store;

/// One problem found by [`Store::check`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// What is damaged: `blob sha256:…`, `image <id>`, `layer <chain id>`, `name …`.
    pub what: String,
    /// Why, in one line.
    pub reason: String,
}

/// The result of a check.
#[derive(Debug, Clone, Default)]
pub struct CheckReport {
    /// Everything found damaged.
    pub problems: Vec<Problem>,
    /// What `--repair` removed.
    pub repaired: Vec<String>,
    /// Blobs, images and layers examined.
    pub blobs_checked: u64,
    pub images_checked: u64,
    pub layers_checked: u64,
}

impl Store {
    /// Verify every blob's digest, every unpacked layer's completeness, every image's
    /// manifest, config and layers, every name. With `repair`, remove what is damaged (images
    /// whose content is missing or corrupt, corrupt blobs, incomplete layers).
    pub fn check(&self, repair: bool) -> Result<CheckReport> {
        let _ = repair;
        todo!()
    }
}
