//! The options model: what the user asked for beyond the image config ([`RunOptions`]), and
//! the parsers from Podman's CLI syntax into it (`--image-volume`, `--security-opt`,
//! `--memory`, `-e`/`--env-file`, `--annotation`/`--label`, `--entrypoint`; `-v` in
//! [`volume`]; the network flags, `--network`, `-p`, `--dns*`, `--add-host`, …, in [`network`];
//! `--ulimit`, `--sysctl`, `--shm-size`, `--group-add`, `--umask` in [`limits`]; `--tz` in
//! [`timezone`]; `--device` in [`device`];
//! `--log-driver`/`--log-opt` in [`log`]; `--userns`, `--uidmap`, `--gidmap` in [`userns`];
//! `--secret` in [`crate::secrets`]; `--ipc`, `--uts`, `--pid`, `--cgroupns` in
//! [`namespaces`]). Every front end builds a [`RunOptions`] through these, once; the spec
//! generator and the engine only read it.
//!
//! A container record keeps its options as JSON (`containers.options` in `berth.db`): fields
//! added since carry `#[serde(default)]`, so older records still load.

use std::path::Path;
use std::str::FromStr;

use crate::error::{Result, RunError};
use crate::exploded::ExplodedRootfs;

pub mod device;
pub mod limits;
pub mod log;
pub mod namespaces;
pub mod network;
pub mod timezone;
pub mod userns;
pub mod volume;

pub use namespaces::{NamespaceKind, NamespaceMode, Namespaces};
pub use network::{
    parse_mac, HostEntry, Network, NetworkAttachment, NetworkFlags, PORTS_DISCARDED,
};
pub use volume::{VolumeOption, VolumeSource, VolumeSpec};

