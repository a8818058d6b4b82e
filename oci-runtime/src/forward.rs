//! Forwarding the signals a supervising process receives to the process it supervises: the
//! CLI's foreground `run`, `start -a`, `attach` and `exec` (through `berth-run`'s
//! `signals`), and this runtime's own `exec`, which waits for the exec'd process as runc's
//! does and passes it what it gets (a SIGTERM to `berth exec` reaches the exec'd process).

use std::sync::atomic::{AtomicI32, Ordering};

static FORWARD_TO: AtomicI32 = AtomicI32::new(0);

/// The signals forwarded (as Podman's `--sig-proxy`, without the ones that stop or kill).
pub const FORWARDED: &[i32] = &[
    libc::SIGINT,
    libc::SIGTERM,
    libc::SIGHUP,
    libc::SIGQUIT,
    libc::SIGUSR1,
    libc::SIGUSR2,
];

extern "C" fn forward(sig: libc::c_int) {
    let pid = FORWARD_TO.load(Ordering::SeqCst);
    if pid > 0 {
        // SAFETY: kill(2) is async-signal-safe.
        unsafe {
            libc::kill(pid, sig);
        }
    }
}

/// Forward [`FORWARDED`] signals received by this process to the pid set by
/// [`forward_to`] (until one is set they are ignored).
pub fn install() {
    for &sig in FORWARDED {
        // SAFETY: installs a handler that only reads an atomic and calls kill(2).
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = forward as *const () as usize;
            sa.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
    }
}

/// Forward signals to `pid` from now on (0: stop forwarding).
pub fn forward_to(pid: u32) {
    FORWARD_TO.store(pid as i32, Ordering::SeqCst);
}
