//! The distribution spec's grammar for one path component of a repository name:
//! `[a-z0-9]+ ((\.|_|__|-+) [a-z0-9]+)*`. Shared by the store's names and trust's signed
//! identities.

/// How a path component breaks the grammar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ComponentError {
    /// Nothing between two `/`.
    Empty,
    /// An uppercase letter.
    Uppercase,
    /// It starts or ends with something other than a lowercase letter or digit.
    Edge,
    /// A separator other than `.`, `_`, `__` or a run of `-`.
    Separator(String),
}

fn lower_alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

/// Check one path component (the part between `/`s) of a repository name.
pub fn check_path_component(comp: &str) -> Result<(), ComponentError> {
    let b = comp.as_bytes();
    if b.is_empty() {
        return Err(ComponentError::Empty);
    }
    if b.iter().any(u8::is_ascii_uppercase) {
        return Err(ComponentError::Uppercase);
    }
    if !lower_alnum(b[0]) || !lower_alnum(b[b.len() - 1]) {
        return Err(ComponentError::Edge);
    }
    let mut i = 0;
    while i < b.len() {
        if lower_alnum(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !lower_alnum(b[i]) {
            i += 1;
        }
        let sep = &comp[start..i];
        if !(sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|c| c == b'-')) {
            return Err(ComponentError::Separator(sep.to_string()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components() {
        for ok in ["a", "a0", "a.b", "a_b", "a__b", "a---b", "library"] {
            assert_eq!(check_path_component(ok), Ok(()), "{ok}");
        }
        assert_eq!(check_path_component(""), Err(ComponentError::Empty));
        assert_eq!(check_path_component("aB"), Err(ComponentError::Uppercase));
        assert_eq!(check_path_component("-a"), Err(ComponentError::Edge));
        assert_eq!(check_path_component("a."), Err(ComponentError::Edge));
        assert_eq!(
            check_path_component("a___b"),
            Err(ComponentError::Separator("___".into()))
        );
        assert_eq!(
            check_path_component("a.-b"),
            Err(ComponentError::Separator(".-".into()))
        );
    }
}
