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

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::container::{Container, State};
use crate::engine::Engine;
use crate::error::{Result, RunError};

/// Podman's error for a plain user on a host without a pure cgroup v2 hierarchy.
pub const ROOTLESS_V1: &str = "stats is not supported in rootless mode without cgroups v2";

/// What one reading of a cgroup gives.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CgroupSample {
    /// CPU time used by the cgroup's processes, in nanoseconds.
    pub cpu_nanos: u64,
    /// Memory in use, without the inactive page cache (as Podman and Docker count it).
    pub mem_usage: u64,
    /// The cgroup's memory limit; `None` when unlimited (`max`).
    pub mem_limit: Option<u64>,
    /// Tasks in the cgroup.
    pub pids: u64,
    /// Bytes read from and written to block devices.
    pub block_read: u64,
    pub block_write: u64,
}

/// Where a container's cgroup files are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cgroup {
    /// One directory per v1 controller (`None`: that hierarchy is not mounted).
    V1 {
        cpuacct: Option<PathBuf>,
        memory: Option<PathBuf>,
        pids: Option<PathBuf>,
        blkio: Option<PathBuf>,
    },
    /// The unified v2 directory.
    V2 { dir: PathBuf },
}

/// A cgroup mount: the hierarchy's root inside the filesystem, and where it is mounted.
struct CgroupMount {
    root: String,
    point: PathBuf,
    /// v1 controllers (super options), empty for cgroup2.
    controllers: Vec<String>,
    v2: bool,
}

/// Unescape the octal escapes (`\040`) of a mountinfo path.
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() {
            let digits = std::str::from_utf8(&b[i + 1..i + 4]).unwrap_or("");
            if let Ok(v) = u8::from_str_radix(digits, 8) {
                out.push(v);
                i += 4;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn cgroup_mounts(mountinfo: &str) -> Vec<CgroupMount> {
    mountinfo
        .lines()
        .filter_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            let l: Vec<&str> = left.split(' ').collect();
            let r: Vec<&str> = right.split(' ').collect();
            let fstype = *r.first()?;
            let v2 = match fstype {
                "cgroup2" => true,
                "cgroup" => false,
                _ => return None,
            };
            let controllers = if v2 {
                Vec::new()
            } else {
                r.get(2)?.split(',').map(str::to_string).collect()
            };
            Some(CgroupMount {
                root: unescape(l.get(3)?),
                point: PathBuf::from(unescape(l.get(4)?)),
                controllers,
                v2,
            })
        })
        .collect()
}

/// `mount.point` + (`path` relative to the mount's root), when `path` is under that root.
fn under(mount: &CgroupMount, path: &str) -> Option<PathBuf> {
    let rel = if mount.root == "/" {
        path.trim_start_matches('/')
    } else {
        let rest = path.strip_prefix(mount.root.as_str())?;
        if !rest.is_empty() && !rest.starts_with('/') {
            return None;
        }
        rest.trim_start_matches('/')
    };
    Some(if rel.is_empty() {
        mount.point.clone()
    } else {
        mount.point.join(rel)
    })
}

impl Cgroup {
    /// The cgroup of process `pid`.
    pub fn locate(pid: u32) -> Result<Cgroup> {
        let proc_path = format!("/proc/{pid}/cgroup");
        let proc_cgroup =
            fs::read_to_string(&proc_path).map_err(|e| RunError::io(&proc_path, e))?;
        let mountinfo = fs::read_to_string("/proc/self/mountinfo")
            .map_err(|e| RunError::io("/proc/self/mountinfo", e))?;
        Cgroup::from_proc(&proc_cgroup, &mountinfo).ok_or_else(|| {
            RunError::FailedPrecondition(format!(
                "process {pid} is in no mounted cgroup (see {proc_path})"
            ))
        })
    }

