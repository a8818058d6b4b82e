//! `stats`: a running container's resource use, read from its cgroup as Podman does.
//!
//! [`Cgroup::locate`] finds the container's cgroup from `/proc/<pid>/cgroup` and the cgroup
//! mounts in `/proc/self/mountinfo`: on cgroup v1 (or a hybrid host, where the v1 hierarchies
//! hold the controllers) the `cpuacct`, `memory`, `pids` and `blkio` directories, on a pure
//! cgroup v2 host the one unified directory. [`Cgroup::read`] reads a [`CgroupSample`] from
//! its files (v1: `cpuacct.usage`, `memory.usage_in_bytes` minus `total_inactive_file`,
//! `memory.limit_in_bytes`, `pids.current`, `blkio.throttle.io_service_bytes_recursive`;
//! v2: `cpu.stat` `usage_usec`, `memory.current` minus `inactive_file`, `memory.max`,
//! `pids.current`, `io.stat`). [`Engine::stats`] adds the network counters (zero when the
//! container shares the host's network namespace, as Podman reports it) and turns a sample
//! into [`ContainerStats`]: CPU % is the container's CPU time over the wall time since the
//! previous sample (the container's start for the first one), the limit is the host's memory
//! when the cgroup has none (or a larger one). The text forms (`CPU %`, `MEM USAGE / LIMIT`,
//! `CPU TIME`…) are Podman 4's: Go's `units.HumanSize`, `time.Duration` and `%.2f%%`.
//!
//! Rootless containers run without a cgroup manager, so there is nothing to read:
//! [`check_supported`] refuses with Podman's message on a cgroup v1 host.
//!
//! Modules: `cgroup` (locating and reading the cgroup), `format` (Podman's text forms), and
//! here the network counters, CPU % and [`Engine::stats`].

mod cgroup;
mod format;
#[cfg(test)]
mod tests;

use std::fs;
use std::time::{SystemTime, UNIX_EPOCH};

pub use cgroup::{host_memory, Cgroup, CgroupSample};
pub use format::{
    bytes_size, go_duration, human_age, human_size, human_size_with_precision, percent,
};

use crate::container::Container;
use crate::engine::Engine;
use crate::error::{Result, RunError};

/// Podman's error for a plain user on a host without a pure cgroup v2 hierarchy.
pub const ROOTLESS_V1: &str = "stats is not supported in rootless mode without cgroups v2";

/// Bytes received and sent by `pid`'s network namespace (its interfaces but `lo`), or zeros
/// when it is the host's (`--network host`: Podman reports no network I/O for it either).
fn net_io(pid: u32) -> (u64, u64) {
    let theirs = fs::read_link(format!("/proc/{pid}/ns/net")).ok();
    let ours = fs::read_link("/proc/self/ns/net").ok();
    if theirs.is_none() || theirs == ours {
        return (0, 0);
    }
    fs::read_to_string(format!("/proc/{pid}/net/dev"))
        .map(|t| net_dev(&t))
        .unwrap_or((0, 0))
}

/// `/proc/net/dev`: per interface `name: rx_bytes … (8 rx fields) tx_bytes …`.
fn net_dev(text: &str) -> (u64, u64) {
    let (mut rx, mut tx) = (0u64, 0u64);
    for line in text.lines().skip(2) {
        let Some((name, rest)) = line.split_once(':') else {
            continue;
        };
        if name.trim() == "lo" {
            continue;
        }
        let f: Vec<u64> = rest
            .split_whitespace()
            .map(|v| v.parse().unwrap_or(0))
            .collect();
        if f.len() >= 9 {
            rx = rx.saturating_add(f[0]);
            tx = tx.saturating_add(f[8]);
        }
    }
    (rx, tx)
}

pub use crate::cgroupfs::cgroup2_unified;

/// Refuse `stats` where it cannot work: a plain user without cgroup v2 (containers then run
/// without any cgroup), with Podman's message.
pub fn check_supported() -> Result<()> {
    if crate::rootless::is_rootless() && !cgroup2_unified() {
        return Err(RunError::FailedPrecondition(ROOTLESS_V1.to_string()));
    }
    Ok(())
}

/// One container's statistics (Podman's `define.ContainerStats`, the fields `stats` shows).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContainerStats {
    pub id: String,
    pub name: String,
    /// CPU % since the previous sample (or since the start).
    pub cpu_percent: f64,
    /// CPU % since the container started.
    pub avg_cpu: f64,
    /// Total CPU time, nanoseconds.
    pub cpu_nanos: u64,
    /// When the sample was taken (Unix time, nanoseconds).
    pub system_nanos: u64,
    pub mem_usage: u64,
    pub mem_limit: u64,
    pub mem_percent: f64,
    /// Network bytes received and sent.
    pub net_input: u64,
    pub net_output: u64,
    /// Block device bytes read and written.
    pub block_input: u64,
    pub block_output: u64,
    pub pids: u64,
}

/// Podman's CPU %: container CPU time over wall time between two samples, × 100.
pub fn cpu_percent(cpu_now: u64, cpu_before: u64, now_nanos: u64, before_nanos: u64) -> f64 {
    let cpu = cpu_now.saturating_sub(cpu_before) as f64;
    let wall = now_nanos.saturating_sub(before_nanos) as f64;
    if wall > 0.0 && cpu > 0.0 {
        cpu / wall * 100.0
    } else {
        0.0
    }
}

