//! Variable expansion in instruction arguments, the union of Buildah's and Docker's forms:
//! `$v`, `${v}`, `${v:-w}`, `${v-w}`, `${v:+w}`, `${v+w}`, `${v:?w}`, `${v?w}`, `${v#p}`,
//! `${v##p}`, `${v%p}`, `${v%%p}`, `${v/p/r}`. Quotes are removed as a shell would: nothing
//! is expanded inside single quotes; the escape character makes the next character literal.
//! Patterns are shell globs (`*`, `?`): berth-layers' [`glob`].

use berth_layers::glob::glob;

/// Expand `word`; `lookup` gives a variable's value (None when unset). Errors are messages
/// for the caller to place at the instruction.
pub fn expand(
    word: &str,
    escape: char,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<String, String> {
    let chars: Vec<char> = word.chars().collect();
    let mut e = Expander {
        chars: &chars,
        pos: 0,
        escape,
        lookup,
    };
    e.word(None, true)
}

/// Expand a heredoc body: variables only (quotes are literal text).
pub fn expand_text(
    text: &str,
    escape: char,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<String, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut e = Expander {
        chars: &chars,
        pos: 0,
        escape,
        lookup,
    };
    e.word(None, false)
}

struct Expander<'a> {
    chars: &'a [char],
    pos: usize,
    escape: char,
    lookup: &'a dyn Fn(&str) -> Option<String>,
}

impl Expander<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    /// Expand until `stop` (not consumed) or the end; `quotes` handles quote characters.
    fn word(&mut self, stop: Option<char>, quotes: bool) -> Result<String, String> {
        let mut out = String::new();
        let mut depth = 0usize;
        while let Some(c) = self.peek() {
            if Some(c) == stop && depth == 0 {
                break;
            }
            self.pos += 1;
            match c {
                '\'' if quotes => {
                    while let Some(q) = self.peek() {
                        self.pos += 1;
                        if q == '\'' {
                            break;
                        }
                        out.push(q);
                    }
                }
                '"' if quotes => {
                    while let Some(q) = self.peek() {
                        self.pos += 1;
                        match q {
                            '"' => break,
                            '$' => out.push_str(&self.variable()?),
                            q if q == self.escape => match self.peek() {
                                Some(n) if n == '"' || n == '$' || n == self.escape => {
                                    self.pos += 1;
                                    out.push(n);
                                }
                                _ => out.push(q),
                            },
                            q => out.push(q),
                        }
                    }
                }
                '$' => out.push_str(&self.variable()?),
                c if c == self.escape && quotes => {
                    if let Some(n) = self.peek() {
                        self.pos += 1;
                        out.push(n);
                    }
                }
                c if c == self.escape => {
                    // In heredoc text an escaped `$` stays literal; the escape is dropped.
                    if self.peek() == Some('$') {
                        self.pos += 1;
                        out.push('$');
                    } else {
                        out.push(c);
                    }
                }
                '{' if stop.is_some() => {
                    depth += 1;
                    out.push(c);
                }
                '}' if stop.is_some() && depth > 0 => {
                    depth -= 1;
                    out.push(c);
                }
                c => out.push(c),
            }
        }
        Ok(out)
    }

    fn name(&mut self) -> String {
        let mut n = String::new();
        while let Some(c) = self.peek() {
            let ok = c == '_' || c.is_ascii_alphanumeric();
            if !ok || (n.is_empty() && c.is_ascii_digit()) {
                break;
            }
            n.push(c);
            self.pos += 1;
        }
        n
    }

    /// After a `$`.
    fn variable(&mut self) -> Result<String, String> {
        if self.peek() != Some('{') {
            let n = self.name();
            if n.is_empty() {
                return Ok("$".to_string());
            }
            return Ok((self.lookup)(&n).unwrap_or_default());
        }
        self.pos += 1;
        let name = self.name();
        if name.is_empty() {
            return Err("bad substitution: ${ must be followed by a variable name".into());
        }
        let value = (self.lookup)(&name);
        let op: String = match self.peek() {
            Some('}') => {
                self.pos += 1;
                return Ok(value.unwrap_or_default());
            }
            Some(':') => {
                self.pos += 1;
                match self.peek() {
                    Some(c @ ('-' | '+' | '?')) => {
                        self.pos += 1;
                        format!(":{c}")
                    }
                    _ => return Err(format!("bad substitution in ${{{name}:…}}")),
                }
            }
            Some(c @ ('-' | '+' | '?')) => {
                self.pos += 1;
                c.to_string()
            }
            Some('/') => {
                self.pos += 1;
                if self.peek() == Some('/') {
                    self.pos += 1;
                    "//".to_string()
                } else {
                    "/".to_string()
                }
            }
            Some(c @ ('#' | '%')) => {
                self.pos += 1;
                if self.peek() == Some(c) {
                    self.pos += 1;
                    format!("{c}{c}")
                } else {
                    c.to_string()
                }
            }
            _ => return Err(format!("bad substitution in ${{{name}…}}: missing }}")),
        };
        let (arg, replacement) = if op == "/" || op == "//" {
            let p = self.word(Some('/'), true)?;
            let r = if self.peek() == Some('/') {
                self.pos += 1;
                self.word(Some('}'), true)?
            } else {
                String::new()
            };
            (p, r)
        } else {
            (self.word(Some('}'), true)?, String::new())
        };
        if self.peek() != Some('}') {
            return Err(format!("bad substitution in ${{{name}{op}…}}: missing }}"));
        }
        self.pos += 1;
        let set = value.is_some();
        let nonempty = value.as_deref().is_some_and(|v| !v.is_empty());
        let v = value.clone().unwrap_or_default();
        Ok(match op.as_str() {
            ":-" => {
                if nonempty {
                    v
                } else {
                    arg
                }
            }
            "-" => {
                if set {
                    v
                } else {
                    arg
                }
            }
            ":+" => {
                if nonempty {
                    arg
                } else {
                    String::new()
                }
            }
            "+" => {
                if set {
                    arg
                } else {
                    String::new()
                }
            }
            ":?" | "?" => {
                let ok = if op == ":?" { nonempty } else { set };
                if !ok {
                    let why = if arg.is_empty() {
                        "is not set".to_string()
                    } else {
                        arg
                    };
                    return Err(format!("{name}: {why}"));
                }
                v
            }
            "#" => strip_prefix(&v, &arg, false),
            "##" => strip_prefix(&v, &arg, true),
            "%" => strip_suffix(&v, &arg, false),
            "%%" => strip_suffix(&v, &arg, true),
            "/" => replace_first(&v, &arg, &replacement),
            "//" => replace_all(&v, &arg, &replacement),
            _ => v,
        })
    }
}

