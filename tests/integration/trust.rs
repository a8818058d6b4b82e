//! Trust from the CLI: policies (signedBy, sigstoreSigned, reject, scopes), signatures
//! written by `push --sign-by-sigstore-private-key` / `--sign-by` and checked on pull, copy,
//! build FROM and run, `image trust show|set`, and bad input: wrong key, another digest,
//! another repository, tampered payload, malformed base64, 10,000 signatures, malformed
//! policies. After every refusal nothing of the image is stored.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};

use crate::oracles;
use crate::registry_harness::{berth, blob_count, fails, ok, Registry};
use crate::util::{require_tool, TestEnv};

const PASS: &str = "berth-test-passphrase";

/// A test world: a registry, a store with busybox, a cosign key pair, and a registries.d that
/// turns sigstore attachments on and points GPG lookaside at a directory.
struct World {
    reg: Registry,
    env: TestEnv,
    key: PathBuf,
    pubkey: PathBuf,
    passfile: PathBuf,
    regd: PathBuf,
    lookaside: PathBuf,
}

impl World {
    fn new() -> World {
        let reg = Registry::start();
        let env = TestEnv::new();
        env.import_busybox("busybox");
        let passfile = env.path("pass");
        std::fs::write(&passfile, format!("{PASS}\n")).unwrap();
        let prefix = env.path("key");
        ok(
            &env,
            &[
                "generate-sigstore-key",
                "--output-prefix",
                prefix.to_str().unwrap(),
                "--passphrase-file",
                passfile.to_str().unwrap(),
            ],
        );
        let regd = env.path("registries.d");
        let lookaside = env.path("lookaside");
        std::fs::create_dir_all(&regd).unwrap();
        std::fs::write(
            regd.join("default.yaml"),
            format!(
                "default-docker:\n  use-sigstore-attachments: true\n  lookaside: file://{}\n",
                lookaside.display()
            ),
        )
        .unwrap();
        World {
            key: env.path("key.private"),
            pubkey: env.path("key.pub"),
            reg,
            env,
            passfile,
            regd,
            lookaside,
        }
    }

    fn regd(&self) -> &str {
        self.regd.to_str().unwrap()
    }

    /// Run berth with `args` plus the world's registries.d and cosign signing flags.
    fn ok_signed(&self, args: &[&str]) -> String {
        let mut all: Vec<&str> = args.to_vec();
        all.extend([
            "--registries.d",
            self.regd(),
            "--sign-by-sigstore-private-key",
            self.key.to_str().unwrap(),
            "--sign-passphrase-file",
            self.passfile.to_str().unwrap(),
        ]);
        ok(&self.env, &all)
    }

    /// Push busybox to `repo:tag`, signed with the world's cosign key; returns the digest.
    fn push_signed(&self, dest: &str) -> String {
        let digestfile = self.env.path("digest");
        self.ok_signed(&[
            "push",
            "--tls-verify=false",
            "--digestfile",
            digestfile.to_str().unwrap(),
            "busybox",
            &format!("docker://{dest}"),
        ]);
        std::fs::read_to_string(digestfile).unwrap()
    }

    fn push_unsigned(&self, dest: &str) -> String {
        let digestfile = self.env.path("digest");
        ok(
            &self.env,
            &[
                "push",
                "--tls-verify=false",
                "--digestfile",
                digestfile.to_str().unwrap(),
                "busybox",
                &format!("docker://{dest}"),
            ],
        );
        std::fs::read_to_string(digestfile).unwrap()
    }

    /// Write a policy file whose docker scope `scope` requires `req`; default reject.
    fn policy(&self, name: &str, scope: &str, req: Value) -> PathBuf {
        let path = self.env.path(name);
        let policy = json!({
            "default": [{"type": "reject"}],
            "transports": {"docker": {scope: [req]}},
        });
        std::fs::write(&path, serde_json::to_vec_pretty(&policy).unwrap()).unwrap();
        path
    }

    fn sigstore_policy(&self, scope: &str, pubkey: &Path) -> PathBuf {
        self.policy(
            "policy-sigstore.json",
            scope,
            json!({"type": "sigstoreSigned", "keyPath": pubkey}),
        )
    }

    /// A fresh store to pull into (so "nothing stored" is easy to check).
    fn puller(&self) -> TestEnv {
        TestEnv::new()
    }

