//! Reading the log: every line from the start, filtered; then, when following, each line as
//! it is appended (polled every 100 ms), across rotations, until `until` has passed or the
//! reader no longer wants more.

use std::fs::File;
use std::io::{self, Read};
use std::ops::ControlFlow;
use std::os::unix::fs::MetadataExt;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{Event, EventLog, Filters};

/// What to read.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// Only events at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Only events at or before this time; following ends once it has passed.
    pub until: Option<DateTime<Utc>>,
    /// Go on reading new events as they come (`--stream`, the default of `berth events`).
    pub follow: bool,
    /// Which events.
    pub filters: Filters,
}

const POLL: Duration = Duration::from_millis(100);

/// The file being read: its descriptor, inode, and the bytes of a line not yet complete.
struct Cursor {
    file: File,
    ino: u64,
    partial: Vec<u8>,
    last_line: Vec<u8>,
}

impl EventLog {
    /// Call `on_event` for each event `opts` selects, in the log's order. While following,
    /// `wanted` is asked at each poll (a client that went away ends the read).
    pub fn read(
        &self,
        opts: &ReadOptions,
        on_event: &mut dyn FnMut(&Event) -> ControlFlow<()>,
        wanted: &dyn Fn() -> bool,
    ) -> io::Result<()> {
        let mut cursor: Option<Cursor> = None;
        loop {
            if cursor.is_none() {
                cursor = self.open_cursor()?;
            }
            if let Some(c) = cursor.as_mut() {
                if read_lines(c, opts, on_event)?.is_break() {
                    return Ok(());
                }
            }
            let past_until = opts.until.is_some_and(|u| Utc::now() > u);
            if !opts.follow || past_until || !wanted() {
                return Ok(());
            }
            std::thread::sleep(POLL);
            // A rotation put another file in place: go on after the last line read.
            if let Some(c) = cursor.as_mut() {
                match std::fs::metadata(self.path()) {
                    Ok(m) if m.ino() != c.ino => {
                        if let Some(mut next) = self.open_cursor()? {
                            skip_to_after(&mut next, &c.last_line)?;
                            *c = next;
                        }
                    }
                    _ => {}
                }
            }
        }
    }

    fn open_cursor(&self) -> io::Result<Option<Cursor>> {
        match File::open(self.path()) {
            Ok(file) => {
                let ino = file.metadata()?.ino();
                Ok(Some(Cursor {
                    file,
                    ino,
                    partial: Vec::new(),
                    last_line: Vec::new(),
                }))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// Read what was appended since the last call; complete lines only.
fn read_lines(
    c: &mut Cursor,
    opts: &ReadOptions,
    on_event: &mut dyn FnMut(&Event) -> ControlFlow<()>,
) -> io::Result<ControlFlow<()>> {
    c.file.read_to_end(&mut c.partial)?;
    let Some(end) = c.partial.iter().rposition(|&b| b == b'\n') else {
        return Ok(ControlFlow::Continue(()));
    };
    let rest = c.partial.split_off(end + 1);
    let lines = std::mem::replace(&mut c.partial, rest);
    for line in lines.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        c.last_line = line.to_vec();
        let Ok(event) = serde_json::from_slice::<Event>(line) else {
            continue; // a line berth cannot read is skipped, as Podman does
        };
        if opts.since.is_some_and(|s| event.time < s) || opts.until.is_some_and(|u| event.time > u)
        {
            continue;
        }
        if opts.filters.matches(&event) && on_event(&event).is_break() {
            return Ok(ControlFlow::Break(()));
        }
    }
    Ok(ControlFlow::Continue(()))
}

/// In a rotated file, skip the lines up to `last` (those were read from the old file); when
/// `last` is not there, every line is new.
fn skip_to_after(c: &mut Cursor, last: &[u8]) -> io::Result<()> {
    let mut text = Vec::new();
    c.file.read_to_end(&mut text)?;
    let mut from = 0;
    if !last.is_empty() {
        let mut pos = 0;
        for line in text.split_inclusive(|&b| b == b'\n') {
            pos += line.len();
            if line.strip_suffix(b"\n") == Some(last) {
                from = pos;
            }
        }
    }
    c.partial = text[from..].to_vec();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::Event;

    #[test]
    fn reads_filters_and_follows_until() {
        let dir = tempfile::tempdir().unwrap();
        let log = EventLog::under_runroot(dir.path(), 0);
        log.append(&Event::volume("create", "a")).unwrap();
        log.append(&Event::image("tag", "1", "x")).unwrap();
        let mut opts = ReadOptions::default();
        opts.filters.add("type=volume").unwrap();
        let mut seen = Vec::new();
        log.read(
            &opts,
            &mut |e| {
                seen.push(e.name.clone());
                ControlFlow::Continue(())
            },
            &|| true,
        )
        .unwrap();
        assert_eq!(seen, ["a"]);

        // Following ends when `until` has passed and sees what is appended meanwhile.
        opts.follow = true;
        opts.until = Some(Utc::now() + chrono::Duration::milliseconds(600));
        let writer = {
            let log = log.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(200));
                log.append(&Event::volume("create", "b")).unwrap();
            })
        };
        let mut seen = Vec::new();
        log.read(
            &opts,
            &mut |e| {
                seen.push(e.name.clone());
                ControlFlow::Continue(())
            },
            &|| true,
        )
        .unwrap();
        writer.join().unwrap();
        assert_eq!(seen, ["a", "b"]);

        // `since` after everything: nothing.
        let opts = ReadOptions {
            since: Some(Utc::now() + chrono::Duration::seconds(1)),
            ..ReadOptions::default()
        };
        let mut n = 0;
        log.read(
            &opts,
            &mut |_| {
                n += 1;
                ControlFlow::Continue(())
            },
            &|| true,
        )
        .unwrap();
        assert_eq!(n, 0);
    }
}
