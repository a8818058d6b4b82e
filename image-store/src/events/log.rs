//! Appending to the log, and its rotation.
//!
//! Each event is one line written with one `write(2)` on a descriptor opened `O_APPEND`: the
//! kernel appends it whole, so lines of concurrent processes never interleave. Appenders hold
//! `events.log.lock` shared; the appender that finds the file over the cap takes it
//! exclusive and keeps the newer half of the lines behind a `system log-rotation` event (as
//! Podman's file logger), replaced atomically, so no appender writes into a file being
//! replaced. Readers notice the new file (another inode) and go on after the last line they
//! read.

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::lock::{FileLock, LockMode};

use super::{Event, EventType};

/// containers.conf's `events_logfile_max_size` default: 1 MB.
pub const DEFAULT_MAX_SIZE: u64 = 1_000_000;

/// One event log file.
#[derive(Debug, Clone)]
pub struct EventLog {
    path: PathBuf,
    max_size: u64,
}

impl EventLog {
    /// The log at `path`, rotated past `max_size` bytes (0: never).
    pub fn new(path: PathBuf, max_size: u64) -> EventLog {
        EventLog { path, max_size }
    }

    /// The log under run root `runroot`: `<runroot>/events/events.log`.
    pub fn under_runroot(runroot: &Path, max_size: u64) -> EventLog {
        EventLog::new(runroot.join("events").join("events.log"), max_size)
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn lock_path(&self) -> PathBuf {
        let mut p = self.path.clone().into_os_string();
        p.push(".lock");
        PathBuf::from(p)
    }

    fn lock(&self, mode: LockMode) -> io::Result<FileLock> {
        match FileLock::acquire(&self.lock_path(), mode) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if let Some(dir) = self.path.parent() {
                    berth_layers::private_dir::ensure_private_dir(dir)?;
                }
                FileLock::acquire(&self.lock_path(), mode)
            }
            other => other,
        }
    }

    /// Append `event` as one line.
    pub fn append(&self, event: &Event) -> io::Result<()> {
        let mut line = serde_json::to_vec(event).map_err(io::Error::other)?;
        line.push(b'\n');
        let size = {
            let _lock = self.lock(LockMode::Shared)?;
            let mut file = OpenOptions::new()
                .append(true)
                .create(true)
                .mode(0o600)
                .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
                .open(&self.path)?;
            file.write_all(&line)?;
            file.metadata()?.len()
        };
        if self.max_size > 0 && size > self.max_size {
            self.rotate()?;
        }
        Ok(())
    }

    /// Keep the newer half of the lines when the file is over the cap.
    fn rotate(&self) -> io::Result<()> {
        let _lock = self.lock(LockMode::Exclusive)?;
        let text = std::fs::read(&self.path)?;
        if (text.len() as u64) <= self.max_size {
            return Ok(()); // another appender rotated it
        }
        let half = text.len() - (self.max_size / 2) as usize;
        let start = match text[half..].iter().position(|&b| b == b'\n') {
            Some(i) => half + i + 1,
            None => text.len(),
        };
        let mark = Event::new(
            EventType::System,
            "log-rotation",
            "",
            &self.path.to_string_lossy(),
        );
        let mut out = serde_json::to_vec(&mark).map_err(io::Error::other)?;
        out.push(b'\n');
        out.extend_from_slice(&text[start..]);
        berth_layers::atomic_file::write_atomically(&self.path, &out, 0o600)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_lines_and_rotates_past_the_cap() {
        let dir = tempfile::tempdir().unwrap();
        let log = EventLog::under_runroot(dir.path(), 2000);
        for i in 0..40 {
            log.append(&Event::volume("create", &format!("v{i}")))
                .unwrap();
        }
        let text = std::fs::read_to_string(log.path()).unwrap();
        assert!(text.len() <= 2000 + 200, "{}", text.len());
        let events: Vec<Event> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(events[0].status, "log-rotation");
        assert_eq!(events.last().unwrap().name, "v39");
        let names: Vec<&str> = events[1..].iter().map(|e| e.name.as_str()).collect();
        let first: usize = names[0][1..].parse().unwrap();
        let want: Vec<String> = (first..40).map(|i| format!("v{i}")).collect();
        assert_eq!(names, want);
    }
}
