//! The rootless form of a runtime spec (berth as a plain user, in its user namespace, see
//! [`crate::rootless`]).

use oci_spec::runtime::{LinuxNamespaceType, MountBuilder, Spec};

/// Make a spec run rootless (the generator calls this when not host root): no
/// cgroups (a plain user cannot create them on cgroup v1; resource limits are dropped with a
/// warning, as Podman does), and `/sys` bind-mounted from the host when the container shares
/// the host's network namespace (sysfs can only be mounted by the owner of the netns), with
/// the host's cgroup hierarchies below it in place of a `cgroup` mount, as Podman's.
pub fn adapt_spec(spec: &mut Spec) {
    let Some(mut linux) = spec.linux().clone() else {
        return;
    };
    if let Some(res) = linux.resources() {
        if res.memory().is_some() || res.cpu().is_some() || res.pids().is_some() {
            tracing::warn!(
                target: "berth_run::rootless",
                "resource limits (--memory, --cpus, --pids-limit) need cgroups, which a plain \
                 user cannot use on this cgroup v1 host: ignored"
            );
        }
    }
    linux.set_resources(None);
    linux.set_cgroups_path(None);
    let own_netns = linux
        .namespaces()
        .as_ref()
        .is_some_and(|ns| ns.iter().any(|n| n.typ() == LinuxNamespaceType::Network));
    spec.set_linux(Some(linux));
    if own_netns {
        return;
    }
    bind_host_sys(spec);
}

/// `/sys` bind-mounted from the host instead of a sysfs mount, and no `cgroup` mount: for a
/// container whose user namespace does not own its network namespace (sysfs can only be
/// mounted by that owner).
pub fn bind_host_sys(spec: &mut Spec) {
    if let Some(mounts) = spec.mounts().clone() {
        let mounts = mounts
            .into_iter()
            .filter(|m| m.typ().as_deref() != Some("cgroup"))
            .map(|m| {
                if m.typ().as_deref() != Some("sysfs") {
                    return m;
                }
                let ro = m
                    .options()
                    .as_ref()
                    .is_some_and(|o| o.iter().any(|x| x == "ro"));
                let mut options: Vec<String> = ["rbind", "nosuid", "noexec", "nodev"]
                    .iter()
                    .map(|s| s.to_string())
                    .collect();
                options.push(if ro { "ro" } else { "rw" }.to_string());
                MountBuilder::default()
                    .destination(m.destination().clone())
                    .typ("bind")
                    .source("/sys")
                    .options(options)
                    .build()
                    .unwrap_or(m)
            })
            .collect();
        spec.set_mounts(Some(mounts));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn rootless_spec_has_no_cgroups_and_binds_sys() {
        let root = tempfile::tempdir().unwrap();
        let img = oci_spec::image::ImageConfigurationBuilder::default()
            .config(
                oci_spec::image::ConfigBuilder::default()
                    .cmd(vec!["sh".to_string()])
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap();
        let opts = crate::RunOptions {
            memory: Some(1 << 20),
            ..Default::default()
        };
        let mut spec = super::super::generate(
            &super::super::SpecInput {
                id: "abc",
                image: &img,
                rootfs: root.path(),
                host_hostname: false,
            },
            &opts,
        )
        .unwrap();
        adapt_spec(&mut spec);
        let linux = spec.linux().as_ref().unwrap();
        assert!(linux.resources().is_none());
        assert!(linux.cgroups_path().is_none());
        let sys = spec
            .mounts()
            .as_ref()
            .unwrap()
            .iter()
            .find(|m| m.destination() == Path::new("/sys"))
            .unwrap();
        assert_eq!(sys.typ().as_deref(), Some("bind"));
        assert_eq!(sys.source().as_deref(), Some(Path::new("/sys")));
        let mounts = spec.mounts().as_ref().unwrap();
        assert!(mounts.iter().all(|m| m.typ().as_deref() != Some("cgroup")));
    }
}
