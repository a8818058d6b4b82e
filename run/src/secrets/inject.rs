//! A container's secrets, put into the spec of one start (the bundle's `config.json`, never the
//! record): mount secrets copied into `<bundle>/secrets/` (directory 0700; each file with the
//! uid, gid and mode asked for) and bind-mounted read-only at their targets; env secrets
//! added to the process's environment. [`clean`] removes the copies (and the bundle's
//! `config.json`) when the container stops.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{MountBuilder, Spec};

use super::store::SecretStore;
use super::usage::{SecretKind, SecretUse};
use crate::error::{Result, RunError};

/// The directory of a bundle that holds its mount secrets' copies.
fn secrets_dir(bundle: &Path) -> PathBuf {
    bundle.join("secrets")
}

/// The data of secret use `u`, read from `store` (a gone secret named by its name).
fn read(store: &SecretStore, u: &SecretUse) -> Result<Vec<u8>> {
    store.data(&u.id).map_err(|e| match e {
        RunError::NoSuchSecret(_) => RunError::NoSuchSecret(u.name.clone()),
        e => e,
    })
}

/// An env secret's `KEY=VALUE`.
fn env_entry(u: &SecretUse, data: Vec<u8>) -> Result<String> {
    let value = String::from_utf8(data).map_err(|_| {
        RunError::Invalid(format!(
            "secret {}: its data is not UTF-8 text, so it cannot be an environment variable",
            u.name
        ))
    })?;
    Ok(format!("{}={value}", u.target))
}

/// The env secrets of `uses` as `KEY=VALUE` (an `exec` gets them too, as Podman's).
pub fn env_entries(store: &SecretStore, uses: &[SecretUse]) -> Result<Vec<String>> {
    uses.iter()
        .filter(|u| u.kind == SecretKind::Env)
        .map(|u| env_entry(u, read(store, u)?))
        .collect()
}

/// Add `uses` to `spec`, their data read from `store` now.
pub fn apply(
    store: &SecretStore,
    uses: &[SecretUse],
    bundle: &Path,
    spec: &mut Spec,
) -> Result<()> {
    if uses.is_empty() {
        return Ok(());
    }
    let mut mounts = spec.mounts().clone().unwrap_or_default();
    let mut env_add = Vec::new();
    for (i, u) in uses.iter().enumerate() {
        let data = read(store, u)?;
        match u.kind {
            SecretKind::Env => env_add.push(env_entry(u, data)?),
            SecretKind::Mount => {
                let dir = secrets_dir(bundle);
                crate::bundle::create_dir(&dir)?;
                // One file per use (the same secret may be mounted twice with other owners).
                let path = dir.join(format!("{i}-{}", u.id));
                write_copy(&path, &data, u)?;
                mounts.push(
                    MountBuilder::default()
                        .destination(&u.target)
                        .typ("bind")
                        .source(&path)
                        .options(
                            ["rbind", "rprivate", "ro", "nosuid", "nodev", "noexec"]
                                .map(String::from)
                                .to_vec(),
                        )
                        .build()?,
                );
            }
        }
    }
    spec.set_mounts(Some(mounts));
    if !env_add.is_empty() {
        if let Some(process) = spec.process_mut() {
            let mut env = process.env().clone().unwrap_or_default();
            for add in env_add {
                let key = add.split_once('=').map_or(add.as_str(), |(k, _)| k);
                env.retain(|e| e.split_once('=').map_or(e.as_str(), |(k, _)| k) != key);
                env.push(add);
            }
            process.set_env(Some(env));
        }
    }
    Ok(())
}

/// Write one copy: created fresh, owned and moded as asked (whatever the umask).
fn write_copy(path: &Path, data: &[u8], u: &SecretUse) -> Result<()> {
    let io = |e| RunError::io(path, e);
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(e)),
    }
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
        .map_err(io)?;
    f.write_all(data).map_err(io)?;
    rustix::fs::fchown(
        &f,
        Some(rustix::fs::Uid::from_raw(u.uid)),
        Some(rustix::fs::Gid::from_raw(u.gid)),
    )
    .map_err(|e| io(e.into()))?;
    rustix::fs::fchmod(&f, rustix::fs::Mode::from_raw_mode(u.mode & 0o7777))
        .map_err(|e| io(e.into()))
}

/// Remove a stopped container's copies, and its bundle's `config.json` (an env secret's
/// value is in it; the next start writes it again), so the data stays in the store alone.
pub fn clean(bundle: &Path) {
    let config = bundle.join("config.json");
    if let Err(e) = std::fs::remove_file(&config) {
        if e.kind() != std::io::ErrorKind::NotFound {
            tracing::warn!(
                target: "berth_run::secrets",
                path = %config.display(),
                error = %e,
                "could not remove a stopped container's config.json",
            );
        }
    }
    let dir = secrets_dir(bundle);
    if let Err(e) = std::fs::remove_dir_all(&dir) {
        if e.kind() != std::io::ErrorKind::NotFound {
            tracing::warn!(
                target: "berth_run::secrets",
                path = %dir.display(),
                error = %e,
                "could not remove a container's secret copies",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::{ProcessBuilder, SpecBuilder};
    use std::collections::BTreeMap;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    #[test]
    fn mount_and_env_go_to_the_bundle_spec_only() {
        let root = tempfile::tempdir().unwrap();
        let bundle = tempfile::tempdir().unwrap();
        let store = SecretStore::new(root.path());
        let id = store
            .create(
                "tok",
                b"s3cr3t",
                super::super::store::FILE_DRIVER,
                BTreeMap::new(),
            )
            .unwrap();
        let uid = rustix::process::geteuid().as_raw();
        let mut m = SecretUse::parse(&format!("tok,mode=0440,uid={uid}")).unwrap();
        m.id = id.clone();
        let mut e = SecretUse::parse("tok,type=env,target=TOKEN").unwrap();
        e.id = id;
        let mut spec = SpecBuilder::default()
            .process(
                ProcessBuilder::default()
                    .env(vec!["A=1".to_string()])
                    .build()
                    .unwrap(),
            )
            .mounts(vec![])
            .build()
            .unwrap();
        apply(&store, &[m, e], bundle.path(), &mut spec).unwrap();
        let env = spec.process().as_ref().unwrap().env().clone().unwrap();
        assert_eq!(env, ["A=1", "TOKEN=s3cr3t"]);
        let mount = &spec.mounts().as_ref().unwrap()[0];
        assert_eq!(mount.destination(), Path::new("/run/secrets/tok"));
        let copy = mount.source().clone().unwrap();
        assert_eq!(std::fs::read(&copy).unwrap(), b"s3cr3t");
        let meta = std::fs::metadata(&copy).unwrap();
        assert_eq!(
            (meta.permissions().mode() & 0o777, meta.uid()),
            (0o440, uid)
        );
        clean(bundle.path());
        assert!(!copy.exists());
        let mut gone = SecretUse::parse("gone").unwrap();
        gone.id = "abc".into();
        let err = apply(&store, &[gone], bundle.path(), &mut spec)
            .unwrap_err()
            .to_string();
        assert_eq!(err, "no secret with name or id \"gone\": no such secret");
    }
}
