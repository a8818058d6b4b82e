//! One copy routine for every transport: an [`ImageSource`] is read, an
//! [`ImageDestination`] is written, blobs stream through digest verification.
//!
//! The store, OCI layouts, oci-archive and docker-archive implement these traits (the last
//! three in the `transports` module, which builds on this one); the registry crate adds
//! `docker://` later, so pull, push, save, load and copy all run through [`copy_image`].
//!
//! Order: the config, then each layer (skipping blobs the destination already has), then the
//! manifest last, so a destination never records an image whose blobs are missing.
//!
//! Every descriptor is checked against its content before the destination keeps anything
//! (issue 19): the manifest by [`check_manifest_document`] (and, for the store, berth-layers'
//! `check_image`: an image config and known layer types); each blob's first bytes against its
//! media type (`media_type::check_head`: JSON for a config, the codec's magic for a layer)
//! as it is handed to the destination, which verifies digest and size while it writes (a
//! lying digest is reported first, then a misfit type);
//! a blob the store already holds is checked the same way from the stored copy
//! ([`check_present_blob`]).

use std::io::{Cursor, Read};

use berth_layers::digest::{digest_bytes, VerifyingReader};
use berth_layers::document::{check_document, check_image, Declared};
use berth_layers::media_type::{check_head, is_image_manifest, read_head};
use berth_layers::Digest;
use oci_spec::image::{Descriptor, ImageManifest, MediaType};

use crate::content::{IngestWriter, Staged};
use crate::error::{Result, StoreError};
use crate::images::{config_fits, ImageRecord, CONFIG_LIMIT};
use crate::lock::StoreLock;
use crate::store::Store;

/// Largest manifest or config accepted into memory.
pub const MAX_MANIFEST_SIZE: u64 = 8 * 1024 * 1024;

/// One image a source holds: its manifest descriptor and the names it carries.
#[derive(Debug, Clone)]
pub struct SourceImage {
    /// Digest, size and media type of the manifest.
    pub manifest: Descriptor,
    /// Fully qualified names for the image (may be empty).
    pub names: Vec<String>,
}

/// Something images can be read from.
pub trait ImageSource {
    /// The images this source holds, with their names.
    fn images(&self) -> Result<Vec<SourceImage>>;

    /// The raw bytes of a manifest (verified against its digest by [`copy_image`]).
    fn manifest_bytes(&self, image: &SourceImage) -> Result<Vec<u8>>;

    /// Open a blob (config or layer) for streaming; the destination verifies it.
    fn open_blob(&self, desc: &Descriptor) -> Result<Box<dyn Read + Send + '_>>;
}

/// Something images can be written to.
pub trait ImageDestination {
    /// Whether the destination already holds this blob (the copy skips it).
    fn has_blob(&mut self, desc: &Descriptor) -> Result<bool>;

    /// Write a blob, verifying digest and size while it streams; nothing is kept on mismatch.
    fn put_blob(&mut self, desc: &Descriptor, reader: &mut (dyn Read + Send)) -> Result<()>;

    /// Write the manifest (after its blobs) and record `names` for it. Returns the manifest
    /// digest.
    fn put_manifest(
        &mut self,
        bytes: &[u8],
        media_type: &MediaType,
        names: &[String],
    ) -> Result<Digest>;

    /// Complete the destination (write indexes, close archives).
    fn finish(&mut self) -> Result<()>;

    /// Refuse a manifest (already checked by [`check_manifest_document`]) this destination
    /// cannot keep, before any of its blobs is written. Layouts and archives keep any
    /// manifest; the store only images ([`check_image`]).
    fn check_manifest(&self, _bytes: &[u8], _what: &str) -> Result<()> {
        Ok(())
    }
}

/// Check a manifest's bytes with [`check_document`] against the media type of the
/// descriptor that named it (CVE-2021-41190: the types agree, no field of another kind,
/// every descriptor digest supported); `what` names it in the error.
pub fn check_manifest_document(bytes: &[u8], desc: &Descriptor, what: &str) -> Result<()> {
    let declared = Declared::descriptor(desc.media_type().as_ref());
    check_document(bytes, declared.as_slice())
        .map(drop)
        .map_err(|e| StoreError::Invalid(format!("manifest {what}: {e}")))
}

/// Refuse a config descriptor claiming more than [`CONFIG_LIMIT`] bytes before the config is
/// fetched: the store reads a config whole and would refuse it only after the download.
pub fn check_config_size(desc: &Descriptor) -> Result<()> {
    if desc.size() > CONFIG_LIMIT {
        return Err(StoreError::Invalid(format!(
            "config {}: the descriptor claims {} bytes, over the {CONFIG_LIMIT} byte limit for a config",
            desc.digest(),
            desc.size()
        )));
    }
    Ok(())
}

