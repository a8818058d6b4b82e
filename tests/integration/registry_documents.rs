//! Documents a registry must not get away with (CVE-2021-41190 and kin), on the lying
//! registry of `registry_hostile`: a manifest carrying `manifests`, an index carrying
//! `config`/`layers`, a body `mediaType` the Content-Type or the index entry contradicts,
//! layer digests berth cannot verify, descriptors claiming more than berth reads. Each is
//! refused with one line naming the reference, before any blob is requested; generic or
//! parameterized Content-Types keep working.

use std::sync::{Arc, Mutex};

use crate::registry_harness::{blob_count, fails, ok};
use crate::registry_hostile::{endless, honest_with, image, sha, Image, Response, Seen};
use crate::util::TestEnv;

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
const TLS: &str = "--tls-verify=false";

type Log = Arc<Mutex<Vec<Seen>>>;

/// Serve `img` honestly, and `body` with Content-Type `ct` (none when `None`) at tag `doc`.
fn serving(img: &Image, ct: Option<&str>, body: Vec<u8>) -> (String, Log) {
    let ct = ct.map(str::to_string);
    honest_with(img, move |seen| {
        (seen.path == "/v2/lie/app/manifests/doc").then(|| Response {
            status: 200,
            headers: ct
                .iter()
                .map(|c| ("Content-Type".to_string(), c.clone()))
                .collect(),
            body: body.clone(),
        })
    })
}

/// The paths of every blob request the registry saw.
fn blob_requests(log: &Log) -> Vec<String> {
    log.lock()
        .unwrap()
        .iter()
        .filter(|s| s.path.contains("/blobs/"))
        .map(|s| s.path.clone())
        .collect()
}

/// `json` (an object) with `extra` fields added at the end.
fn with_fields(json: &[u8], extra: &str) -> Vec<u8> {
    let text = String::from_utf8(json.to_vec()).unwrap();
    let open = text.trim_end().strip_suffix('}').unwrap();
    format!("{open},{extra}}}").into_bytes()
}

/// An OCI index with one amd64 entry naming `img`'s manifest as `entry_type` with `size`.
fn index_of(img: &Image, entry_type: &str, size: usize) -> Vec<u8> {
    format!(
        r#"{{"schemaVersion":2,"mediaType":"{OCI_INDEX}","manifests":[{{"mediaType":"{entry_type}","size":{size},"digest":"{}","platform":{{"os":"linux","architecture":"amd64"}}}}]}}"#,
        sha(&img.manifest)
    )
    .into_bytes()
}

/// Pull, inspect and copy `name` must each fail with an error containing every `expect`,
/// with no blob requested and nothing stored.
fn refused_everywhere(addr: &str, log: &Log, expect: &[&str]) {
    let name = format!("{addr}/lie/app:doc");
    let env = TestEnv::new();
    let out = env.path("out");
    let out = format!("oci:{}", out.display());
    let remote = format!("docker://{name}");
    let commands: [&[&str]; 3] = [
        &["pull", TLS, "--retry=0", "--platform", "linux/amd64", &name],
        &[
            "image",
            "inspect",
            TLS,
            "--platform",
            "linux/amd64",
            &remote,
        ],
        &["copy", "--src-tls-verify=false", &remote, &out],
    ];
    for args in commands {
        let err = fails(&env, args);
        assert!(err.contains(&format!("{addr}/lie/app")), "{args:?}: {err}");
        for e in expect {
            assert!(err.contains(e), "{args:?}: {err}");
        }
        assert_eq!(blob_requests(log), Vec::<String>::new(), "{args:?}");
    }
    assert_eq!(blob_count(&env), 0);
    env.assert_check_clean();
}

#[test]
fn an_oci_manifest_carrying_manifests_is_refused() {
    let img = image();
    let body = with_fields(
        &img.manifest,
        &format!(
            r#""manifests":[{{"mediaType":"{OCI_MANIFEST}","size":{},"digest":"{}"}}]"#,
            img.manifest.len(),
            sha(&img.manifest)
        ),
    );
    let digest = sha(&body);
    let (addr, log) = serving(&img, Some(OCI_MANIFEST), body);
    refused_everywhere(
        &addr,
        &log,
        &[
            &digest,
            &format!(
                r#"rejecting ambiguous manifest, unexpected fields ["manifests"] in supposedly {OCI_MANIFEST}"#
            ),
        ],
    );
}

