//! oci-archive: a tar of an OCI image layout.
//!
//! Save streams each blob straight into its tar member (sizes come from descriptors, nothing
//! is buffered). Load never extracts: [`crate::transports::scan`] spools every
//! `blobs/sha256/<hex>` member verified against `<hex>`, then [`ScannedLayout`] serves the
//! images `index.json` lists to the one copy routine, which checks every descriptor before a
//! blob enters the store.

use std::io::Read;

use oci_spec::image::Descriptor;

use crate::copy::{ImageSource, SourceImage, MAX_MANIFEST_SIZE};
use crate::error::{Result, StoreError};
use crate::transports::oci_layout::{check_layout_header, parse_index};
use crate::transports::scan::Scanned;

/// A scanned oci-archive as an [`ImageSource`]: its blobs are in the scan's spool.
pub struct ScannedLayout<'a> {
    scanned: &'a Scanned,
    images: Vec<SourceImage>,
    what: String,
}

impl<'a> ScannedLayout<'a> {
    /// The images of a scanned archive that has `oci-layout` and `index.json`.
    pub fn new(scanned: &'a Scanned, what: &str) -> Result<Self> {
        if let Some(header) = scanned.small.get("oci-layout") {
            check_layout_header(header, &format!("{what}: oci-layout"))?;
        }
        let index = scanned
            .small
            .get("index.json")
            .ok_or_else(|| StoreError::Invalid(format!("{what}: no index.json")))?;
        let images = parse_index(index, what)?;
        Ok(ScannedLayout {
            scanned,
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
        let mut bytes = Vec::new();
        self.open_blob(&image.manifest)?
            .take(MAX_MANIFEST_SIZE + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| {
                StoreError::Invalid(format!("manifest {}: {e}", image.manifest.digest()))
            })?;
        if bytes.len() as u64 > MAX_MANIFEST_SIZE {
            return Err(StoreError::Invalid(format!(
                "manifest {}: larger than {MAX_MANIFEST_SIZE} bytes",
                image.manifest.digest()
            )));
        }
        Ok(bytes)
    }

    fn open_blob(&self, desc: &Descriptor) -> Result<Box<dyn Read + Send + '_>> {
        let name = format!(
            "blobs/{}/{}",
            desc.digest().algorithm(),
            desc.digest().digest()
        );
        match self.scanned.open(&name) {
            Ok(file) => Ok(Box::new(file)),
            Err(StoreError::NotFound(_)) => Err(self.missing(desc)),
            Err(e) => Err(e),
        }
    }
}
