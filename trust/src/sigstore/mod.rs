//! Cosign-format keys and signatures, key-based (no Fulcio, no Rekor).
//!
//! - Public keys are `PUBLIC KEY` PEM blocks holding a DER SubjectPublicKeyInfo; ECDSA P-256 is
//!   the one key type supported (what `cosign generate-key-pair` makes).
//! - Private keys are cosign's encrypted format: a PEM block `ENCRYPTED SIGSTORE PRIVATE KEY`
//!   (older cosign: `ENCRYPTED COSIGN PRIVATE KEY`) whose body is a JSON document
//!   `{"kdf":{"name":"scrypt","params":{"N":…,"r":8,"p":1},"salt":B64},
//!   "cipher":{"name":"nacl/secretbox","nonce":B64},"ciphertext":B64}`. The ciphertext is the
//!   NaCl secretbox (XSalsa20-Poly1305, tag first) of the PKCS#8 DER private key, under the
//!   32-byte key scrypt(passphrase, salt, N, r, p).
//! - [`KeyPairFiles`]: `generate-sigstore-key`'s two files, written new.
//! - A signature is the base64 of an ASN.1 DER ECDSA signature over SHA-256 of the payload.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use crypto_secretbox::aead::{Aead, KeyInit};
use crypto_secretbox::XSalsa20Poly1305;
use p256::ecdsa::signature::{Signer, Verifier};
use p256::ecdsa::{DerSignature, Signature, SigningKey, VerifyingKey};
use p256::pkcs8::der::Decode;
use p256::pkcs8::spki::{ObjectIdentifier, SubjectPublicKeyInfoRef};
use p256::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

mod key_files;
pub use key_files::KeyPairFiles;

/// PEM type of a public key.
pub const PUBLIC_KEY_PEM_TYPE: &str = "PUBLIC KEY";
/// PEM type of an encrypted private key as current cosign writes it.
pub const SIGSTORE_PRIVATE_KEY_PEM_TYPE: &str = "ENCRYPTED SIGSTORE PRIVATE KEY";
/// PEM type of an encrypted private key as older cosign wrote it.
pub const COSIGN_PRIVATE_KEY_PEM_TYPE: &str = "ENCRYPTED COSIGN PRIVATE KEY";

const KDF_SCRYPT: &str = "scrypt";
const CIPHER_SECRETBOX: &str = "nacl/secretbox";
/// scrypt N written by [`generate_key_pair`] (cosign's default).
const SCRYPT_LOG_N: u8 = 16;
const SCRYPT_R: u32 = 8;
const SCRYPT_P: u32 = 1;
const SALT_LEN: usize = 32;
const NONCE_LEN: usize = 24;
const BOX_KEY_LEN: usize = 32;
/// A key file or signature bigger than this is not a cosign key or signature.
const MAX_PEM_BYTES: usize = 64 << 10;
const MAX_SIGNATURE_B64: usize = 4096;

const OID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const OID_P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const OID_P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const OID_P521: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.35");
const OID_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const OID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");

/// Why a key could not be read or written, or a signature did not verify. The message is one
/// line naming the object concerned (`public key`, `private key`, `signature`); callers add the
/// file name.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Not a PEM block at all, or a broken one.
    #[error("{what}: not a PEM block: {detail}")]
    Pem { what: &'static str, detail: String },
    /// A PEM block of another type.
    #[error("{what}: PEM type {found:?}, expected {expected}")]
    PemType {
        what: &'static str,
        found: String,
        expected: String,
    },
    /// A well-formed key of a kind berth does not handle.
    #[error("{what}: unsupported key type {key_type} (only ECDSA P-256 is supported)")]
    UnsupportedKeyType {
        what: &'static str,
        key_type: String,
    },
    /// Bytes that do not decode as a key.
    #[error("{what}: invalid key: {detail}")]
    InvalidKey { what: &'static str, detail: String },
    /// The encrypted private key's JSON envelope is malformed or uses unknown parameters.
    #[error("private key: malformed encrypted key: {0}")]
    Envelope(String),
    /// The passphrase does not open the private key.
    #[error("private key: wrong passphrase (decryption failed)")]
    WrongPassphrase,
    /// The signature is not base64.
    #[error("signature: not valid base64: {0}")]
    SignatureBase64(String),
    /// The signature is not an ASN.1 DER ECDSA signature.
    #[error("signature: not an ASN.1 DER ECDSA signature: {0}")]
    SignatureFormat(String),
    /// The signature is well formed but was not made by this key over this payload.
    #[error("signature: does not verify with this public key")]
    BadSignature,
    /// The operating system's random number generator failed.
    #[error("random number generator: {0}")]
    Random(String),
}

/// A cosign verification key (ECDSA P-256).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SigstorePublicKey {
    key: VerifyingKey,
}