    /// The cgroup named by a `/proc/<pid>/cgroup` text, given the cgroup mounts of a
    /// `/proc/self/mountinfo` text: v1 when a v1 hierarchy holds `memory` or `cpuacct` (a
    /// hybrid host's unified hierarchy holds no controllers), else the unified one.
    pub fn from_proc(proc_cgroup: &str, mountinfo: &str) -> Option<Cgroup> {
        let mounts = cgroup_mounts(mountinfo);
        let mut v1: Vec<(Vec<&str>, &str)> = Vec::new();
        let mut unified = None;
        for line in proc_cgroup.lines() {
            let mut it = line.splitn(3, ':');
            let (Some(_), Some(ctrls), Some(path)) = (it.next(), it.next(), it.next()) else {
                continue;
            };
            if ctrls.is_empty() {
                unified = Some(path);
            } else {
                v1.push((ctrls.split(',').collect(), path));
            }
        }
        let dir_of = |controller: &str| {
            let (_, path) = v1.iter().find(|(c, _)| c.contains(&controller))?;
            mounts
                .iter()
                .filter(|m| !m.v2 && m.controllers.iter().any(|c| c == controller))
                .find_map(|m| under(m, path))
        };
        let (cpuacct, memory) = (dir_of("cpuacct"), dir_of("memory"));
        if cpuacct.is_some() || memory.is_some() {
            return Some(Cgroup::V1 {
                cpuacct,
                memory,
                pids: dir_of("pids"),
                blkio: dir_of("blkio"),
            });
        }
        let path = unified?;
        mounts
            .iter()
            .filter(|m| m.v2)
            .find_map(|m| under(m, path))
            .map(|dir| Cgroup::V2 { dir })
    }

    /// Read the cgroup's counters. A counter whose file is missing (its controller is not
    /// enabled) reads 0; any other error is returned with the path.
    pub fn read(&self) -> Result<CgroupSample> {
        let mut s = CgroupSample::default();
        match self {
            Cgroup::V1 {
                cpuacct,
                memory,
                pids,
                blkio,
            } => {
                if let Some(d) = cpuacct {
                    s.cpu_nanos = read_u64(&d.join("cpuacct.usage"))?.unwrap_or(0);
                }
                if let Some(d) = memory {
                    let usage = read_u64(&d.join("memory.usage_in_bytes"))?.unwrap_or(0);
                    let inactive =
                        stat_value(&d.join("memory.stat"), "total_inactive_file")?.unwrap_or(0);
                    s.mem_usage = usage.saturating_sub(inactive);
                    s.mem_limit = read_limit(&d.join("memory.limit_in_bytes"))?;
                }
                if let Some(d) = pids {
                    s.pids = read_u64(&d.join("pids.current"))?.unwrap_or(0);
                }
                if let Some(d) = blkio {
                    (s.block_read, s.block_write) =
                        blkio_v1(&d.join("blkio.throttle.io_service_bytes_recursive"))?;
                }
            }
            Cgroup::V2 { dir } => {
                s.cpu_nanos = stat_value(&dir.join("cpu.stat"), "usage_usec")?
                    .unwrap_or(0)
                    .saturating_mul(1000);
                let current = read_u64(&dir.join("memory.current"))?.unwrap_or(0);
                let inactive = stat_value(&dir.join("memory.stat"), "inactive_file")?.unwrap_or(0);
                s.mem_usage = current.saturating_sub(inactive);
                s.mem_limit = read_limit(&dir.join("memory.max"))?;
                s.pids = match read_u64(&dir.join("pids.current"))? {
                    Some(n) => n,
                    // Without the pids controller: the processes in the cgroup.
                    None => read_optional(&dir.join("cgroup.procs"))?
                        .map(|t| t.lines().filter(|l| !l.trim().is_empty()).count() as u64)
                        .unwrap_or(0),
                };
                (s.block_read, s.block_write) = io_stat_v2(&dir.join("io.stat"))?;
            }
        }
        Ok(s)
    }
}

