//! OpenPGP for GPG "simple signing": verification in Rust (rPGP), signing through `gpg`.
//!
//! A simple-signing signature is an OpenPGP *signed message* (not a detached signature), as
//! gpgme and `gpg --sign` make it: usually a compressed packet holding a one-pass signature, the
//! literal data (the JSON payload) and the signature. [`GpgKeyring::verify`] checks it against
//! the keys of a keyring (primary keys and signing subkeys bound to them) and returns the
//! literal data, which the caller then parses and matches against the image.
//!
//! Work is bounded: signature blobs and decompressed payloads above
//! [`MAX_SIGNATURE_BYTES`] are refused, so a compression bomb costs at most that much memory.

use std::io::{BufReader, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime};

use pgp::composed::{Deserializable, Message, SignedPublicKey, SignedPublicSubKey};
use pgp::packet::{Signature, SignatureType};
use pgp::types::{Fingerprint, KeyDetails, KeyId, Tag};

use crate::signature::MAX_SIGNATURE_BYTES;

/// Most keys one keyring may hold; more is not a keyring anyone maintains by hand.
const MAX_KEYS: usize = 1024;
/// Most compression layers unwrapped around a signed message.
const MAX_COMPRESSION_DEPTH: usize = 4;

/// Why a keyring could not be read, a signature did not verify, or `gpg` could not sign. The
/// message is one line.
#[derive(Debug, thiserror::Error)]
pub enum GpgError {
    /// The keyring data holds no usable OpenPGP public key.
    #[error("keyring: {0}")]
    Keyring(String),
    /// The signature is larger than [`MAX_SIGNATURE_BYTES`].
    #[error("signature: {size} bytes is over the {limit}-byte limit")]
    TooLarge { size: usize, limit: usize },
    /// The signed payload is larger than [`MAX_SIGNATURE_BYTES`] once decompressed.
    #[error("signature: the signed payload is over the {limit}-byte limit")]
    PayloadTooLarge { limit: usize },
    /// The signature is not an OpenPGP signed message.
    #[error("signature: not an OpenPGP signed message: {0}")]
    Malformed(String),
    /// None of the signatures in the message was made by a key in the keyring.
    #[error("signature: made by key {key_ids}, which is not in the keyring")]
    UnknownKey { key_ids: String },
    /// The signing key is in the keyring but revoked.
    #[error("signature: signing key {fingerprint} is revoked")]
    KeyRevoked { fingerprint: String },
    /// The signing key is in the keyring but expired.
    #[error("signature: signing key {fingerprint} expired")]
    KeyExpired { fingerprint: String },
    /// A key of the keyring made the signature, but it does not verify: the message was
    /// altered, or the signature is broken.
    #[error("signature: invalid signature by key {fingerprint}: {detail}")]
    BadSignature { fingerprint: String, detail: String },
    /// Running `gpg` to sign failed.
    #[error("gpg --sign: {0}")]
    Sign(String),
}

/// The result of a verified simple signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GpgVerified {
    /// The signed literal data (the simple-signing JSON).
    pub payload: Vec<u8>,
    /// Upper-case hex fingerprint of the primary key whose key (primary or subkey) signed.
    pub fingerprint: String,
}

/// A set of OpenPGP public keys, as `gpg --export` writes them (armored or binary, one or
/// several keys).
#[derive(Debug, Clone)]
pub struct GpgKeyring {
    keys: Vec<RingKey>,
}

#[derive(Debug, Clone)]
struct RingKey {
    key: SignedPublicKey,
    fingerprint: String,
    state: KeyState,
    /// Subkeys with a valid signing binding (and back signature), with their own state.
    signing_subkeys: Vec<(SignedPublicSubKey, KeyState)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyState {
    Usable,
    Revoked,
    Expired,
}

impl GpgKeyring {
    /// Reads one or several public keys, armored (possibly several armored blocks one after the
    /// other) or binary. Keys rPGP cannot parse are skipped; no key at all is an error.
    pub fn from_bytes(data: &[u8]) -> Result<Self, GpgError> {
        let mut keys = Vec::new();
        let mut first_error = None;
        let mut add = |parsed: Result<SignedPublicKey, pgp::errors::Error>| match parsed {
            Ok(key) => {
                if keys.len() < MAX_KEYS {
                    keys.push(RingKey::new(key));
                }
            }
            Err(e) => {
                first_error.get_or_insert_with(|| e.to_string());
            }
        };
        if looks_armored(data) {
            for block in armor_blocks(data) {
                match SignedPublicKey::from_armor_many(block) {
                    Ok((iter, _headers)) => iter.for_each(&mut add),
                    Err(e) => add(Err(e)),
                }
            }
        } else {
            match SignedPublicKey::from_bytes_many(BufReader::new(data)) {
                Ok(iter) => iter.for_each(&mut add),
                Err(e) => add(Err(e)),
            }
        }
        if keys.is_empty() {
            return Err(GpgError::Keyring(match first_error {
                Some(e) => format!("no usable OpenPGP public key: {e}"),
                None => "no OpenPGP public key found".to_string(),
            }));
        }
        Ok(GpgKeyring { keys })
    }

