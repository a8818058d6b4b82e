//! The namespace-sharing options as Podman 4.3's CLI takes them: `--ipc`, `--uts`, `--pid`,
//! `--cgroupns` with `host`, `private`, `container:ID|NAME` and `ns:PATH` (and `--ipc`'s
//! `shareable` and `none`, which berth runs as `private`). Parsed once into a
//! [`NamespaceMode`]; the spec generator ([`crate::spec`]) leaves a `host` namespace out and
//! points a `ns:` one at its path; the engine joins a `container:` one at start through the
//! other container's `/proc/PID/ns/…` (`engine/namespaces.rs`).

use std::path::PathBuf;

use crate::error::{Result, RunError};

/// How a container gets one kind of namespace.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NamespaceMode {
    /// `private`: a namespace of its own.
    Private,
    /// `host`: the host's.
    Host,
    /// `container:ID|NAME`: another container's (its id once created); that container must
    /// be running when this one starts, and cannot be removed while this one exists.
    Container(String),
    /// `ns:PATH`: the namespace bind-mounted (or a `/proc/PID/ns/…` file) at PATH.
    Path(PathBuf),
}

/// The kinds of namespace these flags set, with Podman's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NamespaceKind {
    Ipc,
    Uts,
    Pid,
    Cgroup,
}

impl NamespaceKind {
    /// The name in `/proc/PID/ns/` and in Podman's messages (`ipc`, `uts`, `pid`, `cgroup`).
    pub fn proc_name(self) -> &'static str {
        match self {
            NamespaceKind::Ipc => "ipc",
            NamespaceKind::Uts => "uts",
            NamespaceKind::Pid => "pid",
            NamespaceKind::Cgroup => "cgroup",
        }
    }
}

impl NamespaceMode {
    /// One flag's value, with Podman's errors.
    pub fn parse(kind: NamespaceKind, value: &str) -> Result<NamespaceMode> {
        let (key, rest) = match value.split_once(':') {
            Some((k, r)) => (k, Some(r)),
            None => (value, None),
        };
        match (key, rest) {
            ("" | "private", None) => Ok(NamespaceMode::Private),
            ("shareable" | "none", None) if kind == NamespaceKind::Ipc => {
                Ok(NamespaceMode::Private)
            }
            ("host", None) => Ok(NamespaceMode::Host),
            ("container", Some("")) => Err(RunError::Invalid(
                "invalid config provided: namespace mode container requires a value".into(),
            )),
            ("container", Some(id)) => Ok(NamespaceMode::Container(id.to_string())),
            ("ns", Some("")) => Err(RunError::Invalid(
                "invalid config provided: namespace mode path requires a value".into(),
            )),
            ("ns", Some(path)) => Ok(NamespaceMode::Path(PathBuf::from(path))),
            _ => Err(RunError::Invalid(format!(
                "unrecognized namespace mode {value} passed"
            ))),
        }
    }

    /// As `podman inspect` shows it (`private`, `host`, `container:ID`, `ns:PATH`).
    pub fn inspect_mode(&self) -> String {
        match self {
            NamespaceMode::Private => "private".into(),
            NamespaceMode::Host => "host".into(),
            NamespaceMode::Container(id) => format!("container:{id}"),
            NamespaceMode::Path(p) => format!("ns:{}", p.display()),
        }
    }
}

/// `--ipc`, `--uts`, `--pid` and `--cgroupns` as given (`None`: the default, a private
/// namespace; for the cgroup namespace what the host's cgroup version makes it).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Namespaces {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipc: Option<NamespaceMode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uts: Option<NamespaceMode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<NamespaceMode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cgroup: Option<NamespaceMode>,
}

impl Namespaces {
    /// The flags' values (each `None` when not given).
    pub fn parse(
        ipc: Option<&str>,
        uts: Option<&str>,
        pid: Option<&str>,
        cgroupns: Option<&str>,
    ) -> Result<Namespaces> {
        let one = |kind, v: Option<&str>| v.map(|v| NamespaceMode::parse(kind, v)).transpose();
        Ok(Namespaces {
            ipc: one(NamespaceKind::Ipc, ipc)?,
            uts: one(NamespaceKind::Uts, uts)?,
            pid: one(NamespaceKind::Pid, pid)?,
            cgroup: one(NamespaceKind::Cgroup, cgroupns)?,
        })
    }

    /// The mode of one kind.
    pub fn get(&self, kind: NamespaceKind) -> Option<&NamespaceMode> {
        match kind {
            NamespaceKind::Ipc => self.ipc.as_ref(),
            NamespaceKind::Uts => self.uts.as_ref(),
            NamespaceKind::Pid => self.pid.as_ref(),
            NamespaceKind::Cgroup => self.cgroup.as_ref(),
        }
    }

    /// A mutable slot for one kind.
    pub fn slot(&mut self, kind: NamespaceKind) -> &mut Option<NamespaceMode> {
        match kind {
            NamespaceKind::Ipc => &mut self.ipc,
            NamespaceKind::Uts => &mut self.uts,
            NamespaceKind::Pid => &mut self.pid,
            NamespaceKind::Cgroup => &mut self.cgroup,
        }
    }

    /// Every `container:` reference: (kind, container).
    pub fn containers(&self) -> impl Iterator<Item = (NamespaceKind, &str)> {
        ALL.iter().filter_map(|k| match self.get(*k) {
            Some(NamespaceMode::Container(id)) => Some((*k, id.as_str())),
            _ => None,
        })
    }
}

/// The four kinds, in the order Podman lists them.
pub const ALL: [NamespaceKind; 4] = [
    NamespaceKind::Ipc,
    NamespaceKind::Uts,
    NamespaceKind::Pid,
    NamespaceKind::Cgroup,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn podman_syntax_and_words() {
        let p = |v| NamespaceMode::parse(NamespaceKind::Pid, v);
        assert_eq!(p("host").unwrap(), NamespaceMode::Host);
        assert_eq!(p("private").unwrap(), NamespaceMode::Private);
        assert_eq!(
            p("container:web").unwrap(),
            NamespaceMode::Container("web".into())
        );
        assert_eq!(
            p("ns:/proc/1/ns/pid").unwrap(),
            NamespaceMode::Path("/proc/1/ns/pid".into())
        );
        assert_eq!(
            p("foo").unwrap_err().to_string(),
            "unrecognized namespace mode foo passed"
        );
        assert!(p("container:")
            .unwrap_err()
            .to_string()
            .contains("requires a value"));
        assert!(p("ns:").unwrap_err().to_string().contains("path requires"));
        assert!(p("shareable").is_err());
        assert_eq!(
            NamespaceMode::parse(NamespaceKind::Ipc, "shareable").unwrap(),
            NamespaceMode::Private
        );
        let n = Namespaces::parse(Some("container:a"), None, Some("host"), None).unwrap();
        assert_eq!(
            n.containers().collect::<Vec<_>>(),
            [(NamespaceKind::Ipc, "a")]
        );
        // Records without these options still load.
        let back: Namespaces = serde_json::from_str("{}").unwrap();
        assert_eq!(back, Namespaces::default());
    }
}
