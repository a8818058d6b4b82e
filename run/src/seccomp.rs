//! The default seccomp filter: every syscall allowed except those a container has no business
//! making without the matching capability (modules, kexec, reboot, mount and namespace
//! changes, keyrings, bpf, perf, ptrace, clock setting, swap, quotas …), which fail with
//! `EPERM`. Adding a capability lifts its group, as Docker's and Podman's profiles do;
//! `--privileged` and `--security-opt seccomp=unconfined` run without a filter, and
//! `seccomp=FILE` loads an OCI `linux.seccomp` JSON object.

use std::collections::HashSet;
use std::path::Path;

use oci_spec::runtime::{
    Arch, Capability, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompBuilder, LinuxSyscallBuilder,
};

use crate::error::{Result, RunError};

/// Syscalls denied unless the container holds the capability of their group (`None`: always).
const DENIED: &[(Option<Capability>, &[&str])] = &[
    (
        Some(Capability::SysModule),
        &[
            "init_module",
            "finit_module",
            "delete_module",
            "create_module",
            "query_module",
            "get_kernel_syms",
        ],
    ),
    (
        Some(Capability::SysBoot),
        &["reboot", "kexec_load", "kexec_file_load"],
    ),
    (
        Some(Capability::SysAdmin),
        &[
            "mount",
            "umount",
            "umount2",
            "pivot_root",
            "setns",
            "unshare",
            "swapon",
            "swapoff",
            "quotactl",
            "lookup_dcookie",
            "open_by_handle_at",
            "name_to_handle_at",
            "fsopen",
            "fsconfig",
            "fsmount",
            "fspick",
            "move_mount",
            "open_tree",
            "bpf",
            "perf_event_open",
            "fanotify_init",
            "nfsservctl",
        ],
    ),
    (
        Some(Capability::SysPtrace),
        &["ptrace", "process_vm_readv", "process_vm_writev", "kcmp"],
    ),
    (
        Some(Capability::SysTime),
        &[
            "settimeofday",
            "stime",
            "clock_settime",
            "clock_adjtime",
            "adjtimex",
        ],
    ),
    (Some(Capability::SysPacct), &["acct"]),
    (Some(Capability::SysRawio), &["iopl", "ioperm"]),
    (
        Some(Capability::SysNice),
        &["mbind", "set_mempolicy", "move_pages", "migrate_pages"],
    ),
    (
        None,
        &[
            "add_key",
            "request_key",
            "keyctl",
            "userfaultfd",
            "uselib",
            "ustat",
            "sysfs",
            "_sysctl",
            "vm86",
            "vm86old",
        ],
    ),
];

fn architectures() -> Vec<Arch> {
    if cfg!(target_arch = "x86_64") {
        vec![Arch::ScmpArchX86_64, Arch::ScmpArchX86, Arch::ScmpArchX32]
    } else if cfg!(target_arch = "aarch64") {
        vec![Arch::ScmpArchAarch64, Arch::ScmpArchArm]
    } else {
        vec![Arch::ScmpArchNative]
    }
}

/// The default filter for a container holding `caps`.
pub fn default_profile(caps: &HashSet<Capability>) -> Result<LinuxSeccomp> {
    let names: Vec<String> = DENIED
        .iter()
        .filter(|(cap, _)| cap.is_none_or(|c| !caps.contains(&c)))
        .flat_map(|(_, names)| names.iter().map(|n| n.to_string()))
        .collect();
    let deny = LinuxSyscallBuilder::default()
        .names(names)
        .action(LinuxSeccompAction::ScmpActErrno)
        .errno_ret(libc::EPERM as u32)
        .build()?;
    Ok(LinuxSeccompBuilder::default()
        .default_action(LinuxSeccompAction::ScmpActAllow)
        .architectures(architectures())
        .syscalls(vec![deny])
        .build()?)
}

/// Load an OCI `linux.seccomp` object from `path`.
pub fn load_profile(path: &Path) -> Result<LinuxSeccomp> {
    let text = std::fs::read_to_string(path).map_err(|e| RunError::io(path, e))?;
    serde_json::from_str(&text).map_err(|e| {
        RunError::Invalid(format!(
            "{}: not an OCI linux.seccomp object: {e}",
            path.display()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capabilities_lift_their_groups() {
        let none = default_profile(&HashSet::new()).unwrap();
        let names = none.syscalls().as_ref().unwrap()[0].names().clone();
        assert!(names.contains(&"mount".to_string()) && names.contains(&"ptrace".to_string()));
        let admin: HashSet<Capability> = [Capability::SysAdmin].into_iter().collect();
        let p = default_profile(&admin).unwrap();
        let names = p.syscalls().as_ref().unwrap()[0].names().clone();
        assert!(!names.contains(&"mount".to_string()));
        assert!(names.contains(&"keyctl".to_string()));
    }

    #[test]
    fn profiles_load_from_files() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("s.json");
        std::fs::write(&p, r#"{"defaultAction":"SCMP_ACT_ALLOW"}"#).unwrap();
        assert_eq!(
            load_profile(&p).unwrap().default_action(),
            LinuxSeccompAction::ScmpActAllow
        );
        std::fs::write(&p, "{").unwrap();
        assert!(load_profile(&p).is_err());
    }
}