impl ContainerStats {
    /// A not running container: only its id and name (Podman shows zeros for it).
    pub fn idle(c: &Container) -> ContainerStats {
        ContainerStats {
            id: c.id.clone(),
            name: c.name.clone(),
            ..ContainerStats::default()
        }
    }

    /// Stats from a cgroup sample taken at `now_nanos`, after `previous` (if any) of a
    /// container started at `started_nanos`, with the host's memory `host_mem`.
    #[allow(clippy::too_many_arguments)]
    pub fn from_sample(
        id: &str,
        name: &str,
        s: &CgroupSample,
        (net_input, net_output): (u64, u64),
        now_nanos: u64,
        started_nanos: u64,
        previous: Option<&ContainerStats>,
        host_mem: Option<u64>,
    ) -> ContainerStats {
        let (prev_cpu, prev_time) = previous
            .map(|p| (p.cpu_nanos, p.system_nanos))
            .unwrap_or((0, started_nanos));
        let mem_limit = match (s.mem_limit, host_mem) {
            (Some(l), Some(h)) => l.min(h),
            (Some(l), None) => l,
            (None, Some(h)) => h,
            (None, None) => 0,
        };
        ContainerStats {
            id: id.to_string(),
            name: name.to_string(),
            cpu_percent: cpu_percent(s.cpu_nanos, prev_cpu, now_nanos, prev_time),
            avg_cpu: cpu_percent(s.cpu_nanos, 0, now_nanos, started_nanos),
            cpu_nanos: s.cpu_nanos,
            system_nanos: now_nanos,
            mem_usage: s.mem_usage,
            mem_limit,
            mem_percent: if mem_limit > 0 {
                s.mem_usage as f64 / mem_limit as f64 * 100.0
            } else {
                0.0
            },
            net_input,
            net_output,
            block_input: s.block_read,
            block_output: s.block_write,
            pids: s.pids,
        }
    }

    /// `CPU %`: `35.73%`.
    pub fn cpu_perc(&self) -> String {
        percent(self.cpu_percent)
    }

    /// `AVG CPU %`.
    pub fn avg_cpu_perc(&self) -> String {
        percent(self.avg_cpu)
    }

    /// `MEM %`.
    pub fn mem_perc(&self) -> String {
        percent(self.mem_percent)
    }

    /// `MEM USAGE / LIMIT`: `241.7kB / 67.11MB`.
    pub fn mem_usage_text(&self) -> String {
        format!(
            "{} / {}",
            human_size(self.mem_usage),
            human_size(self.mem_limit)
        )
    }

    /// `MemUsageBytes`: `236KiB / 64MiB`.
    pub fn mem_usage_bytes_text(&self) -> String {
        format!(
            "{} / {}",
            bytes_size(self.mem_usage),
            bytes_size(self.mem_limit)
        )
    }

    /// `NET IO`: received / sent.
    pub fn net_io(&self) -> String {
        format!(
            "{} / {}",
            human_size(self.net_input),
            human_size(self.net_output)
        )
    }

    /// `BLOCK IO`: read / written.
    pub fn block_io(&self) -> String {
        format!(
            "{} / {}",
            human_size(self.block_input),
            human_size(self.block_output)
        )
    }

    /// `CPU TIME`: `944.4223ms`, `1m2.5s`.
    pub fn cpu_time(&self) -> String {
        go_duration(self.cpu_nanos)
    }
}

fn unix_nanos(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// The `linux.cgroupsPath` of a container's spec, if it has one.
fn cgroups_path(spec: &oci_spec::runtime::Spec) -> Option<&std::path::Path> {
    spec.linux()
        .as_ref()?
        .cgroups_path()
        .as_deref()
        .filter(|p| !p.as_os_str().is_empty())
}

impl Engine<'_> {
    /// The statistics of running container `c`, CPU % measured since `previous` (the same
    /// container's last stats) or else since the container started. A container that is not
    /// running, or runs without a cgroup (rootless), is an error.
    pub fn stats(
        &self,
        c: &Container,
        previous: Option<&ContainerStats>,
    ) -> Result<ContainerStats> {
        check_supported()?;
        let (c, pid) = self.running_pid(c, ": container state improper")?;
        if cgroups_path(c.spec.get()?).is_none() {
            return Err(RunError::FailedPrecondition(format!(
                "container {} has no cgroup (it runs without a cgroup manager, as rootless \
                 containers do): no stats to read",
                c.name
            )));
        }
        let cgroup = Cgroup::locate(pid)?;
        let sample = cgroup.read()?;
        let net = net_io(pid);
        let now = unix_nanos(SystemTime::now());
        let started = c
            .started
            .and_then(|t| t.timestamp_nanos_opt())
            .map(|n| n.max(0) as u64)
            .unwrap_or(now);
        Ok(ContainerStats::from_sample(
            &c.id,
            &c.name,
            &sample,
            net,
            now,
            started,
            previous,
            host_memory(),
        ))
    }
}
