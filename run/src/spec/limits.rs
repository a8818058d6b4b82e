//! The parts of a spec the daily-use run options add, as Podman 4.3 writes them: `--ulimit` →
//! `process.rlimits`, `--sysctl` → `linux.sysctl` (refused where the container shares the
//! host's namespace), `--device` → `linux.devices` and a cgroup rule (rootless: a bind mount of
//! the node, since a user namespace cannot make one), `--group-add` → the process's
//! supplementary groups (`keep-groups`: crun's annotation).

use std::collections::HashMap;
use std::path::Path;

use oci_spec::runtime::{
    LinuxDevice, LinuxDeviceBuilder, LinuxDeviceCgroup, LinuxDeviceCgroupBuilder, LinuxDeviceType,
    Mount, PosixRlimit, PosixRlimitBuilder, PosixRlimitType,
};

use super::mounts::mount;
use crate::error::{Result, RunError};
use crate::options::limits::{GroupAdd, Ulimit, KEEP_GROUPS_ANNOTATION};
use crate::options::{Network, RunOptions};

/// `--ulimit`s as rlimits (`None` when none was given: the runtime's own stay).
pub fn rlimits(opts: &RunOptions) -> Result<Option<Vec<PosixRlimit>>> {
    if opts.ulimits.is_empty() {
        return Ok(None);
    }
    let mut out: Vec<PosixRlimit> = Vec::new();
    for u in &opts.ulimits {
        let typ: PosixRlimitType = u
            .rlimit_name()
            .parse()
            .map_err(|_| RunError::Invalid(format!("invalid ulimit type: {}", u.name)))?;
        // A later --ulimit of the same name wins.
        out.retain(|r| r.typ() != typ);
        out.push(
            PosixRlimitBuilder::default()
                .typ(typ)
                .soft(Ulimit::kernel_value(u.soft))
                .hard(Ulimit::kernel_value(u.hard))
                .build()?,
        );
    }
    Ok(Some(out))
}

/// The sysctls under `--sysctl`: containers.conf's `default_sysctls` when set, else
/// Podman's from Debian's containers.conf (`net.ipv4.ping_group_range=0 0`: ICMP echo sockets
/// for group 0, so `ping` works without CAP_NET_RAW). As Podman, a default that would reach
/// a namespace the container shares is left out: `net.*` without a network namespace of its
/// own, `fs.mqueue.*` with the host's IPC, the host and domain names with the host's UTS.
/// None at all with a user namespace of the container's own: berth makes the network
/// namespace outside it, so the container's root may not write its sysctls.
pub fn default_sysctls(opts: &RunOptions) -> HashMap<String, String> {
    use crate::options::NamespaceMode;
    if opts.userns.is_some() {
        return HashMap::new();
    }
    let builtin = [("net.ipv4.ping_group_range".to_string(), "0 0".to_string())];
    let defaults = match &opts.default_sysctls {
        Some(list) => list.as_slice(),
        None => &builtin[..],
    };
    let host = |mode: &Option<NamespaceMode>| *mode == Some(NamespaceMode::Host);
    defaults
        .iter()
        .filter(|(k, _)| !k.starts_with("net.") || opts.network.has_own_netns())
        .filter(|(k, _)| !(k.starts_with("fs.mqueue.") && host(&opts.namespaces.ipc)))
        .filter(|(k, _)| {
            !((k == "kernel.hostname" || k == "kernel.domainname") && host(&opts.namespaces.uts))
        })
        .cloned()
        .collect()
}

/// `--sysctl`s over `defaults`; `net.*` is refused on the host's network, as Podman.
pub fn sysctls(
    opts: &RunOptions,
    mut defaults: HashMap<String, String>,
) -> Result<HashMap<String, String>> {
    for (k, v) in &opts.sysctls {
        if opts.network == Network::Host && k.starts_with("net.") {
            return Err(RunError::Invalid(format!(
                "sysctl {k}={v} can't be set since Network Namespace set to host: invalid argument"
            )));
        }
        defaults.insert(k.clone(), v.clone());
    }
    Ok(defaults)
}

/// What `--device` adds: nodes and cgroup rules as root, bind mounts rootless.
#[derive(Default)]
pub struct Devices {
    pub nodes: Vec<LinuxDevice>,
    pub rules: Vec<LinuxDeviceCgroup>,
    pub mounts: Vec<Mount>,
}

