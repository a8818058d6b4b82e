//! A container's own view of `/sys/fs/cgroup`, as Podman gives it.
//!
//! The spec carries Podman's mount: type `cgroup` at `/sys/fs/cgroup`, read-only (read-write
//! with `--privileged`), see [`mount`]. On a pure cgroup v2 host the container also gets a
//! cgroup namespace ([`wants_namespace`], Podman's default there), so the cgroup2 file system
//! it mounts shows the container's own cgroup as its root. On a v1 or hybrid host (Podman's
//! default there is the host's cgroup namespace) runc and crun turn the mount into a tmpfs
//! holding each v1 hierarchy's directory of the container's cgroup, bound read-only (Podman
//! 4.3 with crun here: `/sys/fs/cgroup/memory` is `…/libpod-<id>`, writing there fails with
//! EROFS; the unified hierarchy of a hybrid host is left out).
//!
//! youki's libcontainer 0.7, the embedded runtime, does not: on v1 it binds every hierarchy
//! read-write whatever the mount's options say, and a hierarchy it manages no controller of
//! (the named `systemd` one) at the host's root (measured). So for a runtime that does not
//! honour `ro` there (`OciRuntime::cgroup_mount_read_only`),
//! [`bind_v1_view`] replaces the mount with plain bind mounts, which libcontainer does make
//! read-only: a read-only skeleton directory from the bundle (a directory per hierarchy,
//! links for the names of comounted controllers, as runc makes them), then each hierarchy's
//! directory of the container's cgroup over it, read-only. A hierarchy without a controller
//! libcontainer manages (the named `systemd` one) is left out: the container has no cgroup of
//! its own there (crun and runc make one). A spec without a cgroup path (rootless: no cgroups
//! on v1) loses the mount: there is nothing of its own to show; a rootless container runs on
//! crun or runc by default, which bind the caller's cgroups read-only, as Podman's.

use std::fs;
use std::os::unix::fs::{symlink, DirBuilderExt};
use std::path::{Path, PathBuf};

use oci_spec::runtime::{Mount, Spec};

use crate::cgroupfs::{cgroup2_unified, cgroup_mounts, CgroupMount};
use crate::error::{Result, RunError};

use super::mounts::mount as mount_entry;

/// Where the cgroup file system is mounted, on the host and in the container.
pub const CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// The v1 controllers youki's libcgroups 0.7 manages (its `CONTROLLERS`): the container has
/// a cgroup of its own in a hierarchy holding one of them.
const MANAGED_V1: &[&str] = &[
    "cpu",
    "cpuacct",
    "cpuset",
    "devices",
    "hugetlb",
    "memory",
    "pids",
    "perf_event",
    "blkio",
    "net_prio",
    "net_cls",
    "freezer",
];

/// Podman's `/sys/fs/cgroup` mount: read-only, read-write when `privileged`.
pub(crate) fn mount(privileged: bool) -> Result<Mount> {
    let access = if privileged { "rw" } else { "ro" };
    mount_entry(
        CGROUP_ROOT,
        "cgroup",
        "cgroup",
        &["rprivate", "nosuid", "noexec", "nodev", "relatime", access],
    )
}

/// Whether a container gets its own cgroup namespace: on a pure cgroup v2 host, as Podman.
pub(crate) fn wants_namespace() -> bool {
    cgroup2_unified()
}

/// Whether `m` is the `cgroup` mount at `/sys/fs/cgroup`.
fn is_cgroup_mount(m: &Mount) -> bool {
    m.typ().as_deref() == Some("cgroup") && m.destination() == Path::new(CGROUP_ROOT)
}

/// One v1 hierarchy of the container's view: its name under `/sys/fs/cgroup` and the
/// container's cgroup directory in it on the host.
#[derive(Debug, PartialEq, Eq)]
struct Hierarchy {
    name: String,
    source: PathBuf,
}

/// The hierarchies to show, from the host's cgroup mounts: each v1 hierarchy mounted directly
/// under `/sys/fs/cgroup` with a controller libcontainer manages, with the container's
/// directory (`cgroups_path`, from the hierarchy's mount point as libcgroups joins it).
fn hierarchies(mounts: &[CgroupMount], cgroups_path: &Path) -> Vec<Hierarchy> {
    let rel = cgroups_path.strip_prefix("/").unwrap_or(cgroups_path);
    let mut out: Vec<Hierarchy> = Vec::new();
    for m in mounts.iter().filter(|m| !m.v2) {
        if m.point.parent() != Some(Path::new(CGROUP_ROOT)) {
            continue;
        }
        if !m
            .controllers
            .iter()
            .any(|c| MANAGED_V1.contains(&c.as_str()))
        {
            continue;
        }
        let Some(name) = m
            .point
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
        else {
            continue;
        };
        if out.iter().all(|h| h.name != name) {
            out.push(Hierarchy {
                name,
                source: m.point.join(rel),
            });
        }
    }
    out
}

/// The links runc makes for comounted controllers: `cpu -> cpu,cpuacct`, unless a hierarchy
/// has that name itself.
fn comount_links(hs: &[Hierarchy]) -> Vec<(String, String)> {
    let mut links = Vec::new();
    for h in hs.iter().filter(|h| h.name.contains(',')) {
        for part in h.name.split(',') {
            if hs.iter().all(|o| o.name != part) && links.iter().all(|(l, _)| l != part) {
                links.push((part.to_string(), h.name.clone()));
            }
        }
    }
    links
}

