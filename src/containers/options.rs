//! `run`/`create` flags (Podman's names) → [`CreateRequest`], and signal names.

use std::path::PathBuf;

use berth_run::options::limits::{parse_shm_size, parse_sysctl, parse_umask};
use berth_run::options::userns::UserNs;
use berth_run::options::{
    parse_entrypoint, parse_key_value, parse_size, read_env_file, resolve_env_args, Network,
    NetworkFlags,
};
use berth_run::options::{DeviceSpec, GroupAdd, LogConfig, Ulimit};
use berth_run::secrets::SecretUse;
use berth_run::{CreateRequest, RunError, RunOptions};
use clap::Args;

#[derive(Args, Clone)]
pub struct CreateArgs {
    /// Run an init (catatonit or tini from the host) as PID 1: it forwards signals and reaps
    /// zombies.
    #[arg(long)]
    pub init: bool,
    /// Name of the container (default: a random adjective_noun).
    #[arg(long)]
    pub name: Option<String>,
    /// Remove the container when it exits.
    #[arg(long)]
    pub rm: bool,
    /// Keep stdin open.
    #[arg(short, long)]
    pub interactive: bool,
    /// Allocate a pseudo-terminal (resized with yours; with -i, your input in raw mode).
    #[arg(short, long)]
    pub tty: bool,
    /// Set an environment variable (KEY=VALUE, or KEY to copy it from berth's environment).
    #[arg(short, long = "env", value_name = "KEY[=VALUE]")]
    pub env: Vec<String>,
    /// Read environment variables from a file (KEY=VALUE lines).
    #[arg(long, value_name = "FILE")]
    pub env_file: Vec<PathBuf>,
    /// Working directory inside the container.
    #[arg(short, long, value_name = "DIR")]
    pub workdir: Option<String>,
    /// User (and group) to run as: name, uid, user:group or uid:gid, resolved in the image.
    #[arg(short, long, value_name = "USER[:GROUP]")]
    pub user: Option<String>,
    /// Override the image's entrypoint (clears the image's cmd); a JSON array or one word.
    #[arg(long, value_name = "CMD")]
    pub entrypoint: Option<String>,
    /// Bind mount a host path or a named volume: HOST-DIR|NAME:CONTAINER-DIR[:ro|rw]; a
    /// container path alone makes an anonymous volume.
    #[arg(short, long = "volume", value_name = "HOST:CTR[:OPTS]")]
    pub volume: Vec<String>,
    /// What the image's VOLUMEs become: bind (a new anonymous volume each, filled from the
    /// image), tmpfs, or ignore (part of the container's root file system).
    #[arg(long, value_name = "MODE", default_value = "bind")]
    pub image_volume: String,
    /// Mount a tmpfs: CONTAINER-DIR[:OPTIONS].
    #[arg(long, value_name = "CTR[:OPTS]")]
    pub tmpfs: Vec<String>,
    /// Container host name (default: the short container id).
    #[arg(long)]
    pub hostname: Option<String>,
    /// Mount the container's root filesystem read-only.
    #[arg(long)]
    pub read_only: bool,
    /// With --read-only, mount a writable tmpfs on /tmp, /var/tmp and /run (as Podman).
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_value = "true", default_missing_value = "true")]
    pub read_only_tmpfs: bool,
    /// Add capabilities (e.g. NET_ADMIN, or ALL).
    #[arg(long, value_delimiter = ',', value_name = "CAP")]
    pub cap_add: Vec<String>,
    /// Drop capabilities (e.g. CHOWN, or ALL).
    #[arg(long, value_delimiter = ',', value_name = "CAP")]
    pub cap_drop: Vec<String>,
    /// Give the container all capabilities and no masked paths.
    #[arg(long)]
    pub privileged: bool,
    /// Security options: no-new-privileges.
    #[arg(long, value_name = "OPT")]
    pub security_opt: Vec<String>,
    /// Network: `bridge[:OPTS]` or `private` (the default network, the default as root),
    /// `NAME[:OPTS][,NAME…]` (networks of `berth network create`), `host` (the host's
    /// network namespace; the default as a plain user until pasta is wired), `none` (only
    /// loopback), `container:ID`, `ns:PATH`. `slirp4netns` and `pasta` are refused.
    #[arg(long, alias = "net", value_name = "MODE")]
    pub network: Vec<String>,
    /// Publish container ports on the host: `[[IP:][HOSTPORT]:]CTRPORT[/tcp|udp|sctp]`,
    /// ranges as `8000-8010:80-90`, a free host port when HOSTPORT is left out.
    #[arg(short, long, value_delimiter = ',', value_name = "PORTS")]
    pub publish: Vec<String>,
    /// Publish every port the image exposes, each on a free host port.
    #[arg(short = 'P', long)]
    pub publish_all: bool,
    /// DNS server for the container (`none`: keep the image's /etc/resolv.conf).
    #[arg(long, value_delimiter = ',', value_name = "IP")]
    pub dns: Vec<String>,
    /// DNS search domain (`.`: none).
    #[arg(long, value_delimiter = ',', value_name = "DOMAIN")]
    pub dns_search: Vec<String>,
    /// DNS resolver option (e.g. ndots:2).
    #[arg(long, value_delimiter = ',', value_name = "OPTION")]
    pub dns_option: Vec<String>,
    /// Add a line to the container's /etc/hosts: HOST:IP.
    #[arg(long, value_delimiter = ',', value_name = "HOST:IP")]
    pub add_host: Vec<String>,
    /// Keep the image's /etc/hosts instead of generating one.
    #[arg(long)]
    pub no_hosts: bool,
    /// The container's IPv4 address on its network.
    #[arg(long, value_name = "IP")]
    pub ip: Vec<String>,
    /// The container's IPv6 address on its network.
    #[arg(long, value_name = "IP")]
    pub ip6: Vec<String>,
    /// The container's MAC address on its network.
    #[arg(long, value_name = "MAC")]
    pub mac_address: Option<String>,
    /// Another name for the container on its network.
    #[arg(long, value_name = "ALIAS")]
    pub network_alias: Vec<String>,
    /// Add a label (KEY=VALUE).
    #[arg(short, long, value_name = "KEY=VALUE")]
    pub label: Vec<String>,
    /// Add an annotation to the runtime spec (KEY=VALUE).
    #[arg(long, value_name = "KEY=VALUE")]
    pub annotation: Vec<String>,
    /// Memory limit (e.g. 64m, 1g).
    #[arg(short, long, value_name = "SIZE")]
    pub memory: Option<String>,
    /// CPU limit as a number of CPUs (e.g. 0.5).
    #[arg(long, value_name = "N")]
    pub cpus: Option<f64>,
    /// Maximum number of processes.
    #[arg(long, value_name = "N")]
    pub pids_limit: Option<i64>,
    /// Signal that `stop` sends first (default: the image's StopSignal, else SIGTERM).
    #[arg(long, value_name = "SIGNAL")]
    pub stop_signal: Option<String>,
    /// OCI runtime: embedded (berth's own), runc, crun or a path (default: containers.conf's
    /// runtime, else embedded as root; rootless crun, else runc, else embedded).
    #[arg(long, value_name = "RUNTIME")]
    pub runtime: Option<String>,
    /// Pull the image: missing (default: only when not in the store), always, never, newer.
    #[arg(long, value_name = "POLICY", default_value = "missing")]
    pub pull: String,
    /// Require HTTPS and verify certificates when pulling (`--tls-verify=false` allows plain
    /// HTTP).
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub tls_verify: Option<bool>,
    /// `--platform`, `--arch`, `--os`, `--variant` (issue 18: other platforms).
    #[command(flatten)]
    pub platform: super::run_platform::PlatformArgs,
    /// Path of the authentication file for pulls.
    #[arg(long, value_name = "FILE")]
    pub authfile: Option<PathBuf>,
    /// Policy file for the trust check of a pulled image.
    #[arg(long, value_name = "FILE")]
    pub signature_policy: Option<PathBuf>,
    /// Directory of registries.d files: where signatures of a pulled image are looked up.
    #[arg(long = "registries.d", value_name = "DIR")]
    pub registries_d: Option<PathBuf>,
    /// Run an exploded root filesystem: IMAGE is its directory, used as the container's
    /// root as is (changes land in it); `DIR:O` puts an overlay on top instead, so the
    /// directory stays untouched (Podman's `--rootfs`).
    #[arg(long)]
    pub rootfs: bool,
    // --- Daily-use options (issue 20, runopts) ---
    /// Ulimit options: NAME=SOFT[:HARD] (e.g. nofile=1024:2048; -1 is unlimited; default:
    /// containers.conf's default_ulimits).
    #[arg(long, value_name = "NAME=SOFT[:HARD]")]
    pub ulimit: Vec<String>,
    /// Sysctl options: KEY=VALUE (net.*, fs.mqueue.* and the IPC kernel.* ones).
    #[arg(long, value_name = "KEY=VALUE")]
    pub sysctl: Vec<String>,
    /// Size of /dev/shm (e.g. 128m; 0: no limit).
    #[arg(long, value_name = "SIZE")]
    pub shm_size: Option<String>,
    /// Add a host device: HOST[:CONTAINER][:PERMISSIONS] (permissions of r, w, m).
    #[arg(long, value_name = "HOST[:CTR[:PERMS]]")]
    pub device: Vec<String>,
    /// Add supplementary groups (names from the image, or numbers; keep-groups rootless).
    #[arg(long, value_delimiter = ',', value_name = "GROUP")]
    pub group_add: Vec<String>,
    /// Copy berth's environment into the container (-e and --env-file still win).
    #[arg(long)]
    pub env_host: bool,
    /// Logging driver: k8s-file (default), json-file, none or passthrough.
    #[arg(long, value_name = "DRIVER")]
    pub log_driver: Option<String>,
    /// Logging options: max-size=SIZE (the log starts again empty past it), tag=TAG.
    #[arg(long, value_name = "KEY=VALUE")]
    pub log_opt: Vec<String>,
    /// User namespace: keep-id (rootless: your uid and gid inside), or host (the default).
    #[arg(long, value_name = "MODE")]
    pub userns: Option<String>,
    /// A uid map for a user namespace of the container's own: CONTAINER:HOST:SIZE.
    #[arg(long, value_name = "CTR:HOST:SIZE")]
    pub uidmap: Vec<String>,
    /// A gid map for a user namespace of the container's own: CONTAINER:HOST:SIZE.
    #[arg(long, value_name = "CTR:HOST:SIZE")]
    pub gidmap: Vec<String>,
    /// The umask of the container's process (octal; default: containers.conf's umask, else
    /// the runtime's 0022).
    #[arg(long, value_name = "UMASK")]
    pub umask: Option<String>,
    /// Timezone of the container: an area-based zone (Europe/Paris), UTC, or local (the
    /// host's); default: containers.conf's tz, else the image's.
    #[arg(long, value_name = "TZ")]
    pub tz: Option<String>,
    /// Give the container a secret: NAME[,type=mount|env][,target=…][,uid=…,gid=…,mode=…].
    #[arg(long, value_name = "SECRET")]
    pub secret: Vec<String>,
    /// `--restart` and the health check (`--health-*`).
    #[command(flatten)]
    pub restart_health: crate::healthcheck::RestartHealthArgs,
    // Namespace sharing and pods (issue 17).
    /// Run in a pod (name or id), or `new:NAME` to make one: the pod's network, IPC and UTS
    /// namespaces are the container's.
    #[arg(long, value_name = "NAME")]
    pub pod: Option<String>,
    /// IPC namespace: private, host, container:ID|NAME, ns:PATH (shareable, none: private).
    #[arg(long, value_name = "MODE")]
    pub ipc: Option<String>,
    /// UTS namespace: private, host, container:ID|NAME, ns:PATH.
    #[arg(long, value_name = "MODE")]
    pub uts: Option<String>,
    /// PID namespace: private, host, container:ID|NAME, ns:PATH.
    #[arg(long, value_name = "MODE")]
    pub pid: Option<String>,
    /// Cgroup namespace: private, host, container:ID|NAME, ns:PATH.
    #[arg(long, value_name = "MODE")]
    pub cgroupns: Option<String>,
    /// Image name or id (with --rootfs: the root filesystem's directory, `DIR[:O]`).
    pub image: String,
    /// Command and arguments (replace the image's cmd).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

