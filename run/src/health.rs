//! Health checks as Podman 4.3 has them: the check's configuration ([`HealthConfig`]: from
//! `--health-*` flags with Podman's parse, defaults and error words, or from the image's
//! `HEALTHCHECK`), `--health-on-failure` ([`OnFailure`]), and the results a container keeps
//! ([`HealthResults`]: `Status`, `FailingStreak` and the last five `Log` entries, the JSON
//! of `.State.Health` and of the `healthcheck.log` file, updated by libpod's rules in
//! [`HealthResults::record`]). Running a check is the engine's (`engine/health.rs`).

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Result, RunError};

/// `healthy`.
pub const HEALTHY: &str = "healthy";
/// `unhealthy`.
pub const UNHEALTHY: &str = "unhealthy";
/// `starting`: before the first passing check (and while failures stay under the retries).
pub const STARTING: &str = "starting";

/// How many results a container keeps (libpod's `MaxHealthCheckNumberLogs`).
const KEPT_RESULTS: usize = 5;
/// How much of a check's output is kept (libpod's `MaxHealthCheckLogLength`).
const KEPT_OUTPUT: usize = 500;

/// Podman's defaults for `--health-interval`, `--health-timeout` and `--health-retries`.
const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
const DEFAULT_RETRIES: u32 = 3;

/// A container's health check (`Config.Healthcheck` in inspect: Docker's
/// `Schema2HealthConfig`, durations in nanoseconds, zeros left out).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HealthConfig {
    /// `["CMD", args…]`, `["CMD-SHELL", "command"]`.
    pub test: Vec<String>,
    #[serde(default, with = "nanos", skip_serializing_if = "Duration::is_zero")]
    pub start_period: Duration,
    /// Zero: no timer (`--health-interval=disable`); checks run only when asked.
    #[serde(default, with = "nanos", skip_serializing_if = "Duration::is_zero")]
    pub interval: Duration,
    #[serde(default, with = "nanos", skip_serializing_if = "Duration::is_zero")]
    pub timeout: Duration,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub retries: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

mod nanos {
    use std::time::Duration;

    pub fn serialize<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let n: i64 = serde::Deserialize::deserialize(d)?;
        Ok(Duration::from_nanos(u64::try_from(n).unwrap_or(0)))
    }
}

/// The `--health-*` flags as given (`None`: not given).
#[derive(Debug, Clone, Default)]
pub struct HealthFlags {
    pub cmd: Option<String>,
    pub interval: Option<String>,
    pub retries: Option<u32>,
    pub start_period: Option<String>,
    pub timeout: Option<String>,
    pub on_failure: Option<String>,
    pub no_healthcheck: bool,
}

/// What the flags ask for.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum HealthChoice {
    /// No `--health-cmd`: the image's `HEALTHCHECK`, if any.
    #[default]
    FromImage,
    /// `--health-cmd`.
    Given(HealthConfig),
    /// `--no-healthcheck` (or `--health-cmd none`).
    Disabled,
}

/// A Go duration (`30s`, `1m30s`, `500ms`), with `what` naming the flag in the error.
fn go_duration(what: &str, s: &str) -> Result<Duration> {
    let bad = || RunError::Invalid(format!("invalid {what}: time: invalid duration {s:?}"));
    let d = berth_image_store::events::time::parse_go_duration(s).ok_or_else(bad)?;
    d.to_std().map_err(|_| bad())
}

