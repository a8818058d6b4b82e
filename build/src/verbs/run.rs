//! `run`: one process in a working container, through the build's RUN path
//! (`executor::run_step::run_in_snapshot`: an ephemeral container over the
//! container's snapshot, the runtime's mount points kept out of it) with Buildah's `run`
//! options; `--mount` is RUN's (`type=bind|tmpfs|cache`, `executor::run_mounts`),
//! `-v` is Podman's.

use std::path::PathBuf;
use std::str::FromStr;

use berth_image_store::Store;
use berth_run::ephemeral::Ephemeral;
use berth_run::options::{Network, VolumeSpec};
use berth_run::runtime::ContainerStdio;
use berth_run::RunOptions;

use super::mount::for_runtime;
use super::record::Records;
use crate::error::{BuildError, Result};
use crate::executor::run_mounts::{self, BindRoots};
use crate::executor::run_step::run_in_snapshot;
use crate::metadata::{join_workdir, set_env};

/// `run`'s options.
#[derive(Debug, Clone, Default)]
pub struct RunVerbOptions {
    /// The command (its argv).
    pub command: Vec<String>,
    /// `--env K=V`, over the image's.
    pub env: Vec<String>,
    /// `--user`.
    pub user: Option<String>,
    /// `--workingdir`.
    pub workingdir: Option<String>,
    /// `--network`.
    pub network: Network,
    /// `--mount` values (RUN's syntax).
    pub mounts: Vec<String>,
    /// `-v` values (Podman's syntax).
    pub volumes: Vec<String>,
    /// Where relative bind `--mount` sources are (the current directory).
    pub cwd: PathBuf,
    /// `--runtime`.
    pub runtime: Option<String>,
    /// The run root for the process's bundle.
    pub runroot: PathBuf,
}

/// Run in working container `name`; returns the exit code (`None`: not observed).
pub fn run(
    store: &Store,
    name: &str,
    opts: &RunVerbOptions,
    stdio: ContainerStdio,
) -> Result<Option<i32>> {
    if opts.command.is_empty() {
        return Err(BuildError::Invalid("command must be specified".into()));
    }
    let records = Records::new(store);
    let c = records.find(name)?;
    let _lock = records.container_lock(&c)?;
    let state = c.state(store)?;
    let inner = state.inner();
    let workdir = opts
        .workingdir
        .as_deref()
        .map(|w| join_workdir(inner.working_dir().as_deref(), w))
        .or_else(|| inner.working_dir().clone());
    // Bind sources are host paths (relative ones from the current directory), looked up
    // in-root from `/`.
    let values: Vec<String> = opts
        .mounts
        .iter()
        .map(|m| absolute_sources(m, &opts.cwd))
        .collect();
    let values: Vec<&str> = values.iter().map(String::as_str).collect();
    let mounts = run_mounts::parse(
        &values,
        &store
            .root()
            .join(berth_image_store::layout::BUILD_MOUNT_CACHES),
        std::path::Path::new("/"),
        workdir.as_deref(),
        &[],
        &BindRoots::default(),
    )
    .map_err(BuildError::Invalid)?;
    let mut volumes = Vec::new();
    let mut targets = mounts.targets.clone();
    for v in mounts.volumes.iter().chain(&opts.volumes) {
        let spec = VolumeSpec::from_str(v)?;
        if let Some(rel) = crate::copy::clean_rel(&spec.destination) {
            targets.push(rel);
        }
        volumes.push(spec);
    }
    let mut env = inner.env().clone().unwrap_or_default();
    for e in &opts.env {
        match e.split_once('=') {
            Some((k, v)) if !k.is_empty() => set_env(&mut env, k, v),
            _ => return Err(BuildError::Invalid(format!("--env {e:?}: use KEY=VALUE"))),
        }
    }
    let options = RunOptions {
        entrypoint: Some(Vec::new()),
        command: opts.command.clone(),
        env,
        user: opts.user.clone(),
        workdir,
        network: opts.network.clone(),
        volumes,
        tmpfs: mounts.tmpfs.clone(),
        ..RunOptions::default()
    };
    let snap = for_runtime(store, &c)?;
    let eph = Ephemeral {
        image: &state.config,
        options: &options,
        runtime: opts.runtime.as_deref(),
        runroot: &opts.runroot,
        store_root: store.root(),
    };
    let result = run_in_snapshot(&snap, false, &targets, &eph, stdio)?;
    drop(mounts);
    Ok(result?)
}

/// A `--mount` value with a relative `source=`/`src=` made absolute from `cwd`.
fn absolute_sources(value: &str, cwd: &std::path::Path) -> String {
    value
        .split(',')
        .map(|part| match part.split_once('=') {
            Some((k @ ("source" | "src"), v)) if !v.starts_with('/') => {
                format!("{k}={}", cwd.join(v).display())
            }
            _ => part.to_string(),
        })
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::absolute_sources;
    use std::path::Path;

    #[test]
    fn relative_bind_sources_are_from_the_current_directory() {
        let cwd = Path::new("/work/dir");
        assert_eq!(
            absolute_sources("type=bind,source=a/b,target=/x", cwd),
            "type=bind,source=/work/dir/a/b,target=/x"
        );
        assert_eq!(
            absolute_sources("type=bind,src=/abs,target=/x,ro", cwd),
            "type=bind,src=/abs,target=/x,ro"
        );
        assert_eq!(
            absolute_sources("type=tmpfs,target=/t", cwd),
            "type=tmpfs,target=/t"
        );
    }
}
