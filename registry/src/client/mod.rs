//! A thin OCI distribution client on `reqwest` (rustls, streaming bodies) and tokio.
//!
//! One [`Client`] talks to one registry host. It pings `/v2/`, answers `WWW-Authenticate`
//! challenges (Basic with the stored credentials; Bearer by fetching a token for
//! `repository:<name>:pull[,push]`, reused per scope), gets and puts manifests (capped at
//! [`MAX_MANIFEST_SIZE`], a body longer than announced is refused; a manifest fetched by
//! digest must hash to it, and every manifest passes
//! [`berth_layers::document::check_document`] against its Content-Type), streams blobs down
//! and up (`upload`: a POST then one streamed PUT `?digest=`, or PATCH chunks when the
//! registry asks with `OCI-Chunk-Min-Length`; `Range` resumes downloads; cross-repository
//! mounts), never buffering a blob. Nothing is requested by a digest berth cannot verify.
//!
//! Methods are blocking (they drive the process's one runtime, [`runtime`], built on first
//! use), so the synchronous store and copy routine can call them from plain threads; blob
//! readers bridge the async body to `Read`. Clients with the same TLS setting share one
//! `reqwest::Client` (its connections) for the whole process.
//! Credentials: every request goes through one decision (`origin::credentials_for`, asked by
//! `request::execute` for each hop): the registry's `Authorization` only to the registry's
//! origin (scheme, host, port), Basic credentials to the bearer realm it names (never over
//! plain HTTP from an HTTPS registry), nothing to any other origin: redirects (followed by
//! berth, hop by hop), an upload `Location` elsewhere, a CDN. A `Link` page keeps only its
//! path and query.
//! TLS: rustls with the system's roots and Mozilla's, plus `certs.d/<host>` (`*.crt` CAs, a
//! `*.cert`/`*.key` client pair) from `--cert-dir` or `/etc/containers/certs.d/<host>`.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use base64::Engine as _;
use berth_layers::document::{check_document, Declared};
use berth_layers::Digest;
use bytes::Bytes;
use futures_util::TryStreamExt;
use reqwest::header::{
    HeaderMap, ACCEPT, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, LOCATION, RANGE,
};
use reqwest::{Method, Response, StatusCode};
use tokio::runtime::Runtime;

use crate::auth::Credentials;
use crate::error::{NetFailure, RegistryError, Result};

/// Largest manifest accepted.
pub const MAX_MANIFEST_SIZE: u64 = 4 * 1024 * 1024;

/// Chunk size of a chunked upload (when the registry asks for one with
/// `OCI-Chunk-Min-Length`).
pub const CHUNK_SIZE: u64 = 8 * 1024 * 1024;
/// The largest chunk berth buffers for a registry's `OCI-Chunk-Min-Length`.
pub const MAX_CHUNK: u64 = 64 * 1024 * 1024;

/// A read that waits longer than this fails (and a blob fetch is retried): a body that
/// stalls does not hang berth.
pub const READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

use berth_layers::media_type::{DOCKER_LIST, DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST};

/// The process's one runtime for the network (two worker threads: the network is the only
/// async part), built on first use, so a command that never reaches the network never starts
/// it. Every client method drives it; blob readers bridge its bodies to `Read`.
pub fn runtime() -> Result<&'static Runtime> {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    if let Some(rt) = RUNTIME.get() {
        return Ok(rt);
    }
    let built = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| RegistryError::Http {
            method: "START".into(),
            url: "tokio runtime".into(),
            message: e.to_string(),
            failure: NetFailure::Other,
        })?;
    // Two first uses at once: one runtime is kept, the other dropped unused.
    Ok(RUNTIME.get_or_init(|| built))
}

