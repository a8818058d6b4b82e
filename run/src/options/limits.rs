//! Podman's syntax for the process limits and kernel settings of a container: `--ulimit
//! NAME=SOFT[:HARD]` ([`Ulimit`]), `--sysctl KEY=VALUE` (Podman's allowed, namespaced set:
//! [`parse_sysctl`]), `--shm-size` ([`parse_shm_size`]), `--umask` ([`parse_umask`]) and
//! `--group-add` ([`GroupAdd`]). Errors are worded as Podman 4.3's.

use crate::error::{Result, RunError};

/// `--ulimit` names, as Podman (go-units) knows them, with their `RLIMIT_*` names.
pub const ULIMIT_NAMES: &[(&str, &str)] = &[
    ("as", "RLIMIT_AS"),
    ("core", "RLIMIT_CORE"),
    ("cpu", "RLIMIT_CPU"),
    ("data", "RLIMIT_DATA"),
    ("fsize", "RLIMIT_FSIZE"),
    ("locks", "RLIMIT_LOCKS"),
    ("memlock", "RLIMIT_MEMLOCK"),
    ("msgqueue", "RLIMIT_MSGQUEUE"),
    ("nice", "RLIMIT_NICE"),
    ("nofile", "RLIMIT_NOFILE"),
    ("nproc", "RLIMIT_NPROC"),
    ("rss", "RLIMIT_RSS"),
    ("rtprio", "RLIMIT_RTPRIO"),
    ("rttime", "RLIMIT_RTTIME"),
    ("sigpending", "RLIMIT_SIGPENDING"),
    ("stack", "RLIMIT_STACK"),
];

/// One `--ulimit`: `-1` is unlimited.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Ulimit {
    /// Podman's short name (`nofile`).
    pub name: String,
    pub soft: i64,
    pub hard: i64,
}

impl Ulimit {
    /// Parse `NAME=SOFT[:HARD]` (HARD defaults to SOFT).
    pub fn parse(s: &str) -> Result<Ulimit> {
        Self::parse_inner(s).map_err(|why| {
            RunError::Invalid(format!(
                "ulimit option {s:?} requires name=SOFT:HARD, failed to be parsed: {why}"
            ))
        })
    }

    fn parse_inner(s: &str) -> std::result::Result<Ulimit, String> {
        let Some((name, values)) = s.split_once('=') else {
            return Err(format!("invalid ulimit argument: {s}"));
        };
        if !ULIMIT_NAMES.iter().any(|(n, _)| *n == name) {
            return Err(format!("invalid ulimit type: {name}"));
        }
        let parts: Vec<&str> = values.split(':').collect();
        if parts.len() > 2 {
            return Err(format!(
                "too many limit value arguments - {values}, can only have up to two, `soft[:hard]`"
            ));
        }
        let num = |t: &str| {
            t.parse::<i64>()
                .map_err(|_| format!("strconv.ParseInt: parsing {t:?}: invalid syntax"))
        };
        let soft = num(parts[0])?;
        let hard = match parts.get(1) {
            Some(h) => num(h)?,
            None => soft,
        };
        if soft > hard {
            return Err(format!(
                "ulimit soft limit must be less than or equal to hard limit: {soft} > {hard}"
            ));
        }
        Ok(Ulimit {
            name: name.to_string(),
            soft,
            hard,
        })
    }

    /// The kernel's `RLIMIT_*` name.
    pub fn rlimit_name(&self) -> &'static str {
        ULIMIT_NAMES
            .iter()
            .find(|(n, _)| *n == self.name)
            .map(|(_, r)| *r)
            .unwrap_or("RLIMIT_NOFILE")
    }

    /// A limit as the kernel takes it: `-1` (any negative) is `RLIM_INFINITY`.
    pub fn kernel_value(v: i64) -> u64 {
        u64::try_from(v).unwrap_or(u64::MAX)
    }
}

/// Podman's namespaced sysctls that are not under an allowed prefix.
const SYSCTLS_ALLOWED: &[&str] = &[
    "kernel.msgmax",
    "kernel.msgmnb",
    "kernel.msgmni",
    "kernel.sem",
    "kernel.shmall",
    "kernel.shmmax",
    "kernel.shmmni",
    "kernel.shm_rmid_forced",
];

/// Prefixes of Podman's allowed sysctls (the network and the POSIX message queue namespaces).
const SYSCTL_PREFIXES: &[&str] = &["net.", "fs.mqueue."];

/// `--umask`'s octal text (Podman's: up to four octal digits).
pub fn parse_umask(text: &str) -> Result<u32> {
    u32::from_str_radix(text, 8)
        .ok()
        .filter(|m| *m <= 0o7777 && !text.is_empty() && text.len() <= 4)
        .ok_or_else(|| RunError::Invalid(format!("invalid umask string {text}: invalid argument")))
}

/// Parse one `--sysctl KEY=VALUE`, refusing what Podman refuses (a sysctl no namespace of the
/// container holds). Whether the container has the namespace (`net.*` with `--network host`)
/// is checked by the spec generator.
pub fn parse_sysctl(s: &str) -> Result<(String, String)> {
    let Some((key, value)) = s.split_once('=') else {
        return Err(RunError::Invalid(format!(
            "{s} is invalid, sysctl values must be in the form of KEY=VALUE"
        )));
    };
    if key.trim() != key || value.trim() != value {
        return Err(RunError::Invalid(format!(
            "'{s}' is invalid, extra spaces found"
        )));
    }
    if SYSCTLS_ALLOWED.contains(&key) || SYSCTL_PREFIXES.iter().any(|p| key.starts_with(p)) {
        return Ok((key.to_string(), value.to_string()));
    }
    Err(RunError::Invalid(format!("sysctl '{key}' is not allowed")))
}

