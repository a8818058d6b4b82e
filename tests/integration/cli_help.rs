//! `--help` of every command starts with the summary `berth --help` lists for it (a flattened
//! group of flags once replaced the summaries of `pull`, `push`, `copy`, `login`, `search` and
//! `inspect` with its own doc comment).

use crate::util::TestEnv;

/// `(command, summary)` of every command `berth --help` lists.
fn listed(env: &TestEnv) -> Vec<(String, String)> {
    let help = env.ok(&["--help"]);
    let commands = help
        .split("Commands:\n")
        .nth(1)
        .and_then(|rest| rest.split("\n\n").next())
        .expect("a Commands: section");
    commands
        .lines()
        .filter_map(|line| {
            let line = line.trim();
            let (name, summary) = line.split_once(char::is_whitespace)?;
            Some((name.to_string(), summary.trim().to_string()))
        })
        .filter(|(name, _)| name != "help")
        .collect()
}

#[test]
fn every_command_help_starts_with_its_summary() {
    let env = TestEnv::new();
    let commands = listed(&env);
    assert!(commands.len() > 30, "{commands:?}");
    let mut wrong = Vec::new();
    for (name, summary) in &commands {
        let help = env.ok(&[name, "--help"]);
        let first = help
            .lines()
            .next()
            .unwrap_or_default()
            .trim_end_matches('.');
        if first != summary.trim_end_matches('.') {
            wrong.push(format!("{name}: listed {summary:?}, --help says {first:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
