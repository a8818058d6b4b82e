//! `login` and `logout`: credentials checked against a registry's `/v2/` and kept in the auth
//! file ([`crate::auth`]). Front ends gather the request (the CLI reads the password from a
//! flag or stdin) and print the outcome; nothing here reads a terminal.

use std::path::PathBuf;

use crate::auth::{auth_key, AuthFiles, Credentials};
use crate::client::{Client, ClientOptions};
use crate::config::RegistriesConf;
use crate::error::RegistryError;

/// What `login` needs: the registry as a user names it, the credentials, and the connection
/// flags (`--tls-verify`, `--authfile`, `--cert-dir`).
#[derive(Debug, Clone)]
pub struct LoginRequest {
    /// `host[:port][/repo]`, a URL or a `docker://` name ([`auth_key`] normalises it).
    pub registry: String,
    /// The user name and password to check and store.
    pub credentials: Credentials,
    /// `Some(false)`: allow plain HTTP and unverified TLS; `None`: as registries.conf says.
    pub tls_verify: Option<bool>,
    /// `--authfile`.
    pub authfile: Option<PathBuf>,
    /// `--cert-dir`.
    pub cert_dir: Option<PathBuf>,
}

/// How `login` failed: reaching or convincing the registry, or writing the auth file; each
/// names the key the credentials are for.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// Config, client setup or the auth files before anything was sent.
    #[error(transparent)]
    Registry(Box<RegistryError>),
    /// The registry refused the credentials or could not be reached.
    #[error("logging in to {key}")]
    Check {
        key: String,
        #[source]
        source: Box<RegistryError>,
    },
    /// The credentials were good but could not be written.
    #[error("saving credentials for {key}")]
    Save {
        key: String,
        #[source]
        source: Box<RegistryError>,
    },
}

impl From<RegistryError> for LoginError {
    fn from(e: RegistryError) -> Self {
        LoginError::Registry(Box::new(e))
    }
}

/// Check `req.credentials` against the registry, then store them under the registry's key.
/// Returns that key (`docker.io`, `host:5000`, `host/repo`).
pub fn login(req: &LoginRequest) -> Result<String, LoginError> {
    let key = auth_key(&req.registry);
    let files = AuthFiles::discover(req.authfile.as_deref());
    let host = key.split('/').next().unwrap_or(&key).to_string();
    let conf = RegistriesConf::load()?;
    let insecure = match req.tls_verify {
        Some(v) => !v,
        None => conf.host_insecure(&host),
    };
    let client = Client::new(
        crate::reference::api_host(&host),
        ClientOptions {
            insecure,
            credentials: Some(req.credentials.clone()),
            cert_dir: req.cert_dir.clone(),
        },
    )?;
    client.check_login().map_err(|source| LoginError::Check {
        key: key.clone(),
        source: Box::new(source),
    })?;
    files
        .store(&key, &req.credentials)
        .map_err(|source| LoginError::Save {
            key: key.clone(),
            source: Box::new(source),
        })?;
    Ok(key)
}

/// The credentials stored for `registry` (`login --get-login`), with the key looked up.
pub fn stored_login(
    registry: &str,
    authfile: Option<&std::path::Path>,
) -> Result<(String, Option<Credentials>), RegistryError> {
    let key = auth_key(registry);
    let found = AuthFiles::discover(authfile).lookup(&key)?;
    Ok((key, found))
}

/// What `logout` removes.
#[derive(Debug, Clone)]
pub enum LogoutTarget {
    /// The credentials of one registry, as a user names it.
    Registry(String),
    /// Every registry's (`--all`).
    All,
}

/// What `logout` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogoutOutcome {
    /// Every registry's credentials were removed.
    RemovedAll,
    /// The credentials under this key were removed.
    Removed(String),
    /// Nothing was stored under this key.
    NotLoggedIn(String),
}

/// Remove stored credentials from the auth file in use.
pub fn logout(
    target: &LogoutTarget,
    authfile: Option<&std::path::Path>,
) -> Result<LogoutOutcome, RegistryError> {
    let files = AuthFiles::discover(authfile);
    match target {
        LogoutTarget::All => {
            files.remove_all()?;
            Ok(LogoutOutcome::RemovedAll)
        }
        LogoutTarget::Registry(registry) => {
            let key = auth_key(registry);
            Ok(if files.remove(&key)? {
                LogoutOutcome::Removed(key)
            } else {
                LogoutOutcome::NotLoggedIn(key)
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn authfile(dir: &tempfile::TempDir) -> PathBuf {
        dir.path().join("auth.json")
    }

    #[test]
    fn logout_says_which_key_and_whether_anything_was_there() {
        let dir = tempfile::tempdir().unwrap();
        let path = authfile(&dir);
        let creds = Credentials {
            username: "u".into(),
            password: "p".into(),
        };
        AuthFiles::discover(Some(&path))
            .store("host:5000", &creds)
            .unwrap();
        let (key, found) = stored_login("https://host:5000/v2/", Some(&path)).unwrap();
        assert_eq!(key, "host:5000");
        assert_eq!(found.map(|c| c.username), Some("u".to_string()));
        let target = LogoutTarget::Registry("docker://host:5000".into());
        assert_eq!(
            logout(&target, Some(&path)).unwrap(),
            LogoutOutcome::Removed("host:5000".into())
        );
        assert_eq!(
            logout(&target, Some(&path)).unwrap(),
            LogoutOutcome::NotLoggedIn("host:5000".into())
        );
        assert_eq!(
            logout(&LogoutTarget::All, Some(&path)).unwrap(),
            LogoutOutcome::RemovedAll
        );
    }

    #[test]
    fn a_refused_login_names_the_key_and_stores_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = authfile(&dir);
        // Nothing listens on port 1 of the loopback address: the check fails.
        let req = LoginRequest {
            registry: "127.0.0.1:1".into(),
            credentials: Credentials {
                username: "u".into(),
                password: "p".into(),
            },
            tls_verify: Some(false),
            authfile: Some(path.clone()),
            cert_dir: None,
        };
        let err = login(&req).unwrap_err();
        assert!(
            matches!(&err, LoginError::Check { key, .. } if key == "127.0.0.1:1"),
            "{err:?}"
        );
        assert_eq!(err.to_string(), "logging in to 127.0.0.1:1");
        assert!(!path.exists());
    }
}
