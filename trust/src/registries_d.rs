//! `registries.d/*.yaml` (containers-registries.d(5)): where signatures live for a docker
//! scope: a lookaside URL for GPG simple signing, and whether to use sigstore attachments.
//!
//! Semantics follow containers/image: every `*.yaml` file of the directory is merged, a scope
//! (or `default-docker`) defined in two files is an error naming both, and lookup tries the
//! image's scopes most specific first (`host/repo:tag`, `host/repo`, `host/ns`, `host`,
//! `*.domain`), then `default-docker`, field by field: a scope that sets only
//! `use-sigstore-attachments` does not hide a less specific scope's `lookaside`. Unlike
//! containers/image, unknown keys are errors here.

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};

use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};

use crate::config_dir;
use crate::identity::parse_normalized;
use crate::policy::{docker_scopes, TrustError};

/// Where a given image's signatures are read from and written to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignatureStorage {
    /// Lookaside base URL for reading simple signatures (`lookaside`, or the older
    /// `sigstore`). When nothing is configured this is containers/image's built-in default,
    /// `file:///var/lib/containers/sigstore` for root, else
    /// `file://$HOME/.local/share/containers/sigstore`.
    pub lookaside: Option<String>,
    /// Lookaside base URL for writing: the most specific scope's `lookaside-staging` (or
    /// `sigstore-staging`), else its `lookaside`; the built-in default when nothing is set.
    pub lookaside_staging: Option<String>,
    /// `use-sigstore-attachments` (default false).
    pub use_sigstore_attachments: bool,
}

/// One `default-docker` or `docker.<scope>` entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Namespace {
    lookaside: Option<String>,
    #[serde(rename = "lookaside-staging")]
    lookaside_staging: Option<String>,
    /// Older name of `lookaside`.
    sigstore: Option<String>,
    /// Older name of `lookaside-staging`.
    #[serde(rename = "sigstore-staging")]
    sigstore_staging: Option<String>,
    #[serde(rename = "use-sigstore-attachments")]
    use_sigstore_attachments: Option<bool>,
}

fn non_empty(s: &Option<String>) -> Option<&String> {
    s.as_ref().filter(|s| !s.is_empty())
}

impl Namespace {
    fn read_url(&self) -> Option<&String> {
        non_empty(&self.lookaside).or(non_empty(&self.sigstore))
    }

    fn write_url(&self) -> Option<&String> {
        non_empty(&self.lookaside_staging)
            .or(non_empty(&self.sigstore_staging))
            .or(self.read_url())
    }
}

/// One file's contents.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    #[serde(rename = "default-docker")]
    default_docker: Option<Namespace>,
    docker: Option<UniqueMap<Namespace>>,
}

/// A YAML mapping whose duplicate keys are an error (a plain map keeps the last one).
#[derive(Debug)]
struct UniqueMap<V>(BTreeMap<String, V>);

impl<'de, V: Deserialize<'de>> Deserialize<'de> for UniqueMap<V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V2<V>(PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for V2<V> {
            type Value = UniqueMap<V>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mapping of scopes")
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(UniqueMap(BTreeMap::new()))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = BTreeMap::new();
                while let Some(key) = map.next_key::<String>()? {
                    if out.contains_key(&key) {
                        return Err(de::Error::custom(format!("duplicate scope {key:?}")));
                    }
                    let v = map.next_value()?;
                    out.insert(key, v);
                }
                Ok(UniqueMap(out))
            }
        }
        d.deserialize_any(V2(PhantomData))
    }
}

/// The merged configuration of one registries.d directory.
#[derive(Debug, Clone, Default)]
pub struct RegistriesD {
    /// The directory read (`None` for an empty configuration).
    pub dir: Option<PathBuf>,
    default_docker: Option<Namespace>,
    docker: BTreeMap<String, Namespace>,
}

impl RegistriesD {
    /// Load `dir` when given, else `$HOME/.config/containers/registries.d` if it exists,
    /// else `/etc/containers/registries.d`. A missing directory is an empty configuration.
    pub fn load(dir: Option<&Path>) -> Result<RegistriesD, TrustError> {
        if let Some(dir) = dir {
            return RegistriesD::parse_dir(dir);
        }
        if let Some(user) = config_dir::user_path("registries.d").filter(|p| p.exists()) {
            return RegistriesD::parse_dir(&user);
        }
        RegistriesD::parse_dir(&config_dir::system_path("registries.d"))
    }

