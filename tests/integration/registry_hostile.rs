//! A small lying registry (std TcpListener on 127.0.0.1, one thread per connection): blob
//! bytes that do not match their digest, 500s before success, a redirect to another host
//! after Basic auth, an oversized manifest. Each: a clear error naming the digest or URL,
//! nothing unverified in the store, `system check` clean.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use flate2::write::GzEncoder;
use sha2::{Digest as _, Sha256};

use crate::registry_harness::{fails, ok};
use crate::util::TestEnv;

/// One request as the fake server saw it.
#[derive(Clone, Debug)]
pub(crate) struct Seen {
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) authorization: Option<String>,
    range: Option<String>,
    content_range: Option<String>,
    pub(crate) body: Vec<u8>,
    /// Response body bytes written so far (counted while the answer is sent).
    pub(crate) served: Arc<AtomicUsize>,
}

pub(crate) struct Response {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

pub(crate) fn resp(status: u16, body: &[u8]) -> Response {
    Response {
        status,
        headers: Vec::new(),
        body: body.to_vec(),
    }
}

pub(crate) type Handler = dyn Fn(&Seen) -> Response + Send + Sync;

/// Serve `handler` on 127.0.0.1 (`host` names it in URLs); returns the address and the log.
pub(crate) fn serve(host: &str, handler: Arc<Handler>) -> (String, Arc<Mutex<Vec<Seen>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = format!("{host}:{}", listener.local_addr().unwrap().port());
    let log = Arc::new(Mutex::new(Vec::new()));
    let log2 = log.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { continue };
            let handler = handler.clone();
            let log = log2.clone();
            std::thread::spawn(move || handle(conn, &*handler, &log));
        }
    });
    (addr, log)
}

