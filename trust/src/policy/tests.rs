//! Unit tests of policy parsing, scopes and evaluation.

use super::*;
use crate::payload::make_payload;
use crate::signature::NoSignatures;
use crate::sigstore::{generate_key_pair, SigstorePrivateKey};
use berth_layers::digest::digest_bytes;
use std::sync::OnceLock;

fn image(reference: &str) -> UnverifiedImage {
    UnverifiedImage {
        transport: "docker".into(),
        reference: reference.into(),
        digest: digest_bytes(b"{}"),
        signed_digest: digest_bytes(b"{}"),
        media_type: "application/vnd.oci.image.manifest.v1+json".into(),
        manifest: b"{}".to_vec(),
    }
}

fn policy(json: &str) -> Result<Policy, TrustError> {
    Policy::parse(json.as_bytes(), PolicySource::File("test.json".into()))
}

fn parse_err(json: &str) -> String {
    policy(json).unwrap_err().to_string()
}

/// A fake signature source that counts how often it is asked.
#[derive(Default)]
struct Fake {
    simple: Vec<Vec<u8>>,
    sigstore: Vec<SigstoreSignature>,
    asked: usize,
}

impl SignatureSource for Fake {
    fn simple_signatures(&mut self) -> Result<Vec<Vec<u8>>, FetchError> {
        self.asked += 1;
        Ok(self.simple.clone())
    }
    fn sigstore_signatures(&mut self) -> Result<Vec<SigstoreSignature>, FetchError> {
        self.asked += 1;
        Ok(self.sigstore.clone())
    }
}

struct Failing;

impl SignatureSource for Failing {
    fn simple_signatures(&mut self) -> Result<Vec<Vec<u8>>, FetchError> {
        Err("GET https://sigs.example/x: 500".into())
    }
    fn sigstore_signatures(&mut self) -> Result<Vec<SigstoreSignature>, FetchError> {
        Err("GET https://x.io/v2/a/manifests/sha256-1.sig: 500".into())
    }
}

#[test]
fn scopes_most_specific_first() {
    assert_eq!(
        docker_scopes("reg.example.com:5000/ns/sub/app:1"),
        vec![
            "reg.example.com:5000/ns/sub/app:1",
            "reg.example.com:5000/ns/sub/app",
            "reg.example.com:5000/ns/sub",
            "reg.example.com:5000/ns",
            "reg.example.com:5000",
            "*.example.com",
            "*.com"
        ]
    );
    let d = format!("127.0.0.1:5000/app@{}", digest_bytes(b"x"));
    assert_eq!(docker_scopes(&d)[1], "127.0.0.1:5000/app");
    let both = format!("x.io/app:1@{}", digest_bytes(b"x"));
    assert_eq!(
        &docker_scopes(&both)[1..4],
        ["x.io/app:1", "x.io/app", "x.io"]
    );
}

#[test]
fn path_transport_scopes() {
    assert_eq!(
        path_scopes("/srv/images/app:v1"),
        [
            "/srv/images/app:v1",
            "/srv/images/app",
            "/srv/images",
            "/srv"
        ]
    );
    let p = policy(
        r#"{"default":[{"type":"insecureAcceptAnything"}],"transports":{"oci":{
            "/srv/images":[{"type":"reject"}]}}}"#,
    )
    .unwrap();
    let mut img = image("/srv/images/app:v1");
    img.transport = "oci".into();
    assert!(p.verify(img.clone(), &mut NoSignatures).is_err());
    img.reference = "/srv/other:v1".into();
    assert!(p.verify(img, &mut NoSignatures).is_ok());
    for scope in ["relative/dir", "/", "/a/../b", "/a/"] {
        let err = parse_err(&format!(
            r#"{{"default":[{{"type":"reject"}}],"transports":{{"oci":{{"{scope}":[{{"type":"reject"}}]}}}}}}"#
        ));
        assert!(err.contains("invalid scope"), "{scope}: {err}");
    }
}

