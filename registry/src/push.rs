//! The push pipeline: an image of the store → a registry. Layers and config are uploaded
//! first, in parallel (HEAD each blob and skip present ones, streaming upload, retries on
//! network errors); then the one copy routine writes the manifest by digest and then by tag,
//! finding every blob present.

use std::collections::{HashSet, VecDeque};
use std::sync::Mutex;

use berth_image_store::copy::{copy_image, ImageSource, StoreSource};
use berth_image_store::Store;
use berth_layers::digest::digest_bytes;
use berth_layers::Digest;
use oci_spec::image::Descriptor;

use crate::client::Client;
use crate::config::RegistriesConf;
use crate::connect::ConnectOptions;
use crate::convert::{convert, PushConversion};
use crate::error::{RegistryError, Result};
use crate::progress::{Counting, Observer};
use crate::reference::Reference;
use crate::remote::{Progress, RegistryDestination};
use crate::retry::{self, RetryPolicy};
use crate::signatures::{sign_image, SignOptions};

/// Blobs uploaded at once.
pub const PUSH_PARALLEL: usize = 4;

/// The destination of `berth push IMAGE [DEST]`: DEST (with or without `docker://`), else
/// the image's own name as given.
pub fn push_destination(image: &str, dest: Option<&str>) -> Result<Reference> {
    match dest {
        Some(d) => crate::reference::parse_docker(d),
        None => crate::reference::parse_docker(image),
    }
}

/// What `berth push` takes.
#[derive(Default)]
pub struct PushOptions {
    /// Transport and credentials.
    pub connect: ConnectOptions,
    /// Codec and manifest format changes.
    pub conversion: PushConversion,
    /// Keys to sign with after the push.
    pub sign: SignOptions,
    /// Byte-level progress of the uploads.
    pub observer: Observer,
    /// Podman's retries of reaching the registry (`--retry`, `--retry-delay`).
    pub retry: RetryPolicy,
}

/// Push `image` (a name or id in `store`) to `dest`, changed as `opts.conversion` says (codec,
/// manifest format), then sign it with the keys in `opts.sign` (signatures added next to any
/// already there). Returns the digest of the manifest pushed.
pub fn push(
    store: &Store,
    image: &str,
    dest: &Reference,
    opts: &PushOptions,
    progress: Progress<'_>,
) -> Result<Digest> {
    let digest = push_image(store, image, dest, opts, progress)?;
    if let Ok(record) = store.lookup_image(image) {
        berth_image_store::events::emit(berth_image_store::events::Event::image(
            "push",
            record.hex_id(),
            &dest.to_string(),
        ));
    }
    Ok(digest)
}

fn push_image(
    store: &Store,
    image: &str,
    dest: &Reference,
    opts: &PushOptions,
    progress: Progress<'_>,
) -> Result<Digest> {
    let (connect, conv, sign) = (&opts.connect, &opts.conversion, &opts.sign);
    let up = Uploader {
        store,
        progress,
        observer: &opts.observer,
        retry: opts.retry,
    };
    let record = store.lookup_image(image)?;
    let manifest = store.image_manifest(&record)?;
    let stored_media_type = record.manifest_media_type.clone();
    let conf = RegistriesConf::load()?;
    let endpoint = conf.push_endpoint(dest)?;
    let target = endpoint.reference;
    let mount_from = mount_candidates(&record.names, &target);
    let client = retry::if_necessary(opts.retry, || {
        connect.connect(target.registry(), &target.name(), endpoint.insecure)
    })?;
    let source = StoreSource::new(store, &[(record, Vec::new())])?;
    let images = source.images()?;
    let first = images.first().ok_or_else(|| RegistryError::Invalid {
        what: image.to_string(),
        message: "no manifest".into(),
    })?;
    progress("Getting image source signatures");
    if let Some(converted) = convert(store, &manifest, &stored_media_type, conv, progress)? {
        up.upload_all(&client, target.repository(), &mount_from, converted.blobs)?;
        progress("Writing manifest to image destination");
        let digest = digest_bytes(&converted.bytes);
        let repo = target.repository();
        client.put_manifest(
            repo,
            digest.as_ref(),
            &converted.bytes,
            &converted.media_type,
        )?;
        if let Some(tag) = target.tag() {
            client.put_manifest(repo, tag, &converted.bytes, &converted.media_type)?;
        }
        sign_image(&client, repo, dest, &digest, sign, progress)?;
        return Ok(digest);
    }
    let mut blobs: Vec<Descriptor> = manifest.layers().to_vec();
    blobs.push(manifest.config().clone());
    let uploaded = up.upload_all(&client, target.repository(), &mount_from, blobs)?;
    let repository = target.repository().to_string();
    let mut dst = RegistryDestination::new(client.clone(), target, progress).with_present(uploaded);
    let digest = copy_image(&source, first, &mut dst)?;
    sign_image(&client, &repository, dest, &digest, sign, progress)?;
    Ok(digest)
}