/// The HTTP client for one TLS setting (the certificate directory, `insecure`), built once per
/// process: every [`Client`] with the same setting shares its connections. Redirects are
/// off (berth follows them itself, hop by hop). `host` names the client in errors.
fn http_client(host: &str, cert_dir: &Path, insecure: bool) -> Result<reqwest::Client> {
    static CLIENTS: Mutex<BTreeMap<(PathBuf, bool), reqwest::Client>> = Mutex::new(BTreeMap::new());
    let key = (cert_dir.to_path_buf(), insecure);
    let mut clients = CLIENTS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(c) = clients.get(&key) {
        return Ok(c.clone());
    }
    let mut builder = reqwest::Client::builder()
        .user_agent(concat!("berth/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(std::time::Duration::from_secs(30))
        .read_timeout(READ_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none());
    if insecure {
        builder = builder.danger_accept_invalid_certs(true);
    }
    builder = load_certs(builder, cert_dir)?;
    let http = builder
        .build()
        .map_err(|e| http_err(&Method::GET, host, &e))?;
    clients.insert(key, http.clone());
    Ok(http)
}

/// How to reach a registry.
#[derive(Debug, Clone, Default)]
pub struct ClientOptions {
    /// Allow plain HTTP and unverified TLS (`--tls-verify=false` or `insecure = true`).
    pub insecure: bool,
    /// Credentials, if any.
    pub credentials: Option<Credentials>,
    /// Directory with `*.crt` CAs and a `*.cert`/`*.key` client pair (default
    /// `/etc/containers/certs.d/<host>`).
    pub cert_dir: Option<PathBuf>,
}

#[derive(Debug, Clone)]
enum Challenge {
    Basic,
    Bearer {
        realm: String,
        service: Option<String>,
    },
}

#[derive(Default)]
struct AuthState {
    challenge: Option<Challenge>,
    tokens: HashMap<String, String>,
}

/// A fetched manifest.
#[derive(Debug, Clone)]
pub struct FetchedManifest {
    /// Its bytes (at most [`MAX_MANIFEST_SIZE`]).
    pub bytes: Vec<u8>,
    /// Its media type, on which the Content-Type header and the body agree
    /// ([`berth_layers::document::check_document`]).
    pub media_type: String,
    /// Its digest, computed from the bytes.
    pub digest: Digest,
    /// The Content-Type header as sent, for checks against a descriptor.
    pub content_type: Option<String>,
}

/// A client for one registry host.
pub struct Client {
    rt: &'static Runtime,
    http: reqwest::Client,
    host: String,
    base: Mutex<String>,
    options: ClientOptions,
    auth: Mutex<AuthState>,
}

/// Whether `e` says the server answered a TLS hello in plain HTTP (rustls sees a record of
/// an unknown content type). The TLS error sits inside `io::Error`s, whose `source` skips
/// the error they wrap, so each is opened too.
fn is_plain_http_answer(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(e);
    while let Some(err) = cur {
        let mut inner: &(dyn std::error::Error + 'static) = err;
        while let Some(wrapped) = inner
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            inner = wrapped;
        }
        if matches!(
            inner.downcast_ref::<rustls::Error>(),
            Some(rustls::Error::InvalidMessage(
                rustls::InvalidMessage::InvalidContentType
            ))
        ) {
            return true;
        }
        cur = err.source();
    }
    false
}

fn http_err(method: &Method, url: &str, e: &(dyn std::error::Error + 'static)) -> RegistryError {
    if is_plain_http_answer(e) {
        // Go's words, which Podman and skopeo print.
        return RegistryError::Http {
            method: method.to_string(),
            url: url.to_string(),
            message: "http: server gave HTTP response to HTTPS client".to_string(),
            failure: NetFailure::Tls,
        };
    }
    let mut message = String::new();
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        let mut text = err.to_string();
        // reqwest repeats the URL ("… for url (http://…)"); the error names it once.
        if let Some(i) = text.find(" for url (") {
            text.truncate(i);
        }
        if !message.contains(&text) {
            if !message.is_empty() {
                message.push_str(": ");
            }
            message.push_str(&text);
        }
        cur = err.source();
    }
    RegistryError::Http {
        method: method.to_string(),
        url: url.to_string(),
        message,
        failure: failure_of(e),
    }
}

/// What `e` says failed, read from the types in its chain (io errors opened as in
/// [`is_plain_http_answer`]): a timeout, an errno of network trouble, a connection or body
/// closed early (hyper's incomplete message, an unexpected EOF), TLS; else
/// [`NetFailure::Other`] (a name that does not resolve, a bad URL). Whether each may pass is
/// `retry.rs`'s call.
fn failure_of(e: &(dyn std::error::Error + 'static)) -> NetFailure {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if err
            .downcast_ref::<reqwest::Error>()
            .is_some_and(|r| r.is_timeout())
        {
            return NetFailure::Timeout;
        }
        if err
            .downcast_ref::<hyper::Error>()
            .is_some_and(|h| h.is_incomplete_message())
        {
            return NetFailure::Cut;
        }
        let mut inner = err.downcast_ref::<std::io::Error>();
        while let Some(io) = inner {
            if let Some(failure) = NetFailure::of_io_kind(io.kind()) {
                return failure;
            }
            if io.get_ref().is_some_and(|w| w.is::<rustls::Error>()) {
                return NetFailure::Tls;
            }
            inner = io
                .get_ref()
                .and_then(|w| w.downcast_ref::<std::io::Error>());
        }
        if err.is::<rustls::Error>() {
            return NetFailure::Tls;
        }
        cur = err.source();
    }
    NetFailure::Other
}

async fn status_err(method: &Method, url: &str, resp: Response) -> RegistryError {
    let status = resp.status().as_u16();
    let body = resp.text().await.unwrap_or_default();
    let detail = serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v["errors"][0]["message"].as_str().map(str::to_string))
        .map(|m| format!(" ({m})"))
        .unwrap_or_default();
    RegistryError::Status {
        method: method.to_string(),
        url: url.to_string(),
        status,
        detail,
    }
}

fn load_certs(mut builder: reqwest::ClientBuilder, dir: &Path) -> Result<reqwest::ClientBuilder> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Ok(builder);
    };
    let mut files: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    files.sort();
    let bad = |p: &Path, e: reqwest::Error| RegistryError::Config {
        path: p.to_path_buf(),
        message: e.to_string(),
    };
    for p in &files {
        let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("");
        if ext == "crt" {
            let pem = std::fs::read(p).map_err(|e| RegistryError::io(p, e))?;
            for cert in reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| bad(p, e))? {
                builder = builder.add_root_certificate(cert);
            }
        } else if ext == "cert" {
            let key = p.with_extension("key");
            let mut pem = std::fs::read(p).map_err(|e| RegistryError::io(p, e))?;
            pem.extend(std::fs::read(&key).map_err(|e| RegistryError::io(&key, e))?);
            builder = builder.identity(reqwest::Identity::from_pem(&pem).map_err(|e| bad(p, e))?);
        }
    }
    Ok(builder)
}

