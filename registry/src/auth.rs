//! Credentials: containers' `auth.json` and Docker's `config.json`.
//!
//! Read order: `--authfile` (alone when given), else `$REGISTRY_AUTH_FILE`, else
//! `${XDG_RUNTIME_DIR}/containers/auth.json` (root without it: `/run/containers/0/auth.json`),
//! then `~/.config/containers/auth.json`, then `~/.docker/config.json`. Writes go to the first
//! of those (never to Docker's file), mode 0600, atomically.
//!
//! Keys are matched most specific first: `host/ns/repo`, `host/ns`, `host`, and Docker's
//! `https://host/v1/` style URLs. `credHelpers` (per host) and `credsStore` run
//! `docker-credential-<name> get`.

use std::io::Write;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use berth_trust::config_dir;
use serde_json::{Map, Value};

use berth_layers::reference::{DOCKER_IO, DOCKER_IO_API_HOST};

use crate::error::{RegistryError, Result};

/// A user name and password (or identity token with user `<token>`).
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// User name.
    pub username: String,
    /// Password or token.
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials({}, ***)", self.username)
    }
}

impl Credentials {
    /// Parse `user:pass` (`--creds`).
    pub fn parse(s: &str) -> Result<Credentials> {
        match s.split_once(':') {
            Some((u, p)) if !u.is_empty() => Ok(Credentials {
                username: u.to_string(),
                password: p.to_string(),
            }),
            _ => Err(RegistryError::Invalid {
                what: "--creds".into(),
                message: "expected USERNAME:PASSWORD".into(),
            }),
        }
    }
}

/// The auth files in use.
#[derive(Debug, Clone)]
pub struct AuthFiles {
    /// Where `login` writes (and the first file read).
    pub primary: PathBuf,
    /// Files read after the primary, in order.
    pub fallbacks: Vec<PathBuf>,
}

impl AuthFiles {
    /// The files for `explicit` (`--authfile`) or the standard locations.
    pub fn discover(explicit: Option<&Path>) -> AuthFiles {
        if let Some(p) = explicit {
            return AuthFiles {
                primary: p.to_path_buf(),
                fallbacks: Vec::new(),
            };
        }
        let primary = if let Some(p) = std::env::var_os("REGISTRY_AUTH_FILE") {
            PathBuf::from(p)
        } else if let Some(x) = std::env::var_os("XDG_RUNTIME_DIR") {
            PathBuf::from(x).join("containers/auth.json")
        } else {
            // SAFETY: getuid has no preconditions.
            let uid = unsafe { libc::getuid() };
            PathBuf::from(format!("/run/containers/{uid}/auth.json"))
        };
        let mut fallbacks: Vec<PathBuf> = config_dir::user_path("auth.json").into_iter().collect();
        if let Some(home) = std::env::var_os("HOME") {
            fallbacks.push(PathBuf::from(home).join(".docker/config.json"));
        }
        AuthFiles { primary, fallbacks }
    }

    /// Credentials for `name` (`host[/repo]`), from the first file that has them: its
    /// `credHelpers` entry for the host, else its `auths`, else its `credsStore`.
    pub fn lookup(&self, name: &str) -> Result<Option<Credentials>> {
        let host = name.split('/').next().unwrap_or(name);
        for path in std::iter::once(&self.primary).chain(&self.fallbacks) {
            let Some(mut top) = read_top(path)? else {
                continue;
            };
            if let Some(Value::String(helper)) =
                top.get("credHelpers").and_then(|h| h.get(host)).cloned()
            {
                if let Some(c) = run_helper(&helper, host, path)? {
                    return Ok(Some(c));
                }
            }
            if let Some(Value::Object(auths)) = top.remove("auths") {
                for key in candidate_keys(name) {
                    for (k, v) in &auths {
                        if auth_key(k) == key {
                            return decode_entry(v, path, k).map(Some);
                        }
                    }
                }
            }
            if let Some(Value::String(store)) = top.get("credsStore") {
                if let Some(c) = run_helper(store, host, path)? {
                    return Ok(Some(c));
                }
            }
        }
        Ok(None)
    }