fn read_optional(path: &Path) -> Result<Option<String>> {
    match fs::read_to_string(path) {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(RunError::io(path, e)),
    }
}

fn parse_u64(path: &Path, text: &str) -> Result<u64> {
    text.trim().parse().map_err(|_| {
        RunError::io(
            path,
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("not a number: {:?}", text.trim()),
            ),
        )
    })
}

fn read_u64(path: &Path) -> Result<Option<u64>> {
    read_optional(path)?
        .map(|t| parse_u64(path, &t))
        .transpose()
}

/// A memory limit: `max` (v2) or a v1 value too large to be a real limit → `None`.
fn read_limit(path: &Path) -> Result<Option<u64>> {
    let Some(text) = read_optional(path)? else {
        return Ok(None);
    };
    if text.trim() == "max" {
        return Ok(None);
    }
    let v = parse_u64(path, &text)?;
    // v1's "unlimited" is PAGE_COUNTER_MAX pages: 0x7FFFFFFFFFFFF000 with 4 KiB pages.
    Ok((v < (1 << 62)).then_some(v))
}

/// The value of `key` in a flat-keyed file (`memory.stat`, `cpu.stat`).
fn stat_value(path: &Path, key: &str) -> Result<Option<u64>> {
    let Some(text) = read_optional(path)? else {
        return Ok(None);
    };
    Ok(text.lines().find_map(|l| {
        let mut it = l.split_whitespace();
        (it.next() == Some(key))
            .then(|| it.next()?.parse().ok())
            .flatten()
    }))
}

/// v1 `blkio.throttle.io_service_bytes_recursive`: `MAJ:MIN Read N` lines (and `Total N`).
fn blkio_v1(path: &Path) -> Result<(u64, u64)> {
    let text = read_optional(path)?.unwrap_or_default();
    let (mut read, mut write) = (0u64, 0u64);
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if let [_, op, value] = f[..] {
            let v: u64 = value.parse().unwrap_or(0);
            match op.to_ascii_lowercase().as_str() {
                "read" => read = read.saturating_add(v),
                "write" => write = write.saturating_add(v),
                _ => {}
            }
        }
    }
    Ok((read, write))
}

/// v2 `io.stat`: `MAJ:MIN rbytes=N wbytes=N rios=N …` lines.
fn io_stat_v2(path: &Path) -> Result<(u64, u64)> {
    let text = read_optional(path)?.unwrap_or_default();
    let (mut read, mut write) = (0u64, 0u64);
    for kv in text.lines().flat_map(|l| l.split_whitespace().skip(1)) {
        let Some((k, v)) = kv.split_once('=') else {
            continue;
        };
        let v: u64 = v.parse().unwrap_or(0);
        match k {
            "rbytes" => read = read.saturating_add(v),
            "wbytes" => write = write.saturating_add(v),
            _ => {}
        }
    }
    Ok((read, write))
}

/// The host's memory (`MemTotal` of `/proc/meminfo`), in bytes.
pub fn host_memory() -> Option<u64> {
    meminfo_total(&fs::read_to_string("/proc/meminfo").ok()?)
}

fn meminfo_total(text: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

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

/// Whether the host has a pure cgroup v2 hierarchy at `/sys/fs/cgroup`.
pub fn cgroup2_unified() -> bool {
    Path::new("/sys/fs/cgroup/cgroup.controllers").exists()
}

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

/// `%.2f%%`.
pub fn percent(v: f64) -> String {
    format!("{v:.2}%")
}

/// Go's `%.4g` (4 significant digits, trailing zeros dropped).
fn go_g4(v: f64) -> String {
    if v == 0.0 {
        return "0".to_string();
    }
    let sci = format!("{v:.3e}");
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let trim = |s: &str| -> String {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s.to_string()
        }
    };
    if !(-4..4).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{}e{sign}{:02}", trim(mant), exp.abs());
    }
    let decimals = (3 - exp).max(0) as usize;
    trim(&format!("{v:.decimals$}"))
}

