//! Independent implementations the trust interop tests check berth against, set up once per
//! test process:
//! - Debian trixie's skopeo 1.18 (sigstore enabled), installed by `scripts/trixie-skopeo.sh`
//!   into a private folder; bookworm's own skopeo has sigstore patched out.
//! - `tests/oracles/sigstore-rs`, a small binary over the `sigstore` crate (cosign keys and
//!   signatures), built with cargo into its own target dir outside the repo.
//! - a throwaway GnuPG home with a passwordless signing key.
//!
//! None of them skip: a missing network or tool fails the test with the reason.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use crate::util::require_tool;

fn repo_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Where the oracles are cached between runs (`BERTH_TEST_CACHE`, default
/// /var/cache/berth-tests).
fn cache_dir() -> PathBuf {
    std::env::var_os("BERTH_TEST_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/cache/berth-tests"))
}

/// The wrapper that runs Debian trixie's skopeo (sigstore enabled). Installs it on first use
/// (apt-get download of six .debs, a few seconds); panics with the script's output if that
/// fails.
pub fn trixie_skopeo() -> PathBuf {
    static WRAPPER: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    WRAPPER
        .get_or_init(|| {
            let script = repo_dir().join("scripts/trixie-skopeo.sh");
            let out = Command::new("bash")
                .arg(&script)
                .env(
                    "BERTH_TRIXIE_SKOPEO_DIR",
                    std::env::var_os("BERTH_TRIXIE_SKOPEO_DIR")
                        .map(PathBuf::from)
                        .unwrap_or_else(|| cache_dir().join("trixie-skopeo")),
                )
                .output()
                .map_err(|e| format!("running {}: {e}", script.display()))?;
            if !out.status.success() {
                return Err(format!(
                    "{} failed ({}): it needs apt access to Debian trixie\n{}{}",
                    script.display(),
                    out.status,
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
            let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
            let path = PathBuf::from(path.lines().last().unwrap_or_default());
            if !path.is_file() {
                return Err(format!("{} printed no wrapper path", script.display()));
            }
            Ok(path)
        })
        .clone()
        .unwrap_or_else(|e| panic!("trixie skopeo is unavailable: {e}"))
}

/// The sigstore-rs oracle binary (`gen-key`, `sign`, `verify`), built on first use with cargo
/// into `BERTH_ORACLE_TARGET` (default /var/cache/berth-tests/oracle-target); panics with
/// cargo's output if the build fails.
pub fn sigstore_oracle() -> PathBuf {
    static BIN: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BIN.get_or_init(|| {
        let manifest = repo_dir().join("tests/oracles/sigstore-rs/Cargo.toml");
        let target = std::env::var_os("BERTH_ORACLE_TARGET")
            .map(PathBuf::from)
            .unwrap_or_else(|| cache_dir().join("oracle-target"));
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let out = Command::new(cargo)
            .args(["build", "--quiet", "--locked", "--manifest-path"])
            .arg(&manifest)
            .env("CARGO_TARGET_DIR", &target)
            // Cargo sets these for the test binary; they must not steer the nested build.
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .env_remove("CARGO_BUILD_TARGET")
            .output()
            .map_err(|e| format!("running cargo: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "cargo build of {} failed ({}):\n{}",
                manifest.display(),
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let bin = target.join("debug/sigstore-oracle");
        if !bin.is_file() {
            return Err(format!("{} was not built", bin.display()));
        }
        Ok(bin)
    })
    .clone()
    .unwrap_or_else(|e| panic!("the sigstore-rs oracle is unavailable: {e}"))
}

/// A GnuPG home under `dir` with one passwordless RSA signing key; returns the home and the
/// key's fingerprint. Keep the returned guard alive: it stops the home's gpg-agent on drop.
pub fn gnupg_home(dir: &Path) -> (GpgHome, String) {
    let home = dir.join("gnupg");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::set_permissions(&home, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    let guard = GpgHome { home: home.clone() };
    let gpg = require_tool("gpg");
    let out = Command::new(&gpg)
        .arg("--homedir")
        .arg(&home)
        .args(["--batch", "--passphrase", "", "--quick-gen-key"])
        .args([
            "berth test <berth-test@example.invalid>",
            "rsa2048",
            "sign",
            "never",
        ])
        .output()
        .expect("run gpg");
    assert!(
        out.status.success(),
        "gpg --quick-gen-key failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list = Command::new(&gpg)
        .arg("--homedir")
        .arg(&home)
        .args(["--batch", "--with-colons", "--list-secret-keys"])
        .output()
        .expect("run gpg");
    let list = String::from_utf8_lossy(&list.stdout);
    let fpr = list
        .lines()
        .find(|l| l.starts_with("fpr:"))
        .and_then(|l| l.split(':').nth(9))
        .unwrap_or_else(|| panic!("no fingerprint in gpg's listing: {list}"))
        .to_string();
    (guard, fpr)
}

/// A GnuPG home made by [`gnupg_home`]; its gpg-agent is killed on drop.
pub struct GpgHome {
    pub home: PathBuf,
}

impl GpgHome {
    /// The public key, binary (`gpg --export`), written to `path` for a policy's `keyPath`.
    pub fn export(&self, fpr: &str, path: &Path) {
        let out = Command::new(require_tool("gpg"))
            .arg("--homedir")
            .arg(&self.home)
            .args(["--batch", "--export", fpr])
            .output()
            .expect("run gpg");
        assert!(
            out.status.success() && !out.stdout.is_empty(),
            "gpg --export"
        );
        std::fs::write(path, out.stdout).unwrap();
    }
}

impl Drop for GpgHome {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .arg("--homedir")
            .arg(&self.home)
            .args(["--kill", "gpg-agent"])
            .output();
    }
}

/// Run the sigstore-rs oracle; returns (exit code, stdout, stderr).
pub fn oracle(args: &[&Path]) -> (i32, String, String) {
    let out = Command::new(sigstore_oracle())
        .args(args)
        .output()
        .expect("run sigstore-oracle");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

/// `openssl dgst -sha256 -verify PUB -signature SIG PAYLOAD` with `sig_b64` decoded into a
/// file next to the payload; whether openssl accepted.
pub fn openssl_verifies(public_key: &Path, payload: &Path, sig_b64: &str) -> bool {
    let der = payload.with_extension("sig.der");
    std::fs::write(
        &der,
        base64_decode(sig_b64).expect("signature is not base64"),
    )
    .unwrap();
    let out = Command::new(require_tool("openssl"))
        .args(["dgst", "-sha256", "-verify"])
        .arg(public_key)
        .arg("-signature")
        .arg(&der)
        .arg(payload)
        .output()
        .expect("run openssl");
    out.status.success()
}

/// Standard base64 (with padding, whitespace ignored).
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    let text: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    let body = text
        .strip_suffix(b"==")
        .or_else(|| text.strip_suffix(b"="))
        .unwrap_or(&text);
    if text.len() % 4 != 0 {
        return None;
    }
    for &c in body {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        bits = (bits << 6) | u32::from(v);
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
        }
    }
    Some(out)
}

/// A registry's answer to [`http`].
pub struct Resp {
    pub status: u16,
    head: String,
    pub body: Vec<u8>,
}

impl Resp {
    /// A response header's value ("" if absent).
    pub fn header(&self, name: &str) -> String {
        self.head
            .lines()
            .skip(1)
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
            })
            .unwrap_or_default()
    }
}

/// One HTTP/1.0 exchange with a plain-HTTP registry (no client dependency).
pub fn http(addr: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Resp {
    let mut s = TcpStream::connect(addr).expect("connect to registry");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut req = format!("{method} {path} HTTP/1.0\r\nHost: {addr}\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    s.write_all(req.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut resp = Vec::new();
    s.read_to_end(&mut resp).expect("read response");
    let split = resp
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("HTTP header end");
    let head = String::from_utf8_lossy(&resp[..split]).to_string();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("HTTP status");
    Resp {
        status,
        head,
        body: resp[split + 4..].to_vec(),
    }
}

const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json";

/// `GET /v2/REPO/manifests/REF`: (Content-Type, raw bytes); panics unless 200.
pub fn get_manifest(addr: &str, repo: &str, reference: &str) -> (String, Vec<u8>) {
    let r = http(
        addr,
        "GET",
        &format!("/v2/{repo}/manifests/{reference}"),
        &[("Accept", MANIFEST_ACCEPT)],
        b"",
    );
    assert_eq!(
        r.status,
        200,
        "GET manifest {repo}:{reference}: {}",
        String::from_utf8_lossy(&r.body)
    );
    (r.header("Content-Type"), r.body)
}

/// Whether `REPO:REF` exists on the registry.
pub fn manifest_exists(addr: &str, repo: &str, reference: &str) -> bool {
    http(
        addr,
        "GET",
        &format!("/v2/{repo}/manifests/{reference}"),
        &[("Accept", MANIFEST_ACCEPT)],
        b"",
    )
    .status
        == 200
}

/// `GET /v2/REPO/blobs/DIGEST`; panics unless 200.
pub fn get_blob(addr: &str, repo: &str, digest: &str) -> Vec<u8> {
    let r = http(addr, "GET", &format!("/v2/{repo}/blobs/{digest}"), &[], b"");
    assert_eq!(r.status, 200, "GET blob {repo}@{digest}");
    r.body
}

/// `PUT /v2/REPO/manifests/REF` with `media_type`.
pub fn put_manifest(addr: &str, repo: &str, reference: &str, media_type: &str, data: &[u8]) {
    let r = http(
        addr,
        "PUT",
        &format!("/v2/{repo}/manifests/{reference}"),
        &[("Content-Type", media_type)],
        data,
    );
    assert_eq!(
        r.status,
        201,
        "PUT manifest {repo}:{reference}: {}",
        String::from_utf8_lossy(&r.body)
    );
}

/// Upload `bytes` as a blob of `repo` (POST, then one PUT with `?digest=`); returns its
/// digest.
pub fn put_blob(addr: &str, repo: &str, bytes: &[u8]) -> String {
    use sha2::{Digest as _, Sha256};
    let digest = format!("sha256:{}", hex::encode(Sha256::digest(bytes)));
    let r = http(
        addr,
        "POST",
        &format!("/v2/{repo}/blobs/uploads/"),
        &[],
        b"",
    );
    assert_eq!(r.status, 202, "POST upload {repo}");
    let location = r.header("Location");
    let path = location
        .split_once(addr)
        .map(|(_, p)| p.to_string())
        .unwrap_or(location);
    let sep = if path.contains('?') { '&' } else { '?' };
    let r = http(
        addr,
        "PUT",
        &format!("{path}{sep}digest={digest}"),
        &[("Content-Type", "application/octet-stream")],
        bytes,
    );
    assert_eq!(r.status, 201, "PUT blob {repo}@{digest}");
    digest
}
