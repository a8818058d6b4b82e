//! `RUN --mount=…`: `type=cache` (a directory kept in the store under `build-cache/`, its
//! `id` hex-encoded so it can never name a path outside), `type=tmpfs`, `type=bind` from
//! the context (resolved inside it, read-only), and `type=secret` (a `--secret` bound
//! read-only, by default at `/run/secrets/<id>`; bind mounts never reach the layer).
//! `type=ssh`, `from=` and read-write binds are refused as not built yet.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::copy::{clean_rel, in_root};

/// What a RUN's mounts become for the run engine.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct RunMounts {
    /// `HOST:CTR[:ro]` binds.
    pub volumes: Vec<String>,
    /// `CTR[:options]` tmpfs mounts.
    pub tmpfs: Vec<String>,
    /// Every mount target, relative to the rootfs (their mount points are pruned from the
    /// layer).
    pub targets: Vec<PathBuf>,
}

/// Parse the `--mount` values; `cache_root` is `<store>/build-cache`.
pub(super) fn parse(
    values: &[&str],
    cache_root: &Path,
    context: &Path,
    workdir: Option<&str>,
    secrets: &[(String, PathBuf)],
) -> Result<RunMounts, String> {
    let mut out = RunMounts::default();
    for value in values {
        let mut fields = std::collections::HashMap::new();
        for part in value.split(',').filter(|p| !p.is_empty()) {
            let (k, v) = part.split_once('=').unwrap_or((part, "true"));
            fields.insert(k.to_ascii_lowercase(), v.to_string());
        }
        let get = |k: &[&str]| k.iter().find_map(|k| fields.get(*k).cloned());
        let kind = get(&["type"]).unwrap_or_else(|| "bind".to_string());
        if kind == "ssh" {
            return Err(format!("--mount=type={kind} is not built yet"));
        }
        let target = match (get(&["target", "dst", "destination"]), get(&["id"])) {
            (Some(t), _) => t,
            (None, Some(id)) if kind == "secret" => format!("/run/secrets/{id}"),
            _ => return Err(format!("--mount={value}: a target is required")),
        };
        let target = crate::metadata::join_workdir(workdir, &target);
        if target.contains(':') {
            return Err(format!(
                "--mount={value}: ':' in the target is not supported"
            ));
        }
        let rel = clean_rel(&target).unwrap_or_default();
        if rel.as_os_str().is_empty() {
            return Err(format!("--mount={value}: cannot mount over /"));
        }
        match kind.as_str() {
            "cache" => {
                let id = get(&["id"]).unwrap_or_else(|| target.clone());
                if id.is_empty() || id.len() > 100 {
                    return Err(format!(
                        "--mount={value}: the cache id must be 1 to 100 bytes"
                    ));
                }
                let dir =
                    cache_root.join(id.bytes().map(|b| format!("{b:02x}")).collect::<String>());
                create_cache_dir(&dir, &get)
                    .map_err(|e| format!("--mount={value}: {}: {e}", dir.display()))?;
                out.volumes.push(format!("{}:{target}", dir.display()));
            }
            "tmpfs" => {
                let size = get(&["size", "tmpfs-size"]);
                out.tmpfs.push(match size {
                    Some(s) => format!("{target}:size={s}"),
                    None => target.clone(),
                });
            }
            "bind" => {
                if get(&["from"]).is_some() {
                    return Err(format!("--mount={value}: from= is not built yet"));
                }
                if matches!(get(&["rw", "readwrite"]).as_deref(), Some("true")) {
                    return Err(format!(
                        "--mount={value}: read-write binds are not built yet"
                    ));
                }
                let source = get(&["source", "src"]).unwrap_or_default();
                let src_rel = clean_rel(&source).ok_or_else(|| {
                    format!("--mount={value}: {source} is outside the build context")
                })?;
                let host = in_root(context, &src_rel, true)
                    .map_err(|e| format!("--mount={value}: {e}"))?;
                std::fs::metadata(&host).map_err(|e| format!("--mount={value}: {source}: {e}"))?;
                let host = std::path::absolute(&host)
                    .map_err(|e| format!("--mount={value}: {source}: {e}"))?;
                if host.to_string_lossy().contains(':') {
                    return Err(format!(
                        "--mount={value}: ':' in the context path is not supported"
                    ));
                }
                out.volumes.push(format!("{}:{target}:ro", host.display()));
            }
            "secret" => {
                let id = get(&["id"])
                    .or_else(|| rel.file_name().map(|n| n.to_string_lossy().to_string()))
                    .unwrap_or_default();
                match secrets.iter().find(|(i, _)| *i == id) {
                    Some((_, host)) => out.volumes.push(format!("{}:{target}:ro", host.display())),
                    None if get(&["required"]).as_deref() == Some("true") => {
                        return Err(format!(
                            "--mount={value}: secret {id:?} is required: give it with --secret id={id},src=FILE"
                        ))
                    }
                    // As Docker: a secret not given is not mounted.
                    None => continue,
                }
            }
            other => return Err(format!("--mount={value}: unknown type {other:?}")),
        }
        out.targets.push(rel);
    }
    Ok(out)
}

