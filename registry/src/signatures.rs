//! Signatures at a registry: read for the trust gate ([`RegistrySignatures`]), written after
//! a push or by `berth image sign` ([`Signer`]).
//!
//! - Sigstore (cosign) signatures are attachments in the image's own repository: the tag
//!   `sha256-<hex>.sig` names an OCI manifest whose layers are simple-signing payloads, each
//!   with its signature in the `dev.cosignproject.cosign/signature` annotation. Read and
//!   written only where registries.d says `use-sigstore-attachments: true`, as
//!   containers/image does. Writing adds a layer to the manifest already there, never drops
//!   one.
//! - GPG simple signatures live in a lookaside store named by registries.d (`lookaside`,
//!   written to `lookaside-staging` when set): `<base>/<repo>@sha256=<hex>/signature-N`,
//!   numbered from 1 without gaps. `file://` is read and written, `http(s)://` only read.
//!
//! Every read is bounded: at most [`MAX_SIGNATURES`] signatures of [`MAX_SIGNATURE_BYTES`]
//! each, so an image with 10,000 signatures costs a bounded amount of time and memory.

use std::collections::BTreeMap;
use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};

use berth_layers::digest::digest_bytes;
use berth_layers::Digest;
use berth_trust::payload::{make_payload, PayloadKind};
use berth_trust::registries_d::{lookaside_url, RegistriesD, SignatureStorage};
use berth_trust::signature::FetchError;
use berth_trust::signature::{
    SigstoreSignature, COSIGN_PAYLOAD_MEDIA_TYPE, COSIGN_SIGNATURE_ANNOTATION, MAX_SIGNATURES,
    MAX_SIGNATURE_BYTES,
};
use berth_trust::sigstore::SigstorePrivateKey;
use berth_trust::SignatureSource;
use serde_json::{json, Value};

use crate::client::Client;
use crate::error::{RegistryError, Result};
use crate::reference::Reference;
use crate::remote::Progress;
use berth_layers::media_type::OCI_MANIFEST;

/// The tag that holds the sigstore attachments of `digest`: `sha256-<hex>.sig`.
pub fn attachment_tag(digest: &Digest) -> String {
    format!("{}.sig", digest.to_string().replacen(':', "-", 1))
}

/// The repository path of `reference` inside its registry, as lookaside URLs use it
/// (`library/busybox` for `docker.io/library/busybox`).
fn lookaside_path(reference: &Reference) -> &str {
    reference.repository()
}

/// The signatures of one image at one registry, fetched only when the policy asks.
pub struct RegistrySignatures<'a> {
    client: &'a Client,
    /// Repository at the endpoint the manifest came from (attachments live there).
    repository: String,
    /// The reference as the user named it (lookaside paths and registries.d scopes).
    logical: Reference,
    digest: Digest,
    storage: SignatureStorage,
}

impl<'a> RegistrySignatures<'a> {
    /// Signatures of the manifest `digest`, fetched from `repository` through `client`,
    /// for the image the user calls `logical`, with `registries_d` saying where they live.
    pub fn new(
        client: &'a Client,
        repository: &str,
        logical: &Reference,
        digest: &Digest,
        registries_d: &RegistriesD,
    ) -> RegistrySignatures<'a> {
        RegistrySignatures {
            client,
            repository: repository.to_string(),
            logical: logical.clone(),
            digest: digest.clone(),
            storage: registries_d.for_reference(&logical.to_string()),
        }
    }
}

impl SignatureSource for RegistrySignatures<'_> {
    fn simple_signatures(&mut self) -> std::result::Result<Vec<Vec<u8>>, FetchError> {
        let Some(base) = self.storage.lookaside.clone() else {
            return Ok(Vec::new());
        };
        read_lookaside(
            self.client,
            &base,
            lookaside_path(&self.logical),
            &self.digest,
        )
        .map(|list| list.into_iter().map(|(_, sig)| sig).collect())
        .map_err(FetchError::from)
    }

    fn sigstore_signatures(&mut self) -> std::result::Result<Vec<SigstoreSignature>, FetchError> {
        if !self.storage.use_sigstore_attachments {
            return Ok(Vec::new());
        }
        read_attachments(self.client, &self.repository, &self.digest).map_err(FetchError::from)
    }
}