/// Remove the shortest (or longest) prefix of `v` matching the glob `pat`.
fn strip_prefix(v: &str, pat: &str, longest: bool) -> String {
    let idx: Vec<usize> = char_bounds(v);
    let mut order: Vec<usize> = idx.clone();
    if longest {
        order.reverse();
    }
    for i in order {
        if glob(pat, &v[..i]) {
            return v[i..].to_string();
        }
    }
    v.to_string()
}

/// Remove the shortest (or longest) suffix of `v` matching the glob `pat`.
fn strip_suffix(v: &str, pat: &str, longest: bool) -> String {
    let mut order: Vec<usize> = char_bounds(v);
    if !longest {
        order.reverse();
    }
    for i in order {
        if glob(pat, &v[i..]) {
            return v[..i].to_string();
        }
    }
    v.to_string()
}

/// Replace the first, longest match of `pat` in `v` with `rep`.
fn replace_first(v: &str, pat: &str, rep: &str) -> String {
    if pat.is_empty() {
        return v.to_string();
    }
    let bounds = char_bounds(v);
    for &s in &bounds {
        for &e in bounds.iter().rev() {
            if e > s && glob(pat, &v[s..e]) {
                return format!("{}{rep}{}", &v[..s], &v[e..]);
            }
        }
    }
    v.to_string()
}

/// `${v//p/r}`: replace every (longest, left to right) match of `pat` in `v`.
fn replace_all(v: &str, pat: &str, rep: &str) -> String {
    if pat.is_empty() {
        return v.to_string();
    }
    let bounds = char_bounds(v);
    let mut out = String::new();
    let mut s = 0;
    'outer: while s < v.len() {
        for &e in bounds.iter().rev() {
            if e > s && glob(pat, &v[s..e]) {
                out.push_str(rep);
                s = e;
                continue 'outer;
            }
        }
        let c = v[s..].chars().next().unwrap_or_default();
        out.push(c);
        s += c.len_utf8();
    }
    out
}

