//! The kernel's OOM kills in a container's memory cgroup, for `inspect`'s `OOMKilled`: the
//! cgroup's `oom_kill` count (v1 `memory.oom_control`, v2 `memory.events`) read when the
//! container starts and again when its process has exited, before the runtime removes the
//! cgroup. A higher count marks the exit as an OOM kill: the monitor leaves an `oom` file in
//! the container's bundle directory (as conmon does), removed at the next start.

use std::fs;
use std::path::{Path, PathBuf};

use crate::cgroupfs::{controller_dir, ControllerDir};

/// The name of the marker file in a container's bundle directory.
pub const MARKER: &str = "oom";

/// A memory cgroup's OOM-kill counter as it was when watching began.
#[derive(Debug)]
pub struct OomWatch {
    file: PathBuf,
    at_start: u64,
}

impl OomWatch {
    /// Watch process `pid`'s memory cgroup; `None` where there is none to read (rootless on
    /// cgroup v1, a kernel without the counter).
    pub fn of_pid(pid: u32) -> Option<OomWatch> {
        let cgroups = fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
        let mountinfo = fs::read_to_string("/proc/self/mountinfo").ok()?;
        let file = counter_file(&cgroups, &mountinfo)?;
        let at_start = oom_kills(&fs::read_to_string(&file).ok()?)?;
        Some(OomWatch { file, at_start })
    }

    /// Whether the kernel OOM-killed a process of the cgroup since watching began.
    pub fn fired(&self) -> bool {
        fs::read_to_string(&self.file)
            .ok()
            .and_then(|t| oom_kills(&t))
            .is_some_and(|n| n > self.at_start)
    }
}

/// Record (or clear) the marker of an OOM-killed exit in `bundle_dir`.
pub fn mark(bundle_dir: &Path, killed: bool) {
    let path = bundle_dir.join(MARKER);
    if killed {
        let _ = fs::write(path, b"");
    } else {
        let _ = fs::remove_file(path);
    }
}

/// Whether the last exit recorded in `bundle_dir` was an OOM kill.
pub fn was_killed(bundle_dir: &Path) -> bool {
    bundle_dir.join(MARKER).exists()
}

/// The file holding the `oom_kill` count of the memory cgroup in a `/proc/<pid>/cgroup`
/// text: the v1 memory hierarchy's `memory.oom_control`, else v2's `memory.events`.
fn counter_file(proc_cgroup: &str, mountinfo: &str) -> Option<PathBuf> {
    match controller_dir(proc_cgroup, mountinfo, "memory")? {
        ControllerDir::V1(dir) => Some(dir.join("memory.oom_control")),
        ControllerDir::V2(dir) => Some(dir.join("memory.events")).filter(|f| f.exists()),
    }
}

/// The `oom_kill N` line's count.
fn oom_kills(text: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix("oom_kill "))
        .and_then(|n| n.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOUNTINFO: &str = "\
30 25 0:26 / /sys/fs/cgroup/unified rw,nosuid shared:9 - cgroup2 cgroup2 rw
36 25 0:32 / /sys/fs/cgroup/memory rw,nosuid shared:15 - cgroup cgroup rw,memory
";

    #[test]
    fn v1_memory_hierarchy_first() {
        let proc = "4:memory:/berth/abc\n0::/berth/abc\n";
        assert_eq!(
            counter_file(proc, MOUNTINFO),
            Some("/sys/fs/cgroup/memory/berth/abc/memory.oom_control".into())
        );
    }

    #[test]
    fn counts_from_v1_and_v2_files() {
        assert_eq!(
            oom_kills("oom_kill_disable 0\nunder_oom 0\noom_kill 2\n"),
            Some(2)
        );
        assert_eq!(
            oom_kills("low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\noom_group_kill 0\n"),
            Some(1)
        );
        assert_eq!(oom_kills("oom_kill_disable 0\nunder_oom 0\n"), None);
    }
}
