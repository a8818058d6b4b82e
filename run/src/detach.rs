//! Detach keys (`--detach-keys`): Podman's syntax, and the matcher that watches a terminal's
//! input for the sequence.
//!
//! The syntax is Podman's (Docker's `term.ToBytes`): a comma-separated list of keys, each a
//! single character or `ctrl-<value>` with a lower-case letter or one of `@ [ \ ] ^ _`. The
//! empty string disables detaching. The default is `ctrl-p,ctrl-q`.

use crate::error::{Result, RunError};

/// Podman's default sequence.
pub const DEFAULT_DETACH_KEYS: &str = "ctrl-p,ctrl-q";

/// The bytes of a `--detach-keys` value (empty: detaching is disabled), with Podman's error
/// for a key it does not know.
pub fn parse(keys: &str) -> Result<Vec<u8>> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    keys.split(',')
        .map(|key| {
            if key.len() == 1 {
                return Ok(key.as_bytes()[0]);
            }
            let code = match key.strip_prefix("ctrl-").map(str::as_bytes) {
                Some([c @ b'a'..=b'z']) => Some(c - b'a' + 1),
                Some([b'@']) => Some(0),
                Some([c @ (b'[' | b'\\' | b']' | b'^' | b'_')]) => Some(c - b'[' + 27),
                _ => None,
            };
            code.ok_or_else(|| {
                RunError::Invalid(format!("invalid detach keys: Unknown character: '{key}'"))
            })
        })
        .collect()
}

/// Watches input for the detach sequence: bytes that start the sequence are held back, and
/// forwarded after all when the sequence breaks off.
#[derive(Debug)]
pub struct Matcher {
    keys: Vec<u8>,
    held: usize,
}

impl Matcher {
    /// A matcher for `keys` (empty: it never matches).
    pub fn new(keys: Vec<u8>) -> Matcher {
        Matcher { keys, held: 0 }
    }

    /// Feed `input`: the bytes to forward are appended to `out`; true when the sequence is
    /// complete (what follows it in `input` is dropped, as the session ends).
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) -> bool {
        if self.keys.is_empty() {
            out.extend_from_slice(input);
            return false;
        }
        for &b in input {
            if b == self.keys[self.held] {
                self.held += 1;
                if self.held == self.keys.len() {
                    self.held = 0;
                    return true;
                }
                continue;
            }
            // The sequence broke off: what was held goes through, and this byte may start it
            // again.
            out.extend_from_slice(&self.keys[..self.held]);
            self.held = 0;
            if b == self.keys[0] {
                self.held = 1;
                if self.keys.len() == 1 {
                    self.held = 0;
                    return true;
                }
            } else {
                out.push(b);
            }
        }
        false
    }

    /// The bytes still held back (at the end of input: forward them).
    pub fn take_held(&mut self) -> Vec<u8> {
        let held = self.keys[..self.held].to_vec();
        self.held = 0;
        held
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn podman_syntax() {
        assert_eq!(parse(DEFAULT_DETACH_KEYS).unwrap(), [16, 17]);
        assert_eq!(parse("").unwrap(), Vec::<u8>::new());
        assert_eq!(parse("x").unwrap(), b"x");
        assert_eq!(
            parse("ctrl-@,ctrl-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_,ctrl-a,ctrl-z").unwrap(),
            [0, 27, 28, 29, 30, 31, 1, 26]
        );
        for (bad, key) in [
            ("ctrl-", "ctrl-"),
            ("ctrl-1", "ctrl-1"),
            ("ab", "ab"),
            ("ctrl-A", "ctrl-A"),
            ("ctrl-a,,b", ""),
        ] {
            assert_eq!(
                parse(bad).unwrap_err().to_string(),
                format!("invalid detach keys: Unknown character: '{key}'"),
                "{bad}"
            );
        }
    }

    #[test]
    fn matching_holds_and_releases() {
        let mut m = Matcher::new(parse(DEFAULT_DETACH_KEYS).unwrap());
        let mut out = Vec::new();
        assert!(!m.feed(b"echo a\x10b", &mut out));
        assert_eq!(out, b"echo a\x10b");
        out.clear();
        // Split over two reads.
        assert!(!m.feed(b"x\x10", &mut out));
        assert_eq!(out, b"x");
        assert!(m.feed(b"\x11after", &mut out));
        assert_eq!(out, b"x");
        // A repeated first key starts the sequence again.
        out.clear();
        assert!(m.feed(b"\x10\x10\x11", &mut out));
        assert_eq!(out, b"\x10");
        out.clear();
        assert!(!m.feed(b"\x10", &mut out));
        assert_eq!(m.take_held(), b"\x10");
        let mut off = Matcher::new(Vec::new());
        assert!(!off.feed(b"\x10\x11", &mut out));
        let mut one = Matcher::new(parse("ctrl-a").unwrap());
        out.clear();
        assert!(one.feed(b"ab\x01", &mut out));
        assert_eq!(out, b"ab");
    }
}