/// Parse a manifest, naming `what` in the error.
pub fn parse_manifest(bytes: &[u8], what: &str) -> Result<ImageManifest> {
    ImageManifest::from_reader(bytes)
        .map_err(|e| StoreError::Invalid(format!("manifest {what}: {e}")))
}

/// Copy one image from `src` to `dst`: the manifest is verified against its descriptor
/// (digest, [`check_manifest_document`], config size), then config and layers (skipping
/// present blobs), then the manifest with the image's names. Returns the manifest digest.
pub fn copy_image(
    src: &dyn ImageSource,
    image: &SourceImage,
    dst: &mut dyn ImageDestination,
) -> Result<Digest> {
    let manifest_desc = &image.manifest;
    if !is_image_manifest(manifest_desc.media_type()) {
        return Err(StoreError::Invalid(format!(
            "manifest {}: unsupported media type {}",
            manifest_desc.digest(),
            manifest_desc.media_type()
        )));
    }
    let bytes = src.manifest_bytes(image)?;
    let actual = digest_bytes(&bytes);
    if &actual != manifest_desc.digest() {
        return Err(StoreError::DigestMismatch {
            what: format!("manifest {}", manifest_desc.digest()),
            expected: manifest_desc.digest().to_string(),
            actual: actual.to_string(),
        });
    }
    check_manifest_document(&bytes, manifest_desc, actual.as_ref())?;
    let manifest = parse_manifest(&bytes, actual.as_ref())?;
    check_config_size(manifest.config())?;
    dst.check_manifest(&bytes, actual.as_ref())?;
    let blobs = std::iter::once(manifest.config()).chain(manifest.layers().iter());
    for desc in blobs {
        if dst.has_blob(desc)? {
            continue;
        }
        let mut reader = src.open_blob(desc)?;
        let head = read_head(&mut *reader).map_err(|e| blob_stream_error(desc, e))?;
        // A digest or size that lies is the first thing to say; a blob that is what its digest
        // says but not what its media type says is refused after that (destinations keep
        // nothing of a copy that fails: the store commits blobs with their manifest).
        let misfit = check_head_of(desc, &head).err();
        let mut whole = Cursor::new(head).chain(reader);
        dst.put_blob(desc, &mut whole)?;
        if let Some(e) = misfit {
            return Err(e);
        }
    }
    dst.put_manifest(&bytes, manifest_desc.media_type(), &image.names)
}

/// Refuse a blob whose first bytes do not fit its descriptor's media type, naming it.
fn check_head_of(desc: &Descriptor, head: &[u8]) -> Result<()> {
    check_head(desc.media_type().as_ref(), head)
        .map_err(|e| StoreError::Invalid(format!("blob {}: {e}", desc.digest())))
}

/// Whether the store already holds `desc`'s blob, checked as if it were copied now: a stored
/// blob of another size, or whose bytes do not fit the descriptor's media type, is refused
/// (a lying descriptor must not pass because an honest one brought the blob earlier).
pub fn check_present_blob(store: &Store, desc: &Descriptor) -> Result<bool> {
    let content = store.content();
    if !content.contains(desc.digest()) {
        return Ok(false);
    }
    let size = content.size(desc.digest())?;
    if size != desc.size() {
        return Err(StoreError::DigestMismatch {
            what: format!("blob {}", desc.digest()),
            expected: format!("{} bytes (the descriptor's size)", desc.size()),
            actual: format!("{size} bytes (stored)"),
        });
    }
    let mut file = content.open(desc.digest())?;
    let head =
        read_head(&mut file).map_err(|e| StoreError::io(content.blob_path(desc.digest()), e))?;
    check_head_of(desc, &head)?;
    Ok(true)
}

/// Copy every image of `src` to `dst`, then finish `dst`. Returns the manifest digests.
pub fn copy_all(src: &dyn ImageSource, dst: &mut dyn ImageDestination) -> Result<Vec<Digest>> {
    let mut out = Vec::new();
    for image in src.images()? {
        out.push(copy_image(src, &image, dst)?);
    }
    dst.finish()?;
    Ok(out)
}

/// Map an I/O error from a verifying stream to a store error naming the blob: a digest or
/// size mismatch, else a failed read of the source, whose error is kept (a registry's cut
/// connection stays one for whoever retries).
pub(crate) fn blob_stream_error(desc: &Descriptor, e: std::io::Error) -> StoreError {
    if e.kind() == std::io::ErrorKind::InvalidData {
        StoreError::DigestMismatch {
            what: format!("blob {}", desc.digest()),
            expected: format!("{} ({} bytes)", desc.digest(), desc.size()),
            actual: e.to_string(),
        }
    } else {
        StoreError::Source {
            what: format!("blob {}", desc.digest()),
            source: e,
        }
    }
}

