//! `--format`: the subset of Go's text/template that Podman's users write: text (with `\t`
//! and `\n` escapes), `{{.Field}}`, `{{.A.B}}` paths and `{{json .A}}`; `table` first asks for
//! a header line (the caller's column names). Values come from the caller ([`Template::render`])
//! or from a JSON record ([`Template::render_value`], as Go prints them).

use anyhow::{bail, Result};
use serde_json::Value;

/// One `{{…}}` action: a dotted path (empty for `{{.}}`), printed as Go prints the value or,
/// with `json`, as compact JSON.
#[derive(Debug, PartialEq)]
pub struct Action {
    pub path: Vec<String>,
    pub json: bool,
}

/// One piece of a parsed template.
#[derive(Debug, PartialEq)]
pub enum Piece {
    Text(String),
    Action(Action),
}

/// A parsed `--format`: its pieces, and whether it is a table (a header line first).
#[derive(Debug)]
pub struct Template {
    pub table: bool,
    pub pieces: Vec<Piece>,
}

impl Template {
    /// Parse `format`; `what` names the command in errors (Go's template name). A table's
    /// spacing between two actions becomes a column break (a tab); the output of one record
    /// always ends with a newline.
    pub fn parse(format: &str, what: &str) -> Result<Template> {
        let mut text = format.trim_start();
        let table = text.starts_with("table");
        if table {
            text = text["table".len()..].trim_start();
        }
        let text = text.replace("\\t", "\t").replace("\\n", "\n");
        let mut pieces = Vec::new();
        let mut rest = text.as_str();
        while let Some(open) = rest.find("{{") {
            if open > 0 {
                pieces.push(Piece::Text(rest[..open].to_string()));
            }
            let Some(close) = rest[open..].find("}}") else {
                bail!("template: {what}: unclosed action in {format:?}");
            };
            let action = rest[open + 2..open + close].trim_matches('-').trim();
            pieces.push(Piece::Action(parse_action(action, what)?));
            rest = &rest[open + close + 2..];
        }
        if !rest.is_empty() {
            pieces.push(Piece::Text(rest.to_string()));
        }
        if table {
            let n = pieces.len();
            for i in 1..n.saturating_sub(1) {
                let between = matches!(
                    (&pieces[i - 1], &pieces[i], &pieces[i + 1]),
                    (Piece::Action(_), Piece::Text(t), Piece::Action(_))
                        if !t.is_empty() && t.trim().is_empty()
                );
                if between {
                    pieces[i] = Piece::Text("\t".to_string());
                }
            }
        }
        if !pieces.is_empty() && !matches!(pieces.last(), Some(Piece::Text(t)) if t.ends_with('\n'))
        {
            pieces.push(Piece::Text("\n".to_string()));
        }
        Ok(Template { table, pieces })
    }

    /// The actions, in order.
    pub fn actions(&self) -> impl Iterator<Item = &Action> {
        self.pieces.iter().filter_map(|p| match p {
            Piece::Action(a) => Some(a),
            Piece::Text(_) => None,
        })
    }

    /// The text with each action replaced by `value(action)`.
    pub fn render(&self, value: impl Fn(&Action) -> String) -> String {
        self.pieces
            .iter()
            .map(|p| match p {
                Piece::Text(t) => t.clone(),
                Piece::Action(a) => value(a),
            })
            .collect()
    }

    /// The text with each action's path looked up in `record`; a missing field is an error,
    /// as Go's `can't evaluate field`, except a missing key of a map (`<no value>`).
    pub fn render_value(&self, record: &Value, what: &str) -> Result<String> {
        let mut out = String::new();
        for p in &self.pieces {
            match p {
                Piece::Text(t) => out.push_str(t),
                Piece::Action(a) => {
                    let v = lookup(record, &a.path, what)?;
                    if a.json {
                        out.push_str(&serde_json::to_string(&v)?);
                    } else {
                        out.push_str(&go_text(&v));
                    }
                }
            }
        }
        Ok(out)
    }
}

