//! `ADD <url>`: download an http(s) source into a private file while hashing it, and check
//! `--checksum=sha256:<hex>` before the file is used. The file gets mode 0600, as Docker
//! gives remote sources; it is never extracted.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

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

/// Download `url` into `dir/<name>`; errors are messages naming the URL.
pub fn download(
    url: &str,
    dir: &Path,
    name: &str,
    checksum: Option<&str>,
) -> Result<PathBuf, String> {
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(format!("{url}: ADD downloads only http and https URLs"));
    }
    let expected = match checksum {
        None => None,
        Some(c) => match c.strip_prefix("sha256:") {
            Some(hex) if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) => {
                Some(hex.to_ascii_lowercase())
            }
            _ => return Err(format!("--checksum={c}: use sha256:<64 hex digits>")),
        },
    };
    let path = dir.join(name);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("{url}: {e}"))?;
    let digest = rt.block_on(async {
        let mut resp = reqwest::get(url)
            .await
            .map_err(|e| format!("GET {url}: {e}"))?;
        if !resp.status().is_success() {
            return Err(format!("GET {url}: {}", resp.status()));
        }
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let mut hash = Sha256::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| format!("GET {url}: {e}"))? {
            hash.update(&chunk);
            file.write_all(&chunk)
                .map_err(|e| format!("{}: {e}", path.display()))?;
        }
        Ok::<_, String>(hex::encode(hash.finalize()))
    })?;
    if let Some(want) = expected {
        if want != digest {
            return Err(format!(
                "{url}: checksum mismatch: expected sha256:{want}, got sha256:{digest}"
            ));
        }
    }
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
        assert!(download("ftp://x/y", d.path(), "y", None)
            .unwrap_err()
            .contains("http"));
        let e = download("http://127.0.0.1:1/x", d.path(), "x", Some("md5:abc")).unwrap_err();
        assert!(e.contains("--checksum"), "{e}");
    }
}
