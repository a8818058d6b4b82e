//! Manifest lists built locally (`berth manifest create|add|annotate|inspect|push|rm`), as
//! Podman's `podman manifest`.
//!
//! Storage: the image store records images (a manifest, a config, layers) and its gc deletes
//! every blob no image references, so a list cannot live there as an image or a bare blob.
//! Lists are kept beside it instead, one file per list under `<root>/manifests/`, named by the
//! sha256 of the list's normalized name (`localhost/mylist:latest`) and written atomically
//! (temp file, fsync, rename, fsync of the directory). Each file holds a [`ManifestList`]: the
//! name, a stable id, the OCI index JSON and, for each instance, where its manifest lives
//! ([`InstanceSource`]: an image of the store, or `host/repo@digest` in a registry), which is
//! what `push` needs to make every instance present in the destination repository.
//! Read-modify-write cycles hold an exclusive flock on `<root>/manifests/lock`.
//! `berth images` never sees lists, and lists never keep images alive: pushing a list whose
//! local instance was removed fails naming the instance.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use berth_image_store::images::MANIFEST_LIMIT;
use berth_image_store::names::normalize_local;
use berth_image_store::{Store, StoreError};
use berth_layers::digest::{digest_bytes, parse_sha256};
use berth_layers::Digest;
use oci_spec::image::{
    Arch, Descriptor, ImageConfiguration, ImageIndex, ImageManifest, MediaType, Os,
    Platform as OciPlatform,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::runtime::Runtime;

use crate::client::{Client, DOCKER_LIST, DOCKER_MANIFEST, OCI_INDEX};
use crate::config::RegistriesConf;
use crate::connect::ConnectOptions;
use crate::error::{RegistryError, Result};
use crate::inspect::{self, parse_docker_ref, parse_image_manifest, Remote};
use crate::platform::Platform;
use crate::reference::Reference;
use crate::remote::Progress;

/// The directory under the store root holding the lists.
pub const LISTS_DIR: &str = "manifests";

/// Where an instance's manifest (and its blobs) can be read when the list is pushed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "transport", rename_all = "kebab-case")]
pub enum InstanceSource {
    /// An image of the local store, by image id.
    Local {
        /// The image id (config digest).
        image: String,
    },
    /// A manifest in a registry: `docker://host/repo@digest`.
    Docker {
        /// The reference, by digest.
        reference: String,
    },
}

/// A manifest list kept in the store root.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ManifestList {
    /// The normalized name (`localhost/mylist:latest`).
    pub name: String,
    /// A stable id (64 hex), given at creation.
    pub id: String,
    /// The index (OCI form; converted to a Docker list on push when asked or when every
    /// instance is a Docker v2s2 manifest).
    pub index: ImageIndex,
    /// Where each instance (by manifest digest) comes from.
    #[serde(default)]
    pub sources: BTreeMap<String, InstanceSource>,
}

/// Changes `annotate` (and `add`) make to an instance.
#[derive(Debug, Clone, Default)]
pub struct Annotate {
    /// `--arch`.
    pub arch: Option<String>,
    /// `--os`.
    pub os: Option<String>,
    /// `--variant`.
    pub variant: Option<String>,
    /// `--os-version`.
    pub os_version: Option<String>,
    /// `--os-features`.
    pub os_features: Vec<String>,
    /// `--features`.
    pub features: Vec<String>,
    /// `--annotation KEY=VALUE`.
    pub annotations: Vec<(String, String)>,
}

impl Annotate {
    fn changes_platform(&self) -> bool {
        self.arch.is_some()
            || self.os.is_some()
            || self.variant.is_some()
            || self.os_version.is_some()
            || !self.os_features.is_empty()
            || !self.features.is_empty()
    }
}

/// The list type written on push (`--format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListFormat {
    /// OCI image index.
    Oci,
    /// Docker manifest list (v2s2).
    V2s2,
}

/// Parse `KEY=VALUE` (`--annotation`).
pub fn parse_annotation(s: &str) -> Result<(String, String)> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(RegistryError::Invalid {
            what: format!("annotation {s:?}"),
            message: "expected KEY=VALUE".into(),
        }),
    }
}

