//! Evaluation: fetched signatures checked against `signedBy` and `sigstoreSigned`.

use super::*;

/// Signatures fetched once per kind for all requirements.
#[derive(Default)]
pub(super) struct Fetched {
    simple: Option<Vec<Vec<u8>>>,
    sigstore: Option<Vec<SigstoreSignature>>,
}

impl Fetched {
    pub(super) fn simple(
        &mut self,
        source: &mut dyn SignatureSource,
        check: &Check<'_>,
    ) -> Result<&[Vec<u8>], TrustError> {
        if self.simple.is_none() {
            let sigs = source
                .simple_signatures()
                .map_err(|m| check.fetch_error(m))?;
            check.bounded(sigs.len())?;
            self.simple = Some(sigs);
        }
        Ok(self.simple.as_deref().unwrap_or_default())
    }

    pub(super) fn sigstore(
        &mut self,
        source: &mut dyn SignatureSource,
        check: &Check<'_>,
    ) -> Result<&[SigstoreSignature], TrustError> {
        if self.sigstore.is_none() {
            let sigs = source
                .sigstore_signatures()
                .map_err(|m| check.fetch_error(m))?;
            check.bounded(sigs.len())?;
            self.sigstore = Some(sigs);
        }
        Ok(self.sigstore.as_deref().unwrap_or_default())
    }
}

/// One signature requirement being evaluated against one image.
pub(super) struct Check<'a> {
    pub(super) image: &'a UnverifiedImage,
    pub(super) applied: &'a str,
}

