//! Trust interop: berth's cosign (sigstore) and GPG simple signatures against independent
//! implementations — `openssl dgst`, sigstore-rs (`tests/oracles/sigstore-rs`), Debian
//! trixie's skopeo 1.18 (sigstore) and Debian bookworm's skopeo (GPG) — in both directions,
//! plus the `.sig` manifest layout against cosign's SIGNATURE_SPEC.md field by field.
//!
//! Every test runs its own registry and store; artefacts live in the TestEnv dir, and GnuPG
//! agents are stopped by their guards.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};

use crate::oracles::{
    get_blob, get_manifest, gnupg_home, manifest_exists, openssl_verifies, oracle, put_manifest,
    trixie_skopeo,
};
use crate::registry_harness::{berth, blob_count, fails, isolate, ok, Registry};
use crate::util::{require_tool, TestEnv};

const PASSPHRASE: &str = "berth interop passphrase";
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
const COSIGN_PAYLOAD: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
const COSIGN_SIG_ANNOTATION: &str = "dev.cosignproject.cosign/signature";
const COSIGN_TYPE: &str = "cosign container image signature";

/// One test's registry, store and files.
struct World {
    reg: Registry,
    env: TestEnv,
    /// A passphrase file (one line) used for every encrypted key in the test.
    pass: PathBuf,
    /// registries.d with `use-sigstore-attachments: true` for every docker scope.
    regd: PathBuf,
    /// A policy accepting anything (for peers' sources that are not under test).
    permissive: PathBuf,
}

impl World {
    fn new() -> World {
        let reg = Registry::start();
        let env = TestEnv::new();
        env.import_busybox("busybox");
        let pass = env.path("passphrase");
        std::fs::write(&pass, format!("{PASSPHRASE}\n")).unwrap();
        let regd = env.path("registries.d");
        std::fs::create_dir_all(&regd).unwrap();
        std::fs::write(
            regd.join("default.yaml"),
            "default-docker:\n  use-sigstore-attachments: true\n",
        )
        .unwrap();
        let permissive = env.path("permissive.json");
        std::fs::write(
            &permissive,
            r#"{"default":[{"type":"insecureAcceptAnything"}]}"#,
        )
        .unwrap();
        World {
            reg,
            env,
            pass,
            regd,
            permissive,
        }
    }

    fn p(&self, rel: &str) -> PathBuf {
        self.env.path(rel)
    }

    fn s(path: &Path) -> &str {
        path.to_str().unwrap()
    }

    /// `berth generate-sigstore-key`; returns (NAME.private, NAME.pub).
    fn berth_key(&self, name: &str) -> (PathBuf, PathBuf) {
        let prefix = self.p(name);
        ok(
            &self.env,
            &[
                "generate-sigstore-key",
                "--output-prefix",
                Self::s(&prefix),
                "--passphrase-file",
                Self::s(&self.pass),
            ],
        );
        let private = prefix.with_extension("private");
        let public = prefix.with_extension("pub");
        assert!(
            private.is_file() && public.is_file(),
            "berth wrote no key pair at {name}"
        );
        (private, public)
    }

    /// `sigstore-oracle gen-key`; returns (NAME.key, NAME.pub).
    fn oracle_key(&self, name: &str) -> (PathBuf, PathBuf) {
        let prefix = self.p(name);
        let (code, _, err) = oracle(&[Path::new("gen-key"), &prefix, &self.pass]);
        assert_eq!(code, 0, "oracle gen-key: {err}");
        (prefix.with_extension("key"), prefix.with_extension("pub"))
    }

