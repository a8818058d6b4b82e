//! Shell completions and manual pages, generated from the command tree, installed by
//! `make install-files` (what `make install` runs after the release build).

use std::path::Path;
use std::process::Command;

use crate::util::{require_tool, run_tool, TestEnv};

/// Ask the bash completion in `script` what it offers for the words `line` (the last one
/// being completed).
fn bash_complete(script: &Path, line: &[&str]) -> Vec<String> {
    let words = line
        .iter()
        .map(|w| format!("'{w}'"))
        .collect::<Vec<_>>()
        .join(" ");
    let program = format!(
        "source {script}; COMP_WORDS=({words}); COMP_CWORD={cword}; COMP_LINE='{joined}'; \
         COMP_POINT=${{#COMP_LINE}}; _berth berth '{cur}' '{prev}'; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        script = script.display(),
        cword = line.len() - 1,
        joined = line.join(" "),
        cur = line[line.len() - 1],
        prev = line[line.len() - 2],
    );
    run_tool(Command::new(require_tool("bash")).args(["--norc", "-c", &program]))
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn make_install_files_puts_completions_and_pages_in_place() {
    let env = TestEnv::new();
    let dest = env.path("dest");
    let berth = env!("CARGO_BIN_EXE_berth");
    run_tool(
        Command::new(require_tool("make"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .arg("install-files")
            .arg(format!("BERTH={berth}"))
            .arg(format!("DESTDIR={}", dest.display()))
            .arg("PREFIX=/usr"),
    );
    let usr = dest.join("usr");
    assert!(usr.join("bin/berth").is_file());
    for page in [
        "berth.1",
        "berth-run.1",
        "berth-image-ls.1",
        "berth-network-create.1",
    ] {
        let text = std::fs::read_to_string(usr.join("share/man/man1").join(page)).unwrap();
        assert!(text.contains(".TH"), "{page} is not a man page");
    }
    let run_page = std::fs::read_to_string(usr.join("share/man/man1/berth-run.1")).unwrap();
    assert!(run_page.contains("publish"), "berth-run.1 lacks --publish");
    assert!(usr.join("share/zsh/site-functions/_berth").is_file());
    assert!(usr
        .join("share/fish/vendor_completions.d/berth.fish")
        .is_file());
    let unit = std::fs::read_to_string(usr.join("lib/systemd/system/berth.service")).unwrap();
    assert!(
        unit.contains("ExecStart=/usr/bin/berth system service"),
        "{unit}"
    );
    assert!(usr.join("lib/systemd/system/berth.socket").is_file());

    let bash = usr.join("share/bash-completion/completions/berth");
    let commands = bash_complete(&bash, &["berth", "ru"]);
    assert!(commands.iter().any(|c| c == "run"), "{commands:?}");
    let flags = bash_complete(&bash, &["berth", "run", "--netw"]);
    assert!(flags.iter().any(|c| c == "--network"), "{flags:?}");
    let nested = bash_complete(&bash, &["berth", "network", "cr"]);
    assert!(nested.iter().any(|c| c == "create"), "{nested:?}");
}

#[test]
fn completion_prints_to_stdout_and_refuses_an_unknown_shell() {
    let env = TestEnv::new();
    let script = env.ok(&["completion", "zsh"]);
    assert!(script.starts_with("#compdef berth"), "{}", &script[..40]);
    let out = env.run(&["completion", "tcsh"]);
    assert_eq!(out.status.code(), Some(125));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("Error: invalid argument \"tcsh\" for \"berth completion\""),
        "{err}"
    );
}
