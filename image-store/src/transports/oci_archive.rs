//! oci-archive: a tar of an OCI image layout.
//!
//! Save streams each blob straight into its tar member (sizes come from descriptors, nothing
//! is buffered). Load never extracts: [`crate::transports::scan`] streams every
//! `blobs/sha256/<hex>` member into the content store verified against `<hex>`, then
//! [`ScannedLayout`] serves the images `index.json` lists to the one copy routine.

use std::io::Read;

use oci_spec::image::Descriptor;

use crate::copy::{ImageSource, SourceImage, MAX_MANIFEST_SIZE};
use crate::error::{Result, StoreError};
use crate::store::Store;
use crate::transports::oci_layout::{check_layout_header, parse_index};
use crate::transports::scan::Scanned;

/// A scanned oci-archive as an [`ImageSource`]: its blobs are already in the content store.
pub struct ScannedLayout<'a> {
    store: &'a Store,
    images: Vec<SourceImage>,
    what: String,
}

impl<'a> ScannedLayout<'a> {
    /// The images of a scanned archive that has `oci-layout` and `index.json`.
    pub fn new(store: &'a Store, scanned: &Scanned, what: &str) -> Result<Self> {
        if let Some(header) = scanned.small.get("oci-layout") {
            check_layout_header(header, &format!("{what}: oci-layout"))?;
        }
        let index = scanned
            .small
            .get("index.json")
            .ok_or_else(|| StoreError::Invalid(format!("{what}: no index.json")))?;
        let images = parse_index(index, what)?;
        Ok(ScannedLayout {
            store,
            images,
            what: what.to_string(),
        })
    }

    fn missing(&self, desc: &Descriptor) -> StoreError {
        StoreError::NotFound(format!("blob {} (not in {})", desc.digest(), self.what))
    }
}

impl ImageSource for ScannedLayout<'_> {
    fn images(&self) -> Result<Vec<SourceImage>> {
        Ok(self.images.clone())
    }

    fn manifest_bytes(&self, image: &SourceImage) -> Result<Vec<u8>> {
        if !self.store.content().contains(image.manifest.digest()) {
            return Err(self.missing(&image.manifest));
        }
        self.store
            .content()
            .read_small(image.manifest.digest(), MAX_MANIFEST_SIZE)
    }

    fn open_blob(&self, desc: &Descriptor) -> Result<Box<dyn Read + Send + '_>> {
        if !self.store.content().contains(desc.digest()) {
            return Err(self.missing(desc));
        }
        Ok(Box::new(self.store.content().open(desc.digest())?))
    }
}