/// Replace the spec's `cgroup` mount on a v1 or hybrid host with read-only bind mounts of
/// the container's own cgroup directories over a read-only skeleton written to
/// `<bundle>/cgroup` (see the module doc). Nothing changes on a pure cgroup v2 host or in a
/// spec without the mount.
pub fn bind_v1_view(spec: &mut Spec, bundle: &Path) -> Result<()> {
    let Some(mounts) = spec.mounts().clone() else {
        return Ok(());
    };
    let Some(at) = mounts.iter().position(is_cgroup_mount) else {
        return Ok(());
    };
    if cgroup2_unified() {
        return Ok(());
    }
    let read_only = mounts[at]
        .options()
        .as_ref()
        .is_none_or(|o| !o.iter().any(|x| x == "rw"));
    let cgroups_path = spec.linux().as_ref().and_then(|l| l.cgroups_path().clone());
    let replacement = match cgroups_path {
        Some(path) => {
            let info = fs::read_to_string("/proc/self/mountinfo")
                .map_err(|e| RunError::io("/proc/self/mountinfo", e))?;
            let hs = hierarchies(&cgroup_mounts(&info), &path);
            let skeleton = bundle.join("cgroup");
            write_skeleton(&skeleton, &hs)?;
            view_mounts(&skeleton, &hs, read_only)?
        }
        None => Vec::new(),
    };
    let mut out = mounts;
    out.splice(at..=at, replacement);
    spec.set_mounts(Some(out));
    Ok(())
}

/// The bind mounts of the view: the skeleton (always read-only), then each hierarchy.
fn view_mounts(skeleton: &Path, hs: &[Hierarchy], read_only: bool) -> Result<Vec<Mount>> {
    let access = if read_only { "ro" } else { "rw" };
    let mut out = vec![mount_entry(
        CGROUP_ROOT,
        "bind",
        &skeleton.to_string_lossy(),
        &["bind", "rprivate", "nosuid", "noexec", "nodev", "ro"],
    )?];
    for h in hs {
        out.push(mount_entry(
            &format!("{CGROUP_ROOT}/{}", h.name),
            "bind",
            &h.source.to_string_lossy(),
            &["bind", "rprivate", "nosuid", "noexec", "nodev", access],
        )?);
    }
    Ok(out)
}

/// `dir` afresh, mode 0755 (the container's users walk through it): a directory per
/// hierarchy and the comount links.
fn write_skeleton(dir: &Path, hs: &[Hierarchy]) -> Result<()> {
    match fs::remove_dir_all(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(RunError::io(dir, e)),
    }
    let mut builder = fs::DirBuilder::new();
    builder.mode(0o755);
    builder.create(dir).map_err(|e| RunError::io(dir, e))?;
    for h in hs {
        let sub = dir.join(&h.name);
        builder.create(&sub).map_err(|e| RunError::io(&sub, e))?;
    }
    for (link, target) in comount_links(hs) {
        let at = dir.join(link);
        symlink(target, &at).map_err(|e| RunError::io(&at, e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
34 31 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
50 23 0:31 / /mnt/elsewhere rw,relatime - cgroup cgroup rw,memory
";

    #[test]
    fn view_of_a_hybrid_host() {
        let hs = hierarchies(&cgroup_mounts(HYBRID), Path::new("/berth/abc"));
        assert_eq!(
            hs,
            [
                Hierarchy {
                    name: "cpu,cpuacct".into(),
                    source: "/sys/fs/cgroup/cpu,cpuacct/berth/abc".into(),
                },
                Hierarchy {
                    name: "memory".into(),
                    source: "/sys/fs/cgroup/memory/berth/abc".into(),
                },
            ]
        );
        assert_eq!(
            comount_links(&hs),
            [
                ("cpu".to_string(), "cpu,cpuacct".to_string()),
                ("cpuacct".to_string(), "cpu,cpuacct".to_string()),
            ]
        );
        let d = tempfile::tempdir().unwrap();
        let skeleton = d.path().join("cgroup");
        write_skeleton(&skeleton, &hs).unwrap();
        // A second start writes it afresh.
        write_skeleton(&skeleton, &hs).unwrap();
        assert!(skeleton.join("memory").is_dir());
        assert_eq!(
            fs::read_link(skeleton.join("cpu")).unwrap(),
            Path::new("cpu,cpuacct")
        );
        let ms = view_mounts(&skeleton, &hs, true).unwrap();
        assert_eq!(ms.len(), 3);
        assert_eq!(ms[0].destination(), Path::new(CGROUP_ROOT));
        for m in &ms {
            assert_eq!(m.typ().as_deref(), Some("bind"));
            assert!(m.options().as_ref().unwrap().contains(&"ro".to_string()));
        }
        assert_eq!(
            ms[2].source().as_deref(),
            Some(Path::new("/sys/fs/cgroup/memory/berth/abc"))
        );
        let rw = view_mounts(&skeleton, &hs, false).unwrap();
        assert!(rw[0]
            .options()
            .as_ref()
            .unwrap()
            .contains(&"ro".to_string()));
        assert!(rw[1]
            .options()
            .as_ref()
            .unwrap()
            .contains(&"rw".to_string()));
    }

    #[test]
    fn podman_mount() {
        let ro = mount(false).unwrap();
        assert!(is_cgroup_mount(&ro));
        assert!(ro.options().as_ref().unwrap().contains(&"ro".to_string()));
        let rw = mount(true).unwrap();
        assert!(rw.options().as_ref().unwrap().contains(&"rw".to_string()));
    }

    #[test]
    fn without_a_cgroup_path_the_mount_goes() {
        if cgroup2_unified() {
            return;
        }
        let mut spec = Spec::default();
        spec.set_mounts(Some(vec![mount(false).unwrap()]));
        let mut linux = spec.linux().clone().unwrap();
        linux.set_cgroups_path(None);
        spec.set_linux(Some(linux));
        let d = tempfile::tempdir().unwrap();
        bind_v1_view(&mut spec, d.path()).unwrap();
        assert!(spec.mounts().as_ref().unwrap().is_empty());
    }
}
