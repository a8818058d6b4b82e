//! `-v`/`--volume` in Podman's syntax, parsed once into a [`VolumeSpec`]: a host path, a named
//! volume or an anonymous one, the container path, and the options (`ro`/`rw`, propagation,
//! `[no]suid`, `[no]dev`, `[no]exec`, `z`/`Z`) as values.
//!
//! A container record keeps each `-v` in Podman's string syntax (`Display`/`FromStr` through
//! serde), so records written before this type existed load, and records written now read as
//! they always did. `Display` prints what was parsed: `-v /a:/b:ro` prints `/a:/b:ro`.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use crate::error::{Result, RunError};
use crate::names::check_name;

/// What a `-v` mounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VolumeSource {
    /// An absolute host path (`-v /srv:/data`); also what a named or anonymous volume becomes
    /// once the engine has resolved it to its directory.
    Host(PathBuf),
    /// A named volume, created on first use (`-v data:/data`).
    Named(String),
    /// A new anonymous volume (`-v /data`).
    Anonymous,
}

/// A mount's propagation (`[r]shared`, `[r]slave`, `[r]private`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Propagation {
    Shared,
    RShared,
    Slave,
    RSlave,
    Private,
    RPrivate,
}

impl Propagation {
    /// The mount option, as the runtime spec and Podman's inspect write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Propagation::Shared => "shared",
            Propagation::RShared => "rshared",
            Propagation::Slave => "slave",
            Propagation::RSlave => "rslave",
            Propagation::Private => "private",
            Propagation::RPrivate => "rprivate",
        }
    }
}

/// One option of a `-v`, in the order given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VolumeOption {
    ReadOnly,
    ReadWrite,
    NoSuid,
    NoDev,
    NoExec,
    Suid,
    Dev,
    Exec,
    /// `z` (shared) or `Z` (private) SELinux relabelling: nothing to relabel without SELinux,
    /// as Podman.
    Relabel {
        private: bool,
    },
    Propagation(Propagation),
}

impl VolumeOption {
    /// The option as written.
    pub fn as_str(self) -> &'static str {
        match self {
            VolumeOption::ReadOnly => "ro",
            VolumeOption::ReadWrite => "rw",
            VolumeOption::NoSuid => "nosuid",
            VolumeOption::NoDev => "nodev",
            VolumeOption::NoExec => "noexec",
            VolumeOption::Suid => "suid",
            VolumeOption::Dev => "dev",
            VolumeOption::Exec => "exec",
            VolumeOption::Relabel { private: false } => "z",
            VolumeOption::Relabel { private: true } => "Z",
            VolumeOption::Propagation(p) => p.as_str(),
        }
    }

    fn parse(o: &str) -> Option<VolumeOption> {
        Some(match o {
            "ro" => VolumeOption::ReadOnly,
            "rw" => VolumeOption::ReadWrite,
            "nosuid" => VolumeOption::NoSuid,
            "nodev" => VolumeOption::NoDev,
            "noexec" => VolumeOption::NoExec,
            "suid" => VolumeOption::Suid,
            "dev" => VolumeOption::Dev,
            "exec" => VolumeOption::Exec,
            "z" => VolumeOption::Relabel { private: false },
            "Z" => VolumeOption::Relabel { private: true },
            "shared" => VolumeOption::Propagation(Propagation::Shared),
            "rshared" => VolumeOption::Propagation(Propagation::RShared),
            "slave" => VolumeOption::Propagation(Propagation::Slave),
            "rslave" => VolumeOption::Propagation(Propagation::RSlave),
            "private" => VolumeOption::Propagation(Propagation::Private),
            "rprivate" => VolumeOption::Propagation(Propagation::RPrivate),
            _ => return None,
        })
    }
}

/// One `-v SOURCE:DEST[:OPTIONS]` (or `-v DEST[:OPTIONS]` for an anonymous volume).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeSpec {
    pub source: VolumeSource,
    /// The absolute path in the container, as given.
    pub destination: String,
    /// The options, in the order given.
    pub options: Vec<VolumeOption>,
    /// The value ended in an options part that was empty (`/a:/b:`), printed back as given.
    empty_options: bool,
}

impl VolumeSpec {
    /// A read-write bind of `host` at `destination`, no options (`HOST:DEST`).
    pub fn bind(host: PathBuf, destination: &str) -> Result<VolumeSpec> {
        check_container_path("volume destination", destination)?;
        Ok(VolumeSpec {
            source: VolumeSource::Host(host),
            destination: destination.to_string(),
            options: Vec::new(),
            empty_options: false,
        })
    }

