//! Finding a container's cgroup (v1 controller directories or the v2 unified one) and
//! reading one [`CgroupSample`] from its files.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::cgroupfs::{cgroup_mounts, under};
use crate::error::{Result, RunError};

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

pub(super) fn read_optional(path: &Path) -> Result<Option<String>> {
    match fs::read_to_string(path) {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(RunError::io(path, e)),
    }
}

pub(super) fn parse_u64(path: &Path, text: &str) -> Result<u64> {
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

pub(super) fn read_u64(path: &Path) -> Result<Option<u64>> {
    read_optional(path)?
        .map(|t| parse_u64(path, &t))
        .transpose()
}

/// A memory limit: `max` (v2) or a v1 value too large to be a real limit → `None`.
pub(super) fn read_limit(path: &Path) -> Result<Option<u64>> {
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
pub(super) fn stat_value(path: &Path, key: &str) -> Result<Option<u64>> {
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
pub(super) fn blkio_v1(path: &Path) -> Result<(u64, u64)> {
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
pub(super) fn io_stat_v2(path: &Path) -> Result<(u64, u64)> {
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

pub(super) fn meminfo_total(text: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}
