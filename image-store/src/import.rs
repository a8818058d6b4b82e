//! `berth import`: a rootfs tarball (any codec) or a directory tree → a one-layer image.

use std::io::Read;
use std::path::Path;

use berth_layers::diff::dir_diff_to_layer;
use berth_layers::writer::tar_stream_to_layer;
use berth_layers::{LayerDescriptor, LayerOptions};
use chrono::{SecondsFormat, Utc};
use oci_spec::image::{
    Arch, Config, ConfigBuilder, Descriptor, HistoryBuilder, ImageConfigurationBuilder, Os,
    RootFsBuilder,
};

use crate::content::IngestWriter;
use crate::error::{Result, StoreError};
use crate::images::ImageRecord;
use crate::names;
use crate::store::Store;

/// The `PATH` an imported image gets.
pub const DEFAULT_PATH_ENV: &str =
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Options of an import.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// Name for the image (normalized as a local name).
    pub name: Option<String>,
    /// Dockerfile-style changes: `CMD …`, `ENTRYPOINT …`, `ENV k=v`, `EXPOSE …`, `LABEL k=v`,
    /// `USER …`, `VOLUME …`, `WORKDIR …`, `STOPSIGNAL …`.
    pub changes: Vec<String>,
    /// History comment (`--message`).
    pub message: Option<String>,
    /// How to write the layer.
    pub layer: LayerOptions,
}

/// The OCI architecture name of the host, in Go's names as Podman shows it (`amd64`, `arm64`,
/// `386`, `arm`, `ppc64le`, `s390x`, `riscv64`), not Rust's (`x86_64`, `aarch64`).
pub fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        other => other,
    }
}

fn invalid(change: &str, why: &str) -> StoreError {
    StoreError::Invalid(format!("--change {change:?}: {why}"))
}

/// `["a","b"]` (JSON form) or `a b` (shell form, run by `/bin/sh -c`).
fn command_form(change: &str, arg: &str) -> Result<Vec<String>> {
    let t = arg.trim();
    if t.starts_with('[') {
        serde_json::from_str::<Vec<String>>(t)
            .map_err(|e| invalid(change, &format!("bad JSON array: {e}")))
    } else {
        Ok(vec!["/bin/sh".into(), "-c".into(), t.to_string()])
    }
}

/// `k=v k2="v 2"` pairs, or one `k v` pair (legacy form).
fn key_values(change: &str, arg: &str) -> Result<Vec<(String, String)>> {
    let arg = arg.trim();
    let first = arg.split_whitespace().next().unwrap_or("");
    if !first.contains('=') {
        let (k, v) = arg
            .split_once(char::is_whitespace)
            .ok_or_else(|| invalid(change, "expected key=value or key value"))?;
        return Ok(vec![(k.to_string(), v.trim().to_string())]);
    }
    let mut out = Vec::new();
    for word in shell_words(arg) {
        let (k, v) = word
            .split_once('=')
            .ok_or_else(|| invalid(change, &format!("{word:?} is not key=value")))?;
        if k.is_empty() {
            return Err(invalid(change, "empty key"));
        }
        out.push((k.to_string(), v.to_string()));
    }
    Ok(out)
}

/// Split on whitespace, honouring double and single quotes (quotes removed); also
/// `berth buildah config --cmd`'s words.
pub fn shell_words(s: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut in_word = false;
    for c in s.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            (None, c) => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    words
}

