//! Test oracle for berth's interop tests: cosign key-based keys and signatures made and
//! checked by sigstore-rs (an implementation independent of berth's RustCrypto code).
//!
//! ```text
//! sigstore-oracle gen-key PREFIX PASSFILE            -> PREFIX.key (encrypted) + PREFIX.pub
//! sigstore-oracle sign PRIVKEY PASSFILE PAYLOADFILE  -> base64 signature on stdout
//! sigstore-oracle verify PUBKEY PAYLOADFILE SIG_B64  -> exit 0 valid, 1 invalid, 2 usage/IO
//! ```
//!
//! The passphrase is the file's content without one trailing newline. Keys are ECDSA P-256
//! with SHA-256, as `cosign generate-key-pair` makes them.

use std::process::ExitCode;

use sigstore::crypto::signing_key::SigStoreKeyPair;
use sigstore::crypto::{CosignVerificationKey, Signature, SigningScheme};

fn read(path: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("reading {path}: {e}"))
}

fn passphrase(path: &str) -> Result<Vec<u8>, String> {
    let mut p = read(path)?;
    if p.last() == Some(&b'\n') {
        p.pop();
        if p.last() == Some(&b'\r') {
            p.pop();
        }
    }
    Ok(p)
}

fn gen_key(prefix: &str, passfile: &str) -> Result<(), String> {
    let pass = passphrase(passfile)?;
    let signer = SigningScheme::ECDSA_P256_SHA256_ASN1
        .create_signer()
        .map_err(|e| format!("generating key: {e}"))?;
    let pair = signer
        .to_sigstore_keypair()
        .map_err(|e| format!("key pair: {e}"))?;
    let private = pair
        .private_key_to_encrypted_pem(&pass)
        .map_err(|e| format!("encrypting private key: {e}"))?;
    let public = pair
        .public_key_to_pem()
        .map_err(|e| format!("public key: {e}"))?;
    std::fs::write(format!("{prefix}.key"), private.as_bytes())
        .map_err(|e| format!("writing {prefix}.key: {e}"))?;
    std::fs::write(format!("{prefix}.pub"), public.as_bytes())
        .map_err(|e| format!("writing {prefix}.pub: {e}"))?;
    Ok(())
}

fn sign(key: &str, passfile: &str, payload: &str) -> Result<(), String> {
    let pass = passphrase(passfile)?;
    let pem = read(key)?;
    let pair = SigStoreKeyPair::from_encrypted_pem(&pem, &pass)
        .map_err(|e| format!("decrypting {key}: {e}"))?;
    let signer = pair
        .to_sigstore_signer(&SigningScheme::ECDSA_P256_SHA256_ASN1)
        .map_err(|e| format!("signer: {e}"))?;
    let sig = signer
        .sign(&read(payload)?)
        .map_err(|e| format!("signing: {e}"))?;
    println!("{}", b64(&sig));
    Ok(())
}

fn verify(key: &str, payload: &str, sig_b64: &str) -> Result<bool, String> {
    let pem = read(key)?;
    let key = CosignVerificationKey::from_pem(&pem, &SigningScheme::ECDSA_P256_SHA256_ASN1)
        .map_err(|e| format!("reading public key {key}: {e}"))?;
    let msg = read(payload)?;
    match key.verify_signature(Signature::Base64Encoded(sig_b64.trim().as_bytes()), &msg) {
        Ok(()) => Ok(true),
        Err(e) => {
            eprintln!("verification failed: {e}");
            Ok(false)
        }
    }
}

/// Standard base64 with padding (the crate's own base64 dependency is private to it).
fn b64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match argv.as_slice() {
        ["gen-key", prefix, passfile] => gen_key(prefix, passfile).map(|()| true),
        ["sign", key, passfile, payload] => sign(key, passfile, payload).map(|()| true),
        ["verify", key, payload, sig] => verify(key, payload, sig),
        _ => Err("usage: sigstore-oracle gen-key PREFIX PASSFILE | sign PRIVKEY PASSFILE PAYLOADFILE | verify PUBKEY PAYLOADFILE SIG_B64".into()),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("sigstore-oracle: {e}");
            ExitCode::from(2)
        }
    }
}
