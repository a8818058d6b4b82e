//! The OCI runtime `config.json`: image config + [`RunOptions`] → [`Spec`].
//!
//! Process arguments follow Docker's rules: the image's entrypoint followed by its cmd;
//! arguments after the image replace the cmd; `--entrypoint` replaces the entrypoint and clears
//! the image's cmd. Security defaults are Podman's: its 11 capabilities (bounding, effective,
//! permitted; no inheritable, no ambient), masked and read-only paths in `/proc` and `/sys`, a
//! fresh tmpfs `/dev`, read-only sysfs. No rlimits are set, so the container inherits the
//! runtime's (asking for more than the hard cap fails on this host kind).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use oci_spec::image::ImageConfiguration;
use oci_spec::runtime::{
    LinuxBuilder, LinuxCapabilitiesBuilder, LinuxCpuBuilder, LinuxDeviceCgroupBuilder,
    LinuxMemoryBuilder, LinuxNamespaceBuilder, LinuxNamespaceType, LinuxPidsBuilder,
    LinuxResourcesBuilder, Mount, MountBuilder, ProcessBuilder, RootBuilder, Spec, SpecBuilder,
    UserBuilder,
};

use crate::caps::capabilities;
use crate::error::{Result, RunError};
use crate::user::resolve_user;

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

/// The container's network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum Network {
    /// The host's network namespace (the default until private networks land).
    #[default]
    Host,
    /// A new network namespace with only a loopback device.
    None,
}

impl FromStr for Network {
    type Err = RunError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "host" => Ok(Network::Host),
            "none" => Ok(Network::None),
            other => Err(RunError::Invalid(format!(
                "unsupported --network {other:?}: use host or none (private networks come later)"
            ))),
        }
    }
}

/// What the user asked for, beyond the image config.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct RunOptions {
    /// `--entrypoint`: replaces the image's entrypoint and clears its cmd (`Some(vec![])`
    /// clears the entrypoint).
    pub entrypoint: Option<Vec<String>>,
    /// Arguments after the image: replace the image's cmd.
    pub command: Vec<String>,
    /// `KEY=VALUE` pairs from `-e` and `--env-file`, already resolved; later ones win.
    pub env: Vec<String>,
    /// `-w`.
    pub workdir: Option<String>,
    /// `-u user[:group]`.
    pub user: Option<String>,
    /// `--hostname` (default: the short container id).
    pub hostname: Option<String>,
    /// `-t`.
    pub terminal: bool,
    /// `--cap-add`.
    pub cap_add: Vec<String>,
    /// `--cap-drop`.
    pub cap_drop: Vec<String>,
    /// `--privileged`.
    pub privileged: bool,
    /// `--security-opt no-new-privileges`.
    pub no_new_privileges: bool,
    /// `-v host:ctr[:ro|rw]`.
    pub volumes: Vec<String>,
    /// `--tmpfs ctr[:options]`.
    pub tmpfs: Vec<String>,
    /// `--network`.
    pub network: Network,
    /// `--read-only`.
    pub read_only: bool,
    /// `--read-only-tmpfs` (the CLI's default: true): with `read_only`, a writable tmpfs on
    /// `/tmp`, `/var/tmp` and `/run`, as Podman.
    #[serde(default)]
    pub read_only_tmpfs: bool,
    /// `--annotation KEY=VALUE`.
    pub annotations: Vec<(String, String)>,
    /// `--stop-signal` (default: the image's `StopSignal`, else SIGTERM), as a number.
    #[serde(default)]
    pub stop_signal: Option<i32>,
    /// `--memory`, in bytes.
    #[serde(default)]
    pub memory: Option<i64>,
    /// `--cpus`: CPU time as a number of CPUs (quota over a 100 ms period).
    #[serde(default)]
    pub cpus: Option<f64>,
    /// `--pids-limit`.
    #[serde(default)]
    pub pids_limit: Option<i64>,
    /// `--security-opt seccomp=…`: `None` the default filter, `unconfined`, or a file.
    #[serde(default)]
    pub seccomp: Option<String>,
    /// Named volumes the container uses (their `-v` entries are resolved to host paths).
    #[serde(default)]
    pub named_volumes: Vec<String>,
    /// `--init`: run a tiny init (catatonit or tini from the host) as PID 1, which forwards
    /// signals and reaps zombies.
    #[serde(default)]
    pub init: bool,
    /// `--rootfs PATH[:O]`: an exploded root filesystem instead of the image.
    #[serde(default)]
    pub rootfs: Option<crate::exploded::ExplodedRootfs>,
    /// Anonymous volumes (`-v /path`) made for this container: `rm -v` and `--rm` remove
    /// them.
    #[serde(default)]
    pub anonymous_volumes: Vec<String>,
    /// `--image-volume`: what the image's `VOLUME`s become.
    #[serde(default)]
    pub image_volume: crate::image_volumes::ImageVolumeMode,
}