impl HealthFlags {
    /// Podman 4.3's `makeHealthCheckFromCli`: the command (a JSON array, else a shell
    /// command), its defaults (30 s interval and timeout, 3 retries) and its refusals.
    pub fn choice(&self) -> Result<HealthChoice> {
        let Some(cmd) = &self.cmd else {
            return Ok(if self.no_healthcheck {
                HealthChoice::Disabled
            } else {
                HealthChoice::FromImage
            });
        };
        if self.no_healthcheck {
            return Err(RunError::Invalid(
                "cannot specify both --no-healthcheck and --health-cmd".to_string(),
            ));
        }
        let cmd = cmd.trim();
        let (words, is_array) = match serde_json::from_str::<Vec<String>>(cmd) {
            Ok(v) => (v, true),
            Err(_) => (
                cmd.splitn(2, ' ').map(str::to_string).collect::<Vec<_>>(),
                false,
            ),
        };
        if words.is_empty() || words[0].is_empty() && words.len() == 1 {
            return Err(RunError::Invalid(
                "must define a healthcheck command for all healthchecks".to_string(),
            ));
        }
        let first = words[0].to_ascii_uppercase();
        let test = if first == "CMD" || first == "NONE" {
            cmd.split_whitespace().map(str::to_string).collect()
        } else if first == "CMD-SHELL" {
            words
        } else if is_array && words.len() > 1 {
            std::iter::once("CMD".to_string()).chain(words).collect()
        } else {
            vec!["CMD-SHELL".to_string(), words.join(" ")]
        };
        if test[0].eq_ignore_ascii_case("NONE") {
            return Ok(HealthChoice::Disabled);
        }
        let interval = match self.interval.as_deref().unwrap_or("30s") {
            "disable" => Duration::ZERO,
            s => go_duration("healthcheck-interval", s)?,
        };
        let retries = self.retries.unwrap_or(DEFAULT_RETRIES);
        if retries < 1 {
            return Err(RunError::Invalid(
                "healthcheck-retries must be greater than 0".to_string(),
            ));
        }
        let timeout = go_duration(
            "healthcheck-timeout",
            self.timeout.as_deref().unwrap_or("30s"),
        )?;
        if timeout < Duration::from_secs(1) {
            return Err(RunError::Invalid(
                "healthcheck-timeout must be at least 1 second".to_string(),
            ));
        }
        let start_period = go_duration(
            "healthcheck-start-period",
            self.start_period.as_deref().unwrap_or("0s"),
        )?;
        Ok(HealthChoice::Given(HealthConfig {
            test,
            start_period,
            interval,
            timeout,
            retries,
        }))
    }

    /// `--health-on-failure` (default `none`).
    pub fn on_failure(&self) -> Result<OnFailure> {
        self.on_failure.as_deref().unwrap_or("none").parse()
    }
}

impl HealthConfig {
    /// The image's `HEALTHCHECK` (its config's `config.Healthcheck`, Docker's), with
    /// Podman's defaults for a zero interval or timeout; `None` for none or `NONE`.
    pub fn from_image(healthcheck: Option<&serde_json::Value>) -> Option<HealthConfig> {
        let mut hc: HealthConfig = serde_json::from_value(healthcheck?.clone()).ok()?;
        match hc.test.first().map(String::as_str) {
            None | Some("") | Some("NONE") => return None,
            _ => {}
        }
        if hc.interval.is_zero() {
            hc.interval = DEFAULT_INTERVAL;
        }
        if hc.timeout.is_zero() {
            hc.timeout = DEFAULT_TIMEOUT;
        }
        if hc.retries == 0 {
            hc.retries = DEFAULT_RETRIES;
        }
        Some(hc)
    }

    /// The command the check execs in the container (libpod's: `CMD` its words, `CMD-SHELL`
    /// through `/bin/sh -c`, anything else as is).
    pub fn command(&self) -> Vec<String> {
        match self.test.first().map(String::as_str) {
            Some("CMD") => self.test[1..].to_vec(),
            Some("CMD-SHELL") => vec![
                "/bin/sh".to_string(),
                "-c".to_string(),
                self.test[1..].join(" "),
            ],
            _ => self.test.clone(),
        }
    }
}

/// `--health-on-failure`: what happens to a container that turned unhealthy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnFailure {
    #[default]
    None,
    Kill,
    Restart,
    Stop,
}

impl OnFailure {
    /// Podman's name (`Config.HealthcheckOnFailureAction`).
    pub fn as_str(self) -> &'static str {
        match self {
            OnFailure::None => "none",
            OnFailure::Kill => "kill",
            OnFailure::Restart => "restart",
            OnFailure::Stop => "stop",
        }
    }
}

