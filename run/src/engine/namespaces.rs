//! Namespaces shared with another container (`--ipc`, `--uts`, `--pid`, `--cgroupns` and
//! `--network` `container:ID`; a pod's members with its infra container):
//!
//! - create ([`Engine::resolve_namespaces`]): each `container:` reference must name an
//!   existing container, and is kept as its id;
//! - start ([`Engine::join_namespaces`]): the other container must be running; the spec's
//!   namespace of that kind is its `/proc/PID/ns/…` (the network's is joined in
//!   `engine/network.rs`, the same way);
//! - removal ([`Engine::refuse_if_depended_on`]): a container others share a namespace of
//!   cannot be removed before them, forced or not, as Podman refuses it.

use std::path::PathBuf;

use oci_spec::runtime::{LinuxNamespaceType, Spec};

use crate::container::Container;
use crate::error::{Result, RunError};
use crate::options::{NamespaceMode, Network, RunOptions};
use crate::spec::namespaces::oci_type;

use super::Engine;

impl Engine<'_> {
    /// At create: see the module's doc.
    pub(crate) fn resolve_namespaces(&self, options: &mut RunOptions) -> Result<()> {
        for kind in crate::options::namespaces::ALL {
            if let Some(NamespaceMode::Container(other)) = options.namespaces.slot(kind) {
                let found = self.records().get(other).map_err(|e| match e {
                    RunError::NoSuchContainer(_) => RunError::Invalid(format!(
                        "looking up container to share {} namespace with: no container with \
                         name or ID {other:?} found: no such container",
                        kind.proc_name()
                    )),
                    e => e,
                })?;
                *other = found.id;
            }
        }
        Ok(())
    }

    /// At start: see the module's doc.
    pub(crate) fn join_namespaces(&self, c: &Container, spec: &mut Spec) -> Result<()> {
        for (kind, other) in c.options.namespaces.containers() {
            let detail = format!(": cannot join its {} namespace", kind.proc_name());
            let (_, pid) = self.running_pid(&self.records().get(other)?, &detail)?;
            set_namespace_path(
                spec,
                oci_type(kind),
                PathBuf::from(format!("/proc/{pid}/ns/{}", kind.proc_name())),
            );
        }
        Ok(())
    }

    /// The containers that share a namespace of `c` (its id, or its name for `--network
    /// container:NAME`, which keeps what was given).
    pub fn dependents(&self, c: &Container) -> Result<Vec<Container>> {
        let names_c = |r: &str| r == c.id || r == c.name;
        Ok(self
            .records()
            .list()?
            .into_iter()
            .filter(|o| o.id != c.id)
            .filter(|o| {
                o.options.namespaces.containers().any(|(_, r)| names_c(r))
                    || matches!(&o.options.network, Network::Container(r) if names_c(r))
            })
            .collect())
    }

    /// At removal: see the module's doc; Podman's words.
    pub(crate) fn refuse_if_depended_on(&self, c: &Container) -> Result<()> {
        let deps = self.dependents(c)?;
        if deps.is_empty() {
            return Ok(());
        }
        let ids: Vec<&str> = deps.iter().map(|d| d.id.as_str()).collect();
        Err(RunError::HasDependents {
            id: c.id.clone(),
            dependents: ids.join(", "),
        })
    }
}

/// Point the spec's namespace of type `typ` at `path` (the runtime joins it, makes none).
pub(crate) fn set_namespace_path(spec: &mut Spec, typ: LinuxNamespaceType, path: PathBuf) {
    let Some(mut linux) = spec.linux().clone() else {
        return;
    };
    let mut namespaces = linux.namespaces().clone().unwrap_or_default();
    for n in namespaces.iter_mut() {
        if n.typ() == typ {
            n.set_path(Some(path.clone()));
        }
    }
    linux.set_namespaces(Some(namespaces));
    spec.set_linux(Some(linux));
}
