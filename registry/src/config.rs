//! registries.conf (v2): `[[registry]]` entries (prefix, location, insecure, blocked, mirrors),
//! `unqualified-search-registries`, `short-name-mode`, `[aliases]`; drop-ins and the user
//! override; parsed strictly with `toml`.
//!
//! Files: `$CONTAINERS_REGISTRIES_CONF` alone when set; else `~/.config/containers/registries.conf`
//! when it exists, else `/etc/containers/registries.conf`, then `*.conf` drop-ins from
//! `/etc/containers/registries.conf.d/` and `~/.config/containers/registries.conf.d/` in name
//! order (later files override earlier ones, registries with the same prefix are replaced).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use berth_trust::config_dir;
use serde::Deserialize;

use crate::error::{RegistryError, Result};
use crate::reference::{Parsed, Reference};

/// How short names are resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ShortNameMode {
    /// Several candidates without a tty is an error.
    #[default]
    Enforcing,
    /// Try the candidates in order.
    Permissive,
    /// Same as permissive (no alias recording).
    Disabled,
}

/// A mirror of a registry entry.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Mirror {
    /// Where the mirror is (`host[:port][/path]`).
    pub location: String,
    /// Plain HTTP / no TLS verification.
    #[serde(default)]
    pub insecure: bool,
    /// `all`, `digest-only` or `tag-only`.
    #[serde(default)]
    pub pull_from_mirror: Option<String>,
}

/// One `[[registry]]` entry.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RegistryEntry {
    /// The namespace this entry applies to (defaults to `location`).
    #[serde(default)]
    pub prefix: Option<String>,
    /// Where to go instead.
    #[serde(default)]
    pub location: Option<String>,
    /// Plain HTTP / no TLS verification.
    #[serde(default)]
    pub insecure: bool,
    /// Refuse to use.
    #[serde(default)]
    pub blocked: bool,
    /// Mirrors, tried in order before the location.
    #[serde(default, rename = "mirror")]
    pub mirrors: Vec<Mirror>,
    /// Use mirrors only for pulls by digest.
    #[serde(default)]
    pub mirror_by_digest_only: bool,
}