    fn pull(&self, into: &TestEnv, policy: &Path, image: &str) -> String {
        ok(
            into,
            &[
                "pull",
                "--tls-verify=false",
                "--registries.d",
                self.regd(),
                "--signature-policy",
                policy.to_str().unwrap(),
                image,
            ],
        )
    }

    fn pull_fails(&self, into: &TestEnv, policy: &Path, image: &str) -> String {
        let err = fails(
            into,
            &[
                "pull",
                "--tls-verify=false",
                "--registries.d",
                self.regd(),
                "--signature-policy",
                policy.to_str().unwrap(),
                image,
            ],
        );
        assert_eq!(blob_count(into), 0, "nothing may be stored: {err}");
        let images = ok(into, &["images", "-q"]);
        assert!(
            images.trim().is_empty(),
            "no image may be recorded: {images}"
        );
        err
    }
}

// ---- crafting registry content (plain HTTP helpers shared with the interop tests) ----

fn sha(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

fn get_manifest(addr: &str, repo: &str, reference: &str) -> Value {
    let (_, body) = oracles::get_manifest(addr, repo, reference);
    serde_json::from_slice(&body).unwrap()
}

/// Put a cosign attachment manifest for `digest` in `repo` with these (payload, signature)
/// layers, replacing any there.
fn put_attachments(addr: &str, repo: &str, digest: &str, layers: &[(Vec<u8>, String)]) {
    let mut descs = Vec::new();
    let mut diff_ids = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (payload, sig) in layers {
        let d = sha(payload);
        if seen.insert(d.clone()) {
            oracles::put_blob(addr, repo, payload);
        }
        diff_ids.push(d.clone());
        descs.push(json!({
            "mediaType": "application/vnd.dev.cosign.simplesigning.v1+json",
            "size": payload.len(),
            "digest": d,
            "annotations": {"dev.cosignproject.cosign/signature": sig},
        }));
    }
    let config = serde_json::to_vec(&json!({
        "architecture": "", "os": "", "config": {},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    }))
    .unwrap();
    let config_digest = oracles::put_blob(addr, repo, &config);
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "size": config.len(), "digest": config_digest},
        "layers": descs,
    }))
    .unwrap();
    let tag = format!("{}.sig", digest.replacen(':', "-", 1));
    oracles::put_manifest(
        addr,
        repo,
        &tag,
        "application/vnd.oci.image.manifest.v1+json",
        &manifest,
    );
}

/// The (payload, base64 signature) layers berth attached to `digest` in `repo`.
fn attachments(addr: &str, repo: &str, digest: &str) -> Vec<(Vec<u8>, String)> {
    let tag = format!("{}.sig", digest.replacen(':', "-", 1));
    let m = get_manifest(addr, repo, &tag);
    m["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            let payload = oracles::get_blob(addr, repo, l["digest"].as_str().unwrap());
            let sig = l["annotations"]["dev.cosignproject.cosign/signature"]
                .as_str()
                .unwrap()
                .to_string();
            (payload, sig)
        })
        .collect()
}

/// Sign `payload` with the world's key through berth itself is not possible (berth signs only
/// what it pushes), so re-use a signature berth made: returns (payload, sig) for `dest`.
fn signed_pair(w: &World, dest: &str) -> (String, Vec<u8>, String) {
    let digest = w.push_signed(dest);
    let (repo, _) = dest
        .split_once('/')
        .map(|(_, r)| r.rsplit_once(':').unwrap())
        .unwrap();
    let mut pairs = attachments(&w.reg.addr, repo, &digest);
    let (payload, sig) = pairs.pop().unwrap();
    (digest, payload, sig)
}

#[test]
fn sigstore_signed_push_is_accepted_by_tag_and_by_digest() {
    let w = World::new();
    let dest = w.reg.image("signed/busybox:1");
    let digest = w.push_signed(&dest);
    let policy = w.sigstore_policy(&w.reg.image("signed"), &w.pubkey);

    let into = w.puller();
    w.pull(&into, &policy, &format!("docker://{dest}"));
    let names = ok(&into, &["images", "--format", "json"]);
    assert!(names.contains(&dest), "{names}");

    // By digest: matchRepoDigestOrExact accepts a signature naming the tag.
    let by_digest = w.puller();
    let repo = w.reg.image("signed/busybox");
    w.pull(&by_digest, &policy, &format!("docker://{repo}@{digest}"));

    // Signing again adds a signature; the first one is kept.
    w.push_signed(&dest);
    let pairs = attachments(&w.reg.addr, "signed/busybox", &digest);
    assert_eq!(pairs.len(), 2, "signatures are added, never dropped");

    // The payload is cosign's simple-signing format, for this digest and identity.
    let p: Value = serde_json::from_slice(&pairs[0].0).unwrap();
    assert_eq!(p["critical"]["type"], "cosign container image signature");
    assert_eq!(p["critical"]["image"]["docker-manifest-digest"], digest);
    assert_eq!(p["critical"]["identity"]["docker-reference"], dest);
}