fn handle(conn: TcpStream, handler: &Handler, log: &Mutex<Vec<Seen>>) {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut first = String::new();
    if reader.read_line(&mut first).is_err() {
        return;
    }
    let mut authorization = None;
    let mut range = None;
    let mut content_range = None;
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            if k.eq_ignore_ascii_case("authorization") {
                authorization = Some(v.trim().to_string());
            }
            if k.eq_ignore_ascii_case("content-range") {
                content_range = Some(v.trim().to_string());
            }
            if k.eq_ignore_ascii_case("range") {
                range = Some(v.trim().to_string());
            }
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut body = vec![0u8; length];
    if std::io::Read::read_exact(&mut reader, &mut body).is_err() {
        return;
    }
    let path = first.split_whitespace().nth(1).unwrap_or("").to_string();
    let method = first.split_whitespace().next().unwrap_or("").to_string();
    let served = Arc::new(AtomicUsize::new(0));
    let seen = Seen {
        method: method.clone(),
        path,
        authorization,
        range,
        content_range,
        body,
        served: served.clone(),
    };
    log.lock().unwrap().push(seen.clone());
    let r = handler(&seen);
    let mut out = conn;
    let test_header = |name: &str| {
        r.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let endless = test_header(ENDLESS).is_some();
    let length = test_header(LENGTH_LIE).unwrap_or_else(|| r.body.len().to_string());
    let mut head = format!("HTTP/1.1 {} X\r\nConnection: close\r\n", r.status);
    if !endless {
        head.push_str(&format!("Content-Length: {length}\r\n"));
    }
    for (k, v) in r.headers.iter().filter(|(k, _)| !k.starts_with("x-test-")) {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let _ = out.write_all(head.as_bytes());
    if method == "HEAD" {
        return;
    }
    if endless {
        // Until the client hangs up (at most 1 GiB, so a broken client cannot hang the test).
        for _ in 0..(1usize << 30) / r.body.len().max(1) {
            if out.write_all(&r.body).is_err() {
                return;
            }
            served.fetch_add(r.body.len(), Ordering::SeqCst);
        }
        return;
    }
    if out.write_all(&r.body).is_ok() {
        served.fetch_add(r.body.len(), Ordering::SeqCst);
    }
}

/// Response header (not sent) asking the server to repeat the body until the client hangs
/// up, with no Content-Length.
const ENDLESS: &str = "x-test-endless";
/// Response header (not sent) giving the Content-Length to announce instead of the real one.
const LENGTH_LIE: &str = "x-test-content-length";

pub(crate) fn endless(chunk: &[u8]) -> Response {
    Response {
        status: 200,
        headers: vec![(ENDLESS.into(), "1".into())],
        body: chunk.to_vec(),
    }
}

pub(crate) fn sha(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// A one-file gzip layer, its config and manifest.
pub(crate) struct Image {
    pub(crate) layer: Vec<u8>,
    pub(crate) config: Vec<u8>,
    pub(crate) manifest: Vec<u8>,
}

pub(crate) fn image() -> Image {
    let mut tar = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(5);
    h.set_mode(0o644);
    h.set_mtime(1_700_000_000);
    tar.append_data(&mut h, "hello.txt", &b"hello"[..]).unwrap();
    let raw = tar.into_inner().unwrap();
    let mut gz = GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&raw).unwrap();
    let layer = gz.finish().unwrap();
    let config = format!(
        r#"{{"architecture":"amd64","os":"linux","config":{{}},"rootfs":{{"type":"layers","diff_ids":["{}"]}}}}"#,
        sha(&raw)
    )
    .into_bytes();
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{}","size":{}}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"{}","size":{}}}]}}"#,
        sha(&config),
        config.len(),
        sha(&layer),
        layer.len()
    )
    .into_bytes();
    Image {
        layer,
        config,
        manifest,
    }
}

/// Serves `img` at `lie/app:1`, with `layer` deciding the layer response.
fn registry(img: &Image, layer: impl Fn(&Seen) -> Response + Send + Sync + 'static) -> String {
    let manifest = img.manifest.clone();
    let config = img.config.clone();
    let config_path = format!("/v2/lie/app/blobs/{}", sha(&img.config));
    let layer_path = format!("/v2/lie/app/blobs/{}", sha(&img.layer));
    let (addr, _) = serve(
        "127.0.0.1",
        Arc::new(move |seen: &Seen| match seen.path.as_str() {
            "/v2/" => resp(200, b"{}"),
            "/v2/lie/app/manifests/1" => Response {
                status: 200,
                headers: vec![(
                    "Content-Type".into(),
                    "application/vnd.oci.image.manifest.v1+json".into(),
                )],
                body: manifest.clone(),
            },
            p if p == config_path => resp(200, &config),
            p if p == layer_path => layer(seen),
            _ => resp(404, b"{}"),
        }),
    );
    addr
}

fn assert_nothing_recorded(env: &TestEnv, bad: &str) {
    let hex = bad.trim_start_matches("sha256:");
    assert!(
        !env.root.join("blobs/sha256").join(hex).exists(),
        "{bad} stored"
    );
    assert_eq!(ok(env, &["images", "-q"]).trim(), "");
    env.assert_check_clean();
}

#[test]
fn blob_bytes_not_matching_their_digest_are_refused() {
    let img = image();
    let addr = registry(&img, |_| resp(200, b"these are not the bytes you want"));
    let env = TestEnv::new();
    let layer = sha(&img.layer);
    let err = fails(
        &env,
        &[
            "pull",
            "--tls-verify=false",
            "--retry=0",
            &format!("{addr}/lie/app:1"),
        ],
    );
    assert!(err.contains(&layer) && err.contains("mismatch"), "{err}");
    assert_nothing_recorded(&env, &layer);
}

#[test]
fn server_errors_are_retried_then_succeed() {
    let img = image();
    let body = img.layer.clone();
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    let addr = registry(&img, move |_| {
        if c.fetch_add(1, Ordering::SeqCst) < 2 {
            resp(500, b"{}")
        } else {
            resp(200, &body)
        }
    });
    let env = TestEnv::new();
    let name = format!("{addr}/lie/app:1");
    ok(
        &env,
        &[
            "pull",
            "-q",
            "--tls-verify=false",
            "--retry-delay",
            "10ms",
            &name,
        ],
    );
    assert_eq!(count.load(Ordering::SeqCst), 3);
    env.assert_check_clean();

    let other = TestEnv::new();
    let c2 = Arc::new(AtomicUsize::new(0));
    let c3 = c2.clone();
    let addr = registry(&img, move |_| {
        c3.fetch_add(1, Ordering::SeqCst);
        resp(503, b"{}")
    });
    let err = fails(
        &other,
        &[
            "pull",
            "--tls-verify=false",
            "--retry=2",
            "--retry-delay=1ms",
            &format!("{addr}/lie/app:1"),
        ],
    );
    assert!(
        err.contains("503") && err.contains(&sha(&img.layer)),
        "{err}"
    );
    assert_eq!(c2.load(Ordering::SeqCst), 3, "first try plus two retries");
    assert_nothing_recorded(&other, &sha(&img.layer));
}

#[test]
fn credentials_are_not_sent_to_another_host_on_redirect() {
    let img = image();
    let body = img.layer.clone();
    let (cdn, cdn_log) = serve("localhost", Arc::new(move |_: &Seen| resp(200, &body)));
    let manifest = img.manifest.clone();
    let config = img.config.clone();
    let config_path = format!("/v2/lie/app/blobs/{}", sha(&img.config));
    let layer_path = format!("/v2/lie/app/blobs/{}", sha(&img.layer));
    let (addr, log) = serve(
        "127.0.0.1",
        Arc::new(move |seen: &Seen| {
            if seen.authorization.is_none() {
                return Response {
                    status: 401,
                    headers: vec![("WWW-Authenticate".into(), "Basic realm=\"x\"".into())],
                    body: b"{}".to_vec(),
                };
            }
            match seen.path.as_str() {
                "/v2/" => resp(200, b"{}"),
                "/v2/lie/app/manifests/1" => resp(200, &manifest),
                p if p == config_path => resp(200, &config),
                p if p == layer_path => Response {
                    status: 307,
                    headers: vec![("Location".into(), format!("http://{cdn}/blob"))],
                    body: Vec::new(),
                },
                _ => resp(404, b"{}"),
            }
        }),
    );
    let env = TestEnv::new();
    ok(
        &env,
        &[
            "pull",
            "-q",
            "--tls-verify=false",
            "--creds",
            "user:secret",
            &format!("{addr}/lie/app:1"),
        ],
    );
    assert!(log
        .lock()
        .unwrap()
        .iter()
        .any(|s| s.authorization.is_some()));
    let cdn_seen = cdn_log.lock().unwrap().clone();
    assert_eq!(cdn_seen.len(), 1, "{cdn_seen:?}");
    assert_eq!(
        cdn_seen[0].authorization, None,
        "credentials leaked: {cdn_seen:?}"
    );
    env.assert_check_clean();
}

#[test]
fn oversized_manifest_is_refused() {
    let big = vec![b' '; 5 * 1024 * 1024];
    let (addr, _) = serve(
        "127.0.0.1",
        Arc::new(move |seen: &Seen| match seen.path.as_str() {
            "/v2/" => resp(200, b"{}"),
            _ => resp(200, &big),
        }),
    );
    let env = TestEnv::new();
    let err = fails(
        &env,
        &["pull", "--tls-verify=false", &format!("{addr}/big/app:1")],
    );
    assert!(
        err.contains("larger than the 4194304 byte limit") && err.contains(&addr),
        "{err}"
    );
    assert_eq!(crate::registry_harness::blob_count(&env), 0);
}

/// Serves `img` at `lie/app` honestly, except where `hook` answers first.
pub(crate) fn honest_with(
    img: &Image,
    hook: impl Fn(&Seen) -> Option<Response> + Send + Sync + 'static,
) -> (String, Arc<Mutex<Vec<Seen>>>) {
    let manifest = img.manifest.clone();
    let manifest_by_digest = format!("/v2/lie/app/manifests/{}", sha(&img.manifest));
    let config = img.config.clone();
    let layer = img.layer.clone();
    let config_path = format!("/v2/lie/app/blobs/{}", sha(&img.config));
    let layer_path = format!("/v2/lie/app/blobs/{}", sha(&img.layer));
    serve(
        "127.0.0.1",
        Arc::new(move |seen: &Seen| {
            if let Some(r) = hook(seen) {
                return r;
            }
            match seen.path.as_str() {
                "/v2/" => resp(200, b"{}"),
                "/v2/lie/app/manifests/1" => resp(200, &manifest),
                p if p == manifest_by_digest => resp(200, &manifest),
                p if p == config_path => resp(200, &config),
                p if p == layer_path => resp(200, &layer),
                _ => resp(404, b"{}"),
            }
        }),
    )
}

#[test]
fn bearer_tokens_are_fetched_once_per_scope_with_the_credentials() {
    let img = image();
    let me: Arc<Mutex<String>> = Arc::new(Mutex::new(String::new()));
    let me2 = me.clone();
    let (addr, log) = honest_with(&img, move |seen| {
        if seen.path.starts_with("/token") {
            return Some(
                if seen.authorization.as_deref() == Some("Basic dXNlcjpzZWNyZXQ=") {
                    resp(200, br#"{"token":"T1"}"#)
                } else {
                    resp(401, b"{}")
                },
            );
        }
        if seen.authorization.as_deref() == Some("Bearer T1") {
            return None;
        }
        let realm = format!("http://{}/token", me2.lock().unwrap());
        Some(Response {
            status: 401,
            headers: vec![(
                "WWW-Authenticate".into(),
                format!("Bearer realm=\"{realm}\",service=\"fake\""),
            )],
            body: b"{}".to_vec(),
        })
    });
    *me.lock().unwrap() = addr.clone();
    let env = TestEnv::new();
    let name = format!("{addr}/lie/app:1");
    ok(
        &env,
        &[
            "pull",
            "-q",
            "--tls-verify=false",
            "--creds",
            "user:secret",
            &name,
        ],
    );
    let tokens: Vec<String> = log
        .lock()
        .unwrap()
        .iter()
        .filter(|s| s.path.starts_with("/token"))
        .map(|s| s.path.clone())
        .collect();
    assert_eq!(tokens.len(), 1, "{tokens:?}");
    assert!(
        tokens[0].contains("service=fake")
            && tokens[0].contains("scope=repository%3Alie%2Fapp%3Apull"),
        "{tokens:?}"
    );
    env.assert_check_clean();

    let other = TestEnv::new();
    let err = fails(
        &other,
        &["pull", "--tls-verify=false", "--creds", "user:wrong", &name],
    );
    assert!(
        err.contains("authentication failed") && err.contains("/token"),
        "{err}"
    );
    assert_eq!(crate::registry_harness::blob_count(&other), 0);
}

#[test]
fn manifest_lists_pick_the_platform() {
    let img = image();
    let index = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[
 {{"mediaType":"application/vnd.oci.image.manifest.v1+json","size":{},"digest":"{}","platform":{{"os":"linux","architecture":"amd64"}}}},
 {{"mediaType":"application/vnd.oci.image.manifest.v1+json","size":10,"digest":"sha256:{}","platform":{{"os":"linux","architecture":"arm64","variant":"v8"}}}}]}}"#,
        img.manifest.len(),
        sha(&img.manifest),
        "1".repeat(64)
    );
    let (addr, _) = honest_with(&img, move |seen| {
        (seen.path == "/v2/lie/app/manifests/multi").then(|| resp(200, index.as_bytes()))
    });
    let env = TestEnv::new();
    let name = format!("{addr}/lie/app:multi");
    ok(
        &env,
        &[
            "pull",
            "-q",
            "--tls-verify=false",
            "--platform",
            "linux/amd64",
            &name,
        ],
    );
    let list: serde_json::Value =
        serde_json::from_str(&ok(&env, &["images", "--format", "json"])).unwrap();
    assert_eq!(
        list[0]["Digest"].as_str(),
        Some(sha(&img.manifest).as_str())
    );
    let err = fails(
        &env,
        &["pull", "--tls-verify=false", "--arch", "s390x", &name],
    );
    assert!(
        err.contains("linux/s390x") && err.contains("linux/amd64, linux/arm64/v8"),
        "{err}"
    );
}

