//! One `RUN --mount=…` value read into a typed [`MountSpec`]: every option is known for its
//! mount type and every value is checked, as Buildah does; an unknown option or a bad value
//! is refused (never ignored) with the option named.

/// The kinds of `RUN --mount`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Bind,
    Cache,
    Tmpfs,
    Secret,
}

/// How a cache mount is shared between concurrent RUN steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) enum Sharing {
    #[default]
    Shared,
    Locked,
    Private,
}

/// A parsed `--mount` value. Fields a kind does not take stay at their defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct MountSpec {
    pub kind: Kind,
    pub target: Option<String>,
    pub source: Option<String>,
    /// bind: a stage or image to read from.
    pub from: Option<String>,
    /// bind and cache: writable (bind default read-only, cache default writable).
    pub rw: bool,
    /// cache and secret: the id.
    pub id: Option<String>,
    pub sharing: Sharing,
    /// cache: the directory's mode on creation; secret: the file's mode.
    pub mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    /// secret: fail when not given.
    pub required: bool,
    /// Extra mount options passed to the runtime: propagation, nosuid/nodev/noexec,
    /// tmpfs `size=`/`mode=`.
    pub options: Vec<String>,
}

const PROPAGATIONS: &[&str] = &[
    "shared", "rshared", "private", "rprivate", "slave", "rslave",
];
const FLAGS: &[&str] = &["nosuid", "nodev", "noexec"];

impl MountSpec {
    /// Read one `--mount` value (`type=bind,source=…,target=…`; keys are case-insensitive, a
    /// bare key means `true`).
    pub(super) fn parse(value: &str) -> Result<MountSpec, String> {
        let fields = split(value);
        let kind = match fields
            .iter()
            .find(|(k, _)| k == "type")
            .map(|(_, v)| v.as_deref())
        {
            None | Some(Some("bind")) => Kind::Bind,
            Some(Some("cache")) => Kind::Cache,
            Some(Some("tmpfs")) => Kind::Tmpfs,
            Some(Some("secret")) => Kind::Secret,
            Some(Some("ssh")) => return Err("--mount=type=ssh is not built yet".to_string()),
            Some(other) => {
                let other = other.unwrap_or_default();
                return Err(format!("--mount={value}: unknown type {other:?}"));
            }
        };
        let mut spec = MountSpec {
            kind,
            target: None,
            source: None,
            from: None,
            rw: kind == Kind::Cache,
            id: None,
            sharing: Sharing::Shared,
            mode: None,
            uid: None,
            gid: None,
            required: false,
            options: Vec::new(),
        };
        for (key, v) in &fields {
            spec.take(key, v.as_deref())
                .map_err(|why| format!("--mount={value}: {why}"))?;
        }
        Ok(spec)
    }