fn scaled(bytes: u64, base: f64, units: &[&str]) -> String {
    let mut v = bytes as f64;
    let mut i = 0;
    while v >= base && i + 1 < units.len() {
        v /= base;
        i += 1;
    }
    format!("{}{}", go_g4(v), units[i])
}

/// Go's `units.HumanSize`: SI units, 4 significant digits, no space (`241.7kB`, `0B`).
pub fn human_size(bytes: u64) -> String {
    scaled(
        bytes,
        1000.0,
        &["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"],
    )
}

/// Go's `units.BytesSize`: binary units (`236KiB`, `64MiB`).
pub fn bytes_size(bytes: u64) -> String {
    scaled(
        bytes,
        1024.0,
        &["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"],
    )
}

/// Go's `time.Duration.String` of `nanos`: `0s`, `512ns`, `1.5µs`, `944.4223ms`, `1h2m3.5s`.
pub fn go_duration(nanos: u64) -> String {
    fn frac(whole: u64, rem: u64, digits: usize) -> String {
        let f = format!("{rem:0digits$}");
        let f = f.trim_end_matches('0');
        if f.is_empty() {
            whole.to_string()
        } else {
            format!("{whole}.{f}")
        }
    }
    match nanos {
        0 => "0s".to_string(),
        1..=999 => format!("{nanos}ns"),
        1_000..=999_999 => format!("{}µs", frac(nanos / 1_000, nanos % 1_000, 3)),
        1_000_000..=999_999_999 => {
            format!("{}ms", frac(nanos / 1_000_000, nanos % 1_000_000, 6))
        }
        _ => {
            let secs = nanos / 1_000_000_000;
            let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
            let mut out = String::new();
            if h > 0 {
                out.push_str(&format!("{h}h"));
            }
            if h > 0 || m > 0 {
                out.push_str(&format!("{m}m"));
            }
            out.push_str(&format!("{}s", frac(s, nanos % 1_000_000_000, 9)));
            out
        }
    }
}

