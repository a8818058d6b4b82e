//! RUN: the command in an ephemeral container over the step's snapshot, with the stage's
//! SHELL, USER, WORKDIR, ENV and ARGs; `--network`; heredocs; the runtime's mount points kept
//! out of the layer.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use berth_image_store::snapshot::Snapshot;
use berth_layers::inroot::InRoot;
use berth_run::ephemeral::{run_ephemeral, Ephemeral};
use berth_run::options::Network;
use berth_run::runtime::{ContainerStdio, TtySink};
use berth_run::RunOptions;
use rustix::fs::FileType;

use super::mount_spec::{Kind, MountSpec};
use super::{mount_all, run_mounts, step_err, Builder, SnapGuard, StageCtx};
use crate::ast::{CommandForm, Instruction};
use crate::cache::KeyBuilder;
use crate::error::{BuildError, Result};
use crate::metadata::argv;

impl Builder<'_> {
    pub(super) fn run_step(
        &mut self,
        st: &mut StageCtx,
        ins: &Instruction,
        form: &CommandForm,
    ) -> Result<()> {
        // BuildKit's `RUN --network=default|none|host`; default: the build's `--network`.
        let mut network = self.opts.network.clone();
        let mut mount_values = Vec::new();
        for f in &ins.flags {
            match (f.name.as_str(), f.value.as_deref()) {
                ("network", Some("none")) => network = Network::None,
                ("network", Some("host")) => network = Network::Host,
                ("network", Some("default")) => network = self.opts.network.clone(),
                ("network", Some(other)) => {
                    return Err(
                        self.fail(ins, format!("--network={other}: use default, none or host"))
                    )
                }
                ("mount", Some(v)) => mount_values.push(v),
                (name, _) => return Err(self.fail(ins, format!("unsupported flag --{name}"))),
            }
        }
        let workdir = st.image.inner().working_dir().clone();
        // Bind mounts from= a stage or image see its rootfs (a throwaway snapshot, mounted
        // for the step); rw binds of context sources get a private copy.
        let mut roots = run_mounts::BindRoots::default();
        let mut from_views = Vec::new();
        let mut rw_copies = None;
        for value in &mount_values {
            let spec = MountSpec::parse(value).map_err(|m| self.fail(ins, m))?;
            if spec.kind != Kind::Bind {
                continue;
            }
            let rw = spec.rw;
            match &spec.from {
                Some(from) if !roots.from.contains_key(from) => {
                    let base = self.stage_or_image(st, ins, from)?;
                    let key = super::snapshot_key()?;
                    let snap = self.store.prepare_snapshot(&key, base.as_ref())?;
                    let guard = SnapGuard {
                        store: self.store,
                        snap,
                    };
                    let mounted = mount_all(&guard.snap)?;
                    roots
                        .from
                        .insert(from.clone(), guard.snap.mountpoint.clone());
                    from_views.push((mounted, guard));
                }
                None if rw && rw_copies.is_none() => {
                    let runroot = &self.opts.runroot;
                    std::fs::create_dir_all(runroot).map_err(|e| BuildError::io(runroot, e))?;
                    let dir = tempfile::Builder::new()
                        .prefix("build-bind-")
                        .tempdir_in(runroot)
                        .map_err(|e| BuildError::io(runroot, e))?;
                    roots.rw_dir = Some(dir.path().to_path_buf());
                    rw_copies = Some(dir);
                }
                _ => {}
            }
        }
        let mounts = run_mounts::parse(
            &mount_values,
            &self
                .store
                .root()
                .join(berth_image_store::layout::BUILD_MOUNT_CACHES),
            &self.opts.context,
            workdir.as_deref(),
            &self.secret_files,
            &roots,
        )
        .map_err(|m| self.fail(ins, m))?;
        let command = match form {
            CommandForm::Shell(s) => {
                let script = heredoc_script(s, ins);
                argv(&CommandForm::Shell(script), &st.shell)
            }
            exec => argv(exec, &st.shell),
        };
        let env_now = st.image.inner().env().clone().unwrap_or_default();
        let env = self.scope.run_env(&env_now, &st.args);
        // RUN with mounts reads things outside the image: never cached.
        let cache_key = mount_values.is_empty().then(|| {
            let mut k = KeyBuilder::new(&st.image, self.opts.timestamp);
            k.part(b"RUN").part(format!("{network:?}").as_bytes());
            for a in command.iter().chain(&env) {
                k.part(a.as_bytes());
            }
            k.finish()
        });
        let options = RunOptions {
            entrypoint: Some(Vec::new()),
            command: command.clone(),
            env,
            network,
            // The mounts above, in `-v` syntax, parsed once here.
            volumes: mounts
                .volumes
                .iter()
                .map(|v| v.parse())
                .collect::<std::result::Result<_, berth_run::RunError>>()
                .map_err(|e| self.fail(ins, e.to_string()))?,
            tmpfs: mounts.tmpfs,
            ..RunOptions::default()
        };
        let config = st.image.config.clone();
        let opts = self.opts;
        let created_by = command.join(" ");
        let file = self.file.file.clone();
        let fail = |m: String| step_err(&file, ins, m);
        let fail_ref = &fail;
        self.fs_step(st, &created_by, true, cache_key, |snap| {
            let (stdout, stderr) = match &opts.run_output {
                Some(fd) => {
                    let dup = |what: &str| {
                        fd.try_clone()
                            .map(Stdio::from)
                            .map_err(|e| fail_ref(format!("duplicating RUN's {what}: {e}")))
                    };
                    (dup("stdout")?, dup("stderr")?)
                }
                None if opts.run_output_to_stderr => {
                    (Stdio::from(std::io::stderr()), Stdio::inherit())
                }
                None => (Stdio::inherit(), Stdio::inherit()),
            };
            let stdio = ContainerStdio {
                stdin: Stdio::null(),
                stdout,
                stderr,
                tty: TtySink::User { interactive: false },
            };
            let eph = Ephemeral {
                image: &config,
                options: &options,
                runtime: opts.runtime.as_deref(),
                runroot: &opts.runroot,
                store_root: self.store.root(),
            };
            // With --jobs, RUN containers of parallel stages run at once: each thread waits
            // for its own container (berth_run::reap).
            let result = run_in_snapshot(snap, true, &mounts.targets, &eph, stdio)?;
            match result {
                Ok(Some(0)) => Ok(()),
                Ok(Some(code)) => Err(BuildError::RunFailed {
                    file: file.clone(),
                    line: ins.span.line,
                    instruction: ins.text.clone(),
                    code,
                }),
                Ok(None) => Err(fail_ref("the command's exit status is unknown".into())),
                Err(e) => Err(fail_ref(e.to_string())),
            }
        })
        .map(|_| ())?;
        drop(from_views);
        drop(rw_copies);
        Ok(())
    }
}

