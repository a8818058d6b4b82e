//! The push pipeline: an image of the store → a registry. Layers and config are uploaded
//! first, in parallel (HEAD each blob and skip present ones, streaming upload, retries on
//! network errors); then the one copy routine writes the manifest by digest and then by tag,
//! finding every blob present.

use std::collections::{HashSet, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use berth_image_store::copy::{copy_image, ImageSource, StoreSource};
use berth_image_store::Store;
use berth_layers::Digest;
use oci_spec::image::Descriptor;

use crate::client::Client;
use crate::config::RegistriesConf;
use crate::connect::ConnectOptions;
use crate::error::{RegistryError, Result};
use crate::reference::Reference;
use crate::remote::{Progress, RegistryDestination};

/// Blobs uploaded at once.
pub const PUSH_PARALLEL: usize = 4;
/// Attempts after the first for each blob upload.
pub const PUSH_RETRIES: u32 = 3;

/// The destination of `berth push IMAGE [DEST]`: DEST (with or without `docker://`), else
/// the image's own name as given.
pub fn push_destination(image: &str, dest: Option<&str>) -> Result<Reference> {
    match dest {
        Some(d) => Reference::parse_docker(d),
        None => Reference::parse_docker(image),
    }
}

/// Push `image` (a name or id in `store`) to `dest`. Returns the manifest digest.
pub fn push(
    store: &Store,
    image: &str,
    dest: &Reference,
    connect: &ConnectOptions,
    progress: Progress<'_>,
) -> Result<Digest> {
    let record = store.lookup_image(image)?;
    let manifest = store.image_manifest(&record)?;
    let conf = RegistriesConf::load()?;
    let endpoint = conf.push_endpoint(dest)?;
    let rt = crate::client::new_runtime()?;
    let target = endpoint.reference;
    let client = connect.connect(&rt, &target.registry, &target.name(), endpoint.insecure)?;
    let source = StoreSource::new(store, &[(record, Vec::new())])?;
    let images = source.images()?;
    let first = images.first().ok_or_else(|| RegistryError::Invalid {
        what: image.to_string(),
        message: "no manifest".into(),
    })?;
    progress("Getting image source signatures");
    let mut blobs: Vec<Descriptor> = manifest.layers().to_vec();
    blobs.push(manifest.config().clone());
    let uploaded = upload_all(store, &client, &target.repository, blobs, progress)?;
    let mut dst = RegistryDestination::new(client, target, progress).with_present(uploaded);
    let digest = copy_image(&source, first, &mut dst)?;
    Ok(digest)
}

/// Make every blob present in `repo`, [`PUSH_PARALLEL`] at a time. Returns their digests.
fn upload_all(
    store: &Store,
    client: &Client,
    repo: &str,
    blobs: Vec<Descriptor>,
    progress: Progress<'_>,
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
                if let Err(e) = upload_one(store, client, repo, &desc, progress) {
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
    store: &Store,
    client: &Client,
    repo: &str,
    desc: &Descriptor,
    progress: Progress<'_>,
) -> Result<()> {
    let kind = if desc.media_type().to_string().contains("config") {
        "config"
    } else {
        "blob"
    };
    if client.has_blob(repo, desc.digest(), true)? {
        progress(&format!(
            "Copying {kind} {} skipped: already exists",
            desc.digest()
        ));
        return Ok(());
    }
    progress(&format!("Copying {kind} {}", desc.digest()));
    let mut delay = Duration::from_secs(1);
    let mut attempt = 0;
    loop {
        let mut file = store.content().open(desc.digest())?;
        match client.upload_blob(repo, desc.digest(), desc.size(), &mut file) {
            Ok(()) => return Ok(()),
            Err(e) if e.is_transient() && attempt < PUSH_RETRIES => {
                tracing::warn!("blob {}: {e}; retrying in {delay:?}", desc.digest());
                std::thread::sleep(delay);
                delay = delay.saturating_mul(2);
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}