impl Check<'_> {
    fn fetch_error(&self, cause: FetchError) -> TrustError {
        TrustError::Signatures {
            reference: self.image.reference.clone(),
            cause,
            applied: self.applied.to_string(),
        }
    }

    fn bounded(&self, count: usize) -> Result<(), TrustError> {
        if count > MAX_SIGNATURES {
            return Err(TrustError::TooManySignatures {
                count,
                max: MAX_SIGNATURES,
                applied: self.applied.to_string(),
            });
        }
        Ok(())
    }

    fn rejected(&self, reason: String) -> TrustError {
        TrustError::SignatureRejected {
            reason,
            applied: self.applied.to_string(),
        }
    }

    fn key_error(&self, key: String, message: String) -> TrustError {
        TrustError::Key {
            key,
            message,
            applied: self.applied.to_string(),
        }
    }

    /// The digest and identity checks shared by both signature kinds, on a payload whose
    /// signature has been verified.
    fn accept_payload(
        &self,
        kind: PayloadKind,
        payload: &[u8],
        identity: &SignedIdentity,
    ) -> Result<(), TrustError> {
        let p = parse_payload(kind, payload)?;
        let want = self.image.signed_digest.to_string();
        if p.manifest_digest != want {
            return Err(TrustError::SignedDigest {
                signed: p.manifest_digest,
                image: want,
            });
        }
        if !identity.matches(&self.image.reference, &p.docker_reference) {
            return Err(TrustError::SignedIdentity {
                identity: p.docker_reference,
            });
        }
        Ok(())
    }

    pub(super) fn signed_by(
        &self,
        key_type: &str,
        keys: &KeySource,
        identity: &SignedIdentity,
        sigs: &[Vec<u8>],
    ) -> Result<(), TrustError> {
        if key_type != "GPGKeys" {
            return Err(TrustError::Unsupported {
                what: format!("signedBy keyType {key_type:?} is not supported (only \"GPGKeys\")"),
                applied: self.applied.to_string(),
            });
        }
        // As containers/image: with no signature at all, the keys are not even read.
        if sigs.is_empty() {
            return Err(self.rejected(NO_SIGNATURE.to_string()));
        }
        let keyrings = keys
            .load()
            .map_err(|(key, message)| self.key_error(key, message))?;
        let keyrings = keyrings
            .iter()
            .map(|(name, bytes)| {
                GpgKeyring::from_bytes(bytes)
                    .map_err(|e| self.key_error(name.clone(), e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut reasons = Reasons::default();
        for sig in sigs {
            let result = if sig.len() > MAX_SIGNATURE_BYTES {
                Err(TrustError::SignatureTooLarge {
                    what: "signature",
                    size: sig.len(),
                })
            } else {
                gpg_verify(&keyrings, sig).and_then(|payload| {
                    self.accept_payload(PayloadKind::Atomic, &payload, identity)
                })
            };
            match result {
                Ok(()) => return Ok(()),
                Err(reason) => reasons.push(reason),
            }
        }
        Err(self.rejected(reasons.summary(0)))
    }

    pub(super) fn sigstore_signed(
        &self,
        keys: &KeySource,
        identity: &SignedIdentity,
        sigs: &[SigstoreSignature],
    ) -> Result<(), TrustError> {
        let skipped = sigs
            .iter()
            .filter(|s| s.media_type != COSIGN_PAYLOAD_MEDIA_TYPE)
            .count();
        if skipped == sigs.len() {
            return Err(self.rejected(Reasons::default().summary(skipped)));
        }
        let keys = keys
            .load()
            .map_err(|(key, message)| self.key_error(key, message))?
            .into_iter()
            .map(|(name, pem)| {
                crate::sigstore::SigstorePublicKey::from_pem(&pem)
                    .map_err(|e| self.key_error(name, e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut reasons = Reasons::default();
        // Attestations and other attachments are not signatures.
        for sig in sigs
            .iter()
            .filter(|s| s.media_type == COSIGN_PAYLOAD_MEDIA_TYPE)
        {
            let result = (|| {
                if sig.payload.len() > MAX_SIGNATURE_BYTES {
                    return Err(TrustError::SignatureTooLarge {
                        what: "payload",
                        size: sig.payload.len(),
                    });
                }
                let Some(b64) = sig.annotations.get(COSIGN_SIGNATURE_ANNOTATION) else {
                    return Err(TrustError::MissingAnnotation {
                        annotation: COSIGN_SIGNATURE_ANNOTATION,
                    });
                };
                let mut last = TrustError::NoKey("public key");
                if !keys.iter().any(|k| match k.verify(&sig.payload, b64) {
                    Ok(()) => true,
                    Err(e) => {
                        last = TrustError::Sigstore(e);
                        false
                    }
                }) {
                    return Err(last);
                }
                self.accept_payload(PayloadKind::Cosign, &sig.payload, identity)
            })();
            match result {
                Ok(()) => return Ok(()),
                Err(reason) => reasons.push(reason),
            }
        }
        Err(self.rejected(reasons.summary(skipped)))
    }
}

/// Why each signature was refused, summarized as containers/image does.
#[derive(Default)]
struct Reasons(Vec<TrustError>);

impl Reasons {
    fn push(&mut self, reason: TrustError) {
        self.0.push(reason);
    }

    fn summary(&self, skipped: usize) -> String {
        match self.0.as_slice() {
            [] if skipped == 0 => NO_SIGNATURE.to_string(),
            [] => format!("{NO_SIGNATURE} ({skipped} sigstore non-signature attachments)"),
            [one] => one.to_string(),
            many => {
                // Distinct reasons only, a few of them: 256 identical lines help nobody.
                let mut distinct: Vec<String> = Vec::new();
                for r in many.iter().map(TrustError::to_string) {
                    if !distinct.contains(&r) {
                        distinct.push(r);
                    }
                }
                let shown: Vec<&str> = distinct.iter().take(5).map(|s| s.as_str()).collect();
                let more = distinct.len().saturating_sub(shown.len());
                let tail = if more > 0 {
                    format!("; and {more} other reasons")
                } else {
                    String::new()
                };
                format!(
                    "None of the {} signatures were accepted, reasons: {}{tail}",
                    many.len(),
                    shown.join("; ")
                )
            }
        }
    }
}

/// Verify a GPG simple signature with any of `keyrings`, returning the signed payload. The
/// error is the first keyring's reason (one keyring is the common case).
fn gpg_verify(keyrings: &[GpgKeyring], signature: &[u8]) -> Result<Vec<u8>, TrustError> {
    let mut first = None;
    for ring in keyrings {
        match ring.verify(signature) {
            Ok(v) => return Ok(v.payload),
            Err(e) => {
                first.get_or_insert(e);
            }
        }
    }
    Err(first.map_or(TrustError::NoKey("keyring"), TrustError::Gpg))
}