impl CreateArgs {
    /// The network flags, as given.
    fn network_flags(&self) -> NetworkFlags {
        NetworkFlags {
            network: self.network.clone(),
            publish: self.publish.clone(),
            publish_all: self.publish_all,
            dns: self.dns.clone(),
            dns_search: self.dns_search.clone(),
            dns_option: self.dns_option.clone(),
            add_host: self.add_host.clone(),
            no_hosts: self.no_hosts,
            ip: self.ip.clone(),
            ip6: self.ip6.clone(),
            mac_address: self.mac_address.clone(),
            network_alias: self.network_alias.clone(),
        }
    }

    /// The daily-use options (`--ulimit`, `--sysctl`, `--shm-size`, `--device`,
    /// `--group-add`, `--log-driver`/`--log-opt`, `--secret`), parsed into `options`.
    fn apply_daily_options(&self, options: &mut RunOptions) -> Result<(), RunError> {
        // `--ulimit`'s default is containers.conf's `default_ulimits` (filled in by
        // `conf_defaults::fill_flags`); given flags replace it (Podman's rule).
        options.ulimits = self
            .ulimit
            .iter()
            .map(|u| Ulimit::parse(u))
            .collect::<Result<_, _>>()?;
        options.sysctls = self
            .sysctl
            .iter()
            .map(|s| parse_sysctl(s))
            .collect::<Result<_, _>>()?;
        options.shm_size = self.shm_size.as_deref().map(parse_shm_size).transpose()?;
        options.devices = self
            .device
            .iter()
            .map(|d| DeviceSpec::parse(d))
            .collect::<Result<_, _>>()?;
        options.group_add = GroupAdd::parse(&self.group_add)?;
        options.userns = UserNs::parse(
            self.userns.as_deref(),
            &self.uidmap,
            &self.gidmap,
            berth_run::rootless::is_rootless(),
        )?;
        options.log = LogConfig::parse(self.log_driver.as_deref(), &self.log_opt)?;
        options.umask = self.umask.as_deref().map(parse_umask).transpose()?;
        if let Some(tz) = &self.tz {
            berth_run::options::timezone::zone_file(tz)?;
        }
        options.tz.clone_from(&self.tz);
        options.secrets = self
            .secret
            .iter()
            .map(|s| SecretUse::parse(s))
            .collect::<Result<_, _>>()?;
        Ok(())
    }