    /// Read and merge every `*.yaml` file in `dir` (in name order).
    pub fn parse_dir(dir: &Path) -> Result<RegistriesD, TrustError> {
        let err = |path: &Path, message: String| TrustError::RegistriesD {
            path: path.display().to_string(),
            message,
        };
        let mut merged = RegistriesD {
            dir: Some(dir.to_path_buf()),
            ..RegistriesD::default()
        };
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(merged),
            Err(e) => return Err(err(dir, e.to_string())),
        };
        let mut files = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| err(dir, e.to_string()))?;
            if entry.file_name().to_string_lossy().ends_with(".yaml") {
                files.push(entry.path());
            }
        }
        files.sort();
        let mut default_from: Option<PathBuf> = None;
        let mut scope_from: BTreeMap<String, PathBuf> = BTreeMap::new();
        for path in files {
            let text = match std::fs::read_to_string(&path) {
                Ok(t) => t,
                // Removed between listing and reading.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(err(&path, e.to_string())),
            };
            let config: ConfigFile = if text.trim().is_empty() {
                ConfigFile::default()
            } else {
                serde_norway::from_str(&text).map_err(|e| err(&path, e.to_string()))?
            };
            if let Some(ns) = config.default_docker {
                if let Some(first) = &default_from {
                    return Err(err(
                        &path,
                        format!(
                            "\"default-docker\" defined both in {} and {}",
                            first.display(),
                            path.display()
                        ),
                    ));
                }
                merged.default_docker = Some(ns);
                default_from = Some(path.clone());
            }
            for (scope, ns) in config.docker.map(|m| m.0).unwrap_or_default() {
                if let Some(first) = scope_from.get(&scope) {
                    return Err(err(
                        &path,
                        format!(
                            "\"docker\" scope {scope:?} defined both in {} and {}",
                            first.display(),
                            path.display()
                        ),
                    ));
                }
                scope_from.insert(scope.clone(), path.clone());
                merged.docker.insert(scope, ns);
            }
        }
        Ok(merged)
    }

    /// Signature storage for a fully qualified docker reference
    /// (`host[:port]/repo[:tag][@digest]`).
    pub fn for_reference(&self, reference: &str) -> SignatureStorage {
        let scopes = docker_scopes(reference);
        let chain: Vec<&Namespace> = scopes
            .iter()
            .filter_map(|s| self.docker.get(s))
            .chain(self.default_docker.as_ref())
            .collect();
        let builtin = builtin_default_lookaside();
        SignatureStorage {
            lookaside: Some(
                chain
                    .iter()
                    .find_map(|ns| ns.read_url())
                    .cloned()
                    .unwrap_or_else(|| builtin.clone()),
            ),
            lookaside_staging: Some(
                chain
                    .iter()
                    .find_map(|ns| ns.write_url())
                    .cloned()
                    .unwrap_or(builtin),
            ),
            use_sigstore_attachments: chain
                .iter()
                .find_map(|ns| ns.use_sigstore_attachments)
                .unwrap_or(false),
        }
    }

    /// The lookaside base URL configured for `reference` (read side) without the built-in
    /// default: `None` when no file sets one. For `image trust show`.
    pub fn configured_lookaside(&self, reference_or_scope: &str) -> Option<String> {
        docker_scopes(reference_or_scope)
            .iter()
            .filter_map(|s| self.docker.get(s))
            .chain(self.default_docker.as_ref())
            .find_map(|ns| ns.read_url())
            .cloned()
    }
}

impl RegistriesD {
    /// The `default-docker` lookaside (read side), if one is configured.
    pub fn default_lookaside(&self) -> Option<String> {
        self.default_docker
            .as_ref()
            .and_then(|ns| ns.read_url())
            .cloned()
    }
}

/// containers/image's lookaside used when nothing is configured.
pub fn builtin_default_lookaside() -> String {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let euid = unsafe { libc::geteuid() };
    match std::env::var_os("HOME") {
        Some(home) if euid != 0 => format!(
            "file://{}",
            PathBuf::from(home)
                .join(".local/share/containers/sigstore")
                .display()
        ),
        _ => "file:///var/lib/containers/sigstore".to_string(),
    }
}

/// The URL of the `index`-th (0-based) simple signature of a manifest in a lookaside store:
/// `BASE/REPO@ALG=HEX/signature-(index+1)`, as containers/image lays it out
/// (docs/signature-protocols.md). `repository_path` is the reference's path without host,
/// tag or digest (`library/busybox`); `manifest_digest` is `algorithm:hex`.
pub fn lookaside_url(
    base: &str,
    repository_path: &str,
    manifest_digest: &str,
    index: usize,
) -> String {
    let (algorithm, hex) = manifest_digest
        .split_once(':')
        .unwrap_or(("sha256", manifest_digest));
    format!(
        "{base}/{repository_path}@{algorithm}={hex}/signature-{}",
        index + 1
    )
}

