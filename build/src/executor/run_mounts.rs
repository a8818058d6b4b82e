//! `RUN --mount=…`: `type=cache` (a directory kept in the store under `build-cache/`, its
//! `id` hex-encoded so it can never name a path outside; `sharing=locked` waits for a flock
//! on it, `private` takes the next free instance), `type=tmpfs`, `type=bind` from
//! the context or, with `from=`, a stage's or image's rootfs (resolved inside it;
//! read-only, or with `rw` writable and the writes discarded: a copy of a context source,
//! the stage's own throwaway snapshot), and `type=secret` (a `--secret` bound read-only,
//! by default at `/run/secrets/<id>`, a copy with `mode`/`uid`/`gid` when asked; bind
//! mounts never reach the layer). The values are read and checked by [`super::mount_spec`];
//! `type=ssh` is refused as not built yet.

use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use berth_image_store::lock::{FileLock, LockMode};

use super::mount_spec::{Kind, MountSpec, Sharing};
use crate::copy::{clean_rel, in_root};

/// What a RUN's mounts become for the run engine.
#[derive(Debug, Default)]
pub(crate) struct RunMounts {
    /// `HOST:CTR[:ro]` binds.
    pub volumes: Vec<String>,
    /// `CTR[:options]` tmpfs mounts.
    pub tmpfs: Vec<String>,
    /// Every mount target, relative to the rootfs (their mount points are pruned from the
    /// layer).
    pub targets: Vec<PathBuf>,
    /// Locks held for the RUN: cache dirs with `sharing=locked` or `private` (a flock on
    /// `<dir>.lock`, released when dropped).
    pub locks: Vec<FileLock>,
}

/// Where bind mounts read from besides the context.
#[derive(Debug, Default)]
pub(crate) struct BindRoots {
    /// `from=` value → the mounted rootfs of that stage or image (a throwaway snapshot).
    pub from: HashMap<String, PathBuf>,
    /// A private directory for the copies `rw` binds of context sources get.
    pub rw_dir: Option<PathBuf>,
}