impl SigstorePublicKey {
    /// Reads a `PUBLIC KEY` PEM block (SubjectPublicKeyInfo).
    pub fn from_pem(pem: &[u8]) -> Result<Self, KeyError> {
        const WHAT: &str = "public key";
        let der = pem_decode(pem, &[PUBLIC_KEY_PEM_TYPE], WHAT)?;
        let spki = SubjectPublicKeyInfoRef::from_der(&der).map_err(|e| KeyError::InvalidKey {
            what: WHAT,
            detail: format!("not a DER SubjectPublicKeyInfo: {e}"),
        })?;
        check_algorithm(
            spki.algorithm.oid,
            spki.algorithm
                .parameters
                .and_then(|p| p.decode_as::<ObjectIdentifier>().ok()),
            WHAT,
        )?;
        let key = VerifyingKey::from_public_key_der(&der).map_err(|e| KeyError::InvalidKey {
            what: WHAT,
            detail: e.to_string(),
        })?;
        Ok(SigstorePublicKey { key })
    }

    /// Checks `signature_b64` (base64 of an ASN.1 DER ECDSA-SHA256 signature) over `payload`.
    pub fn verify(&self, payload: &[u8], signature_b64: &str) -> Result<(), KeyError> {
        let text = signature_b64.trim();
        if text.len() > MAX_SIGNATURE_B64 {
            return Err(KeyError::SignatureFormat(format!(
                "{} bytes of base64 is too long for an ECDSA signature",
                text.len()
            )));
        }
        if text.is_empty() {
            return Err(KeyError::SignatureBase64("empty".into()));
        }
        let der = B64
            .decode(text)
            .map_err(|e| KeyError::SignatureBase64(e.to_string()))?;
        let signature =
            Signature::from_der(&der).map_err(|e| KeyError::SignatureFormat(e.to_string()))?;
        self.key
            .verify(payload, &signature)
            .map_err(|_| KeyError::BadSignature)
    }

    /// The key as a `PUBLIC KEY` PEM block, as cosign writes `NAME.pub`.
    pub fn to_pem(&self) -> Vec<u8> {
        let der = self
            .key
            .to_public_key_der()
            .expect("a P-256 public key always encodes");
        pem_encode(PUBLIC_KEY_PEM_TYPE, der.as_bytes())
    }
}

/// A cosign signing key (ECDSA P-256), decrypted.
#[derive(Clone)]
pub struct SigstorePrivateKey {
    key: SigningKey,
}

impl std::fmt::Debug for SigstorePrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigstorePrivateKey")
            .field("public_key", &self.key.verifying_key())
            .finish_non_exhaustive()
    }
}

impl SigstorePrivateKey {
    /// Reads cosign's encrypted private key (`ENCRYPTED SIGSTORE PRIVATE KEY`, or the older
    /// `ENCRYPTED COSIGN PRIVATE KEY`) and decrypts it with `passphrase`.
    pub fn from_encrypted_pem(pem: &[u8], passphrase: &[u8]) -> Result<Self, KeyError> {
        const WHAT: &str = "private key";
        let body = pem_decode(
            pem,
            &[SIGSTORE_PRIVATE_KEY_PEM_TYPE, COSIGN_PRIVATE_KEY_PEM_TYPE],
            WHAT,
        )?;
        let pkcs8 = decrypt_envelope(&body, passphrase)?;
        let info =
            p256::pkcs8::PrivateKeyInfo::from_der(&pkcs8).map_err(|e| KeyError::InvalidKey {
                what: WHAT,
                detail: format!("not a PKCS#8 private key: {e}"),
            })?;
        check_algorithm(
            info.algorithm.oid,
            info.algorithm
                .parameters
                .and_then(|p| p.decode_as::<ObjectIdentifier>().ok()),
            WHAT,
        )?;
        let key = SigningKey::from_pkcs8_der(&pkcs8).map_err(|e| KeyError::InvalidKey {
            what: WHAT,
            detail: e.to_string(),
        })?;
        Ok(SigstorePrivateKey { key })
    }

    /// Signs `payload`: base64 of the ASN.1 DER ECDSA signature over its SHA-256, the value of
    /// the `dev.cosignproject.cosign/signature` annotation.
    pub fn sign(&self, payload: &[u8]) -> String {
        let signature: DerSignature = self.key.sign(payload);
        B64.encode(signature.as_bytes())
    }

    /// The matching verification key.
    pub fn public_key(&self) -> SigstorePublicKey {
        SigstorePublicKey {
            key: *self.key.verifying_key(),
        }
    }