fn empty_index() -> ImageIndex {
    serde_json::from_value(serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [],
    }))
    .expect("a valid empty index")
}

fn list_error(name: &str, message: String) -> RegistryError {
    RegistryError::Invalid {
        what: format!("manifest list {name}"),
        message,
    }
}

impl ManifestList {
    /// A new empty list named `name` (already normalized).
    pub fn new(name: &str) -> ManifestList {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let seed = format!("{name}\n{nanos}\n{}", std::process::id());
        ManifestList {
            name: name.to_string(),
            id: digest_bytes(seed.as_bytes()).digest().to_string(),
            index: empty_index(),
            sources: BTreeMap::new(),
        }
    }

    /// Add (or replace, when its digest is already listed) an instance; returns its digest.
    pub fn add(&mut self, desc: Descriptor, source: Option<InstanceSource>) -> Digest {
        let digest = desc.digest().clone();
        let mut manifests = self.index.manifests().clone();
        match manifests.iter_mut().find(|m| m.digest() == &digest) {
            Some(slot) => *slot = desc,
            None => manifests.push(desc),
        }
        self.index.set_manifests(manifests);
        match source {
            Some(s) => {
                self.sources.insert(digest.to_string(), s);
            }
            None => {
                self.sources.remove(&digest.to_string());
            }
        }
        digest
    }

    /// Remove an instance.
    pub fn remove(&mut self, digest: &Digest) -> Result<()> {
        let mut manifests = self.index.manifests().clone();
        let before = manifests.len();
        manifests.retain(|m| m.digest() != digest);
        if manifests.len() == before {
            return Err(list_error(
                &self.name,
                format!("{digest} is not in the list"),
            ));
        }
        self.index.set_manifests(manifests);
        self.sources.remove(&digest.to_string());
        Ok(())
    }

    /// The instance `input` names: a digest in the list, or the reference or local image it
    /// was added from.
    pub fn find_instance(&self, store: Option<&Store>, input: &str) -> Result<Digest> {
        let listed = |d: &Digest| self.index.manifests().iter().any(|m| m.digest() == d);
        if let Ok(d) = parse_sha256(input) {
            if listed(&d) {
                return Ok(d);
            }
            return Err(list_error(&self.name, format!("{d} is not in the list")));
        }
        let wanted = parse_docker_ref(input).ok();
        let local = store.and_then(|s| s.lookup_image(input).ok());
        let mut hits = Vec::new();
        for (digest, source) in &self.sources {
            let Ok(d) = parse_sha256(digest) else {
                continue;
            };
            let hit = match source {
                InstanceSource::Docker { reference } => wanted.as_ref().is_some_and(|r| {
                    reference.starts_with(&format!("docker://{}@", r.name()))
                        && r.digest.as_ref().is_none_or(|want| want == &d)
                }),
                InstanceSource::Local { image } => {
                    local.as_ref().is_some_and(|l| l.id.to_string() == *image)
                }
            };
            if hit && listed(&d) {
                hits.push(d);
            }
        }
        match hits.len() {
            1 => Ok(hits.remove(0)),
            0 => Err(list_error(
                &self.name,
                format!(
                    "no instance matches {input:?} (give a digest listed by berth manifest inspect)"
                ),
            )),
            n => Err(list_error(
                &self.name,
                format!("{n} instances match {input:?}: give a digest"),
            )),
        }
    }

