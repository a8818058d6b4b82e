//! The mounts of a runtime spec: Podman's defaults (`/proc`, a tmpfs `/dev`, `devpts`,
//! `/dev/shm`, `mqueue`, a read-only `/sys`), `-v` bind mounts and `--tmpfs`.

use oci_spec::runtime::{Mount, MountBuilder};

use crate::error::{Result, RunError};
use crate::options::RunOptions;

/// One mount entry.
pub(crate) fn mount(dest: &str, typ: &str, source: &str, options: &[&str]) -> Result<Mount> {
    Ok(MountBuilder::default()
        .destination(dest)
        .typ(typ)
        .source(source)
        .options(options.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        .build()?)
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

/// Parse a `-v host:ctr[:ro|rw]` into a bind mount; the host path must exist.
pub fn volume_mount(v: &str) -> Result<Mount> {
    let parts: Vec<&str> = v.split(':').collect();
    let (host, ctr, opts) = match parts.as_slice() {
        [h, c] => (*h, *c, ""),
        [h, c, o] => (*h, *c, *o),
        _ => {
            return Err(RunError::Invalid(format!(
                "invalid volume {v:?}: use HOST-DIR:CONTAINER-DIR[:ro|rw]"
            )))
        }
    };
    if !host.starts_with('/') {
        return Err(RunError::Invalid(format!(
            "volume {v:?}: the source must be an absolute host path or a volume name"
        )));
    }
    check_container_path("volume destination", ctr)?;
    std::fs::metadata(host).map_err(|e| RunError::io(host, e))?;
    let mut options = vec!["rbind"];
    let mut propagation = "rprivate";
    for o in opts.split(',').filter(|o| !o.is_empty()) {
        match o {
            "ro" | "nosuid" | "nodev" | "noexec" | "suid" | "dev" | "exec" => options.push(o),
            "rw" => {}
            // SELinux relabelling: nothing to relabel without SELinux, as Podman.
            "z" | "Z" => {}
            "shared" | "rshared" | "slave" | "rslave" | "private" | "rprivate" => propagation = o,
            other => {
                return Err(RunError::Invalid(format!(
                    "volume {v:?}: unknown option {other:?}: use ro, rw, [r]shared, [r]slave, [r]private, [no]suid, [no]dev or [no]exec"
                )))
            }
        }
    }
    options.push(propagation);
    mount(ctr, "bind", host, &options)
}

/// Where `--read-only` (with `--read-only-tmpfs`, the default) mounts a writable tmpfs, as
/// Podman: the directories programs expect to write to.
pub const READ_ONLY_TMPFS: [&str; 3] = ["/tmp", "/var/tmp", "/run"];

/// Parse a `--tmpfs ctr[:options]`.
pub fn tmpfs_mount(t: &str) -> Result<Mount> {
    let (ctr, opts) = t.split_once(':').unwrap_or((t, ""));
    check_container_path("tmpfs destination", ctr)?;
    let mut options = vec!["rw", "noexec", "nosuid", "nodev"];
    options.extend(opts.split(',').filter(|o| !o.is_empty()));
    mount(ctr, "tmpfs", "tmpfs", &options)
}

/// Podman's default mounts.
pub(crate) fn default_mounts(opts: &RunOptions) -> Result<Vec<Mount>> {
    let sys_opts: &[&str] = if opts.privileged {
        &["nosuid", "noexec", "nodev", "rw"]
    } else {
        &["nosuid", "noexec", "nodev", "ro"]
    };
    Ok(vec![
        mount("/proc", "proc", "proc", &["nosuid", "noexec", "nodev"])?,
        mount(
            "/dev",
            "tmpfs",
            "tmpfs",
            &["nosuid", "strictatime", "mode=755", "size=65536k"],
        )?,
        mount(
            "/dev/pts",
            "devpts",
            "devpts",
            &[
                "nosuid",
                "noexec",
                "newinstance",
                "ptmxmode=0666",
                "mode=0620",
                "gid=5",
            ],
        )?,
        mount(
            "/dev/shm",
            "tmpfs",
            "shm",
            &["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"],
        )?,
        mount(
            "/dev/mqueue",
            "mqueue",
            "mqueue",
            &["nosuid", "noexec", "nodev"],
        )?,
        mount("/sys", "sysfs", "sysfs", sys_opts)?,
    ])
}