#[test]
fn unsigned_and_wrong_key_are_rejected_with_nothing_stored() {
    let w = World::new();
    let unsigned = w.reg.image("plain/busybox:1");
    w.push_unsigned(&unsigned);
    let policy = w.sigstore_policy(&w.reg.image("plain"), &w.pubkey);
    let err = w.pull_fails(&w.puller(), &policy, &format!("docker://{unsigned}"));
    assert!(
        err.contains("A signature was required, but no signature exists"),
        "{err}"
    );
    assert!(
        err.contains(&w.reg.image("plain")),
        "names the scope: {err}"
    );

    // Signed, but the policy trusts another key.
    let signed = w.reg.image("plain/signed:1");
    w.push_signed(&signed);
    let other = w.env.path("other");
    ok(
        &w.env,
        &[
            "generate-sigstore-key",
            "--output-prefix",
            other.to_str().unwrap(),
            "--passphrase-file",
            w.passfile.to_str().unwrap(),
        ],
    );
    let policy = w.sigstore_policy(&w.reg.image("plain"), &w.env.path("other.pub"));
    let err = w.pull_fails(&w.puller(), &policy, &format!("docker://{signed}"));
    assert!(err.to_lowercase().contains("signature"), "{err}");
}

#[test]
fn signatures_for_another_repository_or_digest_are_rejected() {
    let w = World::new();
    // A valid signature for repo a, presented for the same digest in repo b.
    let (digest, payload, sig) = signed_pair(&w, &w.reg.image("ident/a:1"));
    let b = w.reg.image("ident/b:1");
    let b_digest = w.push_unsigned(&b);
    assert_eq!(b_digest, digest);
    put_attachments(&w.reg.addr, "ident/b", &digest, &[(payload, sig)]);
    let policy = w.sigstore_policy(&w.reg.image("ident"), &w.pubkey);
    let err = w.pull_fails(&w.puller(), &policy, &format!("docker://{b}"));
    assert!(err.contains("is not accepted"), "{err}");
    assert!(err.contains(&w.reg.image("ident/a:1")), "{err}");

    // A valid signature for ident/c:1 naming busybox's digest, attached to another image
    // that was pushed over the same tag afterwards.
    let c = w.reg.image("ident/c:1");
    let (bb_digest, payload, sig) = signed_pair(&w, &c);
    let tar = w.env.busybox_tar();
    w.env
        .ok(&["import", "-c", "LABEL x=y", tar.to_str().unwrap(), "other"]);
    let digestfile = w.env.path("digest-c");
    ok(
        &w.env,
        &[
            "push",
            "--tls-verify=false",
            "--digestfile",
            digestfile.to_str().unwrap(),
            "other",
            &format!("docker://{c}"),
        ],
    );
    let other_digest = std::fs::read_to_string(digestfile).unwrap();
    assert_ne!(other_digest, bb_digest);
    put_attachments(&w.reg.addr, "ident/c", &other_digest, &[(payload, sig)]);
    let err = w.pull_fails(&w.puller(), &policy, &format!("docker://{c}"));
    assert!(err.contains("does not match"), "{err}");
    assert!(err.contains(&other_digest), "{err}");
}