pub use device::DeviceSpec;
pub use limits::{GroupAdd, Ulimit};
pub use log::{LogConfig, LogDriver};

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
    /// `-v`, parsed ([`VolumeSpec`]); stored in Podman's string syntax. Named and anonymous
    /// volumes are resolved to their directories when the container is created.
    pub volumes: Vec<VolumeSpec>,
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
    pub rootfs: Option<ExplodedRootfs>,
    /// Anonymous volumes (`-v /path`) made for this container: `rm -v` and `--rm` remove
    /// them.
    #[serde(default)]
    pub anonymous_volumes: Vec<String>,
    /// `--image-volume`: what the image's `VOLUME`s become.
    #[serde(default)]
    pub image_volume: ImageVolumeMode,
    /// `-p/--publish`, parsed (host ports still 0 where omitted: chosen when the network is
    /// set up).
    #[serde(default)]
    pub publish: Vec<berth_network::ports::PublishSpec>,
    /// `-P/--publish-all`: publish the image's `ExposedPorts` too, on free host ports.
    #[serde(default)]
    pub publish_all: bool,
    /// The final port mappings (`-p`, and `-P`'s exposed ports), host ports chosen: set at
    /// create for bridge mode, given to netavark at each start.
    #[serde(default)]
    pub ports: Vec<berth_network::ports::PortMapping>,
    /// `--dns`: the container's nameservers instead of the host's (or its network's).
    #[serde(default)]
    pub dns_servers: Vec<std::net::IpAddr>,
    /// `--dns-search` (`.`: none at all).
    #[serde(default)]
    pub dns_search: Vec<String>,
    /// `--dns-option`.
    #[serde(default)]
    pub dns_options: Vec<String>,
    /// `--dns none`: no generated `/etc/resolv.conf`; the image's stays.
    #[serde(default)]
    pub use_image_resolv_conf: bool,
    /// `--add-host NAME:IP`, in the order given.
    #[serde(default)]
    pub add_hosts: Vec<HostEntry>,
    /// `--no-hosts`: no generated `/etc/hosts`; the image's stays.
    #[serde(default)]
    pub use_image_hosts: bool,

    // --- Daily-use run options (issue 20, runopts): limits, kernel settings, devices,
    // groups, the log driver and secrets. `--env-host` is resolved into `env` by the front
    // end. ---
    /// `--ulimit NAME=SOFT[:HARD]`: the process's rlimits (none given: the runtime's).
    #[serde(default)]
    pub ulimits: Vec<Ulimit>,
    /// `--sysctl KEY=VALUE` (Podman's allowed set), over berth's default sysctls.
    #[serde(default)]
    pub sysctls: Vec<(String, String)>,
    /// `--shm-size`, in bytes (`None`: Podman's 64 MiB; `0`: no limit).
    #[serde(default)]
    pub shm_size: Option<i64>,
    /// `--device HOST[:CTR[:PERMS]]`, each with its host node's numbers.
    #[serde(default)]
    pub devices: Vec<DeviceSpec>,
    /// `--group-add`.
    #[serde(default)]
    pub group_add: Option<GroupAdd>,
    /// `--log-driver`, `--log-opt`.
    #[serde(default)]
    pub log: LogConfig,
    /// `--secret NAME[,type=mount|env,target=…,uid=…,gid=…,mode=…]`: secrets by id, their
    /// data read from the secret store at each start (never kept in the record or the spec).
    #[serde(default)]
    pub secrets: Vec<crate::secrets::usage::SecretUse>,
    /// `--userns keep-id`, `--uidmap`/`--gidmap`: a user namespace of the container's own.
    #[serde(default)]
    pub userns: Option<userns::UserNs>,
    // Restart policy and health check (issue 20, branch `health`).
    /// `--restart`.
    #[serde(default)]
    pub restart: crate::restart_policy::RestartPolicy,
    /// The health check: `--health-cmd`'s, or (resolved at create) the image's
    /// `HEALTHCHECK`; `None`: none.
    #[serde(default)]
    pub healthcheck: Option<crate::health::HealthConfig>,
    /// `--no-healthcheck`: not even the image's.
    #[serde(default)]
    pub no_healthcheck: bool,
    /// `--health-on-failure`.
    #[serde(default)]
    pub health_on_failure: crate::health::OnFailure,
    /// The command line that created the container (Podman's `CreateCommand`), which
    /// `generate systemd --new` runs again; empty when a front end gave none.
    #[serde(default)]
    pub create_command: Vec<String>,
    // Namespace sharing and pods (issue 17).
    /// `--ipc`, `--uts`, `--pid`, `--cgroupns` ([`Namespaces`]).
    #[serde(default)]
    pub namespaces: Namespaces,
    /// `--pod`: the id of the pod the container belongs to (its network, IPC and UTS
    /// namespaces are the infra container's, as the pod shares them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod: Option<String>,
    // containers.conf defaults that are not a flag's default (issue 20, branch `daily`); the
    // CLI fills them from `[containers]` (`src/containers/conf_defaults.rs`).
    /// containers.conf's `env`: under the image's environment and `-e`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conf_env: Vec<String>,
    /// containers.conf's `default_capabilities` (`None`: Podman's 11, `caps::DEFAULT_CAPS`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_capabilities: Option<Vec<String>>,
    /// containers.conf's `default_sysctls` (`None`: berth's own default,
    /// `net.ipv4.ping_group_range=0 0` in a network namespace of its own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_sysctls: Option<Vec<(String, String)>>,
    /// `--umask` (or containers.conf's `umask`): the container process's umask.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub umask: Option<u32>,
    /// `--tz` (or containers.conf's `tz`): the zone bound at `/etc/localtime`
    /// ([`timezone::zone_file`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tz: Option<String>,
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

/// `--image-volume`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum ImageVolumeMode {
    /// An anonymous volume per `VOLUME`, filled from the image.
    #[default]
    Bind,
    /// A tmpfs per `VOLUME`.
    Tmpfs,
    /// Nothing: the path stays part of the container's root file system.
    Ignore,
}

impl FromStr for ImageVolumeMode {
    type Err = RunError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "bind" => Ok(ImageVolumeMode::Bind),
            "tmpfs" => Ok(ImageVolumeMode::Tmpfs),
            "ignore" => Ok(ImageVolumeMode::Ignore),
            other => Err(RunError::Invalid(format!(
                "--image-volume {other:?}: use bind, tmpfs or ignore"
            ))),
        }
    }
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