/// The repository path (without host, tag or digest) of a docker reference, for
/// [`lookaside_url`].
pub fn repository_path(reference: &str) -> Result<String, crate::error::TrustError> {
    parse_normalized(reference).map(|r| r.repository().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(files: &[(&str, &str)]) -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        for (name, text) in files {
            std::fs::write(d.path().join(name), text).unwrap();
        }
        d
    }

    #[test]
    fn merge_and_most_specific_first() {
        let d = dir(&[
            (
                "default.yaml",
                "default-docker:\n  lookaside: file:///var/lib/sigs\n  lookaside-staging: file:///srv/staging\n",
            ),
            (
                "reg.yaml",
                "docker:\n  reg.example.com:\n    lookaside: https://sigs.example.com/all\n    use-sigstore-attachments: true\n  reg.example.com/ns/app:\n    use-sigstore-attachments: false\n  reg.example.com/ns:\n    sigstore: https://old.example.com/ns\n    sigstore-staging: file:///old-staging\n  \"*.wild.org\":\n    lookaside: https://wild.org/s\n",
            ),
            ("ignored.yml", "this is: [not read"),
        ]);
        let r = RegistriesD::parse_dir(d.path()).unwrap();

        let s = r.for_reference("reg.example.com/ns/app:1");
        // app sets only use-sigstore-attachments; lookaside comes from the ns scope (old name).
        assert_eq!(s.lookaside.as_deref(), Some("https://old.example.com/ns"));
        assert_eq!(s.lookaside_staging.as_deref(), Some("file:///old-staging"));
        assert!(!s.use_sigstore_attachments);

        let s = r.for_reference("reg.example.com/other/app:1");
        assert_eq!(s.lookaside.as_deref(), Some("https://sigs.example.com/all"));
        assert_eq!(
            s.lookaside_staging.as_deref(),
            Some("https://sigs.example.com/all")
        );
        assert!(s.use_sigstore_attachments);

        let s = r.for_reference("x.io/a:1");
        assert_eq!(s.lookaside.as_deref(), Some("file:///var/lib/sigs"));
        assert_eq!(s.lookaside_staging.as_deref(), Some("file:///srv/staging"));
        assert!(!s.use_sigstore_attachments);

        let s = r.for_reference("a.b.wild.org:5000/x@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
        assert_eq!(s.lookaside.as_deref(), Some("https://wild.org/s"));
        assert_eq!(
            r.configured_lookaside("q.io/x:1").as_deref(),
            Some("file:///var/lib/sigs")
        );
    }

    #[test]
    fn nothing_configured_uses_builtin_default() {
        let r = RegistriesD::parse_dir(Path::new("/nonexistent/berth-registries.d")).unwrap();
        let s = r.for_reference("x.io/a:1");
        assert_eq!(s.lookaside, Some(builtin_default_lookaside()));
        assert_eq!(s.lookaside_staging, Some(builtin_default_lookaside()));
        assert!(!s.use_sigstore_attachments);
        assert!(builtin_default_lookaside().starts_with("file:///"));
        assert_eq!(r.configured_lookaside("x.io/a:1"), None);
        // An empty file is fine.
        let d = dir(&[("empty.yaml", "# nothing\n")]);
        assert!(RegistriesD::parse_dir(d.path()).is_ok());
    }

    #[test]
    fn duplicates_across_files_name_both() {
        let d = dir(&[
            ("a.yaml", "docker:\n  x.io:\n    lookaside: file:///a\n"),
            ("b.yaml", "docker:\n  x.io:\n    lookaside: file:///b\n"),
        ]);
        let err = RegistriesD::parse_dir(d.path()).unwrap_err().to_string();
        assert!(
            err.contains("\"x.io\" defined both in")
                && err.contains("a.yaml")
                && err.contains("b.yaml"),
            "{err}"
        );
        let d = dir(&[
            ("a.yaml", "default-docker:\n  lookaside: file:///a\n"),
            ("b.yaml", "default-docker:\n  lookaside: file:///b\n"),
        ]);
        let err = RegistriesD::parse_dir(d.path()).unwrap_err().to_string();
        assert!(err.contains("\"default-docker\" defined both in"), "{err}");
    }

    #[test]
    fn strict_keys_and_types() {
        for (text, want) in [
            (
                "docker:\n  x.io:\n    lookaside: a\n  x.io:\n    lookaside: b\n",
                "duplicate scope \"x.io\"",
            ),
            (
                "docker:\n  x.io:\n    lookasid: a\n",
                "unknown field `lookasid`",
            ),
            (
                "defaults-docker:\n  lookaside: a\n",
                "unknown field `defaults-docker`",
            ),
            (
                "docker:\n  x.io:\n    use-sigstore-attachments: maybe\n",
                "use-sigstore-attachments",
            ),
            ("docker: [1]\n", "docker"),
        ] {
            let d = dir(&[("bad.yaml", text)]);
            let err = RegistriesD::parse_dir(d.path()).unwrap_err().to_string();
            assert!(
                err.contains("bad.yaml") && err.contains(want),
                "{text}: {err}"
            );
        }
    }

    #[test]
    fn lookaside_layout() {
        let d = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        assert_eq!(
            lookaside_url("file:///var/lib/containers/sigstore", "library/busybox", d, 0),
            "file:///var/lib/containers/sigstore/library/busybox@sha256=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef/signature-1"
        );
        assert!(lookaside_url("https://s.io/sigs", "a/b", d, 2).ends_with("/signature-3"));
        assert_eq!(repository_path("busybox:1").unwrap(), "library/busybox");
        assert_eq!(repository_path("127.0.0.1:5000/a/b:1").unwrap(), "a/b");
    }
}
