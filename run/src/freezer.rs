//! The cgroup freezer of a container (`pause`, `unpause`, and `paused` in `ps` and
//! `inspect`): the v1 `freezer` hierarchy's `freezer.state` (`FROZEN`, `THAWED`) when the
//! container's process is in one, else the v2 cgroup's `cgroup.freeze` (and `cgroup.events`'
//! `frozen`). Found from `/proc/<pid>/cgroup`, so it works whichever runtime made the cgroup.
//! The kernel is the record: a container is paused when its cgroup is frozen.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::cgroupfs::{controller_dir, ControllerDir};
use crate::error::{Result, RunError};

/// A container's freezer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Freezer {
    /// A v1 freezer cgroup directory.
    V1(PathBuf),
    /// A v2 cgroup directory.
    V2(PathBuf),
}

impl Freezer {
    /// The freezer of process `pid`'s cgroup.
    pub fn of_pid(pid: u32) -> Result<Freezer> {
        let proc_path = format!("/proc/{pid}/cgroup");
        let cgroups = fs::read_to_string(&proc_path).map_err(|e| RunError::io(&proc_path, e))?;
        let mountinfo = fs::read_to_string("/proc/self/mountinfo")
            .map_err(|e| RunError::io("/proc/self/mountinfo", e))?;
        Freezer::from_proc(&cgroups, &mountinfo).ok_or_else(|| {
            RunError::FailedPrecondition(format!(
                "process {pid} has no cgroup freezer (pause needs cgroups: not for a rootless container on cgroup v1)"
            ))
        })
    }

    /// From a `/proc/<pid>/cgroup` text and a `/proc/self/mountinfo` text: the v1 freezer
    /// hierarchy first, else the v2 cgroup (not its root, which cannot be frozen).
    pub fn from_proc(proc_cgroup: &str, mountinfo: &str) -> Option<Freezer> {
        Some(match controller_dir(proc_cgroup, mountinfo, "freezer")? {
            ControllerDir::V1(dir) => Freezer::V1(dir),
            ControllerDir::V2(dir) => Freezer::V2(dir),
        })
    }

    /// Whether the cgroup is frozen now.
    pub fn is_frozen(&self) -> bool {
        match self {
            Freezer::V1(dir) => read(&dir.join("freezer.state")).is_some_and(|s| s == "FROZEN"),
            Freezer::V2(dir) => {
                read(&dir.join("cgroup.events")).is_some_and(|s| s.lines().any(|l| l == "frozen 1"))
            }
        }
    }

    /// Freeze (`true`) or thaw, and wait until the kernel says it is done.
    pub fn set(&self, frozen: bool) -> Result<()> {
        let (file, value) = match (self, frozen) {
            (Freezer::V1(d), true) => (d.join("freezer.state"), "FROZEN"),
            (Freezer::V1(d), false) => (d.join("freezer.state"), "THAWED"),
            (Freezer::V2(d), true) => (d.join("cgroup.freeze"), "1"),
            (Freezer::V2(d), false) => (d.join("cgroup.freeze"), "0"),
        };
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            fs::write(&file, value).map_err(|e| RunError::io(&file, e))?;
            if self.is_frozen() == frozen {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(RunError::FailedPrecondition(format!(
                    "{}: still not {value} after 5 s",
                    file.display()
                )));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// Whether a running container with init `pid` is paused (false when its freezer cannot be
/// read).
pub fn is_paused(pid: Option<u32>) -> bool {
    pid.and_then(|p| Freezer::of_pid(p).ok())
        .is_some_and(|f| f.is_frozen())
}

fn read(path: &Path) -> Option<String> {
    fs::read_to_string(path).ok().map(|s| s.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOUNTINFO: &str = "\
30 25 0:26 / /sys/fs/cgroup/unified rw,nosuid shared:9 - cgroup2 cgroup2 rw
35 25 0:31 / /sys/fs/cgroup/freezer rw,nosuid shared:14 - cgroup cgroup rw,freezer
36 25 0:32 / /sys/fs/cgroup/memory rw,nosuid shared:15 - cgroup cgroup rw,memory
";

    #[test]
    fn v1_freezer_first_then_v2() {
        let proc = "6:freezer:/berth/abc\n4:memory:/berth/abc\n0::/berth/abc\n";
        assert_eq!(
            Freezer::from_proc(proc, MOUNTINFO),
            Some(Freezer::V1("/sys/fs/cgroup/freezer/berth/abc".into()))
        );
        let proc = "6:freezer:/\n0::/berth/abc\n";
        assert_eq!(
            Freezer::from_proc(proc, MOUNTINFO),
            Some(Freezer::V2("/sys/fs/cgroup/unified/berth/abc".into()))
        );
        assert_eq!(Freezer::from_proc("6:freezer:/\n0::/\n", MOUNTINFO), None);
    }
}
