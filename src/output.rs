//! Shared output formatting: Podman-style image sizes and ages, aligned tables, and inspect
//! records (JSON or a `--format` template).

use anyhow::Result;
use chrono::{DateTime, Utc};

/// Podman's size column of `images` and `history`: Go's `units.HumanSizeWithPrecision(size, 3)`
/// with a space before the unit (`4.86 MB`, `1.5 MB`, `786 kB`, `12 B`).
pub fn image_size(bytes: u64) -> String {
    let text = berth_run::stats::human_size_with_precision(bytes, 3);
    let unit = text
        .rfind(|c: char| c.is_ascii_digit())
        .map_or(0, |i| i + 1);
    format!("{} {}", &text[..unit], &text[unit..])
}

pub use berth_run::stats::human_age;

/// Go's `time.Time.String()` of a UTC time, as Podman's templates print times:
/// `2026-12-07 17:13:29.872770857 +0000 UTC` (fraction without trailing zeros).
pub fn go_time(when: DateTime<Utc>) -> String {
    format!(
        "{}{} +0000 UTC",
        when.format("%Y-%m-%d %H:%M:%S"),
        go_fraction(when)
    )
}

/// Go's `time.RFC3339Nano` of a UTC time, as Podman's JSON has it: `2026-12-07T17:12:47Z`,
/// `2026-12-07T17:13:29.87277Z`.
pub fn go_rfc3339_nano(when: DateTime<Utc>) -> String {
    format!("{}{}Z", when.format("%Y-%m-%dT%H:%M:%S"), go_fraction(when))
}

/// `.999999999`: the nanoseconds without trailing zeros, nothing when zero.
fn go_fraction(when: DateTime<Utc>) -> String {
    let nanos = when.timestamp_subsec_nanos();
    if nanos == 0 {
        return String::new();
    }
    format!(".{nanos:09}").trim_end_matches('0').to_string()
}

/// `records` as Go's `json.MarshalIndent(records, "", indent)` writes them, as Podman prints
/// its lists (each command its own indent).
pub fn go_json(records: &impl serde::Serialize, indent: &str) -> Result<String> {
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(indent.as_bytes());
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    records.serialize(&mut ser)?;
    Ok(String::from_utf8(buf)?)
}

/// Print rows as left-aligned columns separated by at least two spaces, as Podman's tables.
pub fn print_table(header: &[&str], rows: &[Vec<String>]) {
    print_aligned(header, rows, true);
}

/// [`print_table`]; without the header line when `heading` is false (`--noheading`), the rows
/// aligned exactly as under it (as Podman's).
pub fn print_aligned(header: &[&str], rows: &[Vec<String>], heading: bool) {
    for line in table_lines(header, rows)
        .into_iter()
        .skip(usize::from(!heading))
    {
        outln!("{line}");
    }
}

/// The header line and one line per row, columns padded to their widest cell.
fn table_lines(header: &[&str], rows: &[Vec<String>]) -> Vec<String> {
    let columns = rows.iter().map(Vec::len).chain([header.len()]).max();
    let mut widths = vec![0; columns.unwrap_or(0)];
    let header: Vec<String> = header.iter().map(|h| h.to_string()).collect();
    for row in rows.iter().chain([&header]) {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<w$}  ", w = widths[i]));
            }
        }
        out.trim_end().to_string()
    };
    std::iter::once(&header)
        .chain(rows)
        .map(|r| line(r))
        .collect()
}

/// Print inspect records: `json` (the default) as a JSON array, anything else as a Go
/// template rendered for each record.
pub fn print_records(records: &[serde_json::Value], format: &str) -> Result<()> {
    if format.is_empty() || format == "json" {
        outln!("{}", serde_json::to_string_pretty(records)?);
        return Ok(());
    }
    let t = crate::template::Template::parse(format, "inspect")?;
    for r in records {
        out!("{}", t.render_value(r, "inspect")?);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_like_podman() {
        assert_eq!(image_size(12), "12 B");
        assert_eq!(image_size(786_000), "786 kB");
        assert_eq!(image_size(4_861_000), "4.86 MB");
        assert_eq!(image_size(12_345_678), "12.3 MB");
        // As Podman 4.3 shows a 1.5 MB image (Go's %g drops trailing zeros).
        assert_eq!(image_size(1_500_000), "1.5 MB");
        assert_eq!(image_size(4_000_000), "4 MB");
    }

    #[test]
    fn rows_align_with_and_without_the_header() {
        let rows = vec![
            vec![
                "localhost/a-long-name".to_string(),
                "latest".to_string(),
                "1".into(),
            ],
            vec!["b".to_string(), "v1".to_string(), "22".into()],
        ];
        let lines = table_lines(&["REPOSITORY", "TAG", "SIZE"], &rows);
        assert_eq!(lines[1], "localhost/a-long-name  latest  1");
        assert_eq!(lines[2], "b                      v1      22");
        assert_eq!(lines[0], "REPOSITORY             TAG     SIZE");
    }

    #[test]
    fn times_read_like_go() {
        let t = DateTime::from_timestamp(1_796_663_609, 872_770_000).unwrap();
        assert_eq!(go_time(t), "2026-12-07 17:13:29.87277 +0000 UTC");
        assert_eq!(go_rfc3339_nano(t), "2026-12-07T17:13:29.87277Z");
        let t = DateTime::from_timestamp(1_796_663_567, 0).unwrap();
        assert_eq!(go_rfc3339_nano(t), "2026-12-07T17:12:47Z");
    }
}