impl Client {
    /// A client for `host` (`host[:port]`); nothing is sent yet.
    pub fn new(host: &str, options: ClientOptions) -> Result<Client> {
        let dir = options
            .cert_dir
            .clone()
            .unwrap_or_else(|| berth_trust::config_dir::system_path("certs.d").join(host));
        let http = http_client(host, &dir, options.insecure)?;
        Ok(Client {
            rt: runtime()?,
            http,
            host: host.to_string(),
            base: Mutex::new(format!("https://{host}")),
            options,
            auth: Mutex::new(AuthState::default()),
        })
    }

    /// The host this client talks to.
    pub fn host(&self) -> &str {
        &self.host
    }

    fn base(&self) -> String {
        self.base.lock().map(|b| b.clone()).unwrap_or_default()
    }

    /// GET `/v2/` (over https; when insecure, falls back to http if https fails to connect)
    /// and note the auth challenge. Returns whether the registry demanded authentication
    /// (and the credentials were then accepted for the ping).
    pub fn ping(&self) -> Result<()> {
        self.rt.block_on(self.ping_async())
    }

    async fn ping_async(&self) -> Result<()> {
        match self.ping_at(&format!("https://{}", self.host)).await {
            Err(RegistryError::Http { .. }) if self.options.insecure => {
                let base = format!("http://{}", self.host);
                self.ping_at(&base).await?;
                if let Ok(mut b) = self.base.lock() {
                    *b = base;
                }
                Ok(())
            }
            Err(RegistryError::Http {
                method,
                url,
                message,
                failure,
            }) if !self.options.insecure && failure != NetFailure::Refused => {
                Err(RegistryError::Http {
                    method,
                    url,
                    failure,
                    message: format!(
                        "{message} (for a registry without verifiable TLS use --tls-verify=false, --cert-dir, or insecure = true in registries.conf)"
                    ),
                })
            }
            other => other,
        }
    }