#[test]
fn a_manifest_not_matching_the_requested_digest_is_refused() {
    let img = image();
    let (addr, _) = honest_with(&img, |seen| {
        seen.path
            .starts_with("/v2/lie/app/manifests/sha256:")
            .then(|| resp(200, br#"{"schemaVersion":2}"#))
    });
    let env = TestEnv::new();
    let wanted = sha(&img.manifest);
    let err = fails(
        &env,
        &[
            "pull",
            "--tls-verify=false",
            &format!("{addr}/lie/app@{wanted}"),
        ],
    );
    assert!(
        err.contains(&wanted) && err.contains("registry sent content with digest"),
        "{err}"
    );
    assert_eq!(crate::registry_harness::blob_count(&env), 0);
}

#[test]
fn short_names_use_search_registries_and_mirrors_fall_back() {
    let img = image();
    let (addr, _) = honest_with(&img, |_| None);
    let env = TestEnv::new();
    let dead = format!("127.0.0.1:{}", crate::registry_harness::free_port());
    std::fs::write(
        env.path("registries.conf"),
        format!(
            "unqualified-search-registries = [\"{addr}\"]\nshort-name-mode = \"permissive\"\n\n[[registry]]\nlocation = \"{addr}\"\ninsecure = true\n[[registry.mirror]]\nlocation = \"{dead}\"\ninsecure = true\n"
        ),
    )
    .unwrap();
    let out = crate::registry_harness::berth(&env, &["pull", "lie/app:1"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("Trying to pull {addr}/lie/app:1")),
        "{stderr}"
    );
    let list: serde_json::Value =
        serde_json::from_str(&ok(&env, &["images", "--format", "json"])).unwrap();
    assert_eq!(
        list[0]["Names"][0].as_str(),
        Some(format!("{addr}/lie/app:1").as_str())
    );
}

/// What the fake registry received: the path (or blob digest) and the body.
type Upload = (String, Vec<u8>);

#[test]
fn uploads_follow_a_relative_location_and_send_the_digest() {
    let stored: Arc<Mutex<Vec<Upload>>> = Arc::new(Mutex::new(Vec::new()));
    let stored2 = stored.clone();
    let (addr, _) = serve(
        "127.0.0.1",
        Arc::new(
            move |seen: &Seen| match (seen.method.as_str(), seen.path.as_str()) {
                ("GET", "/v2/") => resp(200, b"{}"),
                ("HEAD", _) => resp(404, b""),
                ("POST", "/v2/up/app/blobs/uploads/") => Response {
                    status: 202,
                    headers: vec![(
                        "Location".into(),
                        "/v2/up/app/blobs/uploads/u1?state=x".into(),
                    )],
                    body: Vec::new(),
                },
                ("PUT", p)
                    if p.starts_with("/v2/up/app/blobs/uploads/u1?state=x&digest=sha256%3A") =>
                {
                    let want = p.rsplit("sha256%3A").next().unwrap_or_default().to_string();
                    if hex::encode(Sha256::digest(&seen.body)) != want {
                        return resp(400, b"{}");
                    }
                    stored2
                        .lock()
                        .unwrap()
                        .push((format!("sha256:{want}"), seen.body.clone()));
                    resp(201, b"")
                }
                ("PUT", p) if p.starts_with("/v2/up/app/manifests/") => {
                    stored2
                        .lock()
                        .unwrap()
                        .push((p.to_string(), seen.body.clone()));
                    resp(201, b"")
                }
                _ => resp(404, b"{}"),
            },
        ),
    );
    let env = TestEnv::new();
    env.import_busybox("busybox");
    ok(
        &env,
        &[
            "push",
            "-q",
            "--tls-verify=false",
            "busybox",
            &format!("{addr}/up/app:t"),
        ],
    );
    let stored = stored.lock().unwrap().clone();
    let names: Vec<&str> = stored.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names.len(), 4, "{names:?}");
    assert!(
        names[2].starts_with("/v2/up/app/manifests/sha256:"),
        "{names:?}"
    );
    assert_eq!(
        names[3], "/v2/up/app/manifests/t",
        "digest first, then the tag"
    );
}

#[test]
fn a_401_loop_ends_with_a_clear_error() {
    let img = image();
    let (addr, log) = honest_with(&img, |_| {
        Some(Response {
            status: 401,
            headers: vec![("WWW-Authenticate".into(), "Basic realm=\"x\"".into())],
            body: b"{}".to_vec(),
        })
    });
    let env = TestEnv::new();
    let err = fails(
        &env,
        &[
            "pull",
            "--tls-verify=false",
            "--creds",
            "a:b",
            &format!("{addr}/lie/app:1"),
        ],
    );
    assert!(
        err.contains("credentials rejected") && err.contains(&addr),
        "{err}"
    );
    assert!(log.lock().unwrap().len() < 10, "bounded requests");
    assert_eq!(crate::registry_harness::blob_count(&env), 0);
}

#[test]
fn malformed_manifests_are_refused_before_any_blob() {
    let img = image();
    let good = String::from_utf8(img.manifest.clone()).unwrap();
    let layer = sha(&img.layer);
    let cases = [
        (
            "traversal",
            good.replace(&layer, "sha256:../../../../etc/passwd"),
        ),
        ("notjson", "{\"schemaVersion\":2,".to_string()),
        (
            "mediatype",
            good.replace(
                "application/vnd.oci.image.layer.v1.tar+gzip",
                "application/x-evil",
            ),
        ),
    ];
    for (tag, body) in cases {
        let (addr, _) = honest_with(&img, move |seen| {
            (seen.path == format!("/v2/lie/app/manifests/{tag}")).then(|| Response {
                status: 200,
                headers: vec![(
                    "Content-Type".into(),
                    "application/vnd.oci.image.manifest.v1+json".into(),
                )],
                body: body.clone().into_bytes(),
            })
        });
        let env = TestEnv::new();
        let name = format!("{addr}/lie/app:{tag}");
        let err = fails(&env, &["pull", "--tls-verify=false", &name]);
        assert!(err.contains(&name), "{tag}: {err}");
        match tag {
            "mediatype" => assert!(
                err.contains("application/x-evil") && err.contains(&layer),
                "{err}"
            ),
            "traversal" => assert!(err.contains("../"), "{err}"),
            _ => {}
        }
        assert_eq!(crate::registry_harness::blob_count(&env), 0, "{tag}");
        env.assert_check_clean();
    }
}

#[test]
fn a_blob_body_that_never_ends_is_cut_at_its_size() {
    let img = image();
    let addr = registry(&img, |_| endless(&[0x1f; 64 * 1024]));
    let env = TestEnv::new();
    let layer = sha(&img.layer);
    let start = std::time::Instant::now();
    let err = fails(
        &env,
        &[
            "pull",
            "--tls-verify=false",
            "--retry=0",
            &format!("{addr}/lie/app:1"),
        ],
    );
    assert!(
        start.elapsed() < std::time::Duration::from_secs(30),
        "{:?}",
        start.elapsed()
    );
    assert!(err.contains(&layer), "{err}");
    assert_nothing_recorded(&env, &layer);
}

#[test]
fn a_content_length_lie_is_refused() {
    let img = image();
    let body = img.layer.clone();
    // The layer announces more bytes than it sends, then the connection closes.
    let addr = registry(&img, move |_| Response {
        status: 200,
        headers: vec![(LENGTH_LIE.into(), (body.len() + 4096).to_string())],
        body: body.clone(),
    });
    let env = TestEnv::new();
    let layer = sha(&img.layer);
    let err = fails(
        &env,
        &[
            "pull",
            "--tls-verify=false",
            "--retry=0",
            &format!("{addr}/lie/app:1"),
        ],
    );
    assert!(err.contains(&layer), "{err}");
    assert_nothing_recorded(&env, &layer);
}

#[test]
fn an_endless_manifest_is_refused_at_the_limit() {
    // A 100 MiB+ manifest with no Content-Length: refused after 4 MiB, not read to the end.
    let (addr, _) = serve(
        "127.0.0.1",
        Arc::new(move |seen: &Seen| match seen.path.as_str() {
            "/v2/" => resp(200, b"{}"),
            _ => endless(&[b' '; 64 * 1024]),
        }),
    );
    let env = TestEnv::new();
    let start = std::time::Instant::now();
    let err = fails(
        &env,
        &["pull", "--tls-verify=false", &format!("{addr}/big/app:1")],
    );
    assert!(
        start.elapsed() < std::time::Duration::from_secs(30),
        "{:?}",
        start.elapsed()
    );
    assert!(
        err.contains("larger than the 4194304 byte limit") && err.contains(&addr),
        "{err}"
    );
    assert_eq!(crate::registry_harness::blob_count(&env), 0);
    env.assert_check_clean();
}

#[test]
fn a_cut_blob_download_resumes_with_range() {
    let img = image();
    let full = img.layer.clone();
    let half = full.len() / 2;
    let calls = Arc::new(AtomicUsize::new(0));
    let calls2 = calls.clone();
    let addr = registry(&img, move |seen| {
        if calls2.fetch_add(1, Ordering::SeqCst) == 0 {
            // The first answer announces every byte, sends half, and hangs up.
            return Response {
                status: 200,
                headers: vec![(LENGTH_LIE.into(), full.len().to_string())],
                body: full[..half].to_vec(),
            };
        }
        match &seen.range {
            Some(r) if *r == format!("bytes={half}-") => Response {
                status: 206,
                headers: vec![(
                    "Content-Range".into(),
                    format!("bytes {half}-{}/{}", full.len() - 1, full.len()),
                )],
                body: full[half..].to_vec(),
            },
            _ => resp(200, &full),
        }
    });
    let env = TestEnv::new();
    let out = crate::registry_harness::berth(
        &env,
        &[
            "pull",
            "--tls-verify=false",
            "--retry-delay=10ms",
            &format!("{addr}/lie/app:1"),
        ],
    )
    .output()
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2,
        "one cut attempt, one resumed"
    );
    env.assert_check_clean();
}

