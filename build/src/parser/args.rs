//! The arguments of each instruction: flags, JSON and shell forms, key=value pairs, words.

use crate::ast::{CommandForm, Flag, Instruction, Kind, Span};
use crate::error::Result;

use super::Parser;

/// Instructions that take `--flags`.
const FLAGGED: [&str; 5] = ["FROM", "RUN", "COPY", "ADD", "HEALTHCHECK"];

impl Parser<'_> {
    /// Parse one instruction from its joined text (`KEYWORD args…`).
    pub(crate) fn instruction(
        &self,
        span: Span,
        text: &str,
        in_onbuild: bool,
    ) -> Result<Instruction> {
        let (word, rest) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
        let keyword = word.to_ascii_uppercase();
        let mut args_col = span.col + text.len() - rest.trim_start().len();
        let mut rest = rest.trim_start();
        let mut flags = Vec::new();
        if FLAGGED.contains(&keyword.as_str()) {
            while let Some(f) = rest.strip_prefix("--") {
                let end = f.find(char::is_whitespace).unwrap_or(f.len());
                let (name, value) = match f[..end].split_once('=') {
                    Some((n, v)) => (n.to_string(), Some(v.to_string())),
                    None => (f[..end].to_string(), None),
                };
                if name.is_empty() {
                    return Err(self.err(span.line, args_col, "empty flag name"));
                }
                flags.push(Flag { name, value });
                let after = f[end..].trim_start();
                args_col += rest.len() - after.len();
                rest = after;
            }
        }
        let at = |msg: String| self.err(span.line, args_col, msg);
        if rest.is_empty() && keyword != "HEALTHCHECK" {
            return Err(match keyword.as_str() {
                k if known(k) => at(format!("{keyword} requires at least one argument")),
                _ => self.err(span.line, span.col, format!("unknown instruction {word:?}")),
            });
        }
        let kind = match keyword.as_str() {
            "FROM" => {
                let w = self.words(rest);
                match w.as_slice() {
                    [image] => Kind::From {
                        image: image.clone(),
                        alias: None,
                    },
                    [image, as_, name] if as_.eq_ignore_ascii_case("as") => Kind::From {
                        image: image.clone(),
                        alias: Some(name.to_ascii_lowercase()),
                    },
                    _ => return Err(at("FROM takes IMAGE [AS NAME]".to_string())),
                }
            }
            "RUN" => Kind::Run(self.command(rest, &at)?),
            "CMD" => Kind::Cmd(self.command(rest, &at)?),
            "ENTRYPOINT" => Kind::Entrypoint(self.command(rest, &at)?),
            "SHELL" => match self.command(rest, &at)? {
                CommandForm::Exec(v) if !v.is_empty() => Kind::Shell(v),
                _ => return Err(at("SHELL requires a non-empty JSON array".to_string())),
            },
            "LABEL" => Kind::Label(self.key_values(rest, "LABEL", &at)?),
            "ENV" => Kind::Env(self.key_values(rest, "ENV", &at)?),
            "MAINTAINER" => Kind::Maintainer(rest.to_string()),
            "EXPOSE" => Kind::Expose(self.words(rest)),
            "VOLUME" => Kind::Volume(match self.command(rest, &at)? {
                CommandForm::Exec(v) => v,
                CommandForm::Shell(s) => self.words(&s),
            }),
            "ADD" | "COPY" => {
                let mut w = match self.command(rest, &at)? {
                    CommandForm::Exec(v) => v,
                    CommandForm::Shell(s) => self.words(&s),
                };
                if w.len() < 2 {
                    return Err(at(format!("{keyword} requires a source and a destination")));
                }
                let dest = w.pop().unwrap_or_default();
                if keyword == "ADD" {
                    Kind::Add { sources: w, dest }
                } else {
                    Kind::Copy { sources: w, dest }
                }
            }
            "USER" => Kind::User(rest.to_string()),
            "WORKDIR" => Kind::Workdir(rest.to_string()),
            "STOPSIGNAL" => Kind::Stopsignal(rest.to_string()),
            "ARG" => {
                let mut out = Vec::new();
                for w in self.words(rest) {
                    let (name, default) = match w.split_once('=') {
                        Some((n, d)) => (n.to_string(), Some(d.to_string())),
                        None => (w, None),
                    };
                    if !is_name(&name) {
                        return Err(at(format!("ARG: invalid name {name:?}")));
                    }
                    out.push((name, default));
                }
                Kind::Arg(out)
            }
            "ONBUILD" => {
                if in_onbuild {
                    return Err(at("ONBUILD ONBUILD is not allowed".to_string()));
                }
                let inner = self.instruction(
                    Span {
                        line: span.line,
                        col: args_col,
                    },
                    rest,
                    true,
                )?;
                if matches!(inner.keyword(), "FROM" | "MAINTAINER") {
                    return Err(at(format!(
                        "{} is not allowed as an ONBUILD trigger",
                        inner.keyword()
                    )));
                }
                Kind::Onbuild(Box::new(inner))
            }
            "HEALTHCHECK" => {
                let (w, cmd) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
                match w.to_ascii_uppercase().as_str() {
                    "NONE" if cmd.trim().is_empty() => Kind::Healthcheck(None),
                    "CMD" if !cmd.trim().is_empty() => {
                        Kind::Healthcheck(Some(self.command(cmd.trim(), &at)?))
                    }
                    _ => return Err(at("HEALTHCHECK takes NONE or [flags] CMD command".into())),
                }
            }
            _ => {
                return Err(self.err(span.line, span.col, format!("unknown instruction {word:?}")))
            }
        };
        Ok(Instruction {
            span,
            text: format!("{keyword} {}", text[word.len()..].trim()),
            flags,
            heredocs: Vec::new(),
            kind,
        })
    }

    /// The JSON (exec) form when the text is a JSON array, else the shell form.
    fn command(
        &self,
        rest: &str,
        at: &dyn Fn(String) -> crate::error::BuildError,
    ) -> Result<CommandForm> {
        let t = rest.trim();
        if t.starts_with('[') {
            return match serde_json::from_str::<Vec<String>>(t) {
                Ok(v) => Ok(CommandForm::Exec(v)),
                Err(e) if t.ends_with(']') => Err(at(format!(
                    "bad JSON form (expected an array of strings): {e}"
                ))),
                // `[ -f x ] && …` is a shell command, as Docker reads it.
                Err(_) => Ok(CommandForm::Shell(t.to_string())),
            };
        }
        Ok(CommandForm::Shell(t.to_string()))
    }

    /// Split on unquoted whitespace; quotes and escapes are kept for expansion.
    pub(crate) fn words(&self, s: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut cur = String::new();
        let mut quote: Option<char> = None;
        let mut chars = s.chars();
        while let Some(c) = chars.next() {
            if c == self.escape && quote != Some('\'') {
                cur.push(c);
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
                continue;
            }
            match quote {
                Some(q) if c == q => quote = None,
                None if c == '"' || c == '\'' => quote = Some(c),
                None if c.is_whitespace() => {
                    if !cur.is_empty() {
                        out.push(std::mem::take(&mut cur));
                    }
                    continue;
                }
                _ => {}
            }
            cur.push(c);
        }
        if !cur.is_empty() {
            out.push(cur);
        }
        out
    }

    /// `k=v k2="v 2"` pairs, or the legacy `k v…` form (one pair, the rest as its value).
    fn key_values(
        &self,
        rest: &str,
        keyword: &str,
        at: &dyn Fn(String) -> crate::error::BuildError,
    ) -> Result<Vec<(String, String)>> {
        let words = self.words(rest);
        let first_has_eq = words.first().is_some_and(|w| w.contains('='));
        if !first_has_eq {
            let (k, v) = rest
                .split_once(char::is_whitespace)
                .ok_or_else(|| at(format!("{keyword} requires key=value or key value")))?;
            return Ok(vec![(k.to_string(), v.trim().to_string())]);
        }
        let mut out = Vec::new();
        for w in words {
            let Some((k, v)) = w.split_once('=') else {
                return Err(at(format!("{keyword}: {w:?} is not key=value")));
            };
            if k.is_empty() {
                return Err(at(format!("{keyword}: empty key in {w:?}")));
            }
            out.push((k.to_string(), v.to_string()));
        }
        Ok(out)
    }
}

fn known(k: &str) -> bool {
    matches!(
        k,
        "FROM"
            | "RUN"
            | "CMD"
            | "LABEL"
            | "MAINTAINER"
            | "EXPOSE"
            | "ENV"
            | "ADD"
            | "COPY"
            | "ENTRYPOINT"
            | "VOLUME"
            | "USER"
            | "WORKDIR"
            | "ARG"
            | "ONBUILD"
            | "STOPSIGNAL"
            | "SHELL"
    )
}

/// A variable name: `[A-Za-z_][A-Za-z0-9_]*`.
pub(crate) fn is_name(s: &str) -> bool {
    let mut c = s.chars();
    matches!(c.next(), Some(f) if f.is_ascii_alphabetic() || f == '_')
        && c.all(|x| x.is_ascii_alphanumeric() || x == '_')
}