    /// Read-only (`ro` anywhere among the options).
    pub fn read_only(&self) -> bool {
        self.options.contains(&VolumeOption::ReadOnly)
    }

    /// The propagation: the last one given, else `rprivate`.
    pub fn propagation(&self) -> Propagation {
        self.options
            .iter()
            .rev()
            .find_map(|o| match o {
                VolumeOption::Propagation(p) => Some(*p),
                _ => None,
            })
            .unwrap_or(Propagation::RPrivate)
    }

    /// The same mount with `host` as its source: a named or anonymous volume resolved to its
    /// directory.
    pub fn with_host_source(&self, host: PathBuf) -> VolumeSpec {
        VolumeSpec {
            source: VolumeSource::Host(host),
            ..self.clone()
        }
    }

    /// The options of the bind mount in the runtime spec: `rbind`, the flags in the order
    /// given (`rw` and `z`/`Z` add nothing), the propagation last.
    pub fn mount_options(&self) -> Vec<&'static str> {
        let mut out = vec!["rbind"];
        out.extend(
            self.options
                .iter()
                .filter(|o| {
                    !matches!(
                        o,
                        VolumeOption::ReadWrite
                            | VolumeOption::Relabel { .. }
                            | VolumeOption::Propagation(_)
                    )
                })
                .map(|o| o.as_str()),
        );
        out.push(self.propagation().as_str());
        out
    }
}

/// Whether a `-v` source names a volume (not a host path).
fn is_named(source: &str) -> bool {
    !source.starts_with('/') && !source.starts_with('.')
}

/// Whether a `-v` value is an anonymous volume: a container path alone, with options or not
/// (`/data`, `/data:ro`), as Podman's `-v /data`.
fn is_anonymous(v: &str) -> bool {
    match v.split_once(':') {
        None => true,
        Some((_, rest)) => !rest.starts_with('/') && !rest.contains(':'),
    }
}

/// Refuse a container path that is not absolute, naming `what` it is.
pub(crate) fn check_container_path(what: &str, p: &str) -> Result<()> {
    if !p.starts_with('/') {
        return Err(RunError::Invalid(format!(
            "{what} {p:?} must be an absolute path in the container"
        )));
    }
    Ok(())
}

fn parse_options(v: &str, opts: &str) -> Result<Vec<VolumeOption>> {
    opts.split(',')
        .filter(|o| !o.is_empty())
        .map(|o| {
            VolumeOption::parse(o).ok_or_else(|| {
                RunError::Invalid(format!(
                    "volume {v:?}: unknown option {o:?}: use ro, rw, [r]shared, [r]slave, [r]private, [no]suid, [no]dev or [no]exec"
                ))
            })
        })
        .collect()
}

impl FromStr for VolumeSpec {
    type Err = RunError;

    /// Podman's `-v`: `/path[:opts]` an anonymous volume, `NAME:/path[:opts]` a named one,
    /// `/host:/path[:opts]` a bind mount.
    fn from_str(v: &str) -> Result<VolumeSpec> {
        let (source, rest) = if v.starts_with('/') && is_anonymous(v) {
            (VolumeSource::Anonymous, v)
        } else {
            match v.split_once(':') {
                Some((name, rest)) if is_named(name) => {
                    check_name(name)?;
                    (VolumeSource::Named(name.to_string()), rest)
                }
                Some((host, rest)) => {
                    if rest.split(':').count() > 2 {
                        return Err(invalid(v));
                    }
                    if !host.starts_with('/') {
                        return Err(RunError::Invalid(format!(
                            "volume {v:?}: the source must be an absolute host path or a volume name"
                        )));
                    }
                    (VolumeSource::Host(PathBuf::from(host)), rest)
                }
                None => return Err(invalid(v)),
            }
        };
        let (destination, opts) = match rest.split_once(':') {
            Some((_, opts)) if opts.contains(':') => return Err(invalid(v)),
            Some((d, o)) => (d, Some(o)),
            None => (rest, None),
        };
        check_container_path("volume destination", destination)?;
        Ok(VolumeSpec {
            source,
            destination: destination.to_string(),
            options: parse_options(v, opts.unwrap_or(""))?,
            empty_options: opts.is_some_and(|o| o.split(',').all(str::is_empty)),
        })
    }
}

