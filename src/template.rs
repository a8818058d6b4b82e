//! `--format`: the one Go-template engine of the CLI, for inspect, info, stats and every list
//! command. It takes the part of Go's text/template that Podman's users write: text (with `\t`
//! and `\n` escapes), `{{.Field}}` and `{{.A.B}}` paths, function calls and pipelines
//! (`{{json .A}}`, `{{join .Names ","}}`, `{{.Tag | upper}}`, `(…)`), `{{if}}`/`{{else}}`,
//! `{{range}}` and `{{with}}` blocks, `{{-`/`-}}` trimming, and Podman's `table` prefix.
//!
//! - this file: the syntax (Podman's normalisation of `table` and escapes, then the parse);
//! - `eval`: values from a JSON record as Go prints them, and the functions (Podman's
//!   `json join lower pad split title truncate upper`, Go's `eq ne lt le gt ge and or not len
//!   index print printf`);
//! - `list`: a list command's output as Podman's `report` package makes it (headers, Go's
//!   tab writer, `json`).

mod eval;
pub mod list;

use anyhow::{bail, Result};

pub use list::{is_json, tabwriter, ListFormat};

/// One operand of a command.
#[derive(Debug, PartialEq)]
pub enum Operand {
    /// `.` (empty path) or `.A.B`.
    Field(Vec<String>),
    Str(String),
    Int(i64),
    Bool(bool),
    /// A function name.
    Func(String),
    /// `( pipeline )`.
    Sub(Box<Action>),
}

/// One command of a pipeline: a function and its arguments, or one operand.
#[derive(Debug, PartialEq)]
pub struct Command {
    pub operands: Vec<Operand>,
}

/// One `{{…}}` action: a pipeline of commands, each one's value the last argument of the next.
#[derive(Debug, PartialEq)]
pub struct Action {
    pub commands: Vec<Command>,
}

impl Action {
    /// The path, when the action is nothing but a field (`{{.A.B}}`).
    pub fn field(&self) -> Option<&[String]> {
        match self.commands.as_slice() {
            [Command { operands }] => match operands.as_slice() {
                [Operand::Field(path)] => Some(path),
                _ => None,
            },
            _ => None,
        }
    }
}

/// One piece of a parsed template.
#[derive(Debug, PartialEq)]
pub enum Piece {
    Text(String),
    Action(Action),
    /// `{{if}}`, `{{range}}` or `{{with}}`, with its body and its `{{else}}` part.
    Block {
        kind: BlockKind,
        value: Action,
        body: Vec<Piece>,
        otherwise: Vec<Piece>,
    },
}

#[derive(Debug, PartialEq, Clone, Copy)]
pub enum BlockKind {
    If,
    Range,
    With,
}

/// A parsed `--format`: its pieces, and whether it is a table (Podman's `table ` prefix).
#[derive(Debug)]
pub struct Template {
    pub table: bool,
    pub pieces: Vec<Piece>,
}

impl Template {
    /// Parse `format` as Podman does; `what` names the command in errors (Go's template
    /// name). `table FORMAT` is a table: every space becomes a column break (a tab), as
    /// Podman's; `table` alone has no pieces (the caller's default table). `\t` and `\n`
    /// are escapes; the output of one record always ends with a newline.
    pub fn parse(format: &str, what: &str) -> Result<Template> {
        if format.trim() == "table" {
            return Ok(Template {
                table: true,
                pieces: Vec::new(),
            });
        }
        let table = format.starts_with("table ");
        let mut text = if table {
            format
                .replace("table ", "")
                .replace("\\t", "\t")
                .replace(' ', "\t")
                .replace("\\n", "\n")
        } else {
            format.replace("\\t", "\t").replace("\\n", "\n")
        };
        if !text.ends_with('\n') {
            text.push('\n');
        }
        let items = lex(&text, format, what)?;
        let mut parser = Parser {
            items: items.into_iter().peekable(),
            format,
            what,
        };
        let (pieces, end) = parser.pieces()?;
        if let Some(end) = end {
            bail!("template: {what}: unexpected {{{{{end}}}}} in {format:?}");
        }
        Ok(Template { table, pieces })
    }

    /// The template's simple actions, in order (not those inside blocks or pipelines).
    pub fn actions(&self) -> impl Iterator<Item = &Action> {
        self.pieces.iter().filter_map(|p| match p {
            Piece::Action(a) => Some(a),
            _ => None,
        })
    }

