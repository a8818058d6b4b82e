//! docker-archive: the `docker save` format.
//!
//! ```text
//! manifest.json   [{"Config":"<config-hex>.json","RepoTags":["name:tag"],"Layers":["<diff-id-hex>.tar",…]}]
//! repositories    legacy {"repo":{"tag":"<hex>"}}
//! <config-hex>.json, <diff-id-hex>.tar (uncompressed layer tars)
//! ```
//!
//! Save decompresses each layer into a temp file under the store root (the tar header needs
//! the size first), then streams it into its member. Load reads a scanned archive: each
//! layer member (uncompressed, gzip or zstd) is checked against the config's `diff_ids`, kept
//! as it is with the matching OCI media type, and an OCI manifest is synthesized; the image
//! then goes through the one copy routine.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use berth_layers::compression::decompress;
use berth_layers::compression::Compression;
use berth_layers::digest::{
    digest_bytes, digest_reader, parse_sha256, HashingWriter, Sha256Counter,
};
use berth_layers::media_type::{is_image_config, read_head, KnownMediaType, Schema};
use berth_layers::Digest;
use oci_spec::image::{Descriptor, MediaType};

use crate::images::oci_manifest;
use serde::{Deserialize, Serialize};

use crate::copy::{
    blob_stream_error, parse_manifest, verifying, ImageDestination, ImageSource, SourceImage,
    MAX_MANIFEST_SIZE,
};
use crate::error::{Result, StoreError};
use crate::names;
use crate::transports::scan::Scanned;
use crate::transports::sink::{LayoutSink, TarSink};

/// One entry of `manifest.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DockerManifestEntry {
    /// Member holding the config.
    pub config: String,
    /// `name:tag` references (may be null).
    #[serde(default)]
    pub repo_tags: Option<Vec<String>>,
    /// Members holding the layers, bottom first.
    pub layers: Vec<String>,
}

/// A docker-archive being written.
pub struct DockerArchiveDestination {
    sink: TarSink,
    spool_dir: PathBuf,
    what: PathBuf,
    /// Blob digest → member name.
    members: HashMap<Digest, String>,
    entries: Vec<DockerManifestEntry>,
    repositories: BTreeMap<String, BTreeMap<String, String>>,
}

impl DockerArchiveDestination {
    /// Write into `file`; layers are decompressed through temp files in `spool_dir`.
    pub fn new(file: File, spool_dir: &Path, what: &Path) -> Self {
        DockerArchiveDestination {
            sink: TarSink::new(file),
            spool_dir: spool_dir.to_path_buf(),
            what: what.to_path_buf(),
            members: HashMap::new(),
            entries: Vec::new(),
            repositories: BTreeMap::new(),
        }
    }

    fn add(&mut self, path: &str, size: u64, reader: &mut (dyn Read + Send)) -> Result<()> {
        self.sink
            .add(path, size, reader)
            .map_err(|e| StoreError::io(self.what.join(path), e))
    }
}

impl ImageDestination for DockerArchiveDestination {
    fn has_blob(&mut self, desc: &Descriptor) -> Result<bool> {
        Ok(self.members.contains_key(desc.digest()))
    }

    fn put_blob(&mut self, desc: &Descriptor, reader: &mut (dyn Read + Send)) -> Result<()> {
        let mut verified = verifying(reader, desc);
        if is_image_config(desc.media_type()) {
            let member = format!("{}.json", desc.digest().digest());
            match self.sink.add(&member, desc.size(), &mut verified) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                    return Err(blob_stream_error(desc, e))
                }
                Err(e) => return Err(StoreError::io(self.what.join(&member), e)),
            }
            self.members.insert(desc.digest().clone(), member);
            return Ok(());
        }
        let spool = tempfile::tempfile_in(&self.spool_dir)
            .map_err(|e| StoreError::io(&self.spool_dir, e))?;
        let (_, mut plain) =
            decompress(BufReader::new(verified)).map_err(|e| blob_stream_error(desc, e))?;
        let mut hashing = HashingWriter::new(spool);
        io::copy(&mut plain, &mut hashing).map_err(|e| blob_stream_error(desc, e))?;
        drop(plain);
        let (mut spool, diff_id, size) = hashing.finish();
        spool
            .seek(SeekFrom::Start(0))
            .map_err(|e| StoreError::io(&self.spool_dir, e))?;
        let member = format!("{}.tar", diff_id.digest());
        if !self.members.values().any(|m| m == &member) {
            self.add(&member, size, &mut spool)?;
        }
        self.members.insert(desc.digest().clone(), member);
        Ok(())
    }

    fn put_manifest(
        &mut self,
        bytes: &[u8],
        _media_type: &MediaType,
        names: &[String],
    ) -> Result<Digest> {
        let digest = digest_bytes(bytes);
        let manifest = parse_manifest(bytes, digest.as_ref())?;
        let member_of = |d: &Descriptor| {
            self.members.get(d.digest()).cloned().ok_or_else(|| {
                StoreError::NotFound(format!(
                    "blob {} (not written to {})",
                    d.digest(),
                    self.what.display()
                ))
            })
        };
        let config = member_of(manifest.config())?;
        let layers = manifest
            .layers()
            .iter()
            .map(member_of)
            .collect::<Result<Vec<_>>>()?;
        for name in names {
            let (repo, tag) = names::split_repo_tag(name);
            let top = layers
                .last()
                .map(|l| l.trim_end_matches(".tar").to_string())
                .unwrap_or_default();
            self.repositories
                .entry(repo.to_string())
                .or_default()
                .insert(tag.to_string(), top);
        }
        self.entries.push(DockerManifestEntry {
            config,
            repo_tags: (!names.is_empty()).then(|| names.to_vec()),
            layers,
        });
        Ok(digest)
    }

    fn finish(&mut self) -> Result<()> {
        let manifest = to_json(&self.entries)?;
        self.add("manifest.json", manifest.len() as u64, &mut &manifest[..])?;
        let repositories = to_json(&self.repositories)?;
        self.add(
            "repositories",
            repositories.len() as u64,
            &mut &repositories[..],
        )?;
        self.sink
            .finish()
            .map_err(|e| StoreError::io(&self.what, e))
    }
}