/// Run `eph` in `snap` (mounted by the runtime, `volatile` as [`super::volatile`] says, or used as
/// it is when it has no mounts: a working container mounted by `berth buildah mount`), and
/// keep the runtime's mount points and the empty mount points of `targets` (the `--mount`
/// and `-v` targets) out of its upper dir: a build's RUN and `berth buildah run` alike.
pub(crate) fn run_in_snapshot(
    snap: &Snapshot,
    volatile: bool,
    targets: &[PathBuf],
    eph: &Ephemeral<'_>,
    stdio: ContainerStdio,
) -> Result<berth_run::Result<Option<i32>>> {
    let points = mountpoints(snap, volatile, targets)?;
    let snap = berth_image_store::volatile::for_mounting(snap, volatile);
    let result = run_ephemeral(&snap, eph, stdio);
    prune_mountpoints(&snap.upper, &points);
    Ok(result)
}

/// Where the runtime mounts things for RUN; creating them must not end up in the layer.
/// Files first, then directories, so that an emptied `etc` can go too.
const RUNTIME_MOUNTPOINTS: [&str; 7] = [
    "etc/hosts",
    "etc/resolv.conf",
    "etc/hostname",
    "proc",
    "dev",
    "sys",
    "etc",
];

/// Where the runtime puts the RUN's mounts, resolved in the snapshot before it runs.
struct MountPoints {
    /// Each `--mount` target, resolved in-root as the runtime resolves it.
    targets: Vec<PathBuf>,
    /// What the runtime creates: for each `--mount` target its shallowest missing
    /// component; the runtime's own mount points that are missing, then their shallowest
    /// missing parents.
    missing: Vec<PathBuf>,
}