/// A `KEY=VALUE` flag value (`--label`, `--annotation`); a bare `KEY` has an empty value.
pub fn parse_key_value(what: &str, s: &str) -> Result<(String, String)> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        None if !s.is_empty() => Ok((s.to_string(), String::new())),
        _ => Err(RunError::Invalid(format!(
            "invalid {what} {s:?}: use KEY=VALUE"
        ))),
    }
}

/// `--entrypoint`: a JSON array of strings, one word, or empty (clears the image's).
pub fn parse_entrypoint(e: &str) -> Result<Vec<String>> {
    if e.trim_start().starts_with('[') {
        return serde_json::from_str::<Vec<String>>(e).map_err(|err| {
            RunError::Invalid(format!(
                "--entrypoint {e:?} is not a JSON array of strings: {err}"
            ))
        });
    }
    if e.is_empty() {
        return Ok(Vec::new());
    }
    Ok(vec![e.to_string()])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("64m").unwrap(), 64 << 20);
        assert_eq!(parse_size("1G").unwrap(), 1 << 30);
        assert_eq!(parse_size("512kb").unwrap(), 512 << 10);
        assert_eq!(parse_size("4096").unwrap(), 4096);
        assert!(parse_size("lots").is_err());
        assert!(parse_size("0").is_err());
    }

    #[test]
    fn security_opts() {
        let mut o = RunOptions::default();
        o.security_opt("no-new-privileges").unwrap();
        assert!(o.no_new_privileges);
        o.security_opt("no-new-privileges:false").unwrap();
        assert!(!o.no_new_privileges);
        assert!(o.security_opt("apparmor=x").is_err());
        assert!(o.security_opt("seccomp=").is_err());
        o.security_opt("seccomp=unconfined").unwrap();
        assert_eq!(o.seccomp.as_deref(), Some("unconfined"));
    }

    #[test]
    fn env_lookup() {
        let looked = resolve_env_args(
            &[
                "X=1".to_string(),
                "HOSTVAR".to_string(),
                "UNSET".to_string(),
            ],
            |k| (k == "HOSTVAR").then(|| "h".to_string()),
        );
        assert_eq!(looked, ["X=1", "HOSTVAR=h"]);
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("env");
        std::fs::write(&f, "# comment\n\nA=1\n  HOSTVAR\n").unwrap();
        let read = read_env_file(&f, |k| (k == "HOSTVAR").then(|| "h".to_string())).unwrap();
        assert_eq!(read, ["A=1", "HOSTVAR=h"]);
    }

    #[test]
    fn flag_values() {
        assert_eq!(
            parse_key_value("label", "a=b=c").unwrap(),
            ("a".to_string(), "b=c".to_string())
        );
        assert_eq!(
            parse_key_value("label", "a").unwrap(),
            ("a".to_string(), String::new())
        );
        assert!(parse_key_value("label", "=x").is_err());
        assert!(parse_key_value("label", "").is_err());
        assert_eq!(parse_entrypoint("[\"/a\", \"b\"]").unwrap(), ["/a", "b"]);
        assert_eq!(parse_entrypoint("/bin/sh -c").unwrap(), ["/bin/sh -c"]);
        assert!(parse_entrypoint("").unwrap().is_empty());
        assert!(parse_entrypoint("[1]").is_err());
        assert_eq!("none".parse::<Network>().unwrap(), Network::None);
        assert_eq!(
            "pasta:-T,8000".parse::<Network>().unwrap(),
            Network::Pasta(vec!["-T".into(), "8000".into()])
        );
    }

    /// Records written before a field existed still load.
    #[test]
    fn old_records_load() {
        let o: RunOptions = serde_json::from_str(
            r#"{"entrypoint":null,"command":["sh"],"env":[],"workdir":null,"user":null,
                "hostname":null,"terminal":false,"cap_add":[],"cap_drop":[],"privileged":false,
                "no_new_privileges":false,"volumes":["/a:/b:ro"],"tmpfs":[],"network":"None",
                "read_only":false,"annotations":[]}"#,
        )
        .unwrap();
        assert_eq!(o.network, Network::None);
        assert_eq!(o.image_volume, ImageVolumeMode::Bind);
        assert_eq!(o.volumes, ["/a:/b:ro".parse::<VolumeSpec>().unwrap()]);
        assert_eq!(o.volumes[0].to_string(), "/a:/b:ro");
    }
}
