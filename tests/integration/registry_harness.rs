//! A real registry for tests: Debian's `docker-registry` on 127.0.0.1 with a free port, its
//! own storage and config in a temp dir, optionally with htpasswd auth; killed (by the PID
//! this harness started) on drop. Also the environment that keeps berth's registry commands
//! hermetic (their own registries.conf, auth file and HOME).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::util::{require_tool, TestEnv};

/// A running registry.
pub struct Registry {
    child: Child,
    /// `127.0.0.1:PORT`.
    pub addr: String,
    _dir: TempDir,
}

impl Registry {
    /// A plain-HTTP registry without auth.
    pub fn start() -> Registry {
        Registry::spawn(Auth::None, None, None)
    }

    /// A plain-HTTP registry with htpasswd (bcrypt) auth for `user`/`pass`.
    pub fn start_with_auth(user: &str, pass: &str) -> Registry {
        Registry::spawn(Auth::Htpasswd(user, pass), None, None)
    }

    /// An HTTPS registry with htpasswd auth, its certificate signed by a test CA whose
    /// `ca.crt` is written into `certs_dir` (a `certs.d/<host:port>`-style directory).
    pub fn start_tls_with_auth(user: &str, pass: &str, certs_dir: &Path) -> Registry {
        Registry::spawn(Auth::Htpasswd(user, pass), Some(certs_dir), None)
    }

    /// An HTTPS registry (test CA in `certs_dir`, as above) with token auth: its challenge
    /// names `realm` as the bearer realm (tokens are checked against the test CA, so none a
    /// test server makes is accepted).
    pub fn start_tls_with_token_realm(realm: &str, certs_dir: &Path) -> Registry {
        Registry::spawn(Auth::Token(realm), Some(certs_dir), None)
    }

    /// As [`Registry::start_tls_with_auth`], answering blob GETs with a 307 to `base_url`
    /// (distribution's `redirect` storage middleware, as a registry behind a CDN does).
    pub fn start_tls_with_auth_redirecting_blobs(
        user: &str,
        pass: &str,
        certs_dir: &Path,
        base_url: &str,
    ) -> Registry {
        Registry::spawn(Auth::Htpasswd(user, pass), Some(certs_dir), Some(base_url))
    }