/// Parse the `--mount` values; `cache_root` is `<store>/build-cache`.
pub(crate) fn parse(
    values: &[&str],
    cache_root: &Path,
    context: &Path,
    workdir: Option<&str>,
    secrets: &[(String, PathBuf)],
    roots: &BindRoots,
) -> Result<RunMounts, String> {
    let mut out = RunMounts::default();
    for value in values {
        let spec = MountSpec::parse(value)?;
        let target = match (&spec.target, &spec.id) {
            (Some(t), _) => t.clone(),
            (None, Some(id)) if spec.kind == Kind::Secret => format!("/run/secrets/{id}"),
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
        // Options after the mode: `HOST:CTR:ro,rshared,nosuid…`.
        let options = |ro: bool| {
            let mut o: Vec<&str> = ro.then_some("ro").into_iter().collect();
            o.extend(spec.options.iter().map(String::as_str));
            if o.is_empty() {
                String::new()
            } else {
                format!(":{}", o.join(","))
            }
        };
        match spec.kind {
            Kind::Cache => {
                let id = spec.id.clone().unwrap_or_else(|| target.clone());
                if id.is_empty() || id.len() > 100 {
                    return Err(format!(
                        "--mount={value}: the cache id must be 1 to 100 bytes"
                    ));
                }
                let mut dir =
                    cache_root.join(id.bytes().map(|b| format!("{b:02x}")).collect::<String>());
                match spec.sharing {
                    Sharing::Shared => {}
                    // One RUN at a time uses the directory (across builds too).
                    Sharing::Locked => out.locks.push(
                        lock(&dir, true)
                            .map_err(|e| format!("--mount={value}: locking the cache: {e}"))?
                            .ok_or_else(|| format!("--mount={value}: cache lock busy"))?,
                    ),
                    // A busy directory is not waited for: the next free instance is used
                    // (`<dir>-1`, `<dir>-2`…, each kept as the first one is).
                    Sharing::Private => {
                        let base = dir.clone();
                        for n in 0.. {
                            let candidate = match n {
                                0 => base.clone(),
                                n => PathBuf::from(format!("{}-{n}", base.display())),
                            };
                            let held = lock(&candidate, false)
                                .map_err(|e| format!("--mount={value}: locking the cache: {e}"))?;
                            if let Some(held) = held {
                                out.locks.push(held);
                                dir = candidate;
                                break;
                            }
                        }
                    }
                }
                create_cache_dir(&dir, &spec)
                    .map_err(|e| format!("--mount={value}: {}: {e}", dir.display()))?;
                out.volumes
                    .push(format!("{}:{target}{}", dir.display(), options(!spec.rw)));
            }
            Kind::Tmpfs => {
                out.tmpfs.push(match options(false).as_str() {
                    "" => target.clone(),
                    o => format!("{target}{o}"),
                });
            }
            Kind::Bind => {
                let rw = spec.rw;
                let from = &spec.from;
                let root = match from {
                    None => context,
                    Some(f) => roots
                        .from
                        .get(f)
                        .ok_or_else(|| format!("--mount={value}: no stage or image {f:?}"))?,
                };
                let source = spec.source.clone().unwrap_or_default();
                let src_rel = clean_rel(&source).ok_or_else(|| {
                    format!("--mount={value}: {source} is outside the build context")
                })?;
                // In-root: a symlink (even one to `/`) never leads out of the root.
                let host =
                    in_root(root, &src_rel, true).map_err(|e| format!("--mount={value}: {e}"))?;
                std::fs::metadata(&host).map_err(|e| format!("--mount={value}: {source}: {e}"))?;
                let mut host = std::path::absolute(&host)
                    .map_err(|e| format!("--mount={value}: {source}: {e}"))?;
                if rw && from.is_none() {
                    // Writes go to a copy, never to the context.
                    let dir = roots
                        .rw_dir
                        .as_ref()
                        .ok_or_else(|| format!("--mount={value}: no place for a rw copy"))?;
                    let copy = dir.join(out.volumes.len().to_string());
                    copy_plain(&host, &copy)
                        .map_err(|e| format!("--mount={value}: copying {source}: {e}"))?;
                    host = copy;
                }
                if host.to_string_lossy().contains(':') {
                    return Err(format!(
                        "--mount={value}: ':' in the source path is not supported"
                    ));
                }
                out.volumes
                    .push(format!("{}:{target}{}", host.display(), options(!rw)));
            }
            Kind::Secret => {
                let id = spec
                    .id
                    .clone()
                    .or_else(|| rel.file_name().map(|n| n.to_string_lossy().to_string()))
                    .unwrap_or_default();
                match secrets.iter().find(|(i, _)| *i == id) {
                    Some((_, host)) => {
                        let file = secret_file(host, &spec)
                            .map_err(|e| format!("--mount={value}: secret {id:?}: {e}"))?;
                        out.volumes.push(format!("{}:{target}:ro", file.display()));
                    }
                    None if spec.required => {
                        return Err(format!(
                            "--mount={value}: secret {id:?} is required: give it with --secret id={id},src=FILE"
                        ))
                    }
                    // As Docker: a secret not given is not mounted.
                    None => continue,
                }
            }
        }
        out.targets.push(rel);
    }
    Ok(out)
}

/// The file a secret mount binds: the secret's own file (0400, owned by the builder), or,
/// when `mode`, `uid` or `gid` ask for others, a copy beside it (in the same private
/// directory) made with them.
fn secret_file(host: &Path, spec: &MountSpec) -> std::io::Result<PathBuf> {
    use std::os::unix::fs::OpenOptionsExt;
    if spec.mode.is_none() && spec.uid.is_none() && spec.gid.is_none() {
        return Ok(host.to_path_buf());
    }
    let (mode, uid, gid) = (
        spec.mode.unwrap_or(0o400),
        spec.uid.unwrap_or(0),
        spec.gid.unwrap_or(0),
    );
    let copy = PathBuf::from(format!("{}-{mode:o}-{uid}-{gid}", host.display()));
    if copy.exists() {
        return Ok(copy);
    }
    let mut to = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&copy)?;
    std::io::copy(&mut std::fs::File::open(host)?, &mut to)?;
    std::os::unix::fs::fchown(&to, Some(uid), Some(gid))?;
    to.set_permissions(std::fs::Permissions::from_mode(mode))?;
    Ok(copy)
}

