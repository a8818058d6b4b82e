//! Executing a parsed template against a JSON record, as Go's text/template executes one
//! against a struct: fields by name, values printed as Go's `fmt` prints them, Go's truth
//! (empty and zero values are false), and the functions Podman's templates have.

use anyhow::{anyhow, bail, Result};
use serde_json::Value;

use super::{Action, BlockKind, Command, Operand, Piece};

/// Maps in berth's records (keys chosen by users): a missing key is not an error.
const MAPS: &[&str] = &[
    "Labels",
    "Annotations",
    "Tmpfs",
    "PortBindings",
    "Ports",
    "Options",
    "Status",
];

/// One execution of a template (`what`: the command, for errors).
struct Exec<'a> {
    what: &'a str,
}

/// `pieces` executed with `dot`; `map_root`: the dot is a map (Podman's headers), where a
/// missing key is `<no value>`, not an error.
pub(super) fn render(pieces: &[Piece], dot: &Value, map_root: bool, what: &str) -> Result<String> {
    let exec = Exec { what };
    let mut out = String::new();
    exec.pieces(pieces, dot, map_root, &mut out)?;
    Ok(out)
}

impl Exec<'_> {
    fn pieces(&self, pieces: &[Piece], dot: &Value, is_map: bool, out: &mut String) -> Result<()> {
        for p in pieces {
            match p {
                Piece::Text(t) => out.push_str(t),
                Piece::Action(a) => out.push_str(&go_text(&self.action(a, dot, is_map)?)),
                Piece::Block {
                    kind,
                    value,
                    body,
                    otherwise,
                } => {
                    let v = self.action(value, dot, is_map)?;
                    match kind {
                        BlockKind::If if truth(&v) => self.pieces(body, dot, is_map, out)?,
                        BlockKind::With if truth(&v) => self.pieces(body, &v, false, out)?,
                        BlockKind::Range if truth(&v) => {
                            let items: Vec<&Value> = match &v {
                                Value::Array(a) => a.iter().collect(),
                                Value::Object(m) => {
                                    let mut keys: Vec<&String> = m.keys().collect();
                                    keys.sort();
                                    keys.into_iter().map(|k| &m[k]).collect()
                                }
                                other => bail!(
                                    "template: {}: range can't iterate over {}",
                                    self.what,
                                    go_text(other)
                                ),
                            };
                            for item in items {
                                self.pieces(body, item, false, out)?;
                            }
                        }
                        _ => self.pieces(otherwise, dot, is_map, out)?,
                    }
                }
            }
        }
        Ok(())
    }

    fn action(&self, action: &Action, dot: &Value, is_map: bool) -> Result<Value> {
        let mut piped = None;
        for c in &action.commands {
            piped = Some(self.command(c, dot, is_map, piped)?);
        }
        Ok(piped.unwrap_or(Value::Null))
    }

    fn command(
        &self,
        command: &Command,
        dot: &Value,
        is_map: bool,
        piped: Option<Value>,
    ) -> Result<Value> {
        let (first, rest) = command
            .operands
            .split_first()
            .ok_or_else(|| anyhow!("template: {}: empty command", self.what))?;
        if let Operand::Func(name) = first {
            let mut args = rest
                .iter()
                .map(|o| self.operand(o, dot, is_map))
                .collect::<Result<Vec<_>>>()?;
            args.extend(piped);
            return call(name, &args)
                .map_err(|e| anyhow!("template: {}: error calling {name}: {e}", self.what));
        }
        if !rest.is_empty() || piped.is_some() {
            bail!(
                "template: {}: can't give argument to non-function",
                self.what
            );
        }
        self.operand(first, dot, is_map)
    }

    fn operand(&self, operand: &Operand, dot: &Value, is_map: bool) -> Result<Value> {
        Ok(match operand {
            Operand::Field(path) => self.lookup(dot, path, is_map)?,
            Operand::Str(s) => Value::String(s.clone()),
            Operand::Int(n) => Value::from(*n),
            Operand::Bool(b) => Value::Bool(*b),
            Operand::Func(name) => call(name, &[])
                .map_err(|e| anyhow!("template: {}: error calling {name}: {e}", self.what))?,
            Operand::Sub(a) => self.action(a, dot, is_map)?,
        })
    }

    fn lookup(&self, dot: &Value, path: &[String], is_map: bool) -> Result<Value> {
        let mut v = dot;
        for (i, key) in path.iter().enumerate() {
            let in_map = if i == 0 {
                is_map
            } else {
                MAPS.contains(&path[i - 1].as_str())
            };
            match v.get(key) {
                Some(next) => v = next,
                None if in_map && v.is_object() => {
                    return Ok(Value::String("<no value>".to_string()))
                }
                None => bail!(
                    "template: {}: can't evaluate field {key} in .{}",
                    self.what,
                    path.join(".")
                ),
            }
        }
        Ok(v.clone())
    }
}

