//! `docker://` as a source and a destination of the store's one copy routine.
//!
//! [`RegistrySource`] is built only from a [`VerifiedImage`]: the trust gate runs before any
//! blob can be read through it. [`RegistryDestination`] HEADs each blob (skip when present),
//! uploads the rest streaming, then puts the manifest by digest and then by tag.

use std::collections::HashSet;
use std::io::Read;
use std::sync::Arc;

use berth_image_store::copy::{ImageDestination, ImageSource, SourceImage};
use berth_image_store::StoreError;
use berth_layers::digest::digest_bytes;
use berth_layers::Digest;
use berth_trust::VerifiedImage;
use oci_spec::image::{Descriptor, MediaType};

use crate::client::Client;
use crate::error::RegistryError;
use crate::reference::Reference;

/// Progress lines (`Copying blob …`); the CLI prints them unless `--quiet`.
pub type Progress<'a> = &'a (dyn Fn(&str) + Sync);

/// A registry error as the copy routine's error: carried whole
/// ([`StoreError::Transport`]), so that `RegistryError::from` gives it back with its kind.
pub fn to_store(e: RegistryError) -> StoreError {
    match e {
        RegistryError::Store(s) => s,
        other => StoreError::transport(other),
    }
}

/// A verified image at a registry, readable by the copy routine.
pub struct RegistrySource {
    client: Arc<Client>,
    repository: String,
    image: VerifiedImage,
    names: Vec<String>,
}

impl RegistrySource {
    /// A source for `image`, fetched from `repository` through `client`, recorded as `names`.
    pub fn new(
        client: Arc<Client>,
        repository: &str,
        image: VerifiedImage,
        names: Vec<String>,
    ) -> RegistrySource {
        RegistrySource {
            client,
            repository: repository.to_string(),
            image,
            names,
        }
    }
}

impl ImageSource for RegistrySource {
    fn images(&self) -> berth_image_store::Result<Vec<SourceImage>> {
        Ok(vec![SourceImage {
            manifest: Descriptor::new(
                MediaType::from(self.image.media_type()),
                self.image.manifest().len() as u64,
                self.image.digest().clone(),
            ),
            names: self.names.clone(),
        }])
    }

    fn manifest_bytes(&self, _image: &SourceImage) -> berth_image_store::Result<Vec<u8>> {
        Ok(self.image.manifest().to_vec())
    }

    fn open_blob(&self, desc: &Descriptor) -> berth_image_store::Result<Box<dyn Read + Send + '_>> {
        self.client
            .blob_reader(&self.repository, desc.digest())
            .map_err(to_store)
    }
}

/// A registry repository as a copy destination.
pub struct RegistryDestination<'p> {
    client: Arc<Client>,
    reference: Reference,
    progress: Progress<'p>,
    present: HashSet<Digest>,
    /// Digest of the manifest written last.
    pub manifest_digest: Option<Digest>,
}

impl<'p> RegistryDestination<'p> {
    /// A destination writing `reference` (its tag, if any, is set after the digest).
    pub fn new(client: Arc<Client>, reference: Reference, progress: Progress<'p>) -> Self {
        RegistryDestination {
            client,
            reference,
            progress,
            present: HashSet::new(),
            manifest_digest: None,
        }
    }

    /// Blobs known to be in the repository already (uploaded by the caller): not asked for.
    pub fn with_present(mut self, present: HashSet<Digest>) -> Self {
        self.present = present;
        self
    }
}

/// What a progress line calls a blob: `config` for an image config, else `blob`, as Podman.
pub(crate) fn blob_kind(desc: &Descriptor) -> &'static str {
    if berth_layers::media_type::is_image_config(desc.media_type()) {
        "config"
    } else {
        "blob"
    }
}

impl ImageDestination for RegistryDestination<'_> {
    fn has_blob(&mut self, desc: &Descriptor) -> berth_image_store::Result<bool> {
        if self.present.contains(desc.digest()) {
            return Ok(true);
        }
        let present = self
            .client
            .has_blob(self.reference.repository(), desc.digest(), true)
            .map_err(to_store)?;
        if present {
            (self.progress)(&format!(
                "Copying {} {} skipped: already exists",
                blob_kind(desc),
                desc.digest()
            ));
        }
        Ok(present)
    }

    fn put_blob(
        &mut self,
        desc: &Descriptor,
        reader: &mut (dyn Read + Send),
    ) -> berth_image_store::Result<()> {
        (self.progress)(&format!("Copying {} {}", blob_kind(desc), desc.digest()));
        self.client
            .upload_blob(
                self.reference.repository(),
                desc.digest(),
                desc.size(),
                reader,
            )
            .map_err(to_store)
    }

    fn put_manifest(
        &mut self,
        bytes: &[u8],
        media_type: &MediaType,
        _names: &[String],
    ) -> berth_image_store::Result<Digest> {
        (self.progress)("Writing manifest to image destination");
        let digest = digest_bytes(bytes);
        let repo = self.reference.repository();
        let mt = media_type.to_string();
        self.client
            .put_manifest(repo, digest.as_ref(), bytes, &mt)
            .map_err(to_store)?;
        if let Some(tag) = self.reference.tag() {
            self.client
                .put_manifest(repo, tag, bytes, &mt)
                .map_err(to_store)?;
        }
        self.manifest_digest = Some(digest.clone());
        Ok(digest)
    }

    fn finish(&mut self) -> berth_image_store::Result<()> {
        Ok(())
    }
}
