//! `build --progress=auto|tty|plain|json`: how a build shows itself.
//!
//! - `plain`: Buildah's lines on stdout, RUN's output as it comes (what `build` always printed).
//! - `json`: one JSON object per line on stdout, nothing else there: berth-build's
//!   [`StepEvent`]s, RUN's output as `output` events, then `built` (id and names) or `error`.
//! - `tty`: on stderr, one line per step with its timer (`CACHED` for a cache hit), and under
//!   the running step its last output lines, redrawn ten times a second; the result's lines
//!   (`--> id`, `Successfully tagged`, the id) stay on stdout.
//! - `auto` (the default): `tty` when stderr is a terminal, else `plain`.
//!
//! In `json` and `tty` RUN's output comes through a pipe ([`berth_build::BuildOptions`]'s
//! `run_output`) read here line by line; a line belongs to the step started last (with
//! `--jobs`, steps of parallel stages share the one pipe).

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, IsTerminal, Write};
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use berth_build::progress::step_line;
use berth_build::step_events::{EventSink, StepEvent};

/// How many of the running step's output lines `tty` shows.
const TAIL: usize = 5;

/// `--progress`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Plain,
    Tty,
    Json,
}

impl Mode {
    /// `auto|tty|plain|json` (`None`: auto).
    pub fn parse(value: Option<&str>) -> Result<Mode> {
        Ok(match value.unwrap_or("auto") {
            "auto" if std::io::stderr().is_terminal() => Mode::Tty,
            "auto" | "plain" => Mode::Plain,
            "tty" => Mode::Tty,
            "json" | "rawjson" => Mode::Json,
            other => bail!("--progress {other:?}: use auto, tty, plain or json"),
        })
    }
}

/// The display of one build: its event sink, RUN's output pipe, the tty's redraws.
pub struct Display {
    mode: Mode,
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
}

struct Shared {
    tty: Mutex<Screen>,
    stop: AtomicBool,
}

impl Display {
    pub fn new(mode: Mode) -> Display {
        let shared = Arc::new(Shared {
            tty: Mutex::new(Screen::default()),
            stop: AtomicBool::new(false),
        });
        let mut threads = Vec::new();
        if mode == Mode::Tty {
            let s = shared.clone();
            threads.push(std::thread::spawn(move || {
                while !s.stop.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(100));
                    if let Ok(mut screen) = s.tty.lock() {
                        screen.redraw();
                    }
                }
            }));
        }
        Display {
            mode,
            shared,
            threads,
        }
    }

    /// Where the build sends its events (none for `plain`).
    pub fn sink(&self) -> Option<EventSink> {
        if self.mode == Mode::Plain {
            return None;
        }
        let shared = self.shared.clone();
        let mode = self.mode;
        Some(EventSink(Arc::new(move |e: &StepEvent| {
            show(mode, &shared, e)
        })))
    }

    /// For `json` and `tty`: the write end of a pipe for RUN's output (a thread here reads
    /// it); drop every copy of it before [`Display::finish`].
    pub fn run_output(&mut self) -> Result<Option<Arc<OwnedFd>>> {
        if self.mode == Mode::Plain {
            return Ok(None);
        }
        let (reader, writer) = rustix::pipe::pipe()?;
        let (shared, mode) = (self.shared.clone(), self.mode);
        self.threads.push(std::thread::spawn(move || {
            let mut lines = BufReader::new(std::fs::File::from(reader));
            let mut buf = Vec::new();
            loop {
                buf.clear();
                match lines.read_until(b'\n', &mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {
                        let text = String::from_utf8_lossy(&buf);
                        let line = text.trim_end_matches(['\n', '\r']).to_string();
                        show(mode, &shared, &StepEvent::Output { line });
                    }
                }
            }
        }));
        Ok(Some(Arc::new(writer)))
    }

    /// The build is over: the reader and the redraws stop, then `built` or `error` (json), or
    /// the last redraw (tty).
    pub fn finish(self, result: std::result::Result<(&str, Vec<String>), String>) {
        self.shared.stop.store(true, Ordering::SeqCst);
        for t in self.threads {
            let _ = t.join();
        }
        let event = match result {
            Ok((id, names)) => StepEvent::Built {
                id: id.to_string(),
                names,
            },
            Err(message) => StepEvent::Error { message },
        };
        match self.mode {
            Mode::Json => outln!("{}", event.to_json()),
            Mode::Tty => {
                if let Ok(mut screen) = self.shared.tty.lock() {
                    screen.event(&event);
                    screen.redraw();
                }
            }
            Mode::Plain => {}
        }
    }
}

fn show(mode: Mode, shared: &Shared, e: &StepEvent) {
    match mode {
        Mode::Json => outln!("{}", e.to_json()),
        Mode::Tty => {
            if let Ok(mut screen) = shared.tty.lock() {
                screen.event(e);
            }
        }
        Mode::Plain => {}
    }
}

/// A step on the screen while it runs.
struct Running {
    stage: usize,
    step: usize,
    label: String,
    started: Instant,
    tail: VecDeque<String>,
    cached: bool,
}

