//! The text forms of Podman 4's `stats`: Go's `units.HumanSize` and `BytesSize`,
//! `time.Duration` and `%.2f%%`. The size forms are berth's only ones: the CLI's image lists
//! and `system prune` print sizes through [`human_size_with_precision`] and [`human_size`].
//! Ages as Podman's lists print them ([`human_age`]: `3 hours ago`) live here too.

use chrono::{DateTime, Utc};

/// Podman's age format: `About a minute ago`, `3 hours ago`, `2 weeks ago`; `N/A` for none.
pub fn human_age(when: Option<DateTime<Utc>>) -> String {
    let Some(when) = when else {
        return "N/A".to_string();
    };
    let secs = (Utc::now() - when).num_seconds().max(0);
    let text = match secs {
        0 => "Less than a second".to_string(),
        1 => "1 second".to_string(),
        2..=59 => format!("{secs} seconds"),
        60..=119 => "About a minute".to_string(),
        120..=3599 => format!("{} minutes", secs / 60),
        3600..=7199 => "About an hour".to_string(),
        7200..=172_799 => format!("{} hours", secs / 3600),
        172_800..=1_209_599 => format!("{} days", secs / 86_400),
        1_209_600..=5_183_999 => format!("{} weeks", secs / 604_800),
        5_184_000..=63_071_999 => format!("{} months", secs / 2_592_000),
        _ => format!("{} years", secs / 31_536_000),
    };
    format!("{text} ago")
}

/// `%.2f%%`.
pub fn percent(v: f64) -> String {
    format!("{v:.2}%")
}

/// Go's `%.*g` with `precision` (≥ 1) significant digits: trailing zeros dropped, an
/// exponent when the number has more integer digits than that (`%.3g` of 999.6 is `1e+03`).
fn go_g(v: f64, precision: usize) -> String {
    if v == 0.0 {
        return "0".to_string();
    }
    let digits = precision.max(1);
    let sci = format!("{v:.*e}", digits - 1);
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let trim = |s: &str| -> String {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s.to_string()
        }
    };
    if exp < -4 || exp >= digits as i32 {
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{}e{sign}{:02}", trim(mant), exp.abs());
    }
    let decimals = (digits as i32 - 1 - exp).max(0) as usize;
    trim(&format!("{v:.decimals$}"))
}

fn scaled(bytes: u64, base: f64, units: &[&str], precision: usize) -> String {
    let mut v = bytes as f64;
    let mut i = 0;
    while v >= base && i + 1 < units.len() {
        v /= base;
        i += 1;
    }
    format!("{}{}", go_g(v, precision), units[i])
}

const SI_UNITS: [&str; 9] = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];

/// Go's `units.HumanSize`: SI units, 4 significant digits, no space (`241.7kB`, `0B`), as
/// Podman's `stats` and `system prune` print sizes.
pub fn human_size(bytes: u64) -> String {
    human_size_with_precision(bytes, 4)
}

/// Go's `units.HumanSizeWithPrecision`: SI units, `precision` significant digits, no space
/// (Podman's image lists use 3 and put a space before the unit).
pub fn human_size_with_precision(bytes: u64, precision: usize) -> String {
    scaled(bytes, 1000.0, &SI_UNITS, precision)
}

/// Go's `units.BytesSize`: binary units (`236KiB`, `64MiB`).
pub fn bytes_size(bytes: u64) -> String {
    scaled(
        bytes,
        1024.0,
        &["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"],
        4,
    )
}

/// Go's `time.Duration.String` of `nanos`: `0s`, `512ns`, `1.5µs`, `944.4223ms`, `1h2m3.5s`.
pub fn go_duration(nanos: u64) -> String {
    fn frac(whole: u64, rem: u64, digits: usize) -> String {
        let f = format!("{rem:0digits$}");
        let f = f.trim_end_matches('0');
        if f.is_empty() {
            whole.to_string()
        } else {
            format!("{whole}.{f}")
        }
    }
    match nanos {
        0 => "0s".to_string(),
        1..=999 => format!("{nanos}ns"),
        1_000..=999_999 => format!("{}µs", frac(nanos / 1_000, nanos % 1_000, 3)),
        1_000_000..=999_999_999 => {
            format!("{}ms", frac(nanos / 1_000_000, nanos % 1_000_000, 6))
        }
        _ => {
            let secs = nanos / 1_000_000_000;
            let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
            let mut out = String::new();
            if h > 0 {
                out.push_str(&format!("{h}h"));
            }
            if h > 0 || m > 0 {
                out.push_str(&format!("{m}m"));
            }
            out.push_str(&format!("{}s", frac(s, nanos % 1_000_000_000, 9)));
            out
        }
    }
}