/// Create a cache dir on first use with `mode` (octal, default 0755), `uid` and `gid`.
fn create_cache_dir(dir: &Path, get: &dyn Fn(&[&str]) -> Option<String>) -> std::io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::create_dir_all(dir)?;
    let mode = get(&["mode"])
        .and_then(|m| u32::from_str_radix(&m, 8).ok())
        .unwrap_or(0o755);
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode & 0o7777))?;
    let uid = get(&["uid"]).and_then(|u| u.parse().ok()).unwrap_or(0);
    let gid = get(&["gid"]).and_then(|g| g.parse().ok()).unwrap_or(0);
    std::os::unix::fs::chown(dir, Some(uid), Some(gid))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_ids_never_name_a_path() {
        let d = tempfile::tempdir().unwrap();
        let cache = d.path().join("build-cache");
        let m = parse(
            &["type=cache,id=../../..,target=/c"],
            &cache,
            d.path(),
            None,
            &[],
        )
        .unwrap();
        assert_eq!(
            m.volumes,
            [format!("{}/2e2e2f2e2e2f2e2e:/c", cache.display())]
        );
        assert!(cache.join("2e2e2f2e2e2f2e2e").is_dir());
        assert_eq!(m.targets, [PathBuf::from("c")]);
    }

    #[test]
    fn secrets_bind_read_only_or_are_skipped() {
        let d = tempfile::tempdir().unwrap();
        let secrets = vec![("tok".to_string(), d.path().join("tok"))];
        let m = parse(
            &["type=secret,id=tok", "type=secret,id=absent"],
            d.path(),
            d.path(),
            None,
            &secrets,
        )
        .unwrap();
        assert_eq!(
            m.volumes,
            [format!("{}/tok:/run/secrets/tok:ro", d.path().display())]
        );
        assert_eq!(m.targets, [PathBuf::from("run/secrets/tok")]);
    }

    #[test]
    fn tmpfs_bind_and_refusals() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("f"), "x").unwrap();
        let cache = d.path().join("cache");
        let m = parse(
            &[
                "type=tmpfs,target=t,size=1m",
                "type=bind,source=f,target=/in",
            ],
            &cache,
            d.path(),
            Some("/w"),
            &[],
        )
        .unwrap();
        assert_eq!(m.tmpfs, ["/w/t:size=1m"]);
        assert_eq!(m.volumes, [format!("{}/f:/in:ro", d.path().display())]);
        for bad in [
            "type=bind,source=../x,target=/x",
            "type=bind,source=f,target=/x,rw",
            "type=secret,id=a,required=true",
            "type=cache",
            "type=nope,target=/x",
        ] {
            assert!(parse(&[bad], &cache, d.path(), None, &[]).is_err(), "{bad}");
        }
    }
}
