//! Questions asked at the terminal: confirmation before removing things, and passphrases
//! (read with echo off, or from a file).

use std::io::{self, BufRead, IsTerminal, Write};
use std::path::Path;

use anyhow::{bail, Context as _, Result};

/// Ask for confirmation on a terminal, as Podman does; without a terminal, proceed.
pub fn confirm(warning: &str) -> Result<bool> {
    if !io::stdin().is_terminal() {
        return Ok(true);
    }
    errout!("WARNING! {warning}\nAre you sure you want to continue? [y/N] ");
    io::stderr().flush()?;
    let mut answer = String::new();
    io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "Yes"))
}

/// A passphrase from the first line of `file`, else typed at the terminal (twice when
/// `confirm`).
pub fn passphrase(file: Option<&Path>, prompt: &str, confirm: bool) -> Result<Vec<u8>> {
    if let Some(f) = file {
        let text =
            std::fs::read(f).with_context(|| format!("reading passphrase file {}", f.display()))?;
        let line = text.split(|b| *b == b'\n').next().unwrap_or_default();
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        return Ok(line.to_vec());
    }
    if !io::stdin().is_terminal() {
        bail!("no passphrase: use a passphrase file (stdin is not a terminal)");
    }
    let first = read_hidden(prompt)?;
    if confirm {
        let second = read_hidden("Repeat the passphrase: ")?;
        if first != second {
            bail!("the passphrases do not match");
        }
    }
    Ok(first)
}

/// Read a line from the terminal with echo off.
fn read_hidden(prompt: &str) -> Result<Vec<u8>> {
    errout!("{prompt}");
    io::stderr().flush().ok();
    let fd = libc::STDIN_FILENO;
    // SAFETY: termios is plain data; tcgetattr fills it or fails, and we restore what we read.
    let mut saved: libc::termios = unsafe { std::mem::zeroed() };
    let have_tty = unsafe { libc::tcgetattr(fd, &mut saved) } == 0;
    if have_tty {
        let mut quiet = saved;
        quiet.c_lflag &= !libc::ECHO;
        quiet.c_lflag |= libc::ECHONL;
        // SAFETY: fd is stdin, `quiet` is a valid termios.
        unsafe { libc::tcsetattr(fd, libc::TCSANOW, &quiet) };
    }
    let mut line = String::new();
    let read = io::stdin().lock().read_line(&mut line);
    if have_tty {
        // SAFETY: restores the attributes read above.
        unsafe { libc::tcsetattr(fd, libc::TCSANOW, &saved) };
    }
    read.context("reading the passphrase")?;
    Ok(line.trim_end_matches(['\n', '\r']).as_bytes().to_vec())
}