    /// Upper-case hex fingerprints of the primary keys, in keyring order.
    pub fn fingerprints(&self) -> Vec<String> {
        self.keys.iter().map(|k| k.fingerprint.clone()).collect()
    }

    /// Verifies a signed message made by a key of this keyring and returns its literal data.
    pub fn verify(&self, signature: &[u8]) -> Result<GpgVerified, GpgError> {
        if signature.len() > MAX_SIGNATURE_BYTES {
            return Err(GpgError::TooLarge {
                size: signature.len(),
                limit: MAX_SIGNATURE_BYTES,
            });
        }
        let malformed = |e: &dyn std::fmt::Display| GpgError::Malformed(e.to_string());
        let mut message = if looks_armored(signature) {
            Message::from_armor(signature).map_err(|e| malformed(&e))?.0
        } else {
            Message::from_bytes(signature).map_err(|e| malformed(&e))?
        };
        for _ in 0..MAX_COMPRESSION_DEPTH {
            if !message.is_compressed() {
                break;
            }
            message = message.decompress().map_err(|e| malformed(&e))?;
        }
        if message.is_encrypted() {
            return Err(GpgError::Malformed("the message is encrypted".into()));
        }
        if message.is_compressed() {
            return Err(GpgError::Malformed("too many compression layers".into()));
        }
        if !message.is_signed() {
            return Err(GpgError::Malformed("the message is not signed".into()));
        }
        // Reading to the end computes the hashes the signatures are checked against; the limit
        // bounds what a compression bomb can make us allocate.
        let mut payload = Vec::new();
        (&mut message)
            .take(MAX_SIGNATURE_BYTES as u64 + 1)
            .read_to_end(&mut payload)
            .map_err(|e| malformed(&e))?;
        if payload.len() > MAX_SIGNATURE_BYTES {
            return Err(GpgError::PayloadTooLarge {
                limit: MAX_SIGNATURE_BYTES,
            });
        }
        let count = match &message {
            Message::Signed { reader, .. } => reader.num_signatures(),
            _ => 0,
        };
        let now = SystemTime::now();
        let mut unknown = Vec::new();
        let mut first_failure = None;
        for index in 0..count {
            let Some(sig) = signature_at(&message, index) else {
                continue;
            };
            let ids = issuer_ids(sig);
            let mut matched = false;
            for ring_key in &self.keys {
                for (signer, state) in ring_key.candidates(&ids) {
                    matched = true;
                    let outcome = match state {
                        KeyState::Revoked => Err(GpgError::KeyRevoked {
                            fingerprint: ring_key.fingerprint.clone(),
                        }),
                        KeyState::Expired => Err(GpgError::KeyExpired {
                            fingerprint: ring_key.fingerprint.clone(),
                        }),
                        KeyState::Usable => {
                            signer.verify(&message, index, now, &ring_key.fingerprint)
                        }
                    };
                    match outcome {
                        Ok(()) => {
                            return Ok(GpgVerified {
                                payload,
                                fingerprint: ring_key.fingerprint.clone(),
                            })
                        }
                        Err(e) => {
                            first_failure.get_or_insert(e);
                        }
                    }
                }
            }
            if !matched {
                unknown.extend(ids.iter().map(IssuerId::to_hex));
            }
        }
        if let Some(e) = first_failure {
            return Err(e);
        }
        if count == 0 {
            return Err(GpgError::Malformed(
                "the message carries no signature".into(),
            ));
        }
        unknown.dedup();
        Err(GpgError::UnknownKey {
            key_ids: if unknown.is_empty() {
                "(no issuer recorded)".to_string()
            } else {
                unknown.join(", ")
            },
        })
    }
}

fn signature_at<'m>(message: &'m Message<'_>, index: usize) -> Option<&'m Signature> {
    match message {
        Message::Signed { reader, .. } => reader.signature(index),
        _ => None,
    }
}

/// Who a signature says made it.
enum IssuerId {
    KeyId(KeyId),
    Fingerprint(Fingerprint),
}

impl IssuerId {
    fn to_hex(&self) -> String {
        match self {
            IssuerId::KeyId(id) => hex_upper(id.as_ref()),
            IssuerId::Fingerprint(fp) => format!("{fp:X}"),
        }
    }