impl RunOptions {
    /// Apply one `--security-opt` value; unknown values are refused.
    pub fn security_opt(&mut self, opt: &str) -> Result<()> {
        match opt {
            "no-new-privileges" | "no-new-privileges=true" | "no-new-privileges:true" => {
                self.no_new_privileges = true;
                Ok(())
            }
            "no-new-privileges=false" | "no-new-privileges:false" => {
                self.no_new_privileges = false;
                Ok(())
            }
            other => match other.split_once(['=', ':']) {
                Some(("seccomp", value)) if !value.is_empty() => {
                    self.seccomp = Some(value.to_string());
                    Ok(())
                }
                _ => Err(RunError::Invalid(format!(
                    "unsupported --security-opt {other:?}: berth knows no-new-privileges, \
                     seccomp=unconfined and seccomp=FILE"
                ))),
            },
        }
    }
}

/// A size such as `64m`, `1g`, `512k` or `1048576` (bytes), as `--memory` takes it.
pub fn parse_size(s: &str) -> Result<i64> {
    let t = s.trim().to_ascii_lowercase();
    let t = t.strip_suffix('b').unwrap_or(&t);
    let (num, mult) = match t.chars().last() {
        Some('k') => (&t[..t.len() - 1], 1i64 << 10),
        Some('m') => (&t[..t.len() - 1], 1 << 20),
        Some('g') => (&t[..t.len() - 1], 1 << 30),
        _ => (t, 1),
    };
    num.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .and_then(|n| n.checked_mul(mult))
        .ok_or_else(|| {
            RunError::Invalid(format!("invalid size {s:?}: use a number with k, m or g"))
        })
}

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

/// Resolve `-e` values: `K=V` as given, a bare `K` from `lookup` (the host environment;
/// skipped when unset, as Podman).
pub fn resolve_env_args(args: &[String], lookup: impl Fn(&str) -> Option<String>) -> Vec<String> {
    args.iter()
        .filter_map(|a| {
            if a.contains('=') {
                Some(a.clone())
            } else {
                lookup(a).map(|v| format!("{a}={v}"))
            }
        })
        .collect()
}

/// Read an `--env-file`: `K=V` lines, `#` comments and blank lines skipped, bare `K` from
/// `lookup`.
pub fn read_env_file(path: &Path, lookup: impl Fn(&str) -> Option<String>) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path).map_err(|e| RunError::io(path, e))?;
    let lines: Vec<String> = text
        .lines()
        .map(str::trim_start)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect();
    Ok(resolve_env_args(&lines, lookup))
}