/// Wrap a reader so it fails unless it yields exactly `desc`'s bytes.
pub fn verifying<R: Read>(reader: R, desc: &Descriptor) -> VerifyingReader<R> {
    VerifyingReader::new(reader, desc.digest().clone(), Some(desc.size()))
}

/// Images in the store as a source (for save and push).
pub struct StoreSource<'a> {
    store: &'a Store,
    images: Vec<SourceImage>,
}

impl<'a> StoreSource<'a> {
    /// A source offering `images` (each with the names to write for it).
    pub fn new(store: &'a Store, images: &[(ImageRecord, Vec<String>)]) -> Result<Self> {
        let mut list = Vec::new();
        for (record, names) in images {
            let size = store.content().size(&record.manifest_digest)?;
            let desc = Descriptor::new(
                MediaType::from(record.manifest_media_type.as_str()),
                size,
                record.manifest_digest.clone(),
            );
            list.push(SourceImage {
                manifest: desc,
                names: names.clone(),
            });
        }
        Ok(StoreSource {
            store,
            images: list,
        })
    }
}

impl ImageSource for StoreSource<'_> {
    fn images(&self) -> Result<Vec<SourceImage>> {
        Ok(self.images.clone())
    }

    fn manifest_bytes(&self, image: &SourceImage) -> Result<Vec<u8>> {
        self.store
            .content()
            .read_small(image.manifest.digest(), MAX_MANIFEST_SIZE)
    }

    fn open_blob(&self, desc: &Descriptor) -> Result<Box<dyn Read + Send + '_>> {
        Ok(Box::new(self.store.content().open(desc.digest())?))
    }
}

/// The store as a destination (for load and pull): blobs through `put_verified`; images are
/// recorded with `add_image` only in [`ImageDestination::finish`], so a copy that fails part
/// way records nothing. Holds the store lock shared while it lives, so gc cannot collect the
/// blobs before the images that use them are recorded.
pub struct StoreDestination<'a> {
    store: &'a Store,
    _lock: StoreLock,
    /// Blobs verified in `ingest/`, committed when their manifest is put (a copy refused
    /// part way leaves none).
    staged: Vec<(Digest, IngestWriter)>,
    pending: Vec<(Digest, Vec<String>)>,
    /// Images recorded by `finish`, in order.
    pub records: Vec<ImageRecord>,
}

impl<'a> StoreDestination<'a> {
    /// A destination writing into `store` (takes the store lock shared).
    pub fn new(store: &'a Store) -> Result<Self> {
        Ok(StoreDestination {
            store,
            _lock: store.lock_shared()?,
            staged: Vec::new(),
            pending: Vec::new(),
            records: Vec::new(),
        })
    }
}

impl ImageDestination for StoreDestination<'_> {
    fn has_blob(&mut self, desc: &Descriptor) -> Result<bool> {
        check_present_blob(self.store, desc)
    }

    fn put_blob(&mut self, desc: &Descriptor, reader: &mut (dyn Read + Send)) -> Result<()> {
        let staged =
            self.store
                .content()
                .stage_verified(reader, desc.digest(), Some(desc.size()))?;
        if let Staged::Verified(w) = staged {
            self.staged.push((desc.digest().clone(), w));
        }
        Ok(())
    }

    fn check_manifest(&self, bytes: &[u8], what: &str) -> Result<()> {
        check_image(bytes).map_err(|e| StoreError::Invalid(format!("manifest {what}: {e}")))
    }

    fn put_manifest(
        &mut self,
        bytes: &[u8],
        _media_type: &MediaType,
        names: &[String],
    ) -> Result<Digest> {
        // The config fits the manifest (what `add_image` requires in `finish`), checked while
        // the blobs are still in `ingest/`: a refused load adds no blob.
        let digest = digest_bytes(bytes);
        let manifest = parse_manifest(bytes, digest.as_ref())?;
        let config_digest = manifest.config().digest();
        let cbytes = match self.staged.iter_mut().find(|(d, _)| d == config_digest) {
            Some((_, w)) => w.read_back(CONFIG_LIMIT)?,
            None => self
                .store
                .content()
                .read_small(config_digest, CONFIG_LIMIT)?,
        };
        config_fits(&digest, &manifest, &cbytes)?;
        // Every blob of the image passed: they become visible now, the manifest last.
        for (blob, w) in std::mem::take(&mut self.staged) {
            w.commit_digest(&blob)?;
        }
        self.store
            .content()
            .put_verified(bytes, &digest, Some(bytes.len() as u64))?;
        self.pending.push((digest.clone(), names.to_vec()));
        Ok(digest)
    }

    fn finish(&mut self) -> Result<()> {
        for (digest, names) in std::mem::take(&mut self.pending) {
            let record = self.store.add_image(&digest, &names)?;
            self.records.push(record);
        }
        Ok(())
    }
}
