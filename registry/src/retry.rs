//! Podman's retry of a whole pull or push (containers/common's `retry.IfNecessary`): an
//! operation that failed for a reason that may pass ([`RegistryError::is_retryable`]: the
//! registry is down or overloaded) runs again, `times` more at most, `delay` apart, each
//! retry announced with Podman's warning `Failed, retrying in 1s ... (1/3). Error: …`.
//! Blobs have their own, finer retries (pull resumes a cut blob where it stopped); this one
//! covers reaching the registry and its manifest.

use std::time::Duration;

use crate::error::Result;

/// How often and how far apart to retry; Podman's default is 3 times, 1 s apart
/// (`--retry`, `--retry-delay`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub times: u32,
    /// The pause before each retry.
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

/// Run `op`, and again while it fails with a retryable error and retries remain.
pub fn if_necessary<T>(policy: RetryPolicy, mut op: impl FnMut() -> Result<T>) -> Result<T> {
    let mut attempt = 0;
    loop {
        match op() {
            Err(e) if e.is_retryable() && attempt < policy.times => {
                attempt += 1;
                tracing::warn!(
                    "Failed, retrying in {} ... ({attempt}/{}). Error: {e}",
                    go_duration(policy.delay),
                    policy.times
                );
                std::thread::sleep(policy.delay);
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
mod tests {
    use super::*;
    use crate::error::RegistryError;

    fn refused() -> RegistryError {
        RegistryError::Http {
            method: "GET".into(),
            url: "http://127.0.0.1:9/v2/".into(),
            message: "Connection refused".into(),
            retryable: true,
        }
    }

    #[test]
    fn retries_what_may_pass_and_stops_at_the_limit() {
        let policy = RetryPolicy {
            times: 3,
            delay: Duration::ZERO,
        };
        let mut calls = 0;
        let r: Result<()> = if_necessary(policy, || {
            calls += 1;
            Err(refused())
        });
        assert!(r.is_err());
        assert_eq!(calls, 4, "the first attempt and 3 retries");
        let mut calls = 0;
        let r: Result<()> = if_necessary(policy, || {
            calls += 1;
            Err(RegistryError::ManifestUnknown {
                reference: "x".into(),
                url: "u".into(),
            })
        });
        assert!(r.is_err());
        assert_eq!(calls, 1, "a missing manifest is not retried");
        let mut calls = 0;
        let r = if_necessary(policy, || {
            calls += 1;
            if calls < 3 {
                Err(refused())
            } else {
                Ok(calls)
            }
        });
        assert_eq!(r.unwrap(), 3);
    }

    #[test]
    fn durations_read_as_go_prints_them() {
        assert_eq!(go_duration(Duration::from_secs(1)), "1s");
        assert_eq!(go_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(go_duration(Duration::from_millis(10)), "10ms");
        assert_eq!(go_duration(Duration::ZERO), "0s");
    }
}