    /// Apply `changes` to the instance `digest` (platform fields and annotations).
    pub fn annotate(&mut self, digest: &Digest, changes: &Annotate) -> Result<()> {
        let mut manifests = self.index.manifests().clone();
        let Some(desc) = manifests.iter_mut().find(|m| m.digest() == digest) else {
            return Err(list_error(
                &self.name,
                format!("{digest} is not in the list"),
            ));
        };
        if changes.changes_platform() {
            let mut p = desc.platform().clone().unwrap_or_default();
            if let Some(a) = &changes.arch {
                p.set_architecture(Arch::from(a.as_str()));
            }
            if let Some(o) = &changes.os {
                p.set_os(Os::from(o.as_str()));
            }
            if let Some(v) = &changes.variant {
                p.set_variant(Some(v.clone()).filter(|v| !v.is_empty()));
            }
            if let Some(v) = &changes.os_version {
                p.set_os_version(Some(v.clone()).filter(|v| !v.is_empty()));
            }
            if !changes.os_features.is_empty() {
                p.set_os_features(Some(changes.os_features.clone()));
            }
            if !changes.features.is_empty() {
                p.set_features(Some(changes.features.clone()));
            }
            desc.set_platform(Some(p));
        }
        if !changes.annotations.is_empty() {
            let mut a = desc.annotations().clone().unwrap_or_default();
            for (k, v) in &changes.annotations {
                a.insert(k.clone(), v.clone());
            }
            desc.set_annotations(Some(a));
        }
        self.index.set_manifests(manifests);
        Ok(())
    }

    /// Set annotations on the index itself.
    pub fn annotate_index(&mut self, annotations: &[(String, String)]) {
        if annotations.is_empty() {
            return;
        }
        let mut a = self.index.annotations().clone().unwrap_or_default();
        for (k, v) in annotations {
            a.insert(k.clone(), v.clone());
        }
        self.index.set_annotations(Some(a));
    }

    /// The index as pushed, and its media type: an OCI index, or a Docker manifest list
    /// when `format` says so or (without `format`) every instance is a Docker v2s2 manifest.
    /// A Docker list has no annotations, and can only hold Docker manifests.
    pub fn push_bytes(&self, format: Option<ListFormat>) -> Result<(Vec<u8>, &'static str)> {
        let manifests = self.index.manifests();
        let all_docker = !manifests.is_empty()
            && manifests.iter().all(|m| {
                let mt = m.media_type().to_string();
                mt == DOCKER_MANIFEST || mt == DOCKER_LIST
            });
        let format = format.unwrap_or(if all_docker {
            ListFormat::V2s2
        } else {
            ListFormat::Oci
        });
        match format {
            ListFormat::Oci => {
                let mut index = self.index.clone();
                index.set_media_type(Some(MediaType::ImageIndex));
                Ok((encode(&index, &self.name)?, OCI_INDEX))
            }
            ListFormat::V2s2 => {
                if let Some(m) = manifests.iter().find(|m| {
                    let mt = m.media_type().to_string();
                    mt != DOCKER_MANIFEST && mt != DOCKER_LIST
                }) {
                    return Err(list_error(
                        &self.name,
                        format!(
                            "a Docker manifest list cannot hold {} ({}): use --format oci",
                            m.digest(),
                            m.media_type()
                        ),
                    ));
                }
                let entries: Vec<Value> = manifests
                    .iter()
                    .map(|m| {
                        let mut v = serde_json::to_value(m).unwrap_or(Value::Null);
                        if let Some(o) = v.as_object_mut() {
                            for key in ["annotations", "artifactType", "data"] {
                                o.remove(key);
                            }
                        }
                        v
                    })
                    .collect();
                let list = serde_json::json!({
                    "schemaVersion": 2,
                    "mediaType": DOCKER_LIST,
                    "manifests": entries,
                });
                Ok((encode(&list, &self.name)?, DOCKER_LIST))
            }
        }
    }
}

/// JSON of a list, naming it on failure.
fn encode<T: Serialize>(value: &T, name: &str) -> Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(|e| list_error(name, e.to_string()))
}

/// The lists of one store.
pub struct Lists<'a> {
    store: &'a Store,
    dir: PathBuf,
}

/// An exclusive lock on the lists directory, released on drop.
pub struct ListsLock {
    _file: fs::File,
}

fn not_found(input: &str) -> RegistryError {
    RegistryError::Store(StoreError::NotFound(format!("manifest list {input}")))
}

