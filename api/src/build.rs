//! `POST /build`: Docker's classic builder endpoint over `berth_build::build`, the library
//! call `berth build` makes. The body is a tar of the context (uncompressed, gzip or zstd),
//! unpacked in-root as it arrives (`berth_build::input::StreamedContext`: no entry lands
//! outside the private directory); the `dockerfile` parameter is resolved inside it. The
//! step lines and RUN's output go back as `{"stream": …}` lines, the result as
//! `{"aux": {"ID": …}}` and `Successfully built`/`Successfully tagged`, a failure as
//! `{"errorDetail": …, "error": …}` (with the RUN's exit code, which the docker CLI exits
//! with).

use std::collections::HashMap;
use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use berth_build::input::StreamedContext;
use berth_build::{BuildError, BuildOptions, Format, PullPolicy, Squash};
use serde_json::{json, Value};

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::stream::{channel_body, LineSender};
use crate::upload::blocking_reader;

/// The query parameters of `/build` berth uses (`platform` only checked: the native one;
/// `networkmode` as `berth build --network`, Docker's `default` as berth's default).
/// The rest are accepted and ignored: `rm`/`forcerm` (berth never keeps intermediate
/// containers), resource limits.
#[derive(Debug, Default, PartialEq)]
struct BuildQuery {
    tags: Vec<String>,
    dockerfile: Option<PathBuf>,
    build_args: Vec<(String, String)>,
    labels: Vec<(String, String)>,
    target: Option<String>,
    no_cache: bool,
    pull: bool,
    quiet: bool,
    squash: bool,
    network: Option<String>,
}

fn truthy(v: &str) -> bool {
    matches!(v, "1" | "true" | "True" | "TRUE")
}

/// A JSON object of strings (`buildargs`, `labels`); `null` values are left out, as Docker
/// does.
fn string_map(key: &str, v: &str) -> ApiResult<Vec<(String, String)>> {
    let map: HashMap<String, Option<String>> = serde_json::from_str(v)
        .map_err(|e| ApiError::bad_request(format!("{key}: not a JSON object of strings: {e}")))?;
    let mut out: Vec<(String, String)> = map
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect();
    out.sort();
    Ok(out)
}

/// Parse the raw query (`t` may repeat, so not a map).
fn parse_query(raw: &str) -> ApiResult<BuildQuery> {
    let mut q = BuildQuery::default();
    for (k, v) in url::form_urlencoded::parse(raw.as_bytes()) {
        match k.as_ref() {
            "t" if !v.is_empty() => q.tags.push(v.into_owned()),
            "dockerfile" if !v.is_empty() => {
                let p = PathBuf::from(v.as_ref());
                if p.is_absolute() {
                    return Err(ApiError::bad_request(format!(
                        "dockerfile {v:?}: must be a path inside the build context"
                    )));
                }
                q.dockerfile = Some(p);
            }
            "buildargs" if !v.is_empty() => q.build_args = string_map("buildargs", &v)?,
            "labels" if !v.is_empty() => q.labels = string_map("labels", &v)?,
            "target" if !v.is_empty() => q.target = Some(v.into_owned()),
            "nocache" => q.no_cache = truthy(&v),
            "pull" => q.pull = truthy(&v) || v == "always",
            "q" => q.quiet = truthy(&v),
            "squash" => q.squash = truthy(&v),
            "networkmode" if !v.is_empty() && v != "default" => q.network = Some(v.into_owned()),
            "platform" if !v.is_empty() => {
                berth_build::check_platform(&v).map_err(ApiError::bad_request)?
            }
            "remote" if !v.is_empty() => {
                return Err(ApiError::not_implemented(
                    "remote build contexts are not served: send the context as the body",
                ))
            }
            _ => {}
        }
    }
    Ok(q)
}

/// `POST /build`.
pub async fn build(
    State(st): State<AppState>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let q = parse_query(raw.as_deref().unwrap_or(""))?;
    // X-Registry-Config (credentials for FROM) is accepted; berth's auth files are used.
    let _ = headers.get("X-Registry-Config");
    let tar = blocking_reader(body);
    let (tx, stream) = channel_body();
    tokio::task::spawn_blocking(move || {
        let lines = LineSender(tx);
        if let Err(e) = run_build(&st, q, tar, &lines) {
            let message = with_causes(&e).replace('\n', " ");
            let mut detail = json!({ "message": message });
            if let Some(code) = e.run_exit_code() {
                detail["code"] = json!(code);
            }
            lines.json(&json!({ "errorDetail": detail, "error": message }));
        }
    });
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(stream),
    )
        .into_response())
}

/// An error and its causes, `: `-joined (where the error's own text leaves them out).
fn with_causes(e: &BuildError) -> String {
    let mut text = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        let more = c.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        cause = c.source();
    }
    text
}