/// Maps in berth's records (keys chosen by users): a missing key is not an error.
const MAPS: &[&str] = &[
    "Labels",
    "Annotations",
    "Tmpfs",
    "PortBindings",
    "Ports",
    "Options",
];

fn lookup(record: &Value, path: &[String], what: &str) -> Result<Value> {
    let mut v = record;
    for (i, key) in path.iter().enumerate() {
        match v.get(key) {
            Some(next) => v = next,
            None if i > 0 && MAPS.contains(&path[i - 1].as_str()) => {
                return Ok(Value::String("<no value>".to_string()))
            }
            None => bail!(
                "template: {what}: can't evaluate field {key} in .{}",
                path.join(".")
            ),
        }
    }
    Ok(v.clone())
}

/// A value as Go's `fmt` prints it: strings bare, lists `[a b]`, maps `map[k:v]`, null
/// `<nil>`.
fn go_text(v: &Value) -> String {
    match v {
        Value::Null => "<nil>".to_string(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Array(a) => format!("[{}]", a.iter().map(go_text).collect::<Vec<_>>().join(" ")),
        Value::Object(m) => {
            let mut items: Vec<_> = m.iter().collect();
            items.sort_by(|a, b| a.0.cmp(b.0));
            let inner: Vec<String> = items
                .iter()
                .map(|(k, v)| format!("{k}:{}", go_text(v)))
                .collect();
            format!("map[{}]", inner.join(" "))
        }
    }
}

fn parse_action(action: &str, what: &str) -> Result<Action> {
    let (json, path) = match action.strip_prefix("json") {
        Some(rest) if rest.starts_with(char::is_whitespace) => (true, rest.trim()),
        _ => (false, action),
    };
    let Some(dotted) = path.strip_prefix('.') else {
        bail!(
            "template: {what}: unsupported action {{{{{action}}}}}: berth knows {{{{.Field}}}}, \
             {{{{.A.B}}}} and {{{{json .A}}}}"
        );
    };
    let path: Vec<String> = if dotted.is_empty() {
        Vec::new()
    } else {
        dotted.split('.').map(str::to_string).collect()
    };
    if path
        .iter()
        .any(|p| p.is_empty() || !p.chars().all(|c| c.is_alphanumeric() || c == '_'))
    {
        bail!("template: {what}: unsupported action {{{{{action}}}}}");
    }
    Ok(Action { path, json })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renders_paths_and_json_as_go() {
        let rec = json!({"Name": "x", "State": {"Status": "running"},
            "Config": {"Env": ["A=1", "B=2"], "User": "1000", "Labels": null},
            "HostConfig": {"Tmpfs": {"/t": "rw"}}});
        let t = Template::parse("{{.State.Status}} {{ .Config.User }}", "inspect").unwrap();
        assert_eq!(t.render_value(&rec, "inspect").unwrap(), "running 1000\n");
        let t = Template::parse("{{.Config.Env}}|{{json .Config.Env}}|{{.Name}}", "i").unwrap();
        assert_eq!(
            t.render_value(&rec, "i").unwrap(),
            "[A=1 B=2]|[\"A=1\",\"B=2\"]|x\n"
        );
        let t = Template::parse("{{.HostConfig.Tmpfs}} {{.Config.Labels}}", "i").unwrap();
        assert_eq!(t.render_value(&rec, "i").unwrap(), "map[/t:rw] <nil>\n");
        let t = Template::parse("{{.Nope}}", "inspect").unwrap();
        let err = t.render_value(&rec, "inspect").unwrap_err().to_string();
        assert!(err.contains("can't evaluate field Nope"), "{err}");
        assert!(Template::parse("{{range .}}", "i").is_err());
        assert!(Template::parse("{{.Name", "i").is_err());
        let t = Template::parse("{{json .}}", "i").unwrap();
        assert!(t.render_value(&rec, "i").unwrap().starts_with('{'));
    }
}