impl<'a> Lists<'a> {
    /// The lists of `store` (creating `<root>/manifests`, mode 0700).
    pub fn new(store: &'a Store) -> Result<Lists<'a>> {
        let dir = store.root().join(LISTS_DIR);
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(|e| RegistryError::io(&dir, e))?;
        Ok(Lists { store, dir })
    }

    /// Hold the lists lock (exclusive) for a read-modify-write.
    pub fn lock(&self) -> Result<ListsLock> {
        let path = self.dir.join("lock");
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&path)
            .map_err(|e| RegistryError::io(&path, e))?;
        // SAFETY: flock on a descriptor we own; no memory is involved.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
        if rc != 0 {
            return Err(RegistryError::io(&path, std::io::Error::last_os_error()));
        }
        Ok(ListsLock { _file: file })
    }

    fn path_of(&self, normalized: &str) -> PathBuf {
        let key = digest_bytes(normalized.as_bytes());
        self.dir.join(format!("{}.json", key.digest()))
    }

    fn read(path: &Path) -> Result<Option<ManifestList>> {
        let bytes = match fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(RegistryError::io(path, e)),
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| RegistryError::Config {
                path: path.to_path_buf(),
                message: format!("manifest list: {e}"),
            })
    }

    /// Every list, sorted by name.
    pub fn all(&self) -> Result<Vec<ManifestList>> {
        let rd = fs::read_dir(&self.dir).map_err(|e| RegistryError::io(&self.dir, e))?;
        let mut out = Vec::new();
        for entry in rd {
            let entry = entry.map_err(|e| RegistryError::io(&self.dir, e))?;
            let path = entry.path();
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') || !name.ends_with(".json") {
                continue;
            }
            if let Some(l) = Self::read(&path)? {
                out.push(l);
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// The list named `input` (normalized like image names), or whose id starts with it.
    pub fn find(&self, input: &str) -> Result<Option<ManifestList>> {
        if let Ok(name) = normalize_local(input) {
            if let Some(l) = Self::read(&self.path_of(&name))? {
                return Ok(Some(l));
            }
        }
        let hex = input.strip_prefix("sha256:").unwrap_or(input);
        if hex.len() >= 3 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            let hex = hex.to_ascii_lowercase();
            let mut hits: Vec<ManifestList> = self
                .all()?
                .into_iter()
                .filter(|l| l.id.starts_with(&hex))
                .collect();
            if hits.len() > 1 {
                return Err(RegistryError::Invalid {
                    what: format!("manifest list {input}"),
                    message: "the id prefix is ambiguous".into(),
                });
            }
            return Ok(hits.pop());
        }
        Ok(None)
    }

    /// The list named `input`; `NotFound` naming it otherwise.
    pub fn get(&self, input: &str) -> Result<ManifestList> {
        self.find(input)?.ok_or_else(|| not_found(input))
    }

    /// Create the list `name` (or with `amend`, return the existing one). A name an image
    /// of the store already has is refused.
    pub fn create(&self, name: &str, amend: bool) -> Result<ManifestList> {
        let normalized = normalize_local(name)?;
        if let Some(existing) = Self::read(&self.path_of(&normalized))? {
            if amend {
                return Ok(existing);
            }
            return Err(RegistryError::Store(StoreError::AlreadyExists(format!(
                "manifest list {normalized}"
            ))));
        }
        if let Ok(img) = self.store.lookup_image(&normalized) {
            if img.names.contains(&normalized) {
                return Err(RegistryError::Store(StoreError::AlreadyExists(format!(
                    "{normalized} (the name of image {})",
                    img.short_id()
                ))));
            }
        }
        Ok(ManifestList::new(&normalized))
    }

    /// Write `list` atomically.
    pub fn save(&self, list: &ManifestList) -> Result<()> {
        let path = self.path_of(&list.name);
        let bytes = serde_json::to_vec_pretty(list).map_err(|e| RegistryError::Invalid {
            what: format!("manifest list {}", list.name),
            message: e.to_string(),
        })?;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let tmp = self
            .dir
            .join(format!(".tmp-{}-{nanos}", std::process::id()));
        let write = || -> std::io::Result<()> {
            let mut f = fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&tmp)?;
            f.write_all(&bytes)?;
            f.sync_all()?;
            fs::rename(&tmp, &path)?;
            fs::File::open(&self.dir)?.sync_all()
        };
        write().map_err(|e| {
            let _ = fs::remove_file(&tmp);
            RegistryError::io(&path, e)
        })
    }

    /// Remove the list `input`; returns it, or `None` if there was none.
    pub fn remove(&self, input: &str) -> Result<Option<ManifestList>> {
        let Some(list) = self.find(input)? else {
            return Ok(None);
        };
        let path = self.path_of(&list.name);
        fs::remove_file(&path).map_err(|e| RegistryError::io(&path, e))?;
        Ok(Some(list))
    }
}

