//! Signal names and numbers (`kill -s`, `--stop-signal`, the image's `StopSignal`), and a
//! foreground supervisor's forwarding of the signals it receives to its container.

use std::sync::atomic::{AtomicI32, Ordering};

use crate::error::{Result, RunError};

/// A signal by name (`TERM`, `SIGTERM`, case-insensitive) or number.
pub fn parse_signal(s: &str) -> Result<i32> {
    if let Ok(n) = s.parse::<i32>() {
        if (1..=64).contains(&n) {
            return Ok(n);
        }
        return Err(RunError::Invalid(format!("invalid signal number {n}")));
    }
    let upper = s.to_ascii_uppercase();
    let name = upper.strip_prefix("SIG").unwrap_or(&upper);
    if name == "RTMIN+3" {
        return Ok(libc::SIGRTMIN() + 3);
    }
    NAMES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, sig)| *sig)
        .ok_or_else(|| RunError::Invalid(format!("unknown signal {s:?}")))
}

/// The signals known by name, without their `SIG` prefix.
const NAMES: &[(&str, i32)] = &[
    ("HUP", libc::SIGHUP),
    ("INT", libc::SIGINT),
    ("QUIT", libc::SIGQUIT),
    ("KILL", libc::SIGKILL),
    ("USR1", libc::SIGUSR1),
    ("USR2", libc::SIGUSR2),
    ("TERM", libc::SIGTERM),
    ("ALRM", libc::SIGALRM),
    ("CONT", libc::SIGCONT),
    ("STOP", libc::SIGSTOP),
    ("WINCH", libc::SIGWINCH),
    ("PIPE", libc::SIGPIPE),
    ("PWR", libc::SIGPWR),
];

/// A signal's name as Podman writes it (`SIGTERM`), or its number for one without a name.
pub fn signal_name(sig: i32) -> String {
    match NAMES.iter().find(|(_, n)| *n == sig) {
        Some((name, _)) => format!("SIG{name}"),
        None if sig == libc::SIGRTMIN() + 3 => "SIGRTMIN+3".to_string(),
        None => sig.to_string(),
    }
}

/// The pid signals are forwarded to (0: none yet).
static FORWARD_TO: AtomicI32 = AtomicI32::new(0);

/// Signals a foreground supervisor forwards to the container.
const FORWARDED: &[i32] = &[
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

/// Forward SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 received by this process to
/// the container once it runs (until then they are ignored).
pub fn install_signal_forwarding() {
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
pub fn forward_signals_to(pid: u32) {
    FORWARD_TO.store(pid as i32, Ordering::SeqCst);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signal_names_round_trip() {
        assert_eq!(signal_name(libc::SIGTERM), "SIGTERM");
        assert_eq!(signal_name(libc::SIGRTMIN() + 3), "SIGRTMIN+3");
        assert_eq!(
            parse_signal(&signal_name(libc::SIGUSR1)).unwrap(),
            libc::SIGUSR1
        );
    }

    #[test]
    fn signals() {
        assert_eq!(parse_signal("TERM").unwrap(), libc::SIGTERM);
        assert_eq!(parse_signal("sigkill").unwrap(), libc::SIGKILL);
        assert_eq!(parse_signal("9").unwrap(), 9);
        assert!(parse_signal("BOGUS").is_err());
        assert!(parse_signal("0").is_err());
    }
}