    /// Apply one option, or say why it cannot be.
    fn take(&mut self, key: &str, v: Option<&str>) -> Result<(), String> {
        use Kind::*;
        let kind = self.kind;
        let only = |kinds: &[Kind]| -> Result<(), String> {
            if kinds.contains(&kind) {
                Ok(())
            } else {
                Err(format!(
                    "option {key:?} is not valid for a {} mount",
                    kind.name()
                ))
            }
        };
        match key {
            "type" => {}
            "target" | "dst" | "destination" => self.target = Some(nonempty(key, v)?),
            "source" | "src" => {
                only(&[Bind])?;
                self.source = Some(v.unwrap_or_default().to_string());
            }
            "from" => {
                only(&[Bind])?;
                self.from = Some(nonempty(key, v)?);
            }
            "rw" | "readwrite" => {
                only(&[Bind, Cache])?;
                self.rw = boolean(key, v)?;
            }
            "ro" | "readonly" => {
                only(&[Bind, Cache, Tmpfs])?;
                let ro = boolean(key, v)?;
                if kind == Tmpfs {
                    if ro {
                        self.options.push("ro".to_string());
                    }
                } else {
                    self.rw = !ro;
                }
            }
            "id" => {
                only(&[Cache, Secret])?;
                self.id = Some(nonempty(key, v)?);
            }
            "sharing" => {
                only(&[Cache])?;
                self.sharing = match v.unwrap_or_default() {
                    "shared" => Sharing::Shared,
                    "locked" => Sharing::Locked,
                    "private" => Sharing::Private,
                    v => return Err(format!("sharing={v}: use shared, locked or private")),
                };
            }
            "mode" => {
                only(&[Cache, Secret])?;
                self.mode = Some(octal_mode(key, v)?);
            }
            "uid" | "gid" => {
                only(&[Cache, Secret])?;
                let v = nonempty(key, v)?;
                let n = v
                    .parse::<u32>()
                    .map_err(|_| format!("{key}={v}: not a number from 0 to 4294967295"))?;
                if key == "uid" {
                    self.uid = Some(n);
                } else {
                    self.gid = Some(n);
                }
            }
            "required" => {
                only(&[Secret])?;
                self.required = boolean(key, v)?;
            }
            "size" | "tmpfs-size" => {
                only(&[Tmpfs])?;
                self.options.push(format!("size={}", byte_size(key, v)?));
            }
            "tmpfs-mode" => {
                only(&[Tmpfs])?;
                self.options.push(format!("mode={:o}", octal_mode(key, v)?));
            }
            "bind-propagation" => {
                only(&[Bind, Cache])?;
                let v = nonempty(key, v)?;
                if !PROPAGATIONS.contains(&v.as_str()) {
                    return Err(format!(
                        "bind-propagation={v}: use one of {}",
                        PROPAGATIONS.join(", ")
                    ));
                }
                self.options.push(v);
            }
            k if PROPAGATIONS.contains(&k) => {
                only(&[Bind, Cache])?;
                bare(key, v)?;
                self.options.push(k.to_string());
            }
            k if FLAGS.contains(&k) => {
                only(&[Bind, Cache, Tmpfs])?;
                bare(key, v)?;
                self.options.push(k.to_string());
            }
            // SELinux relabelling: nothing to relabel without SELinux (as Podman's `-v :z`).
            "z" => {
                only(&[Bind, Cache])?;
                bare(key, v)?;
            }
            // macOS only; Buildah ignores it too.
            "consistency" => only(&[Bind])?,
            other => {
                return Err(format!(
                    "unknown option {other:?} for a {} mount",
                    kind.name()
                ))
            }
        }
        Ok(())
    }
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Bind => "bind",
            Kind::Cache => "cache",
            Kind::Tmpfs => "tmpfs",
            Kind::Secret => "secret",
        }
    }
}

/// The `key=value` pairs of a `--mount` value in order, keys lower case (`Z` is `z`); a bare
/// key has no value.
fn split(value: &str) -> Vec<(String, Option<String>)> {
    value
        .split(',')
        .filter(|p| !p.is_empty())
        .map(|part| match part.split_once('=') {
            Some((k, v)) => (k.to_ascii_lowercase(), Some(v.to_string())),
            None => (part.to_ascii_lowercase(), None),
        })
        .collect()
}

/// Go's `strconv.ParseBool`, which Buildah uses for these options.
/// A bare key is `true`.
fn boolean(key: &str, v: Option<&str>) -> Result<bool, String> {
    let Some(v) = v else { return Ok(true) };
    match v {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
        _ => Err(format!("{key}={v}: use true or false")),
    }
}

/// A flag that takes no value (`nosuid`, `rshared`…).
fn bare(key: &str, v: Option<&str>) -> Result<(), String> {
    match v {
        None => Ok(()),
        Some(v) => Err(format!("{key}={v}: {key} takes no value")),
    }
}