/// Go's truth: false, 0, nil and empty strings, lists and maps are false.
fn truth(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(m) => !m.is_empty(),
    }
}

/// A value as Go's `fmt` prints it: strings bare, lists `[a b]`, maps `map[k:v]`, null
/// `<nil>`.
pub(super) fn go_text(v: &Value) -> String {
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

/// Go's name of a value's type, for errors.
fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "nil",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "slice",
        Value::Object(_) => "map",
    }
}

fn string(v: &Value) -> Result<&str, String> {
    v.as_str().ok_or_else(|| {
        format!(
            "wrong type for value; expected string; got {}",
            type_name(v)
        )
    })
}

fn int(v: &Value) -> Result<i64, String> {
    v.as_i64()
        .ok_or_else(|| format!("wrong type for value; expected int; got {}", type_name(v)))
}

fn arity(args: &[Value], n: usize) -> Result<(), String> {
    if args.len() == n {
        Ok(())
    } else {
        Err(format!("wrong number of args: want {n} got {}", args.len()))
    }
}

/// One of the template functions.
fn call(name: &str, args: &[Value]) -> Result<Value, String> {
    let text = |s: String| Ok(Value::String(s));
    match name {
        "json" => {
            arity(args, 1)?;
            text(serde_json::to_string(&args[0]).map_err(|e| e.to_string())?)
        }
        "join" => {
            arity(args, 2)?;
            let items = args[0].as_array().ok_or_else(|| {
                format!(
                    "wrong type for value; expected []string; got {}",
                    type_name(&args[0])
                )
            })?;
            let items = items.iter().map(string).collect::<Result<Vec<_>, _>>()?;
            text(items.join(string(&args[1])?))
        }
        "lower" | "upper" | "title" => {
            arity(args, 1)?;
            let s = string(&args[0])?;
            text(match name {
                "lower" => s.to_lowercase(),
                "upper" => s.to_uppercase(),
                _ => title(s),
            })
        }
        "truncate" => {
            arity(args, 2)?;
            let s = string(&args[0])?;
            let n = usize::try_from(int(&args[1])?).unwrap_or(0);
            let end = (0..=n.min(s.len()))
                .rev()
                .find(|i| s.is_char_boundary(*i))
                .unwrap_or(0);
            text(s[..end].to_string())
        }
        "pad" => {
            arity(args, 3)?;
            let s = string(&args[0])?;
            if s.is_empty() {
                return text(String::new());
            }
            let side = |v: &Value| -> Result<String, String> {
                let n = usize::try_from(int(v)?).unwrap_or(0);
                if n > MAX_WIDTH {
                    return Err(format!("pad: width {n} is over the limit of {MAX_WIDTH}"));
                }
                Ok(" ".repeat(n))
            };
            text(format!("{}{s}{}", side(&args[1])?, side(&args[2])?))
        }
        "split" => {
            arity(args, 2)?;
            let parts = string(&args[0])?.split(string(&args[1])?);
            Ok(Value::from(parts.collect::<Vec<_>>()))
        }
        "len" => {
            arity(args, 1)?;
            Ok(Value::from(match &args[0] {
                Value::String(s) => s.len(),
                Value::Array(a) => a.len(),
                Value::Object(m) => m.len(),
                Value::Null => 0,
                other => return Err(format!("len of type {}", type_name(other))),
            }))
        }
        "index" => {
            let (first, keys) = args.split_first().ok_or("wrong number of args for index")?;
            let mut v = first.clone();
            for k in keys {
                v = match (&v, k) {
                    (Value::Array(a), Value::Number(_)) => {
                        let i = usize::try_from(int(k)?).map_err(|e| e.to_string())?;
                        a.get(i)
                            .cloned()
                            .ok_or_else(|| format!("index out of range: {i}"))?
                    }
                    // A missing key of a map: the zero value (maps of strings here).
                    (Value::Object(m), Value::String(s)) => {
                        m.get(s).cloned().unwrap_or(Value::String(String::new()))
                    }
                    (Value::Null, _) => Value::Null,
                    _ => return Err(format!("can't index item of type {}", type_name(&v))),
                };
            }
            Ok(v)
        }
        "eq" | "ne" => {
            let (first, rest) = args
                .split_first()
                .ok_or("missing argument for comparison")?;
            if rest.is_empty() {
                return Err("missing argument for comparison".to_string());
            }
            let equal = rest.iter().any(|o| o == first);
            Ok(Value::Bool(if name == "eq" { equal } else { !equal }))
        }
        "lt" | "le" | "gt" | "ge" => {
            arity(args, 2)?;
            let order = match (&args[0], &args[1]) {
                (Value::Number(a), Value::Number(b)) => a.as_f64().partial_cmp(&b.as_f64()),
                (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
                _ => None,
            }
            .ok_or("incompatible types for comparison")?;
            use std::cmp::Ordering::*;
            Ok(Value::Bool(match name {
                "lt" => order == Less,
                "le" => order != Greater,
                "gt" => order == Greater,
                _ => order != Less,
            }))
        }
        "not" => {
            arity(args, 1)?;
            Ok(Value::Bool(!truth(&args[0])))
        }
        "and" | "or" => {
            let want = name == "or";
            let last = args.last().cloned().ok_or("wrong number of args")?;
            Ok(args
                .iter()
                .find(|a| truth(a) == want)
                .cloned()
                .unwrap_or(last))
        }
        "print" | "println" => {
            let mut s = String::new();
            for (i, a) in args.iter().enumerate() {
                let spaced =
                    name == "println" || (i > 0 && !a.is_string() && !args[i - 1].is_string());
                if i > 0 && spaced {
                    s.push(' ');
                }
                s.push_str(&go_text(a));
            }
            if name == "println" {
                s.push('\n');
            }
            text(s)
        }
        "printf" => {
            let (format, rest) = args
                .split_first()
                .ok_or("wrong number of args for printf")?;
            text(printf(string(format)?, rest))
        }
        _ => Err(format!("function {name:?} not defined")),
    }
}

/// Go's `strings.Title`: the first letter of each word upper-cased.
fn title(s: &str) -> String {
    let mut out = String::new();
    let mut start = true;
    for c in s.chars() {
        if start && c.is_alphabetic() {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        start = !(c.is_alphanumeric() || c == '_' || c == '\'');
    }
    out
}

/// The widest padding `printf` and `pad` make: Go's fmt limit, so a template cannot ask for
/// gigabytes of spaces.
const MAX_WIDTH: usize = 1_000_000;

/// Go's `fmt.Sprintf` for the verbs templates use: `%s %v %d %q %%`, with `-` and a width.
fn printf(format: &str, args: &[Value]) -> String {
    let mut out = String::new();
    let mut args = args.iter();
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let left = chars.next_if_eq(&'-').is_some();
        let mut width = 0usize;
        let mut bad_width = false;
        while let Some(d) = chars.peek().and_then(|d| d.to_digit(10)) {
            // Go's fmt refuses a width over 1e6 (`%!(BADWIDTH)`) instead of padding with it.
            width = width.saturating_mul(10).saturating_add(d as usize);
            bad_width |= width > MAX_WIDTH;
            chars.next();
        }
        if bad_width {
            out.push_str("%!(BADWIDTH)");
            width = 0;
        }
        let Some(verb) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(arg) = args.next() else {
            out.push_str(&format!("%!{verb}(MISSING)"));
            continue;
        };
        let s = match (verb, arg) {
            ('s' | 'v', a) => go_text(a),
            ('d', Value::Number(n)) if n.is_i64() || n.is_u64() => n.to_string(),
            ('q', Value::String(s)) => serde_json::to_string(s).unwrap_or_default(),
            (v, a) => format!("%!{v}({}={})", go_type(a), go_text(a)),
        };
        let pad = width.saturating_sub(s.chars().count());
        if left {
            out.push_str(&s);
            out.push_str(&" ".repeat(pad));
        } else {
            out.push_str(&" ".repeat(pad));
            out.push_str(&s);
        }
    }
    out
}

/// Go's type name of a value in `%!verb(type=value)`.
fn go_type(v: &Value) -> &'static str {
    match v {
        Value::String(_) => "string",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float64",
        Value::Number(_) => "int",
        Value::Array(_) => "[]string",
        Value::Object(_) => "map[string]string",
        Value::Null => "<nil>",
    }
}
