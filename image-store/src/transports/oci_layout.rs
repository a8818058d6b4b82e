//! OCI image layouts: `oci-layout`, `index.json`, `blobs/sha256/<hex>`.
//!
//! [`LayoutDestination`] writes a layout through a [`LayoutSink`]: a directory
//! ([`DirSink`](super::sink::DirSink), `oci-dir`) or a tar stream
//! ([`TarSink`](super::sink::TarSink), `oci-archive`). [`LayoutSource`] reads a layout
//! directory. [`parse_index`] turns an `index.json` into the images it lists, named from
//! `org.opencontainers.image.ref.name`.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use berth_layers::digest::digest_bytes;
use berth_layers::document::{check_document, DocumentKind};
use berth_layers::media_type::is_image_manifest;
use berth_layers::Digest;
use oci_spec::image::{Descriptor, ImageIndex, ImageIndexBuilder, MediaType};

use crate::copy::{
    blob_stream_error, verifying, ImageDestination, ImageSource, SourceImage, MAX_MANIFEST_SIZE,
};
use crate::error::{Result, StoreError};
use crate::names;
use crate::transports::sink::LayoutSink;

/// The annotation naming an image in an index.
pub const REF_NAME: &str = "org.opencontainers.image.ref.name";
/// containerd's (and Docker 25's) full-name annotation.
const CONTAINERD_NAME: &str = "io.containerd.image.name";
/// Contents of the `oci-layout` file.
pub const OCI_LAYOUT_JSON: &[u8] = br#"{"imageLayoutVersion":"1.0.0"}"#;

/// An OCI layout as an [`ImageDestination`].
pub struct LayoutDestination<S: LayoutSink> {
    sink: S,
    written: HashSet<Digest>,
    manifests: Vec<Descriptor>,
    what: PathBuf,
}

impl<S: LayoutSink> LayoutDestination<S> {
    /// A layout written through `sink`; `what` names the output in errors.
    pub fn new(sink: S, what: &Path) -> Self {
        LayoutDestination {
            sink,
            written: HashSet::new(),
            manifests: Vec::new(),
            what: what.to_path_buf(),
        }
    }

    /// The sink, after [`ImageDestination::finish`].
    pub fn into_sink(self) -> S {
        self.sink
    }

    fn add(&mut self, path: &str, size: u64, reader: &mut (dyn Read + Send)) -> Result<()> {
        self.sink
            .add(path, size, reader)
            .map_err(|e| StoreError::io(self.what.join(path), e))
    }
}

fn blob_path(digest: &Digest) -> String {
    format!("blobs/{}/{}", digest.algorithm(), digest.digest())
}

impl<S: LayoutSink> ImageDestination for LayoutDestination<S> {
    fn has_blob(&mut self, desc: &Descriptor) -> Result<bool> {
        Ok(self.written.contains(desc.digest()))
    }

    fn put_blob(&mut self, desc: &Descriptor, reader: &mut (dyn Read + Send)) -> Result<()> {
        let mut verified = verifying(reader, desc);
        let path = blob_path(desc.digest());
        match self.sink.add(&path, desc.size(), &mut verified) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                return Err(blob_stream_error(desc, e))
            }
            Err(e) => return Err(StoreError::io(self.what.join(&path), e)),
        }
        self.written.insert(desc.digest().clone());
        Ok(())
    }

    fn put_manifest(
        &mut self,
        bytes: &[u8],
        media_type: &MediaType,
        names: &[String],
    ) -> Result<Digest> {
        let digest = digest_bytes(bytes);
        if !self.written.contains(&digest) {
            self.add(&blob_path(&digest), bytes.len() as u64, &mut &bytes[..])?;
            self.written.insert(digest.clone());
        }
        let mut desc = Descriptor::new(media_type.clone(), bytes.len() as u64, digest.clone());
        if names.is_empty() {
            self.manifests.push(desc);
        } else {
            for name in names {
                desc.set_annotations(Some(HashMap::from([(REF_NAME.to_string(), name.clone())])));
                self.manifests.push(desc.clone());
            }
        }
        Ok(digest)
    }

    fn finish(&mut self) -> Result<()> {
        self.add(
            "oci-layout",
            OCI_LAYOUT_JSON.len() as u64,
            &mut &OCI_LAYOUT_JSON[..],
        )?;
        let index: ImageIndex = ImageIndexBuilder::default()
            .schema_version(2u32)
            .media_type(MediaType::ImageIndex)
            .manifests(self.manifests.clone())
            .build()
            .map_err(|e| {
                StoreError::Invalid(format!("{}: index.json: {e}", self.what.display()))
            })?;
        let json = serde_json::to_vec(&index).map_err(|e| {
            StoreError::Invalid(format!("{}: index.json: {e}", self.what.display()))
        })?;
        self.add("index.json", json.len() as u64, &mut &json[..])?;
        self.sink
            .finish()
            .map_err(|e| StoreError::io(&self.what, e))
    }
}