/// The platform an image config declares.
pub fn config_platform(config: &ImageConfiguration) -> OciPlatform {
    let mut p = OciPlatform::default();
    p.set_architecture(config.architecture().clone());
    p.set_os(config.os().clone());
    p.set_variant(config.variant().clone());
    p.set_os_version(config.os_version().clone());
    p.set_os_features(config.os_features().clone());
    p
}

/// What `add` (and `create` with images) takes.
#[derive(Debug, Clone)]
pub struct AddOptions {
    /// For `docker://` images.
    pub connect: ConnectOptions,
    /// Add every instance of a list (`--all`), not just the platform's.
    pub all: bool,
    /// The platform picked from a list without `--all`.
    pub platform: Platform,
}

/// The instances `input` names: `docker://REF` (one image, the platform's image of a list,
/// or with `all` every instance of a list), or an image of the store
/// (`containers-storage:NAME` or a bare name or id; a bare name is looked up only locally).
pub fn describe(
    store: &Store,
    rt: &Arc<Runtime>,
    input: &str,
    opts: &AddOptions,
) -> Result<Vec<(Descriptor, InstanceSource)>> {
    if input.starts_with("docker://") {
        return describe_remote(rt, input, opts);
    }
    let name = input.strip_prefix("containers-storage:").unwrap_or(input);
    let record = match store.lookup_image(name) {
        Ok(r) => r,
        Err(StoreError::NotFound(_)) => {
            return Err(RegistryError::Invalid {
                what: format!("image {name}"),
                message: "not in the store (an image in a registry is named docker://REF)".into(),
            })
        }
        Err(e) => return Err(e.into()),
    };
    let size = store.content().size(&record.manifest_digest)?;
    let config = store.image_config(&record)?;
    let mut desc = Descriptor::new(
        MediaType::from(record.manifest_media_type.as_str()),
        size,
        record.manifest_digest.clone(),
    );
    desc.set_platform(Some(config_platform(&config)));
    Ok(vec![(
        desc,
        InstanceSource::Local {
            image: record.id.to_string(),
        },
    )])
}

fn describe_remote(
    rt: &Arc<Runtime>,
    input: &str,
    opts: &AddOptions,
) -> Result<Vec<(Descriptor, InstanceSource)>> {
    let remote = inspect::open(rt, input, &opts.connect)?;
    let name = remote.reference.name();
    let source = |d: &Digest| InstanceSource::Docker {
        reference: format!("docker://{name}@{d}"),
    };
    if remote.is_index() {
        let index = remote.index()?;
        let chosen = if opts.all {
            index.manifests().clone()
        } else {
            let what = format!(
                "manifest list {} ({})",
                remote.endpoint, remote.manifest.digest
            );
            vec![opts.platform.select(&index, &what)?]
        };
        let mut out = Vec::new();
        for desc in chosen {
            let mut desc = desc;
            if desc.platform().is_none() {
                let child = remote.child(&desc)?;
                desc.set_platform(Some(remote_platform(&remote, &child)?));
            }
            let src = source(desc.digest());
            out.push((desc, src));
        }
        return Ok(out);
    }
    let m = &remote.manifest;
    let mut desc = Descriptor::new(
        MediaType::from(m.media_type.as_str()),
        m.bytes.len() as u64,
        m.digest.clone(),
    );
    desc.set_platform(Some(remote_platform(&remote, m)?));
    Ok(vec![(desc, source(&m.digest))])
}