fn invalid(v: &str) -> RunError {
    RunError::Invalid(format!(
        "invalid volume {v:?}: use HOST-DIR:CONTAINER-DIR[:ro|rw]"
    ))
}

impl fmt::Display for VolumeSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.source {
            VolumeSource::Host(p) => write!(f, "{}:", p.display())?,
            VolumeSource::Named(n) => write!(f, "{n}:")?,
            VolumeSource::Anonymous => {}
        }
        f.write_str(&self.destination)?;
        if !self.options.is_empty() || self.empty_options {
            f.write_str(":")?;
        }
        let words: Vec<&str> = self.options.iter().map(|o| o.as_str()).collect();
        f.write_str(&words.join(","))
    }
}

impl serde::Serialize for VolumeSpec {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for VolumeSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: &str) -> VolumeSpec {
        v.parse().unwrap()
    }

    fn err(v: &str) -> String {
        v.parse::<VolumeSpec>().unwrap_err().to_string()
    }

    #[test]
    fn sources() {
        assert!(is_named("data") && !is_named("/srv") && !is_named("./x"));
        assert!(is_anonymous("/data") && is_anonymous("/data:ro"));
        assert!(!is_anonymous("/srv:/data") && !is_anonymous("/srv:/data:ro"));
        let a = parse("/data");
        assert_eq!(a.source, VolumeSource::Anonymous);
        assert_eq!(a.destination, "/data");
        let a = parse("/data:ro");
        assert_eq!(a.source, VolumeSource::Anonymous);
        assert!(a.read_only());
        let n = parse("data:/x:ro,Z");
        assert_eq!(n.source, VolumeSource::Named("data".into()));
        assert_eq!(n.destination, "/x");
        let h = parse("/srv:/data");
        assert_eq!(h.source, VolumeSource::Host("/srv".into()));
        assert!(!h.read_only());
        assert_eq!(
            parse("/srv:/data:ro").source,
            VolumeSource::Host("/srv".into())
        );
    }

    #[test]
    fn mount_options_as_the_spec_has_them() {
        assert_eq!(parse("/a:/b").mount_options(), ["rbind", "rprivate"]);
        assert_eq!(
            parse("/a:/b:rw,ro,z,nosuid,shared,rslave").mount_options(),
            ["rbind", "ro", "nosuid", "rslave"]
        );
        assert_eq!(
            parse("/a:/b:ro,ro").mount_options(),
            ["rbind", "ro", "ro", "rprivate"]
        );
    }

    #[test]
    fn prints_what_was_parsed() {
        for v in [
            "/data",
            "/data:ro",
            "/data:",
            "data:/x",
            "data:/x:ro,Z,rshared",
            "/srv:/data:rw,nodev,noexec,suid,dev,exec",
            "/a:/b:",
        ] {
            assert_eq!(parse(v).to_string(), v);
            let json = serde_json::to_string(&parse(v)).unwrap();
            assert_eq!(json, serde_json::to_string(v).unwrap());
            assert_eq!(serde_json::from_str::<VolumeSpec>(&json).unwrap(), parse(v));
        }
        let resolved = parse("/data:ro").with_host_source("/vol/_data".into());
        assert_eq!(resolved.to_string(), "/vol/_data:/data:ro");
        assert_eq!(resolved, parse("/vol/_data:/data:ro"));
        let bind = VolumeSpec::bind("/vol/_data".into(), "/data").unwrap();
        assert_eq!(bind, parse("/vol/_data:/data"));
        assert!(VolumeSpec::bind("/v".into(), "data").is_err());
    }

    #[test]
    fn errors_name_the_value() {
        assert!(err("data").contains("invalid volume \"data\": use HOST-DIR"));
        assert!(err("/a:/b:ro:x").contains("invalid volume"));
        assert!(err("n:/b:ro:x").contains("invalid volume"));
        assert!(err("./x:/y").contains("absolute host path or a volume name"));
        assert!(err("/a:b:ro").contains("volume destination \"b\" must be an absolute path"));
        assert!(err("/a:b").contains("unknown option \"b\""));
        assert!(err("data:ro").contains("volume destination \"ro\""));
        assert!(err("data:").contains("volume destination \"\""));
        assert!(err("-bad:/x").contains("invalid container name"));
        assert!(err("/a:/b:bogus").contains("unknown option \"bogus\""));
        assert!(err("/data:bogus").contains("unknown option \"bogus\""));
    }
}