    /// The library request for these flags as they are (`request`, in `conf_defaults`,
    /// fills in containers.conf's defaults first).
    pub(super) fn request_from_flags(&self) -> Result<CreateRequest, RunError> {
        let host = |k: &str| std::env::var(k).ok();
        let mut env = Vec::new();
        if self.env_host {
            // Podman's --env-host: the caller's environment first, so -e and --env-file win.
            env.extend(std::env::vars().map(|(k, v)| format!("{k}={v}")));
        }
        for f in &self.env_file {
            env.extend(read_env_file(f, host)?);
        }
        env.extend(resolve_env_args(&self.env, host));
        let entrypoint = self
            .entrypoint
            .as_deref()
            .map(parse_entrypoint)
            .transpose()?;
        let mut options = RunOptions {
            entrypoint,
            command: self.command.clone(),
            env,
            workdir: self.workdir.clone(),
            user: self.user.clone(),
            hostname: self.hostname.clone(),
            terminal: self.tty,
            cap_add: self.cap_add.clone(),
            cap_drop: self.cap_drop.clone(),
            privileged: self.privileged,
            no_new_privileges: false,
            volumes: self
                .volume
                .iter()
                .map(|v| v.parse())
                .collect::<Result<_, _>>()?,
            tmpfs: self.tmpfs.clone(),
            network: Network::Host,
            read_only: self.read_only,
            read_only_tmpfs: self.read_only_tmpfs,
            annotations: self
                .annotation
                .iter()
                .map(|a| parse_key_value("annotation", a))
                .collect::<Result<_, _>>()?,
            stop_signal: self
                .stop_signal
                .as_deref()
                .map(berth_run::signals::parse_signal)
                .transpose()?,
            memory: self.memory.as_deref().map(parse_size).transpose()?,
            cpus: self.cpus,
            pids_limit: self.pids_limit,
            seccomp: None,
            named_volumes: Vec::new(),
            init: self.init,
            rootfs: self
                .rootfs
                .then(|| berth_run::exploded::ExplodedRootfs::parse(&self.image))
                .transpose()?,
            anonymous_volumes: Vec::new(),
            image_volume: self.image_volume.parse()?,
            ..RunOptions::default()
        };
        self.apply_daily_options(&mut options)?;
        for warning in options.apply_network_flags(&self.network_flags())? {
            errln!("{warning}");
        }
        options.network.ensure_wired()?;
        for opt in &self.security_opt {
            options.security_opt(opt)?;
        }
        self.restart_health.apply(&mut options)?;
        // Before any pull, as Podman's.
        berth_run::restart_policy::check_auto_remove(options.restart, self.rm)?;
        options.namespaces = berth_run::options::Namespaces::parse(
            self.ipc.as_deref(),
            self.uts.as_deref(),
            self.pid.as_deref(),
            self.cgroupns.as_deref(),
        )?;
        options.pod = self.pod.clone();
        Ok(CreateRequest {
            image: self.image.clone(),
            name: self.name.clone(),
            options,
            runtime: self.runtime.clone(),
            keep_mounted: false,
            auto_remove: self.rm,
            labels: self
                .label
                .iter()
                .map(|l| parse_key_value("label", l))
                .collect::<Result<_, _>>()?,
        })
    }
}
