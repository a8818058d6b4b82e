//! The container log format (Podman's `k8s-file`): one record per line,
//! `<RFC 3339 time> <stdout|stderr> <F|P> <text>`, where `F` ends a line and `P` is a partial
//! line (more text follows in the next record). The monitor writes it through [`LogStream`]s;
//! `logs` reads it back with [`parse_record`]. With `--log-opt max-size`
//! ([`LogStream::pair_capped`]) a record that would take the file past the size starts it
//! again empty, as conmon does: a new file renamed over the old one, so a reader sees one or
//! the other whole (`logs -f` follows the new one).

use std::fs::File;
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use chrono::{SecondsFormat, Utc};

/// The longest partial line held before it is written as a `P` record.
const MAX_PARTIAL: usize = 16 * 1024;

/// The log file both streams write, and its size cap.
struct Sink {
    file: File,
    /// With `max`: the log's path, where a new file replaces the full one.
    path: PathBuf,
    max: Option<u64>,
    written: u64,
}

impl Sink {
    fn write_record(&mut self, line: &[u8]) -> io::Result<()> {
        if let Some(max) = self.max {
            if self.written > 0 && self.written + line.len() as u64 > max {
                self.start_again()?;
            }
        }
        self.file.write_all(line)?;
        self.written += line.len() as u64;
        Ok(())
    }

    /// Replace the full log with an empty one (0600 from creation).
    fn start_again(&mut self) -> io::Result<()> {
        use std::os::unix::fs::OpenOptionsExt;
        let mut tmp = self.path.clone().into_os_string();
        tmp.push(".tmp");
        let file = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&tmp)?;
        file.set_len(0)?;
        std::fs::rename(&tmp, &self.path)?;
        self.file = file;
        self.written = 0;
        Ok(())
    }
}

/// One stream (`stdout` or `stderr`) into a shared log file; writes are split into records.
pub struct LogStream {
    file: Arc<Mutex<Sink>>,
    stream: &'static str,
    pending: Vec<u8>,
}

impl LogStream {
    /// `stdout` and `stderr` writers into `file`.
    pub fn pair(file: File) -> (LogStream, LogStream) {
        Self::pair_capped(file, PathBuf::new(), None)
    }

    /// [`LogStream::pair`] into the log at `path`, which starts again empty when a record
    /// would take it past `max` bytes.
    pub fn pair_capped(file: File, path: PathBuf, max: Option<u64>) -> (LogStream, LogStream) {
        let written = file.metadata().map(|m| m.len()).unwrap_or(0);
        let file = Arc::new(Mutex::new(Sink {
            file,
            path,
            max,
            written,
        }));
        (
            LogStream {
                file: file.clone(),
                stream: "stdout",
                pending: Vec::new(),
            },
            LogStream {
                file,
                stream: "stderr",
                pending: Vec::new(),
            },
        )
    }

    fn record(&self, text: &[u8], full: bool) -> io::Result<()> {
        let now = Utc::now().to_rfc3339_opts(SecondsFormat::Nanos, true);
        let mut line = Vec::with_capacity(text.len() + 48);
        line.extend_from_slice(now.as_bytes());
        line.push(b' ');
        line.extend_from_slice(self.stream.as_bytes());
        line.extend_from_slice(if full { b" F " } else { b" P " });
        line.extend_from_slice(text);
        line.push(b'\n');
        let mut f = self.file.lock().unwrap_or_else(|e| e.into_inner());
        f.write_record(&line)
    }
}

impl Write for LogStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.pending.extend_from_slice(buf);
        while let Some(i) = self.pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=i).collect();
            self.record(&line[..line.len() - 1], true)?;
        }
        if self.pending.len() > MAX_PARTIAL {
            let part = std::mem::take(&mut self.pending);
            self.record(&part, false)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for LogStream {
    fn drop(&mut self) {
        if !self.pending.is_empty() {
            let part = std::mem::take(&mut self.pending);
            let _ = self.record(&part, false);
        }
    }
}

/// One parsed record.
#[derive(Debug, PartialEq, Eq)]
pub struct Record<'a> {
    pub time: &'a str,
    pub stderr: bool,
    /// Whether the text ends a line.
    pub full: bool,
    pub text: &'a [u8],
}

/// Parse one line of the log (without its newline); `None` for a malformed line.
pub fn parse_record(line: &[u8]) -> Option<Record<'_>> {
    let mut parts = line.splitn(4, |b| *b == b' ');
    let time = std::str::from_utf8(parts.next()?).ok()?;
    let stderr = match parts.next()? {
        b"stdout" => false,
        b"stderr" => true,
        _ => return None,
    };
    let full = match parts.next()? {
        b"F" => true,
        b"P" => false,
        _ => return None,
    };
    Some(Record {
        time,
        stderr,
        full,
        text: parts.next().unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("log");
        {
            let (mut out, mut err) = LogStream::pair(File::create(&p).unwrap());
            out.write_all(b"one\ntw").unwrap();
            err.write_all(b"oops\n").unwrap();
            out.write_all(b"o\nend").unwrap();
        }
        let text = std::fs::read(&p).unwrap();
        let recs: Vec<Record<'_>> = text
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| parse_record(l).unwrap())
            .collect();
        let shown: Vec<(bool, bool, &[u8])> =
            recs.iter().map(|r| (r.stderr, r.full, r.text)).collect();
        assert_eq!(
            shown,
            vec![
                (false, true, &b"one"[..]),
                (true, true, &b"oops"[..]),
                (false, true, &b"two"[..]),
                (false, false, &b"end"[..]),
            ]
        );
        assert!(parse_record(b"garbage").is_none());
    }

    #[test]
    fn capped_log_starts_again() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("log");
        {
            let (mut out, _err) =
                LogStream::pair_capped(File::create(&p).unwrap(), p.clone(), Some(200));
            for i in 0..50 {
                writeln!(out, "line {i}").unwrap();
                assert!(std::fs::metadata(&p).unwrap().len() <= 200);
            }
        }
        let text = String::from_utf8(std::fs::read(&p).unwrap()).unwrap();
        assert!(text.ends_with("line 49\n"), "{text}");
        assert!(!text.contains("line 0\n"), "{text}");
        assert!(text.lines().all(|l| parse_record(l.as_bytes()).is_some()));
    }
}
