//! `logs`: a detached container's log (`ctr.log`, see [`crate::logfile`]), whole, its last
//! lines, with timestamps, between `--since` and `--until` (after `--tail`, as Podman's
//! reader), or followed until the container stops (or `--until` has passed). Standard output and standard
//! error go back to the streams they came from.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::container::{Container, State};
use crate::engine::Engine;
use crate::error::{Result, RunError};
use crate::logfile::parse_record;

/// How to show a log.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogOptions {
    /// Only the last N lines.
    pub tail: Option<usize>,
    /// Keep printing new output until the container stops.
    pub follow: bool,
    /// Prefix each line with its time (RFC 3339).
    pub timestamps: bool,
    /// Only records written at or after this time (`--since`).
    pub since: Option<DateTime<Utc>>,
    /// Only records written at or before this time (`--until`).
    pub until: Option<DateTime<Utc>>,
}

impl LogOptions {
    /// Whether a record written at `time` (RFC 3339) is within `--since`/`--until`.
    fn in_window(&self, time: &str) -> bool {
        if self.since.is_none() && self.until.is_none() {
            return true;
        }
        let Ok(t) = DateTime::parse_from_rfc3339(time) else {
            return true;
        };
        let t = t.with_timezone(&Utc);
        self.since.is_none_or(|s| t >= s) && self.until.is_none_or(|u| t <= u)
    }
}

/// Where `logs` writes.
pub struct LogOutput<'a> {
    pub stdout: &'a mut dyn Write,
    pub stderr: &'a mut dyn Write,
}

/// The last `n` lines of `data` (complete lines of the file).
pub fn tail_lines(data: &[u8], n: usize) -> &[u8] {
    if n == 0 {
        return &[];
    }
    let body = data.strip_suffix(b"\n").unwrap_or(data);
    let mut seen = 0;
    for (i, b) in body.iter().enumerate().rev() {
        if *b == b'\n' {
            seen += 1;
            if seen == n {
                return &data[i + 1..];
            }
        }
    }
    data
}

/// Print the complete records in `data`; returns how many bytes were consumed.
fn show(data: &[u8], opts: &LogOptions, out: &mut LogOutput<'_>) -> std::io::Result<usize> {
    let mut used = 0;
    while let Some(i) = data[used..].iter().position(|b| *b == b'\n') {
        let line = &data[used..used + i];
        used += i + 1;
        let Some(rec) = parse_record(line) else {
            continue;
        };
        if !opts.in_window(rec.time) {
            continue;
        }
        let w: &mut dyn Write = if rec.stderr {
            &mut *out.stderr
        } else {
            &mut *out.stdout
        };
        if opts.timestamps {
            write!(w, "{} ", rec.time)?;
        }
        w.write_all(rec.text)?;
        if rec.full {
            w.write_all(b"\n")?;
        }
    }
    out.stdout.flush()?;
    out.stderr.flush()?;
    Ok(used)
}

