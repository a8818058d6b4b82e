//! Go's `filepath.Match` glob syntax, the one matcher for patterns users write: build's COPY
//! sources and `${v#pat}` expansions, and image reference filters (`images --filter
//! reference=`).

/// Shell glob match of the whole `s` (Go's `filepath.Match` syntax, as Docker's COPY):
/// `*` any run, `?` one char, `[abc]`, `[a-z]`, `[!a]`/`[^a]` one char of (not of) a
/// class, `\\x` a literal `x`; anything else literal. An unterminated class is literal.
pub fn glob(pat: &str, s: &str) -> bool {
    let p = tokens(pat);
    let t: Vec<char> = s.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi].matches(t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == Token::Star {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == Token::Star {
        pi += 1;
    }
    pi == p.len()
}

#[derive(Debug, PartialEq)]
enum Token {
    Star,
    Any,
    Lit(char),
    /// Negated, and the inclusive ranges.
    Class(bool, Vec<(char, char)>),
}

impl Token {
    fn matches(&self, c: char) -> bool {
        match self {
            Token::Star => false,
            Token::Any => true,
            Token::Lit(l) => *l == c,
            Token::Class(neg, ranges) => ranges.iter().any(|(a, b)| *a <= c && c <= *b) != *neg,
        }
    }
}

fn tokens(pat: &str) -> Vec<Token> {
    let p: Vec<char> = pat.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < p.len() {
        match p[i] {
            '*' => out.push(Token::Star),
            '?' => out.push(Token::Any),
            '\\' if i + 1 < p.len() => {
                i += 1;
                out.push(Token::Lit(p[i]));
            }
            '[' => match class(&p, i + 1) {
                Some((token, next)) => {
                    out.push(token);
                    i = next;
                    continue;
                }
                None => out.push(Token::Lit('[')),
            },
            c => out.push(Token::Lit(c)),
        }
        i += 1;
    }
    out
}

/// A `[...]` class starting after its `[` at `i`: the token and the index after `]`.
fn class(p: &[char], mut i: usize) -> Option<(Token, usize)> {
    let neg = matches!(p.get(i), Some('!' | '^'));
    if neg {
        i += 1;
    }
    let mut ranges = Vec::new();
    let mut first = true;
    loop {
        let mut c = *p.get(i)?;
        if c == ']' && !first {
            return Some((Token::Class(neg, ranges), i + 1));
        }
        first = false;
        if c == '\\' {
            i += 1;
            c = *p.get(i)?;
        }
        i += 1;
        let mut hi = c;
        if p.get(i) == Some(&'-') && p.get(i + 1).is_some_and(|n| *n != ']') {
            hi = p[i + 1];
            i += 2;
            if hi == '\\' {
                hi = *p.get(i)?;
                i += 1;
            }
        }
        ranges.push((c, hi));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob("*.gz", "a.tar.gz"));
        assert!(glob("a?c", "abc"));
        assert!(!glob("a?c", "ac"));
        assert!(glob("*", ""));
        assert!(glob("[ab].md", "a.md") && glob("[ab].md", "b.md"));
        assert!(!glob("[ab].md", "c.md"));
        assert!(glob("f[0-9].c", "f7.c") && !glob("f[0-9].c", "fx.c"));
        assert!(glob("[!a]x", "bx") && !glob("[!a]x", "ax") && glob("[^a]x", "cx"));
        assert!(glob("\\*", "*") && !glob("\\*", "a"));
        assert!(glob("[]]", "]") && glob("a[", "a["));
    }
}