fn to_json<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(|e| StoreError::Invalid(format!("encoding json: {e}")))
}

#[derive(Deserialize)]
struct ConfigRootFs {
    rootfs: RootFs,
}

#[derive(Deserialize)]
struct RootFs {
    #[serde(default)]
    diff_ids: Vec<String>,
}

/// A scanned docker-archive as an [`ImageSource`]: configs and layers checked, manifests
/// synthesized, blobs served from the scanned members.
pub struct DockerArchiveSource<'a> {
    scanned: &'a Scanned,
    images: Vec<(SourceImage, Vec<u8>)>,
    /// Blob digest → member name.
    blobs: HashMap<Digest, String>,
}

impl<'a> DockerArchiveSource<'a> {
    /// Read `manifest.json` and check every image it lists (config digest, each layer's
    /// diff_id); refuses the whole archive on the first problem, naming the member.
    pub fn new(scanned: &'a Scanned, what: &str) -> Result<Self> {
        let raw = scanned
            .small
            .get("manifest.json")
            .ok_or_else(|| StoreError::Invalid(format!("{what}: no manifest.json")))?;
        let entries: Vec<DockerManifestEntry> = serde_json::from_slice(raw)
            .map_err(|e| StoreError::Invalid(format!("{what}: manifest.json: {e}")))?;
        let mut src = DockerArchiveSource {
            scanned,
            images: Vec::new(),
            blobs: HashMap::new(),
        };
        for entry in &entries {
            let image = src.check_entry(entry, what)?;
            src.images.push(image);
        }
        Ok(src)
    }

    fn check_entry(
        &mut self,
        entry: &DockerManifestEntry,
        what: &str,
    ) -> Result<(SourceImage, Vec<u8>)> {
        let mut config = Vec::new();
        self.scanned
            .open(&entry.config)?
            .take(MAX_MANIFEST_SIZE + 1)
            .read_to_end(&mut config)
            .map_err(|e| StoreError::Invalid(format!("{what}: member {:?}: {e}", entry.config)))?;
        if config.len() as u64 > MAX_MANIFEST_SIZE {
            return Err(StoreError::Invalid(format!(
                "{what}: member {:?}: config larger than {MAX_MANIFEST_SIZE} bytes",
                entry.config
            )));
        }
        let config_digest = digest_bytes(&config);
        if let Some(named) = named_digest(&entry.config) {
            if named != config_digest {
                return Err(StoreError::DigestMismatch {
                    what: format!("{what}: config member {:?}", entry.config),
                    expected: named.to_string(),
                    actual: config_digest.to_string(),
                });
            }
        }
        let rootfs: ConfigRootFs = serde_json::from_slice(&config).map_err(|e| {
            StoreError::Invalid(format!("{what}: config member {:?}: {e}", entry.config))
        })?;
        if rootfs.rootfs.diff_ids.len() != entry.layers.len() {
            return Err(StoreError::Invalid(format!(
                "{what}: config {:?} lists {} diff_ids but manifest.json lists {} layers",
                entry.config,
                rootfs.rootfs.diff_ids.len(),
                entry.layers.len()
            )));
        }
        let mut layers = Vec::new();
        for (member, diff_id) in entry.layers.iter().zip(&rootfs.rootfs.diff_ids) {
            let diff_id = parse_sha256(diff_id).map_err(|e| {
                StoreError::Invalid(format!("{what}: config {:?}: {e}", entry.config))
            })?;
            let desc = self.check_layer(member, &diff_id, what)?;
            self.blobs.insert(desc.digest().clone(), member.clone());
            layers.push(desc);
        }
        let config_desc = Descriptor::new(
            MediaType::ImageConfig,
            config.len() as u64,
            config_digest.clone(),
        );
        self.blobs.insert(config_digest, entry.config.clone());
        let manifest = oci_manifest(config_desc, layers)
            .map_err(|e| StoreError::Invalid(format!("{what}: synthesizing manifest: {e}")))?;
        let bytes = serde_json::to_vec(&manifest)
            .map_err(|e| StoreError::Invalid(format!("{what}: synthesizing manifest: {e}")))?;
        let mut image_names = Vec::new();
        for tag in entry.repo_tags.iter().flatten() {
            image_names.push(names::normalize_docker(tag)?);
        }
        let desc = Descriptor::new(
            MediaType::ImageManifest,
            bytes.len() as u64,
            digest_bytes(&bytes),
        );
        Ok((
            SourceImage {
                manifest: desc,
                names: image_names,
            },
            bytes,
        ))
    }