    /// Store credentials for `key` (`host` or `host/repo`) in the primary file.
    pub fn store(&self, key: &str, creds: &Credentials) -> Result<()> {
        let mut top = read_top(&self.primary)?.unwrap_or_default();
        let auths = top
            .entry("auths")
            .or_insert_with(|| Value::Object(Map::new()));
        let Value::Object(auths) = auths else {
            return Err(config(&self.primary, "\"auths\" must be an object"));
        };
        let encoded = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", creds.username, creds.password));
        auths.insert(key.to_string(), serde_json::json!({ "auth": encoded }));
        write_top(&self.primary, &top)
    }

    /// Remove credentials for `key`; false when there were none.
    pub fn remove(&self, key: &str) -> Result<bool> {
        let Some(mut top) = read_top(&self.primary)? else {
            return Ok(false);
        };
        let removed = match top.get_mut("auths") {
            Some(Value::Object(auths)) => {
                let keys: Vec<String> = auths
                    .keys()
                    .filter(|k| auth_key(k) == key)
                    .cloned()
                    .collect();
                for k in &keys {
                    auths.remove(k);
                }
                !keys.is_empty()
            }
            _ => false,
        };
        if removed {
            write_top(&self.primary, &top)?;
        }
        Ok(removed)
    }

    /// Remove every credential from the primary file.
    pub fn remove_all(&self) -> Result<()> {
        let Some(mut top) = read_top(&self.primary)? else {
            return Ok(());
        };
        top.insert("auths".into(), Value::Object(Map::new()));
        write_top(&self.primary, &top)
    }
}

fn config(path: &Path, message: &str) -> RegistryError {
    RegistryError::Config {
        path: path.to_path_buf(),
        message: message.to_string(),
    }
}

fn read_top(path: &Path) -> Result<Option<Map<String, Value>>> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(RegistryError::io(path, e)),
    };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Some(Map::new()));
    }
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(m)) => Ok(Some(m)),
        Ok(_) => Err(config(path, "not a JSON object")),
        Err(e) => Err(config(path, &format!("not valid JSON: {e}"))),
    }
}

/// Ask `docker-credential-<helper> get` for `host`'s credentials (None when it has none).
fn run_helper(helper: &str, host: &str, config: &Path) -> Result<Option<Credentials>> {
    let program = format!("docker-credential-{helper}");
    let fail = |m: String| RegistryError::Config {
        path: config.to_path_buf(),
        message: format!("credential helper {program} for {host}: {m}"),
    };
    let mut child = std::process::Command::new(&program)
        .arg("get")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| fail(e.to_string()))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(host.as_bytes())
            .map_err(|e| fail(e.to_string()))?;
    }
    let out = child.wait_with_output().map_err(|e| fail(e.to_string()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        // The helper protocol's only way to say "none stored" is this text on stdout
        // (docker-credential-helpers' ErrCredentialsNotFound; containers/image reads it the
        // same way): an external program's words, turned into `None` here.
        if stdout.contains("credentials not found") {
            return Ok(None);
        }
        return Err(fail(format!(
            "exited with {}: {}",
            out.status,
            stdout.trim()
        )));
    }
    let v: Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| fail(format!("output is not JSON: {e}")))?;
    match (v["Username"].as_str(), v["Secret"].as_str()) {
        (Some(u), Some(p)) if !p.is_empty() => Ok(Some(Credentials {
            username: u.to_string(),
            password: p.to_string(),
        })),
        _ => Ok(None),
    }
}

/// Write the whole file through [`berth_layers::atomic_file`]: mode 0600 from creation, a
/// temporary name another user cannot plant a symlink at, renamed over `path`.
fn write_top(path: &Path, top: &Map<String, Value>) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    if !dir.as_os_str().is_empty() && !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| RegistryError::io(dir, e))?;
    }
    let mut text = serde_json::to_vec_pretty(top).map_err(|e| config(path, &e.to_string()))?;
    text.push(b'\n');
    berth_layers::atomic_file::write_atomically(path, &text, 0o600)
        .map_err(|e| RegistryError::io(path, e))
}

/// The key credentials are stored and looked up under, from an auth file's key or what a
/// user types to `login`/`logout`: `host[:port][/repo]`. A URL (`https://host/v1/`,
/// `http://host/…`) names its host only; a trailing `/` and a `/v2` suffix are dropped;
/// Docker Hub's other names (`index.docker.io`, `registry-1.docker.io`) are `docker.io`.
pub fn auth_key(input: &str) -> String {
    let s = input.strip_prefix("docker://").unwrap_or(input);
    let url = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"));
    let key = match url {
        Some(rest) => rest.split('/').next().unwrap_or(rest),
        None => {
            let s = s.trim_end_matches('/');
            s.strip_suffix("/v2").unwrap_or(s)
        }
    };
    match key {
        "index.docker.io" | DOCKER_IO_API_HOST => DOCKER_IO.to_string(),
        other => other.to_string(),
    }
}

