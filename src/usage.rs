//! Usage errors in Podman's words. clap reports a bad command line as `error: …` followed by a
//! usage block; Podman (cobra) writes `Error: unknown flag: --bogus` and `See 'podman run
//! --help'`, and scripts and users match on those lines. [`podman_style`] turns a clap error
//! into Podman's text; the exit code (125) stays with the caller.

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{Arg, Command};

/// The text to print for a usage error `err` on the command line `args` (without the
/// program name), as Podman's: `Error: …`, then where to look for help.
pub fn podman_style(err: &clap::Error, mut root: Command, args: &[String]) -> String {
    root.build();
    let (cmd, path) = command_reached(&root, args);
    let path = path.join(" ");
    let see = format!("See '{path} --help'");
    let invalid_arg = || string_context(err, ContextKind::InvalidArg).unwrap_or_default();
    match err.kind() {
        ErrorKind::UnknownArgument => {
            let arg = invalid_arg();
            let message = if let Some(long) = arg.strip_prefix("--") {
                let name = long.split('=').next().unwrap_or(long);
                format!("unknown flag: --{name}")
            } else if let Some(short) = arg.strip_prefix('-') {
                let letter = short.chars().next().unwrap_or('-');
                format!("unknown shorthand flag: '{letter}' in -{letter}")
            } else {
                format!("unexpected argument \"{arg}\"")
            };
            format!("Error: {message}\n{see}\n")
        }
        ErrorKind::MissingRequiredArgument => {
            let missing = invalid_arg();
            format!("Error: the following required arguments were not provided: {missing}\n{see}\n")
        }
        ErrorKind::InvalidValue
        | ErrorKind::ValueValidation
        | ErrorKind::NoEquals
        | ErrorKind::TooManyValues => {
            let arg = invalid_arg();
            let flag = arg.split_whitespace().next().unwrap_or(&arg).to_string();
            let value = string_context(err, ContextKind::InvalidValue).unwrap_or_default();
            let needs_value = matches!(err.kind(), ErrorKind::InvalidValue | ErrorKind::NoEquals);
            if value.is_empty() && needs_value {
                let needs = match flag.strip_prefix('-') {
                    Some(short) if !short.starts_with('-') => format!("'{short}' in {flag}"),
                    _ => flag,
                };
                return format!("Error: flag needs an argument: {needs}\n{see}\n");
            }
            let why = if err.kind() == ErrorKind::TooManyValues {
                "the flag takes no value".to_string()
            } else {
                reason(err)
            };
            if !flag.starts_with('-') {
                // A positional argument (`<SHELL>`): cobra names the command.
                return format!(
                    "Error: invalid argument \"{value}\" for \"{path}\": {why}\n{see}\n"
                );
            }
            let names = cmd
                .and_then(|c| find_flag(c, &flag))
                .map(flag_names)
                .unwrap_or(flag);
            format!("Error: invalid argument \"{value}\" for \"{names}\" flag: {why}\n{see}\n")
        }
        ErrorKind::InvalidSubcommand => {
            let name = string_context(err, ContextKind::InvalidSubcommand).unwrap_or_default();
            let mut text = format!("Error: unrecognized command `{path} {name}`\n");
            if let Some(ContextValue::Strings(similar)) = err.get(ContextKind::SuggestedSubcommand)
            {
                if !similar.is_empty() {
                    text.push_str("\nDid you mean this?\n");
                    for s in similar {
                        text.push_str(&format!("\t{s}\n"));
                    }
                }
            }
            text.push_str(&format!("\nTry '{path} --help' for more information\n"));
            text
        }
        ErrorKind::MissingSubcommand | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            // Podman prints the group's help, then names what is missing.
            format!(
                "{}\nError: missing command '{path} COMMAND'\n",
                err.render()
            )
        }
        _ => format!("Error: {}\n{see}\n", reason(err)),
    }
}

/// The innermost subcommand `args` name and its path (`berth image ls`): options and their
/// values are skipped; an unknown flag or the first word that is not a subcommand ends the walk.
fn command_reached<'a>(root: &'a Command, args: &[String]) -> (Option<&'a Command>, Vec<String>) {
    let mut chain: Vec<&Command> = vec![root];
    let mut words = args.iter();
    while let Some(word) = words.next() {
        let cmd = *chain.last().expect("root");
        if word == "--" {
            break;
        }
        if let Some(long) = word.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((name, _)) => (name, true),
                None => (long, false),
            };
            let Some(arg) = chain
                .iter()
                .rev()
                .find_map(|c| c.get_arguments().find(|a| a.get_long() == Some(name)))
            else {
                break;
            };
            if takes_value(arg) && !inline {
                words.next();
            }
        } else if let Some(shorts) = word.strip_prefix('-').filter(|s| !s.is_empty()) {
            let mut known = true;
            for (i, letter) in shorts.char_indices() {
                let Some(arg) = chain
                    .iter()
                    .rev()
                    .find_map(|c| c.get_arguments().find(|a| a.get_short() == Some(letter)))
                else {
                    known = false;
                    break;
                };
                if takes_value(arg) {
                    if i + letter.len_utf8() == shorts.len() {
                        words.next();
                    }
                    break;
                }
            }
            if !known {
                break;
            }
        } else {
            match cmd.find_subcommand(word) {
                Some(sub) => chain.push(sub),
                None => break,
            }
        }
    }
    let path = chain.iter().map(|c| c.get_name().to_string()).collect();
    (chain.last().copied(), path)
}