/// Take the flock of cache dir `dir` (`<dir>.lock`): waiting for it (`wait`), or `None`
/// when it is busy.
fn lock(dir: &Path, wait: bool) -> std::io::Result<Option<FileLock>> {
    if let Some(parent) = dir.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let path = PathBuf::from(format!("{}.lock", dir.display()));
    if wait {
        FileLock::acquire(&path, LockMode::Exclusive).map(Some)
    } else {
        FileLock::try_acquire(&path, LockMode::Exclusive)
    }
}

/// Copy a file or tree (symlinks as symlinks, modes kept) to `to`.
fn copy_plain(from: &Path, to: &Path) -> std::io::Result<()> {
    let md = std::fs::symlink_metadata(from)?;
    if md.is_dir() {
        std::fs::create_dir(to)?;
        for e in std::fs::read_dir(from)? {
            let e = e?;
            copy_plain(&e.path(), &to.join(e.file_name()))?;
        }
        std::fs::set_permissions(to, md.permissions())
    } else if md.file_type().is_symlink() {
        std::os::unix::fs::symlink(std::fs::read_link(from)?, to)
    } else {
        std::fs::copy(from, to).map(|_| ())
    }
}

/// Create a cache dir on first use with `mode` (default 0755), `uid` and `gid` (default 0).
fn create_cache_dir(dir: &Path, spec: &MountSpec) -> std::io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::create_dir_all(dir)?;
    let mode = spec.mode.unwrap_or(0o755);
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode))?;
    std::os::unix::fs::chown(
        dir,
        Some(spec.uid.unwrap_or(0)),
        Some(spec.gid.unwrap_or(0)),
    )
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
            &BindRoots::default(),
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
    fn cache_sharing_locked_and_private() {
        let d = tempfile::tempdir().unwrap();
        let cache = d.path().join("build-cache");
        let parse1 = |v: &str| parse(&[v], &cache, d.path(), None, &[], &BindRoots::default());
        let first = parse1("type=cache,id=c,target=/c,sharing=private").unwrap();
        assert_eq!(first.volumes, [format!("{}/63:/c", cache.display())]);
        // While the first holds it, a private use gets the next instance.
        let second = parse1("type=cache,id=c,target=/c,sharing=private").unwrap();
        assert_eq!(second.volumes, [format!("{}/63-1:/c", cache.display())]);
        drop(first);
        let again = parse1("type=cache,id=c,target=/c,sharing=locked").unwrap();
        assert_eq!(again.volumes, [format!("{}/63:/c", cache.display())]);
        assert_eq!(again.locks.len(), 1);
        assert!(parse1("type=cache,id=c,target=/c,sharing=nope").is_err());
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
            &BindRoots::default(),
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
            &BindRoots::default(),
        )
        .unwrap();
        assert_eq!(m.tmpfs, ["/w/t:size=1m"]);
        assert_eq!(m.volumes, [format!("{}/f:/in:ro", d.path().display())]);
        for bad in [
            "type=bind,source=../x,target=/x",
            "type=bind,source=f,target=/x,rw",
            "type=bind,from=nostage,target=/x",
            "type=secret,id=a,required=true",
            "type=cache",
            "type=nope,target=/x",
        ] {
            let roots = BindRoots::default();
            assert!(
                parse(&[bad], &cache, d.path(), None, &[], &roots).is_err(),
                "{bad}"
            );
        }
        // From a stage's rootfs: in-root (a symlink to / stays inside); rw gets a copy.
        let stage = d.path().join("stage");
        std::fs::create_dir_all(stage.join("out")).unwrap();
        std::os::unix::fs::symlink("/", stage.join("root-link")).unwrap();
        let rw = d.path().join("rw");
        std::fs::create_dir(&rw).unwrap();
        let roots = BindRoots {
            from: HashMap::from([("b".to_string(), stage.clone())]),
            rw_dir: Some(rw.clone()),
        };
        let m = parse(
            &[
                "type=bind,from=b,source=root-link,target=/r",
                "type=bind,from=b,source=out,target=/o,rw",
                "type=bind,source=f,target=/f,rw",
            ],
            &cache,
            d.path(),
            None,
            &[],
            &roots,
        )
        .unwrap();
        assert_eq!(
            m.volumes,
            [
                format!("{}/:/r:ro", stage.display()),
                format!("{}/out:/o", stage.display()),
                format!("{}/2:/f", rw.display()),
            ]
        );
        assert_eq!(std::fs::read_to_string(rw.join("2")).unwrap(), "x");
    }
}
