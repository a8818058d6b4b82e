//! `berth copy --all`: a manifest list and every image in it, `docker://` → `docker://`.
//!
//! The list passes the trust gate (its own digest and signatures); each image is then
//! accepted only as an instance of that verified list ([`VerifiedImage::instance`]): listed by
//! digest and hashing to it. Images are copied blob by blob (HEAD-skip, streaming), written by
//! digest, then the list's exact bytes by digest and by tag, and signed if asked.

use oci_spec::image::{ImageIndex, MediaType};

use berth_image_store::copy::{copy_image, ImageSource};
use berth_layers::media_type::is_image_manifest;
use berth_layers::Digest;
use berth_trust::VerifiedImage;

use crate::config::RegistriesConf;
use crate::connect::ConnectOptions;
use crate::error::{RegistryError, Result};
use crate::instance::fetch_instance;
use crate::pull::Fetched;
use crate::remote::{Progress, RegistryDestination, RegistrySource};
use crate::signatures::{sign_image, SignOptions};

/// Copy the verified list `fetched` and its images to the registry reference `dest`
/// (connected with `destination`, signed as `sign` says). Returns the list digest.
pub fn copy_list(
    fetched: &Fetched,
    dest: &str,
    destination: &ConnectOptions,
    sign: &SignOptions,
    progress: Progress<'_>,
) -> Result<Digest> {
    let list = &fetched.image;
    let reference = crate::reference::parse_docker(dest)?;
    let endpoint = RegistriesConf::load()?.push_endpoint(&reference)?;
    let target = endpoint.reference;
    let client = destination.connect(target.registry(), &target.name(), endpoint.insecure)?;
    let what = format!("manifest list {} ({})", fetched.endpoint, list.digest());
    let index: ImageIndex =
        serde_json::from_slice(list.manifest()).map_err(|e| RegistryError::Invalid {
            what: what.clone(),
            message: e.to_string(),
        })?;
    let src_repo = fetched.endpoint.repository();
    let untagged = target.name_only();
    for entry in index.manifests() {
        let digest = entry.digest();
        let m = fetch_instance(&fetched.client, src_repo, entry)?;
        if !is_image_manifest(&MediaType::from(m.media_type.as_str())) {
            return Err(RegistryError::Invalid {
                what: format!("{what}: {digest}"),
                message: format!(
                    "unsupported media type {} (nested lists are not copied)",
                    m.media_type
                ),
            });
        }
        let image: VerifiedImage =
            list.instance(digest, &m.media_type, m.bytes)
                .map_err(|source| RegistryError::ListInstance {
                    what: what.clone(),
                    source: Box::new(source),
                })?;
        progress(&format!("Copying image {digest}"));
        let source = RegistrySource::new(fetched.client.clone(), src_repo, image, Vec::new());
        let one = source.images()?.remove(0);
        let mut d = RegistryDestination::new(client.clone(), untagged.clone(), progress);
        copy_image(&source, &one, &mut d)?;
    }
    progress("Writing manifest list to image destination");
    let repo = target.repository();
    let digest = list.digest().clone();
    client.put_manifest(repo, digest.as_ref(), list.manifest(), list.media_type())?;
    if let Some(tag) = target.tag() {
        client.put_manifest(repo, tag, list.manifest(), list.media_type())?;
    }
    sign_image(&client, repo, &reference, &digest, sign, progress)?;
    Ok(digest)
}
