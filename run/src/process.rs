//! Processes on the host: whether a pid is still the process that started at a known time
//! (`/proc/PID/stat`'s start time, so a reused pid is never mistaken for it), and executables
//! found in `$PATH` and the usual system directories (runtimes, uidmap helpers).

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

/// The start time (clock ticks since boot) of process `pid`, to tell it from a later process
/// that reused the pid.
pub fn proc_start_time(pid: u32) -> Option<u64> {
    let path = format!("/proc/{pid}/stat");
    let mut text = String::new();
    File::open(path).ok()?.read_to_string(&mut text).ok()?;
    // The command name (field 2) may hold spaces and parentheses: split after the last ')'.
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // Field 3 (state) is fields[0]; field 22 (starttime) is fields[19].
    if fields.first() == Some(&"Z") {
        return None;
    }
    fields.get(19)?.parse().ok()
}

/// Whether `pid` is alive (not a zombie) and is still the process that started at `start`.
pub fn alive(pid: Option<u32>, start: Option<u64>) -> bool {
    match (pid, proc_start_time_opt(pid)) {
        (Some(_), Some(now)) => start.is_none_or(|s| s == now),
        _ => false,
    }
}

fn proc_start_time_opt(pid: Option<u32>) -> Option<u64> {
    pid.filter(|p| *p > 0).and_then(proc_start_time)
}

/// Directories searched for runtime binaries.
const SEARCH: &[&str] = &[
    "/usr/local/bin",
    "/usr/local/sbin",
    "/usr/bin",
    "/usr/sbin",
    "/bin",
    "/sbin",
];

/// Find an executable named `name` in `$PATH` and the usual system directories.
pub fn find_binary(name: &str) -> Option<PathBuf> {
    let path_var = std::env::var("PATH").unwrap_or_default();
    path_var
        .split(':')
        .filter(|d| !d.is_empty())
        .chain(SEARCH.iter().copied())
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dead_pids_are_not_alive() {
        assert!(!alive(None, None));
        assert!(!alive(Some(u32::MAX - 1), None));
        let me = std::process::id();
        assert!(alive(Some(me), proc_start_time(me)));
        assert!(!alive(Some(me), Some(1)));
    }

    #[test]
    fn binaries_are_found_in_system_directories() {
        assert!(find_binary("sh").is_some_and(|p| p.is_file()));
        assert!(find_binary("berth-no-such-binary").is_none());
    }
}