    /// `berth push --tls-verify=false [extra…] busybox docker://ADDR/repo`; returns the
    /// pushed manifest digest.
    fn push(&self, repo_tag: &str, extra: &[&str]) -> String {
        let digestfile = self.p(&format!("digest-{}", repo_tag.replace(['/', ':'], "_")));
        let dest = format!("docker://{}", self.reg.image(repo_tag));
        let mut args = vec![
            "push",
            "--tls-verify=false",
            "--digestfile",
            Self::s(&digestfile),
        ];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["busybox", &dest]);
        ok(&self.env, &args);
        let digest = std::fs::read_to_string(&digestfile)
            .unwrap()
            .trim()
            .to_string();
        assert!(digest.starts_with("sha256:"), "digestfile: {digest}");
        digest
    }

    /// `berth push` signed with a cosign key.
    fn push_sigstore_signed(&self, repo_tag: &str, key: &Path) -> String {
        self.push(
            repo_tag,
            &[
                "--sign-by-sigstore-private-key",
                Self::s(key),
                "--sign-passphrase-file",
                Self::s(&self.pass),
                "--registries.d",
                Self::s(&self.regd),
            ],
        )
    }

    /// A policy: reject by default; this registry's scope requires `requirement`.
    fn policy(&self, name: &str, requirement: Value) -> PathBuf {
        let path = self.p(name);
        let policy = json!({
            "default": [{"type": "reject"}],
            "transports": {"docker": {self.reg.addr.clone(): [requirement]}}
        });
        std::fs::write(&path, serde_json::to_vec_pretty(&policy).unwrap()).unwrap();
        path
    }

    fn sigstore_policy(&self, name: &str, public_key: &Path) -> PathBuf {
        self.policy(
            name,
            json!({
                "type": "sigstoreSigned",
                "keyPath": public_key,
                "signedIdentity": {"type": "matchRepoDigestOrExact"}
            }),
        )
    }

    /// `berth pull` into a fresh store under `policy`; Ok(stdout) or Err(the error line),
    /// and on rejection the store holds no image and no blob.
    fn berth_pull(&self, policy: &Path, repo_ref: &str) -> Result<String, String> {
        let store = TestEnv::new();
        let src = format!("docker://{}", self.reg.image(repo_ref));
        let args = [
            "pull",
            "--tls-verify=false",
            "--signature-policy",
            Self::s(policy),
            "--registries.d",
            Self::s(&self.regd),
            &src,
        ];
        let out = berth(&store, &args).output().expect("spawn berth");
        if out.status.success() {
            let images = ok(&store, &["images", "--format", "json"]);
            assert!(
                images.contains(&self.reg.image(repo_ref.split('@').next().unwrap())),
                "pulled, but `berth images` lacks it: {images}"
            );
            store.assert_check_clean();
            return Ok(String::from_utf8_lossy(&out.stdout).to_string());
        }
        let line = fails(&store, &args);
        let images = ok(&store, &["images", "--format", "json"]);
        assert!(
            !images.contains(&self.reg.image("")),
            "rejected, yet stored: {images}"
        );
        assert_eq!(blob_count(&store), 0, "rejected, yet blobs were stored");
        Err(line)
    }

    /// The `.sig` attachment of `digest` in `repo`: (raw manifest, Content-Type, parsed).
    fn sig_manifest(&self, repo: &str, digest: &str) -> (Vec<u8>, String, Value) {
        let (ct, raw) = get_manifest(&self.reg.addr, repo, &sig_tag(digest));
        let v: Value = serde_json::from_slice(&raw).expect("sig manifest is JSON");
        (raw, ct, v)
    }

    /// Every signature layer of `digest`'s attachment: (payload file, base64 signature).
    fn signatures(&self, repo: &str, digest: &str) -> Vec<(PathBuf, String)> {
        let (_, _, m) = self.sig_manifest(repo, digest);
        let layers = m["layers"].as_array().expect("layers").clone();
        let mut out = Vec::new();
        for (i, layer) in layers.iter().enumerate() {
            let blob = get_blob(&self.reg.addr, repo, layer["digest"].as_str().unwrap());
            let path = self.p(&format!(
                "payload-{}-{}-{i}.json",
                repo.replace('/', "_"),
                &digest[7..19]
            ));
            std::fs::write(&path, blob).unwrap();
            let sig = layer["annotations"][COSIGN_SIG_ANNOTATION]
                .as_str()
                .unwrap_or_else(|| panic!("layer {i} has no {COSIGN_SIG_ANNOTATION}: {m}"))
                .to_string();
            out.push((path, sig));
        }
        out
    }

    /// Bookworm's skopeo (GPG only), isolated like berth.
    fn skopeo(&self) -> Command {
        let mut cmd = Command::new(require_tool("skopeo"));
        isolate(&self.env, &mut cmd);
        cmd.env_remove("REGISTRY_AUTH_FILE");
        cmd
    }

    /// Trixie's skopeo 1.18 (sigstore), isolated like berth.
    fn trixie(&self) -> Command {
        let mut cmd = Command::new(trixie_skopeo());
        isolate(&self.env, &mut cmd);
        cmd.env_remove("REGISTRY_AUTH_FILE");
        cmd
    }
}

/// cosign's tag for the signatures of `digest`: `sha256-<hex>.sig`.
fn sig_tag(digest: &str) -> String {
    format!("{}.sig", digest.replacen(':', "-", 1))
}

fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"))
}

fn must(cmd: &mut Command) -> String {
    let out = run(cmd);
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// The simple-signing payload cosign signs for `reference` at `digest`.
fn cosign_payload(reference: &str, digest: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "critical": {
            "identity": {"docker-reference": reference},
            "image": {"docker-manifest-digest": digest},
            "type": COSIGN_TYPE
        },
        "optional": null
    }))
    .unwrap()
}

/// Write `.sig` for `digest` in `repo` as cosign lays it out (OCI manifest, OCI config whose
/// diff_ids list the payloads, one simple-signing layer per signature), through an OCI
/// layout and bookworm skopeo's `copy`, so the registry write is not berth's.
fn publish_cosign_signature(w: &World, repo: &str, digest: &str, payload: &[u8], sig_b64: &str) {
    let layout = w.p(&format!("cosign-layout-{}", &digest[7..19]));
    let blobs = layout.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    let put = |data: &[u8]| -> (String, usize) {
        let hex = hex::encode(Sha256::digest(data));
        std::fs::write(blobs.join(&hex), data).unwrap();
        (format!("sha256:{hex}"), data.len())
    };
    let (payload_digest, payload_size) = put(payload);
    let config = serde_json::to_vec(&json!({
        "architecture": "",
        "os": "",
        "config": {},
        "rootfs": {"type": "layers", "diff_ids": [payload_digest]}
    }))
    .unwrap();
    let (config_digest, config_size) = put(&config);
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "size": config_size, "digest": config_digest},
        "layers": [{
            "mediaType": COSIGN_PAYLOAD,
            "size": payload_size,
            "digest": payload_digest,
            "annotations": {COSIGN_SIG_ANNOTATION: sig_b64}
        }]
    }))
    .unwrap();
    let (manifest_digest, manifest_size) = put(&manifest);
    std::fs::write(
        layout.join("oci-layout"),
        r#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .unwrap();
    std::fs::write(
        layout.join("index.json"),
        serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "manifests": [{
                "mediaType": OCI_MANIFEST,
                "size": manifest_size,
                "digest": manifest_digest,
                "annotations": {"org.opencontainers.image.ref.name": "sig"}
            }]
        }))
        .unwrap(),
    )
    .unwrap();
    must(
        w.skopeo()
            .arg("copy")
            .arg("--policy")
            .arg(&w.permissive)
            .arg("--dest-tls-verify=false")
            .arg(format!("oci:{}:sig", layout.display()))
            .arg(format!(
                "docker://{}:{}",
                w.reg.image(repo),
                sig_tag(digest)
            )),
    );
    // skopeo kept the manifest byte for byte.
    let (_, raw) = get_manifest(&w.reg.addr, repo, &sig_tag(digest));
    assert_eq!(raw, manifest, "skopeo rewrote the cosign manifest");
}

/// a. berth's key and signature verify with `openssl dgst -sha256 -verify`.
#[test]
fn interop_openssl_verifies_berth_signature() {
    let w = World::new();
    let (private, public) = w.berth_key("berth-key");
    let digest = w.push_sigstore_signed("interop/a:1", &private);
    let sigs = w.signatures("interop/a", &digest);
    assert_eq!(sigs.len(), 1, "one signature expected");
    let (payload, sig) = &sigs[0];
    assert!(
        openssl_verifies(&public, payload, sig),
        "openssl rejected berth's signature over {}",
        payload.display()
    );
    // The check has teeth: a changed payload fails.
    let tampered = w.p("tampered.json");
    let mut bytes = std::fs::read(payload).unwrap();
    bytes.push(b' ');
    std::fs::write(&tampered, bytes).unwrap();
    assert!(!openssl_verifies(&public, &tampered, sig));
    w.env.assert_canary();
}

