//! `--log-driver` and `--log-opt`, as Podman 4.3 takes them: `k8s-file` (the default) and
//! `json-file` (Podman's alias: the same `k8s-file` format) write `ctr.log`
//! ([`crate::logfile`]), `none` and `passthrough` keep no log (`logs` refuses, as Podman);
//! `max-size` caps the log: the monitor starts it again empty when a record would pass it,
//! as conmon does.

use crate::error::{Result, RunError};

/// A log driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum LogDriver {
    #[default]
    K8sFile,
    JsonFile,
    None,
    Passthrough,
}

impl LogDriver {
    /// Podman's name.
    pub fn name(self) -> &'static str {
        match self {
            LogDriver::K8sFile => "k8s-file",
            LogDriver::JsonFile => "json-file",
            LogDriver::None => "none",
            LogDriver::Passthrough => "passthrough",
        }
    }

    /// Whether the monitor writes a log file.
    pub fn writes_file(self) -> bool {
        matches!(self, LogDriver::K8sFile | LogDriver::JsonFile)
    }
}

impl std::str::FromStr for LogDriver {
    type Err = RunError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "k8s-file" | "" => Ok(LogDriver::K8sFile),
            "json-file" => Ok(LogDriver::JsonFile),
            "none" => Ok(LogDriver::None),
            "passthrough" => Ok(LogDriver::Passthrough),
            "journald" => Err(RunError::Invalid(
                "log driver journald: berth has no journald writer; use k8s-file, json-file, \
                 none or passthrough"
                    .to_string(),
            )),
            _ => Err(RunError::Invalid(format!(
                "running container create option: invalid log driver {s:?}: invalid argument"
            ))),
        }
    }
}

/// A container's log settings (`HostConfig.LogConfig` in `inspect`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LogConfig {
    pub driver: LogDriver,
    /// `--log-opt max-size`, in bytes (`None`: no limit).
    pub max_size: Option<u64>,
    /// `--log-opt tag` (kept for `inspect`).
    pub tag: Option<String>,
    /// Other `--log-opt KEY=VALUE`s, kept as Podman keeps them.
    pub options: Vec<(String, String)>,
}

impl LogConfig {
    /// From `--log-driver` and the `--log-opt`s.
    pub fn parse(driver: Option<&str>, opts: &[String]) -> Result<LogConfig> {
        let mut config = LogConfig {
            driver: driver.unwrap_or("k8s-file").parse()?,
            ..LogConfig::default()
        };
        for o in opts {
            let (k, v) = o.split_once('=').ok_or_else(|| {
                RunError::Invalid(format!("invalid log option {o:?}: use KEY=VALUE"))
            })?;
            match k {
                "max-size" => config.max_size = parse_human_size(v)?,
                "tag" => config.tag = Some(v.to_string()),
                _ => config.options.push((k.to_string(), v.to_string())),
            }
        }
        Ok(config)
    }

    /// `max-size` as Podman's inspect shows it (`10kB`, `0B`).
    pub fn size_text(&self) -> String {
        let Some(n) = self.max_size else {
            return "0B".to_string();
        };
        let units = ["B", "kB", "MB", "GB", "TB"];
        let mut v = n as f64;
        let mut i = 0;
        while v >= 1000.0 && i + 1 < units.len() {
            v /= 1000.0;
            i += 1;
        }
        let text = format!("{v:.4}");
        let text = text.trim_end_matches('0').trim_end_matches('.');
        format!("{text}{}", units[i])
    }
}

/// A size as Podman's `max-size` takes it (go-units' `FromHumanSize`: decimal units, `k`,
/// `kb`, `m`, …, case-insensitive); `-1` (or any negative) is no limit.
pub fn parse_human_size(s: &str) -> Result<Option<u64>> {
    let invalid = || RunError::Invalid(format!("invalid size: '{s}'"));
    if let Ok(n) = s.parse::<i64>() {
        return Ok(u64::try_from(n).ok().filter(|n| *n > 0));
    }
    let lower = s.trim().to_ascii_lowercase();
    let split = lower
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .ok_or_else(invalid)?;
    let (num, unit) = lower.split_at(split);
    let num: f64 = num.parse().map_err(|_| invalid())?;
    let unit = unit.trim().trim_end_matches('b').trim_end_matches('i');
    let mult = match unit {
        "" => 1.0,
        "k" => 1e3,
        "m" => 1e6,
        "g" => 1e9,
        "t" => 1e12,
        _ => return Err(invalid()),
    };
    let bytes = (num * mult) as u64;
    Ok((bytes > 0).then_some(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drivers_and_options() {
        let c = LogConfig::parse(Some("json-file"), &["max-size=10k".into()]).unwrap();
        assert_eq!(c.driver, LogDriver::JsonFile);
        assert_eq!(c.max_size, Some(10_000));
        assert_eq!(c.size_text(), "10kB");
        assert_eq!(LogConfig::default().size_text(), "0B");
        let c = LogConfig::parse(None, &["foo=bar".into()]).unwrap();
        assert_eq!(c.driver, LogDriver::K8sFile);
        assert_eq!(c.options, [("foo".to_string(), "bar".to_string())]);
        assert!(!"none".parse::<LogDriver>().unwrap().writes_file());
        assert!("bogus".parse::<LogDriver>().is_err());
        assert!("journald".parse::<LogDriver>().is_err());
        assert_eq!(
            LogConfig::parse(None, &["max-size=1x".into()])
                .unwrap_err()
                .to_string(),
            "invalid size: '1x'"
        );
        assert_eq!(parse_human_size("1.5MB").unwrap(), Some(1_500_000));
        assert_eq!(parse_human_size("-1").unwrap(), None);
        assert_eq!(parse_human_size("100").unwrap(), Some(100));
    }
}
