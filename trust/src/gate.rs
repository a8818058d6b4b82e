//! The trust gate's two types. Only this crate constructs a [`VerifiedImage`].

use berth_layers::Digest;

use crate::error::TrustError;

/// A manifest fetched from outside, not yet checked against the policy.
#[derive(Debug, Clone)]
pub struct UnverifiedImage {
    /// Transport name as in policy.json (`docker`).
    pub transport: String,
    /// Fully qualified reference: `host[:port]/repo[:tag][@digest]`.
    pub reference: String,
    /// Digest of `manifest` (computed by the fetcher, which verified it).
    pub digest: Digest,
    /// The digest signatures must name: the manifest the reference points at, which is a
    /// list's digest when `manifest` was picked from a list, else `digest`.
    pub signed_digest: Digest,
    /// Manifest media type.
    pub media_type: String,
    /// The manifest bytes.
    pub manifest: Vec<u8>,
}

/// An image the policy accepted. The fields are private: only [`crate::Policy::verify`]
/// makes one.
#[derive(Debug, Clone)]
pub struct VerifiedImage {
    inner: UnverifiedImage,
}

impl VerifiedImage {
    pub(crate) fn accept(inner: UnverifiedImage) -> VerifiedImage {
        VerifiedImage { inner }
    }

    /// The reference it was fetched under.
    pub fn reference(&self) -> &str {
        &self.inner.reference
    }

    /// Digest of the manifest.
    pub fn digest(&self) -> &Digest {
        &self.inner.digest
    }

    /// The digest the signatures were checked against.
    pub fn signed_digest(&self) -> &Digest {
        &self.inner.signed_digest
    }

    /// Manifest media type.
    pub fn media_type(&self) -> &str {
        &self.inner.media_type
    }

    /// The manifest bytes.
    pub fn manifest(&self) -> &[u8] {
        &self.inner.manifest
    }

    /// One image of a verified manifest list: accepted when `digest` is listed in this
    /// image's index and `manifest` hashes to it. The list's verification covers it, as
    /// containers/image checks signatures on the top-level manifest only.
    pub fn instance(
        &self,
        digest: &Digest,
        media_type: &str,
        manifest: Vec<u8>,
    ) -> Result<VerifiedImage, TrustError> {
        let index: serde_json::Value =
            serde_json::from_slice(&self.inner.manifest).map_err(|source| {
                TrustError::ListUnreadable {
                    list: self.inner.digest.clone(),
                    source,
                }
            })?;
        let listed = index["manifests"].as_array().is_some_and(|l| {
            l.iter()
                .any(|m| m["digest"].as_str() == Some(digest.as_ref()))
        });
        if !listed {
            return Err(TrustError::NotInList {
                digest: digest.clone(),
                list: self.inner.digest.clone(),
            });
        }
        let actual = berth_layers::digest::digest_bytes(&manifest);
        if &actual != digest {
            return Err(TrustError::ManifestDigest {
                expected: digest.clone(),
                actual,
            });
        }
        Ok(VerifiedImage::accept(UnverifiedImage {
            transport: self.inner.transport.clone(),
            reference: self.inner.reference.clone(),
            digest: digest.clone(),
            signed_digest: self.inner.signed_digest.clone(),
            media_type: media_type.to_string(),
            manifest,
        }))
    }
}
