//! The spec's namespace list from the options: `--pid`, `--ipc`, `--uts`, `--cgroupns`
//! ([`crate::options::Namespaces`]) and `--network`. A `host` namespace is left out (the
//! runtime keeps the host's); `ns:PATH` is joined at PATH; `container:` is in the list
//! without a path here, and the engine points it at the other container's `/proc/PID/ns/…`
//! at each start (`engine/namespaces.rs`), as it does for `--network container:`.

use oci_spec::runtime::{LinuxNamespace, LinuxNamespaceBuilder, LinuxNamespaceType};

use crate::error::Result;
use crate::options::{NamespaceKind, NamespaceMode, Network, RunOptions};

/// The OCI type of one kind.
pub fn oci_type(kind: NamespaceKind) -> LinuxNamespaceType {
    match kind {
        NamespaceKind::Ipc => LinuxNamespaceType::Ipc,
        NamespaceKind::Uts => LinuxNamespaceType::Uts,
        NamespaceKind::Pid => LinuxNamespaceType::Pid,
        NamespaceKind::Cgroup => LinuxNamespaceType::Cgroup,
    }
}

/// Whether the container has a UTS namespace of its own (the spec sets its hostname only
/// then: a runtime refuses to set one in a namespace it does not own).
pub fn own_uts(opts: &RunOptions) -> bool {
    matches!(opts.namespaces.uts, None | Some(NamespaceMode::Private))
}

/// The namespace list, in the order berth always wrote it (pid, ipc, uts, mount, network,
/// cgroup).
pub fn list(opts: &RunOptions) -> Result<Vec<LinuxNamespace>> {
    let mut out = Vec::new();
    let mut push = |typ: LinuxNamespaceType, mode: Option<&NamespaceMode>, default: bool| {
        let (include, path) = match mode {
            None => (default, None),
            Some(NamespaceMode::Private | NamespaceMode::Container(_)) => (true, None),
            Some(NamespaceMode::Host) => (false, None),
            Some(NamespaceMode::Path(p)) => (true, Some(p.clone())),
        };
        if include {
            let mut b = LinuxNamespaceBuilder::default().typ(typ);
            if let Some(p) = path {
                b = b.path(p);
            }
            out.push(b.build());
        }
    };
    let ns = &opts.namespaces;
    push(LinuxNamespaceType::Pid, ns.pid.as_ref(), true);
    push(LinuxNamespaceType::Ipc, ns.ipc.as_ref(), true);
    push(LinuxNamespaceType::Uts, ns.uts.as_ref(), true);
    push(LinuxNamespaceType::Mount, None, true);
    // A network namespace of its own (`none`, bridge mode: made or joined at each start,
    // `container:`: joined at start) or the one bind-mounted at `ns:PATH`.
    let network = match &opts.network {
        Network::Host => NamespaceMode::Host,
        Network::Ns(path) => NamespaceMode::Path(path.clone()),
        _ => NamespaceMode::Private,
    };
    push(LinuxNamespaceType::Network, Some(&network), true);
    push(
        LinuxNamespaceType::Cgroup,
        ns.cgroup.as_ref(),
        super::cgroup::wants_namespace(),
    );
    Ok(out
        .into_iter()
        .collect::<std::result::Result<Vec<_>, _>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::Namespaces;

    fn types(opts: &RunOptions) -> Vec<(LinuxNamespaceType, Option<String>)> {
        list(opts)
            .unwrap()
            .iter()
            .map(|n| (n.typ(), n.path().as_ref().map(|p| p.display().to_string())))
            .collect()
    }

    #[test]
    fn host_is_left_out_and_paths_are_joined() {
        let mut o = RunOptions {
            network: Network::None,
            ..RunOptions::default()
        };
        let default = types(&o);
        assert!(default.contains(&(LinuxNamespaceType::Pid, None)));
        assert!(default.contains(&(LinuxNamespaceType::Uts, None)));
        o.namespaces =
            Namespaces::parse(Some("container:x"), Some("host"), Some("ns:/p"), None).unwrap();
        let t = types(&o);
        assert!(t.contains(&(LinuxNamespaceType::Ipc, None)));
        assert!(!t.iter().any(|(k, _)| *k == LinuxNamespaceType::Uts));
        assert!(t.contains(&(LinuxNamespaceType::Pid, Some("/p".into()))));
        assert!(!own_uts(&o));
        o.namespaces.cgroup = Some(NamespaceMode::Host);
        assert!(!types(&o)
            .iter()
            .any(|(k, _)| *k == LinuxNamespaceType::Cgroup));
        o.network = Network::Host;
        assert!(!types(&o)
            .iter()
            .any(|(k, _)| *k == LinuxNamespaceType::Network));
    }
}
