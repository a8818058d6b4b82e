//! Signal names and numbers (`kill -s`, `--stop-signal`, the image's `StopSignal`), and a
//! foreground supervisor's forwarding of the signals it receives to its container.

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

/// Forward SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 received by this process to
/// the container once it runs (until then they are ignored); the mechanism is the embedded
/// runtime's, which its own `exec` uses too ([`berth_oci_runtime::forward`]).
pub fn install_signal_forwarding() {
    berth_oci_runtime::forward::install();
}

/// Forward signals to `pid` from now on (0: stop forwarding).
pub fn forward_signals_to(pid: u32) {
    berth_oci_runtime::forward::forward_to(pid);
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