#[test]
fn most_specific_scope_wins() {
    let p = policy(
        r#"{"default":[{"type":"reject"}],"transports":{"docker":{
            "reg.example.com/ns":[{"type":"insecureAcceptAnything"}],
            "reg.example.com/ns/bad":[{"type":"reject"}],
            "*.trusted.org":[{"type":"insecureAcceptAnything"}],
            "*.deep.trusted.org":[{"type":"reject"}]}}}"#,
    )
    .unwrap();
    assert!(p
        .verify(image("reg.example.com/ns/app:1"), &mut Fake::default())
        .is_ok());
    let err = p
        .verify(image("reg.example.com/ns/bad:1"), &mut Fake::default())
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Source image rejected: Running image docker://reg.example.com/ns/bad:1 is rejected by policy: \
         policy requirement for docker scope \"reg.example.com/ns/bad\" (from test.json)"
    );
    assert!(p
        .verify(image("a.b.trusted.org/x:1"), &mut Fake::default())
        .is_ok());
    assert!(p
        .verify(image("a.b.trusted.org:5000/x:1"), &mut Fake::default())
        .is_ok());
    assert!(p
        .verify(image("a.deep.trusted.org/x:1"), &mut Fake::default())
        .is_err());
    let err = p
        .verify(image("other.io/x:1"), &mut Fake::default())
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("default policy requirement (from test.json)"),
        "{err}"
    );
}

#[test]
fn transport_default_then_global_default() {
    let p = policy(
        r#"{"default":[{"type":"insecureAcceptAnything"}],
            "transports":{"docker":{"":[{"type":"reject"}]}}}"#,
    )
    .unwrap();
    let err = p.verify(image("x.io/a:1"), &mut NoSignatures).unwrap_err();
    assert!(
        err.to_string().contains("docker transport default"),
        "{err}"
    );
    let mut oci = image("/tmp/layout:1");
    oci.transport = "oci".into();
    assert!(p.verify(oci, &mut NoSignatures).is_ok());
}

