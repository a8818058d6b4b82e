//! The pull pipeline: resolve → fetch the manifest (digest verified) → pick the platform →
//! trust gate → stream config and layers into the store (parallel, retried, verified) →
//! record the image under its name.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use berth_image_store::copy::{
    check_config_size, check_present_blob, ImageDestination, StoreDestination,
};
use std::io::{Read, Write};

use berth_image_store::content::IngestWriter;
use berth_image_store::{ImageRecord, Store, StoreError};
use berth_layers::document::check_image;
use berth_layers::media_type::{self, is_image_manifest};
use berth_trust::registries_d::RegistriesD;
use berth_trust::{Policy, UnverifiedImage, VerifiedImage};
use oci_spec::image::{Descriptor, ImageIndex, ImageManifest, MediaType};

use crate::client::Client;
use crate::config::RegistriesConf;
use crate::connect::ConnectOptions;
use crate::error::{RegistryError, Result};
use crate::instance::fetch_instance;
use crate::platform::Platform;
use crate::progress::Observer;
use crate::reference::{parse, Reference};
use crate::remote::Progress;
use crate::retry::{self, RetryPolicy};
use crate::signatures::RegistrySignatures;

/// What `berth pull` takes.
#[derive(Debug, Clone)]
pub struct PullOptions {
    /// Transport and credentials.
    pub connect: ConnectOptions,
    /// The platform to pick from an index.
    pub platform: Platform,
    /// Attempts after the first: of reaching the registry and its manifest (Podman's
    /// retries, `retry_delay` apart), and of each blob.
    pub retry: u32,
    /// The delay between attempts to reach the registry; a blob's first delay, doubled
    /// after each of its attempts.
    pub retry_delay: Duration,
    /// Blobs fetched at once.
    pub max_parallel: usize,
    /// `--signature-policy`.
    pub signature_policy: Option<PathBuf>,
    /// `--registries.d`: where signatures live (default ~/.config/containers/registries.d,
    /// else /etc/containers/registries.d).
    pub registries_d: Option<PathBuf>,
    /// Keep a manifest list as it is instead of picking one platform (`copy --all`).
    pub all_platforms: bool,
    /// Byte-level progress of the blobs fetched.
    pub observer: Observer,
}

impl Default for PullOptions {
    fn default() -> Self {
        PullOptions {
            connect: ConnectOptions::default(),
            platform: Platform::host(),
            retry: 3,
            retry_delay: Duration::from_secs(1),
            max_parallel: 6,
            signature_policy: None,
            registries_d: None,
            all_platforms: false,
            observer: Observer::default(),
        }
    }
}

/// An image manifest fetched and checked by the trust gate, with where it came from.
pub struct Fetched {
    /// The client for its registry.
    pub client: Arc<Client>,
    /// The reference at the endpoint used (after mirrors and rewrites).
    pub endpoint: Reference,
    /// The reference the user asked for, qualified.
    pub reference: Reference,
    /// The single-platform manifest, verified.
    pub image: VerifiedImage,
}

