//! Unit tests of cosign keys, signing and verification.

use super::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

const PASS: &[u8] = b"correct horse";
const PAYLOAD: &[u8] = br#"{"critical":{"type":"cosign container image signature"}}"#;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// One generated pair shared by the tests (scrypt makes each key cost a fraction of a second).
fn pair() -> &'static (Vec<u8>, Vec<u8>) {
    static PAIR: OnceLock<(Vec<u8>, Vec<u8>)> = OnceLock::new();
    PAIR.get_or_init(|| generate_key_pair(PASS).unwrap())
}

fn have_openssl() -> bool {
    Command::new("openssl")
        .arg("version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

#[test]
fn generate_read_sign_verify() {
    let (private_pem, public_pem) = pair();
    let text = std::str::from_utf8(private_pem).unwrap();
    assert!(text.starts_with("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n"));
    assert!(text.lines().all(|l| l.len() <= 64));
    let private = SigstorePrivateKey::from_encrypted_pem(private_pem, PASS).unwrap();
    let public = SigstorePublicKey::from_pem(public_pem).unwrap();
    assert_eq!(private.public_key(), public);
    assert_eq!(public.to_pem(), *public_pem);
    let signature = private.sign(PAYLOAD);
    public.verify(PAYLOAD, &signature).unwrap();
    // The envelope is the JSON cosign writes.
    let body = pem_decode(private_pem, &[SIGSTORE_PRIVATE_KEY_PEM_TYPE], "t").unwrap();
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["kdf"]["name"], "scrypt");
    assert_eq!(json["kdf"]["params"]["N"], 65536);
    assert_eq!(json["kdf"]["params"]["r"], 8);
    assert_eq!(json["kdf"]["params"]["p"], 1);
    assert_eq!(json["cipher"]["name"], "nacl/secretbox");
    assert_eq!(
        B64.decode(json["kdf"]["salt"].as_str().unwrap())
            .unwrap()
            .len(),
        32
    );
    assert_eq!(
        B64.decode(json["cipher"]["nonce"].as_str().unwrap())
            .unwrap()
            .len(),
        24
    );
}

#[test]
fn older_cosign_pem_type_is_read() {
    let (private_pem, _) = pair();
    let text = std::str::from_utf8(private_pem)
        .unwrap()
        .replace("SIGSTORE", "COSIGN");
    SigstorePrivateKey::from_encrypted_pem(text.as_bytes(), PASS).unwrap();
}

#[test]
fn wrong_passphrase() {
    let (private_pem, _) = pair();
    let err = SigstorePrivateKey::from_encrypted_pem(private_pem, b"wrong").unwrap_err();
    assert!(matches!(err, KeyError::WrongPassphrase), "{err}");
    assert_eq!(
        err.to_string(),
        "private key: wrong passphrase (decryption failed)"
    );
}

#[test]
fn tampered_payload_and_other_key_fail() {
    let (private_pem, public_pem) = pair();
    let private = SigstorePrivateKey::from_encrypted_pem(private_pem, PASS).unwrap();
    let public = SigstorePublicKey::from_pem(public_pem).unwrap();
    let signature = private.sign(PAYLOAD);
    let mut tampered = PAYLOAD.to_vec();
    tampered[3] ^= 1;
    let err = public.verify(&tampered, &signature).unwrap_err();
    assert!(matches!(err, KeyError::BadSignature), "{err}");

    let other = SigningKey::random(&mut OsRng);
    let other = SigstorePrivateKey { key: other };
    let err = public.verify(PAYLOAD, &other.sign(PAYLOAD)).unwrap_err();
    assert!(matches!(err, KeyError::BadSignature), "{err}");
    other
        .public_key()
        .verify(PAYLOAD, &other.sign(PAYLOAD))
        .unwrap();
}

#[test]
fn malformed_signatures() {
    let public = SigstorePublicKey::from_pem(&pair().1).unwrap();
    for (sig, want) in [
        ("", "not valid base64"),
        ("not base64!!", "not valid base64"),
        ("AAAA", "not an ASN.1 DER"),
        (&"A".repeat(10_000), "too long"),
    ] {
        let err = public.verify(PAYLOAD, sig).unwrap_err().to_string();
        assert!(err.contains(want), "{sig:.20}: {err}");
        assert!(err.starts_with("signature: "), "{err}");
    }
    // Raw r||s (64 bytes) is not what cosign stores.
    let raw = B64.encode([1u8; 64]);
    assert!(matches!(
        public.verify(PAYLOAD, &raw),
        Err(KeyError::SignatureFormat(_))
    ));
}

#[test]
fn malformed_pem() {
    let err = SigstorePublicKey::from_pem(b"hello").unwrap_err();
    assert_eq!(
        err.to_string(),
        "public key: not a PEM block: no -----BEGIN line"
    );
    let err = SigstorePublicKey::from_pem(&pair().0).unwrap_err();
    assert_eq!(
        err.to_string(),
        "public key: PEM type \"ENCRYPTED SIGSTORE PRIVATE KEY\", expected PUBLIC KEY"
    );
    let err = SigstorePrivateKey::from_encrypted_pem(&pair().1, PASS).unwrap_err();
    assert!(matches!(err, KeyError::PemType { .. }), "{err}");
    let err =
        SigstorePublicKey::from_pem(b"-----BEGIN PUBLIC KEY-----\n%%%\n-----END PUBLIC KEY-----\n")
            .unwrap_err();
    assert!(err.to_string().contains("body is not base64"), "{err}");
    let err = SigstorePublicKey::from_pem(b"-----BEGIN PUBLIC KEY-----\nAAAA\n").unwrap_err();
    assert!(
        err.to_string()
            .contains("no \"-----END PUBLIC KEY-----\" line"),
        "{err}"
    );
    let err = SigstorePublicKey::from_pem(
        b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
    )
    .unwrap_err();
    assert!(
        err.to_string().starts_with("public key: invalid key: "),
        "{err}"
    );
    let not_json = pem_encode(SIGSTORE_PRIVATE_KEY_PEM_TYPE, b"{not json");
    let err = SigstorePrivateKey::from_encrypted_pem(&not_json, PASS).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("private key: malformed encrypted key: "),
        "{err}"
    );
}