    fn matches(&self, key: &impl KeyDetails) -> bool {
        match self {
            IssuerId::KeyId(id) => key.legacy_key_id() == *id,
            IssuerId::Fingerprint(fp) => key.fingerprint() == *fp,
        }
    }
}

fn issuer_ids(sig: &Signature) -> Vec<IssuerId> {
    let mut ids: Vec<IssuerId> = sig
        .issuer_fingerprint()
        .into_iter()
        .map(|fp| IssuerId::Fingerprint(fp.clone()))
        .collect();
    ids.extend(
        sig.issuer_key_id()
            .into_iter()
            .map(|id| IssuerId::KeyId(*id)),
    );
    ids
}

fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// A key that may have made a message signature.
enum Signer<'k> {
    Primary(&'k SignedPublicKey),
    Subkey(&'k SignedPublicSubKey),
}

impl Signer<'_> {
    /// Verify signature `index` of `message` with this key (of `fingerprint`) at `now`.
    fn verify(
        &self,
        message: &Message<'_>,
        index: usize,
        now: SystemTime,
        fingerprint: &str,
    ) -> Result<(), GpgError> {
        let bad = |detail: String| GpgError::BadSignature {
            fingerprint: fingerprint.to_string(),
            detail,
        };
        let result = match self {
            Signer::Primary(k) => message.verify_nested_explicit(index, &k.primary_key),
            Signer::Subkey(k) => message.verify_nested_explicit(index, &k.key),
        };
        let sig = result.map_err(|e| bad(e.to_string()))?;
        if !matches!(
            sig.typ(),
            Some(SignatureType::Binary) | Some(SignatureType::Text)
        ) {
            return Err(bad(format!("unexpected signature type {:?}", sig.typ())));
        }
        if let (Some(created), Some(valid_for)) = (sig.created(), sig.signature_expiration_time()) {
            let expires =
                SystemTime::from(created) + Duration::from_secs(u64::from(valid_for.as_secs()));
            if valid_for.as_secs() != 0 && expires <= now {
                return Err(bad("the signature has expired".into()));
            }
        }
        Ok(())
    }
}

impl RingKey {
    fn new(key: SignedPublicKey) -> Self {
        let fingerprint = format!("{:X}", key.primary_key.fingerprint());
        let now = SystemTime::now();
        let state = primary_state(&key, now);
        let signing_subkeys = key
            .public_subkeys
            .iter()
            .filter_map(|sub| subkey_state(&key, sub, now).map(|s| (sub.clone(), s)))
            .collect();
        RingKey {
            key,
            fingerprint,
            state,
            signing_subkeys,
        }
    }

    /// The keys of this entry that `ids` names (all of them when `ids` is empty), with their
    /// states; a revoked or expired primary makes every subkey unusable too.
    fn candidates<'k>(&'k self, ids: &[IssuerId]) -> Vec<(Signer<'k>, KeyState)> {
        let wanted = |k: &dyn Fn(&IssuerId) -> bool| ids.is_empty() || ids.iter().any(k);
        let mut out = Vec::new();
        if wanted(&|id| id.matches(&self.key.primary_key)) {
            out.push((Signer::Primary(&self.key), self.state));
        }
        for (sub, state) in &self.signing_subkeys {
            if wanted(&|id| id.matches(&sub.key)) {
                let state = if self.state == KeyState::Usable {
                    *state
                } else {
                    self.state
                };
                out.push((Signer::Subkey(sub), state));
            }
        }
        out
    }
}

fn expired(
    created: pgp::types::Timestamp,
    valid_for: Option<pgp::types::Duration>,
    now: SystemTime,
) -> bool {
    match valid_for {
        Some(d) if d.as_secs() != 0 => {
            SystemTime::from(created) + Duration::from_secs(u64::from(d.as_secs())) <= now
        }
        _ => false,
    }
}

/// Revoked if a key revocation by the key itself verifies; expired per the newest valid
/// self-signature (user ID certification or direct key signature) that sets an expiry.
fn primary_state(key: &SignedPublicKey, now: SystemTime) -> KeyState {
    let primary = &key.primary_key;
    if key
        .details
        .revocation_signatures
        .iter()
        .any(|sig| sig.verify_key(primary).is_ok())
    {
        return KeyState::Revoked;
    }
    let mut valid: Vec<&Signature> = Vec::new();
    for user in &key.details.users {
        for sig in &user.signatures {
            if sig
                .verify_certification(primary, Tag::UserId, &user.id)
                .is_ok()
            {
                valid.push(sig);
            }
        }
    }
    for sig in &key.details.direct_signatures {
        if sig.verify_key(primary).is_ok() {
            valid.push(sig);
        }
    }
    let newest = valid.into_iter().max_by_key(|sig| sig.created());
    match newest {
        Some(sig) if expired(primary.created_at(), sig.key_expiration_time(), now) => {
            KeyState::Expired
        }
        _ => KeyState::Usable,
    }
}

