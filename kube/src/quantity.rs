//! Kubernetes quantities (`128Mi`, `1G`, `500m`, `1e9`) as the numbers `RunOptions` takes:
//! bytes for a memory limit, CPUs for a cpu limit.

use anyhow::{anyhow, Result};

/// A quantity as a number (`500m` is 0.5, `1Ki` 1024).
pub fn parse(q: &str) -> Result<f64> {
    let q = q.trim();
    let bad = || anyhow!("invalid quantity {q:?}");
    let suffixes: [(&str, f64); 13] = [
        ("Ki", 1024f64),
        ("Mi", 1024f64.powi(2)),
        ("Gi", 1024f64.powi(3)),
        ("Ti", 1024f64.powi(4)),
        ("Pi", 1024f64.powi(5)),
        ("Ei", 1024f64.powi(6)),
        ("m", 1e-3),
        ("k", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("T", 1e12),
        ("P", 1e15),
        ("E", 1e18),
    ];
    let (number, factor) = suffixes
        .iter()
        .find_map(|(s, f)| q.strip_suffix(s).map(|n| (n, *f)))
        .unwrap_or((q, 1.0));
    if number.is_empty() || !number.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
        return Err(bad());
    }
    let value: f64 = number.parse().map_err(|_| bad())?;
    let value = value * factor;
    if !value.is_finite() || value < 0.0 {
        return Err(bad());
    }
    Ok(value)
}

/// A memory quantity in bytes (fractions of a byte round up, as Kubernetes).
pub fn bytes(q: &str) -> Result<i64> {
    let v = parse(q)?.ceil();
    if v > i64::MAX as f64 {
        return Err(anyhow!("invalid quantity {q:?}: too large"));
    }
    Ok(v as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubernetes_suffixes() {
        assert_eq!(bytes("128Mi").unwrap(), 128 << 20);
        assert_eq!(bytes("1G").unwrap(), 1_000_000_000);
        assert_eq!(bytes("1e3").unwrap(), 1000);
        assert_eq!(bytes("100").unwrap(), 100);
        assert_eq!(parse("500m").unwrap(), 0.5);
        assert_eq!(parse("2").unwrap(), 2.0);
        for bad in ["", "Mi", "-1", "abc", "1Xi"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