fn takes_value(arg: &Arg) -> bool {
    arg.get_num_args().is_some_and(|n| n.takes_values()) && arg.get_action().takes_values()
}

/// The argument of `cmd` that `flag` (`--time` or `-t`) names.
fn find_flag<'a>(cmd: &'a Command, flag: &str) -> Option<&'a Arg> {
    cmd.get_arguments().find(|a| match flag.strip_prefix("--") {
        Some(long) => a.get_long() == Some(long),
        None => flag
            .strip_prefix('-')
            .and_then(|s| s.chars().next())
            .is_some_and(|short| a.get_short() == Some(short)),
    })
}

/// A flag's names as Podman shows them: `-t, --time` or `--rm`.
fn flag_names(arg: &Arg) -> String {
    match (arg.get_short(), arg.get_long()) {
        (Some(s), Some(l)) => format!("-{s}, --{l}"),
        (Some(s), None) => format!("-{s}"),
        (None, Some(l)) => format!("--{l}"),
        (None, None) => arg.get_id().to_string(),
    }
}

fn string_context(err: &clap::Error, kind: ContextKind) -> Option<String> {
    match err.get(kind)? {
        ContextValue::String(s) => Some(s.clone()),
        ContextValue::Strings(v) => Some(v.join(", ")),
        other => Some(other.to_string()),
    }
}

/// Why clap refused: the value parser's own error, or clap's first line without its prefix.
fn reason(err: &clap::Error) -> String {
    if let Some(source) = std::error::Error::source(err) {
        return source.to_string();
    }
    if let Some(ContextValue::Strings(valid)) = err.get(ContextKind::ValidValue) {
        if !valid.is_empty() {
            return format!("valid values are {}", valid.join(", "));
        }
    }
    let text = err.render().to_string();
    let first = text.lines().next().unwrap_or_default();
    first.strip_prefix("error: ").unwrap_or(first).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{CommandFactory, Parser};

    fn message(args: &[&str]) -> String {
        let mut argv = vec!["berth"];
        argv.extend(args);
        let err = crate::Cli::try_parse_from(&argv)
            .err()
            .expect("a usage error");
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        podman_style(&err, crate::Cli::command(), &args)
    }

    #[test]
    fn unknown_flags_name_the_subcommand_to_ask() {
        assert_eq!(
            message(&["--root", "/r", "run", "--bogus", "img"]),
            "Error: unknown flag: --bogus\nSee 'berth run --help'\n"
        );
        assert_eq!(
            message(&["image", "ls", "-z"]),
            "Error: unknown shorthand flag: 'z' in -z\nSee 'berth image ls --help'\n"
        );
        assert_eq!(
            message(&["--bogus", "images"]),
            "Error: unknown flag: --bogus\nSee 'berth --help'\n"
        );
        assert_eq!(
            message(&["run"]),
            "Error: the following required arguments were not provided: <IMAGE>\n\
             See 'berth run --help'\n"
        );
    }

    /// A bad positional value names the command, never a flag (it once named `--root`).
    #[test]
    fn bad_positional_values_name_the_command() {
        let text = message(&["completion", "tcsh"]);
        assert!(
            text.starts_with("Error: invalid argument \"tcsh\" for \"berth completion\": "),
            "{text}"
        );
        assert!(text.contains("bash"), "{text}");
        assert!(text.ends_with("See 'berth completion --help'\n"), "{text}");
    }

    #[test]
    fn missing_and_bad_values_say_which_flag() {
        assert_eq!(
            message(&["run", "--name"]),
            "Error: flag needs an argument: --name\nSee 'berth run --help'\n"
        );
        let text = message(&["stop", "-t", "abc", "x"]);
        assert!(
            text.starts_with("Error: invalid argument \"abc\" for \"-t, --time\" flag: "),
            "{text}"
        );
        assert!(text.ends_with("\nSee 'berth stop --help'\n"), "{text}");
    }

    #[test]
    fn unknown_subcommands_are_unrecognized_commands() {
        let text = message(&["volume", "bogus"]);
        assert_eq!(
            text,
            "Error: unrecognized command `berth volume bogus`\n\nTry 'berth volume --help' for more information\n"
        );
    }
}