/// The spec entries of `opts.devices`.
pub fn devices(opts: &RunOptions, rootless: bool) -> Result<Devices> {
    let mut out = Devices::default();
    for d in &opts.devices {
        if rootless {
            let mut options = vec!["rbind", "rprivate", "nosuid", "noexec"];
            if !d.permissions.contains('w') {
                options.push("ro");
            }
            out.mounts
                .push(mount(&d.container, "bind", &d.host, &options)?);
            continue;
        }
        let typ = if d.kind == 'b' {
            LinuxDeviceType::B
        } else {
            LinuxDeviceType::C
        };
        out.nodes.push(
            LinuxDeviceBuilder::default()
                .path(Path::new(&d.container))
                .typ(typ)
                .major(d.major)
                .minor(d.minor)
                .file_mode(d.mode)
                .uid(0u32)
                .gid(0u32)
                .build()?,
        );
        out.rules.push(
            LinuxDeviceCgroupBuilder::default()
                .allow(true)
                .typ(typ)
                .major(d.major)
                .minor(d.minor)
                .access(d.permissions.clone())
                .build()?,
        );
    }
    Ok(out)
}

/// `--group-add`: the groups added to `gids` (names looked up in the image at `rootfs`), and
/// the annotation `keep-groups` needs.
pub fn group_add(
    opts: &RunOptions,
    rootfs: &Path,
    gids: &mut Vec<u32>,
    annotations: &mut HashMap<String, String>,
) -> Result<()> {
    match &opts.group_add {
        None => {}
        Some(GroupAdd::KeepGroups) => {
            annotations.insert(KEEP_GROUPS_ANNOTATION.to_string(), "1".to_string());
        }
        Some(GroupAdd::Groups(groups)) => {
            for g in groups {
                let gid = crate::user::group_id(rootfs, g)?;
                if !gids.contains(&gid) {
                    gids.push(gid);
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::DeviceSpec;

    #[test]
    fn limits_and_refusals() {
        let mut o = RunOptions::default();
        assert!(rlimits(&o).unwrap().is_none());
        o.ulimits = vec![
            Ulimit::parse("nofile=10:20").unwrap(),
            Ulimit::parse("core=-1").unwrap(),
            Ulimit::parse("nofile=30:40").unwrap(),
        ];
        let r = rlimits(&o).unwrap().unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].typ(), PosixRlimitType::RlimitCore);
        assert_eq!(r[0].hard(), u64::MAX);
        assert_eq!((r[1].soft(), r[1].hard()), (30, 40));
        o.sysctls = vec![("net.core.somaxconn".into(), "1024".into())];
        o.network = Network::None;
        let s = sysctls(&o, HashMap::from([("a".into(), "b".into())])).unwrap();
        assert_eq!(s.len(), 2);
        o.network = Network::Host;
        assert_eq!(
            sysctls(&o, HashMap::new()).unwrap_err().to_string(),
            "sysctl net.core.somaxconn=1024 can't be set since Network Namespace set to host: \
             invalid argument"
        );
        o.devices = vec![DeviceSpec::parse("/dev/null:/dev/mynull:rw").unwrap()];
        let d = devices(&o, false).unwrap();
        assert_eq!(d.nodes[0].path(), Path::new("/dev/mynull"));
        assert_eq!(d.rules[0].access().as_deref(), Some("rw"));
        let d = devices(&o, true).unwrap();
        assert!(d.nodes.is_empty() && d.rules.is_empty());
        assert_eq!(
            d.mounts[0].source().as_deref(),
            Some(Path::new("/dev/null"))
        );
    }

    #[test]
    fn groups() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("etc")).unwrap();
        std::fs::write(root.path().join("etc/group"), "wheel:x:10:\n").unwrap();
        let mut o = RunOptions {
            group_add: GroupAdd::parse(&["wheel".into(), "42".into()]).unwrap(),
            ..RunOptions::default()
        };
        let (mut gids, mut ann) = (vec![10], HashMap::new());
        group_add(&o, root.path(), &mut gids, &mut ann).unwrap();
        assert_eq!(gids, [10, 42]);
        o.group_add = GroupAdd::parse(&["nosuch".into()]).unwrap();
        assert!(group_add(&o, root.path(), &mut gids, &mut ann).is_err());
        o.group_add = Some(GroupAdd::KeepGroups);
        group_add(&o, root.path(), &mut gids, &mut ann).unwrap();
        assert_eq!(ann[KEEP_GROUPS_ANNOTATION], "1");
    }
}