#[test]
fn tampered_payload_and_malformed_signatures_are_rejected() {
    let w = World::new();
    let dest = w.reg.image("tamper/busybox:1");
    let (digest, payload, sig) = signed_pair(&w, &dest);
    let policy = w.sigstore_policy(&w.reg.image("tamper"), &w.pubkey);

    // One changed byte in the payload (still valid JSON).
    let text = String::from_utf8(payload.clone()).unwrap();
    let tampered = text
        .replacen("\"critical\"", "\"critical\" ", 1)
        .into_bytes();
    put_attachments(
        &w.reg.addr,
        "tamper/busybox",
        &digest,
        &[(tampered, sig.clone())],
    );
    let err = w.pull_fails(&w.puller(), &policy, &format!("docker://{dest}"));
    assert!(err.to_lowercase().contains("signature"), "{err}");

    // Not base64 at all.
    put_attachments(
        &w.reg.addr,
        "tamper/busybox",
        &digest,
        &[(payload.clone(), "%%% not base64 %%%".into())],
    );
    let err = w.pull_fails(&w.puller(), &policy, &format!("docker://{dest}"));
    assert!(err.to_lowercase().contains("base64"), "{err}");

    // Valid again: accepted (the checks above failed for the right reason).
    put_attachments(&w.reg.addr, "tamper/busybox", &digest, &[(payload, sig)]);
    w.pull(&w.puller(), &policy, &format!("docker://{dest}"));
}

#[test]
fn ten_thousand_signatures_are_refused_in_bounded_time() {
    let w = World::new();
    let dest = w.reg.image("many/busybox:1");
    let (digest, payload, sig) = signed_pair(&w, &dest);
    let layers: Vec<(Vec<u8>, String)> = (0..10_000)
        .map(|_| (payload.clone(), sig.clone()))
        .collect();
    put_attachments(&w.reg.addr, "many/busybox", &digest, &layers);
    let policy = w.sigstore_policy(&w.reg.image("many"), &w.pubkey);
    let start = Instant::now();
    let err = w.pull_fails(&w.puller(), &policy, &format!("docker://{dest}"));
    assert!(
        start.elapsed() < Duration::from_secs(30),
        "took {:?}",
        start.elapsed()
    );
    assert!(err.contains("10000"), "{err}");
}

#[test]
fn gpg_signed_push_into_the_lookaside_is_accepted_and_identity_checked() {
    require_tool("gpg");
    let w = World::new();
    let gnupg = w.env.path("gnupg");
    std::fs::create_dir_all(&gnupg).unwrap();
    std::fs::set_permissions(&gnupg, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    let _agent = GpgAgentGuard(gnupg.clone());
    let gpg = |args: &[&str]| {
        let out = Command::new("gpg")
            .arg("--homedir")
            .arg(&gnupg)
            .args(["--batch", "--pinentry-mode", "loopback", "--passphrase", ""])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "gpg {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    gpg(&[
        "--quick-gen-key",
        "berth test <test@berth.invalid>",
        "default",
        "default",
        "never",
    ]);
    let listing = String::from_utf8(gpg(&["--with-colons", "--list-keys"])).unwrap();
    let fpr = listing
        .lines()
        .find_map(|l| l.strip_prefix("fpr:"))
        .map(|l| l.trim_matches(':').to_string())
        .unwrap();
    let pubkey = w.env.path("gpg.pub");
    std::fs::write(&pubkey, gpg(&["--export", "--armor", &fpr])).unwrap();

    let dest = w.reg.image("gpg/busybox:1");
    let mut cmd = berth(
        &w.env,
        &[
            "push",
            "--tls-verify=false",
            "--registries.d",
            w.regd(),
            "--sign-by",
            &fpr,
            "busybox",
            &format!("docker://{dest}"),
        ],
    );
    let out = cmd.env("GNUPGHOME", &gnupg).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sigs: Vec<_> = walk(&w.lookaside);
    assert_eq!(sigs.len(), 1, "{sigs:?}");
    assert!(sigs[0].ends_with("signature-1"), "{sigs:?}");
    assert!(
        sigs[0].to_string_lossy().contains("gpg/busybox@sha256="),
        "{sigs:?}"
    );

    let policy = w.policy(
        "policy-gpg.json",
        &w.reg.image("gpg"),
        json!({"type": "signedBy", "keyType": "GPGKeys", "keyPath": pubkey}),
    );
    w.pull(&w.puller(), &policy, &format!("docker://{dest}"));

    // The same digest under another repository: the signature names gpg/busybox:1.
    let other = w.reg.image("gpg/other:1");
    w.push_unsigned(&other);
    let from = w.lookaside.join("gpg");
    let busybox_dir = std::fs::read_dir(&from)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .find(|n| n.starts_with("busybox@"))
        .unwrap();
    let to = from.join(busybox_dir.replacen("busybox@", "other@", 1));
    std::fs::create_dir_all(&to).unwrap();
    std::fs::copy(
        from.join(&busybox_dir).join("signature-1"),
        to.join("signature-1"),
    )
    .unwrap();
    let err = w.pull_fails(&w.puller(), &policy, &format!("docker://{other}"));
    assert!(err.contains("is not accepted"), "{err}");
}