fn unix_nanos(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// The `linux.cgroupsPath` of a container's spec (JSON), if it has one.
fn cgroups_path(spec: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(spec).ok()?;
    v.get("linux")?
        .get("cgroupsPath")?
        .as_str()
        .filter(|p| !p.is_empty())
        .map(str::to_string)
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
        let c = self.refresh(c.clone())?;
        let pid = match (c.state, c.pid) {
            (State::Running, Some(p)) => p,
            _ => {
                return Err(RunError::FailedPrecondition(format!(
                    "container {} is not running: container state improper",
                    c.name
                )))
            }
        };
        if cgroups_path(&c.spec).is_none() {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, body: &str) {
        fs::write(dir.join(name), body).unwrap();
    }

    #[test]
    fn v2_reads_a_fake_cgroup_dir() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path();
        write(
            d,
            "cpu.stat",
            "usage_usec 1500000\nuser_usec 1000000\nsystem_usec 500000\n",
        );
        write(d, "memory.current", "10485760\n");
        write(
            d,
            "memory.stat",
            "anon 4096\nfile 8192\nactive_file 100\ninactive_file 2097152\n",
        );
        write(d, "memory.max", "67108864\n");
        write(d, "pids.current", "3\n");
        write(
            d,
            "io.stat",
            "8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n\
             8:16 rbytes=1000 wbytes=0 rios=1 wios=0 dbytes=0 dios=0\n",
        );
        let s = Cgroup::V2 {
            dir: d.to_path_buf(),
        }
        .read()
        .unwrap();
        assert_eq!(
            s,
            CgroupSample {
                cpu_nanos: 1_500_000_000,
                mem_usage: 10_485_760 - 2_097_152,
                mem_limit: Some(67_108_864),
                pids: 3,
                block_read: 5096,
                block_write: 8192,
            }
        );
        // No limit, no pids controller, no io controller.
        write(d, "memory.max", "max\n");
        fs::remove_file(d.join("pids.current")).unwrap();
        fs::remove_file(d.join("io.stat")).unwrap();
        write(d, "cgroup.procs", "12\n13\n");
        let s = Cgroup::V2 {
            dir: d.to_path_buf(),
        }
        .read()
        .unwrap();
        assert_eq!(s.mem_limit, None);
        assert_eq!(s.pids, 2);
        assert_eq!((s.block_read, s.block_write), (0, 0));
        // A garbled counter names its file.
        write(d, "memory.current", "lots\n");
        let err = Cgroup::V2 {
            dir: d.to_path_buf(),
        }
        .read()
        .unwrap_err()
        .to_string();
        assert!(err.contains("memory.current"), "{err}");
    }

    #[test]
    fn v1_reads_fake_controller_dirs() {
        let t = tempfile::tempdir().unwrap();
        let sub = |n: &str| {
            let p = t.path().join(n);
            fs::create_dir(&p).unwrap();
            p
        };
        let (cpu, mem, pids, blk) = (sub("cpuacct"), sub("memory"), sub("pids"), sub("blkio"));
        write(&cpu, "cpuacct.usage", "2034927882\n");
        write(&mem, "memory.usage_in_bytes", "1241664\n");
        write(
            &mem,
            "memory.stat",
            "cache 0\ninactive_file 5\ntotal_inactive_file 1000000\n",
        );
        write(&mem, "memory.limit_in_bytes", "9223372036854771712\n");
        write(&pids, "pids.current", "1\n");
        write(
            &blk,
            "blkio.throttle.io_service_bytes_recursive",
            "8:0 Read 4096\n8:0 Write 512\n8:0 Sync 0\n8:0 Total 4608\nTotal 4608\n",
        );
        let s = Cgroup::V1 {
            cpuacct: Some(cpu),
            memory: Some(mem),
            pids: Some(pids),
            blkio: Some(blk),
        }
        .read()
        .unwrap();
        assert_eq!(
            s,
            CgroupSample {
                cpu_nanos: 2_034_927_882,
                mem_usage: 241_664,
                mem_limit: None,
                pids: 1,
                block_read: 4096,
                block_write: 512,
            }
        );
    }

    const MOUNTINFO: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";

    #[test]
    fn locates_v1_on_a_hybrid_host_and_v2_on_a_pure_one() {
        let proc_cgroup = "\
9:name=systemd:/
8:pids:/berth/abc
7:blkio:/berth/abc
4:memory:/berth/abc
2:cpuacct:/berth/abc
1:cpu:/berth/abc
0::/berth/abc
";
        let cg = Cgroup::from_proc(proc_cgroup, MOUNTINFO).unwrap();
        assert_eq!(
            cg,
            Cgroup::V1 {
                cpuacct: Some("/sys/fs/cgroup/cpuacct/berth/abc".into()),
                memory: Some("/sys/fs/cgroup/memory/berth/abc".into()),
                pids: Some("/sys/fs/cgroup/pids/berth/abc".into()),
                blkio: Some("/sys/fs/cgroup/blkio/berth/abc".into()),
            }
        );
        let v2 = "25 1 0:22 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n";
        assert_eq!(
            Cgroup::from_proc("0::/berth/abc\n", v2),
            Some(Cgroup::V2 {
                dir: "/sys/fs/cgroup/berth/abc".into()
            })
        );
        // A mount of a sub-hierarchy (as inside a container): paths relative to its root.
        let nested = "25 1 0:22 /outer /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n";
        assert_eq!(
            Cgroup::from_proc("0::/outer/berth/abc\n", nested),
            Some(Cgroup::V2 {
                dir: "/sys/fs/cgroup/berth/abc".into()
            })
        );
        assert_eq!(Cgroup::from_proc("0::/elsewhere\n", nested), None);
    }

    #[test]
    fn cpu_and_memory_figures_as_podman() {
        let s = CgroupSample {
            cpu_nanos: 2_000_000_000,
            mem_usage: 241_664,
            mem_limit: Some(67_108_864),
            pids: 1,
            block_read: 0,
            block_write: 0,
        };
        let sec = 1_000_000_000u64;
        // First sample: since the start (4 s ago) → 50 %, as the average.
        let first = ContainerStats::from_sample(
            "id",
            "n",
            &s,
            (0, 0),
            10 * sec,
            6 * sec,
            None,
            Some(25_280_000_000),
        );
        assert_eq!(first.cpu_perc(), "50.00%");
        assert_eq!(first.avg_cpu_perc(), "50.00%");
        assert_eq!(first.mem_usage_text(), "241.7kB / 67.11MB");
        assert_eq!(first.mem_perc(), "0.36%");
        assert_eq!(first.net_io(), "0B / 0B");
        assert_eq!(first.cpu_time(), "2s");
        // Second sample 1 s later with 1 s more CPU → 100 %; the average is 60 %.
        let s2 = CgroupSample {
            cpu_nanos: 3 * sec,
            ..s
        };
        let second = ContainerStats::from_sample(
            "id",
            "n",
            &s2,
            (0, 0),
            11 * sec,
            6 * sec,
            Some(&first),
            None,
        );
        assert_eq!(second.cpu_perc(), "100.00%");
        assert_eq!(second.avg_cpu_perc(), "60.00%");
        // No cgroup limit: the host's memory.
        let unlimited = CgroupSample {
            mem_limit: None,
            ..s
        };
        let st = ContainerStats::from_sample(
            "id",
            "n",
            &unlimited,
            (0, 0),
            sec,
            0,
            None,
            Some(25_280_000_000),
        );
        assert_eq!(st.mem_limit, 25_280_000_000);
        assert_eq!(st.mem_usage_text(), "241.7kB / 25.28GB");
        assert_eq!(ContainerStats::default().cpu_perc(), "0.00%");
    }

    #[test]
    fn go_formats() {
        assert_eq!(human_size(0), "0B");
        assert_eq!(human_size(516), "516B");
        assert_eq!(human_size(1372), "1.372kB");
        assert_eq!(human_size(237_568), "237.6kB");
        assert_eq!(human_size(999_960), "1000kB");
        assert_eq!(human_size(25_281_572_864), "25.28GB");
        assert_eq!(bytes_size(245_760), "240KiB");
        assert_eq!(bytes_size(67_108_864), "64MiB");
        assert_eq!(bytes_size(25_281_572_864), "23.55GiB");
        assert_eq!(go_duration(0), "0s");
        assert_eq!(go_duration(512), "512ns");
        assert_eq!(go_duration(1_500), "1.5µs");
        assert_eq!(go_duration(3_439_961), "3.439961ms");
        assert_eq!(go_duration(944_422_300), "944.4223ms");
        assert_eq!(go_duration(62_500_000_000), "1m2.5s");
        assert_eq!(go_duration(3_600_000_000_000), "1h0m0s");
        assert_eq!(percent(35.734), "35.73%");
    }

    #[test]
    fn meminfo_netdev_and_spec() {
        assert_eq!(
            meminfo_total("MemTotal:       24688648 kB\nMemFree: 1 kB\n"),
            Some(24_688_648 * 1024)
        );
        let dev = "Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:     100       1    0    0    0     0          0         0      100       1    0    0    0     0       0          0
  eth0:    1372      10    0    0    0     0          0         0      516       5    0    0    0     0       0          0
";
        assert_eq!(net_dev(dev), (1372, 516));
        assert_eq!(
            cgroups_path(r#"{"linux":{"cgroupsPath":"/berth/x"}}"#),
            Some("/berth/x".to_string())
        );
        assert_eq!(cgroups_path(r#"{"linux":{}}"#), None);
        assert_eq!(unescape(r"/a\040b"), "/a b");
    }
}
