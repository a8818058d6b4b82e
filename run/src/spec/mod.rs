//! The OCI runtime `config.json`: image config + [`RunOptions`] → [`Spec`].
//!
//! Process arguments follow Docker's rules: the image's entrypoint followed by its cmd;
//! arguments after the image replace the cmd; `--entrypoint` replaces the entrypoint and clears
//! the image's cmd. Security defaults are Podman's: its 11 capabilities (bounding, effective,
//! permitted; no inheritable, no ambient), masked and read-only paths in `/proc` and `/sys`, a
//! fresh tmpfs `/dev`, read-only sysfs. No rlimits are set, so the container inherits the
//! runtime's (asking for more than the hard cap fails on this host kind).
//!
//! [`mounts`] holds the mount list (defaults, `-v`, `--tmpfs`); [`cgroup`] the container's
//! view of `/sys/fs/cgroup` (Podman's `cgroup` mount, and the bind mounts that replace it for
//! the embedded runtime); [`etc_files`] the container's
//! `/etc/hosts`, `/etc/hostname` and `/etc/resolv.conf` (written at start, not here);
//! [`rootless`] the changes a spec needs to run as a plain user; [`limits`] what `--ulimit`,
//! `--sysctl`, `--device` and `--group-add` add; [`userns`] a user namespace of the
//! container's own (`--userns keep-id`, `--uidmap`/`--gidmap`); [`namespaces`] the
//! namespace list (`--pid`, `--ipc`, `--uts`, `--cgroupns`, `--network`).

pub mod cgroup;
pub mod etc_files;
pub mod limits;
pub mod mounts;
pub mod namespaces;
pub mod rootless;
pub mod userns;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use oci_spec::image::ImageConfiguration;
use oci_spec::runtime::{
    LinuxBuilder, LinuxCapabilitiesBuilder, LinuxCpuBuilder, LinuxDeviceCgroupBuilder,
    LinuxMemoryBuilder, LinuxPidsBuilder, LinuxResourcesBuilder, ProcessBuilder, RootBuilder, Spec,
    SpecBuilder, UserBuilder,
};

use crate::caps::capabilities;
use crate::error::{Result, RunError};
use crate::options::{Network, RunOptions};
use crate::user::resolve_user;
use mounts::{
    check_container_path, default_mounts, mount, tmpfs_mount, volume_mount, READ_ONLY_TMPFS,
};

/// `PATH` when the image sets none.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Podman's masked paths.
const MASKED_PATHS: &[&str] = &[
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/proc/interrupts",
    "/sys/firmware",
    "/sys/fs/selinux",
    "/sys/dev/block",
];

/// Podman's read-only paths.
const READONLY_PATHS: &[&str] = &[
    "/proc/asound",
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

/// Where `--init`'s binary is mounted in the container.
pub const INIT_PATH: &str = "/run/berth-init";

/// Host init binaries `--init` can use (static, so they run in any image).
const INIT_CANDIDATES: &[&str] = &[
    "/usr/libexec/podman/catatonit",
    "/usr/bin/catatonit",
    "/usr/bin/tini-static",
    "/usr/bin/tini",
];

/// The host's init binary for `--init`.
pub fn find_init() -> Result<PathBuf> {
    INIT_CANDIDATES
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .ok_or_else(|| {
            RunError::Invalid(
                "--init needs catatonit or tini installed on the host (Debian: catatonit)"
                    .to_string(),
            )
        })
}

/// The process arguments by Docker's rules.
pub fn process_args(image: &ImageConfiguration, opts: &RunOptions) -> Result<Vec<String>> {
    let config = image.config().as_ref();
    let entrypoint = match &opts.entrypoint {
        Some(e) => e.clone(),
        None => config
            .and_then(|c| c.entrypoint().clone())
            .unwrap_or_default(),
    };
    let cmd = if !opts.command.is_empty() {
        opts.command.clone()
    } else if opts.entrypoint.is_some() {
        Vec::new()
    } else {
        config.and_then(|c| c.cmd().clone()).unwrap_or_default()
    };
    let args: Vec<String> = entrypoint.into_iter().chain(cmd).collect();
    if args.is_empty() {
        return Err(RunError::Invalid(
            "no command specified: the image has no entrypoint or cmd; give one after the image"
                .to_string(),
        ));
    }
    Ok(args)
}

/// Merge environment lists: later `KEY=VALUE` entries replace earlier ones with the same key,
/// keeping first-seen order.
pub fn merge_env<'a>(lists: impl IntoIterator<Item = &'a [String]>) -> Vec<String> {
    let mut order: Vec<String> = Vec::new();
    let mut values: HashMap<String, String> = HashMap::new();
    for list in lists {
        for kv in list {
            let key = kv.split_once('=').map(|(k, _)| k).unwrap_or(kv).to_string();
            if !values.contains_key(&key) {
                order.push(key.clone());
            }
            values.insert(key, kv.clone());
        }
    }
    order
        .into_iter()
        .filter_map(|k| values.remove(&k))
        .collect()
}

