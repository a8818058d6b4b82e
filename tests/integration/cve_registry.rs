//! Known CVEs of registry clients and credentials, one named regression test each
//! (`tests/SECURITY.md` maps every CVE to its test), against the lying registry of
//! `registry_hostile` on 127.0.0.1. Each leaves nothing in the store, the canary unchanged
//! and `system check` clean.

use std::fs;
use std::os::unix::fs::PermissionsExt;

use crate::cve_layers::HostState;
use crate::registry_harness::{berth, blob_count, fails, ok};
use crate::registry_hostile::{honest_with, image, Response};
use crate::registry_origin::authed_registry;
use crate::util::TestEnv;

/// Nothing was stored, the canary is as it was, the store checks clean.
fn assert_nothing_stored(env: &TestEnv, before: &HostState) {
    assert_eq!(blob_count(env), 0, "blobs stored");
    assert_eq!(ok(env, &["images", "-q"]).trim(), "");
    before.assert_unchanged(env);
}

/// CVE-2014-8179 (Docker): a manifest's digest was checked over one reading and another
/// reading was used. Duplicate keys are where JSON readers disagree: a manifest whose
/// `layers` comes twice (an empty list first) is refused before any blob is fetched.
#[test]
fn cve_2014_8179_duplicate_keys_in_a_pulled_manifest_are_refused() {
    let img = image();
    let text = String::from_utf8(img.manifest.clone()).unwrap();
    let dup = text.replacen("\"layers\":", "\"layers\":[],\"layers\":", 1);
    assert_ne!(dup, text);
    let (addr, log) = honest_with(&img, move |seen| {
        (seen.path == "/v2/lie/app/manifests/dup").then(|| Response {
            status: 200,
            headers: vec![(
                "Content-Type".into(),
                "application/vnd.oci.image.manifest.v1+json".into(),
            )],
            body: dup.clone().into_bytes(),
        })
    });
    let env = TestEnv::new();
    let before = HostState::of(&env);
    let name = format!("{addr}/lie/app:dup");
    let err = fails(&env, &["pull", "--tls-verify=false", "--retry=0", &name]);
    assert!(err.contains(&name), "{err}");
    let blobs: Vec<_> = log
        .lock()
        .unwrap()
        .iter()
        .filter(|s| s.path.contains("/blobs/"))
        .map(|s| s.path.clone())
        .collect();
    assert!(blobs.is_empty(), "blobs fetched: {blobs:?}");
    assert_nothing_stored(&env, &before);
}

/// CVE-2021-41092 (Docker CLI): a credential helper that could not run made the client go
/// on without it, sending credentials elsewhere. berth stops with one line naming the
/// helper, whether it is missing or fails, and sends no request carrying credentials.
#[test]
fn cve_2021_41092_a_broken_credential_helper_is_a_hard_error() {
    let img = image();
    let (addr, log) = honest_with(&img, |_| None);
    let env = TestEnv::new();
    let before = HostState::of(&env);
    let bin = env.path("bin");
    fs::create_dir_all(&bin).unwrap();
    let failing = bin.join("docker-credential-berthfails");
    fs::write(&failing, "#!/bin/sh\necho 'helper broke' >&2\nexit 3\n").unwrap();
    fs::set_permissions(&failing, fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    for helper in ["berthmissing", "berthfails"] {
        fs::write(
            env.path("auth.json"),
            format!(r#"{{"credHelpers":{{"{addr}":"{helper}"}}}}"#),
        )
        .unwrap();
        let out = berth(
            &env,
            &[
                "pull",
                "--tls-verify=false",
                "--retry=0",
                &format!("{addr}/lie/app:1"),
            ],
        )
        .env("PATH", &path)
        .output()
        .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(125), "{helper}: {stderr}");
        let errors = stderr.lines().filter(|l| l.starts_with("Error:")).count();
        assert_eq!(errors, 1, "one error line: {stderr}");
        assert!(
            stderr.contains(&format!("docker-credential-{helper}")),
            "{stderr}"
        );
    }
    let sent: Vec<_> = log
        .lock()
        .unwrap()
        .iter()
        .filter(|s| s.authorization.is_some() || s.path.contains("/blobs/"))
        .map(|s| s.path.clone())
        .collect();
    assert!(
        sent.is_empty(),
        "requests with credentials or for blobs: {sent:?}"
    );
    assert_nothing_stored(&env, &before);
}

/// CVE-2021-45449 (Docker Desktop logged credentials): with `--log-level=trace`, a pull that
/// authenticates and one whose password is refused print neither the password nor the
/// Basic token, on stdout or stderr.
#[test]
fn cve_2021_45449_credentials_never_appear_in_trace_output() {
    let img = image();
    let addr = authed_registry(&img, |_| None);
    let env = TestEnv::new();
    let before = HostState::of(&env);
    let name = format!("{addr}/lie/app:1");
    for (password, succeeds) in [("secret", true), ("wrong-pw-4242", false)] {
        let creds = format!("user:{password}");
        let token = base64_of(&creds);
        fs::write(
            env.path("auth.json"),
            format!(r#"{{"auths":{{"{addr}":{{"auth":"{token}"}}}}}}"#),
        )
        .unwrap();
        let out = berth(
            &env,
            &[
                "--log-level=trace",
                "pull",
                "--tls-verify=false",
                "--retry=0",
                &name,
            ],
        )
        .output()
        .unwrap();
        assert_eq!(out.status.success(), succeeds, "{password}");
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(all.len() > 200, "trace output expected: {all}");
        for leak in [creds.as_str(), token.as_str(), &format!(":{password}")] {
            assert!(!all.contains(leak), "{leak:?} printed:\n{all}");
        }
    }
    before.assert_unchanged(&env);
}

fn base64_of(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(s)
}