impl Engine<'_> {
    /// Write `c`'s log to `out` as `opts` asks.
    pub fn logs(&self, c: &Container, opts: &LogOptions, out: &mut LogOutput<'_>) -> Result<()> {
        let driver = c.options.log.driver;
        if !driver.writes_file() {
            return Err(RunError::FailedPrecondition(format!(
                "this container is using the '{}' log driver, cannot read logs: this container \
                 is not logging output",
                driver.name()
            )));
        }
        let path = self.log_path(&c.id);
        let io_out = |e| RunError::io("stdout", e);
        let mut file = loop {
            match File::open(&path) {
                Ok(f) => break f,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    if !opts.follow || !self.still_running(c)? {
                        return Ok(());
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(e) => return Err(RunError::io(&path, e)),
            }
        };
        let mut data = Vec::new();
        file.read_to_end(&mut data)
            .map_err(|e| RunError::io(&path, e))?;
        let complete = data.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        let shown = match opts.tail {
            Some(n) => tail_lines(&data[..complete], n),
            None => &data[..complete],
        };
        show(shown, opts, out).map_err(io_out)?;
        if !opts.follow {
            return Ok(());
        }
        let mut pos = complete as u64;
        let mut pending: Vec<u8> = Vec::new();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let running = self.still_running(c)?;
            // `--log-opt max-size`: the monitor replaced the full log with a new one.
            if replaced(&file, &path) {
                if let Ok(f) = File::open(&path) {
                    file = f;
                    pos = 0;
                    pending.clear();
                }
            }
            file.seek(SeekFrom::Start(pos))
                .map_err(|e| RunError::io(&path, e))?;
            loop {
                let n = file.read(&mut buf).map_err(|e| RunError::io(&path, e))?;
                if n == 0 {
                    break;
                }
                pos += n as u64;
                pending.extend_from_slice(&buf[..n]);
            }
            let used = show(&pending, opts, out).map_err(io_out)?;
            pending.drain(..used);
            if !running || opts.until.is_some_and(|u| Utc::now() > u) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// Whether the log at `path` is another file than `open` (a capped log started again).
fn replaced(open: &File, path: &std::path::Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (open.metadata(), std::fs::metadata(path)) {
        (Ok(a), Ok(b)) => (a.dev(), a.ino()) != (b.dev(), b.ino()),
        _ => false,
    }
}

impl Engine<'_> {
    /// Whether `c` still runs; a container removed meanwhile (`--rm`) does not.
    fn still_running(&self, c: &Container) -> Result<bool> {
        match self.get(&c.id) {
            Ok(now) => Ok(now.state == State::Running),
            Err(RunError::NoSuchContainer(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tails() {
        assert_eq!(tail_lines(b"a\nb\nc\n", 2), b"b\nc\n");
        assert_eq!(tail_lines(b"a\nb\nc", 1), b"c");
        assert_eq!(tail_lines(b"a\n", 5), b"a\n");
        assert_eq!(tail_lines(b"a\nb\n", 0), b"");
    }

    #[test]
    fn records_are_shown_on_their_streams() {
        let data = b"2026-01-01T00:00:00Z stdout F out\n2026-01-01T00:00:01Z stderr P er\n2026-01-01T00:00:02Z stderr F r\nhalf";
        let (mut o, mut e) = (Vec::new(), Vec::new());
        let opts = LogOptions {
            timestamps: false,
            ..LogOptions::default()
        };
        let used = show(
            data,
            &opts,
            &mut LogOutput {
                stdout: &mut o,
                stderr: &mut e,
            },
        )
        .unwrap();
        assert_eq!((o.as_slice(), e.as_slice()), (&b"out\n"[..], &b"err\n"[..]));
        assert_eq!(used, data.len() - 4);
        let mut o = Vec::new();
        let opts = LogOptions {
            timestamps: true,
            ..LogOptions::default()
        };
        show(
            &data[..34],
            &opts,
            &mut LogOutput {
                stdout: &mut o,
                stderr: &mut Vec::new(),
            },
        )
        .unwrap();
        assert_eq!(o, b"2026-01-01T00:00:00Z out\n");
    }

    #[test]
    fn since_and_until_keep_the_records_between() {
        let data = b"2026-01-01T00:00:00Z stdout F a\n2026-01-01T00:00:10Z stdout F b\n2026-01-01T00:00:20Z stdout F c\n";
        let at = |s: &str| Some(s.parse::<DateTime<Utc>>().unwrap());
        let opts = LogOptions {
            since: at("2026-01-01T00:00:05Z"),
            until: at("2026-01-01T00:00:10Z"),
            ..LogOptions::default()
        };
        let mut o = Vec::new();
        show(
            data,
            &opts,
            &mut LogOutput {
                stdout: &mut o,
                stderr: &mut Vec::new(),
            },
        )
        .unwrap();
        assert_eq!(o, b"b\n");
    }
}
