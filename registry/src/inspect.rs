//! Remote inspection: `berth image inspect docker://REF` with Skopeo's `skopeo inspect`
//! semantics. The manifest is fetched as served (`--raw` prints it byte for byte); from an
//! index or a manifest list the image of the chosen platform is picked; its config is
//! fetched (digest and size verified) and summarized as an [`Inspection`] together with the
//! repository's tags. Nothing is stored, and no trust check is made: reading a manifest and a
//! config is not pulling an image (Skopeo does not check either).
//!
//! [`open`] (resolve through registries.conf, connect, fetch the manifest) is shared with
//! `berth manifest add docker://…` and `berth manifest inspect docker://…`.

use std::collections::BTreeMap;
use std::io::Read;
use std::sync::Arc;

use berth_image_store::copy::verifying;
use oci_spec::image::{Descriptor, ImageIndex, ImageManifest};
use serde::Serialize;
use serde_json::Value;

use berth_layers::media_type;

use crate::client::{Client, FetchedManifest};
use crate::config::RegistriesConf;
use crate::connect::ConnectOptions;
use crate::error::{RegistryError, Result};
use crate::platform::Platform;
use crate::reference::Reference;

/// Largest config blob read.
pub const MAX_CONFIG_SIZE: u64 = 16 << 20;

/// What `berth image inspect docker://…` takes.
#[derive(Debug, Clone)]
pub struct InspectOptions {
    /// Transport and credentials.
    pub connect: ConnectOptions,
    /// The platform picked from an index.
    pub platform: Platform,
    /// List the repository's tags (`RepoTags`); `--no-tags` turns it off.
    pub tags: bool,
}

impl Default for InspectOptions {
    fn default() -> Self {
        InspectOptions {
            connect: ConnectOptions::default(),
            platform: Platform::host(),
            tags: true,
        }
    }
}

/// A manifest fetched from a registry, with the client and repository it came from.
pub struct Remote {
    /// The client of the endpoint that answered.
    pub client: Arc<Client>,
    /// The reference at that endpoint (after mirrors and rewrites).
    pub endpoint: Reference,
    /// The reference as the user gave it, qualified.
    pub reference: Reference,
    /// The manifest the reference points at, as served.
    pub manifest: FetchedManifest,
}

impl Remote {
    /// Whether the manifest is an index or a Docker manifest list.
    pub fn is_index(&self) -> bool {
        media_type::is_index(&self.manifest.media_type)
    }

    /// The manifest parsed as an index (`what` names it in errors).
    pub fn index(&self) -> Result<ImageIndex> {
        parse_index(&self.manifest, &format!("manifest list {}", self.endpoint))
    }

    /// The single-platform manifest: this one, or the one `platform` picks from an index
    /// (fetched by digest and checked against it).
    pub fn image_manifest(&self, platform: &Platform) -> Result<FetchedManifest> {
        if !self.is_index() {
            return Ok(self.manifest.clone());
        }
        let what = format!("manifest list {} ({})", self.endpoint, self.manifest.digest);
        let chosen = platform.select(&self.index()?, &what)?;
        self.child(&chosen)
    }

    /// Fetch the manifest `desc` names from the same repository, checked against `desc`
    /// ([`crate::instance::fetch_instance`]).
    pub fn child(&self, desc: &Descriptor) -> Result<FetchedManifest> {
        crate::instance::fetch_instance(&self.client, self.endpoint.repository(), desc)
    }

    /// The config blob of an image manifest (digest and size verified, at most
    /// [`MAX_CONFIG_SIZE`] bytes).
    pub fn config_bytes(&self, manifest: &ImageManifest) -> Result<Vec<u8>> {
        read_blob(
            &self.client,
            self.endpoint.repository(),
            manifest.config(),
            MAX_CONFIG_SIZE,
        )
    }
}

fn parse_index(m: &FetchedManifest, what: &str) -> Result<ImageIndex> {
    serde_json::from_slice::<ImageIndex>(&m.bytes).map_err(|e| RegistryError::Invalid {
        what: format!("{what} ({})", m.digest),
        message: e.to_string(),
    })
}