#[test]
fn a_registry_asking_for_chunks_gets_patch_chunks_in_order() {
    // Upload sessions by id: (bytes so far, PATCH count); blobs stored by digest.
    type Sessions = std::collections::HashMap<String, (Vec<u8>, usize)>;
    let state: Arc<Mutex<Sessions>> = Arc::new(Mutex::new(Sessions::new()));
    let next = Arc::new(AtomicUsize::new(0));
    let stored: Arc<Mutex<Vec<String>>> = Arc::new(Mutex::new(Vec::new()));
    let (st, sd) = (state.clone(), stored.clone());
    let session = |path: &str| -> String {
        path.split("/uploads/")
            .nth(1)
            .unwrap_or_default()
            .split('?')
            .next()
            .unwrap_or_default()
            .to_string()
    };
    let min = 1024 * 1024;
    let (addr, _) = serve(
        "127.0.0.1",
        Arc::new(move |seen: &Seen| {
            let (method, path) = (seen.method.as_str(), seen.path.as_str());
            match method {
                "GET" if path == "/v2/" => resp(200, b"{}"),
                "HEAD" => resp(404, b""),
                "POST" => {
                    let id = format!("s{}", next.fetch_add(1, Ordering::SeqCst));
                    st.lock().unwrap().insert(id.clone(), (Vec::new(), 0));
                    Response {
                        status: 202,
                        headers: vec![
                            (
                                "Location".into(),
                                format!("/v2/ch/app/blobs/uploads/{id}?n=0"),
                            ),
                            ("OCI-Chunk-Min-Length".into(), min.to_string()),
                        ],
                        body: Vec::new(),
                    }
                }
                "PATCH" => {
                    let id = session(path);
                    let mut all = st.lock().unwrap();
                    let Some(g) = all.get_mut(&id) else {
                        return resp(404, b"{}");
                    };
                    let start = g.0.len();
                    let want = format!("{start}-{}", start + seen.body.len() - 1);
                    if seen.content_range.as_deref() != Some(want.as_str()) {
                        return resp(416, b"{}");
                    }
                    g.0.extend_from_slice(&seen.body);
                    g.1 += 1;
                    Response {
                        status: 202,
                        headers: vec![(
                            "Location".into(),
                            format!("/v2/ch/app/blobs/uploads/{id}?n={}", g.1),
                        )],
                        body: Vec::new(),
                    }
                }
                "PUT" if path.contains("/blobs/uploads/") => {
                    if !seen.body.is_empty() {
                        return resp(
                            400,
                            b"{\"errors\":[{\"message\":\"chunked upload required\"}]}",
                        );
                    }
                    let all = st.lock().unwrap();
                    let Some(g) = all.get(&session(path)) else {
                        return resp(404, b"{}");
                    };
                    let want = path.rsplit("sha256%3A").next().unwrap_or_default();
                    if hex::encode(Sha256::digest(&g.0)) != want {
                        return resp(400, b"{}");
                    }
                    sd.lock().unwrap().push(format!("{want}:{}", g.1));
                    resp(201, b"")
                }
                "PUT" => resp(201, b""),
                _ => resp(404, b"{}"),
            }
        }),
    );
    let env = TestEnv::new();
    let rootfs = env.path("rootfs");
    std::fs::create_dir_all(&rootfs).unwrap();
    // Incompressible bytes, so the layer spans several 8 MiB chunks.
    let mut data = vec![0u8; 20 * 1024 * 1024];
    let mut x: u64 = 0x9e3779b97f4a7c15;
    for b in data.iter_mut() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
    std::fs::write(rootfs.join("big"), &data).unwrap();
    ok(&env, &["import", rootfs.to_str().unwrap(), "big"]);
    ok(
        &env,
        &[
            "push",
            "-q",
            "--tls-verify=false",
            "big",
            &format!("{addr}/ch/app:1"),
        ],
    );
    let stored = stored.lock().unwrap().clone();
    assert_eq!(stored.len(), 2, "layer and config: {stored:?}");
    let patches: Vec<usize> = stored
        .iter()
        .map(|s| s.rsplit(':').next().unwrap().parse().unwrap())
        .collect();
    assert!(patches.contains(&3), "20 MiB in 8 MiB chunks: {stored:?}");
}