/// b. A key and signature made by sigstore-rs, stored as cosign lays them out, are accepted
/// by berth's sigstoreSigned policy; under another key the pull is rejected and stores
/// nothing.
#[test]
fn interop_berth_accepts_sigstore_rs_signature() {
    let w = World::new();
    let digest = w.push("interop/b:1", &[]);
    let (oracle_private, oracle_public) = w.oracle_key("oracle-key");
    let payload = w.p("payload-b.json");
    std::fs::write(
        &payload,
        cosign_payload(&w.reg.image("interop/b:1"), &digest),
    )
    .unwrap();
    let (code, sig, err) = oracle(&[Path::new("sign"), &oracle_private, &w.pass, &payload]);
    assert_eq!(code, 0, "oracle sign: {err}");
    let sig = sig.trim().to_string();
    assert!(
        openssl_verifies(&oracle_public, &payload, &sig),
        "oracle's own signature"
    );
    publish_cosign_signature(
        &w,
        "interop/b",
        &digest,
        &std::fs::read(&payload).unwrap(),
        &sig,
    );

    let good = w.sigstore_policy("policy-oracle.json", &oracle_public);
    w.berth_pull(&good, "interop/b:1")
        .unwrap_or_else(|e| panic!("berth rejected sigstore-rs's signature: {e}"));
    // By digest too (matchRepoDigestOrExact).
    w.berth_pull(&good, &format!("interop/b@{digest}"))
        .unwrap_or_else(|e| panic!("berth rejected the pull by digest: {e}"));

    let (_, other_public) = w.oracle_key("other-key");
    let bad = w.sigstore_policy("policy-other.json", &other_public);
    let err = w
        .berth_pull(&bad, "interop/b:1")
        .expect_err("berth accepted a signature under another key");
    assert!(err.to_lowercase().contains("signature"), "{err}");
}

/// c. berth's signature verifies in sigstore-rs.
#[test]
fn interop_sigstore_rs_verifies_berth_signature() {
    let w = World::new();
    let (private, public) = w.berth_key("berth-key");
    let digest = w.push_sigstore_signed("interop/c:1", &private);
    let sigs = w.signatures("interop/c", &digest);
    assert_eq!(sigs.len(), 1);
    let (payload, sig) = &sigs[0];
    let (code, _, err) = oracle(&[Path::new("verify"), &public, payload, Path::new(sig)]);
    assert_eq!(code, 0, "sigstore-rs rejected berth's signature: {err}");
    // And it refuses a signature by another key.
    let (_, other_public) = w.oracle_key("other-key");
    let (code, _, _) = oracle(&[Path::new("verify"), &other_public, payload, Path::new(sig)]);
    assert_eq!(code, 1, "sigstore-rs accepted under the wrong key");
}

/// d. Keys cross over: sigstore-rs signs with berth's encrypted private key (and openssl
/// verifies with berth's public key); berth pushes signed with sigstore-rs's key, and both
/// berth's policy and sigstore-rs accept the result.
#[test]
fn interop_keys_cross_between_berth_and_sigstore_rs() {
    let w = World::new();
    // berth's key, read by sigstore-rs.
    let (berth_private, berth_public) = w.berth_key("berth-key");
    let blob = w.p("some-payload.json");
    std::fs::write(
        &blob,
        cosign_payload(
            "example.invalid/x:1",
            &format!("sha256:{}", "ab".repeat(32)),
        ),
    )
    .unwrap();
    let (code, sig, err) = oracle(&[Path::new("sign"), &berth_private, &w.pass, &blob]);
    assert_eq!(
        code, 0,
        "sigstore-rs could not use berth's private key: {err}"
    );
    let sig = sig.trim();
    assert!(
        openssl_verifies(&berth_public, &blob, sig),
        "openssl, berth's public key"
    );
    let (code, _, err) = oracle(&[Path::new("verify"), &berth_public, &blob, Path::new(sig)]);
    assert_eq!(code, 0, "sigstore-rs, berth's public key: {err}");
    // The wrong passphrase is refused by sigstore-rs (the key really is encrypted).
    let wrong = w.p("wrong-pass");
    std::fs::write(&wrong, "not it\n").unwrap();
    let (code, _, _) = oracle(&[Path::new("sign"), &berth_private, &wrong, &blob]);
    assert_ne!(
        code, 0,
        "berth's private key opened with a wrong passphrase"
    );

    // sigstore-rs's key, used by berth.
    let (oracle_private, oracle_public) = w.oracle_key("oracle-key");
    let digest = w.push_sigstore_signed("interop/d:1", &oracle_private);
    let sigs = w.signatures("interop/d", &digest);
    assert_eq!(sigs.len(), 1);
    let (payload, sig) = &sigs[0];
    let (code, _, err) = oracle(&[Path::new("verify"), &oracle_public, payload, Path::new(sig)]);
    assert_eq!(
        code, 0,
        "sigstore-rs rejected berth's signature by the oracle's key: {err}"
    );
    let policy = w.sigstore_policy("policy-oracle.json", &oracle_public);
    w.berth_pull(&policy, "interop/d:1")
        .unwrap_or_else(|e| panic!("berth rejected its own signature by the oracle's key: {e}"));
}