/// Parse an image manifest (`what` names it in errors).
pub fn parse_image_manifest(m: &FetchedManifest, what: &str) -> Result<ImageManifest> {
    if media_type::is_index(&m.media_type) {
        return Err(RegistryError::Invalid {
            what: format!("{what} ({})", m.digest),
            message: format!("{} is a list, not an image manifest", m.media_type),
        });
    }
    serde_json::from_slice::<ImageManifest>(&m.bytes).map_err(|e| RegistryError::Invalid {
        what: format!("{what} ({})", m.digest),
        message: e.to_string(),
    })
}

/// Read a small blob, verifying its digest and size.
pub fn read_blob(client: &Client, repo: &str, desc: &Descriptor, cap: u64) -> Result<Vec<u8>> {
    let what = format!("blob {}/{repo}@{}", client.host(), desc.digest());
    if desc.size() > cap {
        return Err(RegistryError::Invalid {
            what,
            message: format!("{} bytes is larger than the {cap} byte limit", desc.size()),
        });
    }
    let reader = client.blob_reader(repo, desc.digest())?;
    let mut out = Vec::new();
    verifying(reader, desc)
        .take(cap + 1)
        .read_to_end(&mut out)
        .map_err(|e| RegistryError::Invalid {
            what,
            message: e.to_string(),
        })?;
    Ok(out)
}

/// `docker://REF` (or `REF`) as a qualified reference (Docker's defaults: `docker.io`,
/// `latest`).
pub fn parse_docker_ref(input: &str) -> Result<Reference> {
    crate::reference::parse_docker(input)
}

/// Resolve `input` through registries.conf (mirrors and rewrites, blocked registries,
/// insecure hosts), connect and fetch its manifest; the first endpoint that answers wins.
pub fn open(input: &str, connect: &ConnectOptions) -> Result<Remote> {
    let reference = parse_docker_ref(input)?;
    let conf = RegistriesConf::load()?;
    let mut errors: Vec<RegistryError> = Vec::new();
    for endpoint in conf.pull_endpoints(&reference)? {
        let ep = endpoint.reference;
        let attempt = connect
            .connect(ep.registry(), &ep.name(), endpoint.insecure)
            .and_then(|client| {
                let manifest = client.get_manifest(ep.repository(), &ep.api_reference())?;
                if let Some(want) = ep.digest() {
                    if &manifest.digest != want {
                        return Err(RegistryError::Invalid {
                            what: format!("manifest {ep}"),
                            message: format!(
                                "registry sent content with digest {}",
                                manifest.digest
                            ),
                        });
                    }
                }
                Ok((client, manifest))
            });
        match attempt {
            Ok((client, manifest)) => {
                return Ok(Remote {
                    client,
                    endpoint: ep,
                    reference,
                    manifest,
                })
            }
            Err(e) => {
                tracing::debug!("inspect {ep}: {e}");
                errors.push(e);
            }
        }
    }
    Err(crate::error::all_failed(input, errors, || {
        RegistryError::Blocked(reference.to_string())
    }))
}

/// One layer in [`Inspection::layers_data`].
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct LayerData {
    /// The layer's media type.
    #[serde(rename = "MIMEType")]
    pub mime_type: String,
    /// Its digest.
    pub digest: String,
    /// Its compressed size.
    pub size: u64,
    /// Its annotations, if any.
    pub annotations: Option<BTreeMap<String, String>>,
}

