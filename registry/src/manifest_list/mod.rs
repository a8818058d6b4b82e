//! Manifest lists built locally (`berth manifest create|add|annotate|inspect|push|rm`), as
//! Podman's `podman manifest`.
//!
//! Storage: the image store records images (a manifest, a config, layers) and its gc deletes
//! every blob no image references, so a list cannot live there as an image or a bare blob.
//! The store keeps a directory for lists instead ([`berth_image_store::manifest_lists`]:
//! `<root>/manifests/`, one file per list named by the sha256 of the list's normalized name
//! `localhost/mylist:latest`, written atomically, and a lock). Each file holds a
//! [`ManifestList`]: the name, a stable id, the OCI index JSON and, for each instance, where
//! its manifest lives ([`InstanceSource`]: an image of the store, or `host/repo@digest` in a
//! registry), which is what `push` needs to make every instance present in the destination
//! repository. Read-modify-write cycles hold the directory's exclusive lock ([`Lists::lock`]).
//! `berth images` never sees lists, and lists never keep images alive: pushing a list whose
//! local instance was removed fails naming the instance.
//!
//! - [`ManifestList`] (here): the index and its instances, edited in memory.
//! - [`files`]: [`Lists`], the lists of a store over its manifest list directory.
//! - [`push`](mod@push): describing an image to add, and pushing a list with its instances.

use std::collections::BTreeMap;
use std::path::Path;

use berth_image_store::images::MANIFEST_LIMIT;
use berth_image_store::manifest_lists::ManifestListFiles;
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

use crate::client::Client;
use crate::config::RegistriesConf;
use crate::connect::ConnectOptions;
use crate::error::{RegistryError, Result};
use crate::inspect::{self, parse_docker_ref, parse_image_manifest, Remote};
use crate::platform::Platform;
use crate::reference::Reference;
use crate::remote::Progress;
use berth_layers::media_type::{DOCKER_LIST, DOCKER_MANIFEST, OCI_INDEX};

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
                        && r.digest().is_none_or(|want| want == &d)
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

mod files;
mod push;
#[cfg(test)]
mod tests;

pub use berth_image_store::manifest_lists::ListsLock;
pub use files::Lists;
pub use push::{config_platform, describe, push, AddOptions, PushOptions};
