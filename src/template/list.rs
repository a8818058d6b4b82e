//! A list command's `--format`, as Podman's `report` package treats it: `json` (the caller
//! prints its records), the command's own table (headers, then rows through Go's tab
//! writer), `table FORMAT` (the same with the user's columns), or any other template (one
//! rendering per record, no headers, no alignment). Headers are the template rendered with a
//! map of column names, as Podman renders them: a field the map lacks prints `<no value>`.

use anyhow::Result;
use serde_json::Value;

use super::Template;

/// Podman's `report.IsJSON`: `json`, `{{json .}}` or `{{ json . }}`, spaces around allowed.
pub fn is_json(format: &str) -> bool {
    let f = format.trim();
    if f == "json" {
        return true;
    }
    let Some(inner) = f.strip_prefix("{{").and_then(|f| f.strip_suffix("}}")) else {
        return false;
    };
    let Some(rest) = inner.trim().strip_prefix("json") else {
        return false;
    };
    matches!(rest.trim(), "" | ".")
}

/// How one list command prints its records.
pub struct ListFormat {
    template: Template,
    /// The format as given (for [`ListFormat::needs`]).
    text: String,
    /// Through the tab writer (a table).
    aligned: bool,
    /// A header line first.
    headers: bool,
}

impl ListFormat {
    /// `format`: the user's `--format`, if any (not `json`: the caller prints JSON itself);
    /// `default`: the command's own table (`table {{.A}}\t{{.B}}`), also what `table` alone
    /// asks for; `no_heading`: `--noheading`.
    pub fn new(
        format: Option<&str>,
        default: &str,
        no_heading: bool,
        what: &str,
    ) -> Result<ListFormat> {
        let user = format.map(|f| Template::parse(f, what)).transpose()?;
        let (template, text) = match user {
            Some(t) if !t.pieces.is_empty() => (t, format.unwrap_or_default()),
            _ => (Template::parse(default, what)?, default),
        };
        Ok(ListFormat {
            aligned: template.table,
            headers: template.table && !no_heading,
            template,
            text: text.to_string(),
        })
    }

    /// Whether rendering may need `field` (so that a caller computes costly fields only when
    /// asked for).
    pub fn needs(&self, field: &str) -> bool {
        self.text.contains(field) || self.text.contains("json") || self.text.contains("{{.}}")
    }

    /// The output: the header line (`headers` maps each field to its column name), then one
    /// rendering per record; aligned as Go's tab writer with Podman's settings for a table.
    pub fn render(&self, headers: &Value, rows: &[Value], what: &str) -> Result<String> {
        let mut text = String::new();
        if self.headers {
            text.push_str(&self.template.render_map(headers, what)?);
        }
        for row in rows {
            text.push_str(&self.template.render_value(row, what)?);
        }
        Ok(if self.aligned { tabwriter(&text) } else { text })
    }

    /// [`ListFormat::render`] on stdout.
    pub fn print(&self, headers: &Value, rows: &[Value], what: &str) -> Result<()> {
        out!("{}", self.render(headers, rows, what)?);
        Ok(())
    }
}

/// Podman's tab writer: Go's `text/tabwriter` with minimum cell width 12, padding 2 and
/// spaces. A tab ends a cell; a column is as wide as its widest cell plus the padding in each
/// block of consecutive lines that have that column; the text after a line's last tab is not
/// padded.
pub fn tabwriter(text: &str) -> String {
    let body = text.strip_suffix('\n').unwrap_or(text);
    if body.is_empty() {
        return text.to_string();
    }
    let lines: Vec<Vec<&str>> = body.split('\n').map(|l| l.split('\t').collect()).collect();
    let mut out = String::new();
    let mut widths = Vec::new();
    format_block(&lines, &mut widths, 0, lines.len(), &mut out);
    out
}

const MIN_WIDTH: usize = 12;
const PADDING: usize = 2;

/// Go's `tabwriter.format`: the lines `line0..line1` with the columns left of
/// `widths.len()` already sized.
fn format_block(
    lines: &[Vec<&str>],
    widths: &mut Vec<usize>,
    line0: usize,
    line1: usize,
    out: &mut String,
) {
    let column = widths.len();
    let mut start = line0;
    let mut this = line0;
    while this < line1 {
        if column + 1 >= lines[this].len() {
            this += 1;
            continue;
        }
        write_lines(lines, widths, start, this, out);
        start = this;
        let mut width = MIN_WIDTH;
        while this < line1 && column + 1 < lines[this].len() {
            width = width.max(lines[this][column].chars().count() + PADDING);
            this += 1;
        }
        widths.push(width);
        format_block(lines, widths, start, this, out);
        widths.pop();
        start = this;
    }
    write_lines(lines, widths, start, line1, out);
}

fn write_lines(lines: &[Vec<&str>], widths: &[usize], from: usize, to: usize, out: &mut String) {
    for cells in &lines[from..to] {
        for (j, cell) in cells.iter().enumerate() {
            out.push_str(cell);
            if let Some(w) = widths.get(j) {
                out.push_str(&" ".repeat(w.saturating_sub(cell.chars().count())));
            }
        }
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_is_podmans() {
        for f in ["json", " json ", "{{json .}}", "{{ json . }}", "{{json}}"] {
            assert!(is_json(f), "{f}");
        }
        for f in ["{{json .Names}}", "table json", "jsonx"] {
            assert!(!is_json(f), "{f}");
        }
    }

    #[test]
    fn tables_align_as_gos_tabwriter() {
        assert_eq!(
            tabwriter("IMAGE ID\tCREATED AT\tSIZE\nabc\ta-much-longer-cell\t1 B\n"),
            "IMAGE ID    CREATED AT          SIZE\nabc         a-much-longer-cell  1 B\n"
        );
        // A line with fewer cells ends the column's block.
        assert_eq!(
            tabwriter("a\tb\nc\nlong-cell-here\td\n"),
            "a           b\nc\nlong-cell-here  d\n"
        );
        assert_eq!(tabwriter(""), "");
    }

    #[test]
    fn lists_follow_podmans_report_rules() {
        let headers = json!({"ID": "IMAGE ID", "Tag": "TAG"});
        let rows = [json!({"ID": "abc", "Tag": "v1"})];
        let default = "table {{.ID}}\t{{.Tag}}";
        let render = |format: Option<&str>, no_heading| {
            ListFormat::new(format, default, no_heading, "images")
                .unwrap()
                .render(&headers, &rows, "images")
                .unwrap()
        };
        assert_eq!(render(None, false), "IMAGE ID    TAG\nabc         v1\n");
        assert_eq!(render(None, true), "abc         v1\n");
        assert_eq!(render(Some("table"), false), render(None, false));
        assert_eq!(render(Some("{{.ID}} {{.Tag}}"), false), "abc v1\n");
        let nope = ListFormat::new(Some("table {{.Tag}} {{.Nope}}"), default, false, "i").unwrap();
        assert_eq!(
            nope.render(&headers, &[], "i").unwrap(),
            "TAG         <no value>\n"
        );
        let err = nope.render(&headers, &rows, "i").unwrap_err().to_string();
        assert!(err.contains("can't evaluate field Nope"), "{err}");
        let f = ListFormat::new(Some("{{.Tag}}"), default, false, "images").unwrap();
        assert!(f.needs("Tag") && !f.needs("Labels"));
    }
}
