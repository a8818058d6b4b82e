//! The contract between the trust gate and whoever fetches signatures (the registry crate).
//!
//! The registry crate implements [`SignatureSource`] for one manifest digest; the policy asks it
//! only for the kind of signature a requirement needs, so an image under `insecureAcceptAnything`
//! costs no extra request.

use std::collections::BTreeMap;

/// Upper bound on the signatures of one kind that are considered for one image. More than this
/// is refused, so 10,000 signatures cost bounded time and memory.
pub const MAX_SIGNATURES: usize = 256;

/// Upper bound on the size of one signature blob or sigstore payload.
pub const MAX_SIGNATURE_BYTES: usize = 4 << 20;

/// One cosign-format signature: the simple-signing payload layer of a `sha256-<hex>.sig`
/// manifest and its annotations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigstoreSignature {
    /// The payload blob bytes (JSON, `cosign container image signature`).
    pub payload: Vec<u8>,
    /// The layer's media type (`application/vnd.dev.cosign.simplesigning.v1+json`).
    pub media_type: String,
    /// The layer's annotations; the signature is `dev.cosignproject.cosign/signature`
    /// (base64 of an ASN.1 DER ECDSA signature).
    pub annotations: BTreeMap<String, String>,
}

/// Annotation that carries a cosign signature.
pub const COSIGN_SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";
/// Media type of a cosign simple-signing payload layer.
pub const COSIGN_PAYLOAD_MEDIA_TYPE: &str = "application/vnd.dev.cosign.simplesigning.v1+json";

/// Why signatures could not be fetched: the fetcher's own error, kind kept (the registry
/// crate's error can be downcast), its message one line naming the URL or tag concerned.
pub type FetchError = Box<dyn std::error::Error + Send + Sync>;

/// Where the policy gets signatures from.
pub trait SignatureSource {
    /// GPG simple-signing signatures (binary OpenPGP messages) for the image, e.g. from a
    /// lookaside store. An empty list when there are none.
    fn simple_signatures(&mut self) -> Result<Vec<Vec<u8>>, FetchError>;
    /// Sigstore (cosign) signatures attached to the image. An empty list when there are none.
    fn sigstore_signatures(&mut self) -> Result<Vec<SigstoreSignature>, FetchError>;
}

/// A source with no signatures at all (local transports without signature storage).
pub struct NoSignatures;

impl SignatureSource for NoSignatures {
    fn simple_signatures(&mut self) -> Result<Vec<Vec<u8>>, FetchError> {
        Ok(Vec::new())
    }
    fn sigstore_signatures(&mut self) -> Result<Vec<SigstoreSignature>, FetchError> {
        Ok(Vec::new())
    }
}