/// Resolve `input` and fetch its manifest through the trust gate (candidates and mirrors in
/// order; the first success wins, else every attempt's error in one line).
pub fn fetch_verified(input: &str, opts: &PullOptions, progress: Progress<'_>) -> Result<Fetched> {
    let conf = RegistriesConf::load()?;
    let policy = Policy::load(opts.signature_policy.as_deref())?;
    let mut registries_d: Option<RegistriesD> = None;
    let no_registries_d = RegistriesD::default();
    let parsed = parse(input)?;
    let mut errors: Vec<RegistryError> = Vec::new();
    let retry = RetryPolicy {
        times: opts.retry,
        delay: opts.retry_delay,
    };
    for candidate in conf.resolve(input, &parsed)? {
        progress(&format!("Trying to pull {candidate}..."));
        let endpoints = conf.pull_endpoints(&candidate)?;
        // Each attempt tries the mirrors and the location in order; Podman's retries repeat
        // the attempt while every endpoint failed for a reason that may pass.
        let mut failed: Vec<RegistryError> = Vec::new();
        let found = retry::if_necessary(retry, || {
            failed.clear();
            for endpoint in &endpoints {
                match fetch_one(&candidate, &endpoint.reference, endpoint.insecure, opts) {
                    Ok(found) => return Ok((endpoint.reference.clone(), found)),
                    Err(e) => {
                        tracing::debug!("pull {}: {e}", endpoint.reference);
                        failed.push(e);
                    }
                }
            }
            // The error that decides: one that will not pass, if any.
            let decisive = failed
                .iter()
                .position(|e| !e.is_retryable())
                .unwrap_or(failed.len().saturating_sub(1));
            Err(if failed.is_empty() {
                RegistryError::Blocked(candidate.to_string())
            } else {
                failed.remove(decisive)
            })
        });
        let (endpoint, (client, unverified)) = match found {
            Ok(found) => found,
            Err(e) => {
                errors.append(&mut failed);
                errors.push(e);
                continue;
            }
        };
        // registries.d is read only when the policy wants signatures.
        let regd = if policy.needs_signatures("docker", &candidate.to_string()) {
            if registries_d.is_none() {
                registries_d = Some(RegistriesD::load(opts.registries_d.as_deref())?);
            }
            registries_d.as_ref().unwrap_or(&no_registries_d)
        } else {
            &no_registries_d
        };
        let mut signatures = RegistrySignatures::new(
            &client,
            endpoint.repository(),
            &candidate,
            &unverified.signed_digest,
            regd,
        );
        let image = policy.verify(unverified, &mut signatures)?;
        return Ok(Fetched {
            client,
            endpoint,
            reference: candidate,
            image,
        });
    }
    Err(crate::error::all_failed(input, errors, || {
        RegistryError::Reference {
            input: input.to_string(),
            why: "no registry to pull from".into(),
        }
    }))
}

fn fetch_one(
    reference: &Reference,
    endpoint: &Reference,
    insecure: bool,
    opts: &PullOptions,
) -> Result<(Arc<Client>, UnverifiedImage)> {
    let client = opts
        .connect
        .connect(endpoint.registry(), &endpoint.name(), insecure)?;
    let repo = endpoint.repository();
    let mut m = client.get_manifest(repo, &endpoint.api_reference())?;
    // Signatures name the manifest the reference points at: a list's own digest when the
    // image is picked from one.
    let signed_digest = m.digest.clone();
    if let Some(want) = endpoint.digest() {
        if &m.digest != want {
            return Err(RegistryError::Invalid {
                what: format!("manifest {endpoint}"),
                message: format!("registry sent content with digest {}", m.digest),
            });
        }
    }
    let is_list = media_type::is_index(&m.media_type);
    if is_list && !opts.all_platforms {
        let what = format!("manifest list {endpoint} ({})", m.digest);
        let index =
            serde_json::from_slice::<ImageIndex>(&m.bytes).map_err(|e| RegistryError::Invalid {
                what: what.clone(),
                message: e.to_string(),
            })?;
        let chosen = opts.platform.select(&index, &what)?;
        m = fetch_instance(&client, repo, &chosen)?;
    }
    let kept_list = is_list && opts.all_platforms;
    if !kept_list && !is_image_manifest(&MediaType::from(m.media_type.as_str())) {
        return Err(RegistryError::Invalid {
            what: format!("manifest {endpoint} ({})", m.digest),
            message: format!("unsupported media type {}", m.media_type),
        });
    }
    let unverified = UnverifiedImage {
        transport: "docker".into(),
        reference: reference.to_string(),
        signed_digest,
        digest: m.digest,
        media_type: m.media_type,
        manifest: m.bytes,
    };
    Ok((client, unverified))
}

/// Pull `input` into `store`; returns the recorded image.
pub fn pull(
    store: &Store,
    input: &str,
    opts: &PullOptions,
    progress: Progress<'_>,
) -> Result<ImageRecord> {
    let fetched = fetch_verified(input, opts, progress)?;
    let record = store_verified(store, &fetched, opts, progress)?;
    drop(fetched);
    berth_image_store::events::emit(berth_image_store::events::Event::image(
        "pull",
        record.hex_id(),
        input,
    ));
    Ok(record)
}