impl FromStr for OnFailure {
    type Err = RunError;
    fn from_str(s: &str) -> Result<OnFailure> {
        match s {
            "none" => Ok(OnFailure::None),
            "kill" => Ok(OnFailure::Kill),
            "restart" => Ok(OnFailure::Restart),
            "stop" => Ok(OnFailure::Stop),
            other => Err(RunError::Invalid(format!(
                "invalid on-failure action {other:?} for health check: supported actions are none,kill,restart,stop"
            ))),
        }
    }
}

/// One check's result, as Podman logs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HealthLog {
    /// RFC 3339 with nanoseconds.
    pub start: String,
    pub end: String,
    /// 0 passed, 1 failed, -1 timed out (libpod's values).
    pub exit_code: i32,
    pub output: String,
}

impl HealthLog {
    /// A result: `exit_code` as libpod records it, the output cut to 500 bytes (on a
    /// character boundary) without its trailing newlines.
    pub fn new(start: DateTime<Utc>, end: DateTime<Utc>, exit_code: i32, output: &str) -> Self {
        let mut out = output.trim_end_matches('\n');
        if out.len() > KEPT_OUTPUT {
            let mut cut = KEPT_OUTPUT;
            while !out.is_char_boundary(cut) {
                cut -= 1;
            }
            out = &out[..cut];
        }
        let time = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
        HealthLog {
            start: time(start),
            end: time(end),
            exit_code,
            output: out.to_string(),
        }
    }
}

/// A container's health (`.State.Health`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HealthResults {
    /// `starting`, `healthy` or `unhealthy`; empty for a container without a check.
    pub status: String,
    pub failing_streak: u32,
    pub log: Option<Vec<HealthLog>>,
}

impl HealthResults {
    /// Before any check: `starting`, no log (what Podman writes as a container starts).
    pub fn starting() -> HealthResults {
        HealthResults {
            status: STARTING.to_string(),
            failing_streak: 0,
            log: None,
        }
    }

    /// Add `result` by libpod's `updateHealthCheckLog`: a pass makes the container healthy;
    /// a failure outside the start period adds to the streak, and at `retries` failures in
    /// a row it is unhealthy. Keeps the last five results.
    pub fn record(&mut self, result: HealthLog, retries: u32, in_start_period: bool) {
        if result.exit_code == 0 {
            self.status = HEALTHY.to_string();
            self.failing_streak = 0;
        } else {
            if self.status.is_empty() {
                self.status = HEALTHY.to_string();
            }
            if !in_start_period {
                self.failing_streak += 1;
                if self.failing_streak >= retries {
                    self.status = UNHEALTHY.to_string();
                }
            }
        }
        let log = self.log.get_or_insert_with(Vec::new);
        log.push(result);
        if log.len() > KEPT_RESULTS {
            log.remove(0);
        }
    }

