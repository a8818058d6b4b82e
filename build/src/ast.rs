//! berth's own Containerfile AST: what the parser produces and the executor consumes.
//!
//! Arguments are kept as written (quotes and `$` references intact) wherever Docker expands
//! variables at build time; [`crate::expand`] expands them with the stage's ARG/ENV scope.

use std::fmt;

/// Where something is in the Containerfile (1-based line and column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    pub line: usize,
    pub col: usize,
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

/// A `--name=value` (or bare `--name`) flag after an instruction keyword.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flag {
    pub name: String,
    pub value: Option<String>,
}

/// A heredoc attached to an instruction (`<<EOF`, `<<-EOF`, `<<"EOF"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heredoc {
    /// The delimiter word (also the file name of a `COPY <<EOF` source).
    pub name: String,
    /// The body, ending with a newline; leading tabs already stripped for `<<-`.
    pub content: String,
    /// Whether variables are expanded in the body (the delimiter was not quoted).
    pub expand: bool,
}

/// The exec (JSON) or shell form of RUN, CMD, ENTRYPOINT and HEALTHCHECK CMD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandForm {
    /// `["prog", "arg"]`
    Exec(Vec<String>),
    /// `prog arg`, run by the SHELL (`/bin/sh -c`).
    Shell(String),
}

/// One parsed instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instruction {
    /// Where the keyword starts.
    pub span: Span,
    /// The instruction as written (continuations joined, heredoc bodies not included), for
    /// step lines and history.
    pub text: String,
    /// Flags after the keyword, in order.
    pub flags: Vec<Flag>,
    /// Heredocs, in the order they appear on the line.
    pub heredocs: Vec<Heredoc>,
    pub kind: Kind,
}

impl Instruction {
    /// The value of flag `name` (the last one given), if present.
    pub fn flag(&self, name: &str) -> Option<&str> {
        self.flags
            .iter()
            .rev()
            .find(|f| f.name == name)
            .map(|f| f.value.as_deref().unwrap_or(""))
    }

    /// The instruction keyword (`RUN`, `COPY`, …).
    pub fn keyword(&self) -> &'static str {
        self.kind.keyword()
    }
}

/// What an instruction does; raw strings are expanded at build time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    From {
        image: String,
        alias: Option<String>,
    },
    Run(CommandForm),
    Cmd(CommandForm),
    Entrypoint(CommandForm),
    Shell(Vec<String>),
    /// `LABEL k=v …` (raw key and value words).
    Label(Vec<(String, String)>),
    Maintainer(String),
    Expose(Vec<String>),
    /// `ENV k=v …` or legacy `ENV k v` (raw).
    Env(Vec<(String, String)>),
    /// `ADD`/`COPY` sources (raw words; heredoc sources are `<<NAME`) and destination.
    Add {
        sources: Vec<String>,
        dest: String,
    },
    Copy {
        sources: Vec<String>,
        dest: String,
    },
    Volume(Vec<String>),
    User(String),
    Workdir(String),
    /// `ARG name[=default] …` (default raw).
    Arg(Vec<(String, Option<String>)>),
    Onbuild(Box<Instruction>),
    Stopsignal(String),
    /// `HEALTHCHECK NONE` (None) or `HEALTHCHECK [flags] CMD …`.
    Healthcheck(Option<CommandForm>),
}

impl Kind {
    pub fn keyword(&self) -> &'static str {
        match self {
            Kind::From { .. } => "FROM",
            Kind::Run(_) => "RUN",
            Kind::Cmd(_) => "CMD",
            Kind::Entrypoint(_) => "ENTRYPOINT",
            Kind::Shell(_) => "SHELL",
            Kind::Label(_) => "LABEL",
            Kind::Maintainer(_) => "MAINTAINER",
            Kind::Expose(_) => "EXPOSE",
            Kind::Env(_) => "ENV",
            Kind::Add { .. } => "ADD",
            Kind::Copy { .. } => "COPY",
            Kind::Volume(_) => "VOLUME",
            Kind::User(_) => "USER",
            Kind::Workdir(_) => "WORKDIR",
            Kind::Arg(_) => "ARG",
            Kind::Onbuild(_) => "ONBUILD",
            Kind::Stopsignal(_) => "STOPSIGNAL",
            Kind::Healthcheck(_) => "HEALTHCHECK",
        }
    }
}

/// A parsed Containerfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Containerfile {
    /// The name used in messages (`Containerfile`, a path).
    pub file: String,
    /// The escape character (`\` unless `# escape=` says otherwise).
    pub escape: char,
    pub instructions: Vec<Instruction>,
}