/// Pull every tag of `input`'s repository (`--all-tags`); `input` must name no tag or
/// digest. Returns the records in tag order.
pub fn pull_all_tags(
    store: &Store,
    input: &str,
    opts: &PullOptions,
    progress: Progress<'_>,
) -> Result<Vec<ImageRecord>> {
    let parsed = parse(input)?;
    if parsed.tag().is_some() || parsed.digest().is_some() {
        return Err(RegistryError::Reference {
            input: input.to_string(),
            why: "--all-tags takes a repository without a tag or digest".into(),
        });
    }
    let conf = RegistriesConf::load()?;
    let candidate = conf
        .resolve(input, &parsed)?
        .into_iter()
        .next()
        .ok_or_else(|| RegistryError::Reference {
            input: input.to_string(),
            why: "no registry to pull from".into(),
        })?;
    let endpoint = conf
        .pull_endpoints(&candidate)?
        .pop()
        .ok_or_else(|| RegistryError::Blocked(candidate.to_string()))?;
    let client = opts.connect.connect(
        endpoint.reference.registry(),
        &endpoint.reference.name(),
        endpoint.insecure,
    )?;
    let mut tags = client.list_tags(endpoint.reference.repository())?;
    tags.sort();
    let mut records = Vec::new();
    for tag in tags {
        let one = format!("{}:{tag}", candidate.name());
        records.push(pull(store, &one, opts, progress)?);
    }
    Ok(records)
}

/// Stream a verified image's blobs into the store and record it under its reference.
pub fn store_verified(
    store: &Store,
    fetched: &Fetched,
    opts: &PullOptions,
    progress: Progress<'_>,
) -> Result<ImageRecord> {
    let image = &fetched.image;
    let manifest = serde_json::from_slice::<ImageManifest>(image.manifest()).map_err(|e| {
        RegistryError::Invalid {
            what: format!("manifest {} ({})", fetched.endpoint, image.digest()),
            message: e.to_string(),
        }
    })?;
    check_media_types(
        image.manifest(),
        &manifest,
        &format!("manifest {} ({})", fetched.endpoint, image.digest()),
    )?;
    let mut dst = StoreDestination::new(store)?;
    progress("Getting image source signatures");
    let mut queue: VecDeque<(Descriptor, &str)> = VecDeque::new();
    for layer in manifest.layers() {
        queue.push_back((layer.clone(), "blob"));
    }
    queue.push_back((manifest.config().clone(), "config"));
    let mut todo = VecDeque::new();
    for (desc, kind) in queue {
        if check_present_blob(store, &desc)? {
            progress(&format!(
                "Copying {kind} {} skipped: already exists",
                desc.digest()
            ));
        } else {
            todo.push_back((desc, kind));
        }
    }
    let workers = opts.max_parallel.max(1).min(todo.len().max(1));
    let todo = Mutex::new(todo);
    let failed: Mutex<Option<RegistryError>> = Mutex::new(None);
    // Verified blobs wait in ingest/ until every one of the image's blobs is: a pull refused
    // part way (a lying descriptor) leaves no blob in the store.
    let staged: Mutex<Vec<(Descriptor, IngestWriter)>> = Mutex::new(Vec::new());
    let repo = fetched.endpoint.repository();
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                if failed.lock().map(|f| f.is_some()).unwrap_or(true) {
                    return;
                }
                let next = todo.lock().ok().and_then(|mut q| q.pop_front());
                let Some((desc, kind)) = next else { return };
                progress(&format!("Copying {kind} {}", desc.digest()));
                match fetch_blob(store, &fetched.client, repo, &desc, opts) {
                    Ok(Some(writer)) => {
                        if let Ok(mut s) = staged.lock() {
                            s.push((desc, writer));
                        }
                    }
                    Ok(None) => {}
                    Err(e) => {
                        if let Ok(mut f) = failed.lock() {
                            f.get_or_insert(e);
                        }
                        return;
                    }
                }
            });
        }
    });
    if let Some(e) = failed.into_inner().ok().flatten() {
        return Err(e);
    }
    for (desc, writer) in staged.into_inner().unwrap_or_default() {
        writer.commit(Some((desc.digest(), desc.size())))?;
    }
    progress("Writing manifest to image destination");
    let name = fetched.reference.store_name();
    let media_type = MediaType::from(image.media_type());
    dst.put_manifest(image.manifest(), &media_type, &[name])?;
    dst.finish()?;
    dst.records.pop().ok_or_else(|| RegistryError::Invalid {
        what: fetched.reference.to_string(),
        message: "no image was recorded".into(),
    })
}