impl RegistryEntry {
    fn effective_prefix(&self) -> String {
        self.prefix
            .clone()
            .or_else(|| self.location.clone())
            .unwrap_or_default()
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct File {
    unqualified_search_registries: Option<Vec<String>>,
    short_name_mode: Option<String>,
    /// Accepted; credential helpers are not run yet.
    #[serde(default)]
    #[allow(dead_code)]
    credential_helpers: Option<Vec<String>>,
    #[serde(default)]
    registry: Vec<RegistryEntry>,
    #[serde(default)]
    aliases: BTreeMap<String, String>,
    #[serde(default)]
    #[allow(dead_code)]
    additional_layer_store_auth_helper: Option<String>,
}

/// The merged configuration.
#[derive(Debug, Clone, Default)]
pub struct RegistriesConf {
    /// Registries tried for short names, in order.
    pub unqualified_search_registries: Vec<String>,
    /// Short-name mode.
    pub short_name_mode: ShortNameMode,
    /// `[[registry]]` entries.
    pub registries: Vec<RegistryEntry>,
    /// Short-name aliases.
    pub aliases: BTreeMap<String, String>,
    /// Files read, in order.
    pub files: Vec<PathBuf>,
    /// The main file (`$CONTAINERS_REGISTRIES_CONF`, the user's, else the system's), whether
    /// or not it exists: the one errors name, as containers/image's `ConfigPath`.
    pub main_file: PathBuf,
}

/// Where to fetch from: a rewritten reference and whether it is insecure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The reference at this endpoint.
    pub reference: Reference,
    /// Plain HTTP / no TLS verification allowed.
    pub insecure: bool,
}

impl RegistriesConf {
    /// Load from the standard paths (see the module doc).
    pub fn load() -> Result<RegistriesConf> {
        let mut conf = RegistriesConf::default();
        if let Some(path) = std::env::var_os("CONTAINERS_REGISTRIES_CONF") {
            conf.main_file = PathBuf::from(&path);
            conf.merge_file(Path::new(&path))?;
            return Ok(conf);
        }
        let user = config_dir::user_path("registries.conf");
        match user.filter(|p| p.exists()) {
            Some(p) => {
                conf.merge_file(&p)?;
                conf.main_file = p;
            }
            None => {
                let sys = config_dir::system_path("registries.conf");
                if sys.exists() {
                    conf.merge_file(&sys)?;
                }
                conf.main_file = sys;
            }
        }
        let mut dirs = vec![config_dir::system_path("registries.conf.d")];
        dirs.extend(config_dir::user_path("registries.conf.d"));
        for dir in dirs {
            let Ok(rd) = std::fs::read_dir(&dir) else {
                continue;
            };
            let mut files: Vec<PathBuf> = rd
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "conf"))
                .collect();
            files.sort();
            for f in files {
                conf.merge_file(&f)?;
            }
        }
        Ok(conf)
    }

    /// Parse `text` (from `path`) and merge it over what is loaded.
    pub fn merge_str(&mut self, text: &str, path: &Path) -> Result<()> {
        let cfg = |message: String| RegistryError::Config {
            path: path.to_path_buf(),
            message,
        };
        if text.contains("[registries.") {
            return Err(cfg(
                "registries.conf v1 format ([registries.search] …) is not supported: use v2".into(),
            ));
        }
        let file: File = toml::from_str(text).map_err(|e| cfg(e.to_string().replace('\n', " ")))?;
        if let Some(list) = file.unqualified_search_registries {
            self.unqualified_search_registries = list;
        }
        if let Some(mode) = file.short_name_mode {
            self.short_name_mode = match mode.as_str() {
                "enforcing" => ShortNameMode::Enforcing,
                "permissive" => ShortNameMode::Permissive,
                "disabled" => ShortNameMode::Disabled,
                other => {
                    return Err(cfg(format!(
                        "short-name-mode {other:?}: use enforcing, permissive or disabled"
                    )))
                }
            };
        }
        for entry in file.registry {
            if entry.prefix.is_none() && entry.location.is_none() {
                return Err(cfg("a [[registry]] needs a prefix or a location".into()));
            }
            let prefix = entry.effective_prefix();
            self.registries.retain(|e| e.effective_prefix() != prefix);
            self.registries.push(entry);
        }
        self.aliases.extend(file.aliases);
        self.files.push(path.to_path_buf());
        Ok(())
    }

    fn merge_file(&mut self, path: &Path) -> Result<()> {
        let text = std::fs::read_to_string(path).map_err(|e| RegistryError::io(path, e))?;
        self.merge_str(&text, path)
    }

    /// The entry whose prefix matches `reference` best (longest; `*.domain` wildcards too).
    pub fn find(&self, reference: &Reference) -> Option<&RegistryEntry> {
        let name = reference.name();
        self.registries
            .iter()
            .filter(|e| prefix_matches(&e.effective_prefix(), &name))
            .max_by_key(|e| e.effective_prefix().len())
    }

    /// Candidates for a parsed input: qualified → itself; an alias → its target; else one per
    /// search registry. With none configured a short name is an error, as Podman's (never a
    /// silent guess at docker.io). Enforcing mode with several candidates is an error listing
    /// them (berth never prompts).
    pub fn resolve(&self, input: &str, parsed: &Parsed) -> Result<Vec<Reference>> {
        if let Some(r) = parsed.registry() {
            return Ok(vec![parsed.qualify(r)?.with_default_tag()]);
        }
        if let Some(target) = self.aliases.get(parsed.path()) {
            let aliased = crate::reference::parse(target)?.with_tag_and_digest_of(parsed);
            if let Some(r) = aliased.registry() {
                return Ok(vec![aliased.qualify(r)?.with_default_tag()]);
            }
        }
        if self.unqualified_search_registries.is_empty() {
            return Err(RegistryError::ShortName {
                input: input.to_string(),
                config: self.main_file.clone(),
            });
        }
        let candidates: Vec<Reference> = self
            .unqualified_search_registries
            .iter()
            .map(|r| Ok(parsed.qualify(r)?.with_default_tag()))
            .collect::<Result<_>>()?;
        if candidates.len() > 1 && self.short_name_mode == ShortNameMode::Enforcing {
            let list: Vec<String> = candidates.iter().map(|c| c.to_string()).collect();
            return Err(RegistryError::Reference {
                input: input.to_string(),
                why: format!(
                    "short name is ambiguous in enforcing short-name-mode: use one of {}",
                    list.join(", ")
                ),
            });
        }
        Ok(candidates)
    }

    /// Where to pull `reference` from: mirrors in order (as allowed), then the location.
    /// A blocked registry is an error.
    pub fn pull_endpoints(&self, reference: &Reference) -> Result<Vec<Endpoint>> {
        let Some(entry) = self.find(reference) else {
            return Ok(vec![Endpoint {
                reference: reference.clone(),
                insecure: false,
            }]);
        };
        if entry.blocked {
            return Err(RegistryError::Blocked(reference.to_string()));
        }
        let prefix = entry.effective_prefix();
        let mut out = Vec::new();
        let by_digest = reference.digest().is_some();
        for m in &entry.mirrors {
            let allowed = match m.pull_from_mirror.as_deref() {
                Some("digest-only") => by_digest,
                Some("tag-only") => !by_digest,
                _ => !entry.mirror_by_digest_only || by_digest,
            };
            if allowed {
                out.push(Endpoint {
                    reference: rewrite(reference, &prefix, &m.location)?,
                    insecure: m.insecure,
                });
            }
        }
        let location = entry.location.clone().unwrap_or_else(|| prefix.clone());
        out.push(Endpoint {
            reference: rewrite(reference, &prefix, &location)?,
            insecure: entry.insecure,
        });
        Ok(out)
    }

    /// Where to push: the location only (never a mirror).
    pub fn push_endpoint(&self, reference: &Reference) -> Result<Endpoint> {
        let Some(entry) = self.find(reference) else {
            return Ok(Endpoint {
                reference: reference.clone(),
                insecure: false,
            });
        };
        if entry.blocked {
            return Err(RegistryError::Blocked(reference.to_string()));
        }
        let prefix = entry.effective_prefix();
        let location = entry.location.clone().unwrap_or_else(|| prefix.clone());
        Ok(Endpoint {
            reference: rewrite(reference, &prefix, &location)?,
            insecure: entry.insecure,
        })
    }

    /// Whether `host` is marked insecure.
    pub fn host_insecure(&self, host: &str) -> bool {
        self.registries.iter().any(|e| {
            e.insecure
                && (e.effective_prefix() == host
                    || e.location.as_deref() == Some(host)
                    || prefix_matches(&e.effective_prefix(), host))
        })
    }
}