/// Repositories of `target`'s registry that the image is also named in: blobs can be mounted
/// from them instead of uploaded.
fn mount_candidates(names: &[Reference], target: &Reference) -> Vec<String> {
    let mut out: Vec<String> = names
        .iter()
        .filter(|r| r.registry() == target.registry() && r.repository() != target.repository())
        .map(|r| r.repository().to_string())
        .collect();
    out.dedup();
    out.truncate(3);
    out
}

/// Uploads blobs of the store, reporting lines and bytes.
struct Uploader<'a> {
    store: &'a Store,
    progress: Progress<'a>,
    observer: &'a Observer,
    /// Each blob's retries (`retry::blob`), as the push's own.
    retry: RetryPolicy,
}

impl Uploader<'_> {
    /// Make every blob present in `repo`, [`PUSH_PARALLEL`] at a time: skipped when present,
    /// mounted from one of `mount_from` (other repositories of the same registry the image is
    /// known under) when the registry allows, else uploaded. Returns their digests.
    fn upload_all(
        &self,
        client: &Client,
        repo: &str,
        mount_from: &[String],
        blobs: Vec<Descriptor>,
    ) -> Result<HashSet<Digest>> {
        let mut seen = HashSet::new();
        let queue: VecDeque<Descriptor> = blobs
            .into_iter()
            .filter(|d| seen.insert(d.digest().clone()))
            .collect();
        let workers = PUSH_PARALLEL.min(queue.len().max(1));
        let queue = Mutex::new(queue);
        let failed: Mutex<Option<RegistryError>> = Mutex::new(None);
        std::thread::scope(|s| {
            for _ in 0..workers {
                s.spawn(|| loop {
                    if failed.lock().map(|f| f.is_some()).unwrap_or(true) {
                        return;
                    }
                    let next = queue.lock().ok().and_then(|mut q| q.pop_front());
                    let Some(desc) = next else { return };
                    if let Err(e) = self.upload_one(client, repo, mount_from, &desc) {
                        if let Ok(mut f) = failed.lock() {
                            f.get_or_insert(e);
                        }
                        return;
                    }
                });
            }
        });
        match failed.into_inner().ok().flatten() {
            Some(e) => Err(e),
            None => Ok(seen),
        }
    }

    fn upload_one(
        &self,
        client: &Client,
        repo: &str,
        mount_from: &[String],
        desc: &Descriptor,
    ) -> Result<()> {
        let progress = self.progress;
        let kind = crate::remote::blob_kind(desc);
        if client.has_blob(repo, desc.digest(), true)? {
            progress(&format!(
                "Copying {kind} {} skipped: already exists",
                desc.digest()
            ));
            return Ok(());
        }
        for from in mount_from {
            if client.mount_blob(repo, desc.digest(), from)? {
                progress(&format!(
                    "Copying {kind} {} skipped: mounted from {from}",
                    desc.digest()
                ));
                return Ok(());
            }
        }
        progress(&format!("Copying {kind} {}", desc.digest()));
        retry::blob(self.retry, desc.digest(), || {
            let file = self.store.content().open(desc.digest())?;
            self.observer.start(desc.digest(), desc.size(), 0);
            let mut reader = Counting::new(file, self.observer, desc.digest());
            let result = client.upload_blob(repo, desc.digest(), desc.size(), &mut reader);
            self.observer.finish(desc.digest(), result.is_ok());
            result
        })
    }
}
