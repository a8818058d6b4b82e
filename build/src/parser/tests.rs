//! Regression tests for the tricky corners of the Containerfile grammar.

use super::parse;
use crate::ast::{CommandForm, Kind};

fn kinds(text: &str) -> Vec<Kind> {
    parse("Containerfile", text)
        .unwrap()
        .instructions
        .into_iter()
        .map(|i| i.kind)
        .collect()
}

fn err(text: &str) -> String {
    parse("Containerfile", text).unwrap_err().to_string()
}

#[test]
fn every_instruction_parses() {
    let text = "\
ARG BASE=busybox
FROM --platform=linux/amd64 $BASE AS build
RUN echo hi
RUN [\"echo\", \"hi\"]
CMD [\"sh\"]
LABEL a=b \"c d\"=\"e f\"
MAINTAINER me <me@example.com>
EXPOSE 80 53/udp
ENV A=1 B=\"two words\"
ENV LEGACY value with spaces
ADD a.tar /x/
COPY --from=build --chown=1:2 --chmod=644 a b /dest/
ENTRYPOINT /bin/sh
VOLUME [\"/data\"]
VOLUME /a /b
USER 1000:1000
WORKDIR /w
ONBUILD RUN echo later
STOPSIGNAL SIGINT
HEALTHCHECK --interval=5s CMD true
HEALTHCHECK NONE
SHELL [\"/bin/sh\", \"-ec\"]
";
    let k = kinds(text);
    assert_eq!(k.len(), 22);
    assert_eq!(
        k[1],
        Kind::From {
            image: "$BASE".into(),
            alias: Some("build".into())
        }
    );
    assert_eq!(
        k[3],
        Kind::Run(CommandForm::Exec(vec!["echo".into(), "hi".into()]))
    );
    assert_eq!(
        k[5],
        Kind::Label(vec![
            ("a".into(), "b".into()),
            ("\"c d\"".into(), "\"e f\"".into())
        ])
    );
    assert_eq!(
        k[9],
        Kind::Env(vec![("LEGACY".into(), "value with spaces".into())])
    );
    assert_eq!(
        k[11],
        Kind::Copy {
            sources: vec!["a".into(), "b".into()],
            dest: "/dest/".into()
        }
    );
    assert!(matches!(&k[17], Kind::Onbuild(i) if i.keyword() == "RUN"));
    assert_eq!(k[20], Kind::Healthcheck(None));
    let f = parse("Containerfile", text).unwrap();
    assert_eq!(f.instructions[11].flag("from"), Some("build"));
    assert_eq!(f.instructions[11].flag("chmod"), Some("644"));
    assert_eq!(f.instructions[1].flag("platform"), Some("linux/amd64"));
}

#[test]
fn run_flags_are_kept() {
    let f = parse(
        "Containerfile",
        "FROM x\nRUN --mount=type=cache,target=/c --network=none make\n",
    )
    .unwrap();
    let run = &f.instructions[1];
    assert_eq!(run.flag("mount"), Some("type=cache,target=/c"));
    assert_eq!(run.flag("network"), Some("none"));
    assert_eq!(run.kind, Kind::Run(CommandForm::Shell("make".into())));
}

#[test]
fn continuations_skip_comments_and_blank_lines() {
    let k = kinds("FROM x\nRUN echo a \\\n# a comment\n\n    b \\\n  c\n");
    assert_eq!(
        k[1],
        Kind::Run(CommandForm::Shell("echo a     b   c".into()))
    );
}

#[test]
fn lone_escape_line_and_trailing_escape_at_eof() {
    let k = kinds("FROM x\nRUN a \\\n\\\nb\nRUN c \\");
    assert_eq!(k[1], Kind::Run(CommandForm::Shell("a b".into())));
    assert_eq!(k[2], Kind::Run(CommandForm::Shell("c".into())));
}

#[test]
fn escape_directive_and_syntax_ignored() {
    let f = parse(
        "Containerfile",
        "# syntax=docker/dockerfile:1\n# escape=`\nFROM x\nRUN dir c:\\ `\n  && echo\n",
    )
    .unwrap();
    assert_eq!(f.escape, '`');
    assert_eq!(
        f.instructions[1].kind,
        Kind::Run(CommandForm::Shell("dir c:\\   && echo".into()))
    );
}

#[test]
fn directive_after_comment_is_a_comment() {
    let f = parse("Containerfile", "# hello\n# escape=`\nFROM x\n").unwrap();
    assert_eq!(f.escape, '\\');
}

#[test]
fn heredocs() {
    let f = parse(
        "Containerfile",
        "FROM x\nRUN <<EOF\necho one\necho two\nEOF\nRUN python3 <<-'PY' && cat <<B\n\tprint(1)\n\tPY\nb body\nB\nCOPY <<EOF /dest\n$HOME\nEOF\nRUN echo after\n",
    )
    .unwrap();
    let i = &f.instructions;
    assert_eq!(i.len(), 5);
    assert_eq!(i[1].heredocs[0].content, "echo one\necho two\n");
    assert_eq!(i[2].heredocs.len(), 2);
    assert_eq!(i[2].heredocs[0].name, "PY");
    assert_eq!(i[2].heredocs[0].content, "print(1)\n");
    assert!(!i[2].heredocs[0].expand);
    assert_eq!(i[2].heredocs[1].content, "b body\n");
    assert_eq!(
        i[3].kind,
        Kind::Copy {
            sources: vec!["<<EOF".into()],
            dest: "/dest".into()
        }
    );
    assert!(i[3].heredocs[0].expand);
    assert_eq!(i[4].span.line, 14);
}

#[test]
fn heredoc_marker_in_quotes_is_text() {
    let f = parse("Containerfile", "FROM x\nRUN echo '<<EOF'\n").unwrap();
    assert!(f.instructions[1].heredocs.is_empty());
}

#[test]
fn errors_name_file_line_col() {
    assert_eq!(
        err("FROM x\n  FOO bar\n"),
        "Containerfile:2:3: unknown instruction \"FOO\""
    );
    assert_eq!(
        err("FROM x\nRUN <<EOF\necho\n"),
        "Containerfile:2:1: unterminated heredoc: no line \"EOF\" before the end of the file"
    );
    assert!(err("FROM x\nCMD [\"a\", 1]\n").starts_with("Containerfile:2:5: bad JSON form"));
    assert_eq!(
        err("FROM\n"),
        "Containerfile:1:5: FROM requires at least one argument"
    );
    assert!(err("FROM a b\n").starts_with("Containerfile:1:6: FROM takes"));
    assert!(err("# escape=x\nFROM a\n").starts_with("Containerfile:1:1: invalid escape"));
    assert!(err("FROM a\nCOPY onlyone\n").contains("source and a destination"));
    assert!(err("FROM a\nONBUILD FROM b\n").contains("not allowed as an ONBUILD trigger"));
    assert!(err("FROM a\nARG 9x\n").contains("invalid name"));
}

#[test]
fn shell_form_that_looks_like_json() {
    let k = kinds("FROM x\nRUN [ -f /etc/passwd ] && echo ok\n");
    assert_eq!(
        k[1],
        Kind::Run(CommandForm::Shell("[ -f /etc/passwd ] && echo ok".into()))
    );
}

#[test]
fn huge_line_is_refused() {
    let text = format!("FROM x\nRUN {}\n", "a".repeat(5 << 20));
    assert!(err(&text).contains("longer than 4 MiB"));
}
