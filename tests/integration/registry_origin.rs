//! Credentials stay on the registry's origin (issue 12, item 2): a registry behind Basic auth
//! (a fake on one loopback port) names another port in a tag-list `Link`, a catalog `Link`
//! or an upload `Location`; an HTTPS `docker-registry` names a plain-HTTP token realm. The
//! other port never sees `Authorization`, and what it would list is not used.

use std::sync::{Arc, Mutex};

use crate::registry_harness::{fails, ok, Registry};
use crate::registry_hostile::{image, resp, serve, sha, Image, Response, Seen};
use crate::util::TestEnv;

/// `user:secret`, as berth sends it.
const BASIC: &str = "Basic dXNlcjpzZWNyZXQ=";

type Log = Arc<Mutex<Vec<Seen>>>;

/// A server on its own port that answers `body` to everything and records what it got.
fn elsewhere(body: &'static [u8]) -> (String, Log) {
    serve("127.0.0.1", Arc::new(move |_: &Seen| resp(200, body)))
}

/// Requests that carried an `Authorization`.
fn with_credentials(log: &Log) -> Vec<Seen> {
    let seen = log.lock().unwrap();
    seen.iter()
        .filter(|s| s.authorization.is_some())
        .cloned()
        .collect()
}

/// Serves `img` under every tag of `lie/app` behind Basic auth for `user:secret`; `hook`
/// answers authenticated requests first.
pub(crate) fn authed_registry(
    img: &Image,
    hook: impl Fn(&Seen) -> Option<Response> + Send + Sync + 'static,
) -> String {
    let manifest = img.manifest.clone();
    let config = img.config.clone();
    let layer = img.layer.clone();
    let config_path = format!("/v2/lie/app/blobs/{}", sha(&img.config));
    let layer_path = format!("/v2/lie/app/blobs/{}", sha(&img.layer));
    let (addr, _) = serve(
        "127.0.0.1",
        Arc::new(move |seen: &Seen| {
            if seen.authorization.as_deref() != Some(BASIC) {
                return Response {
                    status: 401,
                    headers: vec![("WWW-Authenticate".into(), "Basic realm=\"r\"".into())],
                    body: b"{}".to_vec(),
                };
            }
            if let Some(r) = hook(seen) {
                return r;
            }
            match seen.path.as_str() {
                "/v2/" => resp(200, b"{}"),
                p if p.starts_with("/v2/lie/app/manifests/") => Response {
                    status: 200,
                    headers: vec![(
                        "Content-Type".into(),
                        "application/vnd.oci.image.manifest.v1+json".into(),
                    )],
                    body: manifest.clone(),
                },
                p if p == config_path => resp(200, &config),
                p if p == layer_path => resp(200, &layer),
                _ => resp(404, b"{}"),
            }
        }),
    );
    addr
}

fn json(status: u16, body: &str, link: Option<String>) -> Response {
    Response {
        status,
        headers: link
            .map(|l| vec![("Link".into(), format!("<{l}>; rel=\"next\""))])
            .unwrap_or_default(),
        body: body.as_bytes().to_vec(),
    }
}