    /// The key in cosign's encrypted format, under `passphrase`.
    fn to_encrypted_pem(&self, passphrase: &[u8]) -> Result<Vec<u8>, KeyError> {
        let pkcs8 = self.key.to_pkcs8_der().map_err(|e| KeyError::InvalidKey {
            what: "private key",
            detail: e.to_string(),
        })?;
        let body = encrypt_envelope(pkcs8.as_bytes(), passphrase)?;
        Ok(pem_encode(SIGSTORE_PRIVATE_KEY_PEM_TYPE, &body))
    }
}

/// Makes a new ECDSA P-256 key pair as `cosign generate-key-pair` does: the encrypted private
/// key PEM (`NAME.private`/`cosign.key`) and the public key PEM (`NAME.pub`).
pub fn generate_key_pair(passphrase: &[u8]) -> Result<(Vec<u8>, Vec<u8>), KeyError> {
    let mut scalar = Zeroizing::new([0u8; 32]);
    let key = loop {
        OsRng
            .try_fill_bytes(scalar.as_mut())
            .map_err(|e| KeyError::Random(e.to_string()))?;
        // Out-of-range scalars (probability about 2^-32) are drawn again.
        if let Ok(key) = SigningKey::from_slice(scalar.as_ref()) {
            break key;
        }
    };
    let private = SigstorePrivateKey { key };
    let private_pem = private.to_encrypted_pem(passphrase)?;
    Ok((private_pem, private.public_key().to_pem()))
}