/// `None` when the subkey has no valid binding that allows signing (or lacks the back
/// signature a signing subkey needs); else its revocation and expiry state.
fn subkey_state(
    key: &SignedPublicKey,
    sub: &SignedPublicSubKey,
    now: SystemTime,
) -> Option<KeyState> {
    let primary = &key.primary_key;
    let mut binding: Option<&Signature> = None;
    let mut revoked = false;
    for sig in &sub.signatures {
        if sig.verify_subkey_binding(primary, &sub.key).is_err() {
            continue;
        }
        match sig.typ() {
            Some(SignatureType::SubkeyRevocation) => revoked = true,
            Some(SignatureType::SubkeyBinding)
                if binding.is_none_or(|b| sig.created() > b.created()) =>
            {
                binding = Some(sig);
            }
            _ => {}
        }
    }
    let binding = binding?;
    if !binding.key_flags().sign() {
        return None;
    }
    let backsig = binding.embedded_signature()?;
    backsig.verify_primary_key_binding(&sub.key, primary).ok()?;
    Some(if revoked {
        KeyState::Revoked
    } else if expired(sub.key.created_at(), binding.key_expiration_time(), now) {
        KeyState::Expired
    } else {
        KeyState::Usable
    })
}

fn looks_armored(data: &[u8]) -> bool {
    let start = data
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(data.len());
    data[start..].starts_with(b"-----BEGIN PGP ")
}

/// Splits armored text into its `-----BEGIN PGP …-----` … `-----END PGP …-----` blocks, so
/// several exports pasted one after the other are all read.
fn armor_blocks(data: &[u8]) -> Vec<&[u8]> {
    let mut blocks = Vec::new();
    let mut rest = data;
    while let Some(begin) = find(rest, b"-----BEGIN PGP ") {
        let from_begin = &rest[begin..];
        let Some(end) = find(from_begin, b"-----END PGP ") else {
            blocks.push(from_begin);
            break;
        };
        let after_end = &from_begin[end + b"-----END PGP ".len()..];
        let close = find(after_end, b"-----")
            .map(|i| i + 5)
            .unwrap_or(after_end.len());
        let len = end + b"-----END PGP ".len() + close;
        blocks.push(&from_begin[..len]);
        rest = &from_begin[len..];
    }
    blocks
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Signs `payload` with `gpg`, as gpgme does for simple signing: `gpg --batch --no-tty
/// [--homedir H] [--pinentry-mode loopback --passphrase-file F] --local-user KEY --sign`,
/// payload on standard input, binary signed message on standard output. `GNUPGHOME` applies
/// when `gnupg_home` is `None`.
pub fn gpg_sign(
    key_id: &str,
    payload: &[u8],
    gnupg_home: Option<&Path>,
    passphrase_file: Option<&Path>,
) -> Result<Vec<u8>, GpgError> {
    let mut command = Command::new("gpg");
    command.args(["--batch", "--no-tty"]);
    if let Some(home) = gnupg_home {
        command.arg("--homedir").arg(home);
    }
    if let Some(file) = passphrase_file {
        command
            .args(["--pinentry-mode", "loopback", "--passphrase-file"])
            .arg(file);
    }
    command
        .args(["--local-user", key_id, "--sign"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command
        .spawn()
        .map_err(|e| GpgError::Sign(format!("cannot run gpg: {e}")))?;
    let mut stdin = child.stdin.take().expect("stdin is piped");
    let input = payload.to_vec();
    // Feed standard input from another thread so a large payload cannot deadlock against
    // gpg's output filling its pipe.
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let output = child
        .wait_with_output()
        .map_err(|e| GpgError::Sign(format!("waiting for gpg: {e}")))?;
    let written = writer.join().expect("the stdin writer does not panic");
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last = stderr
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join("; ");
        return Err(GpgError::Sign(format!(
            "{}: {}",
            output.status,
            if last.is_empty() { "no message" } else { &last }
        )));
    }
    written.map_err(|e| GpgError::Sign(format!("writing the payload to gpg: {e}")))?;
    if output.stdout.is_empty() {
        return Err(GpgError::Sign("gpg wrote no signature".into()));
    }
    Ok(output.stdout)
}

#[cfg(test)]
mod tests;
