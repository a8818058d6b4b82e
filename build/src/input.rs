//! What a build starts from, before [`crate::parse`]: the context directory (given, or a tar
//! read from a stream such as stdin, unpacked in-root into a private directory), the
//! Containerfile (given, found in the context, or read from a stream) with the name its
//! messages show, and the timestamp (`--timestamp`, else `SOURCE_DATE_EPOCH`). Front ends
//! decide which stream is stdin; nothing here reads a terminal or the environment.

use std::io::Read;
use std::path::{Path, PathBuf};

use berth_layers::ApplyOptions;

use crate::error::{BuildError, Result};

/// A build context that came as a tar stream (uncompressed, gzip or zstd), unpacked in-root
/// into a private directory that lives as long as this value.
#[derive(Debug)]
pub struct StreamedContext {
    dir: tempfile::TempDir,
}

impl StreamedContext {
    /// Unpack `tar` into a new private directory (every entry checked as a layer's are);
    /// `from` names the stream in messages (`stdin`).
    pub fn unpack(tar: impl Read + Send, from: &str) -> Result<StreamedContext> {
        let dir = tempfile::Builder::new()
            .prefix("berth-build-context-")
            .tempdir()
            .map_err(|e| BuildError::input("creating a directory for the build context", e))?;
        let input = std::io::BufReader::with_capacity(1 << 20, tar);
        berth_layers::apply_layer(input, dir.path(), &ApplyOptions::default()).map_err(|e| {
            BuildError::input(format!("unpacking the build context from {from}"), e)
        })?;
        Ok(StreamedContext { dir })
    }

    /// The directory the context was unpacked into.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The Containerfile at `rel` inside the context (a client's `dockerfile` parameter),
    /// else, when `rel` is `None`, `Containerfile` or `Dockerfile`. Resolved as the context
    /// sees it: a symlink or `..` in the context's entries never leads out of it.
    pub fn containerfile(&self, rel: Option<&Path>) -> Result<ContainerfileText> {
        let root = berth_layers::inroot::InRoot::open(self.path())
            .map_err(|e| BuildError::input("opening the build context", e))?;
        let candidates: Vec<&Path> = match rel {
            Some(r) => vec![r],
            None => vec![Path::new("Containerfile"), Path::new("Dockerfile")],
        };
        for want in &candidates {
            let resolved = root
                .resolve(want, true)
                .map_err(|e| BuildError::input(format!("resolving {}", want.display()), e))?;
            let path = self.path().join(&resolved.path);
            if resolved.exists() && path.is_file() {
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| BuildError::input(format!("reading {}", want.display()), e))?;
                return Ok(ContainerfileText {
                    name: want.display().to_string(),
                    text,
                });
            }
        }
        Err(BuildError::Invalid(match rel {
            Some(r) => format!("no {} in the build context", r.display()),
            None => "no Containerfile or Dockerfile in the build context".to_string(),
        }))
    }
}

/// Where the Containerfile comes from.
pub enum ContainerfileSource<'a> {
    /// `-f FILE`.
    Path(PathBuf),
    /// `-f -`: read from a stream; its messages name it `Containerfile`.
    Stream(&'a mut dyn Read),
    /// No `-f`: `CONTEXT/Containerfile`, else `CONTEXT/Dockerfile`.
    InContext,
}

/// A Containerfile's text and the name its messages show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerfileText {
    /// As given, or relative to a streamed context (never its temporary directory).
    pub name: String,
    /// The text, for [`crate::parse`].
    pub text: String,
}