    async fn ping_at(&self, base: &str) -> Result<()> {
        let url = format!("{base}/v2/");
        let resp = self
            .execute(&Method::GET, &url, Purpose::Anonymous, "", true, &|r| r)
            .await?
            .resp;
        match resp.status() {
            s if s.is_success() => Ok(()),
            StatusCode::UNAUTHORIZED => {
                let ch = parse_challenge(resp.headers());
                if let Ok(mut a) = self.auth.lock() {
                    a.challenge = ch;
                }
                Ok(())
            }
            _ => Err(status_err(&Method::GET, &url, resp).await),
        }
    }

    /// Check the credentials against `/v2/` (`berth login`): a 401 after authenticating is
    /// an error.
    pub fn check_login(&self) -> Result<()> {
        self.rt.block_on(async {
            self.ping_async().await?;
            let url = format!("{}/v2/", self.base());
            let resp = self.send(Method::GET, &url, "", |r| r).await?;
            if resp.status().is_success() {
                Ok(())
            } else {
                Err(status_err(&Method::GET, &url, resp).await)
            }
        })
    }

    /// GET a manifest by tag or digest (a digest berth cannot verify is refused before the
    /// request).
    pub fn get_manifest(&self, repo: &str, reference: &str) -> Result<FetchedManifest> {
        let by_digest = reference.contains(':');
        let sep = if by_digest { '@' } else { ':' };
        let shown = format!("manifest {}/{repo}{sep}{reference}", self.host);
        if by_digest {
            reference
                .parse::<Digest>()
                .map_err(|e| e.to_string())
                .and_then(|d| berth_layers::digest::check_supported(&d))
                .map_err(|message| RegistryError::Invalid {
                    what: shown.clone(),
                    message,
                })?;
        }
        self.rt.block_on(async {
            let url = format!("{}/v2/{repo}/manifests/{reference}", self.base());
            let accept = [OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST].join(", ");
            let resp = self
                .send(Method::GET, &url, &scope(repo, false), |r| {
                    r.header(ACCEPT, accept.as_str())
                })
                .await?;
            if resp.status() == StatusCode::NOT_FOUND {
                return Err(RegistryError::ManifestUnknown {
                    reference: format!("{}/{repo}:{reference}", self.host)
                        .replace(":sha256:", "@sha256:"),
                    url,
                });
            }
            if !resp.status().is_success() {
                return Err(status_err(&Method::GET, &url, resp).await);
            }
            let content_type = resp
                .headers()
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let bytes = read_capped(resp, &url, MAX_MANIFEST_SIZE).await?;
            let digest = berth_layers::digest::digest_bytes(&bytes);
            if by_digest && digest.as_ref() != reference {
                return Err(RegistryError::Invalid {
                    what: shown.clone(),
                    message: format!("registry sent content with digest {digest}"),
                });
            }
            let declared = Declared::content_type(content_type.as_deref());
            let kind = check_document(&bytes, declared.as_slice()).map_err(|message| {
                RegistryError::Invalid {
                    what: format!("{shown} ({digest})"),
                    message,
                }
            })?;
            Ok(FetchedManifest {
                bytes,
                media_type: kind.media_type().to_string(),
                digest,
                content_type,
            })
        })
    }

