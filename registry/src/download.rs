//! Downloads of a plain http(s) URL (a build's `ADD <url>`) through the registry client: its
//! TLS setup (the system's roots, `certs.d/<host[:port]>`), proxies from the environment,
//! its redirect policy, read timeout and Podman's retries (`retry.rs`), and the digest
//! computed while the bytes stream and checked against the one expected. Nothing is sent
//! with the request but the URL: no credentials.

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use berth_layers::digest::Sha256Counter;
use berth_layers::Digest;

use crate::client::{Client, ClientOptions};
use crate::error::{NetFailure, RegistryError, Result};
use crate::retry::{self, RetryPolicy};

/// What was downloaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Downloaded {
    /// The sha256 digest of the bytes.
    pub digest: Digest,
    /// Their number.
    pub size: u64,
}

/// Download `url` into the new file `path` (mode 0600); with `expected`, the bytes must hash
/// to it (`checksum mismatch: expected …, got …` naming the URL otherwise).
pub fn download(
    url: &str,
    path: &Path,
    expected: Option<&Digest>,
    retry: RetryPolicy,
) -> Result<Downloaded> {
    let invalid = |message: String| RegistryError::Invalid {
        what: url.to_string(),
        message,
    };
    let parsed = url::Url::parse(url).map_err(|e| invalid(format!("bad URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(invalid("only http and https URLs are downloaded".into()));
    }
    let host = parsed.host_str().ok_or_else(|| invalid("no host".into()))?;
    let host = match parsed.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    };
    let client = Client::new(&host, ClientOptions::default())?;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| RegistryError::io(path, e))?;
    // Each attempt starts the file afresh; Podman's retry rules decide what may pass.
    let got = retry::if_necessary(retry, || {
        file.set_len(0)
            .and_then(|()| file.rewind())
            .map_err(|e| RegistryError::io(path, e))?;
        fetch_once(&client, url, &mut file, path)
    })?;
    if let Some(want) = expected.filter(|want| **want != got.digest) {
        return Err(invalid(format!(
            "checksum mismatch: expected {want}, got {}",
            got.digest
        )));
    }
    Ok(got)
}

/// One attempt: stream the body into `file`, hashing it.
fn fetch_once(client: &Client, url: &str, file: &mut File, path: &Path) -> Result<Downloaded> {
    let mut body = client.open_plain(url)?;
    let mut counter = Sha256Counter::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = match body.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(read_error(url, e)),
        };
        counter.update(&buf[..n]);
        file.write_all(&buf[..n])
            .map_err(|e| RegistryError::io(path, e))?;
    }
    let (digest, size) = counter.finish();
    Ok(Downloaded { digest, size })
}

/// The client's error inside a failed body read (so a cut connection stays transient).
fn read_error(url: &str, e: std::io::Error) -> RegistryError {
    let message = e.to_string();
    match e
        .into_inner()
        .map(|inner| inner.downcast::<RegistryError>())
    {
        Some(Ok(inner)) => *inner,
        _ => RegistryError::Http {
            method: "GET".into(),
            url: url.to_string(),
            message,
            // A body cut or stalled half way: the network may do better in a moment.
            failure: NetFailure::Cut,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_server::{ok, serve};
    use std::time::Duration;

    fn fast() -> RetryPolicy {
        RetryPolicy {
            times: 2,
            delay: Duration::from_millis(10),
        }
    }

    #[test]
    fn downloads_checks_the_digest_and_retries_a_5xx() {
        let base = serve(vec![
            b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                .to_vec(),
            ok("hello\n"),
            ok("hello\n"),
        ]);
        let d = tempfile::tempdir().unwrap();
        let want = berth_layers::digest::digest_bytes(b"hello\n");
        let got = download(
            &format!("{base}/f"),
            &d.path().join("a"),
            Some(&want),
            fast(),
        )
        .unwrap();
        assert_eq!((got.digest, got.size), (want, 6));
        assert_eq!(std::fs::read(d.path().join("a")).unwrap(), b"hello\n");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(d.path().join("a"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);

        let other = berth_layers::digest::digest_bytes(b"other");
        let e = download(
            &format!("{base}/f"),
            &d.path().join("b"),
            Some(&other),
            fast(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("checksum mismatch") && e.contains(other.as_ref()),
            "{e}"
        );
    }

    #[test]
    fn a_404_is_not_retried_and_names_the_status() {
        let base = serve(vec![
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec(),
        ]);
        let d = tempfile::tempdir().unwrap();
        let e = download(&format!("{base}/gone"), &d.path().join("a"), None, fast())
            .unwrap_err()
            .to_string();
        assert!(e.contains("404 Not Found") && e.contains("/gone"), "{e}");
    }

    #[test]
    fn only_http_urls() {
        let d = tempfile::tempdir().unwrap();
        let e = download("ftp://h/x", &d.path().join("a"), None, fast()).unwrap_err();
        assert!(e.to_string().contains("http"), "{e}");
    }
}