/// Rejects anything but an EC key on P-256, naming what it is instead.
fn check_algorithm(
    oid: ObjectIdentifier,
    curve: Option<ObjectIdentifier>,
    what: &'static str,
) -> Result<(), KeyError> {
    let unsupported = |key_type: &str| {
        Err(KeyError::UnsupportedKeyType {
            what,
            key_type: key_type.to_string(),
        })
    };
    if oid == OID_EC_PUBLIC_KEY {
        match curve {
            Some(c) if c == OID_P256 => Ok(()),
            Some(c) if c == OID_P384 => unsupported("ECDSA P-384"),
            Some(c) if c == OID_P521 => unsupported("ECDSA P-521"),
            Some(c) => unsupported(&format!("ECDSA on curve {c}")),
            None => Err(KeyError::InvalidKey {
                what,
                detail: "EC key without a named curve".into(),
            }),
        }
    } else if oid == OID_RSA {
        unsupported("RSA")
    } else if oid == OID_ED25519 {
        unsupported("Ed25519")
    } else {
        unsupported(&format!("with algorithm OID {oid}"))
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Envelope {
    kdf: Kdf,
    cipher: Cipher,
    ciphertext: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Kdf {
    name: String,
    params: KdfParams,
    salt: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KdfParams {
    #[serde(rename = "N")]
    n: u64,
    r: u32,
    p: u32,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Cipher {
    name: String,
    nonce: String,
}

fn scrypt_key(
    passphrase: &[u8],
    salt: &[u8],
    log_n: u8,
) -> Result<Zeroizing<[u8; BOX_KEY_LEN]>, KeyError> {
    let params = scrypt::Params::new(log_n, SCRYPT_R, SCRYPT_P, BOX_KEY_LEN)
        .map_err(|e| KeyError::Envelope(format!("scrypt parameters: {e}")))?;
    let mut key = Zeroizing::new([0u8; BOX_KEY_LEN]);
    scrypt::scrypt(passphrase, salt, &params, key.as_mut())
        .map_err(|e| KeyError::Envelope(format!("scrypt: {e}")))?;
    Ok(key)
}

fn decode_field(name: &str, value: &str) -> Result<Vec<u8>, KeyError> {
    B64.decode(value)
        .map_err(|e| KeyError::Envelope(format!("{name} is not base64: {e}")))
}

/// Opens the JSON envelope of an encrypted private key: the PKCS#8 DER inside.
fn decrypt_envelope(body: &[u8], passphrase: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    let envelope: Envelope =
        serde_json::from_slice(body).map_err(|e| KeyError::Envelope(e.to_string()))?;
    if envelope.kdf.name != KDF_SCRYPT {
        return Err(KeyError::Envelope(format!(
            "unknown kdf {:?}, expected {KDF_SCRYPT:?}",
            envelope.kdf.name
        )));
    }
    if envelope.cipher.name != CIPHER_SECRETBOX {
        return Err(KeyError::Envelope(format!(
            "unknown cipher {:?}, expected {CIPHER_SECRETBOX:?}",
            envelope.cipher.name
        )));
    }
    // The parameter sets cosign and go-securesystemslib write; anything else could be a
    // denial of service (N = 2^40) and is refused as they refuse it.
    let KdfParams { n, r, p } = envelope.kdf.params;
    let log_n = match (n, r, p) {
        (32768, SCRYPT_R, SCRYPT_P) => 15,
        (65536, SCRYPT_R, SCRYPT_P) => 16,
        (131072, SCRYPT_R, SCRYPT_P) => 17,
        _ => {
            return Err(KeyError::Envelope(format!(
                "unsupported scrypt parameters N={n} r={r} p={p}"
            )))
        }
    };
    let salt = decode_field("kdf.salt", &envelope.kdf.salt)?;
    let nonce = decode_field("cipher.nonce", &envelope.cipher.nonce)?;
    if nonce.len() != NONCE_LEN {
        return Err(KeyError::Envelope(format!(
            "cipher.nonce is {} bytes, expected {NONCE_LEN}",
            nonce.len()
        )));
    }
    let ciphertext = decode_field("ciphertext", &envelope.ciphertext)?;
    if ciphertext.len() < XSalsa20Poly1305::TAG_SIZE {
        return Err(KeyError::Envelope("ciphertext is too short".into()));
    }
    let key = scrypt_key(passphrase, &salt, log_n)?;
    let cipher = XSalsa20Poly1305::new(key.as_ref().into());
    let plaintext = cipher
        .decrypt(nonce.as_slice().into(), ciphertext.as_slice())
        .map_err(|_| KeyError::WrongPassphrase)?;
    Ok(Zeroizing::new(plaintext))
}

/// Seals `plaintext` (PKCS#8 DER) into the JSON envelope with a fresh salt and nonce.
fn encrypt_envelope(plaintext: &[u8], passphrase: &[u8]) -> Result<Vec<u8>, KeyError> {
    let mut salt = [0u8; SALT_LEN];
    let mut nonce = [0u8; NONCE_LEN];
    OsRng
        .try_fill_bytes(&mut salt)
        .and_then(|()| OsRng.try_fill_bytes(&mut nonce))
        .map_err(|e| KeyError::Random(e.to_string()))?;
    let key = scrypt_key(passphrase, &salt, SCRYPT_LOG_N)?;
    let cipher = XSalsa20Poly1305::new(key.as_ref().into());
    let ciphertext = cipher
        .encrypt(nonce.as_slice().into(), plaintext)
        .map_err(|e| KeyError::Envelope(format!("encryption failed: {e}")))?;
    let envelope = Envelope {
        kdf: Kdf {
            name: KDF_SCRYPT.into(),
            params: KdfParams {
                n: 1 << SCRYPT_LOG_N,
                r: SCRYPT_R,
                p: SCRYPT_P,
            },
            salt: B64.encode(salt),
        },
        cipher: Cipher {
            name: CIPHER_SECRETBOX.into(),
            nonce: B64.encode(nonce),
        },
        ciphertext: B64.encode(ciphertext),
    };
    Ok(serde_json::to_vec(&envelope).expect("the envelope always serialises"))
}

/// Finds the first PEM block in `input` and returns its decoded body, which must be of one of
/// `types`. Text around the block and RFC 1421 headers (`Key: value` lines) are ignored.
fn pem_decode(input: &[u8], types: &[&str], what: &'static str) -> Result<Vec<u8>, KeyError> {
    let pem_err = |detail: &str| KeyError::Pem {
        what,
        detail: detail.to_string(),
    };
    if input.len() > MAX_PEM_BYTES {
        return Err(pem_err(&format!("{} bytes is too large", input.len())));
    }
    let text = std::str::from_utf8(input).map_err(|_| pem_err("not UTF-8 text"))?;
    let mut lines = text.lines().map(str::trim);
    let label = loop {
        match lines.next() {
            None => return Err(pem_err("no -----BEGIN line")),
            Some(line) => {
                if let Some(rest) = line.strip_prefix("-----BEGIN ") {
                    match rest.strip_suffix("-----") {
                        Some(label) => break label.to_string(),
                        None => return Err(pem_err("malformed -----BEGIN line")),
                    }
                }
            }
        }
    };
    if !types.contains(&label.as_str()) {
        return Err(KeyError::PemType {
            what,
            found: label,
            expected: types.join(" or "),
        });
    }
    let end = format!("-----END {label}-----");
    let mut body = String::new();
    let mut ended = false;
    for line in lines {
        if line == end {
            ended = true;
            break;
        }
        if line.starts_with("-----") {
            return Err(pem_err(&format!("expected {end:?}, found {line:?}")));
        }
        if line.contains(':') {
            continue;
        }
        body.push_str(line);
    }
    if !ended {
        return Err(pem_err(&format!("no {end:?} line")));
    }
    B64.decode(body.as_bytes())
        .map_err(|e| pem_err(&format!("body is not base64: {e}")))
}

/// A PEM block as Go's `encoding/pem` writes it: 64-column base64 lines.
fn pem_encode(label: &str, body: &[u8]) -> Vec<u8> {
    let encoded = B64.encode(body);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in encoded.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).expect("base64 is ASCII"));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out.into_bytes()
}

#[cfg(test)]
mod tests;