/// `--shm-size`: a size as `--memory` takes it; `0` is a `/dev/shm` without a size limit.
pub fn parse_shm_size(s: &str) -> Result<i64> {
    if s.trim() == "0" {
        return Ok(0);
    }
    super::parse_size(s).map_err(|_| {
        RunError::Invalid(format!(
            "unable to translate --shm-size: invalid size: '{s}'"
        ))
    })
}

/// `--group-add`: supplementary groups of the container's process.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum GroupAdd {
    /// Groups by number or by name (resolved in the image's `/etc/group`).
    Groups(Vec<String>),
    /// `keep-groups`: the process keeps the supplementary groups of the user who runs berth
    /// (rootless; the runtime is asked through crun's `run.oci.keep_original_groups`).
    KeepGroups,
}

/// The annotation that asks crun to keep the caller's supplementary groups.
pub const KEEP_GROUPS_ANNOTATION: &str = "run.oci.keep_original_groups";

impl GroupAdd {
    /// Parse every `--group-add` value; `keep-groups` must stand alone, as Podman.
    pub fn parse(values: &[String]) -> Result<Option<GroupAdd>> {
        if values.is_empty() {
            return Ok(None);
        }
        if values.iter().any(|v| v == "keep-groups") {
            if values.len() > 1 {
                return Err(RunError::Invalid(
                    "the '--group-add keep-groups' option is not allowed with any other \
                     --group-add options"
                        .to_string(),
                ));
            }
            return Ok(Some(GroupAdd::KeepGroups));
        }
        for v in values {
            if v.is_empty() || v.contains([':', '\n', '\0', '/']) {
                return Err(RunError::Invalid(format!(
                    "invalid --group-add {v:?}: use a group name or number"
                )));
            }
        }
        Ok(Some(GroupAdd::Groups(values.to_vec())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ulimits_as_podman() {
        let u = Ulimit::parse("nofile=2048:4096").unwrap();
        assert_eq!(
            (u.soft, u.hard, u.rlimit_name()),
            (2048, 4096, "RLIMIT_NOFILE")
        );
        let u = Ulimit::parse("core=-1").unwrap();
        assert_eq!((Ulimit::kernel_value(u.soft), u.hard), (u64::MAX, -1));
        let err = |s: &str| Ulimit::parse(s).unwrap_err().to_string();
        assert_eq!(
            err("nofile=10:5"),
            "ulimit option \"nofile=10:5\" requires name=SOFT:HARD, failed to be parsed: \
             ulimit soft limit must be less than or equal to hard limit: 10 > 5"
        );
        assert!(err("bogus=1").ends_with("invalid ulimit type: bogus"));
        assert!(err("nofile").ends_with("invalid ulimit argument: nofile"));
        assert!(err("nofile=x").ends_with("strconv.ParseInt: parsing \"x\": invalid syntax"));
        assert!(err("nofile=1:2:3").contains("too many limit value arguments"));
    }

    #[test]
    fn sysctls_as_podman() {
        assert_eq!(
            parse_sysctl("net.core.somaxconn=1024").unwrap(),
            ("net.core.somaxconn".to_string(), "1024".to_string())
        );
        assert!(parse_sysctl("kernel.msgmax=8192").is_ok());
        assert!(parse_sysctl("fs.mqueue.msg_max=20").is_ok());
        let err = |s: &str| parse_sysctl(s).unwrap_err().to_string();
        assert_eq!(
            err("vm.swappiness=1"),
            "sysctl 'vm.swappiness' is not allowed"
        );
        assert_eq!(
            err("kernel.hostname=x"),
            "sysctl 'kernel.hostname' is not allowed"
        );
        assert_eq!(
            err("foo"),
            "foo is invalid, sysctl values must be in the form of KEY=VALUE"
        );
        assert!(err("net.a = 1").contains("extra spaces"));
    }

    #[test]
    fn shm_and_groups() {
        assert_eq!(parse_shm_size("128m").unwrap(), 128 << 20);
        assert_eq!(parse_shm_size("0").unwrap(), 0);
        assert_eq!(
            parse_shm_size("abc").unwrap_err().to_string(),
            "unable to translate --shm-size: invalid size: 'abc'"
        );
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(GroupAdd::parse(&[]).unwrap(), None);
        assert_eq!(
            GroupAdd::parse(&v(&["10", "wheel"])).unwrap(),
            Some(GroupAdd::Groups(v(&["10", "wheel"])))
        );
        assert_eq!(
            GroupAdd::parse(&v(&["keep-groups"])).unwrap(),
            Some(GroupAdd::KeepGroups)
        );
        assert!(GroupAdd::parse(&v(&["keep-groups", "10"])).is_err());
        assert!(GroupAdd::parse(&v(&["a:b"])).is_err());
    }

    #[test]
    fn umask_is_octal() {
        assert_eq!(parse_umask("0022").unwrap(), 0o22);
        assert_eq!(parse_umask("77").unwrap(), 0o77);
        assert!(parse_umask("0088").is_err());
        assert!(parse_umask("12345").is_err());
        assert!(parse_umask("").is_err());
    }
}