/// Read `signature-1`, `signature-2`, … until the first missing one. Returns (0-based index,
/// bytes).
fn read_lookaside(
    client: &Client,
    base: &str,
    repo_path: &str,
    digest: &Digest,
) -> Result<Vec<(usize, Vec<u8>)>> {
    let mut out = Vec::new();
    for index in 0..=MAX_SIGNATURES {
        let url = lookaside_url(base, repo_path, digest.as_ref(), index);
        let data = if let Some(path) = url.strip_prefix("file://") {
            read_file_capped(Path::new(path))?
        } else if url.starts_with("http://") || url.starts_with("https://") {
            client.get_plain(&url, MAX_SIGNATURE_BYTES as u64)?
        } else {
            return Err(RegistryError::Invalid {
                what: format!("lookaside {base}"),
                message: "unsupported URL scheme (use file://, http:// or https://)".into(),
            });
        };
        let Some(data) = data else { break };
        if index == MAX_SIGNATURES {
            return Err(RegistryError::Invalid {
                what: format!("signatures of {digest} at {base}"),
                message: format!("more than {MAX_SIGNATURES} signatures; refusing to read them"),
            });
        }
        out.push((index, data));
    }
    Ok(out)
}

fn read_file_capped(path: &Path) -> Result<Option<Vec<u8>>> {
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(RegistryError::io(path, e)),
    };
    let mut data = Vec::new();
    file.take(MAX_SIGNATURE_BYTES as u64 + 1)
        .read_to_end(&mut data)
        .map_err(|e| RegistryError::io(path, e))?;
    if data.len() > MAX_SIGNATURE_BYTES {
        return Err(RegistryError::Invalid {
            what: path.display().to_string(),
            message: format!("signature larger than {MAX_SIGNATURE_BYTES} bytes"),
        });
    }
    Ok(Some(data))
}

/// The attachment manifest of `digest` as JSON, or `None` when there is none.
fn attachment_manifest(client: &Client, repo: &str, digest: &Digest) -> Result<Option<Value>> {
    let tag = attachment_tag(digest);
    let m = match client.get_manifest(repo, &tag) {
        Ok(m) => m,
        Err(RegistryError::ManifestUnknown { .. }) => return Ok(None),
        Err(e) => return Err(e),
    };
    let what = || format!("sigstore attachments {}/{repo}:{tag}", client.host());
    let value: Value = serde_json::from_slice(&m.bytes).map_err(|e| RegistryError::Invalid {
        what: what(),
        message: format!("not a JSON manifest: {e}"),
    })?;
    if !value["layers"].is_array() {
        return Err(RegistryError::Invalid {
            what: what(),
            message: "manifest without a layers list".into(),
        });
    }
    Ok(Some(value))
}

/// A small blob, read whole with its size and digest checked.
fn small_blob(client: &Client, repo: &str, desc: &Value, cap: usize) -> Result<Vec<u8>> {
    let what = format!("blob in {}/{repo}", client.host());
    let invalid = |message: String| RegistryError::Invalid {
        what: what.clone(),
        message,
    };
    let digest: Digest = desc["digest"]
        .as_str()
        .ok_or_else(|| invalid("descriptor without a digest".into()))?
        .parse()
        .map_err(|e| invalid(format!("bad digest: {e}")))?;
    let size = desc["size"]
        .as_u64()
        .ok_or_else(|| invalid(format!("{digest}: descriptor without a size")))?;
    if size > cap as u64 {
        return Err(invalid(format!(
            "{digest}: {size} bytes is larger than the {cap} byte limit"
        )));
    }
    let mut data = Vec::with_capacity(size as usize);
    client
        .blob_reader(repo, &digest)?
        .take(size + 1)
        .read_to_end(&mut data)
        .map_err(|e| invalid(format!("{digest}: {e}")))?;
    if data.len() as u64 != size || digest_bytes(&data) != digest {
        return Err(invalid(format!(
            "{digest}: content does not match its digest and size"
        )));
    }
    Ok(data)
}