fn candidate_keys(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = name;
    loop {
        out.push(cur.to_string());
        match cur.rfind('/') {
            Some(i) => cur = &cur[..i],
            None => break,
        }
    }
    out
}

fn decode_entry(v: &Value, path: &Path, key: &str) -> Result<Credentials> {
    let bad = |m: &str| config(path, &format!("auths.{key:?}: {m}"));
    let Some(Value::String(auth)) = v.get("auth") else {
        if let Some(Value::String(token)) = v.get("identitytoken") {
            return Ok(Credentials {
                username: "<token>".into(),
                password: token.clone(),
            });
        }
        return Err(bad("no \"auth\" field"));
    };
    let raw = base64::engine::general_purpose::STANDARD
        .decode(auth.trim())
        .map_err(|e| bad(&format!("\"auth\" is not base64: {e}")))?;
    let text = String::from_utf8(raw).map_err(|_| bad("\"auth\" is not UTF-8"))?;
    let (u, p) = text
        .split_once(':')
        .ok_or_else(|| bad("\"auth\" is not user:password"))?;
    Ok(Credentials {
        username: u.to_string(),
        password: p.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    #[test]
    fn store_lookup_remove() {
        let dir = tempfile::tempdir().unwrap();
        let files = AuthFiles::discover(Some(&dir.path().join("sub/auth.json")));
        let c = Credentials::parse("user:p:ss").unwrap();
        files.store("reg.io:5000", &c).unwrap();
        let mode = std::fs::metadata(&files.primary)
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(files.lookup("reg.io:5000/ns/app").unwrap(), Some(c.clone()));
        assert_eq!(files.lookup("other.io/app").unwrap(), None);
        files
            .store("reg.io:5000/ns", &Credentials::parse("u2:x").unwrap())
            .unwrap();
        assert_eq!(
            files
                .lookup("reg.io:5000/ns/app")
                .unwrap()
                .unwrap()
                .username,
            "u2"
        );
        assert!(files.remove("reg.io:5000").unwrap());
        assert!(!files.remove("reg.io:5000").unwrap());
        files.remove_all().unwrap();
        assert_eq!(files.lookup("reg.io:5000/ns/app").unwrap(), None);
    }

    #[test]
    fn one_key_for_files_and_login() {
        for (input, key) in [
            ("https://index.docker.io/v1/", "docker.io"),
            ("https://registry-1.docker.io/v2/", "docker.io"),
            ("http://host:5000/some/path", "host:5000"),
            ("https://host/v2/", "host"),
            ("docker://quay.io/ns", "quay.io/ns"),
            ("index.docker.io", "docker.io"),
            ("registry-1.docker.io/", "docker.io"),
            ("host:5000/v2", "host:5000"),
            ("host:5000/ns/repo/", "host:5000/ns/repo"),
            ("docker.io", "docker.io"),
        ] {
            assert_eq!(auth_key(input), key, "{input}");
        }
    }

    #[test]
    fn docker_config_style_keys() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("config.json");
        std::fs::write(
            &p,
            r#"{"auths":{"https://index.docker.io/v1/":{"auth":"dTpw"}}}"#,
        )
        .unwrap();
        let files = AuthFiles::discover(Some(&p));
        let c = files.lookup("docker.io/library/busybox").unwrap().unwrap();
        assert_eq!((c.username.as_str(), c.password.as_str()), ("u", "p"));
        std::fs::write(
            &p,
            r#"{"auths":{"https://registry-1.docker.io/v2/":{"auth":"dTpw"}}}"#,
        )
        .unwrap();
        assert!(files.lookup("docker.io/library/busybox").unwrap().is_some());
        std::fs::write(&p, r#"{"auths":{"x.io":{"auth":"!!"}}}"#).unwrap();
        let e = files.lookup("x.io").unwrap_err().to_string();
        assert!(e.contains("config.json") && e.contains("x.io"), "{e}");
    }
}