fn remote_platform(remote: &Remote, m: &crate::client::FetchedManifest) -> Result<OciPlatform> {
    let manifest = parse_image_manifest(m, &format!("manifest {}", remote.endpoint.name()))?;
    let bytes = remote.config_bytes(&manifest)?;
    let config: ImageConfiguration =
        serde_json::from_slice(&bytes).map_err(|e| RegistryError::Invalid {
            what: format!("config {}", manifest.config().digest()),
            message: e.to_string(),
        })?;
    Ok(config_platform(&config))
}

/// What `push` takes.
#[derive(Debug, Clone)]
pub struct PushOptions {
    /// For the destination and remote sources.
    pub connect: ConnectOptions,
    /// Push the instances too (`--all`, the default), not just the list.
    pub all: bool,
    /// `--format`; `None` picks from the instances.
    pub format: Option<ListFormat>,
}

/// Push `list` to `dest`: with `all`, every local instance is uploaded (blobs, then its
/// manifest by digest) and every registry instance is made present in the destination
/// repository (copied blob by blob, digests verified, unless already there); then the index
/// is written by digest and by tag. Returns the index digest.
pub fn push(
    store: &Store,
    list: &ManifestList,
    dest: &Reference,
    opts: &PushOptions,
    progress: Progress<'_>,
) -> Result<Digest> {
    let (bytes, media_type) = list.push_bytes(opts.format)?;
    let conf = RegistriesConf::load()?;
    let endpoint = conf.push_endpoint(dest)?;
    let target = endpoint.reference;
    let rt = crate::client::new_runtime()?;
    let client = opts
        .connect
        .connect(&rt, &target.registry, &target.name(), endpoint.insecure)?;
    let repo = target.repository.as_str();
    if opts.all {
        progress("Getting image list signatures");
        for desc in list.index.manifests() {
            match list.sources.get(&desc.digest().to_string()) {
                Some(InstanceSource::Local { image }) => {
                    push_local(store, &client, repo, list, image, desc, progress)?
                }
                Some(InstanceSource::Docker { reference }) => {
                    ensure_remote(&rt, &opts.connect, &client, repo, reference, desc, progress)?
                }
                None => {}
            }
        }
    }
    progress("Writing manifest list to image destination");
    let digest = digest_bytes(&bytes);
    client.put_manifest(repo, digest.as_ref(), &bytes, media_type)?;
    if let Some(tag) = &target.tag {
        client.put_manifest(repo, tag, &bytes, media_type)?;
    }
    Ok(digest)
}

/// Run `upload` again on transient failures ([`crate::push::PUSH_RETRIES`] times, the delay
/// doubling from one second).
fn retrying(blob: &Descriptor, mut upload: impl FnMut() -> Result<()>) -> Result<()> {
    let mut delay = std::time::Duration::from_secs(1);
    let mut attempt = 0;
    loop {
        match upload() {
            Err(e) if e.is_transient() && attempt < crate::push::PUSH_RETRIES => {
                tracing::warn!("blob {}: {e}; retrying in {delay:?}", blob.digest());
                std::thread::sleep(delay);
                delay = delay.saturating_mul(2);
                attempt += 1;
            }
            other => return other,
        }
    }
}

fn blobs_of(manifest: &ImageManifest) -> Vec<Descriptor> {
    let mut blobs = manifest.layers().clone();
    blobs.push(manifest.config().clone());
    blobs
}

fn kind(desc: &Descriptor) -> &'static str {
    if desc.media_type().to_string().contains("config") {
        "config"
    } else {
        "blob"
    }
}

fn push_local(
    store: &Store,
    client: &Client,
    repo: &str,
    list: &ManifestList,
    image: &str,
    desc: &Descriptor,
    progress: Progress<'_>,
) -> Result<()> {
    let gone = || {
        list_error(
            &list.name,
            format!(
                "instance {}: image {image} is no longer in the store",
                desc.digest()
            ),
        )
    };
    let record = store.lookup_image(image).map_err(|_| gone())?;
    if &record.manifest_digest != desc.digest() {
        return Err(gone());
    }
    let bytes = store.content().read_small(desc.digest(), MANIFEST_LIMIT)?;
    let manifest = store.image_manifest(&record)?;
    for blob in blobs_of(&manifest) {
        if client.has_blob(repo, blob.digest(), true)? {
            progress(&format!(
                "Copying {} {} skipped: already exists",
                kind(&blob),
                blob.digest()
            ));
            continue;
        }
        progress(&format!("Copying {} {}", kind(&blob), blob.digest()));
        retrying(&blob, || {
            let mut file = store.content().open(blob.digest())?;
            client.upload_blob(repo, blob.digest(), blob.size(), &mut file)
        })?;
    }
    client.put_manifest(
        repo,
        desc.digest().as_ref(),
        &bytes,
        &record.manifest_media_type,
    )
}