fn read_attachments(
    client: &Client,
    repo: &str,
    digest: &Digest,
) -> Result<Vec<SigstoreSignature>> {
    let Some(manifest) = attachment_manifest(client, repo, digest)? else {
        return Ok(Vec::new());
    };
    let layers = manifest["layers"].as_array().cloned().unwrap_or_default();
    if layers.len() > MAX_SIGNATURES {
        return Err(RegistryError::Invalid {
            what: format!(
                "sigstore attachments {}/{repo}:{}",
                client.host(),
                attachment_tag(digest)
            ),
            message: format!(
                "{} signatures, more than the {MAX_SIGNATURES} berth reads",
                layers.len()
            ),
        });
    }
    let mut out = Vec::with_capacity(layers.len());
    for layer in &layers {
        let media_type = layer["mediaType"].as_str().unwrap_or_default().to_string();
        let annotations: BTreeMap<String, String> = layer["annotations"]
            .as_object()
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
                    .collect()
            })
            .unwrap_or_default();
        let payload = small_blob(client, repo, layer, MAX_SIGNATURE_BYTES)?;
        out.push(SigstoreSignature {
            payload,
            media_type,
            annotations,
        });
    }
    Ok(out)
}

/// What to sign with (`--sign-by-sigstore-private-key`, `--sign-by`).
#[derive(Default)]
pub struct SignOptions {
    /// A cosign private key, already decrypted.
    pub sigstore_key: Option<SigstorePrivateKey>,
    /// A GPG key id or fingerprint (`--sign-by`).
    pub gpg_key: Option<String>,
    /// Passphrase file for the GPG key (`--sign-passphrase-file`).
    pub gpg_passphrase_file: Option<PathBuf>,
    /// `--registries.d`.
    pub registries_d: Option<PathBuf>,
    /// Write GPG signatures under this directory instead of the lookaside
    /// (`berth image sign -d DIR`).
    pub lookaside_dir: Option<PathBuf>,
}

impl SignOptions {
    /// Whether anything is to be signed.
    pub fn is_empty(&self) -> bool {
        self.sigstore_key.is_none() && self.gpg_key.is_none()
    }
}

/// Sign the manifest `digest`, pushed as `target` (the name the user gave; its bytes live in
/// `repository` of `client`'s registry), with every key in `opts`; the signatures are added
/// next to the ones already there.
pub fn sign_image(
    client: &Client,
    repository: &str,
    target: &Reference,
    digest: &Digest,
    opts: &SignOptions,
    progress: Progress<'_>,
) -> Result<()> {
    if opts.is_empty() {
        return Ok(());
    }
    let registries_d = RegistriesD::load(opts.registries_d.as_deref())?;
    let storage = registries_d.for_reference(&target.to_string());
    let identity = signed_identity(target);
    if let Some(key) = &opts.sigstore_key {
        if !storage.use_sigstore_attachments {
            return Err(RegistryError::Invalid {
                what: format!("signing {identity}"),
                message: "writing sigstore attachments is disabled by configuration \
                          (set use-sigstore-attachments: true in registries.d)"
                    .into(),
            });
        }
        progress("Creating signature: Signing image using a sigstore signature");
        let payload = make_payload(PayloadKind::Cosign, &identity, digest.as_ref());
        let signature = key.sign(&payload);
        let annotations = BTreeMap::from([(COSIGN_SIGNATURE_ANNOTATION.to_string(), signature)]);
        add_attachment(client, repository, digest, &payload, annotations)?;
    }
    if let Some(fpr) = &opts.gpg_key {
        progress("Creating signature: Signing image using simple signing");
        let payload = make_payload(PayloadKind::Atomic, &identity, digest.as_ref());
        let blob =
            berth_trust::gpg::gpg_sign(fpr, &payload, None, opts.gpg_passphrase_file.as_deref())
                .map_err(|e| RegistryError::Invalid {
                    what: format!("signing {identity} with GPG key {fpr}"),
                    message: e.to_string(),
                })?;
        let base = match &opts.lookaside_dir {
            Some(dir) => format!(
                "file://{}",
                std::path::absolute(dir).unwrap_or(dir.clone()).display()
            ),
            None => storage
                .lookaside_staging
                .clone()
                .or(storage.lookaside.clone())
                .unwrap_or_else(berth_trust::registries_d::builtin_default_lookaside),
        };
        write_lookaside(client, &base, lookaside_path(target), digest, &blob)?;
    }
    Ok(())
}

