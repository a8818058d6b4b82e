//! What the service keeps of interactive sessions between requests: exec instances
//! ([`Execs`], for the exec handlers) and terminal attach streams ([`Terminals`], for the
//! terminal ones). Data only; the handlers hold the logic.

use std::collections::HashMap;
use std::fs::File;
use std::sync::atomic::Ordering;
use std::sync::{Mutex, MutexGuard};

use serde::Deserialize;

use crate::hijack::Hijacked;

/// Finished instances kept before the oldest are forgotten.
const KEEP_FINISHED: usize = 256;

/// Docker's exec create body.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ExecConfig {
    pub attach_stdin: bool,
    pub attach_stdout: bool,
    pub attach_stderr: bool,
    pub detach_keys: Option<String>,
    pub tty: bool,
    pub env: Option<Vec<String>>,
    pub cmd: Vec<String>,
    pub privileged: bool,
    pub user: Option<String>,
    pub working_dir: Option<String>,
    pub console_size: Option<Vec<u16>>,
}

/// One exec instance.
pub struct Exec {
    pub container: String,
    pub config: ExecConfig,
    pub created: u64,
    pub started: bool,
    pub running: bool,
    pub exit_code: Option<i32>,
    pub pid: u32,
    /// Its terminal's master while a client is attached (for resizes).
    pub master: Option<File>,
    /// A size asked for before the terminal was there.
    pub size: Option<(u16, u16)>,
}

/// The exec instances of this service, by id.
#[derive(Default)]
pub struct Execs {
    map: Mutex<HashMap<String, Exec>>,
    serial: std::sync::atomic::AtomicU64,
}

impl Execs {
    pub fn lock(&self) -> MutexGuard<'_, HashMap<String, Exec>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn update(&self, id: &str, f: impl FnOnce(&mut Exec)) {
        if let Some(e) = self.lock().get_mut(id) {
            f(e);
        }
    }

    pub fn insert(&self, id: String, mut e: Exec) {
        e.created = self.serial.fetch_add(1, Ordering::SeqCst);
        let mut map = self.lock();
        let finished = map.values().filter(|e| e.started && !e.running).count();
        if finished > KEEP_FINISHED {
            let mut done: Vec<(u64, String)> = map
                .iter()
                .filter(|(_, e)| e.started && !e.running)
                .map(|(k, e)| (e.created, k.clone()))
                .collect();
            done.sort();
            for (_, k) in done.into_iter().take(finished - KEEP_FINISHED) {
                map.remove(&k);
            }
        }
        map.insert(id, e);
    }
}

/// A client attached to a terminal container that has not started yet.
pub struct PendingTty {
    pub client: Hijacked,
    pub keys: Vec<u8>,
}

/// A container terminal this process relays: its master once attached, and the size a
/// client asked for (kept for the master when it comes after).
#[derive(Default)]
pub struct Attached {
    pub master: Option<File>,
    pub size: Option<(u16, u16)>,
}

/// The terminal attach streams waiting for their container's start, and the terminals this
/// process is attached to (for `resize`), by container id.
#[derive(Default)]
pub struct Terminals {
    pending: Mutex<HashMap<String, PendingTty>>,
    attached: Mutex<HashMap<String, Attached>>,
}

impl Terminals {
    /// Keep `client` until `id`'s start.
    pub fn wait_for_start(&self, id: String, client: PendingTty) {
        self.pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, client);
    }

    /// The attach stream waiting for `id`'s start, if any.
    pub fn take_pending(&self, id: &str) -> Option<PendingTty> {
        self.pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id)
    }

    /// The terminals attached (or sized) here.
    pub fn attached(&self) -> MutexGuard<'_, HashMap<String, Attached>> {
        self.attached.lock().unwrap_or_else(|p| p.into_inner())
    }
}