    /// Whether the template has nothing but text and simple actions.
    pub fn is_flat(&self) -> bool {
        self.pieces
            .iter()
            .all(|p| matches!(p, Piece::Text(_) | Piece::Action(_)))
    }

    /// The text of a flat template with each action replaced by `value(action)`.
    pub fn render(&self, value: impl Fn(&Action) -> String) -> String {
        self.pieces
            .iter()
            .map(|p| match p {
                Piece::Text(t) => t.clone(),
                Piece::Action(a) => value(a),
                Piece::Block { .. } => String::new(),
            })
            .collect()
    }

    /// The text with `record` as the dot: a missing field is an error, as Go's `can't
    /// evaluate field`, except a missing key of a map (`<no value>`).
    pub fn render_value(&self, record: &serde_json::Value, what: &str) -> Result<String> {
        eval::render(&self.pieces, record, false, what)
    }

    /// The text with a map as the dot (Podman's column headers): a missing key prints
    /// `<no value>`, as Go's.
    pub fn render_map(&self, map: &serde_json::Value, what: &str) -> Result<String> {
        eval::render(&self.pieces, map, true, what)
    }
}

/// What the lexer finds: text, or the inside of one `{{…}}`.
enum Item {
    Text(String),
    Action(String),
}

/// Split `text` into text and actions, applying `{{- ` and ` -}}` trims.
fn lex(text: &str, format: &str, what: &str) -> Result<Vec<Item>> {
    let mut items = Vec::new();
    let mut rest = text;
    let mut trim_next = false;
    while let Some(open) = rest.find("{{") {
        let mut before = &rest[..open];
        if trim_next {
            before = before.trim_start();
        }
        let Some(close) = find_close(&rest[open + 2..]) else {
            bail!("template: {what}: unclosed action in {format:?}");
        };
        let mut inner = &rest[open + 2..open + 2 + close];
        if let Some(i) = inner
            .strip_prefix('-')
            .filter(|i| i.starts_with(char::is_whitespace))
        {
            before = before.trim_end();
            inner = i;
        }
        trim_next = false;
        if let Some(i) = inner
            .strip_suffix('-')
            .filter(|i| i.ends_with(char::is_whitespace))
        {
            trim_next = true;
            inner = i;
        }
        if !before.is_empty() {
            items.push(Item::Text(before.to_string()));
        }
        items.push(Item::Action(inner.trim().to_string()));
        rest = &rest[open + 2 + close + 2..];
    }
    let last = if trim_next { rest.trim_start() } else { rest };
    if !last.is_empty() {
        items.push(Item::Text(last.to_string()));
    }
    Ok(items)
}

/// Where an action's `}}` is, skipping quoted strings.
fn find_close(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut i = 0;
    let mut quote = None;
    while i < bytes.len() {
        match (quote, bytes[i]) {
            (None, b'"' | b'`') => quote = Some(bytes[i]),
            (Some(b'"'), b'\\') => i += 1,
            (Some(q), c) if c == q => quote = None,
            (None, b'}') if bytes.get(i + 1) == Some(&b'}') => return Some(i),
            _ => {}
        }
        i += 1;
    }
    None
}

struct Parser<'a> {
    items: std::iter::Peekable<std::vec::IntoIter<Item>>,
    format: &'a str,
    what: &'a str,
}

