//! Describing an image to add to a list, and pushing a list with all its instances.

use super::*;
use crate::remote::blob_kind;
use crate::retry::{self, RetryPolicy};

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
    input: &str,
    opts: &AddOptions,
) -> Result<Vec<(Descriptor, InstanceSource)>> {
    if input.starts_with("docker://") {
        return describe_remote(input, opts);
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

fn describe_remote(input: &str, opts: &AddOptions) -> Result<Vec<(Descriptor, InstanceSource)>> {
    let remote = inspect::open(input, &opts.connect)?;
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
    let client = opts
        .connect
        .connect(target.registry(), &target.name(), endpoint.insecure)?;
    let repo = target.repository();
    if opts.all {
        progress("Getting image list signatures");
        for desc in list.index.manifests() {
            match list.sources.get(&desc.digest().to_string()) {
                Some(InstanceSource::Local { image }) => {
                    push_local(store, &client, repo, list, image, desc, progress)?
                }
                Some(InstanceSource::Docker { reference }) => {
                    ensure_remote(&opts.connect, &client, repo, reference, desc, progress)?
                }
                None => {}
            }
        }
    }
    progress("Writing manifest list to image destination");
    let digest = digest_bytes(&bytes);
    client.put_manifest(repo, digest.as_ref(), &bytes, media_type)?;
    if let Some(tag) = target.tag() {
        client.put_manifest(repo, tag, &bytes, media_type)?;
    }
    Ok(digest)
}

fn blobs_of(manifest: &ImageManifest) -> Vec<Descriptor> {
    let mut blobs = manifest.layers().clone();
    blobs.push(manifest.config().clone());
    blobs
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
                blob_kind(&blob),
                blob.digest()
            ));
            continue;
        }
        progress(&format!("Copying {} {}", blob_kind(&blob), blob.digest()));
        retry::blob(RetryPolicy::default(), blob.digest(), || {
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
    let source = inspect::open(reference, connect)?;
    if source.is_index() {
        return Err(RegistryError::Invalid {
            what: reference.to_string(),
            message: "an instance that is itself a list is not copied; push it first".into(),
        });
    }
    let manifest = parse_image_manifest(&source.manifest, reference)?;
    let src_repo = source.endpoint.repository().to_string();
    let same_registry = source.endpoint.registry() == client.host() && src_repo != repo;
    for blob in blobs_of(&manifest) {
        if client.has_blob(repo, blob.digest(), true)? {
            progress(&format!(
                "Copying {} {} skipped: already exists",
                blob_kind(&blob),
                blob.digest()
            ));
            continue;
        }
        if same_registry && client.mount_blob(repo, blob.digest(), &src_repo)? {
            progress(&format!(
                "Copying {} {} skipped: mounted from {src_repo}",
                blob_kind(&blob),
                blob.digest()
            ));
            continue;
        }
        progress(&format!("Copying {} {}", blob_kind(&blob), blob.digest()));
        retry::blob(RetryPolicy::default(), blob.digest(), || {
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
