//! `.containerignore` / `.dockerignore`: which context paths COPY and ADD never see.
//!
//! Docker's rules, not gitignore's: patterns are anchored at the context root (a leading `/`
//! is dropped, the pattern cleaned), `*` and `?` do not cross `/`, `[a-z]` classes, `\`
//! escapes, `**` spans any number of directories, `!` re-includes, the last matching line
//! wins, and a path is excluded when it or one of its parent directories matches. Buildah's
//! lookup order: `.containerignore`, then `.dockerignore`, in the context dir. An ignore file
//! that is a symlink is refused (it could name a file outside the context).

use std::fs;
use std::path::{Component, Path};

use crate::error::{BuildError, Result};

/// Parsed ignore rules.
#[derive(Debug, Clone, Default)]
pub struct Ignore {
    /// (components of the pattern, is an exception)
    rules: Vec<(Vec<String>, bool)>,
}

impl Ignore {
    /// Read the ignore file: `explicit` (`--ignorefile`), else the context's
    /// `.containerignore`, else its `.dockerignore`, if any.
    pub fn load(context: &Path, explicit: Option<&Path>) -> Result<Option<Ignore>> {
        let candidates: Vec<std::path::PathBuf> = match explicit {
            Some(p) => vec![p.to_path_buf()],
            None => [".containerignore", ".dockerignore"]
                .iter()
                .map(|n| context.join(n))
                .collect(),
        };
        for path in candidates {
            let md = match fs::symlink_metadata(&path) {
                Ok(md) => md,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && explicit.is_none() => {
                    continue
                }
                Err(e) => return Err(BuildError::io(&path, e)),
            };
            if !md.is_file() {
                return Err(BuildError::Invalid(format!(
                    "{}: the ignore file must be a regular file, not a symlink",
                    path.display()
                )));
            }
            let text = fs::read_to_string(&path).map_err(|e| BuildError::io(&path, e))?;
            return Ok(Some(Ignore::parse(&text)));
        }
        Ok(None)
    }

    pub fn parse(text: &str) -> Ignore {
        let mut rules = Vec::new();
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (pat, exception) = match line.strip_prefix('!') {
                Some(p) => (p.trim(), true),
                None => (line, false),
            };
            // Cleaned lexically as Go's `filepath.Clean` (what Docker and Buildah do): `a/../b`
            // is `b`; a leading `/` and any `..` above it are dropped.
            let mut comps: Vec<String> = Vec::new();
            let rooted = pat.starts_with('/');
            for c in Path::new(pat).components() {
                match c {
                    Component::Normal(n) => comps.push(n.to_string_lossy().to_string()),
                    Component::ParentDir if comps.last().is_some_and(|l| l != "..") => {
                        comps.pop();
                    }
                    Component::ParentDir if !rooted => comps.push("..".to_string()),
                    _ => {}
                }
            }
            if !comps.is_empty() {
                rules.push((comps, exception));
            }
        }
        Ignore { rules }
    }

    /// Whether the context-relative `rel` is excluded.
    pub fn excluded(&self, rel: &Path) -> bool {
        let comps: Vec<String> = rel
            .components()
            .filter_map(|c| match c {
                Component::Normal(n) => Some(n.to_string_lossy().to_string()),
                _ => None,
            })
            .collect();
        if comps.is_empty() {
            return false;
        }
        let mut excluded = false;
        for (pat, exception) in &self.rules {
            // The path itself or one of its parents.
            let hit = (1..=comps.len()).any(|n| match_comps(pat, &comps[..n]));
            if hit {
                excluded = !exception;
            }
        }
        excluded
    }
}

impl Ignore {
    /// Whether a `!` rule could re-include something below the excluded directory `rel`, so
    /// that a walk must look inside it rather than skip it (Docker sends `build/keep.txt` for
    /// `build` then `!build/keep.txt`).
    pub fn may_reinclude_below(&self, rel: &Path) -> bool {
        let comps: Vec<String> = rel
            .components()
            .filter_map(|c| match c {
                Component::Normal(n) => Some(n.to_string_lossy().to_string()),
                _ => None,
            })
            .collect();
        self.rules.iter().any(|(pat, exception)| {
            *exception
                && (pat.iter().take(comps.len() + 1).any(|p| p == "**")
                    || (pat.len() > comps.len() && match_comps(&pat[..comps.len()], &comps)))
        })
    }
}

