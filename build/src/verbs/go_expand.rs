//! `config --env K=V`'s `$VAR` expansion, as Buildah 1.28 does it: Go's `os.Expand` over the
//! working container's environment as it stands (earlier `--env` values of the same command
//! included). `$NAME` and `${NAME}` expand; `${…}` takes everything up to the `}` as the
//! name (no `${A:-b}` defaults: that names `A:-b`); `$` before one of Go's special characters
//! (`*#$@!?-` or a digit) names that one character; a name with no value becomes the name
//! itself, with Buildah's error line; a `$` followed by nothing usable stays.

/// Expand `value`; `lookup` gives a variable's value. Names that had none are returned too,
/// for the caller's message.
pub fn expand(value: &str, lookup: &dyn Fn(&str) -> Option<String>) -> (String, Vec<String>) {
    let bytes = value.as_bytes();
    let mut out = String::with_capacity(value.len());
    let mut missing = Vec::new();
    let (mut i, mut j) = (0, 0);
    while j < bytes.len() {
        if bytes[j] == b'$' && j + 1 < bytes.len() {
            out.push_str(&value[i..j]);
            let (name, width) = shell_name(&value[j + 1..]);
            match name {
                // Bad syntax (`${}`, an unclosed `${`): eaten.
                None if width > 0 => {}
                // `$` and no name: kept.
                None => out.push('$'),
                Some(name) => match lookup(name) {
                    Some(v) => out.push_str(&v),
                    None => {
                        missing.push(name.to_string());
                        out.push_str(name);
                    }
                },
            }
            j += width;
            i = j + 1;
        }
        j += 1;
    }
    out.push_str(&value[i.min(value.len())..]);
    (out, missing)
}

/// Go's `getShellName`: the name after a `$` and how many bytes it took.
fn shell_name(s: &str) -> (Option<&str>, usize) {
    let b = s.as_bytes();
    if b[0] == b'{' {
        if b.len() > 2 && is_special(b[1]) && b[2] == b'}' {
            return (Some(&s[1..2]), 3);
        }
        return match s[1..].find('}') {
            Some(0) => (None, 2),
            Some(k) => (Some(&s[1..=k]), k + 2),
            None => (None, 1),
        };
    }
    if is_special(b[0]) {
        return (Some(&s[..1]), 1);
    }
    let n = b
        .iter()
        .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
        .count();
    ((n > 0).then(|| &s[..n]), n)
}

fn is_special(c: u8) -> bool {
    matches!(c, b'*' | b'#' | b'$' | b'@' | b'!' | b'?' | b'-') || c.is_ascii_digit()
}

#[cfg(test)]
mod tests {
    use super::expand;

    fn x(value: &str) -> String {
        let lookup = |n: &str| (n == "A").then(|| "1".to_string());
        expand(value, &lookup).0
    }

    #[test]
    fn as_buildah_1_28_expands_config_env() {
        // Each case as `buildah config --env` left it (Buildah 1.28.2, this machine).
        assert_eq!(x("$A:x"), "1:x");
        assert_eq!(x("${A}y"), "1y");
        assert_eq!(x("$NOPE"), "NOPE");
        assert_eq!(x("a\\$A"), "a\\1");
        assert_eq!(x("$$"), "$");
        assert_eq!(x("/bin:$PATH"), "/bin:PATH");
        assert_eq!(x("${A:-z}"), "A:-z");
        assert_eq!(x("${NOPE:-dflt}"), "NOPE:-dflt");
        // Go's os.Expand rules: a lone or trailing `$`, `${}`, an unclosed `${`.
        assert_eq!(x("cost $"), "cost $");
        assert_eq!(x("a$ b"), "a$ b");
        assert_eq!(x("a${}b"), "ab");
        assert_eq!(x("a${Ab"), "aAb");
        assert_eq!(x("no dollars"), "no dollars");
        let (_, missing) = expand("$NOPE ${X} $A", &|n: &str| (n == "A").then(String::new));
        assert_eq!(missing, ["NOPE", "X"]);
    }
}