#[test]
fn an_index_carrying_config_and_layers_is_refused() {
    let img = image();
    let manifest: serde_json::Value = serde_json::from_slice(&img.manifest).unwrap();
    let body = with_fields(
        &index_of(&img, OCI_MANIFEST, img.manifest.len()),
        &format!(
            r#""config":{},"layers":{}"#,
            manifest["config"], manifest["layers"]
        ),
    );
    let (addr, log) = serving(&img, Some(OCI_INDEX), body);
    refused_everywhere(
        &addr,
        &log,
        &[&format!(
            r#"unexpected fields ["config", "layers"] in supposedly {OCI_INDEX}"#
        )],
    );
}

#[test]
fn a_body_media_type_the_content_type_contradicts_is_refused() {
    let img = image();
    let text = String::from_utf8(img.manifest.clone()).unwrap();
    // The body says Docker, the header OCI (the body used to win).
    let docker = text.replacen(OCI_MANIFEST, DOCKER_MANIFEST, 1).into_bytes();
    let (addr, log) = serving(&img, Some(OCI_MANIFEST), docker);
    refused_everywhere(
        &addr,
        &log,
        &[&format!(
            "Content-Type {OCI_MANIFEST} disagrees with the body's mediaType {DOCKER_MANIFEST}"
        )],
    );
    // The header says index, the body is a manifest.
    let (addr, log) = serving(&img, Some(OCI_INDEX), img.manifest.clone());
    refused_everywhere(
        &addr,
        &log,
        &[&format!(
            "Content-Type {OCI_INDEX} disagrees with the body's mediaType {OCI_MANIFEST}"
        )],
    );
}

#[test]
fn an_index_entry_its_manifest_contradicts_is_refused() {
    let img = image();
    let index = index_of(&img, DOCKER_MANIFEST, img.manifest.len());
    let (addr, log) = serving(&img, Some(OCI_INDEX), index);
    refused_everywhere(
        &addr,
        &log,
        &[
            &sha(&img.manifest),
            &format!(
                "descriptor {DOCKER_MANIFEST} disagrees with the body's mediaType {OCI_MANIFEST}"
            ),
        ],
    );
}

