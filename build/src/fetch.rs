//! `ADD <url>`: download an http(s) source into a private file through the registry crate's
//! client ([`berth_registry::download`]), which checks `--checksum=sha256:<hex>` while the
//! bytes stream, before the file is used. The file gets mode 0600, as Docker
//! gives remote sources; it is never extracted.

use std::path::{Path, PathBuf};

use berth_layers::digest::sha256_from_hex;
use berth_registry::retry::RetryPolicy;

use crate::error::BuildError;

/// The file name an `ADD <url> dir/` writes: the URL path's last segment.
pub fn file_name(url: &str) -> String {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let after_host = path.split_once("://").map(|(_, r)| r).unwrap_or(path);
    let name = after_host
        .split_once('/')
        .map(|(_, p)| p.rsplit('/').next().unwrap_or(""))
        .unwrap_or("");
    if name.is_empty() || name == "." || name == ".." {
        "download".to_string()
    } else {
        name.to_string()
    }
}

/// Download `url` into `dir/<name>` through the registry crate's client (certs.d, proxies,
/// redirect policy, retries as `retry` says), its sha256 checked against `--checksum` while
/// it streams; a failed download is the registry's error, naming the URL, kind kept.
pub fn download(
    url: &str,
    dir: &Path,
    name: &str,
    checksum: Option<&str>,
    retry: RetryPolicy,
) -> Result<PathBuf, BuildError> {
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(BuildError::Invalid(format!(
            "{url}: ADD downloads only http and https URLs"
        )));
    }
    let expected = match checksum {
        None => None,
        Some(c) => match c.strip_prefix("sha256:") {
            Some(hex) if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) => {
                Some(sha256_from_hex(&hex.to_ascii_lowercase()).map_err(BuildError::Invalid)?)
            }
            _ => {
                return Err(BuildError::Invalid(format!(
                    "--checksum={c}: use sha256:<64 hex digits>"
                )))
            }
        },
    };
    let path = dir.join(name);
    berth_registry::download::download(url, &path, expected.as_ref(), retry)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_from_urls() {
        assert_eq!(
            file_name("https://example.com/a/b/tool.tar.gz?x=1"),
            "tool.tar.gz"
        );
        assert_eq!(file_name("https://example.com/"), "download");
        assert_eq!(file_name("https://example.com"), "download");
        assert_eq!(file_name("http://h/dir/.."), "download");
    }

    #[test]
    fn bad_urls_and_checksums_are_refused() {
        let d = tempfile::tempdir().unwrap();
        let opts = RetryPolicy::default();
        assert!(download("ftp://x/y", d.path(), "y", None, opts)
            .unwrap_err()
            .to_string()
            .contains("http"));
        let e = download("http://127.0.0.1:1/x", d.path(), "x", Some("md5:abc"), opts)
            .unwrap_err()
            .to_string();
        assert!(e.contains("--checksum"), "{e}");
    }
}