fn stream_line(lines: &LineSender, text: &str) {
    lines.json(&json!({ "stream": format!("{text}\n") }));
}

/// Unpack, build, and report; the error is the build's own (with its RUN exit code).
fn run_build(
    st: &AppState,
    q: BuildQuery,
    tar: impl Read + Send,
    lines: &LineSender,
) -> Result<(), BuildError> {
    let network = berth_build::run_network::run_network(q.network.as_deref())?;
    let context = StreamedContext::unpack(tar, "the request body")?;
    let containerfile = context.containerfile(q.dockerfile.as_deref())?;
    let file = berth_build::parse(&containerfile.name, &containerfile.text)?;
    let store = berth_image_store::Store::open(&st.root).map_err(BuildError::from)?;
    // RUN's output comes back through a pipe (quiet: read and dropped, never written to
    // the service's own stdout).
    let (reader, writer) = rustix::pipe::pipe().map_err(|e| {
        BuildError::input("creating a pipe for RUN's output", std::io::Error::from(e))
    })?;
    let sender = (!q.quiet).then(|| LineSender(lines.0.clone()));
    let relay =
        std::thread::spawn(move || relay_output(std::fs::File::from(reader), sender.as_ref()));
    let run_output = Some(Arc::new(writer));
    let opts = BuildOptions {
        context: context.path().to_path_buf(),
        tags: q.tags.clone(),
        build_args: q.build_args,
        labels: q.labels,
        target: q.target,
        no_cache: q.no_cache,
        layers: true,
        pull: if q.pull {
            PullPolicy::Always
        } else {
            PullPolicy::Missing
        },
        // Docker's daemon writes Docker's image format, as Podman's compatible endpoint does.
        format: Format::Docker,
        runroot: st.runroot.clone(),
        network,
        run_output,
        squash: if q.squash { Squash::New } else { Squash::No },
        jobs: std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get),
        ..BuildOptions::default()
    };
    let quiet = q.quiet;
    let mut out = |line: &str| {
        if !quiet {
            stream_line(lines, line);
        }
    };
    let result = berth_build::build(&store, &file, &opts, &mut out);
    // The last write end goes with the options: the relay sees the end and stops.
    drop(opts);
    let _ = relay.join();
    let image = result?;
    let id = image.id.to_string();
    lines.json(&json!({ "aux": { "ID": id } }));
    if quiet {
        stream_line(lines, &id);
        return Ok(());
    }
    let digest = image.id.digest();
    // After the executor's COMMIT line, as `berth build` prints it; then Docker's lines.
    stream_line(lines, &berth_build::progress::short_id_line(digest));
    stream_line(
        lines,
        &format!("Successfully built {}", &digest[..digest.len().min(12)]),
    );
    if !q.tags.is_empty() {
        for name in &image.names {
            stream_line(lines, &format!("Successfully tagged {name}"));
        }
    }
    Ok(())
}

/// RUN's output, as `{"stream": …}` chunks as it comes (not cut into lines: a progress bar
/// without a newline shows as it goes); without `lines`, read and dropped.
fn relay_output(mut pipe: std::fs::File, lines: Option<&LineSender>) {
    let mut buf = vec![0u8; 16 << 10];
    loop {
        match pipe.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => {
                let Some(lines) = lines else { continue };
                lines.json(&Value::Object(
                    [(
                        "stream".to_string(),
                        Value::String(String::from_utf8_lossy(&buf[..n]).into_owned()),
                    )]
                    .into_iter()
                    .collect(),
                ))
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_as_the_docker_cli_sends_it() {
        let q = parse_query(
            "t=a%3A1&t=b&dockerfile=sub%2FDockerfile&buildargs=%7B%22A%22%3A%221%22%2C%22N%22%3Anull%7D\
             &labels=%7B%22l%22%3A%22v%22%7D&target=t1&nocache=1&pull=1&rm=1&forcerm=0&networkmode=default&q=0",
        )
        .unwrap();
        assert_eq!(q.tags, ["a:1", "b"]);
        assert_eq!(q.dockerfile, Some(PathBuf::from("sub/Dockerfile")));
        assert_eq!(q.build_args, [("A".to_string(), "1".to_string())]);
        assert_eq!(q.labels, [("l".to_string(), "v".to_string())]);
        assert_eq!(q.target.as_deref(), Some("t1"));
        assert!(q.no_cache && q.pull && !q.quiet);
        assert_eq!(parse_query("").unwrap(), BuildQuery::default());
        assert!(parse_query("dockerfile=%2Fetc%2Fpasswd").is_err());
        assert!(parse_query("buildargs=nope").is_err());
        assert!(parse_query("squash=1").unwrap().squash);
        assert!(parse_query("platform=windows%2Famd64").is_err());
    }
}
