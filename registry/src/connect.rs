//! Options shared by pull, push, login and copy, and opening a client for a reference.

use std::path::PathBuf;
use std::sync::Arc;

use crate::auth::{AuthFiles, Credentials};
use crate::client::{Client, ClientOptions};
use crate::error::Result;

/// Transport and credential options (`--tls-verify`, `--authfile`, `--creds`, `--cert-dir`).
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    /// `Some(false)`: allow plain HTTP and unverified TLS; `None`: as registries.conf says.
    pub tls_verify: Option<bool>,
    /// `--authfile`.
    pub authfile: Option<PathBuf>,
    /// `--creds user:pass` (wins over the auth files).
    pub creds: Option<Credentials>,
    /// `--cert-dir`.
    pub cert_dir: Option<PathBuf>,
}

impl ConnectOptions {
    /// A pinged client for `host`, with credentials for `name` (`host/repo`); `insecure` is
    /// what registries.conf says for this endpoint.
    pub fn connect(&self, host: &str, name: &str, insecure: bool) -> Result<Arc<Client>> {
        let credentials = match &self.creds {
            Some(c) => Some(c.clone()),
            None => AuthFiles::discover(self.authfile.as_deref()).lookup(name)?,
        };
        let insecure = match self.tls_verify {
            Some(v) => !v,
            None => insecure,
        };
        // Docker Hub's API lives on another host than its name, as containers/image knows.
        let host = crate::reference::api_host(host);
        let client = Client::new(
            host,
            ClientOptions {
                insecure,
                credentials,
                cert_dir: self.cert_dir.clone(),
            },
        )?;
        client.ping()?;
        Ok(Arc::new(client))
    }
}