/// Byte offsets of every char boundary of `v`, including 0 and `v.len()`.
fn char_bounds(v: &str) -> Vec<usize> {
    v.char_indices().map(|(i, _)| i).chain([v.len()]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn x(word: &str) -> Result<String, String> {
        let vars: HashMap<&str, &str> = HashMap::from([
            ("v", "hello.tar.gz"),
            ("empty", ""),
            ("p", "/usr/local/bin"),
        ]);
        expand(word, '\\', &|n| vars.get(n).map(|s| s.to_string()))
    }

    #[test]
    fn simple_and_braced() {
        assert_eq!(x("$v").unwrap(), "hello.tar.gz");
        assert_eq!(x("${v}x").unwrap(), "hello.tar.gzx");
        assert_eq!(x("a$unset-b").unwrap(), "a-b");
        assert_eq!(x("cost $").unwrap(), "cost $");
        assert_eq!(x("$1x").unwrap(), "$1x");
    }

    #[test]
    fn defaults_and_alternatives() {
        assert_eq!(x("${unset:-w}").unwrap(), "w");
        assert_eq!(x("${empty:-w}").unwrap(), "w");
        assert_eq!(x("${empty-w}").unwrap(), "");
        assert_eq!(x("${unset-w}").unwrap(), "w");
        assert_eq!(x("${v:+w}").unwrap(), "w");
        assert_eq!(x("${empty:+w}").unwrap(), "");
        assert_eq!(x("${empty+w}").unwrap(), "w");
        assert_eq!(x("${unset+w}").unwrap(), "");
        assert_eq!(x("${unset:-$v}").unwrap(), "hello.tar.gz");
        assert_eq!(x("${unset:-${p}}").unwrap(), "/usr/local/bin");
    }

    #[test]
    fn required() {
        assert_eq!(
            x("${unset:?needs a value}").unwrap_err(),
            "unset: needs a value"
        );
        assert!(x("${empty:?}").is_err());
        assert_eq!(x("${empty?}").unwrap(), "");
        assert_eq!(x("${v:?}").unwrap(), "hello.tar.gz");
    }

    #[test]
    fn prefix_suffix_replace() {
        assert_eq!(x("${v#*.}").unwrap(), "tar.gz");
        assert_eq!(x("${v##*.}").unwrap(), "gz");
        assert_eq!(x("${v%.*}").unwrap(), "hello.tar");
        assert_eq!(x("${v%%.*}").unwrap(), "hello");
        assert_eq!(x("${p#/usr}").unwrap(), "/local/bin");
        assert_eq!(x("${v/tar/zip}").unwrap(), "hello.zip.gz");
        assert_eq!(x("${v/l*o/J}").unwrap(), "heJ.tar.gz");
        assert_eq!(x("${v/nomatch/J}").unwrap(), "hello.tar.gz");
        assert_eq!(x("${v/./}").unwrap(), "hellotar.gz");
        assert_eq!(x("${v//./-}").unwrap(), "hello-tar-gz");
        assert_eq!(x("${p//\\//:}").unwrap(), ":usr:local:bin");
        assert_eq!(x("${v//l/}").unwrap(), "heo.tar.gz");
        assert_eq!(x("${v//nomatch/J}").unwrap(), "hello.tar.gz");
    }

    #[test]
    fn quotes_and_escapes() {
        assert_eq!(x("'$v'").unwrap(), "$v");
        assert_eq!(x("\"$v x\"").unwrap(), "hello.tar.gz x");
        assert_eq!(x("\\$v").unwrap(), "$v");
        assert_eq!(x("\"a\\\"b\"").unwrap(), "a\"b");
        assert_eq!(expand("`$v", '`', &|_| Some("z".into())).unwrap(), "$v");
    }

    #[test]
    fn bad_substitution_is_an_error() {
        assert!(x("${v").is_err());
        assert!(x("${}").is_err());
        assert!(x("${v:x}").is_err());
    }

    #[test]
    fn heredoc_text_keeps_quotes() {
        let got = expand_text("echo '$v' \"x\"\n", '\\', &|_| Some("1".into())).unwrap();
        assert_eq!(got, "echo '1' \"x\"\n");
    }
}