#[test]
fn hostile_scrypt_parameters_are_refused() {
    let body = br#"{"kdf":{"name":"scrypt","params":{"N":1099511627776,"r":8,"p":1},"salt":"AAAA"},"cipher":{"name":"nacl/secretbox","nonce":"AAAA"},"ciphertext":"AAAA"}"#;
    let pem = pem_encode(SIGSTORE_PRIVATE_KEY_PEM_TYPE, body);
    let err = SigstorePrivateKey::from_encrypted_pem(&pem, PASS).unwrap_err();
    assert!(
        err.to_string().contains("unsupported scrypt parameters"),
        "{err}"
    );
    let body = br#"{"kdf":{"name":"argon2","params":{"N":65536,"r":8,"p":1},"salt":"AAAA"},"cipher":{"name":"nacl/secretbox","nonce":"AAAA"},"ciphertext":"AAAA"}"#;
    let pem = pem_encode(SIGSTORE_PRIVATE_KEY_PEM_TYPE, body);
    let err = SigstorePrivateKey::from_encrypted_pem(&pem, PASS).unwrap_err();
    assert!(err.to_string().contains("unknown kdf \"argon2\""), "{err}");
}

#[test]
fn other_key_types_are_named() {
    // Ed25519 and P-384 public keys (SubjectPublicKeyInfo DER, made with openssl).
    let ed25519 = "-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAOxPMarUa1gOLp4SDa6p7Le0HoYQvUnm5BTVtTGGg8sc=
-----END PUBLIC KEY-----
";
    let err = SigstorePublicKey::from_pem(ed25519.as_bytes()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "public key: unsupported key type Ed25519 (only ECDSA P-256 is supported)"
    );
    let rsa = "-----BEGIN PUBLIC KEY-----
MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDP/FBASyhfWgTTOcamZmq+Y2wr
gH1uw7DwNrktldC7hgz2bjjI32wg5Qvb6YrmwJ4ZMIu9B9dEEN8VtlJYjG8eeeQt
xQ4mFxgFo3NxsdxqcWBzSqzX+9q09tmS0dKSPtIdcuhZpdnLazJftqvpv5wZePZW
2SlE4+HaIJBtzor9RwIDAQAB
-----END PUBLIC KEY-----
";
    let err = SigstorePublicKey::from_pem(rsa.as_bytes()).unwrap_err();
    assert!(
        err.to_string().contains("unsupported key type RSA"),
        "{err}"
    );
    let p384 = "-----BEGIN PUBLIC KEY-----
MHYwEAYHKoZIzj0CAQYFK4EEACIDYgAECV1OShHNYem+FuDderoV8ajDXoXJGznk
PjrxM7y8RxnL4pi16JD/56Vy9Cc7Zkx3sO6RAb+zPSbIXh97U6eIjcuzEEyZ8ttM
BtxGk7HHq9SRuCKTsGpnj4evo9i//+38
-----END PUBLIC KEY-----
";
    let err = SigstorePublicKey::from_pem(p384.as_bytes()).unwrap_err();
    assert!(
        err.to_string().contains("unsupported key type ECDSA P-384"),
        "{err}"
    );
}