impl Parser<'_> {
    /// Pieces up to the end of the input or a `{{else…}}`/`{{end}}`, which is returned.
    fn pieces(&mut self) -> Result<(Vec<Piece>, Option<String>)> {
        let mut out = Vec::new();
        while let Some(item) = self.items.next() {
            let action = match item {
                Item::Text(t) => {
                    out.push(Piece::Text(t));
                    continue;
                }
                Item::Action(a) => a,
            };
            let (word, rest) = match action.split_once(char::is_whitespace) {
                Some((w, r)) => (w, r.trim()),
                None => (action.as_str(), ""),
            };
            let kind = match word {
                "end" | "else" => {
                    let words: Vec<&str> = action.split_whitespace().collect();
                    return Ok((out, Some(words.join(" "))));
                }
                "if" => BlockKind::If,
                "range" => BlockKind::Range,
                "with" => BlockKind::With,
                _ if action.starts_with("/*") => continue,
                _ => {
                    out.push(Piece::Action(self.action(&action)?));
                    continue;
                }
            };
            out.push(self.block(kind, rest)?);
        }
        Ok((out, None))
    }

    /// A block whose opening action (after its keyword) is `value`.
    fn block(&mut self, kind: BlockKind, value: &str) -> Result<Piece> {
        let value = self.action(value)?;
        let (body, end) = self.pieces()?;
        let mut otherwise = Vec::new();
        match end.as_deref() {
            Some("end") => {}
            Some("else") => {
                let (pieces, end) = self.pieces()?;
                if end.as_deref() != Some("end") {
                    bail!(
                        "template: {}: missing {{{{end}}}} in {:?}",
                        self.what,
                        self.format
                    );
                }
                otherwise = pieces;
            }
            Some(e) if e.starts_with("else if ") || e.starts_with("else with ") => {
                // `{{else if X}}…{{end}}` is `{{else}}{{if X}}…{{end}}{{end}}`, sharing the end.
                let (word, rest) = e["else ".len()..].split_once(' ').unwrap_or_default();
                let kind = if word == "if" {
                    BlockKind::If
                } else {
                    BlockKind::With
                };
                otherwise.push(self.block(kind, rest.trim())?);
            }
            _ => bail!(
                "template: {}: missing {{{{end}}}} in {:?}",
                self.what,
                self.format
            ),
        }
        Ok(Piece::Block {
            kind,
            value,
            body,
            otherwise,
        })
    }

    fn action(&self, text: &str) -> Result<Action> {
        let tokens = tokens(text).map_err(|e| self.unsupported(text, &e))?;
        let mut pos = 0;
        let action = pipeline(&tokens, &mut pos).map_err(|e| self.unsupported(text, &e))?;
        if pos != tokens.len() {
            return Err(self.unsupported(text, "unexpected \")\""));
        }
        Ok(action)
    }

    fn unsupported(&self, action: &str, why: &str) -> anyhow::Error {
        anyhow::anyhow!(
            "template: {}: unsupported action {{{{{action}}}}}: {why} (berth knows fields, \
             functions, pipelines, if, range and with, but not variables)",
            self.what
        )
    }
}

#[derive(Debug, PartialEq)]
enum Token {
    Word(String),
    Str(String),
    Open,
    Close,
    Pipe,
}

fn tokens(text: &str) -> std::result::Result<Vec<Token>, String> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' | ')' | '|' => {
                chars.next();
                out.push(match c {
                    '(' => Token::Open,
                    ')' => Token::Close,
                    _ => Token::Pipe,
                });
            }
            '"' | '`' => {
                chars.next();
                let mut s = String::new();
                loop {
                    match chars.next() {
                        None => return Err("unterminated string".to_string()),
                        Some(q) if q == c => break,
                        Some('\\') if c == '"' => match chars.next() {
                            Some('n') => s.push('\n'),
                            Some('t') => s.push('\t'),
                            Some(e) => s.push(e),
                            None => return Err("unterminated string".to_string()),
                        },
                        Some(ch) => s.push(ch),
                    }
                }
                out.push(Token::Str(s));
            }
            _ => {
                let mut w = String::new();
                while let Some(&ch) = chars.peek() {
                    if ch.is_whitespace() || "()|\"`".contains(ch) {
                        break;
                    }
                    w.push(ch);
                    chars.next();
                }
                out.push(Token::Word(w));
            }
        }
    }
    Ok(out)
}

fn pipeline(tokens: &[Token], pos: &mut usize) -> std::result::Result<Action, String> {
    let mut commands = Vec::new();
    loop {
        let mut operands = Vec::new();
        while let Some(t) = tokens.get(*pos) {
            match t {
                Token::Pipe | Token::Close => break,
                Token::Open => {
                    *pos += 1;
                    let sub = pipeline(tokens, pos)?;
                    if tokens.get(*pos) != Some(&Token::Close) {
                        return Err("unclosed \"(\"".to_string());
                    }
                    operands.push(Operand::Sub(Box::new(sub)));
                }
                Token::Str(s) => operands.push(Operand::Str(s.clone())),
                Token::Word(w) => operands.push(operand(w)?),
            }
            *pos += 1;
        }
        if operands.is_empty() {
            return Err("missing value".to_string());
        }
        commands.push(Command { operands });
        if tokens.get(*pos) == Some(&Token::Pipe) {
            *pos += 1;
        } else {
            return Ok(Action { commands });
        }
    }
}

