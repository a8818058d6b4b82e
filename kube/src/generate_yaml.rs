//! A document as YAML that Kubernetes and Podman read back the same: serde_norway's output,
//! with the plain scalars YAML 1.1 takes for other types quoted.
//!
//! serde_norway writes YAML 1.2, where only `true`/`false` are booleans, so it leaves
//! `y`, `yes`, `on`, `no`, `off` (and their capitalised forms) unquoted. Kubernetes'
//! `sigs.k8s.io/yaml` and Podman read YAML 1.1 (go-yaml v2), where those are booleans: an
//! `-e DEBUG=yes` or an annotation `y` would come back as `true` and fail to load as a string
//! (`podman kube play`: "cannot unmarshal bool into … of type string"). Podman's Go encoder
//! quotes them; this does the same to serde_norway's block output, scalar by scalar (block
//! scalars' content lines are left as they are). The same for timestamps (`creationTimestamp`:
//! PyYAML, as `kubernetes-validate` uses it, reads an unquoted one as a date, not the string
//! the schema wants), sexagesimal numbers and integers with `_`.

/// The words go-yaml v2 resolves to booleans (its `resolve.go` table), beyond YAML 1.2's.
const YAML11_BOOLS: &[&str] = &[
    "y", "Y", "yes", "Yes", "YES", "on", "On", "ON", "n", "N", "no", "No", "NO", "off", "Off",
    "OFF",
];

/// Whether YAML 1.1 (go-yaml v2, PyYAML) reads the plain scalar `s` as something else than the
/// string serde_norway meant: a boolean word, a timestamp (`2026-12-08T01:41:56Z`), a
/// sexagesimal number (`1:20`) or an integer with `_` (`1_000`).
fn yaml11_ambiguous(s: &str) -> bool {
    if YAML11_BOOLS.contains(&s) {
        return true;
    }
    let b = s.as_bytes();
    let digits = |from: usize, n: usize| {
        b.len() >= from + n && b[from..from + n].iter().all(u8::is_ascii_digit)
    };
    // YYYY-M[M]-D[D], then the end or a time.
    if digits(0, 4) && b.get(4) == Some(&b'-') {
        let month = (1..=2).rev().find(|n| digits(5, *n)).unwrap_or(0);
        if month > 0 && b.get(5 + month) == Some(&b'-') {
            let at = 6 + month;
            let day = (1..=2).rev().find(|n| digits(at, *n)).unwrap_or(0);
            if day > 0 && matches!(b.get(at + day), None | Some(b'T' | b't' | b' ' | b'\t')) {
                return true;
            }
        }
    }
    let unsigned = s.strip_prefix(['-', '+']).unwrap_or(s);
    let number_like = unsigned.starts_with(|c: char| c.is_ascii_digit())
        && unsigned
            .chars()
            .all(|c| c.is_ascii_digit() || c == '_' || c == ':' || c == '.');
    number_like && (unsigned.contains('_') || unsigned.contains(':'))
}

/// `value` serialized by serde_norway, YAML 1.1's booleans quoted.
pub(crate) fn to_yaml<T: serde::Serialize>(value: &T) -> Result<String, serde_norway::Error> {
    Ok(quote_yaml11_bools(&serde_norway::to_string(value)?))
}

/// Quote every plain scalar (key or value) of serde_norway's block output that YAML 1.1 reads
/// as another type ([`yaml11_ambiguous`]).
pub(crate) fn quote_yaml11_bools(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    // The indentation of the line that opened a block scalar (`key: |-`): deeper lines are its
    // content.
    let mut block: Option<usize> = None;
    for line in text.split_inclusive('\n') {
        let body = line.trim_end_matches('\n');
        let indent = body.len() - body.trim_start().len();
        if let Some(open) = block {
            if body.trim().is_empty() || indent > open {
                out.push_str(line);
                continue;
            }
            block = None;
        }
        let fixed = quote_line(body);
        if ["|", "|-", "|+"]
            .iter()
            .any(|m| body.ends_with(&format!(": {m}")) || body.ends_with(&format!("- {m}")))
        {
            block = Some(indent);
        }
        out.push_str(&fixed);
        out.push_str(&line[body.len()..]);
    }
    out
}

/// One line: `[- ]*KEY: VALUE`, `[- ]*KEY:` or `[- ]*VALUE`, each plain part checked.
fn quote_line(body: &str) -> String {
    let quote = |s: &str| {
        if yaml11_ambiguous(s) {
            format!("'{s}'")
        } else {
            s.to_string()
        }
    };
    let mut prefix_len = body.len() - body.trim_start().len();
    while body[prefix_len..].starts_with("- ") {
        prefix_len += 2;
    }
    let (prefix, rest) = body.split_at(prefix_len);
    // A plain key never holds `: ` (serde_norway quotes such keys), so the first one ends it.
    if let Some((key, value)) = rest.split_once(": ") {
        return format!("{prefix}{}: {}", quote(key), quote(value));
    }
    if let Some(key) = rest.strip_suffix(':') {
        return format!("{prefix}{}:", quote(key));
    }
    format!("{prefix}{}", quote(rest))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn yaml11_booleans_are_quoted_and_read_back_as_strings() {
        let value = BTreeMap::from([
            (
                "env".to_string(),
                vec!["yes".to_string(), "y".to_string(), "x".to_string()],
            ),
            ("on".to_string(), vec!["Off".to_string()]),
            ("text".to_string(), vec!["a\nyes\n".to_string()]),
        ]);
        let text = to_yaml(&value).unwrap();
        assert!(text.contains("- 'yes'\n"), "{text}");
        assert!(text.contains("- 'y'\n"), "{text}");
        assert!(text.contains("- x\n"), "{text}");
        assert!(text.contains("'on':\n"), "{text}");
        assert!(text.contains("- 'Off'\n"), "{text}");
        // A block scalar's content is not touched.
        assert!(
            text.contains("\n    yes\n") || text.contains("\n  yes\n"),
            "{text}"
        );
        let back: BTreeMap<String, Vec<String>> = serde_norway::from_str(&text).unwrap();
        assert_eq!(back, value);
    }

    #[test]
    fn mapping_values_in_sequences() {
        assert_eq!(quote_line("  - name: no"), "  - name: 'no'");
        assert_eq!(quote_line("    value: ON"), "    value: 'ON'");
        assert_eq!(quote_line("    value: onward"), "    value: onward");
        assert_eq!(quote_line("- - y"), "- - 'y'");
        assert_eq!(
            quote_line("  creationTimestamp: 2026-12-08T01:41:56Z"),
            "  creationTimestamp: '2026-12-08T01:41:56Z'"
        );
        assert_eq!(quote_line("- 2026-1-8"), "- '2026-1-8'");
        assert_eq!(quote_line("- 1:20"), "- '1:20'");
        assert_eq!(quote_line("- 1_000"), "- '1_000'");
        assert_eq!(quote_line("- 2026-12-08x"), "- 2026-12-08x");
        assert_eq!(quote_line("- 10.0.0.1"), "- 10.0.0.1");
        assert_eq!(quote_line("- 127.0.0.1:80"), "- '127.0.0.1:80'");
    }
}