    /// Hash a layer member raw and decompressed in one read; the decompressed hash must be
    /// `diff_id`. Returns the blob's descriptor (stored as it is).
    fn check_layer(&self, member: &str, diff_id: &Digest, what: &str) -> Result<Descriptor> {
        let member_err =
            |e: io::Error| StoreError::Invalid(format!("{what}: layer member {member:?}: {e}"));
        let mut file = self.scanned.open(member)?;
        let head = read_head(&mut file).map_err(member_err)?;
        let codec = Compression::detect(&head);
        KnownMediaType::layer(Schema::Oci, codec)
            .expect("OCI has a layer type for every codec")
            .check_head(&head)
            .map_err(|e| StoreError::Invalid(format!("{what}: layer member {member:?}: {e}")))?;
        file.seek(SeekFrom::Start(0)).map_err(member_err)?;
        let mut raw = Sha256Counter::new();
        let (codec, actual) = {
            let tee = CountingReader {
                inner: &mut file,
                counter: &mut raw,
            };
            let (codec, plain) = decompress(BufReader::new(tee)).map_err(member_err)?;
            let (actual, _) = digest_reader(plain).map_err(member_err)?;
            (codec, actual)
        };
        // Bytes after the end of a compressed stream still belong to the blob.
        io::copy(&mut file, &mut CountingWriter { counter: &mut raw }).map_err(member_err)?;
        if &actual != diff_id {
            return Err(StoreError::DigestMismatch {
                what: format!("{what}: layer member {member:?} (diff_id)"),
                expected: diff_id.to_string(),
                actual: actual.to_string(),
            });
        }
        let (digest, size) = raw.finish();
        Ok(Descriptor::new(codec.oci_layer_media_type(), size, digest))
    }
}

/// `<hex>.json` or `blobs/sha256/<hex>` names a digest.
fn named_digest(member: &str) -> Option<Digest> {
    let hex = member
        .strip_suffix(".json")
        .or_else(|| member.strip_prefix("blobs/sha256/"))?;
    parse_sha256(&format!("sha256:{hex}")).ok()
}

struct CountingReader<'a> {
    inner: &'a mut File,
    counter: &'a mut Sha256Counter,
}

impl Read for CountingReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.counter.update(&buf[..n]);
        Ok(n)
    }
}

struct CountingWriter<'a> {
    counter: &'a mut Sha256Counter,
}

impl io::Write for CountingWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.counter.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl ImageSource for DockerArchiveSource<'_> {
    fn images(&self) -> Result<Vec<SourceImage>> {
        Ok(self.images.iter().map(|(i, _)| i.clone()).collect())
    }

    fn manifest_bytes(&self, image: &SourceImage) -> Result<Vec<u8>> {
        self.images
            .iter()
            .find(|(i, _)| i.manifest.digest() == image.manifest.digest())
            .map(|(_, b)| b.clone())
            .ok_or_else(|| StoreError::NotFound(format!("manifest {}", image.manifest.digest())))
    }

    fn open_blob(&self, desc: &Descriptor) -> Result<Box<dyn Read + Send + '_>> {
        let member = self
            .blobs
            .get(desc.digest())
            .ok_or_else(|| StoreError::NotFound(format!("blob {}", desc.digest())))?;
        Ok(Box::new(self.scanned.open(member)?))
    }
}