    /// PUT a manifest under `reference` (digest or tag); returns the registry's digest
    /// header, if any.
    pub fn put_manifest(
        &self,
        repo: &str,
        reference: &str,
        bytes: &[u8],
        media_type: &str,
    ) -> Result<()> {
        self.rt.block_on(async {
            let url = format!("{}/v2/{repo}/manifests/{reference}", self.base());
            let body = Bytes::copy_from_slice(bytes);
            let resp = self
                .send(Method::PUT, &url, &scope(repo, true), |r| {
                    r.header(CONTENT_TYPE, media_type).body(body.clone())
                })
                .await?;
            if !resp.status().is_success() {
                return Err(status_err(&Method::PUT, &url, resp).await);
            }
            Ok(())
        })
    }

    /// GET `url` outside the registry API (a lookaside signature server): no credentials are
    /// sent; at most `cap` bytes; `None` on 404.
    pub fn get_plain(&self, url: &str, cap: u64) -> Result<Option<Vec<u8>>> {
        self.rt.block_on(async {
            let resp = self
                .execute(&Method::GET, url, Purpose::Anonymous, "", true, &|r| r)
                .await?
                .resp;
            if resp.status() == StatusCode::NOT_FOUND {
                return Ok(None);
            }
            if !resp.status().is_success() {
                return Err(status_err(&Method::GET, url, resp).await);
            }
            read_capped(resp, url, cap).await.map(Some)
        })
    }

    /// Repository names from `GET /v2/_catalog` (at most `limit`, following `Link` pages).
    pub fn catalog(&self, limit: usize) -> Result<Vec<String>> {
        self.paged("/v2/_catalog", "registry:catalog:*", "repositories", limit)
    }

    /// Every tag of `repo` (`GET /v2/<repo>/tags/list`, following `Link: <…>; rel="next"`).
    pub fn list_tags(&self, repo: &str) -> Result<Vec<String>> {
        self.paged(
            &format!("/v2/{repo}/tags/list"),
            &scope(repo, false),
            "tags",
            usize::MAX,
        )
    }

    /// A JSON list under `key`, over `Link: <…>; rel="next"` pages (each Link's path and
    /// query only, on the registry's origin).
    fn paged(&self, path: &str, scope: &str, key: &str, limit: usize) -> Result<Vec<String>> {
        self.rt.block_on(async {
            let base = self.base();
            let mut url = format!("{base}{path}");
            let mut tags = Vec::new();
            for _ in 0..1000 {
                let resp = self.send(Method::GET, &url, scope, |r| r).await?;
                if !resp.status().is_success() {
                    return Err(status_err(&Method::GET, &url, resp).await);
                }
                let next = resp
                    .headers()
                    .get(reqwest::header::LINK)
                    .and_then(|v| v.to_str().ok())
                    .and_then(link_target);
                let bytes = read_capped(resp, &url, MAX_MANIFEST_SIZE).await?;
                let v: serde_json::Value =
                    serde_json::from_slice(&bytes).map_err(|e| RegistryError::Invalid {
                        what: url.clone(),
                        message: format!("{key} list: {e}"),
                    })?;
                if let Some(list) = v[key].as_array() {
                    tags.extend(list.iter().filter_map(|t| t.as_str().map(str::to_string)));
                }
                if tags.len() >= limit {
                    tags.truncate(limit);
                    break;
                }
                match next {
                    Some(link) => {
                        let bad = |message| RegistryError::Invalid {
                            what: url.clone(),
                            message,
                        };
                        let registry = url::Url::parse(&base).map_err(|e| bad(e.to_string()))?;
                        let current = url::Url::parse(&url).map_err(|e| bad(e.to_string()))?;
                        url = link_on_registry(&registry, &current, &link)
                            .map_err(bad)?
                            .to_string();
                    }
                    None => break,
                }
            }
            Ok(tags)
        })
    }