fn prefix_matches(prefix: &str, name: &str) -> bool {
    if let Some(domain) = prefix.strip_prefix("*.") {
        let host = name.split('/').next().unwrap_or(name);
        return host.ends_with(&format!(".{domain}"));
    }
    name == prefix
        || (name.starts_with(prefix)
            && matches!(name.as_bytes().get(prefix.len()), Some(b'/') | Some(b':')))
}

fn rewrite(reference: &Reference, prefix: &str, location: &str) -> Result<Reference> {
    let name = reference.name();
    let rest = if prefix.starts_with("*.") {
        name.split_once('/')
            .map(|(_, r)| format!("/{r}"))
            .unwrap_or_default()
    } else {
        name[prefix.len().min(name.len())..].to_string()
    };
    let new = format!("{location}{rest}");
    let (registry, repository) = new
        .split_once('/')
        .ok_or_else(|| RegistryError::Reference {
            input: new.clone(),
            why: "registries.conf location rewrite left no repository".into(),
        })?;
    Ok(reference.with_name(registry, repository)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::parse;

    fn conf(text: &str) -> RegistriesConf {
        let mut c = RegistriesConf::default();
        c.merge_str(text, Path::new("test.conf")).unwrap();
        c
    }

    #[test]
    fn mirrors_then_location_and_rewrite() {
        let c = conf(
            r#"
unqualified-search-registries = ["example.com"]
[[registry]]
prefix = "example.com/foo"
location = "internal:5000/bar"
insecure = true
[[registry.mirror]]
location = "mirror.local/m"
"#,
        );
        let r = crate::reference::parse_docker("example.com/foo/app:1").unwrap();
        let eps = c.pull_endpoints(&r).unwrap();
        assert_eq!(eps[0].reference.to_string(), "mirror.local/m/app:1");
        assert_eq!(eps[1].reference.to_string(), "internal:5000/bar/app:1");
        assert!(eps[1].insecure && !eps[0].insecure);
        assert_eq!(
            c.push_endpoint(&r).unwrap().reference.registry(),
            "internal:5000"
        );
        let other = crate::reference::parse_docker("example.com/foobar/app").unwrap();
        assert_eq!(c.pull_endpoints(&other).unwrap().len(), 1);
        let p = parse("app").unwrap();
        assert_eq!(
            c.resolve("app", &p).unwrap()[0].to_string(),
            "example.com/app:latest"
        );
    }

    #[test]
    fn a_short_name_without_search_registries_is_an_error_naming_the_file() {
        let mut c = conf("");
        c.main_file = PathBuf::from("/etc/containers/registries.conf");
        let e = c.resolve("img:1", &parse("img:1").unwrap()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "short-name \"img:1\" did not resolve to an alias and no unqualified-search \
             registries are defined in \"/etc/containers/registries.conf\""
        );
        // A qualified name needs no search registry.
        let q = c.resolve("h.io/img", &parse("h.io/img").unwrap()).unwrap();
        assert_eq!(q[0].to_string(), "h.io/img:latest");
    }

    #[test]
    fn blocked_and_enforcing() {
        let c = conf(
            r#"
unqualified-search-registries = ["a.io", "b.io"]
[[registry]]
location = "bad.io"
blocked = true
"#,
        );
        let r = crate::reference::parse_docker("bad.io/x").unwrap();
        assert!(c.pull_endpoints(&r).is_err());
        let e = c
            .resolve("x", &parse("x").unwrap())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("a.io/x:latest") && e.contains("b.io/x:latest"),
            "{e}"
        );
    }

    #[test]
    fn strict_parse_names_the_file() {
        let mut c = RegistriesConf::default();
        let e = c
            .merge_str("bogus-key = 1", Path::new("/x/registries.conf"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("/x/registries.conf") && e.contains("bogus-key"),
            "{e}"
        );
        assert!(c
            .merge_str("[registries.search]\nregistries=[]", Path::new("v1"))
            .is_err());
    }

    #[test]
    fn aliases_resolve() {
        let c = conf("[aliases]\n\"fedora\" = \"registry.fedoraproject.org/fedora\"\n");
        let r = c
            .resolve("fedora:39", &parse("fedora:39").unwrap())
            .unwrap();
        assert_eq!(r[0].to_string(), "registry.fedoraproject.org/fedora:39");
    }
}