fn operand(word: &str) -> std::result::Result<Operand, String> {
    if let Some(dotted) = word.strip_prefix('.') {
        let path: Vec<String> = if dotted.is_empty() {
            Vec::new()
        } else {
            dotted.split('.').map(str::to_string).collect()
        };
        if path
            .iter()
            .any(|p| p.is_empty() || !p.chars().all(|c| c.is_alphanumeric() || c == '_'))
        {
            return Err(format!("bad field {word:?}"));
        }
        return Ok(Operand::Field(path));
    }
    match word {
        "true" => return Ok(Operand::Bool(true)),
        "false" => return Ok(Operand::Bool(false)),
        _ => {}
    }
    if let Ok(n) = word.parse::<i64>() {
        return Ok(Operand::Int(n));
    }
    if word.chars().all(|c| c.is_alphanumeric() || c == '_')
        && word.starts_with(|c: char| c.is_alphabetic())
    {
        return Ok(Operand::Func(word.to_string()));
    }
    Err(format!("{word:?}"))
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

    #[test]
    fn blocks_functions_and_pipelines() {
        let rec = json!({"Names": ["a", "b"], "Tag": "v1", "Repository": "",
            "Labels": {"k": "v"}, "Size": 3});
        let render = |f: &str| {
            Template::parse(f, "t")
                .unwrap()
                .render_value(&rec, "t")
                .unwrap()
        };
        assert_eq!(render("{{range .Names}}<{{.}}>{{end}}"), "<a><b>\n");
        assert_eq!(
            render("{{if .Repository}}r{{else}}<none>{{end}}"),
            "<none>\n"
        );
        assert_eq!(render("{{if .Repository}}r{{else if .Tag}}t{{end}}"), "t\n");
        assert_eq!(
            render("{{join .Names \", \"}} {{.Tag | upper}}"),
            "a, b V1\n"
        );
        assert_eq!(render("{{index .Labels \"k\"}} {{len .Names}}"), "v 2\n");
        assert_eq!(render("{{.Labels.k}} {{.Labels.nope}}"), "v <no value>\n");
        assert_eq!(render("{{printf \"%s-%d\" .Tag .Size}}"), "v1-3\n");
        assert_eq!(render("{{with .Tag}}[{{.}}]{{end}}"), "[v1]\n");
        assert_eq!(render("{{if eq .Tag \"v1\"}}yes{{end}}"), "yes\n");
        assert_eq!(render("{{truncate .Tag 1}}{{pad .Tag 1 1}}"), "v v1 \n");
        assert_eq!(render("{{json (index .Names 1)}}"), "\"b\"\n");
        assert_eq!(render("a  {{- .Tag -}}  b"), "av1b\n");
        // `table`: spaces are column breaks, as Podman's.
        let t = Template::parse("table {{.Tag}} {{.Size}}", "t").unwrap();
        assert!(t.table);
        assert_eq!(t.render_value(&rec, "t").unwrap(), "v1\t3\n");
        assert_eq!(
            t.render_map(&json!({"Tag": "TAG"}), "t").unwrap(),
            "TAG\t<no value>\n"
        );
        assert!(Template::parse("table", "t").unwrap().pieces.is_empty());
        assert!(Template::parse("{{$x := .Tag}}", "t").is_err());
        assert!(Template::parse("{{if .Tag}}x", "t").is_err());
        assert!(Template::parse("{{end}}", "t").is_err());
    }

    /// Found by `fuzz/` (template target): a width of 40 digits overflowed the multiply, and a
    /// merely huge one asked for gigabytes of spaces.
    #[test]
    fn printf_width_past_gos_limit_is_badwidth_not_an_overflow() {
        let rec = json!({"ID": "x", "Size": 3});
        let render = |f: &str| Template::parse(f, "t").unwrap().render_value(&rec, "t");
        let wide = "9".repeat(40);
        assert_eq!(
            render(&format!("{{{{printf \"%{wide}s|%d\" .ID .Size}}}}")).unwrap(),
            "%!(BADWIDTH)x|3\n"
        );
        assert_eq!(
            render("{{printf \"%1000001s\" .ID}}").unwrap(),
            "%!(BADWIDTH)x\n"
        );
        assert_eq!(render("{{printf \"%3s\" .ID}}").unwrap(), "  x\n");
    }

    #[test]
    fn pad_past_the_width_limit_is_an_error_not_an_allocation() {
        let rec = json!({"ID": "x"});
        let render = |f: &str| Template::parse(f, "t").unwrap().render_value(&rec, "t");
        let err = render("{{pad .ID 99999999999 0}}").unwrap_err().to_string();
        assert!(err.contains("over the limit"), "{err}");
        assert_eq!(render("{{pad .ID 1 2}}").unwrap(), " x  \n");
    }
}
