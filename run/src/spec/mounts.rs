//! The mounts of a runtime spec: Podman's defaults (`/proc`, a tmpfs `/dev`, `devpts`,
//! `/dev/shm` (`--shm-size`), `mqueue`, a read-only `/sys`), `-v` bind mounts (parsed once, in [`crate::options::volume`]) and `--tmpfs`.

use oci_spec::runtime::{Mount, MountBuilder};

use crate::error::{Result, RunError};
pub(crate) use crate::options::volume::check_container_path;
use crate::options::volume::{VolumeSource, VolumeSpec};
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

/// The bind mount of a `-v` already resolved to a host path (named and anonymous volumes are
/// resolved when the container is created); the host path must exist.
pub fn volume_mount(v: &VolumeSpec) -> Result<Mount> {
    let VolumeSource::Host(host) = &v.source else {
        return Err(RunError::Invalid(format!(
            "volume {:?}: not resolved to a host path",
            v.to_string()
        )));
    };
    std::fs::metadata(host).map_err(|e| RunError::io(host, e))?;
    mount(
        &v.destination,
        "bind",
        &host.to_string_lossy(),
        &v.mount_options(),
    )
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
    // `--shm-size` (Podman's default 64 MiB; 0: no limit).
    let shm_size = match opts.shm_size {
        None => "size=65536k".to_string(),
        Some(n) => format!("size={n}"),
    };
    Ok(vec![
        mount("/proc", "proc", "proc", &["nosuid", "noexec", "nodev"])?,
        mount(
            "/dev",
            "tmpfs",
            "tmpfs",
            &["nosuid", "noexec", "strictatime", "mode=755", "size=65536k"],
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
            &["nosuid", "noexec", "nodev", "mode=1777", &shm_size],
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