#[test]
fn empty_requirement_list_is_a_parse_error() {
    let err = parse_err(r#"{"default":[]}"#);
    assert!(
        err.contains("default: the list of requirements must not be empty"),
        "{err}"
    );
    let err = parse_err(r#"{"default":[{"type":"reject"}],"transports":{"docker":{"x.io":[]}}}"#);
    assert!(err.contains(r#"transports.docker."x.io""#), "{err}");
}

#[test]
fn unknown_keys_are_errors_naming_file_and_key() {
    let err = parse_err(r#"{"default":[{"type":"reject"}],"extra":1}"#);
    assert!(
        err.contains("test.json") && err.contains("\"extra\""),
        "{err}"
    );
    let err = parse_err(r#"{"default":[{"type":"reject","why":1}]}"#);
    assert!(
        err.contains("default[0]: unknown key \"why\" for type \"reject\""),
        "{err}"
    );
    let err = parse_err(r#"{"default":[{"type":"maybe"}]}"#);
    assert!(err.contains("\"maybe\""), "{err}");
    assert!(policy(r#"{"transports":{}}"#).is_err());
    let err = parse_err(
        r#"{"default":[{"type":"reject"}],"transports":{"docker":{"127.0.0.1:5000/a":[
            {"type":"signedBy","keyType":"GPGKeys","keyPth":"/k"}]}}}"#,
    );
    assert_eq!(
        err,
        r#"policy test.json: transports.docker."127.0.0.1:5000/a"[0]: unknown key "keyPth" for type "signedBy""#
    );
}

#[test]
fn duplicate_keys_are_errors() {
    let err = parse_err(
        r#"{"default":[{"type":"reject"}],"default":[{"type":"insecureAcceptAnything"}]}"#,
    );
    assert!(err.contains("duplicate key \"default\""), "{err}");
    let err = parse_err(
        r#"{"default":[{"type":"signedBy","keyType":"GPGKeys","keyPath":"/a","keyPath":"/b"}]}"#,
    );
    assert!(err.contains("duplicate key \"keyPath\""), "{err}");
    let err = parse_err(
        r#"{"default":[{"type":"reject"}],"transports":{"docker":{"x.io":[{"type":"reject"}],"x.io":[{"type":"insecureAcceptAnything"}]}}}"#,
    );
    assert!(err.contains("duplicate key \"x.io\""), "{err}");
}

#[test]
fn wrong_types_are_errors() {
    for (json, want) in [
        (r#"[]"#, "top level must be an object"),
        (r#"{"default":{}}"#, "default: must be an array"),
        (r#"{"default":[1]}"#, "default[0]: must be an object"),
        (
            r#"{"default":[{"type":1}]}"#,
            "default[0].type: must be a string",
        ),
        (r#"{"default":[{}]}"#, "default[0]: missing key \"type\""),
        (
            r#"{"default":[{"type":"reject"}],"transports":[]}"#,
            "transports: must be an object",
        ),
        (
            r#"{"default":[{"type":"reject"}],"transports":{"docker":[]}}"#,
            "transports.docker: must be an object",
        ),
        (
            r#"{"default":[{"type":"signedBy","keyType":"GPGKeys","keyPath":1}]}"#,
            "default[0].keyPath: must be a string",
        ),
        (
            r#"{"default":[{"type":"signedBy","keyType":"GPGKeys","keyPaths":"/k"}]}"#,
            "default[0].keyPaths: must be an array",
        ),
        (
            r#"{"default":[{"type":"signedBy","keyType":"GPGKeys","keyPaths":[]}]}"#,
            "keyPaths: contains no entries",
        ),
        (
            r#"{"default":[{"type":"signedBy","keyType":"GPGKeys","keyData":"%%"}]}"#,
            "keyData: not valid base64",
        ),
        (
            r#"{"default":[{"type":"signedBy","keyPath":"/k"}]}"#,
            "missing key \"keyType\"",
        ),
        (
            r#"{"default":[{"type":"signedBy","keyType":"PGP","keyPath":"/k"}]}"#,
            "keyType: unrecognized value \"PGP\"",
        ),
        (
            r#"{"default":[{"type":"signedBy","keyType":"GPGKeys","keyPath":"/k","signedIdentity":"x"}]}"#,
            "signedIdentity: must be an object",
        ),
        (r#"not json"#, "not valid JSON"),
        (r#"{"default":[{"type":"reject"}]} x"#, "not valid JSON"),
    ] {
        let err = parse_err(json);
        assert!(err.contains(want), "{json}: {err}");
    }
}

#[test]
fn exactly_one_key_source() {
    let err = parse_err(
        r#"{"default":[{"type":"signedBy","keyType":"GPGKeys","keyPath":"/k","keyData":"AAAA"}]}"#,
    );
    assert!(err.contains("exactly one of keyPath, keyPaths, keyData must be specified, found keyPath and keyData"), "{err}");
    let err = parse_err(r#"{"default":[{"type":"signedBy","keyType":"GPGKeys"}]}"#);
    assert!(err.contains("none of them present"), "{err}");
    let err = parse_err(r#"{"default":[{"type":"sigstoreSigned"}]}"#);
    assert!(
        err.contains("keyPath, keyPaths, keyData, keyDatas"),
        "{err}"
    );
    // keyDatas is sigstoreSigned only.
    let err =
        parse_err(r#"{"default":[{"type":"signedBy","keyType":"GPGKeys","keyDatas":["AAAA"]}]}"#);
    assert!(err.contains("unknown key \"keyDatas\""), "{err}");
    let p = policy(
        r#"{"default":[{"type":"sigstoreSigned","keyDatas":["AAAA","AQID"]}],
            "transports":{"docker":{"x.io":[{"type":"signedBy","keyType":"GPGKeys","keyPaths":["/a","b"],
              "signedIdentity":{"type":"matchRepository"}}]}}}"#,
    )
    .unwrap();
    assert_eq!(
        p.default_requirements(),
        [Requirement::SigstoreSigned {
            keys: KeySource::Datas(vec![vec![0, 0, 0], vec![1, 2, 3]]),
            identity: SignedIdentity::MatchRepoDigestOrExact,
        }]
    );
    assert_eq!(
        p.transports()["docker"]["x.io"],
        [Requirement::SignedBy {
            key_type: "GPGKeys".into(),
            keys: KeySource::Paths(vec!["/a".into(), "b".into()]),
            identity: SignedIdentity::MatchRepository,
        }]
    );
}

#[test]
fn keyless_sigstore_is_refused_clearly() {
    for key in [
        r#""fulcio":{"caPath":"/ca","oidcIssuer":"https://o","subjectEmail":"a@b"},"rekorPublicKeyPath":"/r""#,
        r#""keyPath":"/k","rekorPublicKeyPath":"/r""#,
        r#""keyPath":"/k","rekorPublicKeyData":"AAAA""#,
        r#""pki":{"caRootsPath":"/r","subjectEmail":"a@b"}"#,
    ] {
        let err = parse_err(&format!(
            r#"{{"default":[{{"type":"sigstoreSigned",{key}}}]}}"#
        ));
        assert!(
            err.contains("berth does not support Fulcio/Rekor (keyless) verification"),
            "{err}"
        );
    }
}

#[test]
fn signed_identity_parsing() {
    let parse = |identity: &str| {
        policy(&format!(
            r#"{{"default":[{{"type":"sigstoreSigned","keyPath":"/k","signedIdentity":{identity}}}]}}"#
        ))
        .map(|p| match &p.default_requirements()[0] {
            Requirement::SigstoreSigned { identity, .. } => identity.clone(),
            other => panic!("{other:?}"),
        })
        .map_err(|e| e.to_string())
    };
    assert_eq!(
        parse(r#"{"type":"matchExact"}"#).unwrap(),
        SignedIdentity::MatchExact
    );
    assert_eq!(
        parse(r#"{"type":"matchRepository"}"#).unwrap(),
        SignedIdentity::MatchRepository
    );
    assert_eq!(
        parse(r#"{"type":"exactReference","dockerReference":"x.io/a:1"}"#).unwrap(),
        SignedIdentity::ExactReference("x.io/a:1".into())
    );
    assert_eq!(
        parse(r#"{"type":"exactRepository","dockerRepository":"x.io/a"}"#).unwrap(),
        SignedIdentity::ExactRepository("x.io/a".into())
    );
    assert_eq!(
        parse(r#"{"type":"remapIdentity","prefix":"m.io/ns","signedPrefix":"x.io"}"#).unwrap(),
        SignedIdentity::RemapIdentity {
            prefix: "m.io/ns".into(),
            signed_prefix: "x.io".into()
        }
    );
    for (identity, want) in [
        (
            r#"{"type":"matchExact","x":1}"#,
            "signedIdentity: unknown key \"x\" for type \"matchExact\"",
        ),
        (
            r#"{"type":"exactReference","dockerReference":"x.io/a"}"#,
            "contains neither a tag nor a digest",
        ),
        (
            r#"{"type":"exactReference"}"#,
            "missing key \"dockerReference\"",
        ),
        (
            r#"{"type":"exactRepository","dockerRepository":"X"}"#,
            "dockerRepository: invalid reference",
        ),
        (
            r#"{"type":"remapIdentity","prefix":"m.io/","signedPrefix":"x.io"}"#,
            "prefix: prefix \"m.io/\" is not valid",
        ),
        (
            r#"{"type":"remapIdentity","prefix":"m.io"}"#,
            "missing key \"signedPrefix\"",
        ),
        (r#"{"type":"matchSomething"}"#, "unknown identity type"),
    ] {
        let err = parse(identity).unwrap_err();
        assert!(err.contains(want), "{identity}: {err}");
    }
}

#[test]
fn invalid_docker_scopes() {
    for scope in ["*", "example*.*.com", "x.io/*", "*.", "a b"] {
        let err = parse_err(&format!(
            r#"{{"default":[{{"type":"reject"}}],"transports":{{"docker":{{"{scope}":[{{"type":"reject"}}]}}}}}}"#
        ));
        assert!(err.contains("invalid"), "{scope}: {err}");
    }
}

#[test]
fn needs_signatures_per_scope() {
    let p = policy(
        r#"{"default":[{"type":"insecureAcceptAnything"}],"transports":{"docker":{
            "x.io/signed":[{"type":"sigstoreSigned","keyPath":"/k"}]}}}"#,
    )
    .unwrap();
    assert!(p.needs_signatures("docker", "x.io/signed:1"));
    assert!(!p.needs_signatures("docker", "x.io/other:1"));
    let mut fake = Fake::default();
    p.verify(image("x.io/other:1"), &mut fake).unwrap();
    assert_eq!(
        fake.asked, 0,
        "insecureAcceptAnything asks for no signatures"
    );
}

#[test]
fn no_signature_reads_like_podman() {
    let p = policy(
        r#"{"default":[{"type":"reject"}],"transports":{"docker":{
            "127.0.0.1:5000/x":[{"type":"signedBy","keyType":"GPGKeys","keyData":"AAAA"}],
            "127.0.0.1:5000/y":[{"type":"sigstoreSigned","keyData":"AAAA"}]}}}"#,
    )
    .unwrap();
    let err = p
        .verify(image("127.0.0.1:5000/x:1"), &mut Fake::default())
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Source image rejected: A signature was required, but no signature exists: \
         policy requirement for docker scope \"127.0.0.1:5000/x\" (from test.json)"
    );
    // Keys are read only when there are signatures (as containers/image does).
    let err = p
        .verify(image("127.0.0.1:5000/y:1"), &mut Fake::default())
        .unwrap_err();
    assert!(err.to_string().contains(NO_SIGNATURE), "{err}");
    let mut one = Fake {
        simple: vec![b"sig".to_vec()],
        sigstore: vec![cosign_sig(&key().0, "127.0.0.1:5000/y:1", "sha256:00")],
        ..Fake::default()
    };
    let err = p.verify(image("127.0.0.1:5000/y:1"), &mut one).unwrap_err();
    assert!(err.to_string().contains("key keyData: public key"), "{err}");
    let err = p.verify(image("127.0.0.1:5000/x:1"), &mut one).unwrap_err();
    assert!(err.to_string().contains("key keyData: keyring"), "{err}");
    let err = p
        .verify(image("127.0.0.1:5000/x:1"), &mut Failing)
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("reading signatures of 127.0.0.1:5000/x:1: GET"),
        "{err}"
    );
}

#[test]
fn too_many_signatures_are_bounded() {
    let p = policy(r#"{"default":[{"type":"signedBy","keyType":"GPGKeys","keyData":"AAAA"}]}"#)
        .unwrap();
    let mut fake = Fake {
        simple: vec![vec![0u8; 4]; 10_000],
        ..Fake::default()
    };
    let err = p.verify(image("x.io/a:1"), &mut fake).unwrap_err();
    assert!(
        matches!(err, TrustError::TooManySignatures { count: 10_000, .. }),
        "{err}"
    );
}

#[test]
fn missing_key_path_is_named() {
    let p = policy(
        r#"{"default":[{"type":"sigstoreSigned","keyPaths":["/nonexistent/berth-key.pub"]}]}"#,
    )
    .unwrap();
    let mut one = Fake {
        sigstore: vec![cosign_sig(&key().0, "x.io/a:1", "sha256:00")],
        ..Fake::default()
    };
    let err = p.verify(image("x.io/a:1"), &mut one).unwrap_err();
    assert!(
        err.to_string().contains("key /nonexistent/berth-key.pub: "),
        "{err}"
    );
    // Other keyTypes parse but are refused when evaluated.
    let p =
        policy(r#"{"default":[{"type":"signedBy","keyType":"X509Certificates","keyPath":"/k"}]}"#)
            .unwrap();
    let err = p
        .verify(image("x.io/a:1"), &mut Fake::default())
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("keyType \"X509Certificates\" is not supported"),
        "{err}"
    );
}

/// One cosign key pair for all tests (scrypt makes generation slow).
fn key() -> &'static (SigstorePrivateKey, Vec<u8>) {
    static KEY: OnceLock<(SigstorePrivateKey, Vec<u8>)> = OnceLock::new();
    KEY.get_or_init(|| {
        let (private, public) = generate_key_pair(b"pw").unwrap();
        (
            SigstorePrivateKey::from_encrypted_pem(&private, b"pw").unwrap(),
            public,
        )
    })
}

fn cosign_sig(key: &SigstorePrivateKey, reference: &str, digest: &str) -> SigstoreSignature {
    let payload = make_payload(PayloadKind::Cosign, reference, digest);
    let mut annotations = BTreeMap::new();
    annotations.insert(COSIGN_SIGNATURE_ANNOTATION.to_string(), key.sign(&payload));
    SigstoreSignature {
        payload,
        media_type: COSIGN_PAYLOAD_MEDIA_TYPE.into(),
        annotations,
    }
}

fn sigstore_policy(dir: &Path, identity: &str) -> Policy {
    let pubkey = dir.join("key.pub");
    std::fs::write(&pubkey, &key().1).unwrap();
    let json = format!(
        r#"{{"default":[{{"type":"reject"}}],"transports":{{"docker":{{"127.0.0.1:5000/a":[
            {{"type":"sigstoreSigned","keyPath":{:?}{identity}}}]}}}}}}"#,
        pubkey.display().to_string()
    );
    policy(&json).unwrap()
}

#[test]
fn sigstore_signed_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let p = sigstore_policy(dir.path(), "");
    let (private, _) = key();
    let img = image("127.0.0.1:5000/a/b:1");
    let digest = img.signed_digest.to_string();
    let good = cosign_sig(private, "127.0.0.1:5000/a/b:1", &digest);

    // Accepted; one good signature among bad ones is enough.
    let mut fake = Fake {
        sigstore: vec![good.clone()],
        ..Fake::default()
    };
    let verified = p.verify(img.clone(), &mut fake).unwrap();
    assert_eq!(verified.reference(), "127.0.0.1:5000/a/b:1");

    // Pull by digest of a signed image: accepted under matchRepoDigestOrExact.
    let by_digest = image(&format!("127.0.0.1:5000/a/b@{digest}"));
    let mut fake = Fake {
        sigstore: vec![good.clone()],
        ..Fake::default()
    };
    assert!(p.verify(by_digest, &mut fake).is_ok());

    // Another repository: identity refused.
    let other_repo = cosign_sig(private, "127.0.0.1:5000/a/c:1", &digest);
    let mut fake = Fake {
        sigstore: vec![other_repo],
        ..Fake::default()
    };
    let err = p.verify(img.clone(), &mut fake).unwrap_err().to_string();
    assert!(
        err.contains(r#"Signature for identity "127.0.0.1:5000/a/c:1" is not accepted"#),
        "{err}"
    );
    assert!(err.contains(r#"docker scope "127.0.0.1:5000/a""#), "{err}");

    // Another digest.
    let other = digest_bytes(b"other").to_string();
    let mut fake = Fake {
        sigstore: vec![cosign_sig(private, "127.0.0.1:5000/a/b:1", &other)],
        ..Fake::default()
    };
    let err = p.verify(img.clone(), &mut fake).unwrap_err().to_string();
    assert!(
        err.contains(&format!(
            "Signature for digest {other} does not match image digest {digest}"
        )),
        "{err}"
    );

    // Tampered payload.
    let mut tampered = good.clone();
    tampered.payload = make_payload(PayloadKind::Cosign, "127.0.0.1:5000/a/b:1", &other);
    tampered.annotations = good.annotations.clone();
    let mut fake = Fake {
        sigstore: vec![tampered],
        ..Fake::default()
    };
    let err = p.verify(img.clone(), &mut fake).unwrap_err().to_string();
    assert!(err.contains("does not verify"), "{err}");

    // Missing annotation, malformed base64, and a non-signature attachment.
    let mut missing = good.clone();
    missing.annotations.clear();
    let mut garbage = good.clone();
    garbage
        .annotations
        .insert(COSIGN_SIGNATURE_ANNOTATION.into(), "%%%".into());
    let mut attestation = good.clone();
    attestation.media_type = "application/vnd.dsse.envelope.v1+json".into();
    let mut fake = Fake {
        sigstore: vec![missing, garbage, attestation.clone()],
        ..Fake::default()
    };
    let err = p.verify(img.clone(), &mut fake).unwrap_err().to_string();
    assert!(err.contains("None of the 2 signatures were accepted, reasons: missing dev.cosignproject.cosign/signature annotation; "), "{err}");
    let mut fake = Fake {
        sigstore: vec![attestation],
        ..Fake::default()
    };
    let err = p.verify(img.clone(), &mut fake).unwrap_err().to_string();
    assert!(
        err.contains("no signature exists (1 sigstore non-signature attachments)"),
        "{err}"
    );

    // An atomic payload signed with the right key is not a cosign payload.
    let mut atomic = good.clone();
    atomic.payload = make_payload(PayloadKind::Atomic, "127.0.0.1:5000/a/b:1", &digest);
    atomic.annotations.insert(
        COSIGN_SIGNATURE_ANNOTATION.into(),
        private.sign(&atomic.payload),
    );
    let mut fake = Fake {
        sigstore: vec![atomic, good],
        ..Fake::default()
    };
    assert!(p.verify(img, &mut fake).is_ok());
}

#[test]
fn sigstore_signed_identity_variants() {
    let dir = tempfile::tempdir().unwrap();
    let (private, _) = key();
    let img = image("127.0.0.1:5000/a/b:1");
    let digest = img.signed_digest.to_string();
    let upstream = cosign_sig(private, "x.io/upstream/b:1", &digest);
    let p = sigstore_policy(dir.path(), "");
    let mut fake = Fake {
        sigstore: vec![upstream.clone()],
        ..Fake::default()
    };
    assert!(p.verify(img.clone(), &mut fake).is_err());
    let p = sigstore_policy(
        dir.path(),
        r#","signedIdentity":{"type":"remapIdentity","prefix":"127.0.0.1:5000/a","signedPrefix":"x.io/upstream"}"#,
    );
    let mut fake = Fake {
        sigstore: vec![upstream],
        ..Fake::default()
    };
    assert!(p.verify(img, &mut fake).is_ok());
}

#[test]
fn requirements_are_anded() {
    let dir = tempfile::tempdir().unwrap();
    let pubkey = dir.path().join("key.pub");
    std::fs::write(&pubkey, &key().1).unwrap();
    let p = policy(&format!(
        r#"{{"default":[{{"type":"sigstoreSigned","keyPath":{:?}}},{{"type":"reject"}}]}}"#,
        pubkey.display().to_string()
    ))
    .unwrap();
    let img = image("x.io/a:1");
    let sig = cosign_sig(&key().0, "x.io/a:1", img.signed_digest.as_ref());
    let mut fake = Fake {
        sigstore: vec![sig],
        ..Fake::default()
    };
    let err = p.verify(img, &mut fake).unwrap_err();
    assert!(matches!(err, TrustError::Rejected { .. }), "{err}");
}

/// A throwaway GnuPG home with one ed25519 key; `None` when gpg is not installed.
struct Gpg {
    home: tempfile::TempDir,
    fingerprint: String,
}

impl Gpg {
    fn new(uid: &str) -> Option<Gpg> {
        use std::process::Command;
        if !Command::new("gpg")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
        {
            eprintln!("gpg not installed: skipping");
            return None;
        }
        let home = tempfile::Builder::new()
            .prefix("berth-pgpol")
            .tempdir()
            .unwrap();
        let gpg = |args: &[&str]| {
            let out = Command::new("gpg")
                .args(["--batch", "--no-tty", "--homedir"])
                .arg(home.path())
                .args(args)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            out.stdout
        };
        gpg(&[
            "--passphrase",
            "",
            "--pinentry-mode",
            "loopback",
            "--quick-gen-key",
            uid,
            "ed25519",
            "sign",
            "never",
        ]);
        let listing = String::from_utf8(gpg(&["--with-colons", "--list-keys", uid])).unwrap();
        let fingerprint = listing
            .lines()
            .find_map(|l| l.strip_prefix("fpr:"))
            .map(|l| l.trim_matches(':').to_string())
            .unwrap();
        let public = gpg(&["--export", &fingerprint]);
        std::fs::write(home.path().join("key.gpg"), public).unwrap();
        Some(Gpg { home, fingerprint })
    }

    fn key_path(&self) -> PathBuf {
        self.home.path().join("key.gpg")
    }

    fn sign(&self, reference: &str, digest: &str) -> Vec<u8> {
        let payload = make_payload(PayloadKind::Atomic, reference, digest);
        crate::gpg::gpg_sign(&self.fingerprint, &payload, Some(self.home.path()), None).unwrap()
    }
}

impl Drop for Gpg {
    fn drop(&mut self) {
        let _ = std::process::Command::new("gpgconf")
            .arg("--homedir")
            .arg(self.home.path())
            .args(["--kill", "all"])
            .output();
    }
}

#[test]
fn signed_by_gpg_end_to_end() {
    let Some(signer) = Gpg::new("berth policy test <policy@berth.test>") else {
        return;
    };
    let Some(stranger) = Gpg::new("someone else <other@berth.test>") else {
        return;
    };
    let p = policy(&format!(
        r#"{{"default":[{{"type":"reject"}}],"transports":{{"docker":{{"127.0.0.1:5000/a":[
            {{"type":"signedBy","keyType":"GPGKeys","keyPath":{:?}}}]}}}}}}"#,
        signer.key_path().display().to_string()
    ))
    .unwrap();
    let img = image("127.0.0.1:5000/a/b:1");
    let digest = img.signed_digest.to_string();
    let good = signer.sign("127.0.0.1:5000/a/b:1", &digest);

    let mut fake = Fake {
        simple: vec![good.clone()],
        ..Fake::default()
    };
    assert!(p.verify(img.clone(), &mut fake).is_ok());

    // By digest: accepted under matchRepoDigestOrExact.
    let mut fake = Fake {
        simple: vec![good.clone()],
        ..Fake::default()
    };
    assert!(p
        .verify(image(&format!("127.0.0.1:5000/a/b@{digest}")), &mut fake)
        .is_ok());

    // Same digest under another tag: refused.
    let mut fake = Fake {
        simple: vec![good.clone()],
        ..Fake::default()
    };
    let err = p
        .verify(image("127.0.0.1:5000/a/b:2"), &mut fake)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(r#"Signature for identity "127.0.0.1:5000/a/b:1" is not accepted"#),
        "{err}"
    );

    // Another digest.
    let other = digest_bytes(b"other").to_string();
    let mut fake = Fake {
        simple: vec![signer.sign("127.0.0.1:5000/a/b:1", &other)],
        ..Fake::default()
    };
    let err = p.verify(img.clone(), &mut fake).unwrap_err().to_string();
    assert!(err.contains("does not match image digest"), "{err}");

    // A valid signature under the wrong key, then garbage; one good one among them passes.
    let wrong = stranger.sign("127.0.0.1:5000/a/b:1", &digest);
    let mut fake = Fake {
        simple: vec![wrong.clone(), b"garbage".to_vec()],
        ..Fake::default()
    };
    let err = p.verify(img.clone(), &mut fake).unwrap_err().to_string();
    assert!(
        err.contains("None of the 2 signatures were accepted")
            && err.contains("not in the keyring"),
        "{err}"
    );
    let mut fake = Fake {
        simple: vec![wrong, good],
        ..Fake::default()
    };
    assert!(p.verify(img, &mut fake).is_ok());
}
