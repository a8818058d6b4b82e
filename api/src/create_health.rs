//! A create body's health check (Docker's `Config.Healthcheck`, libpod's `healthconfig`:
//! both Docker's `Schema2HealthConfig`, durations in nanoseconds) → the run options
//! `--health-*` and `--no-healthcheck` give. Docker's rules: an empty `Test` keeps the
//! image's check, `["NONE"]` disables it, `["CMD", …]` and `["CMD-SHELL", "…"]` are the
//! check; a zero interval, timeout or retry count is the default (Podman's: 30 s, 30 s, 3,
//! as for an image's `HEALTHCHECK`, through [`HealthConfig::from_image`]); a duration under
//! 1 ms or a negative count is refused with Docker's words.

use berth_run::health::HealthConfig;
use berth_run::RunOptions;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::{ApiError, ApiResult};

/// Docker's `MinimumDuration` for the health check's durations (1 ms), in nanoseconds.
const MINIMUM_NANOS: i64 = 1_000_000;

/// The health check as a client sends it.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct HealthcheckBody {
    pub test: Option<Vec<String>>,
    pub interval: i64,
    pub timeout: i64,
    pub start_period: i64,
    pub retries: i64,
}

/// Apply `body` (the create body's field, `None` or null when not sent) to `options`.
pub fn apply(body: Option<Value>, options: &mut RunOptions) -> ApiResult<()> {
    let Some(value) = body.filter(|v| !v.is_null()) else {
        return Ok(());
    };
    let hc: HealthcheckBody = serde_json::from_value(value)
        .map_err(|e| ApiError::bad_request(format!("Healthcheck: {e}")))?;
    let test = hc.test.clone().unwrap_or_default();
    match test.first().map(String::as_str) {
        // The image's check (with any other field ignored, as the image's own are kept).
        None | Some("") => return Ok(()),
        Some("NONE") => {
            options.no_healthcheck = true;
            return Ok(());
        }
        Some("CMD" | "CMD-SHELL") if test.len() > 1 => {}
        Some(_) => {
            return Err(ApiError::bad_request(format!(
                "Healthcheck.Test: {test:?}: must be [\"NONE\"], [\"CMD\", args…] or \
                 [\"CMD-SHELL\", command]"
            )))
        }
    }
    for (name, nanos) in [
        ("Interval", hc.interval),
        ("Timeout", hc.timeout),
        ("StartPeriod", hc.start_period),
    ] {
        if nanos != 0 && nanos < MINIMUM_NANOS {
            return Err(ApiError::bad_request(format!(
                "{name} in Healthcheck cannot be less than 1ms"
            )));
        }
    }
    if hc.retries < 0 {
        return Err(ApiError::bad_request(
            "Retries in Healthcheck cannot be negative",
        ));
    }
    let shaped = json!({
        "Test": test,
        "Interval": hc.interval,
        "Timeout": hc.timeout,
        "StartPeriod": hc.start_period,
        "Retries": hc.retries,
    });
    options.healthcheck = HealthConfig::from_image(Some(&shaped));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn applied(v: Value) -> ApiResult<RunOptions> {
        let mut o = RunOptions::default();
        apply(Some(v), &mut o).map(|()| o)
    }

    #[test]
    fn docker_fields_become_the_check_with_defaults_for_zeros() {
        let o = applied(json!({
            "Test": ["CMD-SHELL", "test -f /ok"],
            "Interval": 2_000_000_000i64,
            "Retries": 0,
            "StartPeriod": 0
        }))
        .unwrap();
        let hc = o.healthcheck.unwrap();
        assert_eq!(hc.test, ["CMD-SHELL", "test -f /ok"]);
        assert_eq!(hc.interval, Duration::from_secs(2));
        assert_eq!(hc.timeout, Duration::from_secs(30));
        assert_eq!(hc.retries, 3);
        assert_eq!(hc.start_period, Duration::ZERO);
        assert_eq!(hc.command(), ["/bin/sh", "-c", "test -f /ok"]);
    }

    #[test]
    fn none_disables_empty_keeps_the_image_and_bad_input_is_refused() {
        let o = applied(json!({"Test": ["NONE"]})).unwrap();
        assert!(o.no_healthcheck && o.healthcheck.is_none());
        let o = applied(json!({"Test": [], "Interval": 5})).unwrap();
        assert!(!o.no_healthcheck && o.healthcheck.is_none());
        let o = applied(json!(null)).unwrap();
        assert!(!o.no_healthcheck && o.healthcheck.is_none());
        for (bad, word) in [
            (
                json!({"Test": ["CMD-SHELL", "x"], "Interval": 5}),
                "Interval",
            ),
            (json!({"Test": ["CMD", "x"], "Timeout": 999_999}), "Timeout"),
            (json!({"Test": ["CMD", "x"], "Retries": -1}), "Retries"),
            (json!({"Test": ["echo", "x"]}), "Test"),
            (json!({"Test": ["CMD"]}), "Test"),
            (json!({"Test": "CMD x"}), "Healthcheck"),
        ] {
            let err = applied(bad.clone()).unwrap_err();
            assert!(err.to_string().contains(word), "{bad}: {err}");
        }
    }
}