/// Fixture made without berth: OpenSSL made the key and the signature, Python's
/// hashlib.scrypt and PyNaCl (libsodium) sealed it (tests/fixtures/make-sigstore-fixture.sh).
#[test]
fn independent_fixture_key_and_signature() {
    let read = |n: &str| std::fs::read(fixture(n)).unwrap();
    let passphrase = read("sigstore-openssl.passphrase");
    let public = SigstorePublicKey::from_pem(&read("sigstore-openssl.pub")).unwrap();
    let private =
        SigstorePrivateKey::from_encrypted_pem(&read("sigstore-openssl.private"), &passphrase)
            .unwrap();
    assert_eq!(private.public_key(), public);
    let payload = read("sigstore-payload.json");
    let signature = String::from_utf8(read("sigstore-payload.sig")).unwrap();
    public.verify(&payload, &signature).unwrap();
    public.verify(&payload, &private.sign(&payload)).unwrap();
    assert!(public.verify(b"other", &signature).is_err());
    assert!(matches!(
        SigstorePrivateKey::from_encrypted_pem(&read("sigstore-openssl.private"), b""),
        Err(KeyError::WrongPassphrase)
    ));
}

/// berth's signatures verify with `openssl dgst -sha256 -verify`, and OpenSSL's signatures
/// (fresh keys, so both low-S and high-S forms occur) verify in berth.
#[test]
fn openssl_interop_both_ways() {
    if !have_openssl() {
        eprintln!("openssl not installed: skipping");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = |n: &str| dir.path().join(n);
    let private = SigstorePrivateKey::from_encrypted_pem(&pair().0, PASS).unwrap();
    std::fs::write(path("berth.pub"), private.public_key().to_pem()).unwrap();
    std::fs::write(path("payload"), PAYLOAD).unwrap();
    for i in 0..4 {
        let payload = format!("{} {i}", String::from_utf8_lossy(PAYLOAD));
        std::fs::write(path("payload"), &payload).unwrap();
        let sig = B64.decode(private.sign(payload.as_bytes())).unwrap();
        std::fs::write(path("sig.der"), sig).unwrap();
        let out = Command::new("openssl")
            .args(["dgst", "-sha256", "-verify"])
            .arg(path("berth.pub"))
            .arg("-signature")
            .arg(path("sig.der"))
            .arg(path("payload"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    for i in 0..6 {
        let run = |args: &[&str]| {
            let out = Command::new("openssl")
                .args(args)
                .current_dir(dir.path())
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        run(&[
            "ecparam",
            "-genkey",
            "-name",
            "prime256v1",
            "-noout",
            "-out",
            "k.pem",
        ]);
        run(&["ec", "-in", "k.pem", "-pubout", "-out", "k.pub"]);
        std::fs::write(path("payload"), format!("payload {i}")).unwrap();
        run(&[
            "dgst", "-sha256", "-sign", "k.pem", "-out", "s.der", "payload",
        ]);
        let public = SigstorePublicKey::from_pem(&std::fs::read(path("k.pub")).unwrap()).unwrap();
        let sig = B64.encode(std::fs::read(path("s.der")).unwrap());
        public
            .verify(format!("payload {i}").as_bytes(), &sig)
            .unwrap();
        assert!(public.verify(b"payload x", &sig).is_err());
    }
}

/// Debian's python3, where python3-nacl is installed.
const PYTHON3: &str = "/usr/bin/python3";

/// berth's encrypted key opens with an independent implementation of the format (Python's
/// hashlib.scrypt and PyNaCl/libsodium), and the PKCS#8 inside is what OpenSSL reads.
/// Debian's python3 (`/usr/bin/python3`: the first `python3` on PATH may be another one,
/// without PyNaCl) with python3-nacl, and openssl, are required (scripts/deps.sh installs
/// them): a missing one fails the test instead of skipping it.
#[test]
fn encrypted_key_opens_with_libsodium() {
    let has_nacl = Command::new(PYTHON3)
        .args(["-c", "import nacl.secret"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(
        has_nacl && have_openssl(),
        "{PYTHON3} with PyNaCl (python3-nacl) and openssl are needed: run scripts/deps.sh"
    );
    let dir = tempfile::tempdir().unwrap();
    let (private_pem, public_pem) = pair();
    std::fs::write(dir.path().join("k.private"), private_pem).unwrap();
    let script = r#"
import base64, hashlib, json, sys
import nacl.secret
text = open(sys.argv[1]).read().strip().splitlines()
assert text[0] == "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----"
doc = json.loads(base64.b64decode("".join(text[1:-1])))
p = doc["kdf"]["params"]
key = hashlib.scrypt(sys.argv[2].encode(), salt=base64.b64decode(doc["kdf"]["salt"]),
                 n=p["N"], r=p["r"], p=p["p"], maxmem=128 << 20, dklen=32)
box = nacl.secret.SecretBox(key)
der = box.decrypt(base64.b64decode(doc["ciphertext"]), base64.b64decode(doc["cipher"]["nonce"]))
open(sys.argv[3], "wb").write(der)
"#;
    let out = Command::new(PYTHON3)
        .args(["-c", script])
        .arg(dir.path().join("k.private"))
        .arg(std::str::from_utf8(PASS).unwrap())
        .arg(dir.path().join("k.der"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = Command::new("openssl")
        .args(["pkey", "-inform", "DER", "-pubout", "-in"])
        .arg(dir.path().join("k.der"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, *public_pem);
}

/// Key, public key and signature made by sigstore-rs (the `sigstore` crate 0.15), which
/// writes scrypt N=32768 and CRLF line ends (tests/fixtures/README.md).
#[test]
fn sigstore_rs_fixture_key_and_signature() {
    let read = |n: &str| std::fs::read(fixture(n)).unwrap();
    let public = SigstorePublicKey::from_pem(&read("sigstore-rs.pub")).unwrap();
    let private = SigstorePrivateKey::from_encrypted_pem(
        &read("sigstore-rs.private"),
        &read("sigstore-rs.passphrase"),
    )
    .unwrap();
    assert_eq!(private.public_key(), public);
    let payload = read("sigstore-rs-payload.json");
    let signature = String::from_utf8(read("sigstore-rs-payload.sig")).unwrap();
    public.verify(&payload, &signature).unwrap();
    assert!(matches!(
        public.verify(b"{}", &signature),
        Err(KeyError::BadSignature)
    ));
}
