//! RUN: the command in an ephemeral container over the step's snapshot, with the stage's
//! SHELL, USER, WORKDIR, ENV and ARGs; `--network`; heredocs; the runtime's mount points kept
//! out of the layer.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use berth_image_store::snapshot::Snapshot;
use berth_run::ephemeral::{run_ephemeral, Ephemeral};
use berth_run::runtime::{ContainerStdio, TtySink};
use berth_run::spec::Network;
use berth_run::RunOptions;

use super::mount_spec::{Kind, MountSpec};
use super::{mount_all, run_mounts, step_err, volatile, Builder, SnapGuard, StageCtx};
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
        let mut network = Network::Host;
        let mut mount_values = Vec::new();
        for f in &ins.flags {
            match (f.name.as_str(), f.value.as_deref()) {
                ("network", Some("none")) => network = Network::None,
                ("network", Some("host" | "default")) => network = Network::Host,
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
                    let key = format!("build-{}", berth_run::names::new_id()?);
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
            &self.store.root().join("build-cache"),
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
            volumes: mounts.volumes,
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
            let missing = missing_mountpoints(snap, &mounts.targets)?;
            let stdout = if opts.run_output_to_stderr {
                Stdio::from(std::io::stderr())
            } else {
                Stdio::inherit()
            };
            let stdio = ContainerStdio {
                stdin: Stdio::null(),
                stdout,
                stderr: Stdio::inherit(),
                tty: TtySink::User { interactive: false },
            };
            let eph = Ephemeral {
                image: &config,
                options: &options,
                runtime: opts.runtime.as_deref(),
                runroot: &opts.runroot,
            };
            // With --jobs, RUN containers of parallel stages run at once: each thread waits
            // for its own container (berth_run::reap).
            let result = run_ephemeral(&volatile::for_runtime(snap), &eph, stdio);
            prune_mountpoints(&snap.upper, &missing, &mounts.targets);
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

/// Where the runtime mounts things for RUN; creating them must not end up in the layer.
/// Files first, then directories, so that an emptied `etc` can go too.
const RUNTIME_MOUNTPOINTS: [&str; 6] =
    ["etc/hosts", "etc/resolv.conf", "proc", "dev", "sys", "etc"];

/// The mount points missing from the snapshot before RUN: the runtime's, and for each
/// `--mount` target its shallowest missing ancestor.
fn missing_mountpoints(snap: &Snapshot, targets: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let _mounts = mount_all(snap)?;
    let missing = |p: &Path| std::fs::symlink_metadata(snap.mountpoint.join(p)).is_err();
    let mut out: Vec<PathBuf> = Vec::new();
    for t in targets {
        let mut cur = PathBuf::new();
        for c in t.components() {
            cur.push(c);
            if missing(&cur) {
                out.push(cur);
                break;
            }
        }
    }
    out.extend(
        RUNTIME_MOUNTPOINTS
            .iter()
            .map(PathBuf::from)
            .filter(|p| missing(p)),
    );
    Ok(out)
}

/// Remove from `upper` the mount points the runtime created (those in `missing`) while they
/// are still empty files or trees of empty directories (after the empty files made for
/// `--mount` targets are gone): the RUN's own changes stay.
fn prune_mountpoints(upper: &Path, missing: &[PathBuf], targets: &[PathBuf]) {
    for t in targets {
        let path = upper.join(t);
        if std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_file() && m.len() == 0) {
            let _ = std::fs::remove_file(&path);
        }
    }
    for p in missing {
        let path = upper.join(p);
        let Ok(md) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if md.is_dir() {
            remove_empty_tree(&path);
        } else if md.is_file() && md.len() == 0 {
            if let Err(e) = std::fs::remove_file(&path) {
                tracing::debug!(path = %path.display(), error = %e, "mount point kept");
            }
        }
    }
}

/// Remove `dir` if it holds only empty directories; returns whether it is gone.
fn remove_empty_tree(dir: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    let mut empty = true;
    for e in entries.flatten() {
        let is_dir = e.file_type().is_ok_and(|t| t.is_dir());
        if !(is_dir && remove_empty_tree(&e.path())) {
            empty = false;
        }
    }
    empty && std::fs::remove_dir(dir).is_ok()
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