/// Everything [`generate`] needs besides the options.
pub struct SpecInput<'a> {
    /// Container id (the default hostname is its first 12 characters).
    pub id: &'a str,
    /// The image's config.
    pub image: &'a ImageConfiguration,
    /// The mounted rootfs (users are resolved inside it; `root.path` points at it).
    pub rootfs: &'a Path,
    /// On the host's network, take the host's hostname by default (Podman's `run`); a
    /// build's `RUN` keeps the short id, as Buildah.
    pub host_hostname: bool,
}

/// Generate the runtime spec.
pub fn generate(input: &SpecInput<'_>, opts: &RunOptions) -> Result<Spec> {
    let config = input.image.config().as_ref();
    let mut args = process_args(input.image, opts)?;
    let init = if opts.init { Some(find_init()?) } else { None };
    if init.is_some() {
        args.splice(0..0, [INIT_PATH.to_string(), "--".to_string()]);
    }

    let user_spec = opts
        .user
        .clone()
        .or_else(|| config.and_then(|c| c.user().clone()))
        .unwrap_or_default();
    let mut user = resolve_user(input.rootfs, &user_spec)?;
    let mut annotations: HashMap<String, String> = opts.annotations.iter().cloned().collect();
    limits::group_add(
        opts,
        input.rootfs,
        &mut user.additional_gids,
        &mut annotations,
    )?;

    let image_env = config.and_then(|c| c.env().clone()).unwrap_or_default();
    let mut defaults = vec![format!("PATH={DEFAULT_PATH}")];
    if opts.terminal {
        defaults.push("TERM=xterm".to_string());
    }
    defaults.push(format!(
        "HOME={}",
        user.home
            .clone()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "/".to_string())
    ));
    let hostname = match &opts.hostname {
        Some(h) => h.clone(),
        None if input.host_hostname && opts.network == Network::Host => etc_files::host_hostname(),
        None if opts.namespaces.uts == Some(crate::options::NamespaceMode::Host) => {
            etc_files::host_hostname()
        }
        None => input.id.chars().take(12).collect(),
    };
    defaults.push(format!("HOSTNAME={hostname}"));
    defaults.push("container=berth".to_string());
    let env = merge_env([
        defaults.as_slice(),
        opts.conf_env.as_slice(),
        image_env.as_slice(),
        opts.env.as_slice(),
    ]);

    let cwd = opts
        .workdir
        .clone()
        .or_else(|| config.and_then(|c| c.working_dir().clone()))
        .filter(|w| !w.is_empty())
        .unwrap_or_else(|| "/".to_string());
    check_container_path("working directory", &cwd)?;

    let caps = capabilities(opts)?;
    let seccomp = match opts.seccomp.as_deref() {
        _ if opts.privileged => None,
        Some("unconfined") => None,
        Some(file) => Some(crate::seccomp::load_profile(Path::new(file))?),
        None => Some(crate::seccomp::default_profile(&caps)?),
    };
    let capabilities = LinuxCapabilitiesBuilder::default()
        .bounding(caps.clone())
        .effective(caps.clone())
        .permitted(caps)
        .inheritable(HashSet::new())
        .ambient(HashSet::new())
        .build()?;

    let mut process = ProcessBuilder::default()
        .terminal(opts.terminal)
        .args(args)
        .env(env)
        .cwd(PathBuf::from(&cwd))
        .user(
            UserBuilder::default()
                .uid(user.uid)
                .gid(user.gid)
                .additional_gids(user.additional_gids.clone())
                .build()?,
        )
        .capabilities(capabilities)
        .build()?;
    process.user_mut().set_umask(opts.umask);
    // Unset unless asked for, as Podman writes it (oci-spec's default says `true`, which
    // `inspect` never showed). Not `Some(false)`: libcontainer then loads the seccomp
    // filter after dropping capabilities, which a non-root user's process cannot do.
    process.set_no_new_privileges(opts.no_new_privileges.then_some(true));
    process.set_rlimits(limits::rlimits(opts)?);
    let rootless = crate::rootless::is_rootless();
    let devices = limits::devices(opts, rootless)?;

    let mut mounts = default_mounts(opts)?;
    mounts.push(cgroup::mount(opts.privileged)?);
    for v in &opts.volumes {
        let m = volume_mount(v)?;
        // A volume of the user's at /sys/fs/cgroup replaces the cgroup view, as Podman's.
        if m.destination() == Path::new(cgroup::CGROUP_ROOT) {
            mounts.retain(|d| d.destination() != m.destination());
        }
        mounts.push(m);
    }
    if let Some(init) = &init {
        let source = init.to_string_lossy();
        mounts.push(mount(
            INIT_PATH,
            "bind",
            &source,
            &["rbind", "rprivate", "ro"],
        )?);
    }
    if let Some(tz) = &opts.tz {
        let zone = crate::options::timezone::zone_file(tz)?;
        mounts.push(mount(
            "/etc/localtime",
            "bind",
            &zone.to_string_lossy(),
            &["rbind", "rprivate", "ro"],
        )?);
    }
    for t in &opts.tmpfs {
        mounts.push(tmpfs_mount(t)?);
    }
    mounts.extend(devices.mounts);
    if opts.read_only && opts.read_only_tmpfs {
        for dir in READ_ONLY_TMPFS {
            // A mount the user asked for there wins.
            if !mounts.iter().any(|m| m.destination() == Path::new(dir)) {
                mounts.push(mount(dir, "tmpfs", "tmpfs", &["rw", "nosuid", "nodev"])?);
            }
        }
    }

    let namespaces = namespaces::list(opts)?;

    let mut device_rules = vec![LinuxDeviceCgroupBuilder::default()
        .allow(opts.privileged)
        .access("rwm")
        .build()?];
    device_rules.extend(devices.rules);
    let mut resources = LinuxResourcesBuilder::default().devices(device_rules);
    if let Some(m) = opts.memory {
        resources = resources.memory(LinuxMemoryBuilder::default().limit(m).build()?);
    }
    if let Some(c) = opts.cpus {
        if !(c > 0.0 && c.is_finite()) {
            return Err(RunError::Invalid(format!(
                "invalid --cpus {c}: use a positive number"
            )));
        }
        let period: u64 = 100_000;
        resources = resources.cpu(
            LinuxCpuBuilder::default()
                .period(period)
                .quota((c * period as f64).round() as i64)
                .build()?,
        );
    }
    if let Some(p) = opts.pids_limit {
        resources = resources.pids(LinuxPidsBuilder::default().limit(p).build()?);
    }
    let mut linux = LinuxBuilder::default()
        .namespaces(namespaces)
        .resources(resources.build()?)
        .cgroups_path(PathBuf::from(format!("/berth/{}", input.id)))
        .build()?;
    linux.set_seccomp(seccomp);
    let sysctl = limits::sysctls(opts, limits::default_sysctls(opts))?;
    if !sysctl.is_empty() {
        linux.set_sysctl(Some(sysctl));
    }
    if !devices.nodes.is_empty() {
        linux.set_devices(Some(devices.nodes));
    }
    if !opts.privileged {
        linux.set_masked_paths(Some(MASKED_PATHS.iter().map(|s| s.to_string()).collect()));
        linux.set_readonly_paths(Some(READONLY_PATHS.iter().map(|s| s.to_string()).collect()));
    } else {
        // None, as Podman's `--privileged` (oci-spec's default lists runc's).
        linux.set_masked_paths(None);
        linux.set_readonly_paths(None);
    }

    let mut spec = SpecBuilder::default()
        .version("1.0.2")
        .process(process)
        .root(
            RootBuilder::default()
                .path(input.rootfs)
                .readonly(opts.read_only)
                .build()?,
        )
        .hostname(hostname)
        .mounts(mounts)
        .annotations(annotations)
        .linux(linux)
        .build()?;
    if !namespaces::own_uts(opts) {
        // The namespace's owner set its name; `/etc/hostname` and `HOSTNAME` still say it.
        spec.set_hostname(None);
    }
    if crate::rootless::is_rootless() {
        rootless::adapt_spec(&mut spec);
    }
    userns::apply(opts, &mut spec)?;
    Ok(spec)
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::image::{ConfigBuilder, ImageConfigurationBuilder};
    use oci_spec::runtime::LinuxNamespaceType;

    fn image(entrypoint: Option<&[&str]>, cmd: Option<&[&str]>) -> ImageConfiguration {
        let mut c = ConfigBuilder::default();
        if let Some(e) = entrypoint {
            c = c.entrypoint(e.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        }
        if let Some(e) = cmd {
            c = c.cmd(e.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        }
        c = c.env(vec!["PATH=/bin".to_string(), "A=image".to_string()]);
        c = c.working_dir("/srv".to_string());
        ImageConfigurationBuilder::default()
            .config(c.build().unwrap())
            .build()
            .unwrap()
    }

    fn opts(entrypoint: Option<&[&str]>, command: &[&str]) -> RunOptions {
        RunOptions {
            entrypoint: entrypoint.map(|e| e.iter().map(|s| s.to_string()).collect()),
            command: command.iter().map(|s| s.to_string()).collect(),
            ..RunOptions::default()
        }
    }

    #[test]
    fn docker_argument_rules() {
        let img = image(Some(&["/ep"]), Some(&["a", "b"]));
        assert_eq!(
            process_args(&img, &opts(None, &[])).unwrap(),
            ["/ep", "a", "b"]
        );
        assert_eq!(
            process_args(&img, &opts(None, &["x"])).unwrap(),
            ["/ep", "x"]
        );
        assert_eq!(
            process_args(&img, &opts(Some(&["/o"]), &[])).unwrap(),
            ["/o"]
        );
        assert_eq!(
            process_args(&img, &opts(Some(&["/o"]), &["y"])).unwrap(),
            ["/o", "y"]
        );
        assert!(process_args(&img, &opts(Some(&[]), &[])).is_err());
        let none = image(None, None);
        assert!(process_args(&none, &opts(None, &[])).is_err());
    }

    #[test]
    fn env_merging_and_lookup() {
        let merged = merge_env([
            &["PATH=/x".to_string(), "A=1".to_string()][..],
            &["A=2".to_string(), "B=3".to_string()][..],
        ]);
        assert_eq!(merged, ["PATH=/x", "A=2", "B=3"]);
    }

    #[test]
    fn full_spec() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("etc")).unwrap();
        std::fs::write(
            root.path().join("etc/passwd"),
            "nobody:x:65534:65534:nobody:/home/nobody:/bin/false\n",
        )
        .unwrap();
        let img = image(None, Some(&["sh"]));
        let mut o = opts(None, &[]);
        o.user = Some("nobody".into());
        o.env = vec!["A=cli".into()];
        o.network = Network::None;
        o.read_only = true;
        o.volumes = vec![format!("{}:/data:ro", root.path().display())
            .parse()
            .unwrap()];
        o.tmpfs = vec!["/scratch:size=1m".into()];
        let input = SpecInput {
            id: "0123456789abcdef",
            image: &img,
            rootfs: root.path(),
            host_hostname: true,
        };
        let spec = generate(&input, &o).unwrap();
        // A container record keeps the spec as this text and reads it back typed.
        let text = serde_json::to_string_pretty(&spec).unwrap();
        let back: oci_spec::runtime::Spec = serde_json::from_str(&text).unwrap();
        assert_eq!(back, spec);
        let p = spec.process().as_ref().unwrap();
        assert_eq!(p.user().uid(), 65534);
        assert_eq!(p.cwd(), Path::new("/srv"));
        let env = p.env().as_ref().unwrap();
        assert!(env.contains(&"A=cli".to_string()));
        assert!(env.contains(&"PATH=/bin".to_string()));
        assert!(env.contains(&"HOME=/home/nobody".to_string()));
        assert_eq!(spec.hostname().as_deref(), Some("0123456789ab"));
        assert_eq!(spec.root().as_ref().unwrap().readonly(), Some(true));
        let ns = spec
            .linux()
            .as_ref()
            .unwrap()
            .namespaces()
            .as_ref()
            .unwrap();
        assert!(ns.iter().any(|n| n.typ() == LinuxNamespaceType::Network));
        let mounts = spec.mounts().as_ref().unwrap();
        assert!(mounts.iter().any(|m| m.destination() == Path::new("/data")
            && m.options().as_ref().unwrap().contains(&"ro".to_string())));
        assert!(mounts
            .iter()
            .any(|m| m.destination() == Path::new("/scratch")));
        let caps = p.capabilities().as_ref().unwrap();
        assert_eq!(caps.inheritable().as_ref().unwrap().len(), 0);
        assert!(spec.linux().as_ref().unwrap().seccomp().is_some());
        assert!(o.security_opt("apparmor=x").is_err());
        assert!(o.security_opt("seccomp=").is_err());
        o.security_opt("seccomp=/nonexistent-berth-profile.json")
            .unwrap();
        let err = generate(&input, &o).unwrap_err().to_string();
        assert!(err.contains("nonexistent-berth-profile"), "{err}");
        o.security_opt("seccomp=unconfined").unwrap();
        let spec = generate(&input, &o).unwrap();
        assert!(spec.linux().as_ref().unwrap().seccomp().is_none());
        o.memory = Some(64 << 20);
        o.cpus = Some(0.5);
        o.pids_limit = Some(50);
        let spec = generate(&input, &o).unwrap();
        let res = spec.linux().as_ref().unwrap().resources().as_ref().unwrap();
        assert_eq!(res.memory().as_ref().unwrap().limit(), Some(64 << 20));
        assert_eq!(res.cpu().as_ref().unwrap().quota(), Some(50_000));
        assert_eq!(res.pids().as_ref().unwrap().limit(), 50);
        assert!(volume_mount(&"named:/x".parse().unwrap()).is_err());
        assert!(volume_mount(&"/nonexistent-berth-path:/x".parse().unwrap()).is_err());
    }
}