/// What `skopeo inspect` prints for an image.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct Inspection {
    /// The repository (`host/repo`), without tag or digest.
    pub name: String,
    /// Digest of the manifest the reference points at (the list's, for a list).
    pub digest: String,
    /// Every tag of the repository (empty with `--no-tags`).
    pub repo_tags: Vec<String>,
    /// The config's `created`.
    pub created: Option<String>,
    /// The config's `docker_version` (empty when not built by Docker).
    pub docker_version: String,
    /// The config's labels.
    pub labels: Option<BTreeMap<String, String>>,
    /// CPU architecture.
    pub architecture: String,
    /// Architecture variant, when there is one.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub variant: String,
    /// Operating system.
    pub os: String,
    /// Layer digests, base first.
    pub layers: Vec<String>,
    /// Layers with media type, size and annotations.
    pub layers_data: Vec<LayerData>,
    /// The config's environment.
    pub env: Option<Vec<String>>,
}

/// A timestamp as Go's `RFC3339Nano` prints it (skopeo's `Created`): the fraction without
/// trailing zeros (none at all when zero), `Z` for UTC; text that is not RFC 3339 as it is.
fn go_time(text: &str) -> String {
    let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) else {
        return text.to_string();
    };
    let mut out = t.format("%Y-%m-%dT%H:%M:%S").to_string();
    let fraction = format!("{:09}", t.timestamp_subsec_nanos());
    let fraction = fraction.trim_end_matches('0');
    if !fraction.is_empty() {
        out.push('.');
        out.push_str(fraction);
    }
    if t.offset().local_minus_utc() == 0 {
        out.push('Z');
    } else {
        out.push_str(&t.format("%:z").to_string());
    }
    out
}

/// Build the [`Inspection`] of an image from its name, the top manifest's digest, the
/// image manifest, its config and the tags (pure: unit-tested).
pub fn summarize(
    name: &str,
    digest: &str,
    manifest: &ImageManifest,
    config: &Value,
    repo_tags: Vec<String>,
) -> Inspection {
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let inner = &config["config"];
    let labels = inner["Labels"].as_object().map(|m| {
        m.iter()
            .map(|(k, v)| (k.clone(), text(v)))
            .collect::<BTreeMap<_, _>>()
    });
    let env = inner["Env"]
        .as_array()
        .map(|a| a.iter().map(text).collect());
    Inspection {
        name: name.to_string(),
        digest: digest.to_string(),
        repo_tags,
        created: config["created"].as_str().map(go_time),
        docker_version: text(&config["docker_version"]),
        labels,
        architecture: text(&config["architecture"]),
        variant: text(&config["variant"]),
        os: text(&config["os"]),
        layers: manifest
            .layers()
            .iter()
            .map(|l| l.digest().to_string())
            .collect(),
        layers_data: manifest
            .layers()
            .iter()
            .map(|l| LayerData {
                mime_type: l.media_type().to_string(),
                digest: l.digest().to_string(),
                size: l.size(),
                annotations: l
                    .annotations()
                    .as_ref()
                    .map(|a| a.iter().map(|(k, v)| (k.clone(), v.clone())).collect()),
            })
            .collect(),
        env,
    }
}

/// What was asked of a remote inspection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// The summary ([`Inspection`] as JSON).
    Summary,
    /// The manifest bytes as served (`--raw`).
    RawManifest,
    /// The config of the platform's image, as JSON (`--config`).
    Config,
    /// The config blob as served (`--config --raw`).
    RawConfig,
}

/// Inspect `input` (`docker://REF`) and return the bytes to print: the summary or the config
/// as pretty JSON, or the raw manifest or config.
pub fn inspect(input: &str, opts: &InspectOptions, output: Output) -> Result<Vec<u8>> {
    let remote = open(input, &opts.connect)?;
    if output == Output::RawManifest {
        return Ok(remote.manifest.bytes.clone());
    }
    let image = remote.image_manifest(&opts.platform)?;
    let manifest = parse_image_manifest(&image, &format!("manifest {}", remote.endpoint))?;
    let config_bytes = remote.config_bytes(&manifest)?;
    if output == Output::RawConfig {
        return Ok(config_bytes);
    }
    let config: Value =
        serde_json::from_slice(&config_bytes).map_err(|e| RegistryError::Invalid {
            what: format!("config {}", manifest.config().digest()),
            message: e.to_string(),
        })?;
    if output == Output::Config {
        return pretty(&config);
    }
    let tags = if opts.tags {
        repo_tags(&remote.client, remote.endpoint.repository())?
    } else {
        Vec::new()
    };
    let summary = summarize(
        &remote.reference.name(),
        remote.manifest.digest.as_ref(),
        &manifest,
        &config,
        tags,
    );
    pretty(&summary)
}

