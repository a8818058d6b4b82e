//! `top`: the processes of a running container, read from `/proc` (every process in the
//! container's PID namespace), with Podman's descriptors (`user,pid,ppid,pcpu,etime,tty,time,
//! args` by default). PIDs are the ones the container sees; `hpid` and `huser` give the
//! host's. User and group names come from the container's `/etc/passwd` and `/etc/group`
//! (read in-root), else the number.

use std::collections::HashMap;
use std::fs;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::container::Container;
use crate::engine::Engine;
use crate::error::{Result, RunError};
use crate::user::read_in_root_optional;

/// Podman's default descriptors.
pub const DEFAULT_DESCRIPTORS: &[&str] = &[
    "user", "pid", "ppid", "pcpu", "etime", "tty", "time", "args",
];

/// Known descriptors and their column headers (Podman's).
const DESCRIPTORS: &[(&str, &str)] = &[
    ("args", "COMMAND"),
    ("comm", "COMMAND"),
    ("etime", "ELAPSED"),
    ("group", "GROUP"),
    ("hgroup", "HGROUP"),
    ("hpid", "HPID"),
    ("huser", "HUSER"),
    ("nice", "NI"),
    ("pcpu", "%CPU"),
    ("pgid", "PGID"),
    ("pid", "PID"),
    ("ppid", "PPID"),
    ("rss", "RSS"),
    ("state", "STATE"),
    ("stime", "STIME"),
    ("time", "TIME"),
    ("tty", "TTY"),
    ("user", "USER"),
    ("vsz", "VSZ"),
];

/// A `top` table: headers and one row per process.
#[derive(Debug, Clone)]
pub struct Top {
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

/// One process as read from `/proc/<pid>`.
struct Proc {
    host_pid: u32,
    ns_pid: u32,
    host_ppid: u32,
    pgrp: u32,
    state: char,
    tty_nr: i64,
    utime: u64,
    stime: u64,
    nice: i64,
    start_ticks: u64,
    vsize: u64,
    rss_pages: i64,
    uid: u32,
    gid: u32,
    host_uid: u32,
    host_gid: u32,
    comm: String,
    args: String,
}

/// Split `descriptors` (each may be comma-separated) and check them.
pub fn parse_descriptors(args: &[String]) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for a in args {
        for d in a.split(',').map(str::trim).filter(|d| !d.is_empty()) {
            if !DESCRIPTORS.iter().any(|(n, _)| *n == d) {
                let known: Vec<&str> = DESCRIPTORS.iter().map(|(n, _)| *n).collect();
                return Err(RunError::Invalid(format!(
                    "unknown top descriptor {d:?}: use {}",
                    known.join(", ")
                )));
            }
            out.push(d.to_string());
        }
    }
    if out.is_empty() {
        out = DEFAULT_DESCRIPTORS.iter().map(|d| d.to_string()).collect();
    }
    Ok(out)
}

fn ns_of(pid: u32) -> Option<std::path::PathBuf> {
    fs::read_link(format!("/proc/{pid}/ns/pid")).ok()
}

fn read_proc(pid: u32) -> Option<Proc> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let comm = stat[open + 1..close].to_string();
    let f: Vec<&str> = stat[close + 1..].split_whitespace().collect();
    // f[0] is field 3 (state).
    let num = |i: usize| f.get(i).and_then(|v| v.parse::<i64>().ok()).unwrap_or(0);
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.split_whitespace().map(str::to_string).collect::<Vec<_>>())
            .unwrap_or_default()
    };
    let ns_pid = field("NSpid:")
        .last()
        .and_then(|v| v.parse().ok())
        .unwrap_or(pid);
    let uid = field("Uid:")
        .get(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let gid = field("Gid:")
        .get(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let meta = fs::metadata(format!("/proc/{pid}")).ok();
    use std::os::unix::fs::MetadataExt;
    let args = fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| {
            b.split(|c| *c == 0)
                .filter(|a| !a.is_empty())
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default();
    Some(Proc {
        host_pid: pid,
        ns_pid,
        host_ppid: num(1) as u32,
        pgrp: num(2) as u32,
        state: f.first().and_then(|s| s.chars().next()).unwrap_or('?'),
        tty_nr: num(4),
        utime: num(11) as u64,
        stime: num(12) as u64,
        nice: num(16),
        start_ticks: num(19) as u64,
        vsize: num(20) as u64,
        rss_pages: num(21),
        uid,
        gid,
        host_uid: meta.as_ref().map(|m| m.uid()).unwrap_or(uid),
        host_gid: meta.as_ref().map(|m| m.gid()).unwrap_or(gid),
        args: if args.is_empty() {
            format!("[{comm}]")
        } else {
            args
        },
        comm,
    })
}

/// `name:x:id:…` lines → id → name.
fn id_names(text: Option<String>) -> HashMap<u32, String> {
    text.unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let mut it = l.split(':');
            let name = it.next()?;
            let id = it.nth(1)?.parse().ok()?;
            Some((id, name.to_string()))
        })
        .collect()
}

fn uptime_secs() -> f64 {
    fs::read_to_string("/proc/uptime")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0)
}