    /// Whether the registry has the blob in `repo` (HEAD).
    pub fn has_blob(&self, repo: &str, digest: &Digest, push: bool) -> Result<bool> {
        self.rt.block_on(async {
            let url = format!("{}/v2/{repo}/blobs/{digest}", self.base());
            let resp = self
                .send(Method::HEAD, &url, &scope(repo, push), |r| r)
                .await?;
            match resp.status() {
                s if s.is_success() => Ok(true),
                StatusCode::NOT_FOUND => Ok(false),
                _ => Err(status_err(&Method::HEAD, &url, resp).await),
            }
        })
    }

    /// Ask the registry to mount `digest` from repository `from` into `repo` (cross-repository
    /// blob mount). `true` when mounted (201); `false` when the registry declined (it may
    /// have started an upload instead, which is cancelled) or does not know the blob.
    pub fn mount_blob(&self, repo: &str, digest: &Digest, from: &str) -> Result<bool> {
        self.rt.block_on(async {
            let url = format!(
                "{}/v2/{repo}/blobs/uploads/?mount={digest}&from={from}",
                self.base()
            );
            let scope = format!("repository:{repo}:pull,push repository:{from}:pull");
            let resp = self
                .send(Method::POST, &url, &scope, |r| {
                    r.header(CONTENT_LENGTH, "0")
                })
                .await?;
            match resp.status() {
                StatusCode::CREATED => Ok(true),
                StatusCode::ACCEPTED => {
                    // An upload session instead of a mount: cancel it (best effort).
                    let loc = resp
                        .headers()
                        .get(LOCATION)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|l| url::Url::parse(&url).and_then(|b| b.join(l)).ok());
                    if let Some(loc) = loc {
                        let _ = self.send(Method::DELETE, loc.as_str(), &scope, |r| r).await;
                    }
                    Ok(false)
                }
                _ => Ok(false),
            }
        })
    }

    /// Open a blob for streaming (the caller verifies digest and size while it reads).
    /// Must not be called from inside the runtime.
    pub fn blob_reader(&self, repo: &str, digest: &Digest) -> Result<Box<dyn Read + Send>> {
        self.blob_reader_at(repo, digest, 0).map(|(r, _)| r)
    }

    /// Open a blob from byte `offset` on (`Range: bytes=OFFSET-`). Returns the reader and
    /// whether the registry honoured the range (206); when it did not, the reader starts at
    /// byte 0. A digest berth cannot verify is refused before the request.
    pub fn blob_reader_at(
        &self,
        repo: &str,
        digest: &Digest,
        offset: u64,
    ) -> Result<(Box<dyn Read + Send>, bool)> {
        let url = format!("{}/v2/{repo}/blobs/{digest}", self.base());
        berth_layers::digest::check_supported(digest).map_err(|message| {
            RegistryError::Invalid {
                what: format!("blob {}/{repo}@{digest}", self.host),
                message,
            }
        })?;
        let resp = self.rt.block_on(async {
            let resp = self
                .send(Method::GET, &url, &scope(repo, false), |r| {
                    if offset > 0 {
                        r.header(RANGE, format!("bytes={offset}-"))
                    } else {
                        r
                    }
                })
                .await?;
            if !resp.status().is_success() {
                return Err(status_err(&Method::GET, &url, resp).await);
            }
            Ok(resp)
        })?;
        let resumed = offset > 0 && resp.status() == StatusCode::PARTIAL_CONTENT;
        Ok((self.body_reader(resp, url), resumed))
    }

    /// `resp`'s body as a blocking `Read` (driven by the runtime from the calling thread); a
    /// failed read is an `io::Error` wrapping the [`RegistryError`] that names `url`.
    fn body_reader(&self, resp: Response, url: String) -> Box<dyn Read + Send> {
        let stream = resp
            .bytes_stream()
            .map_err(move |e| std::io::Error::other(http_err(&Method::GET, &url, &e)));
        let reader = tokio_util::io::StreamReader::new(stream);
        Box::new(tokio_util::io::SyncIoBridge::new_with_handle(
            reader,
            self.rt.handle().clone(),
        ))
    }
}