/// The value of an option that needs one.
fn nonempty(key: &str, v: Option<&str>) -> Result<String, String> {
    match v {
        Some(v) if !v.is_empty() => Ok(v.to_string()),
        _ => Err(format!("{key} needs a value")),
    }
}

/// An octal permission mode, at most 07777.
fn octal_mode(key: &str, v: Option<&str>) -> Result<u32, String> {
    let v = nonempty(key, v)?;
    match u32::from_str_radix(&v, 8) {
        Ok(m) if m <= 0o7777 => Ok(m),
        _ => Err(format!("{key}={v}: not an octal mode from 0 to 7777")),
    }
}

/// A tmpfs size: bytes with an optional k, m or g suffix.
fn byte_size(key: &str, v: Option<&str>) -> Result<String, String> {
    let v = nonempty(key, v)?;
    let digits = v.trim_end_matches(['k', 'K', 'm', 'M', 'g', 'G']);
    let suffix = &v[digits.len()..];
    if digits.is_empty() || suffix.len() > 1 || digits.parse::<u64>().is_err() {
        return Err(format!(
            "{key}={v}: not a size (bytes, or a number with k, m or g)"
        ));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_options_and_bad_values_are_refused() {
        for (bad, why) in [
            (
                "type=bind,source=f,target=/m,bind-propagation=bogus",
                "bind-propagation=bogus",
            ),
            (
                "type=bind,source=f,target=/m,relabel=shared",
                "unknown option \"relabel\"",
            ),
            ("type=cache,target=/c,mode=zz", "mode=zz: not an octal mode"),
            ("type=cache,target=/c,mode=17777", "mode=17777"),
            ("type=cache,target=/c,uid=-1", "uid=-1: not a number"),
            ("type=cache,target=/c,gid=x", "gid=x"),
            ("type=tmpfs,target=/t,size=lots", "size=lots"),
            (
                "type=tmpfs,target=/t,source=x",
                "\"source\" is not valid for a tmpfs mount",
            ),
            (
                "type=secret,id=a,required=maybe",
                "required=maybe: use true or false",
            ),
            ("type=bind,source=f,target=/m,rw=yes", "rw=yes"),
            ("type=bind,target=/m,nosuid=1", "nosuid takes no value"),
            ("type=bind,target=/m,from", "from needs a value"),
            (
                "type=cache,target=/c,from=stage",
                "\"from\" is not valid for a cache mount",
            ),
            ("type=nope,target=/x", "unknown type \"nope\""),
        ] {
            let err = MountSpec::parse(bad).unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
            assert!(err.starts_with("--mount="), "{err}");
        }
    }

    #[test]
    fn known_options_are_read() {
        let b = MountSpec::parse("source=f,target=/m,bind-propagation=rshared,nosuid,Z").unwrap();
        assert_eq!(b.kind, Kind::Bind);
        assert!(!b.rw);
        assert_eq!(b.options, ["rshared", "nosuid"]);
        assert!(
            MountSpec::parse("type=bind,source=f,target=/m,ro=false")
                .unwrap()
                .rw
        );
        assert!(
            MountSpec::parse("type=bind,source=f,target=/m,rw")
                .unwrap()
                .rw
        );
        let c = MountSpec::parse("type=cache,target=/c,mode=0700,uid=1000,gid=7,sharing=locked")
            .unwrap();
        assert_eq!(
            (c.mode, c.uid, c.gid, c.sharing, c.rw),
            (Some(0o700), Some(1000), Some(7), Sharing::Locked, true)
        );
        let t = MountSpec::parse("type=tmpfs,target=/t,tmpfs-size=1m,tmpfs-mode=1777,ro").unwrap();
        assert_eq!(t.options, ["size=1m", "mode=1777", "ro"]);
        let s = MountSpec::parse("type=secret,id=tok,mode=0440,uid=5,required").unwrap();
        assert_eq!((s.mode, s.uid, s.required), (Some(0o440), Some(5), true));
    }
}
