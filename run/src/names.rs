//! Container ids (64 hex characters from the kernel's random source) and Podman-style
//! `adjective_noun` names.

use std::fs::File;
use std::io::Read;

use crate::error::{Result, RunError};

const ADJECTIVES: &[&str] = &[
    "admiring",
    "amazing",
    "bold",
    "brave",
    "busy",
    "calm",
    "clever",
    "cool",
    "crazy",
    "dazzling",
    "eager",
    "elastic",
    "epic",
    "fervent",
    "focused",
    "gallant",
    "gifted",
    "happy",
    "hopeful",
    "jolly",
    "keen",
    "kind",
    "loving",
    "lucid",
    "modest",
    "nifty",
    "nostalgic",
    "peaceful",
    "quirky",
    "relaxed",
    "serene",
    "sharp",
    "stoic",
    "sweet",
    "tender",
    "trusting",
    "vibrant",
    "wizardly",
    "youthful",
    "zealous",
];

const NOUNS: &[&str] = &[
    "albattani",
    "archimedes",
    "babbage",
    "bohr",
    "curie",
    "darwin",
    "dijkstra",
    "einstein",
    "euclid",
    "fermat",
    "galileo",
    "gauss",
    "hopper",
    "hypatia",
    "johnson",
    "kepler",
    "lamarr",
    "lovelace",
    "maxwell",
    "meitner",
    "newton",
    "noether",
    "pascal",
    "ritchie",
    "shannon",
    "thompson",
    "turing",
    "wozniak",
    "yonath",
    "zhukovsky",
];

/// `n` random bytes.
pub fn random_bytes(n: usize) -> Result<Vec<u8>> {
    let path = "/dev/urandom";
    let mut buf = vec![0u8; n];
    File::open(path)
        .and_then(|mut f| f.read_exact(&mut buf))
        .map_err(|e| RunError::io(path, e))?;
    Ok(buf)
}

/// A new container id: 64 lowercase hex characters.
pub fn new_id() -> Result<String> {
    Ok(random_bytes(32)?
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// A random `adjective_noun` name.
pub fn random_name() -> Result<String> {
    let b = random_bytes(4)?;
    let a = u16::from_le_bytes([b[0], b[1]]) as usize % ADJECTIVES.len();
    let n = u16::from_le_bytes([b[2], b[3]]) as usize % NOUNS.len();
    Ok(format!("{}_{}", ADJECTIVES[a], NOUNS[n]))
}

/// Check a user-given name as Podman does: `[a-zA-Z0-9][a-zA-Z0-9_.-]*`.
pub fn check_name(name: &str) -> Result<()> {
    let mut bytes = name.bytes();
    let ok = bytes.next().is_some_and(|b| b.is_ascii_alphanumeric())
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
        && name.len() <= 128;
    if !ok {
        return Err(RunError::Invalid(format!(
            "invalid container name {name:?}: use [a-zA-Z0-9][a-zA-Z0-9_.-]*"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_names() {
        let id = new_id().unwrap();
        assert_eq!(id.len(), 64);
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
        let n = random_name().unwrap();
        assert!(n.contains('_'));
        check_name(&n).unwrap();
        assert!(check_name("-bad").is_err());
        assert!(check_name("a/b").is_err());
    }
}