fn ensure_remote(
    rt: &Arc<Runtime>,
    connect: &ConnectOptions,
    client: &Client,
    repo: &str,
    reference: &str,
    desc: &Descriptor,
    progress: Progress<'_>,
) -> Result<()> {
    match client.get_manifest(repo, desc.digest().as_ref()) {
        Ok(m) if &m.digest == desc.digest() => {
            progress(&format!(
                "Copying manifest {} skipped: already exists",
                desc.digest()
            ));
            return Ok(());
        }
        Ok(_) | Err(RegistryError::ManifestUnknown { .. }) => {}
        Err(e) => return Err(e),
    }
    let source = inspect::open(rt, reference, connect)?;
    if source.is_index() {
        return Err(RegistryError::Invalid {
            what: reference.to_string(),
            message: "an instance that is itself a list is not copied; push it first".into(),
        });
    }
    let manifest = parse_image_manifest(&source.manifest, reference)?;
    let src_repo = source.endpoint.repository.clone();
    for blob in blobs_of(&manifest) {
        if client.has_blob(repo, blob.digest(), true)? {
            progress(&format!(
                "Copying {} {} skipped: already exists",
                kind(&blob),
                blob.digest()
            ));
            continue;
        }
        progress(&format!("Copying {} {}", kind(&blob), blob.digest()));
        retrying(&blob, || {
            let reader = source.client.blob_reader(&src_repo, blob.digest())?;
            let mut verified = berth_image_store::copy::verifying(reader, &blob);
            client.upload_blob(repo, blob.digest(), blob.size(), &mut verified)
        })?;
    }
    client.put_manifest(
        repo,
        desc.digest().as_ref(),
        &source.manifest.bytes,
        &source.manifest.media_type,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desc(hexchar: char, media_type: &str, arch: &str) -> Descriptor {
        let digest = parse_sha256(&format!("sha256:{}", hexchar.to_string().repeat(64))).unwrap();
        let mut d = Descriptor::new(MediaType::from(media_type), 10, digest);
        let mut p = OciPlatform::default();
        p.set_architecture(Arch::from(arch));
        p.set_os(Os::from("linux"));
        d.set_platform(Some(p));
        d
    }

    #[test]
    fn add_replace_annotate_remove() {
        let mut l = ManifestList::new("localhost/l:latest");
        assert_eq!(l.id.len(), 64);
        let a = l.add(desc('a', DOCKER_MANIFEST, "amd64"), None);
        let b = l.add(
            desc('b', DOCKER_MANIFEST, "amd64"),
            Some(InstanceSource::Local { image: "x".into() }),
        );
        l.add(desc('a', DOCKER_MANIFEST, "amd64"), None);
        assert_eq!(l.index.manifests().len(), 2);
        l.annotate(
            &b,
            &Annotate {
                arch: Some("arm64".into()),
                variant: Some("v8".into()),
                annotations: vec![("k".into(), "v".into())],
                ..Annotate::default()
            },
        )
        .unwrap();
        let m = &l.index.manifests()[1];
        let p = m.platform().as_ref().unwrap();
        assert_eq!(p.architecture().to_string(), "arm64");
        assert_eq!(p.variant().as_deref(), Some("v8"));
        assert_eq!(m.annotations().as_ref().unwrap()["k"], "v");
        let missing = parse_sha256(&format!("sha256:{}", "c".repeat(64))).unwrap();
        let e = l.annotate(&missing, &Annotate::default()).unwrap_err();
        assert!(e.to_string().contains("is not in the list"), "{e}");
        assert!(e.to_string().contains("localhost/l:latest"), "{e}");
        assert_eq!(l.find_instance(None, b.as_ref()).unwrap(), b);
        assert!(l.find_instance(None, missing.as_ref()).is_err());
        let c = l.add(
            desc('c', DOCKER_MANIFEST, "s390x"),
            Some(InstanceSource::Docker {
                reference: format!("docker://h:5000/r@{missing}"),
            }),
        );
        assert_eq!(l.find_instance(None, "docker://h:5000/r:1").unwrap(), c);
        assert!(l.find_instance(None, "docker://h:5000/other:1").is_err());
        l.add(
            desc('d', DOCKER_MANIFEST, "s390x"),
            Some(InstanceSource::Docker {
                reference: format!("docker://h:5000/r@sha256:{}", "d".repeat(64)),
            }),
        );
        let e = l.find_instance(None, "h:5000/r").unwrap_err().to_string();
        assert!(e.contains("2 instances match"), "{e}");
        l.remove(&c).unwrap();
        l.remove(&a).unwrap();
        assert!(l.remove(&a).is_err());
        assert_eq!(l.index.manifests().len(), 2);
    }

    #[test]
    fn push_type_follows_instances_and_format() {
        let mut l = ManifestList::new("localhost/l:latest");
        let (bytes, mt) = l.push_bytes(None).unwrap();
        assert_eq!(mt, OCI_INDEX);
        let v: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(v["mediaType"], OCI_INDEX);
        assert_eq!(v["manifests"], serde_json::json!([]));

        let d = l.add(desc('a', DOCKER_MANIFEST, "amd64"), None);
        l.annotate_index(&[("i".into(), "j".into())]);
        l.annotate(
            &d,
            &Annotate {
                annotations: vec![("k".into(), "v".into())],
                ..Annotate::default()
            },
        )
        .unwrap();
        let (bytes, mt) = l.push_bytes(None).unwrap();
        assert_eq!(mt, DOCKER_LIST);
        let v: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(v["mediaType"], DOCKER_LIST);
        assert!(v.get("annotations").is_none());
        assert!(v["manifests"][0].get("annotations").is_none());
        assert_eq!(v["manifests"][0]["platform"]["architecture"], "amd64");
        let (_, mt) = l.push_bytes(Some(ListFormat::Oci)).unwrap();
        assert_eq!(mt, OCI_INDEX);

        l.add(
            desc('b', "application/vnd.oci.image.manifest.v1+json", "arm64"),
            None,
        );
        assert_eq!(l.push_bytes(None).unwrap().1, OCI_INDEX);
        let e = l.push_bytes(Some(ListFormat::V2s2)).unwrap_err();
        assert!(e.to_string().contains("--format oci"), "{e}");
    }

    #[test]
    fn annotations_parse() {
        assert_eq!(
            parse_annotation("a=b=c").unwrap(),
            ("a".to_string(), "b=c".to_string())
        );
        assert!(parse_annotation("novalue").is_err());
        assert!(parse_annotation("=x").is_err());
    }

    #[test]
    fn lists_are_saved_found_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let lists = Lists::new(&store).unwrap();
        let mut l = lists.create("mylist", false).unwrap();
        assert_eq!(l.name, "localhost/mylist:latest");
        l.add(desc('a', DOCKER_MANIFEST, "amd64"), None);
        lists.save(&l).unwrap();
        assert!(lists.create("mylist", false).is_err());
        assert_eq!(lists.create("mylist", true).unwrap().id, l.id);
        let back = lists.get("localhost/mylist").unwrap();
        assert_eq!(back.index.manifests().len(), 1);
        assert_eq!(lists.get(&l.id[..12]).unwrap().name, l.name);
        assert_eq!(lists.all().unwrap().len(), 1);
        let e = lists.get("other").unwrap_err().to_string();
        assert!(e.contains("manifest list other: not found"), "{e}");
        assert!(lists.remove("mylist").unwrap().is_some());
        assert!(lists.remove("mylist").unwrap().is_none());
        assert!(store.list_images().unwrap().is_empty());
    }
}
