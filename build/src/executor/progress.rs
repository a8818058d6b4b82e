//! What a build prints, as Buildah 1.28 prints it: `STEP n/m: …` numbered within each stage,
//! with a `[i/k] ` prefix when more than one stage is built; `FROM` with its arguments
//! expanded; with `--layers`, `--> Using cache <id>` for a step whose result came from the
//! cache and `--> <id>` (11 hex digits, as Buildah cuts them) after each step but the last of
//! the target stage; `[i/k] COMMIT <first -t>` before the image is written.

/// How many hex digits of an id Buildah shows after a step (`--> 0cba0e8648b`).
pub const SHORT_ID: usize = 11;

/// `[i/k] ` for stage `pos` of `stages` built stages; nothing for a single stage.
pub fn stage_prefix(stages: usize, pos: usize) -> String {
    if stages > 1 {
        format!("[{pos}/{stages}] ")
    } else {
        String::new()
    }
}

/// `[i/k] STEP n/m: TEXT`.
pub fn step_line(stages: usize, pos: usize, step: usize, total: usize, text: &str) -> String {
    format!("{}STEP {step}/{total}: {text}", stage_prefix(stages, pos))
}

/// A FROM step as Buildah shows it: the image with its arguments expanded, and the stage's
/// name (`FROM localhost/bb AS builder`); flags such as `--platform` are not shown.
pub fn from_text(image: &str, alias: Option<&str>) -> String {
    match alias {
        Some(a) => format!("FROM {image} AS {a}"),
        None => format!("FROM {image}"),
    }
}

/// `--> <id>` with the id cut as Buildah cuts it.
pub fn short_id_line(id: &str) -> String {
    format!("--> {}", &id[..id.len().min(SHORT_ID)])
}

/// The `COMMIT` line before the image is written, if Buildah prints one: `COMMIT NAME` with
/// the first `-t` as given, a bare `COMMIT` without one; none for an untagged image whose last
/// step came from the cache (Buildah then reuses the cached image as it is).
pub fn commit_line(prefix: &str, tag: Option<&str>, last_cached: bool) -> Option<String> {
    match (tag, last_cached) {
        (Some(t), _) => Some(format!("{prefix}COMMIT {t}")),
        (None, false) => Some(format!("{prefix}COMMIT")),
        (None, true) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_buildahs() {
        assert_eq!(
            step_line(2, 1, 1, 4, "FROM localhost/bb AS builder"),
            "[1/2] STEP 1/4: FROM localhost/bb AS builder"
        );
        assert_eq!(step_line(1, 1, 2, 3, "RUN true"), "STEP 2/3: RUN true");
        assert_eq!(from_text("localhost/bb", None), "FROM localhost/bb");
        assert_eq!(
            short_id_line("dc8e2d23f79ef71f4aa01ff5d692abd037a96f56052053a5045205b658523695"),
            "--> dc8e2d23f79"
        );
        assert_eq!(
            commit_line("[2/2] ", Some("multi"), true).as_deref(),
            Some("[2/2] COMMIT multi")
        );
        assert_eq!(commit_line("", None, false).as_deref(), Some("COMMIT"));
        assert_eq!(commit_line("", None, true), None);
    }
}