/// The mount points of the RUN in `snap` (mounted for the look): resolved in-root, as the
/// runtime resolves mount destinations ([`berth_run::rootfs::prepare_mounts`]), so that a
/// symlink in the image leads to where the runtime will create them inside the rootfs, never
/// to the host.
fn mountpoints(snap: &Snapshot, volatile: bool, targets: &[PathBuf]) -> Result<MountPoints> {
    let _mounts = berth_image_store::volatile::mount_all(snap, volatile)?;
    let root = InRoot::open(&snap.mountpoint).map_err(|e| BuildError::io(&snap.mountpoint, e))?;
    // A path that does not resolve (a link loop) makes the runtime fail the RUN, with its
    // own message: nothing to prune then.
    let resolve = |p: &Path| {
        root.resolve(p, true)
            .inspect_err(|e| tracing::debug!(path = %p.display(), error = %e, "mount point"))
            .ok()
    };
    let mut out = MountPoints {
        targets: Vec::new(),
        missing: Vec::new(),
    };
    for r in targets.iter().filter_map(|t| resolve(t)) {
        out.missing.extend(r.first_missing());
        out.targets.push(r.path);
    }
    // A link in the image can lead a runtime mount point to where its parents are missing
    // too: they go after the mount points themselves, once those are gone.
    let mut parents = Vec::new();
    for r in RUNTIME_MOUNTPOINTS
        .iter()
        .filter_map(|p| resolve(Path::new(p)))
    {
        if let Some(first) = r.first_missing() {
            if first != r.path {
                parents.push(first);
            }
            out.missing.push(r.path);
        }
    }
    out.missing.extend(parents);
    Ok(out)
}

/// Remove from `upper` the mount points the runtime created (those in `points.missing`)
/// while they are still empty files or trees of empty directories (after the empty files
/// made for `--mount` targets are gone): the RUN's own changes stay.
///
/// The RUN may have moved them and put symlinks in their place: every path is looked up
/// from the upper dir's descriptor through real directories only ([`InRoot`]); one that
/// meets a symlink is not the runtime's mount point any more and is left alone.
fn prune_mountpoints(upper: &Path, points: &MountPoints) {
    let root = match InRoot::open(upper) {
        Ok(r) => r,
        Err(e) => {
            tracing::debug!(path = %upper.display(), error = %e, "mount points kept");
            return;
        }
    };
    let empty_file = |p: &Path| {
        root.lstat(p)
            .ok()
            .flatten()
            .is_some_and(|m| m.kind == FileType::RegularFile && m.size == 0)
    };
    let kept = |p: &Path, e: std::io::Error| {
        tracing::debug!(path = %upper.join(p).display(), error = %e, "mount point kept");
    };
    for t in &points.targets {
        if empty_file(t) {
            if let Err(e) = root.remove_file(t) {
                kept(t, e);
            }
        }
    }
    for p in &points.missing {
        let Ok(Some(m)) = root.lstat(p) else {
            continue;
        };
        let result = match m.kind {
            FileType::Directory => root.remove_empty_dirs(p).map(|_| ()),
            FileType::RegularFile if m.size == 0 => root.remove_file(p),
            _ => Ok(()),
        };
        if let Err(e) = result {
            kept(p, e);
        }
    }
}

/// A RUN's shell script with its heredocs: a lone `<<EOF` runs the body as the script;
/// otherwise the bodies follow the command line, as a shell reads them.
fn heredoc_script(cmd: &str, ins: &Instruction) -> String {
    if ins.heredocs.is_empty() {
        return cmd.to_string();
    }
    if ins.heredocs.len() == 1 && crate::parser::heredoc_markers(cmd).len() == 1 {
        let t = cmd.trim().trim_start_matches("<<").trim_start_matches('-');
        let t = t.trim_matches(|c| c == '"' || c == '\'');
        if t == ins.heredocs[0].name {
            return ins.heredocs[0].content.clone();
        }
    }
    let mut s = cmd.to_string();
    s.push('\n');
    for h in &ins.heredocs {
        s.push_str(&h.content);
        s.push_str(&h.name);
        s.push('\n');
    }
    s
}