    fn spawn(auth: Auth, tls: Option<&Path>, blob_redirect: Option<&str>) -> Registry {
        let bin = require_tool("docker-registry");
        let dir = tempfile::Builder::new()
            .prefix("berth-registry-")
            .tempdir()
            .expect("temp dir");
        let mut tls_yaml = String::new();
        if let Some(certs_dir) = tls {
            let (crt, key) = make_certs(dir.path(), certs_dir);
            tls_yaml = format!(
                "  tls:\n    certificate: {}\n    key: {}\n",
                crt.display(),
                key.display()
            );
        }
        let mut auth_yaml = String::new();
        if let Auth::Token(realm) = auth {
            let bundle = dir.path().join("ca.crt");
            assert!(bundle.exists(), "token auth needs the TLS test CA");
            auth_yaml = format!(
                "auth:\n  token:\n    realm: {realm}\n    service: berth-test\n    issuer: berth-test\n    rootcertbundle: {}\n",
                bundle.display()
            );
        }
        if let Auth::Htpasswd(user, pass) = auth {
            let out = Command::new(require_tool("htpasswd"))
                .args(["-Bbn", user, pass])
                .output()
                .expect("run htpasswd");
            assert!(out.status.success(), "htpasswd failed");
            let file = dir.path().join("htpasswd");
            std::fs::write(&file, &out.stdout).unwrap();
            auth_yaml = format!(
                "auth:\n  htpasswd:\n    realm: berth-test\n    path: {}\n",
                file.display()
            );
        }
        let middleware_yaml = blob_redirect
            .map(|base| {
                format!("middleware:\n  storage:\n    - name: redirect\n      options:\n        baseurl: {base}\n")
            })
            .unwrap_or_default();
        for _ in 0..5 {
            let port = free_port();
            let addr = format!("127.0.0.1:{port}");
            let config = dir.path().join("config.yml");
            std::fs::write(
                &config,
                format!(
                    "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {addr}\n{tls_yaml}{auth_yaml}{middleware_yaml}",
                    dir.path().join("data").display()
                ),
            )
            .unwrap();
            let log = std::fs::File::create(dir.path().join("registry.log")).unwrap();
            let child = Command::new(&bin)
                .arg("serve")
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .expect("start docker-registry");
            let mut child = child;
            if wait_ready(&mut child, &addr) {
                return Registry {
                    child,
                    addr,
                    _dir: dir,
                };
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("docker-registry did not start");
    }

    /// `127.0.0.1:PORT/NAME`.
    pub fn image(&self, name: &str) -> String {
        format!("{}/{name}", self.addr)
    }
}

/// How a harness registry authenticates.
#[derive(Clone, Copy)]
enum Auth<'a> {
    None,
    /// htpasswd (bcrypt) for user, password.
    Htpasswd(&'a str, &'a str),
    /// Bearer tokens from this realm.
    Token(&'a str),
}

fn wait_ready(child: &mut Child, addr: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return false;
        }
        if http_status(addr, "/v2/").is_some() {
            // Another test's registry could hold the port: ours must still be running.
            std::thread::sleep(Duration::from_millis(100));
            return matches!(child.try_wait(), Ok(None));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A test CA (its `ca.crt` copied into `certs_dir`) and a server certificate for 127.0.0.1
/// signed by it, made with openssl in `dir`. Returns the server certificate and key.
fn make_certs(dir: &Path, certs_dir: &Path) -> (PathBuf, PathBuf) {
    let openssl = require_tool("openssl");
    let run = |args: &[&str]| {
        let out = Command::new(&openssl)
            .current_dir(dir)
            .args(args)
            .output()
            .expect("run openssl");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-days",
        "2",
        "-subj",
        "/CN=berth test CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.crt",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
    ]);
    std::fs::create_dir_all(certs_dir).unwrap();
    std::fs::copy(dir.join("ca.crt"), certs_dir.join("ca.crt")).unwrap();
    (dir.join("server.crt"), dir.join("server.key"))
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().unwrap().port()
}

/// The HTTP status of `GET path` on `addr`, if anything answers.
pub fn http_status(addr: &str, path: &str) -> Option<u16> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").ok()?;
    let mut buf = [0u8; 64];
    let n = s.read(&mut buf).ok()?;
    let line = String::from_utf8_lossy(&buf[..n]).to_string();
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Environment that isolates berth, skopeo and podman from the host's registry config and
/// credentials: an empty registries.conf, an auth file and HOME inside the test dir.
pub fn isolate(env: &TestEnv, cmd: &mut Command) {
    let conf = env.path("registries.conf");
    if !conf.exists() {
        std::fs::write(&conf, "").unwrap();
    }
    let home = env.path("home");
    std::fs::create_dir_all(&home).unwrap();
    cmd.env("CONTAINERS_REGISTRIES_CONF", &conf)
        .env("REGISTRY_AUTH_FILE", env.path("auth.json"))
        .env("HOME", &home)
        .env_remove("XDG_RUNTIME_DIR")
        .env_remove("XDG_CONFIG_HOME");
}

/// A berth command on `env`'s store, isolated.
pub fn berth(env: &TestEnv, args: &[&str]) -> Command {
    let mut cmd = env.cmd(args);
    isolate(env, &mut cmd);
    cmd
}

/// A berth command on `env`'s store and the run root `runroot`, isolated.
pub fn berth_in(env: &TestEnv, runroot: &Path, args: &[&str]) -> Command {
    let mut full = vec!["--runroot", runroot.to_str().unwrap()];
    full.extend_from_slice(args);
    berth(env, &full)
}

/// Run berth isolated and require success; returns stdout.
pub fn ok(env: &TestEnv, args: &[&str]) -> String {
    crate::util::success_stdout(args, berth(env, args).output().expect("spawn berth"))
}

/// Run berth isolated and require exit 125 with one `Error:` line (after any progress
/// lines); returns that line.
pub fn fails(env: &TestEnv, args: &[&str]) -> String {
    let out: Output = berth(env, args).output().expect("spawn berth");
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(
        out.status.code(),
        Some(125),
        "berth {args:?}: expected exit 125\nstdout: {}\nstderr: {stderr}",
        String::from_utf8_lossy(&out.stdout)
    );
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("Error:")).collect();
    assert_eq!(errors.len(), 1, "one error line expected: {stderr}");
    let last = stderr.trim_end().lines().last().unwrap_or_default();
    assert!(last.starts_with("Error:"), "error last: {stderr}");
    last.to_string()
}

/// Files under the store's `blobs/sha256`.
pub fn blob_count(env: &TestEnv) -> usize {
    let dir = env.root.join("blobs/sha256");
    if !Path::new(&dir).exists() {
        return 0;
    }
    std::fs::read_dir(dir).unwrap().count()
}