fn match_comps(pat: &[String], path: &[String]) -> bool {
    match pat.split_first() {
        None => path.is_empty(),
        Some((p, rest)) if p == "**" => {
            (0..=path.len()).any(|skip| match_comps(rest, &path[skip..]))
        }
        Some((p, rest)) => match path.split_first() {
            Some((c, tail)) => match_component(p, c) && match_comps(rest, tail),
            None => false,
        },
    }
}

/// Go's `filepath.Match` for one component: `*`, `?`, `[...]` (with `^`/`!` and ranges),
/// `\` escapes.
fn match_component(pat: &str, s: &str) -> bool {
    let p: Vec<char> = pat.chars().collect();
    let t: Vec<char> = s.chars().collect();
    match_at(&p, &t)
}

fn match_at(p: &[char], t: &[char]) -> bool {
    match p.first() {
        None => t.is_empty(),
        Some('*') => (0..=t.len()).any(|i| match_at(&p[1..], &t[i..])),
        Some('?') => !t.is_empty() && match_at(&p[1..], &t[1..]),
        Some('[') => {
            let Some(c) = t.first() else {
                return false;
            };
            let Some(end) = p.iter().skip(1).position(|x| *x == ']').map(|i| i + 1) else {
                return false;
            };
            let mut class = &p[1..end];
            let negate = matches!(class.first(), Some('^' | '!'));
            if negate {
                class = &class[1..];
            }
            let mut hit = false;
            let mut i = 0;
            while i < class.len() {
                if i + 2 < class.len() && class[i + 1] == '-' {
                    hit |= class[i] <= *c && *c <= class[i + 2];
                    i += 3;
                } else {
                    hit |= class[i] == *c;
                    i += 1;
                }
            }
            hit != negate && match_at(&p[end + 1..], &t[1..])
        }
        Some('\\') if p.len() > 1 => t.first() == Some(&p[1]) && match_at(&p[2..], &t[1..]),
        Some(c) => t.first() == Some(c) && match_at(&p[1..], &t[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ex(rules: &str, path: &str) -> bool {
        Ignore::parse(rules).excluded(Path::new(path))
    }

    #[test]
    fn docker_rules() {
        assert!(ex("*.log", "a.log"));
        assert!(
            !ex("*.log", "dir/a.log"),
            "anchored at the root, * does not cross /"
        );
        assert!(ex("**/*.log", "dir/sub/a.log"));
        assert!(ex("**/*.log", "a.log"));
        assert!(ex("/build", "build/out/x"), "a parent directory matches");
        assert!(ex("./secret/", "secret/key"));
        assert!(ex("file[0-9]", "file7"));
        assert!(!ex("file[!0-9]", "file7"));
        assert!(ex("a?c", "abc"));
        assert!(ex("\\*", "*"));
        assert!(!ex("\\*", "x"));
    }

    #[test]
    fn patterns_are_cleaned_as_go_does() {
        assert!(ex("sub/../b.txt", "b.txt"));
        assert!(!ex("sub/../b.txt", "sub/b.txt"));
        assert!(ex("/../x", "x"), "nothing above the root");
        assert!(!ex("../x", "x"), "a relative .. stays and matches nothing");
        assert!(ex("a/./b/", "a/b"));
    }

    #[test]
    fn exceptions_last_match_wins() {
        let rules = "# comment\n\n*.md\n!README.md\ndocs\n!docs/keep\n";
        assert!(ex(rules, "CHANGES.md"));
        assert!(!ex(rules, "README.md"));
        assert!(ex(rules, "docs/a"));
        assert!(!ex(rules, "docs/keep"));
        assert!(!ex("*\n!*", "x"));
    }

    #[test]
    fn symlinked_ignore_file_is_refused() {
        let d = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink("/etc/hostname", d.path().join(".dockerignore")).unwrap();
        let e = Ignore::load(d.path(), None).unwrap_err().to_string();
        assert!(e.contains("not a symlink"), "{e}");
        fs::remove_file(d.path().join(".dockerignore")).unwrap();
        assert!(Ignore::load(d.path(), None).unwrap().is_none());
        fs::write(d.path().join(".dockerignore"), "x\n").unwrap();
        fs::write(d.path().join(".containerignore"), "y\n").unwrap();
        let ig = Ignore::load(d.path(), None).unwrap().unwrap();
        assert!(ig.excluded(Path::new("y")) && !ig.excluded(Path::new("x")));
    }
}