/// Apply Dockerfile-style `changes` to a config.
pub fn apply_changes(config: &mut Config, changes: &[String]) -> Result<()> {
    for change in changes {
        let trimmed = change.trim();
        let (instr, arg) = trimmed
            .split_once(|c: char| c.is_whitespace() || c == '=')
            .map(|(i, a)| (i, a.trim()))
            .unwrap_or((trimmed, ""));
        if arg.is_empty() {
            return Err(invalid(change, "missing argument"));
        }
        match instr.to_ascii_uppercase().as_str() {
            "CMD" => {
                config.set_cmd(Some(command_form(change, arg)?));
            }
            "ENTRYPOINT" => {
                config.set_entrypoint(Some(command_form(change, arg)?));
            }
            "ENV" => {
                let mut env = config.env().clone().unwrap_or_default();
                for (k, v) in key_values(change, arg)? {
                    env.retain(|e| e.split('=').next() != Some(k.as_str()));
                    env.push(format!("{k}={v}"));
                }
                config.set_env(Some(env));
            }
            "LABEL" => {
                let mut labels = config.labels().clone().unwrap_or_default();
                for (k, v) in key_values(change, arg)? {
                    labels.insert(k, v);
                }
                config.set_labels(Some(labels));
            }
            "EXPOSE" => {
                let mut ports = config.exposed_ports().clone().unwrap_or_default();
                for p in arg.split_whitespace() {
                    let (num, proto) = p.split_once('/').unwrap_or((p, "tcp"));
                    if num.parse::<u16>().is_err() || !matches!(proto, "tcp" | "udp" | "sctp") {
                        return Err(invalid(change, &format!("bad port {p:?}")));
                    }
                    let port = format!("{num}/{proto}");
                    if !ports.contains(&port) {
                        ports.push(port);
                    }
                }
                config.set_exposed_ports(Some(ports));
            }
            "VOLUME" => {
                let list = if arg.starts_with('[') {
                    command_form(change, arg)?
                } else {
                    arg.split_whitespace().map(str::to_string).collect()
                };
                let mut vols = config.volumes().clone().unwrap_or_default();
                for v in list {
                    if !vols.contains(&v) {
                        vols.push(v);
                    }
                }
                config.set_volumes(Some(vols));
            }
            "USER" => {
                config.set_user(Some(arg.to_string()));
            }
            "WORKDIR" => {
                config.set_working_dir(Some(arg.to_string()));
            }
            "STOPSIGNAL" => {
                config.set_stop_signal(Some(arg.to_string()));
            }
            other => {
                return Err(invalid(
                    change,
                    &format!("unsupported instruction {other:?}"),
                ))
            }
        }
    }
    Ok(())
}

fn spec_err(what: &str) -> impl Fn(oci_spec::OciSpecError) -> StoreError + '_ {
    move |e| StoreError::Invalid(format!("import: building {what}: {e}"))
}

/// Import a rootfs tarball as a new image.
pub fn import_rootfs(
    store: &Store,
    input: impl Read + Send,
    options: &ImportOptions,
) -> Result<ImageRecord> {
    import_with(store, options, |sink, layer_options| {
        tar_stream_to_layer(input, sink, layer_options)
    })
}

/// Make a one-layer image of one static binary: the layer holds `binary` at `path_in_image`
/// (owned by root, mode 0755) and nothing else, as Podman builds its pause image from
/// catatonit (`FROM scratch`, `COPY`); `options.changes` set its `ENTRYPOINT`.
pub fn import_binary(
    store: &Store,
    binary: &Path,
    path_in_image: &str,
    options: &ImportOptions,
) -> Result<ImageRecord> {
    let data = std::fs::read(binary).map_err(|e| StoreError::io(binary, e))?;
    let mut tar = tar::Builder::new(Vec::with_capacity(data.len() + 2048));
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::Regular);
    header.set_size(data.len() as u64);
    header.set_mode(0o755);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(0);
    let name = path_in_image.trim_start_matches('/');
    tar.append_data(&mut header, name, data.as_slice())
        .and_then(|()| tar.finish())
        .map_err(|e| StoreError::io(binary, e))?;
    let bytes = tar.into_inner().map_err(|e| StoreError::io(binary, e))?;
    import_rootfs(store, bytes.as_slice(), options)
}

/// Import a directory tree as a new image: the whole tree becomes the one layer (sorted,
/// numeric owners, xattrs kept), written in a single pass without an intermediate tarball.
pub fn import_directory(store: &Store, dir: &Path, options: &ImportOptions) -> Result<ImageRecord> {
    if !dir.is_dir() {
        return Err(StoreError::Invalid(format!(
            "import: {} is not a directory",
            dir.display()
        )));
    }
    import_with(store, options, |sink, layer_options| {
        dir_diff_to_layer(None, dir, sink, layer_options)
    })
}