/// The names an index entry gives its image: `io.containerd.image.name` (a full Docker-style
/// name), else `org.opencontainers.image.ref.name` when it is a name (`localhost/foo:latest`,
/// `foo:bar`); a bare tag (`latest`) names nothing.
pub fn entry_names(desc: &Descriptor) -> Vec<String> {
    let Some(ann) = desc.annotations() else {
        return Vec::new();
    };
    if let Some(full) = ann.get(CONTAINERD_NAME) {
        if let Ok(n) = names::normalize_docker(full) {
            return vec![n];
        }
    }
    match ann.get(REF_NAME) {
        Some(r) if r.contains('/') || r.contains(':') => match names::normalize_local(r) {
            Ok(n) => vec![n],
            Err(e) => {
                tracing::warn!("ignoring image name {r:?} in index: {e}");
                Vec::new()
            }
        },
        _ => Vec::new(),
    }
}

/// The images an `index.json` lists (checked with [`check_document`]: an OCI index, nothing
/// ambiguous, every digest supported). Entries naming the same manifest are merged.
pub fn parse_index(bytes: &[u8], what: &str) -> Result<Vec<SourceImage>> {
    match check_document(bytes, &[]) {
        Ok(DocumentKind::OciIndex) => {}
        Ok(other) => {
            return Err(StoreError::Invalid(format!(
                "{what}: index.json: a {other}, not an OCI image index"
            )))
        }
        Err(e) => return Err(StoreError::Invalid(format!("{what}: index.json: {e}"))),
    }
    let index = ImageIndex::from_reader(bytes)
        .map_err(|e| StoreError::Invalid(format!("{what}: index.json: {e}")))?;
    let mut out: Vec<SourceImage> = Vec::new();
    for desc in index.manifests() {
        if !is_image_manifest(desc.media_type()) {
            return Err(StoreError::Invalid(format!(
                "{what}: index.json entry {}: unsupported media type {} (only single-image manifests)",
                desc.digest(),
                desc.media_type()
            )));
        }
        if desc.size() > MAX_MANIFEST_SIZE {
            return Err(StoreError::Invalid(format!(
                "{what}: manifest {}: larger than {MAX_MANIFEST_SIZE} bytes",
                desc.digest()
            )));
        }
        let names = entry_names(desc);
        if let Some(prev) = out
            .iter_mut()
            .find(|i| i.manifest.digest() == desc.digest())
        {
            for n in names {
                if !prev.names.contains(&n) {
                    prev.names.push(n);
                }
            }
            continue;
        }
        let mut plain = Descriptor::new(
            desc.media_type().clone(),
            desc.size(),
            desc.digest().clone(),
        );
        plain.set_annotations(None);
        out.push(SourceImage {
            manifest: plain,
            names,
        });
    }
    Ok(out)
}

/// An OCI layout directory as an [`ImageSource`].
pub struct LayoutSource {
    root: PathBuf,
    images: Vec<SourceImage>,
}

impl LayoutSource {
    /// Open the layout at `root` (checks `oci-layout`, reads `index.json`).
    pub fn open(root: &Path) -> Result<LayoutSource> {
        let layout = root.join("oci-layout");
        let header = read_capped(&layout)?;
        check_layout_header(&header, &layout.display().to_string())?;
        let index_path = root.join("index.json");
        let index = read_capped(&index_path)?;
        let images = parse_index(&index, &root.display().to_string())?;
        Ok(LayoutSource {
            root: root.to_path_buf(),
            images,
        })
    }

    fn path_of(&self, digest: &Digest) -> PathBuf {
        self.root.join(blob_path(digest))
    }
}

/// Refuse an `oci-layout` file that is not version 1.x.
pub fn check_layout_header(bytes: &[u8], what: &str) -> Result<()> {
    let v: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| StoreError::Invalid(format!("{what}: {e}")))?;
    match v.get("imageLayoutVersion").and_then(|v| v.as_str()) {
        Some(s) if s.starts_with("1.") => Ok(()),
        other => Err(StoreError::Invalid(format!(
            "{what}: unsupported imageLayoutVersion {other:?}"
        ))),
    }
}

fn read_capped(path: &Path) -> Result<Vec<u8>> {
    let file = File::open(path).map_err(|e| StoreError::io(path, e))?;
    let mut buf = Vec::new();
    file.take(MAX_MANIFEST_SIZE + 1)
        .read_to_end(&mut buf)
        .map_err(|e| StoreError::io(path, e))?;
    if buf.len() as u64 > MAX_MANIFEST_SIZE {
        return Err(StoreError::Invalid(format!(
            "{}: larger than {MAX_MANIFEST_SIZE} bytes",
            path.display()
        )));
    }
    Ok(buf)
}

impl ImageSource for LayoutSource {
    fn images(&self) -> Result<Vec<SourceImage>> {
        Ok(self.images.clone())
    }

    fn manifest_bytes(&self, image: &SourceImage) -> Result<Vec<u8>> {
        let path = self.path_of(image.manifest.digest());
        if !path.exists() {
            return Err(StoreError::NotFound(format!(
                "manifest {} in {}",
                image.manifest.digest(),
                self.root.display()
            )));
        }
        read_capped(&path)
    }

    fn open_blob(&self, desc: &Descriptor) -> Result<Box<dyn Read + Send + '_>> {
        let path = self.path_of(desc.digest());
        match File::open(&path) {
            Ok(f) => Ok(Box::new(f)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(StoreError::NotFound(format!(
                "blob {} in {}",
                desc.digest(),
                self.root.display()
            ))),
            Err(e) => Err(StoreError::io(path, e)),
        }
    }
}