#[test]
fn generic_and_parameterized_content_types_still_pull() {
    let img = image();
    let text = String::from_utf8(img.manifest.clone()).unwrap();
    let untyped = text.replacen(&format!(r#""mediaType":"{OCI_MANIFEST}","#), "", 1);
    assert_ne!(untyped, text);
    let cases = [
        (Some("application/json"), img.manifest.clone()),
        (Some("text/plain; charset=utf-8"), img.manifest.clone()),
        (
            Some("application/vnd.oci.image.manifest.v1+json; charset=utf-8"),
            img.manifest.clone(),
        ),
        (None, img.manifest.clone()),
        // No body mediaType: the Content-Type decides.
        (Some(OCI_MANIFEST), untyped.into_bytes()),
    ];
    for (ct, body) in cases {
        let (addr, _) = serving(&img, ct, body);
        let env = TestEnv::new();
        ok(&env, &["pull", "-q", TLS, &format!("{addr}/lie/app:doc")]);
        env.assert_check_clean();
    }
}

#[test]
fn unverifiable_digests_are_refused_before_any_blob_request() {
    let img = image();
    let text = String::from_utf8(img.manifest.clone()).unwrap();
    let layer = sha(&img.layer);
    let sha512 = format!("sha512:{}", "ab".repeat(64));
    let md5 = "md5:d41d8cd98f00b204e9800998ecf8427e";
    let cases = [
        (
            text.replace(&layer, &sha512),
            format!("layer: unsupported digest algorithm sha512 in {sha512}"),
        ),
        (
            text.replace(&layer, md5),
            format!("layer: invalid digest {md5}: md5 is not a registered digest algorithm"),
        ),
        (
            text.replace(&sha(&img.config), md5),
            format!("config: invalid digest {md5}"),
        ),
    ];
    for (body, expect) in cases {
        let (addr, log) = serving(&img, Some(OCI_MANIFEST), body.into_bytes());
        refused_everywhere(&addr, &log, &[&expect]);
    }
    // A reference by such a digest is refused before anything is sent.
    let (addr, log) = serving(&img, None, Vec::new());
    let env = TestEnv::new();
    let err = fails(&env, &["pull", TLS, &format!("{addr}/lie/app@{sha512}")]);
    assert!(err.contains("unsupported digest algorithm sha512"), "{err}");
    assert!(log.lock().unwrap().is_empty(), "nothing requested");
}

#[test]
fn descriptors_claiming_too_much_are_refused_before_the_request() {
    let img = image();
    let text = String::from_utf8(img.manifest.clone()).unwrap();
    let config_size = format!(r#""size":{}"#, img.config.len());
    let huge = text.replacen(&config_size, r#""size":209715200"#, 1);
    assert_ne!(huge, text);
    let (addr, log) = serving(&img, Some(OCI_MANIFEST), huge.into_bytes());
    let env = TestEnv::new();
    let name = format!("{addr}/lie/app:doc");
    let err = fails(&env, &["pull", TLS, "--retry=0", &name]);
    assert!(
        err.contains(&name)
            && err.contains(&sha(&img.config))
            && err.contains("claims 209715200 bytes, over the 16777216 byte limit for a config"),
        "{err}"
    );
    assert_eq!(blob_requests(&log), Vec::<String>::new());
    let err = fails(
        &env,
        &["image", "inspect", TLS, &format!("docker://{name}")],
    );
    assert!(err.contains("209715200"), "{err}");
    assert_eq!(blob_requests(&log), Vec::<String>::new());

    // An index entry claiming a 200 MiB manifest: the manifest is not asked for.
    let index = index_of(&img, OCI_MANIFEST, 200 << 20);
    let (addr, log) = serving(&img, Some(OCI_INDEX), index);
    let name = format!("{addr}/lie/app:doc");
    let err = fails(&env, &["pull", TLS, "--platform", "linux/amd64", &name]);
    assert!(
        err.contains(&sha(&img.manifest))
            && err.contains("claims 209715200 bytes, over the 4194304 byte limit for a manifest"),
        "{err}"
    );
    let asked: Vec<String> = log
        .lock()
        .unwrap()
        .iter()
        .map(|s| s.path.clone())
        .filter(|p| p.contains("/manifests/sha256:"))
        .collect();
    assert_eq!(asked, Vec::<String>::new());
    assert_eq!(blob_count(&env), 0);
}

#[test]
fn a_config_body_longer_than_its_descriptor_is_cut() {
    let img = image();
    let config_path = format!("/v2/lie/app/blobs/{}", sha(&img.config));
    let (addr, log) = honest_with(&img, move |seen| {
        (seen.path == config_path).then(|| endless(&[b' '; 64 * 1024]))
    });
    let env = TestEnv::new();
    let name = format!("{addr}/lie/app:1");
    // The most body bytes sent for one config request.
    let served = |log: &Log| -> usize {
        log.lock()
            .unwrap()
            .iter()
            .filter(|s| s.path.contains(&sha(&img.config)))
            .map(|s| s.served.load(std::sync::atomic::Ordering::SeqCst))
            .max()
            .unwrap_or(0)
    };
    let err = fails(&env, &["pull", TLS, "--retry=0", &name]);
    assert!(err.contains(&sha(&img.config)), "{err}");
    let err = fails(
        &env,
        &["image", "inspect", TLS, &format!("docker://{name}")],
    );
    assert!(err.contains(&sha(&img.config)), "{err}");
    // The socket buffers hold a few MiB; the body is cut at its descriptor's size long before
    // the 16 MiB config limit, not read to the end.
    assert!(served(&log) < 16 << 20, "{} bytes served", served(&log));
    let hex = sha(&img.config).replace("sha256:", "");
    assert!(!env.root.join("blobs/sha256").join(hex).exists());
    assert_eq!(ok(&env, &["images", "-q"]).trim(), "");
    env.assert_check_clean();
}