struct GpgAgentGuard(PathBuf);

impl Drop for GpgAgentGuard {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .arg("--homedir")
            .arg(&self.0)
            .args(["--kill", "gpg-agent"])
            .status();
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[test]
fn malformed_policies_are_refused_naming_the_file_and_key() {
    let w = World::new();
    let dest = w.reg.image("pol/busybox:1");
    // Signed, so that a sigstoreSigned requirement gets as far as loading its key.
    w.push_signed(&dest);
    let cases: &[(&str, &str, &str)] = &[
        (
            "unknown",
            r#"{"default":[{"type":"insecureAcceptAnything","x":1}]}"#,
            "\"x\"",
        ),
        (
            "duplicate",
            r#"{"default":[{"type":"insecureAcceptAnything"}],"default":[{"type":"reject"}]}"#,
            "default",
        ),
        ("wrongtype", r#"{"default":{"type":"reject"}}"#, "default"),
        (
            "nokeyfile",
            r#"{"default":[{"type":"sigstoreSigned","keyPath":"/nonexistent/berth.pub"}]}"#,
            "/nonexistent/berth.pub",
        ),
    ];
    for (name, text, key) in cases {
        let path = w.env.path(&format!("policy-{name}.json"));
        std::fs::write(&path, text).unwrap();
        let err = w.pull_fails(&w.puller(), &path, &format!("docker://{dest}"));
        assert!(err.contains(key), "{name}: {err}");
        if *name != "nokeyfile" {
            assert!(err.contains(path.to_str().unwrap()), "{name}: {err}");
        }
    }
    // An empty requirement list is refused (containers/image makes it a format error).
    let path = w.env.path("policy-empty.json");
    std::fs::write(
        &path,
        format!(
            r#"{{"default":[{{"type":"insecureAcceptAnything"}}],"transports":{{"docker":{{"{}":[]}}}}}}"#,
            w.reg.image("pol")
        ),
    )
    .unwrap();
    let err = w.pull_fails(&w.puller(), &path, &format!("docker://{dest}"));
    assert!(err.contains("must not be empty"), "{err}");
    assert!(err.contains(path.to_str().unwrap()), "{err}");
}

#[test]
fn copy_build_and_run_go_through_the_policy() {
    let w = World::new();
    let dest = w.reg.image("gate/busybox:1");
    w.push_unsigned(&dest);
    let policy = w.sigstore_policy(&w.reg.image("gate"), &w.pubkey);
    let p = policy.to_str().unwrap();
    let into = w.puller();
    let layout = into.path("layout");
    let err = fails(
        &into,
        &[
            "copy",
            "--src-tls-verify=false",
            "--registries.d",
            w.regd(),
            "--signature-policy",
            p,
            &format!("docker://{dest}"),
            &format!("oci:{}:x", layout.display()),
        ],
    );
    assert!(err.contains("no signature exists"), "{err}");
    assert!(!layout.join("index.json").exists());

    let ctx = into.path("ctx");
    std::fs::create_dir_all(&ctx).unwrap();
    std::fs::write(
        ctx.join("Containerfile"),
        format!("FROM {dest}\nRUN true\n"),
    )
    .unwrap();
    let err = fails(
        &into,
        &[
            "build",
            "--tls-verify=false",
            "--signature-policy",
            p,
            "-t",
            "x",
            ctx.to_str().unwrap(),
        ],
    );
    assert!(err.contains("no signature exists"), "{err}");

    let err = fails(
        &into,
        &[
            "run",
            "--rm",
            "--tls-verify=false",
            "--signature-policy",
            p,
            &dest,
            "true",
        ],
    );
    assert!(err.contains("no signature exists"), "{err}");
    assert_eq!(blob_count(&into), 0);

    // Signed: run pulls it through the gate and runs it.
    w.push_signed(&dest);
    let out = ok(
        &into,
        &[
            "run",
            "--rm",
            "--tls-verify=false",
            "--registries.d",
            w.regd(),
            "--signature-policy",
            p,
            &dest,
            "echo",
            "trusted",
        ],
    );
    assert_eq!(out.trim(), "trusted");

    // A local source under a rejecting oci transport policy.
    let reject = into.path("reject-oci.json");
    std::fs::write(
        &reject,
        r#"{"default":[{"type":"insecureAcceptAnything"}],"transports":{"oci":{"":[{"type":"reject"}]}}}"#,
    )
    .unwrap();
    ok(
        &w.env,
        &[
            "save",
            "--format",
            "oci-dir",
            "-o",
            layout.to_str().unwrap(),
            "busybox",
        ],
    );
    let err = fails(
        &into,
        &[
            "copy",
            "--signature-policy",
            reject.to_str().unwrap(),
            &format!("oci:{}", layout.display()),
            "copied",
        ],
    );
    assert!(err.contains("rejected"), "{err}");
}

#[test]
fn image_trust_set_and_show_edit_the_policy_file() {
    let env = TestEnv::new();
    let policy = env.path("policy.json");
    let key = env.path("k.pub");
    std::fs::write(&key, "not used for set").unwrap();
    let p = policy.to_str().unwrap();
    env.ok(&[
        "image",
        "trust",
        "set",
        "--policypath",
        p,
        "-t",
        "reject",
        "default",
    ]);
    env.ok(&[
        "image",
        "trust",
        "set",
        "--policypath",
        p,
        "-t",
        "sigstoreSigned",
        "-f",
        key.to_str().unwrap(),
        "registry.example:5000/team",
    ]);
    env.ok(&[
        "image",
        "trust",
        "set",
        "--policypath",
        p,
        "-t",
        "accept",
        "docker.io",
    ]);
    let v: Value = serde_json::from_slice(&std::fs::read(&policy).unwrap()).unwrap();
    assert_eq!(v["default"][0]["type"], "reject");
    let docker = &v["transports"]["docker"];
    assert_eq!(
        docker["registry.example:5000/team"][0]["type"],
        "sigstoreSigned"
    );
    assert_eq!(docker["docker.io"][0]["type"], "insecureAcceptAnything");
    let shown = env.ok(&["image", "trust", "show", "--policypath", p]);
    assert!(shown.contains("registry.example:5000/team"), "{shown}");
    assert!(shown.contains("docker.io"), "{shown}");
    let err = env.fails(
        &[
            "image",
            "trust",
            "set",
            "--policypath",
            p,
            "-t",
            "signedBy",
            "docker.io",
        ],
        125,
    );
    assert!(err.to_lowercase().contains("key"), "{err}");
    // The file is unchanged by the refused edit.
    let after: Value = serde_json::from_slice(&std::fs::read(&policy).unwrap()).unwrap();
    assert_eq!(after, v);
}

#[test]
fn generate_sigstore_key_writes_cosign_files_and_refuses_to_overwrite() {
    let env = TestEnv::new();
    let pass = env.path("pass");
    std::fs::write(&pass, "pw\n").unwrap();
    let prefix = env.path("k");
    let args = [
        "generate-sigstore-key",
        "--output-prefix",
        prefix.to_str().unwrap(),
        "--passphrase-file",
        pass.to_str().unwrap(),
    ];
    env.ok(&args);
    let private = std::fs::read_to_string(env.path("k.private")).unwrap();
    assert!(
        private.starts_with("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----"),
        "{private}"
    );
    let body: String = private
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let json: Value = serde_json::from_slice(
        &base64::engine::general_purpose::STANDARD
            .decode(body)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(json["kdf"]["name"], "scrypt");
    assert_eq!(json["cipher"]["name"], "nacl/secretbox");
    let public = std::fs::read_to_string(env.path("k.pub")).unwrap();
    assert!(public.starts_with("-----BEGIN PUBLIC KEY-----"), "{public}");
    let mode = std::fs::metadata(env.path("k.private")).unwrap();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode.permissions()) & 0o777,
        0o600
    );
    let err = env.fails(&args, 125);
    assert!(err.contains("already exists"), "{err}");
    // A wrong passphrase is refused before anything is pushed.
    let wrong = env.path("wrong");
    std::fs::write(&wrong, "nope\n").unwrap();
    let err = env.fails(
        &[
            "push",
            "--sign-by-sigstore-private-key",
            env.path("k.private").to_str().unwrap(),
            "--sign-passphrase-file",
            wrong.to_str().unwrap(),
            "busybox",
            "docker://127.0.0.1:9/x:1",
        ],
        125,
    );
    assert!(err.to_lowercase().contains("passphrase"), "{err}");
}

#[test]
fn image_sign_and_copy_sign_images_in_the_registry() {
    let w = World::new();
    let dest = w.reg.image("later/busybox:1");
    let digest = w.push_unsigned(&dest);
    let policy = w.sigstore_policy(&w.reg.image("later"), &w.pubkey);
    w.pull_fails(&w.puller(), &policy, &format!("docker://{dest}"));

    w.ok_signed(&[
        "image",
        "sign",
        "--tls-verify=false",
        &format!("docker://{dest}"),
    ]);
    assert_eq!(attachments(&w.reg.addr, "later/busybox", &digest).len(), 1);
    w.pull(&w.puller(), &policy, &format!("docker://{dest}"));

    // berth copy from the store signs what it writes.
    let copied = w.reg.image("later/copied:2");
    w.ok_signed(&[
        "copy",
        "--dest-tls-verify=false",
        "busybox",
        &format!("docker://{copied}"),
    ]);
    w.pull(&w.puller(), &policy, &format!("docker://{copied}"));

    // Signing something that is not docker:// is refused in one line.
    let err = fails(
        &w.env,
        &[
            "image",
            "sign",
            "--sign-by-sigstore-private-key",
            w.key.to_str().unwrap(),
            "--sign-passphrase-file",
            w.passfile.to_str().unwrap(),
            "busybox",
        ],
    );
    assert!(err.contains("docker://"), "{err}");
}

#[test]
fn copy_all_copies_a_signed_list_and_pulls_verify_the_list_signature() {
    let w = World::new();
    let tar = w.env.busybox_tar();
    w.env.ok(&[
        "import",
        "-c",
        "LABEL arch=arm64",
        tar.to_str().unwrap(),
        "bb-arm",
    ]);
    ok(&w.env, &["manifest", "create", "bblist"]);
    ok(
        &w.env,
        &["manifest", "add", "--arch", "amd64", "bblist", "busybox"],
    );
    ok(
        &w.env,
        &["manifest", "add", "--arch", "arm64", "bblist", "bb-arm"],
    );
    let src = w.reg.image("lists/src:1");
    ok(
        &w.env,
        &[
            "manifest",
            "push",
            "--tls-verify=false",
            "bblist",
            &format!("docker://{src}"),
        ],
    );
    let dst = w.reg.image("lists/dst:1");
    let digestfile = w.env.path("list-digest");
    w.ok_signed(&[
        "copy",
        "--all",
        "--src-tls-verify=false",
        "--dest-tls-verify=false",
        "--digestfile",
        digestfile.to_str().unwrap(),
        &format!("docker://{src}"),
        &format!("docker://{dst}"),
    ]);
    let list_digest = std::fs::read_to_string(&digestfile).unwrap();
    let index = get_manifest(&w.reg.addr, "lists/dst", "1");
    let instances: Vec<String> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["digest"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(instances.len(), 2, "{index}");
    for d in &instances {
        let m = get_manifest(&w.reg.addr, "lists/dst", d);
        assert!(m["layers"].is_array(), "{d}: {m}");
    }
    // The signature names the list; pulling one platform through the list verifies it.
    assert_eq!(attachments(&w.reg.addr, "lists/dst", &list_digest).len(), 1);
    let policy = w.sigstore_policy(&w.reg.image("lists"), &w.pubkey);
    for arch in ["amd64", "arm64"] {
        let into = w.puller();
        ok(
            &into,
            &[
                "pull",
                "--tls-verify=false",
                "--arch",
                arch,
                "--registries.d",
                w.regd(),
                "--signature-policy",
                policy.to_str().unwrap(),
                &format!("docker://{dst}"),
            ],
        );
    }
    // The unsigned source list is refused under the same policy.
    w.pull_fails(&w.puller(), &policy, &format!("docker://{src}"));
    // --all into a local layout is refused in one line.
    let err = fails(
        &w.env,
        &[
            "copy",
            "--all",
            "--src-tls-verify=false",
            &format!("docker://{src}"),
            &format!("oci:{}", w.env.path("layout").display()),
        ],
    );
    assert!(err.contains("docker://"), "{err}");
}
