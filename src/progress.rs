//! Transfer progress for `pull`, `push` and `copy`: on a terminal, one bar per blob (bytes,
//! rate, ETA) with the step lines printed above the bars; otherwise plain lines; nothing with
//! `--quiet`.

use std::collections::HashMap;
use std::io::{self, IsTerminal, Write};
use std::sync::{Arc, Mutex};

use berth_layers::Digest;
use berth_registry::progress::{Observer, TransferObserver};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Bars for the blobs in flight.
struct Bars {
    multi: MultiProgress,
    bars: Mutex<HashMap<String, ProgressBar>>,
    style: ProgressStyle,
}

impl TransferObserver for Bars {
    fn start(&self, digest: &Digest, size: u64, resumed: u64) {
        let key = digest.to_string();
        let Ok(mut bars) = self.bars.lock() else {
            return;
        };
        let bar = bars.entry(key.clone()).or_insert_with(|| {
            let bar = self.multi.add(ProgressBar::new(size));
            bar.set_style(self.style.clone());
            bar.set_prefix(short(&key));
            bar
        });
        bar.set_length(size);
        bar.set_position(resumed);
    }

    fn advance(&self, digest: &Digest, bytes: u64) {
        if let Ok(bars) = self.bars.lock() {
            if let Some(bar) = bars.get(&digest.to_string()) {
                bar.inc(bytes);
            }
        }
    }

    fn finish(&self, digest: &Digest, ok: bool) {
        if let Ok(mut bars) = self.bars.lock() {
            if let Some(bar) = bars.remove(&digest.to_string()) {
                if ok {
                    bar.finish_with_message("done");
                } else {
                    bar.abandon_with_message("failed");
                }
            }
        }
    }
}

/// `sha256:0123456789ab`.
fn short(digest: &str) -> String {
    digest.chars().take("sha256:".len() + 12).collect()
}

/// How a registry command reports: a line printer and a byte observer.
pub struct Reporter {
    multi: Option<MultiProgress>,
    observer: Observer,
    quiet: bool,
}

impl Reporter {
    /// Bars when stderr is a terminal and not `quiet`; else plain lines (or nothing).
    pub fn new(quiet: bool) -> Reporter {
        if quiet || !io::stderr().is_terminal() {
            return Reporter {
                multi: None,
                observer: Observer::default(),
                quiet,
            };
        }
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template(
            "Copying blob {prefix} {bar:30} {bytes}/{total_bytes} {bytes_per_sec} ETA {eta} {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        let bars = Bars {
            multi: multi.clone(),
            bars: Mutex::new(HashMap::new()),
            style,
        };
        Reporter {
            multi: Some(multi),
            observer: Observer::new(Arc::new(bars)),
            quiet,
        }
    }

    /// The byte observer to hand to the registry crate.
    pub fn observer(&self) -> Observer {
        self.observer.clone()
    }

    /// Print a step line (above the bars on a terminal). Lines announcing a transfer are left
    /// to the bars.
    pub fn line(&self, line: &str) {
        if self.quiet {
            return;
        }
        match &self.multi {
            Some(multi) => {
                let announces_transfer = (line.starts_with("Copying blob ")
                    || line.starts_with("Copying config "))
                    && !line.contains(" skipped");
                if !announces_transfer {
                    let _ = multi.println(line);
                }
            }
            None => {
                let _ = writeln!(io::stderr().lock(), "{line}");
            }
        }
    }
}