/// The repository's tags; a registry that refuses to list them (401, 403, 404) gives none,
/// as Skopeo allows.
fn repo_tags(client: &Client, repo: &str) -> Result<Vec<String>> {
    match client.list_tags(repo) {
        Ok(tags) => Ok(tags),
        Err(RegistryError::Status {
            status: 401 | 403 | 404,
            ..
        }) => Ok(Vec::new()),
        Err(RegistryError::Auth { .. }) => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

/// Pretty JSON with a trailing newline.
fn pretty<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    let mut out = serde_json::to_vec_pretty(value).map_err(|e| RegistryError::Invalid {
        what: "inspection".into(),
        message: e.to_string(),
    })?;
    out.push(b'\n');
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_follows_skopeo_fields() {
        let manifest: ImageManifest = serde_json::from_str(
            r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
            "config":{"mediaType":"application/vnd.oci.image.config.v1+json","size":2,"digest":"sha256:1111111111111111111111111111111111111111111111111111111111111111"},
            "layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","size":42,"digest":"sha256:2222222222222222222222222222222222222222222222222222222222222222"}]}"#,
        )
        .unwrap();
        let config = serde_json::json!({
            "created": "2024-01-02T03:04:05Z",
            "architecture": "arm64", "variant": "v8", "os": "linux",
            "config": {"Env": ["PATH=/bin"], "Labels": {"a": "b"}},
            "rootfs": {"type": "layers", "diff_ids": []}
        });
        let s = summarize(
            "h:5000/r",
            "sha256:abc",
            &manifest,
            &config,
            vec!["1".into()],
        );
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["Name"], "h:5000/r");
        assert_eq!(v["Architecture"], "arm64");
        assert_eq!(v["Variant"], "v8");
        assert_eq!(v["DockerVersion"], "");
        assert_eq!(v["Labels"]["a"], "b");
        assert_eq!(v["Env"][0], "PATH=/bin");
        assert_eq!(v["RepoTags"][0], "1");
        assert_eq!(
            v["Layers"][0],
            "sha256:2222222222222222222222222222222222222222222222222222222222222222"
        );
        assert_eq!(
            v["LayersData"][0]["MIMEType"],
            "application/vnd.oci.image.layer.v1.tar+gzip"
        );
        assert_eq!(v["LayersData"][0]["Size"], 42);
        assert!(v["LayersData"][0]["Annotations"].is_null());

        let bare = serde_json::json!({"architecture": "amd64", "os": "linux"});
        let v = serde_json::to_value(summarize("n", "d", &manifest, &bare, vec![])).unwrap();
        assert!(v.get("Variant").is_none());
        assert!(v["Labels"].is_null() && v["Env"].is_null() && v["Created"].is_null());
    }

    #[test]
    fn created_is_printed_as_go_prints_it() {
        assert_eq!(
            go_time("2026-11-28T02:41:04.394225780Z"),
            "2026-11-28T02:41:04.39422578Z"
        );
        assert_eq!(go_time("2024-01-02T03:04:05.000Z"), "2024-01-02T03:04:05Z");
        assert_eq!(
            go_time("2024-01-02T03:04:05.5+02:00"),
            "2024-01-02T03:04:05.5+02:00"
        );
        assert_eq!(go_time("yesterday"), "yesterday");
    }

    #[test]
    fn docker_prefix_is_optional() {
        let a = parse_docker_ref("docker://127.0.0.1:5000/a/b:1").unwrap();
        let b = parse_docker_ref("127.0.0.1:5000/a/b:1").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.repository(), "a/b");
        assert!(parse_docker_ref("docker://").is_err());
    }
}