fn scope(repo: &str, push: bool) -> String {
    if push {
        format!("repository:{repo}:pull,push")
    } else {
        format!("repository:{repo}:pull")
    }
}

fn basic(c: &Credentials) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", c.username, c.password))
    )
}

/// Read a body of at most `cap` bytes, refusing one longer than its Content-Length.
async fn read_capped(resp: Response, url: &str, cap: u64) -> Result<Vec<u8>> {
    let announced = resp.content_length();
    let invalid = |message: String| RegistryError::Invalid {
        what: url.to_string(),
        message,
    };
    if let Some(n) = announced.filter(|n| *n > cap) {
        return Err(invalid(format!(
            "body of {n} bytes is larger than the {cap} byte limit"
        )));
    }
    let limit = announced.unwrap_or(cap);
    let mut out = Vec::new();
    let mut stream = resp.bytes_stream();
    while let Some(chunk) = stream
        .try_next()
        .await
        .map_err(|e| http_err(&Method::GET, url, &e))?
    {
        if out.len() as u64 + chunk.len() as u64 > limit {
            return Err(invalid(match announced {
                Some(n) => format!("body longer than its Content-Length of {n} bytes"),
                None => format!("body larger than the {cap} byte limit"),
            }));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// The URL a `Link: <…>; rel="next"` header names (between the first `<` and `>`).
fn link_target(header: &str) -> Option<String> {
    let (_, rest) = header.split_once('<')?;
    let (link, _) = rest.split_once('>')?;
    Some(link.to_string())
}

/// Entry points for the fuzz targets (`fuzz/`): the header parsers are private to the client.
#[doc(hidden)]
pub mod fuzzing;

/// Parse `WWW-Authenticate: Bearer realm="…",service="…"` or `Basic …`.
fn parse_challenge(headers: &HeaderMap) -> Option<Challenge> {
    let value = headers
        .get(reqwest::header::WWW_AUTHENTICATE)?
        .to_str()
        .ok()?;
    let (scheme, rest) = value.trim().split_once(' ').unwrap_or((value.trim(), ""));
    if scheme.eq_ignore_ascii_case("basic") {
        return Some(Challenge::Basic);
    }
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let params = parse_params(rest);
    Some(Challenge::Bearer {
        realm: params.get("realm")?.clone(),
        service: params.get("service").cloned(),
    })
}

fn parse_params(s: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let mut rest = s.trim();
    while !rest.is_empty() {
        let Some((key, after)) = rest.split_once('=') else {
            break;
        };
        let key = key
            .trim()
            .trim_start_matches(',')
            .trim()
            .to_ascii_lowercase();
        let after = after.trim_start();
        let (value, next) = if let Some(q) = after.strip_prefix('"') {
            match q.find('"') {
                Some(end) => (q[..end].to_string(), &q[end + 1..]),
                None => (q.to_string(), ""),
            }
        } else {
            match after.find(',') {
                Some(end) => (after[..end].trim().to_string(), &after[end..]),
                None => (after.trim().to_string(), ""),
            }
        };
        out.insert(key, value);
        rest = next.trim_start().trim_start_matches(',').trim_start();
    }
    out
}

mod origin;
mod plain;
mod request;
mod upload;

use origin::{link_on_registry, Purpose};

#[cfg(test)]
mod tests;
