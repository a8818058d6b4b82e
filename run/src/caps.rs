//! Capabilities: Podman's 11 defaults, `--cap-add`/`--cap-drop`, and "all" for
//! `--privileged` (every capability in berth's own bounding set: a capability the host took
//! away from berth cannot be given to a container).

use std::collections::HashSet;
use std::str::FromStr;

use oci_spec::runtime::Capability;

use crate::error::{Result, RunError};
use crate::options::RunOptions;

/// Podman's default capabilities.
pub const DEFAULT_CAPS: &[&str] = &[
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

/// Every capability name berth knows, in the kernel's numbering order (for `--privileged`
/// and `--cap-add ALL`).
const ALL_CAPS: &[&str] = &[
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_ADMIN",
    "NET_RAW",
    "IPC_LOCK",
    "IPC_OWNER",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_CHROOT",
    "SYS_PTRACE",
    "SYS_PACCT",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_NICE",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "MKNOD",
    "LEASE",
    "AUDIT_WRITE",
    "AUDIT_CONTROL",
    "SETFCAP",
    "MAC_OVERRIDE",
    "MAC_ADMIN",
    "SYSLOG",
    "WAKE_ALARM",
    "BLOCK_SUSPEND",
    "AUDIT_READ",
    "PERFMON",
    "BPF",
    "CHECKPOINT_RESTORE",
];

/// Berth's own bounding set (`CapBnd` in `/proc/self/status`); all bits when unreadable.
fn bounding_set() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("CapBnd:"))
                .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        })
        .unwrap_or(u64::MAX)
}

/// Every known capability that berth itself holds in its bounding set (`--privileged`'s, and
/// `exec --privileged`'s for the exec'd process).
pub(crate) fn all_available() -> HashSet<Capability> {
    let bounding = bounding_set();
    ALL_CAPS
        .iter()
        .enumerate()
        .filter(|(bit, _)| bounding & (1u64 << bit) != 0)
        .filter_map(|(_, c)| parse_cap(c).ok())
        .collect()
}

fn parse_cap(name: &str) -> Result<Capability> {
    let upper = name.to_ascii_uppercase();
    let bare = upper.strip_prefix("CAP_").unwrap_or(&upper);
    Capability::from_str(bare)
        .map_err(|_| RunError::Invalid(format!("unknown capability {name:?}")))
}

/// The capability set: defaults (containers.conf's `default_capabilities`, else Podman's; all
/// when privileged), plus `cap_add`, minus `cap_drop`.
pub fn capabilities(opts: &RunOptions) -> Result<HashSet<Capability>> {
    let mut caps: HashSet<Capability> = if opts.privileged {
        all_available()
    } else if let Some(defaults) = &opts.default_capabilities {
        // containers.conf's list: a name berth does not know is refused, as Podman.
        defaults
            .iter()
            .map(|c| parse_cap(c))
            .collect::<Result<_>>()?
    } else {
        DEFAULT_CAPS
            .iter()
            .filter_map(|c| parse_cap(c).ok())
            .collect()
    };
    for c in &opts.cap_add {
        if c.eq_ignore_ascii_case("all") {
            caps.extend(all_available());
        } else {
            caps.insert(parse_cap(c)?);
        }
    }
    for c in &opts.cap_drop {
        if c.eq_ignore_ascii_case("all") {
            caps.clear();
        } else {
            caps.remove(&parse_cap(c)?);
        }
    }
    Ok(caps)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capability_sets() {
        let mut o = RunOptions::default();
        assert_eq!(capabilities(&o).unwrap().len(), 11);
        o.cap_add = vec!["net_admin".into(), "CAP_SYS_PTRACE".into()];
        o.cap_drop = vec!["CHOWN".into()];
        let c = capabilities(&o).unwrap();
        assert!(c.contains(&Capability::NetAdmin) && c.contains(&Capability::SysPtrace));
        assert!(!c.contains(&Capability::Chown));
        o.cap_add = vec!["BOGUS".into()];
        assert!(capabilities(&o).is_err());
        o.cap_add.clear();
        o.cap_drop = vec!["all".into()];
        assert!(capabilities(&o).unwrap().is_empty());
    }

    #[test]
    fn privileged_is_bounded_by_berth_itself() {
        let o = RunOptions {
            privileged: true,
            ..RunOptions::default()
        };
        let caps = capabilities(&o).unwrap();
        assert!(caps.len() > 11 && caps.len() <= ALL_CAPS.len());
        assert!(caps.contains(&Capability::Chown));
    }
}
