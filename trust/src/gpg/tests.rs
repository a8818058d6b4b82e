//! Unit tests of GPG verification and signing through gpg.

use super::*;
use std::path::PathBuf;

const PAYLOAD: &[u8] = br#"{"critical":{"type":"atomic container signature"}}"#;

/// A temporary GNUPGHOME whose agent is stopped when it goes away.
struct GnupgHome {
    dir: tempfile::TempDir,
}

impl GnupgHome {
    fn new() -> Option<Self> {
        let ok = Command::new("gpg")
            .arg("--version")
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        if !ok {
            eprintln!("gpg not installed: skipping");
            return None;
        }
        let dir = tempfile::Builder::new()
            .prefix("berth-gpg")
            .tempdir()
            .unwrap();
        Some(GnupgHome { dir })
    }

    fn path(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    fn gpg(&self, args: &[&str], stdin: Option<&[u8]>) -> Vec<u8> {
        let mut child = Command::new("gpg")
            .args(["--batch", "--no-tty", "--homedir"])
            .arg(self.dir.path())
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut input = child.stdin.take().unwrap();
        if let Some(data) = stdin {
            input.write_all(data).unwrap();
        }
        drop(input);
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "gpg {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    /// Makes a key and returns its primary fingerprint.
    fn gen_key(&self, extra: &[&str], uid: &str, algo: &str, usage: &str, expire: &str) -> String {
        let mut args = vec!["--passphrase", "", "--pinentry-mode", "loopback"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--quick-gen-key", uid, algo, usage, expire]);
        self.gpg(&args, None);
        self.fingerprint(uid)
    }

    fn fingerprint(&self, uid: &str) -> String {
        let listing = self.gpg(&["--with-colons", "--list-keys", uid], None);
        let listing = String::from_utf8(listing).unwrap();
        listing
            .lines()
            .find_map(|l| l.strip_prefix("fpr:"))
            .map(|l| l.trim_matches(':').to_string())
            .unwrap()
    }
}

impl Drop for GnupgHome {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .arg("--homedir")
            .arg(self.dir.path())
            .args(["--kill", "gpg-agent"])
            .output();
    }
}

fn expect_err(result: Result<GpgVerified, GpgError>) -> GpgError {
    match result {
        Ok(v) => panic!("verified unexpectedly by {}", v.fingerprint),
        Err(e) => e,
    }
}

#[test]
fn gpg_sign_and_verify_end_to_end() {
    let Some(home) = GnupgHome::new() else { return };
    let h = home.path();
    let test_fpr = home.gen_key(&[], "Test <t@example.com>", "default", "default", "never");
    // A certify-only primary whose signing is done by a subkey.
    let sub_fpr = home.gen_key(&[], "Sub <s@example.com>", "ed25519", "cert", "never");
    home.gpg(
        &[
            "--passphrase",
            "",
            "--pinentry-mode",
            "loopback",
            "--quick-add-key",
            &sub_fpr,
            "ed25519",
            "sign",
            "never",
        ],
        None,
    );
    let test_bin = home.gpg(&["--export", &test_fpr], None);
    let test_asc = home.gpg(&["--armor", "--export", &test_fpr], None);
    let sub_asc = home.gpg(&["--armor", "--export", &sub_fpr], None);
    let both_bin = home.gpg(&["--export", &test_fpr, &sub_fpr], None);
    let mut both_asc = test_asc.clone();
    both_asc.extend_from_slice(b"\n");
    both_asc.extend_from_slice(&sub_asc);

    let ring_bin = GpgKeyring::from_bytes(&test_bin).unwrap();
    let ring_asc = GpgKeyring::from_bytes(&test_asc).unwrap();
    let ring_sub = GpgKeyring::from_bytes(&sub_asc).unwrap();
    let ring_both_bin = GpgKeyring::from_bytes(&both_bin).unwrap();
    let ring_both_asc = GpgKeyring::from_bytes(&both_asc).unwrap();
    assert_eq!(
        ring_both_bin.fingerprints(),
        vec![test_fpr.clone(), sub_fpr.clone()]
    );
    assert_eq!(
        ring_both_asc.fingerprints(),
        vec![test_fpr.clone(), sub_fpr.clone()]
    );

    // gpg compresses by default.
    let signed = gpg_sign(&test_fpr, PAYLOAD, Some(&h), None).unwrap();
    assert!(Message::from_bytes(&signed[..]).unwrap().is_compressed());
    for ring in [&ring_bin, &ring_asc, &ring_both_bin, &ring_both_asc] {
        let verified = ring.verify(&signed).unwrap();
        assert_eq!(verified.payload, PAYLOAD);
        assert_eq!(verified.fingerprint, test_fpr);
    }
    // Wrong key.
    let err = expect_err(ring_sub.verify(&signed));
    assert!(matches!(err, GpgError::UnknownKey { .. }), "{err}");
    assert!(err.to_string().contains("not in the keyring"), "{err}");

    // Uncompressed, and tampered.
    let plain = home.gpg(
        &[
            "--compress-algo",
            "none",
            "--local-user",
            &test_fpr,
            "--sign",
        ],
        Some(PAYLOAD),
    );
    assert!(!Message::from_bytes(&plain[..]).unwrap().is_compressed());
    assert_eq!(ring_asc.verify(&plain).unwrap().payload, PAYLOAD);
    let at = find(&plain, b"atomic").unwrap();
    let mut tampered = plain.clone();
    tampered[at] = b'A';
    let err = expect_err(ring_asc.verify(&tampered));
    assert!(matches!(err, GpgError::BadSignature { .. }), "{err}");
    let mut tampered = signed.clone();
    let last = tampered.len() - 3;
    tampered[last] ^= 0x55;
    expect_err(ring_asc.verify(&tampered));

    // Armored signed message.
    let armored = home.gpg(
        &["--armor", "--local-user", &test_fpr, "--sign"],
        Some(PAYLOAD),
    );
    assert_eq!(ring_asc.verify(&armored).unwrap().fingerprint, test_fpr);

    // Signed by the subkey: the primary fingerprint is reported.
    let by_sub = gpg_sign(&sub_fpr, PAYLOAD, Some(&h), None).unwrap();
    let verified = ring_both_asc.verify(&by_sub).unwrap();
    assert_eq!(verified.fingerprint, sub_fpr);
    assert_eq!(verified.payload, PAYLOAD);
    expect_err(ring_asc.verify(&by_sub));

    // A compression bomb: 5 MiB of zeros compress to a few KiB and are refused.
    let big = vec![0u8; 5 << 20];
    let bomb = gpg_sign(&test_fpr, &big, Some(&h), None).unwrap();
    assert!(bomb.len() < 64 << 10, "{}", bomb.len());
    let err = expect_err(ring_asc.verify(&bomb));
    assert!(matches!(err, GpgError::PayloadTooLarge { .. }), "{err}");

    // Unknown key id to sign with.
    let err = gpg_sign("nobody@example.com", PAYLOAD, Some(&h), None).unwrap_err();
    assert!(err.to_string().starts_with("gpg --sign: "), "{err}");
}

#[test]
fn passphrase_file_expired_and_revoked_keys() {
    let Some(home) = GnupgHome::new() else { return };
    let h = home.path();
    // A passphrase-protected key, signed with through --passphrase-file.
    home.gpg(
        &[
            "--passphrase",
            "sesame",
            "--pinentry-mode",
            "loopback",
            "--quick-gen-key",
            "Pass <p@example.com>",
            "ed25519",
            "sign",
            "never",
        ],
        None,
    );
    let pass_fpr = home.fingerprint("Pass <p@example.com>");
    let pass_file = h.join("pass.txt");
    std::fs::write(&pass_file, "sesame\n").unwrap();
    let signed = gpg_sign(&pass_fpr, PAYLOAD, Some(&h), Some(&pass_file)).unwrap();
    let ring = GpgKeyring::from_bytes(&home.gpg(&["--export", &pass_fpr], None)).unwrap();
    assert_eq!(ring.verify(&signed).unwrap().fingerprint, pass_fpr);
    std::fs::write(&pass_file, "wrong\n").unwrap();
    // Forget the cached passphrase so the wrong one is actually tried.
    Command::new("gpgconf")
        .arg("--homedir")
        .arg(&h)
        .args(["--reload", "gpg-agent"])
        .output()
        .unwrap();
    assert!(gpg_sign(&pass_fpr, PAYLOAD, Some(&h), Some(&pass_file)).is_err());

    // A key that expired in 2020 (made and used with a faked clock).
    let old_fpr = home.gen_key(
        &["--faked-system-time", "20200101T000000"],
        "Old <o@example.com>",
        "ed25519",
        "sign",
        "1d",
    );
    let old_signed = home.gpg(
        &[
            "--faked-system-time",
            "20200101T000100",
            "--local-user",
            &old_fpr,
            "--sign",
        ],
        Some(PAYLOAD),
    );
    let old_ring = GpgKeyring::from_bytes(&home.gpg(&["--export", &old_fpr], None)).unwrap();
    let err = expect_err(old_ring.verify(&old_signed));
    assert!(matches!(err, GpgError::KeyExpired { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        format!("signature: signing key {old_fpr} expired")
    );

    // A key revoked after it signed.
    let rev_fpr = home.gen_key(&[], "Rev <r@example.com>", "ed25519", "sign", "never");
    let rev_signed = gpg_sign(&rev_fpr, PAYLOAD, Some(&h), None).unwrap();
    let before = GpgKeyring::from_bytes(&home.gpg(&["--export", &rev_fpr], None)).unwrap();
    assert_eq!(before.verify(&rev_signed).unwrap().fingerprint, rev_fpr);
    let cert = std::fs::read_to_string(h.join(format!("openpgp-revocs.d/{rev_fpr}.rev"))).unwrap();
    let cert = cert.replace(
        ":-----BEGIN PGP PUBLIC KEY BLOCK-----",
        "-----BEGIN PGP PUBLIC KEY BLOCK-----",
    );
    home.gpg(&["--import"], Some(cert.as_bytes()));
    let after = GpgKeyring::from_bytes(&home.gpg(&["--export", &rev_fpr], None)).unwrap();
    let err = expect_err(after.verify(&rev_signed));
    assert!(matches!(err, GpgError::KeyRevoked { .. }), "{err}");
}

#[test]
fn malformed_inputs() {
    for data in [
        &b""[..],
        b"hello",
        b"-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nAAAA\n-----END PGP PUBLIC KEY BLOCK-----\n",
    ] {
        let err = GpgKeyring::from_bytes(data).unwrap_err();
        assert!(err.to_string().starts_with("keyring: "), "{err}");
    }
}

#[test]
fn oversized_and_garbage_signatures() {
    let Some(home) = GnupgHome::new() else { return };
    let fpr = home.gen_key(&[], "T <t@example.com>", "ed25519", "sign", "never");
    let ring = GpgKeyring::from_bytes(&home.gpg(&["--export", &fpr], None)).unwrap();
    let err = expect_err(ring.verify(&vec![0u8; MAX_SIGNATURE_BYTES + 1]));
    assert!(matches!(err, GpgError::TooLarge { .. }), "{err}");
    for garbage in [&b""[..], b"\x00\x01\x02", b"{\"not\":\"pgp\"}"] {
        let err = expect_err(ring.verify(garbage));
        assert!(err.to_string().starts_with("signature: "), "{err}");
    }
    // A detached signature is not a signed message.
    let detached = home.gpg(&["--local-user", &fpr, "--detach-sign"], Some(PAYLOAD));
    expect_err(ring.verify(&detached));
    // A message that is only literal data (no signature).
    let literal = home.gpg(&["--store"], Some(PAYLOAD));
    let err = expect_err(ring.verify(&literal));
    assert!(err.to_string().contains("not signed"), "{err}");
}

/// Debian's skopeo (gpgme) both ways: its `standalone-sign` output verifies here, and a
/// signature made with [`gpg_sign`] passes its `standalone-verify`. Skipped without skopeo.
#[test]
fn skopeo_interop_both_ways() {
    let has_skopeo = Command::new("skopeo")
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !has_skopeo {
        eprintln!("skopeo not installed: skipping");
        return;
    }
    let Some(home) = GnupgHome::new() else { return };
    let h = home.path();
    let fpr = home.gen_key(&[], "Skopeo <k@example.com>", "ed25519", "sign", "never");
    let ring = GpgKeyring::from_bytes(&home.gpg(&["--export", &fpr], None)).unwrap();
    let manifest = h.join("manifest.json");
    std::fs::write(
        &manifest,
        br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}"#,
    )
    .unwrap();
    let reference = "example.com/berth/test:latest";
    let skopeo = |args: &[&str]| {
        Command::new("skopeo")
            .args(args)
            .env("GNUPGHOME", &h)
            .output()
            .unwrap()
    };
    let manifest_arg = manifest.to_str().unwrap();
    let sig_path = h.join("skopeo.sig");
    let out = skopeo(&[
        "standalone-sign",
        manifest_arg,
        reference,
        &fpr,
        "--output",
        sig_path.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let verified = ring.verify(&std::fs::read(&sig_path).unwrap()).unwrap();
    assert_eq!(verified.fingerprint, fpr);
    let payload: serde_json::Value = serde_json::from_slice(&verified.payload).unwrap();
    assert_eq!(payload["critical"]["type"], "atomic container signature");
    assert_eq!(
        payload["critical"]["identity"]["docker-reference"],
        reference
    );
    let digest = payload["critical"]["image"]["docker-manifest-digest"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(digest.starts_with("sha256:"), "{digest}");

    // The other way: our payload, signed through gpg_sign, checked by skopeo.
    let ours = serde_json::json!({
        "critical": {
            "type": "atomic container signature",
            "image": {"docker-manifest-digest": digest},
            "identity": {"docker-reference": reference},
        },
        "optional": {"creator": "berth test"},
    });
    let signed = gpg_sign(&fpr, ours.to_string().as_bytes(), Some(&h), None).unwrap();
    let ours_path = h.join("berth.sig");
    std::fs::write(&ours_path, &signed).unwrap();
    let ours_arg = ours_path.to_str().unwrap();
    let out = skopeo(&["standalone-verify", manifest_arg, reference, &fpr, ours_arg]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains(&digest));
    // skopeo refuses the same signature for another reference.
    let out = skopeo(&[
        "standalone-verify",
        manifest_arg,
        "example.com/berth/test:other",
        &fpr,
        ours_arg,
    ]);
    assert!(!out.status.success());
}