/// The steps every import shares: validate the name and changes, write the layer with
/// `write_layer` into the content store, then config, manifest and record.
fn import_with(
    store: &Store,
    options: &ImportOptions,
    write_layer: impl FnOnce(
        IngestWriter,
        LayerOptions,
    ) -> berth_layers::Result<(IngestWriter, LayerDescriptor)>,
) -> Result<ImageRecord> {
    let name = options
        .name
        .as_deref()
        .map(names::normalize_local)
        .transpose()?;
    let mut config: Config = ConfigBuilder::default()
        .env(vec![DEFAULT_PATH_ENV.to_string()])
        .build()
        .map_err(spec_err("config"))?;
    apply_changes(&mut config, &options.changes)?;

    // Blobs and the record go in under one shared lock, so gc cannot collect them in between.
    let _lock = store.lock_shared()?;

    let (writer, layer) = write_layer(store.content().writer()?, options.layer.clone())?;
    writer.commit(Some((&layer.digest, layer.size)))?;

    let now = Utc::now().to_rfc3339_opts(SecondsFormat::Nanos, true);
    let mut history = HistoryBuilder::default()
        .created(now.clone())
        .created_by("/bin/sh -c #(nop) ADD file:".to_string() + layer.diff_id.digest() + " in / ");
    if let Some(msg) = &options.message {
        history = history.comment(msg.clone());
    }
    let image_config = ImageConfigurationBuilder::default()
        .created(now)
        .architecture(Arch::from(host_arch()))
        .os(Os::Linux)
        .config(config)
        .rootfs(
            RootFsBuilder::default()
                .typ("layers")
                .diff_ids(vec![layer.diff_id.to_string()])
                .build()
                .map_err(spec_err("rootfs"))?,
        )
        .history(vec![history.build().map_err(spec_err("history"))?])
        .build()
        .map_err(spec_err("config"))?;
    let layer = Descriptor::new(layer.media_type.clone(), layer.size, layer.digest.clone());
    let names: Vec<String> = name.into_iter().collect();
    store.commit_image(&image_config, vec![layer], &names)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn applied(changes: &[&str]) -> Result<Config> {
        let mut c = Config::default();
        let changes: Vec<String> = changes.iter().map(|s| s.to_string()).collect();
        apply_changes(&mut c, &changes)?;
        Ok(c)
    }

    #[test]
    fn changes_parse() {
        let c = applied(&[
            r#"CMD ["a","b"]"#,
            "ENTRYPOINT run me",
            "ENV A=1 B=\"two words\"",
            "ENV C 3",
            "EXPOSE 80 53/udp",
            "LABEL k=v",
            "USER 1000",
            "WORKDIR /w",
            "VOLUME /data",
            "STOPSIGNAL SIGTERM",
        ])
        .unwrap();
        assert_eq!(c.cmd().clone().unwrap(), ["a", "b"]);
        assert_eq!(c.entrypoint().clone().unwrap(), ["/bin/sh", "-c", "run me"]);
        assert_eq!(c.env().clone().unwrap(), ["A=1", "B=two words", "C=3"]);
        assert_eq!(c.exposed_ports().clone().unwrap(), ["80/tcp", "53/udp"]);
        assert_eq!(
            c.labels().clone().unwrap(),
            HashMap::from([("k".to_string(), "v".to_string())])
        );
        assert_eq!(c.user().as_deref(), Some("1000"));
        assert_eq!(c.working_dir().as_deref(), Some("/w"));
        assert_eq!(c.volumes().clone().unwrap(), ["/data"]);
        assert_eq!(c.stop_signal().as_deref(), Some("SIGTERM"));
    }

    #[test]
    fn unknown_change_is_refused_by_name() {
        let err = applied(&["RUN rm -rf /"]).unwrap_err().to_string();
        assert!(err.contains("RUN rm -rf /"), "{err}");
        assert!(applied(&["EXPOSE http"]).is_err());
        assert!(applied(&["CMD"]).is_err());
    }
}