fn mount(dest: &str, typ: &str, source: &str, options: &[&str]) -> Result<Mount> {
    Ok(MountBuilder::default()
        .destination(dest)
        .typ(typ)
        .source(source)
        .options(options.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        .build()?)
}

fn check_container_path(what: &str, p: &str) -> Result<()> {
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
fn default_mounts(opts: &RunOptions) -> Result<Vec<Mount>> {
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

/// Everything [`generate`] needs besides the options.
pub struct SpecInput<'a> {
    /// Container id (the default hostname is its first 12 characters).
    pub id: &'a str,
    /// The image's config.
    pub image: &'a ImageConfiguration,
    /// The mounted rootfs (users are resolved inside it; `root.path` points at it).
    pub rootfs: &'a Path,
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
    let user = resolve_user(input.rootfs, &user_spec)?;

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
    let hostname = opts
        .hostname
        .clone()
        .unwrap_or_else(|| input.id.chars().take(12).collect());
    defaults.push(format!("HOSTNAME={hostname}"));
    defaults.push("container=berth".to_string());
    let env = merge_env([
        defaults.as_slice(),
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
    if opts.no_new_privileges {
        process.set_no_new_privileges(Some(true));
    }

    let mut mounts = default_mounts(opts)?;
    if opts.network == Network::Host {
        for f in ["/etc/hosts", "/etc/resolv.conf"] {
            if Path::new(f).exists() {
                mounts.push(mount(f, "bind", f, &["rbind", "rprivate", "ro"])?);
            }
        }
    }
    for v in &opts.volumes {
        mounts.push(volume_mount(v)?);
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
    for t in &opts.tmpfs {
        mounts.push(tmpfs_mount(t)?);
    }
    if opts.read_only && opts.read_only_tmpfs {
        for dir in READ_ONLY_TMPFS {
            // A mount the user asked for there wins.
            if !mounts.iter().any(|m| m.destination() == Path::new(dir)) {
                mounts.push(mount(dir, "tmpfs", "tmpfs", &["rw", "nosuid", "nodev"])?);
            }
        }
    }

    let mut kinds = vec![
        LinuxNamespaceType::Pid,
        LinuxNamespaceType::Ipc,
        LinuxNamespaceType::Uts,
        LinuxNamespaceType::Mount,
    ];
    if opts.network == Network::None {
        kinds.push(LinuxNamespaceType::Network);
    }
    let namespaces = kinds
        .into_iter()
        .map(|typ| LinuxNamespaceBuilder::default().typ(typ).build())
        .collect::<std::result::Result<Vec<_>, _>>()?;

    let devices = if opts.privileged {
        vec![LinuxDeviceCgroupBuilder::default()
            .allow(true)
            .access("rwm")
            .build()?]
    } else {
        vec![LinuxDeviceCgroupBuilder::default()
            .allow(false)
            .access("rwm")
            .build()?]
    };
    let mut resources = LinuxResourcesBuilder::default().devices(devices);
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
    if !opts.privileged {
        linux.set_masked_paths(Some(MASKED_PATHS.iter().map(|s| s.to_string()).collect()));
        linux.set_readonly_paths(Some(READONLY_PATHS.iter().map(|s| s.to_string()).collect()));
    }

    let annotations: HashMap<String, String> = opts.annotations.iter().cloned().collect();
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
    if crate::rootless::is_rootless() {
        crate::rootless::adapt_spec(&mut spec);
    }
    Ok(spec)
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::image::{ConfigBuilder, ImageConfigurationBuilder};

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
        let looked = resolve_env_args(
            &[
                "X=1".to_string(),
                "HOSTVAR".to_string(),
                "UNSET".to_string(),
            ],
            |k| (k == "HOSTVAR").then(|| "h".to_string()),
        );
        assert_eq!(looked, ["X=1", "HOSTVAR=h"]);
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
        o.volumes = vec![format!("{}:/data:ro", root.path().display())];
        o.tmpfs = vec!["/scratch:size=1m".into()];
        let input = SpecInput {
            id: "0123456789abcdef",
            image: &img,
            rootfs: root.path(),
        };
        let spec = generate(&input, &o).unwrap();
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
        assert_eq!(parse_size("64m").unwrap(), 64 << 20);
        assert_eq!(parse_size("1G").unwrap(), 1 << 30);
        assert_eq!(parse_size("4096").unwrap(), 4096);
        assert!(parse_size("lots").is_err());
        o.memory = Some(64 << 20);
        o.cpus = Some(0.5);
        o.pids_limit = Some(50);
        let spec = generate(&input, &o).unwrap();
        let res = spec.linux().as_ref().unwrap().resources().as_ref().unwrap();
        assert_eq!(res.memory().as_ref().unwrap().limit(), Some(64 << 20));
        assert_eq!(res.cpu().as_ref().unwrap().quota(), Some(50_000));
        assert_eq!(res.pids().as_ref().unwrap().limit(), 50);
        assert!(volume_mount("named:/x").is_err());
        assert!(volume_mount("/nonexistent-berth-path:/x").is_err());
    }
}
