//! The Containerfile parser: directives (`# escape=`, `# syntax=`), comments, line
//! continuations and heredocs here; the arguments of each instruction in `args`.
//!
//! Written by hand rather than on `dockerfile-parser` (deprecated upstream; fails on
//! heredocs, `# escape` and RUN flags) or `parse-dockerfile` (no `RUN python3 <<EOF`): the
//! grammar is line based and small, and owning it lets every error carry `file:line:col`.

mod args;
#[cfg(test)]
mod tests;

use crate::ast::{Containerfile, Heredoc, Instruction, Span};
use crate::error::{BuildError, Result};

/// The longest instruction accepted (continuations joined), so a hostile file cannot make
/// the parser build huge strings; Docker's scanner refuses lines over 1 MiB… we allow 4 MiB.
const MAX_INSTRUCTION: usize = 4 << 20;

/// Parse `text`; `file` is the name used in errors.
pub fn parse(file: &str, text: &str) -> Result<Containerfile> {
    let lines: Vec<&str> = text.lines().collect();
    let mut p = Parser {
        file,
        lines: &lines,
        pos: 0,
        escape: '\\',
    };
    p.directives()?;
    let mut instructions = Vec::new();
    while let Some(ins) = p.next_instruction()? {
        instructions.push(ins);
    }
    Ok(Containerfile {
        file: file.to_string(),
        escape: p.escape,
        instructions,
    })
}

pub(crate) struct Parser<'a> {
    pub(crate) file: &'a str,
    lines: &'a [&'a str],
    pos: usize,
    pub(crate) escape: char,
}

impl Parser<'_> {
    pub(crate) fn err(&self, line: usize, col: usize, message: impl Into<String>) -> BuildError {
        BuildError::Parse {
            file: self.file.to_string(),
            line,
            col,
            message: message.into(),
        }
    }

    /// `# escape=` and `# syntax=` at the top of the file (until the first other line).
    fn directives(&mut self) -> Result<()> {
        while let Some(line) = self.lines.get(self.pos) {
            let Some(rest) = line.trim_start().strip_prefix('#') else {
                return Ok(());
            };
            let Some((key, value)) = rest.split_once('=') else {
                return Ok(());
            };
            let key = key.trim().to_ascii_lowercase();
            let value = value.trim();
            match key.as_str() {
                "escape" => {
                    self.escape = match value {
                        "\\" => '\\',
                        "`" => '`',
                        _ => {
                            return Err(self.err(
                                self.pos + 1,
                                1,
                                format!("invalid escape directive {value:?}: use \\ or `"),
                            ))
                        }
                    }
                }
                // Accepted and ignored: berth has one frontend.
                "syntax" => tracing::info!("ignoring # syntax={value}: berth has its own parser"),
                _ => return Ok(()),
            }
            self.pos += 1;
        }
        Ok(())
    }

    /// Whether `line` (trimmed at the end) continues on the next line; returns it without
    /// the escape character.
    fn continued<'l>(&self, line: &'l str) -> Option<&'l str> {
        let t = line.trim_end();
        t.strip_suffix(self.escape)
    }

    fn next_instruction(&mut self) -> Result<Option<Instruction>> {
        // Skip blank lines and comments.
        loop {
            let Some(line) = self.lines.get(self.pos) else {
                return Ok(None);
            };
            let t = line.trim_start();
            if t.is_empty() || t.starts_with('#') {
                self.pos += 1;
                continue;
            }
            break;
        }
        let first = self.lines[self.pos];
        let line_no = self.pos + 1;
        let col = first.len() - first.trim_start().len() + 1;
        let mut text = String::new();
        let mut cur = first.trim_start();
        self.pos += 1;
        loop {
            match self.continued(cur) {
                Some(part) => {
                    text.push_str(part);
                    // The next line that is neither blank nor a comment continues this one.
                    let mut next = None;
                    while let Some(l) = self.lines.get(self.pos) {
                        self.pos += 1;
                        let t = l.trim_start();
                        if t.starts_with('#') || t.is_empty() {
                            continue;
                        }
                        next = Some(*l);
                        break;
                    }
                    match next {
                        Some(l) => cur = l,
                        None => break,
                    }
                }
                None => {
                    text.push_str(cur);
                    break;
                }
            }
            if text.len() > MAX_INSTRUCTION {
                return Err(self.err(line_no, col, "instruction longer than 4 MiB"));
            }
        }
        if text.len() > MAX_INSTRUCTION {
            return Err(self.err(line_no, col, "instruction longer than 4 MiB"));
        }
        let span = Span { line: line_no, col };
        let mut ins = self.instruction(span, text.trim_end(), false)?;
        if matches!(ins.keyword(), "RUN" | "COPY" | "ADD") {
            ins.heredocs = self.heredocs(span, &ins.text)?;
        }
        Ok(Some(ins))
    }

    /// Read the bodies of the heredocs that `text` opens, from the lines that follow.
    fn heredocs(&mut self, span: Span, text: &str) -> Result<Vec<Heredoc>> {
        let mut out = Vec::new();
        for (name, strip_tabs, expand) in heredoc_markers(text) {
            let mut content = String::new();
            let mut closed = false;
            while let Some(line) = self.lines.get(self.pos) {
                self.pos += 1;
                let line = if strip_tabs {
                    line.trim_start_matches('\t')
                } else {
                    line
                };
                if line == name {
                    closed = true;
                    break;
                }
                content.push_str(line);
                content.push('\n');
                if content.len() > MAX_INSTRUCTION {
                    return Err(self.err(span.line, span.col, "heredoc longer than 4 MiB"));
                }
            }
            if !closed {
                return Err(self.err(
                    span.line,
                    span.col,
                    format!("unterminated heredoc: no line {name:?} before the end of the file"),
                ));
            }
            out.push(Heredoc {
                name,
                content,
                expand,
            });
        }
        Ok(out)
    }
}

/// The heredocs a line opens: `(name, strip leading tabs, expand variables)` for each
/// `<<NAME`, `<<-NAME`, `<<"NAME"` or `<<'NAME'` outside quotes.
pub(crate) fn heredoc_markers(text: &str) -> Vec<(String, bool, bool)> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut quote: Option<char> = None;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '"' || c == '\'' => quote = Some(c),
            None if c == '<'
                && chars.get(i + 1) == Some(&'<')
                && chars.get(i + 2) != Some(&'<') =>
            {
                let mut j = i + 2;
                let strip = chars.get(j) == Some(&'-');
                if strip {
                    j += 1;
                }
                let q = match chars.get(j) {
                    Some(&c @ ('"' | '\'')) => {
                        j += 1;
                        Some(c)
                    }
                    _ => None,
                };
                let start = j;
                while j < chars.len()
                    && (chars[j].is_ascii_alphanumeric() || matches!(chars[j], '_' | '-' | '.'))
                {
                    j += 1;
                }
                if j > start {
                    let name: String = chars[start..j].iter().collect();
                    if q.is_some() && chars.get(j) == q.as_ref() {
                        j += 1;
                    }
                    out.push((name, strip, q.is_none()));
                    i = j;
                    continue;
                }
            }
            None => {}
        }
        i += 1;
    }
    out
}
