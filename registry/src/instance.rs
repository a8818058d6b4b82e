//! The manifest an index entry names, fetched by digest from the same repository and accepted
//! only as the entry describes it: a size within the manifest cap (checked before the
//! request), the digest (checked by [`Client::get_manifest`]), the size, and a media type on
//! which the entry, the Content-Type and the body agree
//! ([`berth_layers::document::check_document`]).

use berth_layers::document::{check_document, Declared};
use oci_spec::image::Descriptor;

use crate::client::{Client, FetchedManifest, MAX_MANIFEST_SIZE};
use crate::error::{RegistryError, Result};

/// Fetch the manifest `desc` names from `repo`, checked against `desc`.
pub fn fetch_instance(client: &Client, repo: &str, desc: &Descriptor) -> Result<FetchedManifest> {
    let what = format!("manifest {}/{repo}@{}", client.host(), desc.digest());
    let invalid = |message: String| RegistryError::Invalid {
        what: what.clone(),
        message,
    };
    if desc.size() > MAX_MANIFEST_SIZE {
        return Err(invalid(format!(
            "the descriptor claims {} bytes, over the {MAX_MANIFEST_SIZE} byte limit for a manifest",
            desc.size()
        )));
    }
    let m = client.get_manifest(repo, desc.digest().as_ref())?;
    if m.bytes.len() as u64 != desc.size() {
        return Err(invalid(format!(
            "registry sent {} bytes, the descriptor says {}",
            m.bytes.len(),
            desc.size()
        )));
    }
    let declared: Vec<Declared> = Declared::content_type(m.content_type.as_deref())
        .into_iter()
        .chain(Declared::descriptor(desc.media_type().as_ref()))
        .collect();
    check_document(&m.bytes, &declared).map_err(invalid)?;
    Ok(m)
}