    /// The results in `path` (`healthcheck.log`); empty when there are none yet.
    pub fn read(path: &Path) -> HealthResults {
        std::fs::read(path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    /// Write them to `path`, replacing it whole (a reader never sees half a file).
    pub fn write(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_vec(self).map_err(|e| RunError::Invalid(e.to_string()))?;
        berth_layers::atomic_file::write_atomically(path, &text, 0o600)
            .map_err(|e| RunError::io(path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(cmd: &str) -> HealthFlags {
        HealthFlags {
            cmd: Some(cmd.to_string()),
            ..HealthFlags::default()
        }
    }

    fn given(f: &HealthFlags) -> HealthConfig {
        match f.choice().unwrap() {
            HealthChoice::Given(c) => c,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn health_cmd_is_parsed_as_podmans() {
        let c = given(&flags("curl -f http://localhost/ || exit 1"));
        assert_eq!(c.test, ["CMD-SHELL", "curl -f http://localhost/ || exit 1"]);
        assert_eq!(c.interval, Duration::from_secs(30));
        assert_eq!(c.timeout, Duration::from_secs(30));
        assert_eq!(c.retries, 3);
        assert_eq!(
            c.command(),
            ["/bin/sh", "-c", "curl -f http://localhost/ || exit 1"]
        );
        assert_eq!(given(&flags(r#"["ls", "/"]"#)).test, ["CMD", "ls", "/"]);
        assert_eq!(given(&flags(r#"["ls", "/"]"#)).command(), ["ls", "/"]);
        assert_eq!(given(&flags("CMD ls /")).test, ["CMD", "ls", "/"]);
        assert_eq!(flags("none").choice().unwrap(), HealthChoice::Disabled);
        let mut f = flags("true");
        f.interval = Some("disable".into());
        assert_eq!(given(&f).interval, Duration::ZERO);
        let json = serde_json::to_value(given(&f)).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"Test": ["CMD-SHELL", "true"], "Timeout": 30_000_000_000u64, "Retries": 3})
        );
    }

    #[test]
    fn bad_flags_are_refused_with_podmans_words() {
        let err = |f: HealthFlags| f.choice().unwrap_err().to_string();
        let mut f = flags("true");
        f.no_healthcheck = true;
        assert_eq!(
            err(f),
            "cannot specify both --no-healthcheck and --health-cmd"
        );
        let mut f = flags("true");
        f.retries = Some(0);
        assert_eq!(err(f), "healthcheck-retries must be greater than 0");
        let mut f = flags("true");
        f.timeout = Some("0s".into());
        assert_eq!(err(f), "healthcheck-timeout must be at least 1 second");
        let mut f = flags("true");
        f.interval = Some("bogus".into());
        assert_eq!(
            err(f),
            "invalid healthcheck-interval: time: invalid duration \"bogus\""
        );
        let bad = "bogus".parse::<OnFailure>().unwrap_err().to_string();
        assert_eq!(bad, "invalid on-failure action \"bogus\" for health check: supported actions are none,kill,restart,stop");
    }

    #[test]
    fn the_images_healthcheck_gets_podmans_defaults() {
        let v = serde_json::json!({"Test": ["CMD-SHELL", "true"], "Interval": 5_000_000_000u64});
        let c = HealthConfig::from_image(Some(&v)).unwrap();
        assert_eq!(c.interval, Duration::from_secs(5));
        assert_eq!(c.timeout, Duration::from_secs(30));
        assert_eq!(c.retries, 3);
        let none = serde_json::json!({"Test": ["NONE"]});
        assert_eq!(HealthConfig::from_image(Some(&none)), None);
        assert_eq!(HealthConfig::from_image(None), None);
    }

    #[test]
    fn results_follow_libpods_rules() {
        let now = Utc::now();
        let mut r = HealthResults::starting();
        r.record(HealthLog::new(now, now, 1, "out\nerr\n"), 2, false);
        assert_eq!((r.status.as_str(), r.failing_streak), (STARTING, 1));
        assert_eq!(r.log.as_ref().unwrap()[0].output, "out\nerr");
        r.record(HealthLog::new(now, now, 0, ""), 2, false);
        assert_eq!((r.status.as_str(), r.failing_streak), (HEALTHY, 0));
        r.record(HealthLog::new(now, now, 1, ""), 2, false);
        assert_eq!(r.status, HEALTHY);
        r.record(HealthLog::new(now, now, 1, ""), 2, false);
        assert_eq!((r.status.as_str(), r.failing_streak), (UNHEALTHY, 2));
        // In the start period a failure does not count.
        let mut s = HealthResults::starting();
        s.record(HealthLog::new(now, now, 1, ""), 1, true);
        assert_eq!((s.status.as_str(), s.failing_streak), (STARTING, 0));
        for _ in 0..10 {
            r.record(HealthLog::new(now, now, 0, &"x".repeat(600)), 2, false);
        }
        assert_eq!(r.log.as_ref().unwrap().len(), 5);
        assert_eq!(r.log.as_ref().unwrap()[4].output.len(), 500);
        let text = serde_json::to_string(&r).unwrap();
        assert!(
            text.starts_with(r#"{"Status":"healthy","FailingStreak":0,"Log":[{"Start":""#),
            "{text}"
        );
    }
}