#[test]
fn a_link_naming_another_origin_gets_no_credentials_and_is_not_trusted() {
    let (evil, evil_log) =
        elsewhere(br#"{"name":"lie/app","tags":["evil"],"repositories":["lie/evil"]}"#);
    let img = image();
    let ev = evil.clone();
    let addr = authed_registry(&img, move |seen| match seen.path.as_str() {
        "/v2/lie/app/tags/list" => Some(json(
            200,
            r#"{"name":"lie/app","tags":["1"]}"#,
            Some(format!("http://{ev}/v2/lie/app/tags/list?last=1&n=1")),
        )),
        "/v2/lie/app/tags/list?last=1&n=1" => {
            Some(json(200, r#"{"name":"lie/app","tags":["2"]}"#, None))
        }
        "/v2/_catalog" => Some(json(
            200,
            r#"{"repositories":["lie/app"]}"#,
            Some(format!("https://{ev}/v2/_catalog?last=lie%2Fapp")),
        )),
        "/v2/_catalog?last=lie%2Fapp" => Some(json(200, r#"{"repositories":["lie/b"]}"#, None)),
        _ => None,
    });
    let env = TestEnv::new();
    let creds = ["--tls-verify=false", "--creds", "user:secret"];

    // pull --all-tags: the second page comes from the registry, at the Link's path.
    let repo = format!("{addr}/lie/app");
    let mut args = vec!["pull", "-q", "--all-tags"];
    args.extend(creds);
    args.push(&repo);
    ok(&env, &args);
    let seen = evil_log.lock().unwrap().clone();
    assert!(seen.is_empty(), "the Link's host was asked: {seen:?}");
    let images: serde_json::Value =
        serde_json::from_str(&ok(&env, &["images", "--format", "json"])).unwrap();
    let mut names: Vec<&str> = images
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|i| i["Names"].as_array().unwrap())
        .filter_map(|n| n.as_str())
        .collect();
    // One record per name, as Podman's `images --format json`: each lists every name.
    names.sort();
    names.dedup();
    assert_eq!(
        names,
        [format!("{repo}:1"), format!("{repo}:2")],
        "{images}"
    );

    // inspect docker:// lists the same tags.
    let reference = format!("docker://{repo}:1");
    let mut args = vec!["image", "inspect"];
    args.extend(creds);
    args.push(&reference);
    let inspect: serde_json::Value = serde_json::from_str(&ok(&env, &args)).unwrap();
    assert_eq!(
        inspect["RepoTags"],
        serde_json::json!(["1", "2"]),
        "{inspect}"
    );

    // search reads the catalog's pages the same way.
    let term = format!("{addr}/lie");
    let mut args = vec!["search"];
    args.extend(creds);
    args.push(&term);
    let found = ok(&env, &args);
    assert_eq!(
        found.lines().collect::<Vec<_>>(),
        ["NAME", &format!("{addr}/lie/app"), &format!("{addr}/lie/b")],
        "{found}"
    );

    let seen = evil_log.lock().unwrap().clone();
    assert!(seen.is_empty(), "the Link's host was asked: {seen:?}");
}

/// A registry behind Basic auth whose uploads start at `elsewhere` (another port); with
/// `chunked`, it asks for PATCH chunks.
fn upload_elsewhere(elsewhere: String, chunked: bool) -> String {
    let (addr, _) = serve(
        "127.0.0.1",
        Arc::new(move |seen: &Seen| {
            if seen.authorization.as_deref() != Some(BASIC) {
                return Response {
                    status: 401,
                    headers: vec![("WWW-Authenticate".into(), "Basic realm=\"r\"".into())],
                    body: b"{}".to_vec(),
                };
            }
            match (seen.method.as_str(), seen.path.as_str()) {
                ("GET", "/v2/") => resp(200, b"{}"),
                ("HEAD", _) => resp(404, b""),
                ("POST", "/v2/up/app/blobs/uploads/") => {
                    let mut headers = vec![(
                        "Location".into(),
                        format!("http://{elsewhere}/upload/u1?state=x"),
                    )];
                    if chunked {
                        headers.push(("OCI-Chunk-Min-Length".into(), "1024".into()));
                    }
                    Response {
                        status: 202,
                        headers,
                        body: Vec::new(),
                    }
                }
                ("PUT", p) if p.starts_with("/v2/up/app/manifests/") => resp(201, b""),
                _ => resp(404, b"{}"),
            }
        }),
    );
    addr
}

/// A store root with one small image, `small`.
fn small_image(env: &TestEnv) {
    let rootfs = env.path("rootfs");
    std::fs::create_dir_all(&rootfs).unwrap();
    std::fs::write(rootfs.join("f"), b"data").unwrap();
    ok(env, &["import", rootfs.to_str().unwrap(), "small"]);
}

#[test]
fn an_upload_location_on_another_origin_gets_no_credentials() {
    // The upload host takes the blob without credentials: the push succeeds, and no
    // Authorization reached it (the registry chose where its uploads go; it cannot make
    // berth hand that host the registry's credentials).
    let (storage, storage_log) = serve(
        "127.0.0.1",
        Arc::new(|seen: &Seen| {
            let want = seen.path.rsplit("sha256%3A").next().unwrap_or_default();
            match seen.method.as_str() {
                "PUT" if sha(&seen.body) == format!("sha256:{want}") => resp(201, b""),
                _ => resp(400, b"{}"),
            }
        }),
    );
    let addr = upload_elsewhere(storage, false);
    let env = TestEnv::new();
    small_image(&env);
    let dest = format!("{addr}/up/app:1");
    ok(
        &env,
        &[
            "push",
            "-q",
            "--tls-verify=false",
            "--creds",
            "user:secret",
            "small",
            &dest,
        ],
    );
    let seen = storage_log.lock().unwrap().clone();
    assert_eq!(seen.len(), 2, "layer and config uploaded there: {seen:?}");
    assert!(with_credentials(&storage_log).is_empty(), "{seen:?}");

    // An upload host that asks for credentials (401) is not given any: the push fails,
    // naming it.
    let (storage, storage_log) = serve(
        "127.0.0.1",
        Arc::new(|_: &Seen| Response {
            status: 401,
            headers: vec![("WWW-Authenticate".into(), "Basic realm=\"r\"".into())],
            body: b"{}".to_vec(),
        }),
    );
    let addr = upload_elsewhere(storage.clone(), true);
    let dest = format!("{addr}/up/app:1");
    let err = fails(
        &env,
        &[
            "push",
            "--tls-verify=false",
            "--creds",
            "user:secret",
            "small",
            &dest,
        ],
    );
    let seen = storage_log.lock().unwrap().clone();
    assert!(!seen.is_empty(), "the upload went there");
    assert!(with_credentials(&storage_log).is_empty(), "{seen:?}");
    assert!(
        err.contains(&format!("http://{storage}/upload/u1"))
            && err.contains("sends it no credentials"),
        "{err}"
    );
}

#[test]
fn a_plain_http_token_realm_of_an_https_registry_gets_no_credentials() {
    let (auth, auth_log) = elsewhere(br#"{"token":"not-a-valid-token"}"#);
    let realm = format!("http://{auth}/token");
    let env = TestEnv::new();
    let certs = env.path("certs.d");
    let reg = Registry::start_tls_with_token_realm(&realm, &certs);
    let certs = certs.to_str().unwrap();
    let name = reg.image("x/app:1");

    let err = fails(
        &env,
        &["pull", "--cert-dir", certs, "--creds", "user:secret", &name],
    );
    let seen = auth_log.lock().unwrap().clone();
    assert!(
        seen.is_empty(),
        "the realm was asked with credentials: {seen:?}"
    );
    assert!(err.contains(&realm) && err.contains("plain HTTP"), "{err}");

    // Without credentials the realm is asked (nothing to leak); its token is refused by the
    // registry.
    let err = fails(&env, &["pull", "--cert-dir", certs, &name]);
    assert!(err.contains(&reg.addr), "{err}");
    let seen = auth_log.lock().unwrap().clone();
    assert!(!seen.is_empty(), "anonymous token request expected");
    assert!(with_credentials(&auth_log).is_empty(), "{seen:?}");
}

#[test]
fn foreign_layer_urls_are_never_fetched() {
    // A non-distributable layer whose `urls` name another host (CVE-2020-15157): berth
    // fetches the layer from the registry by digest, and never asks that host.
    let (evil, evil_log) = elsewhere(b"not the layer");
    let img = image();
    let layer = sha(&img.layer);
    let manifest = String::from_utf8(img.manifest.clone()).unwrap().replace(
        &format!(r#""mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"{layer}""#),
        &format!(
            r#""mediaType":"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip","urls":["http://{evil}/layer"],"digest":"{layer}""#
        ),
    );
    assert!(manifest.contains("urls"), "{manifest}");
    let addr = authed_registry(&img, move |seen| {
        (seen.path == "/v2/lie/app/manifests/foreign").then(|| Response {
            status: 200,
            headers: vec![(
                "Content-Type".into(),
                "application/vnd.oci.image.manifest.v1+json".into(),
            )],
            body: manifest.clone().into_bytes(),
        })
    });
    let env = TestEnv::new();
    ok(
        &env,
        &[
            "pull",
            "-q",
            "--tls-verify=false",
            "--creds",
            "user:secret",
            &format!("{addr}/lie/app:foreign"),
        ],
    );
    let seen = evil_log.lock().unwrap().clone();
    assert!(seen.is_empty(), "a layer URL was fetched: {seen:?}");
    env.assert_check_clean();
}

#[test]
fn a_redirect_from_https_down_to_plain_http_is_refused() {
    // An HTTPS registry that sends blob GETs to a plain-HTTP "CDN": what came back could have
    // been changed on the way, so berth does not go (unless told --tls-verify=false).
    let (cdn, cdn_log) = elsewhere(b"not the blob");
    let env = TestEnv::new();
    let certs = env.path("certs.d");
    let reg = Registry::start_tls_with_auth_redirecting_blobs(
        "user",
        "secret",
        &certs,
        &format!("http://{cdn}/"),
    );
    let certs = certs.to_str().unwrap();
    small_image(&env);
    let name = reg.image("cdn/app:1");
    let creds = ["--cert-dir", certs, "--creds", "user:secret"];
    let mut args = vec!["push", "-q"];
    args.extend(creds);
    args.extend(["small", &name]);
    ok(&env, &args);

    let other = TestEnv::new();
    let mut args = vec!["pull", "--retry=0"];
    args.extend(creds);
    args.push(&name);
    let err = fails(&other, &args);
    let seen = cdn_log.lock().unwrap().clone();
    assert!(seen.is_empty(), "followed to plain HTTP: {seen:?}");
    assert!(
        err.contains(&format!("http://{cdn}/")) && err.contains("refusing the redirect"),
        "{err}"
    );
    assert_eq!(crate::registry_harness::blob_count(&other), 0);
}