/// A duration as Go prints it (Podman's `etime` and `time`): `1h2m3.5s`, `3.25s`, `0s`.
fn go_duration(secs: f64) -> String {
    if secs <= 0.0 {
        return "0s".to_string();
    }
    let total = secs;
    let h = (total / 3600.0).floor();
    let m = ((total - h * 3600.0) / 60.0).floor();
    let s = total - h * 3600.0 - m * 60.0;
    let sec = format!("{s:.6}");
    let sec = sec.trim_end_matches('0').trim_end_matches('.');
    let mut out = String::new();
    if h > 0.0 {
        out.push_str(&format!("{h}h"));
    }
    if h > 0.0 || m > 0.0 {
        out.push_str(&format!("{m}m"));
    }
    out.push_str(&format!("{sec}s"));
    out
}

fn tty_name(tty_nr: i64) -> String {
    if tty_nr == 0 {
        return "?".to_string();
    }
    let major = (tty_nr >> 8) & 0xfff;
    let minor = (tty_nr & 0xff) | ((tty_nr >> 12) & 0xfff00);
    match major {
        136..=143 => format!("pts/{}", (major - 136) * 256 + minor),
        4 => format!("tty{minor}"),
        _ => "?".to_string(),
    }
}

impl Engine<'_> {
    /// The processes of running container `c`, with the given descriptors.
    pub fn top(&self, c: &Container, descriptors: &[String]) -> Result<Top> {
        let (c, pid) = self.running_pid(c, "")?;
        let ns = ns_of(pid).ok_or_else(|| {
            RunError::FailedPrecondition(format!("container {}: its process {pid} is gone", c.name))
        })?;
        let mut procs: Vec<Proc> = fs::read_dir("/proc")
            .map_err(|e| RunError::io("/proc", e))?
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
            .filter(|p| ns_of(*p).as_ref() == Some(&ns))
            .filter_map(read_proc)
            .collect();
        procs.sort_by_key(|p| p.ns_pid);
        let ns_pids: HashMap<u32, u32> = procs.iter().map(|p| (p.host_pid, p.ns_pid)).collect();
        let snap = self.container_snapshot(&c)?;
        let rootfs: &Path = &snap.mountpoint;
        let users = id_names(read_in_root_optional(rootfs, "etc/passwd").ok().flatten());
        let groups = id_names(read_in_root_optional(rootfs, "etc/group").ok().flatten());
        // SAFETY: sysconf has no memory effects.
        let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
        // SAFETY: as above.
        let page_kib = (unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(4096) / 1024) as i64;
        let uptime = uptime_secs();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        let name = |m: &HashMap<u32, String>, id: u32| {
            m.get(&id).cloned().unwrap_or_else(|| id.to_string())
        };
        let rows = procs
            .iter()
            .map(|p| {
                let elapsed = (uptime - p.start_ticks as f64 / hz).max(0.0);
                let cpu = (p.utime + p.stime) as f64 / hz;
                descriptors
                    .iter()
                    .map(|d| match d.as_str() {
                        "args" => p.args.clone(),
                        "comm" => p.comm.clone(),
                        "etime" => go_duration(elapsed),
                        "group" => name(&groups, p.gid),
                        "hgroup" => p.host_gid.to_string(),
                        "hpid" => p.host_pid.to_string(),
                        "huser" => p.host_uid.to_string(),
                        "nice" => p.nice.to_string(),
                        "pcpu" => {
                            let pc = if elapsed > 0.0 {
                                cpu / elapsed * 100.0
                            } else {
                                0.0
                            };
                            format!("{pc:.3}")
                        }
                        "pgid" => ns_pids.get(&p.pgrp).copied().unwrap_or(0).to_string(),
                        "pid" => p.ns_pid.to_string(),
                        "ppid" => ns_pids.get(&p.host_ppid).copied().unwrap_or(0).to_string(),
                        "rss" => (p.rss_pages * page_kib).to_string(),
                        "state" => p.state.to_string(),
                        "stime" => {
                            let started = now - elapsed;
                            chrono::DateTime::from_timestamp(started as i64, 0)
                                .map(|t| t.to_rfc3339())
                                .unwrap_or_default()
                        }
                        "time" => go_duration(cpu.floor()),
                        "tty" => tty_name(p.tty_nr),
                        "user" => name(&users, p.uid),
                        "vsz" => (p.vsize / 1024).to_string(),
                        _ => String::new(),
                    })
                    .collect()
            })
            .collect();
        let headers = descriptors
            .iter()
            .map(|d| {
                DESCRIPTORS
                    .iter()
                    .find(|(n, _)| n == d)
                    .map(|(_, h)| h.to_string())
                    .unwrap_or_else(|| d.to_uppercase())
            })
            .collect();
        Ok(Top { headers, rows })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptors_and_durations() {
        let d = parse_descriptors(&["pid,user".into(), "args".into()]).unwrap();
        assert_eq!(d, ["pid", "user", "args"]);
        assert_eq!(parse_descriptors(&[]).unwrap().len(), 8);
        assert!(parse_descriptors(&["bogus".into()]).is_err());
        assert_eq!(go_duration(0.0), "0s");
        assert_eq!(go_duration(3.25), "3.25s");
        assert_eq!(go_duration(3723.0), "1h2m3s");
        assert_eq!(tty_name(0), "?");
        assert_eq!(tty_name((136 << 8) | 3), "pts/3");
    }
}
