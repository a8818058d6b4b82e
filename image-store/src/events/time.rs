//! Times as Podman writes and reads them: RFC 3339 with trailing zeros of the nanoseconds
//! dropped (Go's `RFC3339Nano`) in the log, Go's `Time.String` in the text lines, and
//! `--since`/`--until`'s input (Podman's `util.ParseInputTime`: a timestamp, a date, Unix
//! seconds, or a Go duration before now).

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};

/// Nanoseconds as Go prints `.999999999`: no trailing zeros, nothing for 0.
fn fraction(t: &DateTime<Utc>) -> String {
    let n = t.timestamp_subsec_nanos();
    if n == 0 {
        return String::new();
    }
    let s = format!(".{n:09}");
    s.trim_end_matches('0').to_string()
}

/// Go's `RFC3339Nano` in UTC: `2026-12-07T16:43:33.9775877Z`.
pub fn rfc3339_nano(t: &DateTime<Utc>) -> String {
    format!("{}{}Z", t.format("%Y-%m-%dT%H:%M:%S"), fraction(t))
}

/// Go's `Time.String` in UTC: `2026-12-07 16:43:33.9775877 +0000 UTC`.
pub fn go_string(t: &DateTime<Utc>) -> String {
    format!("{}{} +0000 UTC", t.format("%Y-%m-%d %H:%M:%S"), fraction(t))
}

/// Serde for [`super::Event::time`].
pub mod rfc3339 {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    /// Write as [`super::rfc3339_nano`].
    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::rfc3339_nano(t))
    }

    /// Read any RFC 3339 time.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let s = String::deserialize(d)?;
        DateTime::parse_from_rfc3339(&s)
            .map(|t| t.with_timezone(&Utc))
            .map_err(serde::de::Error::custom)
    }
}

/// A Go duration (`10m`, `1h30m`, `1.5s`, `300ms`): berth's one parser of them (build's
/// HEALTHCHECK flags too).
pub fn parse_go_duration(s: &str) -> Option<Duration> {
    let (neg, mut rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if rest.is_empty() {
        return None;
    }
    if rest == "0" {
        return Some(Duration::zero());
    }
    let mut nanos: f64 = 0.0;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let value: f64 = rest[..num_len].parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        rest = &rest[unit_len..];
        nanos += value * scale;
    }
    let d = Duration::nanoseconds(nanos as i64);
    Some(if neg { -d } else { d })
}

/// `--since`/`--until`: RFC 3339 (with or without a zone: then local, which berth takes as
/// UTC), a date, Unix seconds with an optional fraction, or a duration before `now`.
pub fn parse_input_time(s: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    for f in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, f) {
            return Ok(Utc.from_utc_datetime(&t));
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default()));
    }
    if let Some(t) = unix_time(s) {
        return Ok(t);
    }
    if let Some(d) = parse_go_duration(s) {
        return Ok(now - d);
    }
    Err(format!(
        "invalid time {s:?}: not a timestamp, Unix seconds or a duration"
    ))
}

/// `1700000000` or `1700000000.123456789` (Docker's `since` and `until`).
fn unix_time(s: &str) -> Option<DateTime<Utc>> {
    let (secs, frac) = s.split_once('.').unwrap_or((s, ""));
    if secs.is_empty() || !secs.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) || frac.len() > 9 {
        return None;
    }
    let nanos: u32 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<9}").parse().ok()?
    };
    Utc.timestamp_opt(secs.parse().ok()?, nanos).single()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_times() {
        let now = Utc.timestamp_opt(1_800_000_000, 0).unwrap();
        assert_eq!(
            parse_input_time("10m", now).unwrap(),
            now - Duration::minutes(10)
        );
        assert_eq!(
            parse_input_time("1h30m", now).unwrap(),
            now - Duration::minutes(90)
        );
        assert_eq!(
            parse_input_time("1700000000.5", now).unwrap(),
            Utc.timestamp_opt(1_700_000_000, 500_000_000).unwrap()
        );
        assert_eq!(
            parse_input_time("2026-12-07T10:00:00Z", now).unwrap(),
            Utc.with_ymd_and_hms(2026, 12, 7, 10, 0, 0).unwrap()
        );
        assert_eq!(
            parse_input_time("2026-12-07", now).unwrap(),
            Utc.with_ymd_and_hms(2026, 12, 7, 0, 0, 0).unwrap()
        );
        assert!(parse_input_time("yesterday", now).is_err());
        assert!(parse_input_time("10x", now).is_err());
    }

    #[test]
    fn go_formats() {
        let t = Utc.timestamp_opt(1_800_000_000, 30_000_000).unwrap();
        assert_eq!(rfc3339_nano(&t), "2027-01-15T08:00:00.03Z");
        let t = Utc.timestamp_opt(1_800_000_000, 0).unwrap();
        assert_eq!(go_string(&t), "2027-01-15 08:00:00 +0000 UTC");
    }
}