/// The docker reference a signature names: `host/repo:tag`, or `host/repo` when pushed
/// by digest only.
fn signed_identity(target: &Reference) -> String {
    match target.tag() {
        Some(t) => format!("{}:{t}", target.name()),
        None => target.name(),
    }
}

/// Append `blob` as the next `signature-N` of a `file://` lookaside.
fn write_lookaside(
    client: &Client,
    base: &str,
    repo_path: &str,
    digest: &Digest,
    blob: &[u8],
) -> Result<()> {
    if !base.starts_with("file://") {
        return Err(RegistryError::Invalid {
            what: format!("lookaside {base}"),
            message: "writing signatures needs a file:// lookaside (configure lookaside-staging)"
                .into(),
        });
    }
    let existing = read_lookaside(client, base, repo_path, digest)?;
    if existing.iter().any(|(_, sig)| sig == blob) {
        return Ok(());
    }
    let url = lookaside_url(base, repo_path, digest.as_ref(), existing.len());
    let path = PathBuf::from(url.trim_start_matches("file://"));
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| RegistryError::io(dir, e))?;
    }
    // Signatures are public (a lookaside is served to everyone): 0644, as Podman writes them.
    berth_layers::atomic_file::write_atomically(&path, blob, 0o644)
        .map_err(|e| RegistryError::io(&path, e))
}

/// Add one signature layer to the attachment manifest of `digest` (creating it if needed).
fn add_attachment(
    client: &Client,
    repo: &str,
    digest: &Digest,
    payload: &[u8],
    annotations: BTreeMap<String, String>,
) -> Result<()> {
    let existing = attachment_manifest(client, repo, digest)?;
    let payload_digest = digest_bytes(payload);
    let layer = json!({
        "mediaType": COSIGN_PAYLOAD_MEDIA_TYPE,
        "size": payload.len(),
        "digest": payload_digest.to_string(),
        "annotations": annotations,
    });
    let (mut manifest, mut config) = match existing {
        Some(m) => {
            let config = small_blob(client, repo, &m["config"], MAX_SIGNATURE_BYTES)?;
            let config: Value =
                serde_json::from_slice(&config).map_err(|e| RegistryError::Invalid {
                    what: format!("sigstore attachment config in {}/{repo}", client.host()),
                    message: e.to_string(),
                })?;
            (m, config)
        }
        None => (
            json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "layers": []}),
            json!({"architecture": "", "os": "", "config": {},
                   "rootfs": {"type": "layers", "diff_ids": []}}),
        ),
    };
    let layers = manifest["layers"].as_array_mut().expect("checked above");
    if layers.len() >= MAX_SIGNATURES {
        return Err(RegistryError::Invalid {
            what: format!(
                "sigstore attachments of {digest} in {}/{repo}",
                client.host()
            ),
            message: format!("already {MAX_SIGNATURES} signatures"),
        });
    }
    let mut reader = Cursor::new(payload);
    if !client.has_blob(repo, &payload_digest, true)? {
        client.upload_blob(repo, &payload_digest, payload.len() as u64, &mut reader)?;
    }
    layers.push(layer);
    if !config["rootfs"].is_object() {
        config["rootfs"] = json!({"type": "layers"});
    }
    match config["rootfs"]["diff_ids"].as_array_mut() {
        Some(ids) => ids.push(json!(payload_digest.to_string())),
        None => config["rootfs"]["diff_ids"] = json!([payload_digest.to_string()]),
    }
    let config_bytes = serde_json::to_vec(&config).map_err(|e| RegistryError::Invalid {
        what: "sigstore attachment config".into(),
        message: e.to_string(),
    })?;
    let config_digest = digest_bytes(&config_bytes);
    if !client.has_blob(repo, &config_digest, true)? {
        let mut reader = Cursor::new(&config_bytes);
        client.upload_blob(repo, &config_digest, config_bytes.len() as u64, &mut reader)?;
    }
    manifest["config"] = json!({
        "mediaType": "application/vnd.oci.image.config.v1+json",
        "size": config_bytes.len(),
        "digest": config_digest.to_string(),
    });
    let bytes = serde_json::to_vec(&manifest).map_err(|e| RegistryError::Invalid {
        what: "sigstore attachment manifest".into(),
        message: e.to_string(),
    })?;
    client.put_manifest(repo, &attachment_tag(digest), &bytes, OCI_MANIFEST)
}
