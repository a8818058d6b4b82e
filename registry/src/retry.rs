//! The one notion of retry: what may pass ([`RegistryError::is_retryable`], containers/common's
//! `retry.IsErrorRetryable` rules) and how often and how far apart to try again
//! ([`RetryPolicy`], Podman's `--retry`/`--retry-delay`).
//!
//! Two loops use them. [`if_necessary`] runs a whole operation again (reaching the registry
//! and its manifest, a download), each retry announced with Podman's warning
//! `Failed, retrying in 1s ... (1/3). Error: …`. [`blob`] runs one blob transfer again, the
//! delay doubling after each attempt; its operation may resume where the bytes stopped
//! (pull's `Range` requests), the rule and the policy are the same.
//!
//! What may pass, by kind, never by message: a connection refused, reset, aborted or
//! unreachable, a timeout, a connection or body cut short (an unexpected EOF), a 5xx or 429
//! answer, and a blob source whose read failed for one of these reasons. Not: a missing
//! manifest, refused credentials, a TLS or name-resolution failure, a digest mismatch.

use std::io;
use std::time::Duration;

use berth_image_store::StoreError;
use berth_layers::Digest;

use crate::error::{NetFailure, RegistryError, Result};

/// How often and how far apart to retry; Podman's default is 3 times, 1 s apart
/// (`--retry`, `--retry-delay`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub times: u32,
    /// The pause before each retry (a blob's first pause, doubled after each attempt).
    pub delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            times: 3,
            delay: Duration::from_secs(1),
        }
    }
}

impl NetFailure {
    /// Whether the network may do better in a moment.
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            NetFailure::Refused | NetFailure::Connection | NetFailure::Timeout | NetFailure::Cut
        )
    }

    /// The failure an I/O error kind means, if it is one of the network's.
    pub fn of_io_kind(kind: io::ErrorKind) -> Option<NetFailure> {
        use io::ErrorKind::*;
        Some(match kind {
            ConnectionRefused => NetFailure::Refused,
            ConnectionReset | ConnectionAborted | NotConnected | Interrupted | WouldBlock
            | NetworkUnreachable | HostUnreachable | NetworkDown | BrokenPipe => {
                NetFailure::Connection
            }
            TimedOut => NetFailure::Timeout,
            UnexpectedEof => NetFailure::Cut,
            _ => return None,
        })
    }
}

impl RegistryError {
    /// Whether trying again may succeed: the one predicate of [`if_necessary`] and [`blob`]
    /// (see the module's doc for the rules).
    pub fn is_retryable(&self) -> bool {
        match self {
            RegistryError::Http { failure, .. } => failure.is_retryable(),
            RegistryError::Status { status, .. } => *status >= 500 || *status == 429,
            RegistryError::Store(StoreError::Source { source, .. })
            | RegistryError::ReadBlob { source, .. } => io_is_retryable(source),
            RegistryError::Store(StoreError::Transport(inner)) => inner
                .downcast_ref::<RegistryError>()
                .is_some_and(RegistryError::is_retryable),
            _ => false,
        }
    }
}

/// A read error of a blob stream: the registry error it carries (the client's body readers
/// wrap one), else its kind.
fn io_is_retryable(e: &io::Error) -> bool {
    match e.get_ref().and_then(|i| i.downcast_ref::<RegistryError>()) {
        Some(inner) => inner.is_retryable(),
        None => NetFailure::of_io_kind(e.kind()).is_some_and(NetFailure::is_retryable),
    }
}

/// Run `op`, and again while it fails with a retryable error and retries remain, `delay`
/// apart, announcing each retry as Podman does.
pub fn if_necessary<T>(policy: RetryPolicy, op: impl FnMut() -> Result<T>) -> Result<T> {
    retrying(policy, false, op, |e, attempt, delay| {
        tracing::warn!(
            "Failed, retrying in {} ... ({attempt}/{}). Error: {e}",
            go_duration(delay),
            policy.times
        )
    })
}

/// Run one transfer of `digest` (`op`, which may resume what an earlier attempt left), and
/// again while it fails with a retryable error and retries remain, the delay doubling.
pub fn blob<T>(policy: RetryPolicy, digest: &Digest, op: impl FnMut() -> Result<T>) -> Result<T> {
    retrying(policy, true, op, |e, attempt, delay| {
        tracing::warn!(
            "blob {digest}: {e}; retrying in {delay:?} ({attempt}/{})",
            policy.times
        )
    })
}

fn retrying<T>(
    policy: RetryPolicy,
    doubling: bool,
    mut op: impl FnMut() -> Result<T>,
    announce: impl Fn(&RegistryError, u32, Duration),
) -> Result<T> {
    let mut attempt = 0;
    let mut delay = policy.delay;
    loop {
        match op() {
            Err(e) if e.is_retryable() && attempt < policy.times => {
                attempt += 1;
                announce(&e, attempt, delay);
                std::thread::sleep(delay);
                if doubling {
                    delay = delay.saturating_mul(2);
                }
            }
            result => return result,
        }
    }
}

/// A duration as Go prints one (`1s`, `10ms`, `1.5s`, `0s`), as Podman's warning shows it.
pub fn go_duration(d: Duration) -> String {
    let nanos = d.as_nanos();
    if nanos == 0 {
        return "0s".into();
    }
    let (value, unit) = if nanos >= 1_000_000_000 {
        (nanos as f64 / 1e9, "s")
    } else if nanos >= 1_000_000 {
        (nanos as f64 / 1e6, "ms")
    } else if nanos >= 1_000 {
        (nanos as f64 / 1e3, "µs")
    } else {
        (nanos as f64, "ns")
    };
    format!("{value}{unit}")
}

#[cfg(test)]
#[path = "retry_tests.rs"]
mod tests;