/// Check the context directory and read the Containerfile. `streamed` is the context when it
/// came as a stream, so names inside it are shown relative to it.
pub fn read_containerfile(
    context: &Path,
    source: ContainerfileSource<'_>,
    streamed: Option<&StreamedContext>,
) -> Result<ContainerfileText> {
    if !context.is_dir() {
        return Err(BuildError::Invalid(format!(
            "build context {} is not a directory",
            context.display()
        )));
    }
    let path = match source {
        ContainerfileSource::Stream(reader) => {
            let mut text = String::new();
            reader
                .read_to_string(&mut text)
                .map_err(|e| BuildError::input("reading the Containerfile from stdin", e))?;
            return Ok(ContainerfileText {
                name: "Containerfile".to_string(),
                text,
            });
        }
        ContainerfileSource::Path(path) => path,
        ContainerfileSource::InContext => find_containerfile(context)?,
    };
    let text = std::fs::read_to_string(&path)
        .map_err(|e| BuildError::input(format!("reading {}", path.display()), e))?;
    let shown = match streamed {
        Some(ctx) => path.strip_prefix(ctx.path()).unwrap_or(&path),
        None => &path,
    };
    Ok(ContainerfileText {
        name: shown.display().to_string(),
        text,
    })
}

/// `CONTEXT/Containerfile`, else `CONTEXT/Dockerfile`.
fn find_containerfile(context: &Path) -> Result<PathBuf> {
    for name in ["Containerfile", "Dockerfile"] {
        let p = context.join(name);
        if p.is_file() {
            return Ok(p);
        }
    }
    Err(BuildError::Invalid(format!(
        "no Containerfile or Dockerfile in {}: give one with -f",
        context.display()
    )))
}

/// The build's timestamp: `--timestamp` wins, else `SOURCE_DATE_EPOCH` when set and not
/// empty (seconds since the epoch), else none.
pub fn timestamp(flag: Option<i64>, source_date_epoch: Option<&str>) -> Result<Option<i64>> {
    match (flag, source_date_epoch) {
        (Some(t), _) => Ok(Some(t)),
        (None, Some(v)) if !v.is_empty() => v
            .parse::<i64>()
            .map(Some)
            .map_err(|e| BuildError::input(format!("SOURCE_DATE_EPOCH={v:?} is not a number"), e)),
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_flag_wins_then_source_date_epoch() {
        assert_eq!(timestamp(Some(5), Some("7")).unwrap(), Some(5));
        assert_eq!(timestamp(None, Some("7")).unwrap(), Some(7));
        assert_eq!(timestamp(None, Some("")).unwrap(), None);
        assert_eq!(timestamp(None, None).unwrap(), None);
        let err = timestamp(None, Some("soon")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "SOURCE_DATE_EPOCH=\"soon\" is not a number"
        );
        assert!(std::error::Error::source(&err).is_some());
    }

    #[test]
    fn a_streamed_context_names_its_containerfile_relative_to_itself() {
        let mut tar = tar::Builder::new(Vec::new());
        let body = b"FROM scratch\n";
        let mut header = tar::Header::new_gnu();
        header.set_size(body.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        tar.append_data(&mut header, "Dockerfile", &body[..])
            .unwrap();
        let bytes = tar.into_inner().unwrap();
        let ctx = StreamedContext::unpack(&bytes[..], "stdin").unwrap();
        let file =
            read_containerfile(ctx.path(), ContainerfileSource::InContext, Some(&ctx)).unwrap();
        assert_eq!(file.name, "Dockerfile");
        assert_eq!(file.text, "FROM scratch\n");
        let file = ctx.containerfile(None).unwrap();
        assert_eq!(
            (file.name.as_str(), file.text.as_str()),
            ("Dockerfile", "FROM scratch\n")
        );
        assert!(ctx
            .containerfile(Some(Path::new("../../etc/passwd")))
            .is_err());
        let mut stream: &[u8] = b"FROM busybox\n";
        let file =
            read_containerfile(ctx.path(), ContainerfileSource::Stream(&mut stream), None).unwrap();
        assert_eq!(file.name, "Containerfile");
        let missing = tempfile::tempdir().unwrap();
        let err =
            read_containerfile(missing.path(), ContainerfileSource::InContext, None).unwrap_err();
        assert!(err
            .to_string()
            .starts_with("no Containerfile or Dockerfile in "));
        let err = read_containerfile(
            &missing.path().join("nope"),
            ContainerfileSource::InContext,
            None,
        )
        .unwrap_err();
        assert!(
            err.to_string().ends_with("nope is not a directory"),
            "{err}"
        );
    }
}