/// Refuse a manifest whose config or layers are not image content berth knows (an
/// artifact, or something unknown: berth-layers' `check_image`), or whose config descriptor
/// claims more than the store reads, before anything is fetched.
fn check_media_types(bytes: &[u8], manifest: &ImageManifest, what: &str) -> Result<()> {
    let invalid = |message: String| RegistryError::Invalid {
        what: what.to_string(),
        message,
    };
    check_config_size(manifest.config()).map_err(|e| invalid(e.to_string()))?;
    check_image(bytes).map_err(invalid)
}

/// Fetch one blob into the store under `retry.rs`'s rule and the pull's policy (the delay
/// doubling from `retry_delay`). A retry after a cut connection resumes where the bytes
/// stopped (`Range`) when the registry allows, continuing the same hash; else it starts over.
fn fetch_blob(
    store: &Store,
    client: &Client,
    repo: &str,
    desc: &Descriptor,
    opts: &PullOptions,
) -> Result<Option<IngestWriter>> {
    let policy = RetryPolicy {
        times: opts.retry,
        delay: opts.retry_delay,
    };
    let mut partial: Option<IngestWriter> = None;
    retry::blob(policy, desc.digest(), || {
        let result = fetch_into(store, client, repo, desc, &mut partial, &opts.observer);
        opts.observer.finish(desc.digest(), result.is_ok());
        result
    })
}

/// One attempt: continue `partial` (or start a new ingest file) from the registry, verify the
/// size and digest, then check the first bytes against the media type. Returns the verified
/// writer for the caller to commit (`None` when the store already had the blob).
fn fetch_into(
    store: &Store,
    client: &Client,
    repo: &str,
    desc: &Descriptor,
    partial: &mut Option<IngestWriter>,
    observer: &Observer,
) -> Result<Option<IngestWriter>> {
    let digest = desc.digest();
    if store.content().contains(digest) {
        return Ok(None);
    }
    let offset = partial.as_ref().map_or(0, |w| w.written());
    let (mut reader, resumed) = client.blob_reader_at(repo, digest, offset)?;
    if offset > 0 && !resumed {
        *partial = None;
    }
    let writer = match partial {
        Some(w) => w,
        None => partial.insert(store.content().writer()?),
    };
    let size = desc.size();
    observer.start(digest, size, writer.written());
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(RegistryError::Store(StoreError::Source {
                    what: format!("blob {digest}"),
                    source: e,
                }))
            }
        };
        if writer.written() + n as u64 > size {
            *partial = None;
            return Err(RegistryError::Store(StoreError::DigestMismatch {
                what: format!("blob {digest}"),
                expected: format!("{size} bytes"),
                actual: format!("more than {size} bytes"),
            }));
        }
        writer.write_all(&buf[..n]).map_err(|e| {
            RegistryError::Store(StoreError::Invalid(format!("blob {digest}: {e}")))
        })?;
    }
    if writer.written() < size {
        // A complete response of the wrong size (a cut connection is a read error above).
        let got = writer.written();
        *partial = None;
        return Err(RegistryError::Store(StoreError::DigestMismatch {
            what: format!("blob {digest}"),
            expected: format!("{size} bytes"),
            actual: format!("{got} bytes"),
        }));
    }
    let mut writer = partial.take().expect("set above");
    writer.verify(digest, size)?;
    // Digest and size hold; now whether the bytes are what the media type says (a lying
    // digest is reported first). Checked on the verified blob's head in ingest/.
    let head = writer.head()?;
    media_type::check_head(desc.media_type().as_ref(), &head)
        .map_err(|e| RegistryError::Store(StoreError::Invalid(format!("blob {digest}: {e}"))))?;
    Ok(Some(writer))
}