/// The tty display: finished lines scroll up; the running steps (and the last one's output)
/// are the live area at the bottom, redrawn in place.
#[derive(Default)]
struct Screen {
    running: Vec<Running>,
    /// Lines of the live area on the terminal now.
    drawn: usize,
}

impl Screen {
    fn event(&mut self, e: &StepEvent) {
        match e {
            StepEvent::StepStarted {
                stage,
                stages,
                step,
                steps,
                instruction,
            } => self.running.push(Running {
                stage: *stage,
                step: *step,
                label: step_line(*stages, *stage, *step, *steps, instruction),
                started: Instant::now(),
                tail: VecDeque::new(),
                cached: false,
            }),
            StepEvent::Output { line } => {
                if let Some(r) = self.running.last_mut() {
                    if r.tail.len() == TAIL {
                        r.tail.pop_front();
                    }
                    r.tail.push_back(line.clone());
                }
            }
            StepEvent::Cached { stage, step, .. } => {
                if let Some(r) = self.find(*stage, *step) {
                    r.cached = true;
                }
            }
            StepEvent::StepFinished {
                stage,
                step,
                duration,
                ..
            } => {
                if let Some(i) = self
                    .running
                    .iter()
                    .position(|r| r.stage == *stage && r.step == *step)
                {
                    let r = self.running.remove(i);
                    self.print(&done_line(&r.label, r.cached, *duration));
                }
            }
            StepEvent::Note { text } => self.print(text),
            StepEvent::Built { .. } => self.running.clear(),
            StepEvent::Error { .. } => {
                // The failed step keeps its output on the screen.
                for r in std::mem::take(&mut self.running) {
                    self.print(&done_line(
                        &format!("{} ERROR", r.label),
                        false,
                        r.started.elapsed().as_secs_f64(),
                    ));
                    for l in &r.tail {
                        self.print(&format!("   | {l}"));
                    }
                }
            }
        }
    }

    fn find(&mut self, stage: usize, step: usize) -> Option<&mut Running> {
        self.running
            .iter_mut()
            .find(|r| r.stage == stage && r.step == step)
    }

    /// A line above the live area, for good.
    fn print(&mut self, line: &str) {
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "{}", clear(self.drawn));
        self.drawn = 0;
        let _ = writeln!(err, "{}", fit(line));
        drop(err);
        self.redraw();
    }

    fn redraw(&mut self) {
        let mut text = clear(self.drawn);
        let mut lines = 0;
        let last = self.running.len().saturating_sub(1);
        for (i, r) in self.running.iter().enumerate() {
            let secs = r.started.elapsed().as_secs_f64();
            text.push_str(&fit(&format!("=> {} {secs:.1}s", r.label)));
            text.push('\n');
            lines += 1;
            if i == last {
                for l in &r.tail {
                    text.push_str(&fit(&format!("   | {l}")));
                    text.push('\n');
                    lines += 1;
                }
            }
        }
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(text.as_bytes());
        let _ = err.flush();
        self.drawn = lines;
    }
}

/// `=> STEP …  1.2s` or `=> CACHED STEP …`.
fn done_line(label: &str, cached: bool, secs: f64) -> String {
    if cached {
        format!("=> CACHED {label}")
    } else {
        format!("=> {label} {secs:.1}s")
    }
}

/// Move up over `lines` lines of the live area and clear from there down.
fn clear(lines: usize) -> String {
    if lines == 0 {
        "\r\x1b[J".to_string()
    } else {
        format!("\x1b[{lines}A\r\x1b[J")
    }
}

/// One terminal line: cut to the terminal's width (a wrapped line would break the redraw).
fn fit(line: &str) -> String {
    let width = rustix::termios::tcgetwinsize(std::io::stderr())
        .map(|w| usize::from(w.ws_col))
        .ok()
        .filter(|w| *w > 10)
        .unwrap_or(80);
    let clean: String = line
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    clean.chars().take(width - 1).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes() {
        assert_eq!(Mode::parse(Some("plain")).unwrap(), Mode::Plain);
        assert_eq!(Mode::parse(Some("json")).unwrap(), Mode::Json);
        assert_eq!(Mode::parse(Some("tty")).unwrap(), Mode::Tty);
        let e = Mode::parse(Some("fancy")).unwrap_err().to_string();
        assert!(e.contains("auto, tty, plain or json"), "{e}");
    }

    #[test]
    fn the_screen_keeps_the_last_output_lines_of_the_running_step() {
        let mut s = Screen::default();
        s.running.push(Running {
            stage: 1,
            step: 2,
            label: "STEP 2/2: RUN x".into(),
            started: Instant::now(),
            tail: VecDeque::new(),
            cached: false,
        });
        for i in 0..8 {
            s.event(&StepEvent::Output {
                line: format!("line {i}"),
            });
        }
        let tail: Vec<&String> = s.running[0].tail.iter().collect();
        assert_eq!(tail.len(), TAIL);
        assert_eq!(tail[0], "line 3");
        assert_eq!(
            done_line("STEP 2/2: RUN x", true, 1.0),
            "=> CACHED STEP 2/2: RUN x"
        );
        assert_eq!(
            done_line("STEP 2/2: RUN x", false, 1.3),
            "=> STEP 2/2: RUN x 1.3s"
        );
    }
}