/// e. Trixie's skopeo (sigstore) both ways: its key and signature pass berth's policy; berth's
/// signature passes skopeo's `--policy`, and skopeo rejects it under another key.
#[test]
fn interop_trixie_skopeo_sigstore_both_ways() {
    let w = World::new();
    let regd = w.regd.to_str().unwrap();

    // skopeo → berth.
    let prefix = w.p("skopeo-key");
    must(
        w.trixie()
            .args(["generate-sigstore-key", "--output-prefix"])
            .arg(&prefix)
            .arg("--passphrase-file")
            .arg(&w.pass),
    );
    let skopeo_private = prefix.with_extension("private");
    let skopeo_public = prefix.with_extension("pub");
    let digest = w.push("interop/e:src", &[]);
    must(
        w.trixie()
            .arg("copy")
            .args(["--src-tls-verify=false", "--dest-tls-verify=false"])
            .args(["--registries.d", regd])
            .arg("--policy")
            .arg(&w.permissive)
            .arg("--sign-by-sigstore-private-key")
            .arg(&skopeo_private)
            .arg("--sign-passphrase-file")
            .arg(&w.pass)
            .arg(format!("docker://{}", w.reg.image("interop/e:src")))
            .arg(format!("docker://{}", w.reg.image("interop/e:signed"))),
    );
    assert!(manifest_exists(&w.reg.addr, "interop/e", &sig_tag(&digest)));
    let policy = w.sigstore_policy("policy-skopeo.json", &skopeo_public);
    w.berth_pull(&policy, "interop/e:signed")
        .unwrap_or_else(|e| panic!("berth rejected trixie skopeo's signature: {e}"));
    let (_, berth_public_other) = w.berth_key("unrelated");
    let other = w.sigstore_policy("policy-unrelated.json", &berth_public_other);
    w.berth_pull(&other, "interop/e:signed")
        .expect_err("berth accepted skopeo's signature under an unrelated key");

    // berth → skopeo.
    let (berth_private, berth_public) = w.berth_key("berth-key");
    w.push_sigstore_signed("interop/e2:1", &berth_private);
    let skopeo_copy_from = |src: &str, policy: &Path, dest: &str| {
        run(w
            .trixie()
            .arg("copy")
            // Policy is checked on the source; oci: destinations cannot store signatures.
            .args(["--src-tls-verify=false", "--remove-signatures"])
            .args(["--registries.d", regd])
            .arg("--policy")
            .arg(policy)
            .arg(format!("docker://{}", w.reg.image(src)))
            .arg(format!("oci:{}:x", w.p(dest).display())))
    };
    let skopeo_copy = |policy: &Path, dest: &str| skopeo_copy_from("interop/e2:1", policy, dest);
    let accept = w.sigstore_policy("policy-berth.json", &berth_public);
    let out = skopeo_copy(&accept, "skopeo-accepts");
    assert!(
        out.status.success(),
        "trixie skopeo rejected berth's signature: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = skopeo_copy(&policy, "skopeo-rejects");
    assert!(
        !out.status.success(),
        "skopeo accepted berth's signature under another key"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("rejected") || stderr.contains("ignature"),
        "{stderr}"
    );

    // skopeo's private key (PEM label `ENCRYPTED COSIGN PRIVATE KEY`, where sigstore-rs and
    // newer cosign write `ENCRYPTED SIGSTORE PRIVATE KEY`) signs in berth; skopeo accepts.
    w.push_sigstore_signed("interop/e3:1", &skopeo_private);
    let out = skopeo_copy_from("interop/e3:1", &policy, "skopeo-key-in-berth");
    assert!(
        out.status.success(),
        "trixie skopeo rejected berth's signature by skopeo's key: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// GPG simple signing setup for test f: a GnuPG home with a key, its exported public key, a
/// file:// lookaside (also the staging location) named by a registries.d `docker:` scope for
/// this registry (not default-docker), and a signedBy policy for that key.
struct GpgWorld {
    /// Stops the home's gpg-agent on drop; declared first, so it drops before `w` removes
    /// the home.
    gpg: crate::oracles::GpgHome,
    w: World,
    fpr: String,
    lookaside: PathBuf,
    regd: PathBuf,
    signed_by: PathBuf,
}

impl GpgWorld {
    fn new() -> GpgWorld {
        let w = World::new();
        let (gpg, fpr) = gnupg_home(w.env.dir.path());
        let pubring = w.p("pubring.gpg");
        gpg.export(&fpr, &pubring);
        let lookaside = w.p("lookaside");
        std::fs::create_dir_all(&lookaside).unwrap();
        let regd = w.p("registries-gpg.d");
        std::fs::create_dir_all(&regd).unwrap();
        std::fs::write(
            regd.join("test.yaml"),
            format!(
                "docker:\n  {}:\n    lookaside: file://{}\n    lookaside-staging: file://{}\n",
                w.reg.addr,
                lookaside.display(),
                lookaside.display()
            ),
        )
        .unwrap();
        let signed_by = w.policy(
            "policy-gpg.json",
            json!({
                "type": "signedBy",
                "keyType": "GPGKeys",
                "keyPath": pubring,
                "signedIdentity": {"type": "matchRepoDigestOrExact"}
            }),
        );
        GpgWorld {
            w,
            gpg,
            fpr,
            lookaside,
            regd,
            signed_by,
        }
    }

    fn regd(&self) -> &str {
        self.regd.to_str().unwrap()
    }

    /// `berth pull` into a fresh store under the signedBy policy; on rejection nothing is
    /// stored.
    fn berth_pull(&self, reference: &str) -> Result<(), String> {
        let store = TestEnv::new();
        let src = format!("docker://{}", self.w.reg.image(reference));
        let args = [
            "pull",
            "--tls-verify=false",
            "--signature-policy",
            self.signed_by.to_str().unwrap(),
            "--registries.d",
            self.regd(),
            &src,
        ];
        let out = berth(&store, &args).output().unwrap();
        if out.status.success() {
            return Ok(());
        }
        let line = fails(&store, &args);
        assert_eq!(blob_count(&store), 0, "rejected, yet blobs were stored");
        Err(line)
    }

    /// Bookworm skopeo `copy` of `reference` into an OCI layout under the signedBy policy.
    fn skopeo_check(&self, reference: &str, dest: &str) -> Output {
        run(self
            .w
            .skopeo()
            .arg("copy")
            // Policy is checked on the source; oci: destinations cannot store signatures.
            .args(["--src-tls-verify=false", "--remove-signatures"])
            .args(["--registries.d", self.regd()])
            .arg("--policy")
            .arg(&self.signed_by)
            .arg(format!("docker://{}", self.w.reg.image(reference)))
            .arg(format!("oci:{}:x", self.w.p(dest).display())))
    }
}

/// f1. GPG simple signing, Debian's (bookworm) skopeo → berth: `skopeo copy --sign-by` into
/// a file:// lookaside, then berth's signedBy policy accepts that tag and rejects the same
/// digest under the tag the signature does not name.
#[test]
fn interop_gpg_skopeo_signs_berth_verifies() {
    let g = GpgWorld::new();
    let w = &g.w;
    let digest = w.push("interop/f:src", &[]);
    must(
        w.skopeo()
            .env("GNUPGHOME", &g.gpg.home)
            .arg("copy")
            .args(["--src-tls-verify=false", "--dest-tls-verify=false"])
            .args(["--registries.d", g.regd()])
            .arg("--policy")
            .arg(&w.permissive)
            .args(["--sign-by", &g.fpr])
            .arg(format!("docker://{}", w.reg.image("interop/f:src")))
            .arg(format!("docker://{}", w.reg.image("interop/f:signed"))),
    );
    let sig = g
        .lookaside
        .join(format!("interop/f@sha256={}/signature-1", &digest[7..]));
    assert!(
        sig.is_file(),
        "skopeo wrote no signature at {}",
        sig.display()
    );
    g.berth_pull("interop/f:signed")
        .unwrap_or_else(|e| panic!("berth rejected skopeo's GPG signature: {e}"));
    // The signature names interop/f:signed; interop/f:src (same digest) does not match.
    let err = g
        .berth_pull("interop/f:src")
        .expect_err("berth accepted a signature for another tag");
    assert!(
        err.contains("not accepted") || err.contains("identity"),
        "{err}"
    );
}

/// f2. GPG simple signing, berth → Debian's (bookworm) skopeo: `berth push --sign-by` writes
/// `REPO@sha256=HEX/signature-1` in the lookaside-staging dir; skopeo's signedBy policy
/// accepts it, and rejects the same manifest under another tag (identity mismatch).
#[test]
fn interop_gpg_berth_signs_skopeo_verifies() {
    let g = GpgWorld::new();
    let w = &g.w;
    let digestfile = w.p("digest-f2");
    let dest = format!("docker://{}", w.reg.image("interop/f2:1"));
    let args = [
        "push",
        "--tls-verify=false",
        "--digestfile",
        digestfile.to_str().unwrap(),
        "--sign-by",
        &g.fpr,
        "--registries.d",
        g.regd(),
        "busybox",
        &dest,
    ];
    let out = berth(&w.env, &args)
        .env("GNUPGHOME", &g.gpg.home)
        .output()
        .unwrap();
    crate::util::success_stdout(&args, out);
    let digest = std::fs::read_to_string(&digestfile)
        .unwrap()
        .trim()
        .to_string();
    let sig = g
        .lookaside
        .join(format!("interop/f2@sha256={}/signature-1", &digest[7..]));
    assert!(
        sig.is_file(),
        "berth wrote no signature at {}",
        sig.display()
    );

    let out = g.skopeo_check("interop/f2:1", "gpg-accepts");
    assert!(
        out.status.success(),
        "skopeo rejected berth's GPG signature: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The same manifest bytes under another tag (a plain registry PUT, so no tool re-signs
    // or re-copies signatures): the signed identity names interop/f2:1.
    let (media_type, raw) = get_manifest(&w.reg.addr, "interop/f2", "1");
    put_manifest(&w.reg.addr, "interop/f2", "other", &media_type, &raw);
    let out = g.skopeo_check("interop/f2:other", "gpg-rejects");
    assert!(
        !out.status.success(),
        "skopeo accepted berth's signature under another tag"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("not accepted") || stderr.contains("rejected"),
        "{stderr}"
    );
}

/// g. The `.sig` attachment berth writes matches cosign's SIGNATURE_SPEC.md field by field,
/// and has the same shape as the one trixie's skopeo (containers/image) writes for the same
/// image.
#[test]
fn interop_sig_manifest_matches_cosign_spec() {
    let w = World::new();
    let (private, _) = w.berth_key("berth-key");
    let reference = w.reg.image("interop/g:1");
    let digest = w.push_sigstore_signed("interop/g:1", &private);

    // Tag-based discovery: sha256:<hex> → sha256-<hex>.sig in the same repository.
    assert_eq!(sig_tag(&digest), format!("sha256-{}.sig", &digest[7..]));
    let (_, content_type, m) = w.sig_manifest("interop/g", &digest);
    check_sig_manifest(&w, "interop/g", &content_type, &m, &reference, &digest);

    // The same image signed by trixie's skopeo into another repository: same shape.
    let prefix = w.p("skopeo-key");
    must(
        w.trixie()
            .args(["generate-sigstore-key", "--output-prefix"])
            .arg(&prefix)
            .arg("--passphrase-file")
            .arg(&w.pass),
    );
    must(
        w.trixie()
            .arg("copy")
            .args([
                "--src-tls-verify=false",
                "--dest-tls-verify=false",
                "--remove-signatures",
            ])
            .args(["--registries.d", w.regd.to_str().unwrap()])
            .arg("--policy")
            .arg(&w.permissive)
            .arg("--sign-by-sigstore-private-key")
            .arg(prefix.with_extension("private"))
            .arg("--sign-passphrase-file")
            .arg(&w.pass)
            .arg(format!("docker://{reference}"))
            .arg(format!("docker://{}", w.reg.image("interop/g-skopeo:1"))),
    );
    let (_, sct, sm) = w.sig_manifest("interop/g-skopeo", &digest);
    check_sig_manifest(
        &w,
        "interop/g-skopeo",
        &sct,
        &sm,
        &w.reg.image("interop/g-skopeo:1"),
        &digest,
    );
    let keys = |v: &Value| -> Vec<String> {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(keys(&m), keys(&sm), "manifest fields: berth vs skopeo");
    assert_eq!(
        keys(&m["config"]),
        keys(&sm["config"]),
        "config descriptor fields"
    );
    assert_eq!(
        keys(&m["layers"][0]),
        keys(&sm["layers"][0]),
        "layer descriptor fields"
    );
    assert_eq!(
        keys(&m["layers"][0]["annotations"]),
        keys(&sm["layers"][0]["annotations"]),
        "layer annotations"
    );
    let payload = |repo: &str, m: &Value| -> Value {
        serde_json::from_slice(&get_blob(
            &w.reg.addr,
            repo,
            m["layers"][0]["digest"].as_str().unwrap(),
        ))
        .unwrap()
    };
    let (bp, sp) = (payload("interop/g", &m), payload("interop/g-skopeo", &sm));
    assert_eq!(keys(&bp), keys(&sp), "payload fields");
    assert_eq!(
        keys(&bp["critical"]),
        keys(&sp["critical"]),
        "critical fields"
    );
    // Not in the spec, but what both cosign and containers/image write: the config is an
    // OCI image config whose rootfs.diff_ids list the payload digests, in layer order.
    let config = |repo: &str, m: &Value| -> Value {
        serde_json::from_slice(&get_blob(
            &w.reg.addr,
            repo,
            m["config"]["digest"].as_str().unwrap(),
        ))
        .unwrap()
    };
    let (bc, sc) = (config("interop/g", &m), config("interop/g-skopeo", &sm));
    assert_eq!(
        keys(&bc),
        keys(&sc),
        "config fields: berth {bc} vs skopeo {sc}"
    );
    for (c, man) in [(&bc, &m), (&sc, &sm)] {
        let layer_digests: Vec<&Value> = man["layers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| &l["digest"])
            .collect();
        let diff_ids: Vec<&Value> = c["rootfs"]["diff_ids"].as_array().unwrap().iter().collect();
        assert_eq!(c["rootfs"]["type"], "layers", "{c}");
        assert_eq!(diff_ids, layer_digests, "{c}");
    }
}

/// The checks of cosign's SIGNATURE_SPEC.md (Storage, Payloads, Signature Schemes) on one
/// `.sig` manifest.
fn check_sig_manifest(
    w: &World,
    repo: &str,
    content_type: &str,
    m: &Value,
    reference: &str,
    digest: &str,
) {
    // Object type: an OCI Image Manifest V1.
    assert_eq!(m["schemaVersion"], 2, "{m}");
    assert_eq!(m["mediaType"], OCI_MANIFEST, "{m}");
    assert_eq!(content_type, OCI_MANIFEST, "registry Content-Type");
    // Config: OCI image config media type, a blob that exists and matches its descriptor.
    let config = &m["config"];
    assert_eq!(config["mediaType"], OCI_CONFIG, "{m}");
    let config_blob = get_blob(&w.reg.addr, repo, config["digest"].as_str().unwrap());
    assert_eq!(config["size"].as_u64(), Some(config_blob.len() as u64));
    assert_eq!(
        config["digest"].as_str().unwrap(),
        format!("sha256:{}", hex::encode(Sha256::digest(&config_blob)))
    );
    let config_json: Value = serde_json::from_slice(&config_blob).expect("config is JSON");
    assert!(config_json.is_object(), "{config_json}");

    // Layers: each a simple-signing payload blob with the signature annotation.
    let layers = m["layers"].as_array().expect("layers");
    assert!(!layers.is_empty());
    for layer in layers {
        assert_eq!(layer["mediaType"], COSIGN_PAYLOAD, "{layer}");
        let payload = get_blob(&w.reg.addr, repo, layer["digest"].as_str().unwrap());
        assert_eq!(layer["size"].as_u64(), Some(payload.len() as u64));
        assert_eq!(
            layer["digest"].as_str().unwrap(),
            format!("sha256:{}", hex::encode(Sha256::digest(&payload))),
            "the payload is hashed by the registry's algorithm (sha256)"
        );
        let sig = layer["annotations"][COSIGN_SIG_ANNOTATION]
            .as_str()
            .unwrap_or_else(|| panic!("no {COSIGN_SIG_ANNOTATION}: {layer}"));
        let der = crate::oracles::base64_decode(sig).expect("signature is standard base64");
        assert_eq!(der.first(), Some(&0x30), "an ASN.1 (DER) ECDSA signature");
        // The certificate/chain annotations are optional and absent for key-based signing.
        // Payload: containers' simple signing, cosign type.
        let p: Value = serde_json::from_slice(&payload).expect("payload is JSON");
        assert_eq!(p["critical"]["type"], COSIGN_TYPE, "{p}");
        assert_eq!(
            p["critical"]["identity"]["docker-reference"], reference,
            "{p}"
        );
        assert_eq!(
            p["critical"]["image"]["docker-manifest-digest"], digest,
            "{p}"
        );
        // containers-signature(5): exactly these critical fields; optional an object or null.
        let mut critical: Vec<&String> = p["critical"].as_object().unwrap().keys().collect();
        critical.sort();
        assert_eq!(critical, ["identity", "image", "type"], "{p}");
        assert!(p["optional"].is_object() || p["optional"].is_null(), "{p}");
    }
}
