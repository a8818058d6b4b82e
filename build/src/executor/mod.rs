//! The build loop: for each stage the target needs, FROM then one step per instruction.
//!
//! A filesystem step (RUN, COPY, ADD, WORKDIR) is containerd's loop: prepare a writable
//! snapshot over the stage's current image (recorded as an unnamed intermediate image first
//! if its last layers are not yet), mount it (`volatile`: see [`volatile`]), do the work
//! (`run_ephemeral` for RUN, [`crate::copy`] for COPY/ADD), turn the upper dir into a layer,
//! remove the snapshot; a RUN/COPY/ADD whose [`crate::cache`] key matches reuses the recorded
//! layer instead, from the local cache or a `--cache-from` repository (`step_cache`). A stage other stages use is recorded as an image at its end. Metadata
//! steps change the config only. At the end the target's image is written with its names and the
//! intermediates are removed; a failed build tags nothing and leaves no snapshot or mount.

pub(crate) mod copy_step;
mod mount_spec;
mod parallel;
pub mod progress;
pub(crate) mod run_mounts;
pub(crate) mod run_step;
pub(crate) mod squash;
mod step_cache;
mod step_report;
pub(crate) mod volatile;

use std::collections::HashMap;
use std::path::PathBuf;

use berth_image_store::snapshot::Snapshot;
use berth_image_store::{ImageRecord, Store};
pub use berth_registry::pull_policy::PullPolicy;
use berth_registry::pull_policy::{decide, Decision};

use crate::ast::{Containerfile, Instruction, Kind};
use crate::cache;
use crate::copy::clean_rel;
use crate::error::{BuildError, Result};
use crate::ignore::Ignore;
use crate::image::{Format, ImageState, WriteOptions};
use crate::metadata;
use crate::plan::{Plan, Stage};
use crate::registry_cache::RegistryCache;
use crate::scope::{self, Args, Scope};
use crate::step_events::{EventSink, StepEvent};
use volatile::mount_all;

/// What a build needs besides the Containerfile.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// The context directory (COPY/ADD sources are read only from inside it).
    pub context: PathBuf,
    /// Names for the result (`-t`).
    pub tags: Vec<String>,
    /// `--build-arg K=V`.
    pub build_args: Vec<(String, String)>,
    /// `--target`.
    pub target: Option<String>,
    pub format: Format,
    /// OCI runtime for RUN (`None`: the default).
    pub runtime: Option<String>,
    /// The network of RUN steps (`RUN --network=default`'s); `Host` by default.
    pub network: berth_run::options::Network,
    /// Run root for RUN containers' bundles.
    pub runroot: PathBuf,
    /// Send RUN's stdout to stderr (so `-q` leaves only the id on stdout).
    pub run_output_to_stderr: bool,
    /// Where RUN's stdout and stderr go instead of berth's own (a pipe a front end relays,
    /// such as the API's build stream); wins over `run_output_to_stderr`.
    pub run_output: Option<std::sync::Arc<std::os::fd::OwnedFd>>,
    /// `--label K=V`: added to the final image's labels.
    pub labels: Vec<(String, String)>,
    /// `--annotation K=V`: the final manifest's annotations.
    pub annotations: Vec<(String, String)>,
    /// `--timestamp` / `SOURCE_DATE_EPOCH`: created times and file mtimes, for
    /// bit-identical rebuilds.
    pub timestamp: Option<i64>,
    /// `--ignorefile`: instead of the context's `.containerignore`/`.dockerignore`.
    pub ignorefile: Option<PathBuf>,
    /// `--omit-history`: write the image without history entries.
    pub omit_history: bool,
    /// `--secret`: for `RUN --mount=type=secret`; never stored in the image.
    pub secrets: Vec<Secret>,
    /// `--layers`: reuse and record step results in the layer cache.
    pub layers: bool,
    /// `--no-cache`: run every step (results are still recorded with `--layers`).
    pub no_cache: bool,
    /// `--cache-ttl`: ignore cache entries older than this.
    pub cache_ttl: Option<std::time::Duration>,
    /// `--pull`: when a FROM image comes from its registry.
    pub pull: PullPolicy,
    /// How to reach registries for FROM (TLS, credentials, platform).
    pub pull_options: berth_registry::pull::PullOptions,
    /// `--squash` (the target stage's new layers become one) or `--squash-all` (the whole
    /// image one layer).
    pub squash: Squash,
    /// `--jobs`: how many stages may be built at once (0 or 1: one after the other).
    pub jobs: usize,
    /// `--cache-from`: repositories whose `REPO:<step key>` images are looked up when the
    /// local cache misses a step ([`crate::registry_cache`]).
    pub cache_from: Vec<String>,
    /// `--cache-to`: repositories each step's result is pushed to as `REPO:<step key>`.
    pub cache_to: Vec<String>,
    /// Where step events go (`--progress=json|tty`), besides the text lines.
    pub events: Option<EventSink>,
}

/// `--squash`, `--squash-all`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Squash {
    #[default]
    No,
    /// The target stage's new layers become one; the FROM image's layers are kept.
    New,
    /// The whole image becomes one layer.
    All,
}

/// A `--secret` value (its `Debug` shows only the id).
#[derive(Clone)]
pub struct Secret {
    pub id: String,
    pub value: Vec<u8>,
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secret({:?}, <redacted>)", self.id)
    }
}

/// Build `file`; `out` receives the lines Buildah prints (see [`progress`]). Returns the
/// recorded image.
pub fn build(
    store: &Store,
    file: &Containerfile,
    opts: &BuildOptions,
    out: &mut (dyn FnMut(&str) + Send),
) -> Result<ImageRecord> {
    let plan = Plan::new(file)?;
    // Another platform's build: its programs must run here (natively or emulated).
    if crate::platform::is_foreign(&opts.pull_options.platform) {
        crate::platform::check_here(&opts.pull_options.platform).map_err(BuildError::Invalid)?;
    }
    // Held for the whole build: a step's layer blob is in the content store well before the
    // image that references it is recorded, and a prune must not collect it in between
    // (prune waits for this).
    let _hold = store.lock_shared()?;
    // The run root holds secrets, bundles and bind copies: mode 0700 (tightened if wider).
    berth_layers::private_dir::ensure_private_dir(&opts.runroot)
        .map_err(|e| BuildError::io(&opts.runroot, e))?;
    // Secrets live in a private directory under the run root for the build's duration.
    let (secret_dir, secret_files) = write_secrets(&opts.runroot, &opts.secrets)?;
    let remote = RegistryCache::new(&opts.cache_from, &opts.cache_to, &opts.pull_options)?;
    let mut b = Builder {
        store,
        file,
        opts,
        plan: &plan,
        out,
        scope: crate::platform::scope(&opts.build_args, &opts.pull_options.platform),
        done: HashMap::new(),
        intermediates: Vec::new(),
        ignore: Ignore::load(&opts.context, opts.ignorefile.as_deref())?,
        stages: 0,
        positions: HashMap::new(),
        cached: false,
        secret_files,
        target: None,
        remote: &remote,
    };
    let result = b.run();
    remote.release(store, result.as_ref().ok());
    // Its names without those the cache pulls gave it.
    let result = result.map(|r| store.lookup_image(r.id.as_ref()).unwrap_or(r));
    for img in &b.intermediates {
        if result.as_ref().is_ok_and(|r| r.id == img.id) {
            continue;
        }
        if let Err(e) = store.remove_image(img.id.as_ref(), true) {
            tracing::warn!(image = %img.id, error = %e, "removing an intermediate image");
        }
    }
    drop(secret_dir);
    if let Ok(record) = &result {
        berth_image_store::events::emit(berth_image_store::events::Event::image(
            "build",
            record.hex_id(),
            "",
        ));
    }
    result
}

struct Builder<'a> {
    store: &'a Store,
    file: &'a Containerfile,
    opts: &'a BuildOptions,
    plan: &'a Plan,
    out: &'a mut (dyn FnMut(&str) + Send),
    /// `--build-arg` values and the ARGs declared before the first FROM.
    scope: Scope,
    /// Finished stages.
    done: HashMap<usize, ImageState>,
    intermediates: Vec<ImageRecord>,
    /// The context's `.containerignore`/`.dockerignore`.
    ignore: Option<Ignore>,
    /// How many stages the build builds, and each one's place among them (from 1).
    stages: usize,
    positions: HashMap<usize, usize>,
    /// Whether the last step's result came from the cache.
    cached: bool,
    /// `--secret` values written to files (id, path).
    secret_files: SecretFiles,
    /// The target stage (known once the plan is resolved).
    target: Option<usize>,
    /// `--cache-from`, `--cache-to`.
    remote: &'a RegistryCache,
}

/// A stage being built.
struct StageCtx {
    index: usize,
    image: ImageState,
    /// ARGs in scope (declared in this stage).
    args: Args,
    shell: Vec<String>,
    /// Whether this stage set CMD (an ENTRYPOINT clears an inherited CMD, as Docker).
    cmd_set: bool,
}

/// A new key for a step's snapshot. The store's prefix for build snapshots: one left by a
/// killed build is found and removed by `system check --repair` and gc.
fn snapshot_key() -> Result<String> {
    Ok(format!(
        "{}{}",
        berth_image_store::layout::BUILD_SNAPSHOT_PREFIX,
        berth_run::names::new_id()?
    ))
}

/// Removes a snapshot (unmounting it) when dropped.
struct SnapGuard<'s> {
    store: &'s Store,
    snap: Snapshot,
}

impl Drop for SnapGuard<'_> {
    fn drop(&mut self) {
        if let Err(e) = self.store.remove_snapshot(&self.snap.key) {
            tracing::warn!(snapshot = %self.snap.key, error = %e, "removing a build snapshot");
        }
    }
}

impl Builder<'_> {
    fn run(&mut self) -> Result<ImageRecord> {
        for ins in &self.plan.global_args {
            if let Kind::Arg(list) = &ins.kind {
                for (name, default) in list {
                    let default = match default {
                        Some(d) => Some(self.expand_global(ins, d)?),
                        None => None,
                    };
                    self.scope.declare_global(name, default);
                }
            }
        }
        let target = self.plan.target(self.opts.target.as_deref())?;
        self.target = Some(target);
        let from_image = |s: &Stage| match &s.from.kind {
            Kind::From { image, .. } => self.expand_global(&s.from, image).unwrap_or_default(),
            _ => String::new(),
        };
        let needed = self.plan.needed(target, &from_image);
        let deps: HashMap<usize, Vec<usize>> = needed
            .iter()
            .map(|&i| (i, self.plan.deps(i, &from_image)))
            .collect();
        self.stages = needed.len();
        self.positions = needed
            .iter()
            .enumerate()
            .map(|(k, &i)| (i, k + 1))
            .collect();
        if self.opts.jobs > 1 && needed.len() > 1 {
            self.stages_in_parallel(&needed, &deps)?;
        } else {
            for i in needed {
                let image = self.stage(i)?;
                self.done.insert(i, image);
            }
        }
        let last = self
            .done
            .remove(&target)
            .ok_or_else(|| BuildError::Invalid("the target stage was not built".into()))?;
        let mut last = last;
        self.squash(&mut last, self.opts.squash)
            .map_err(|e| BuildError::Invalid(format!("squashing the image: {e}")))?;
        if !self.opts.labels.is_empty() {
            let mut inner = last.inner();
            let mut labels = inner.labels().clone().unwrap_or_default();
            labels.extend(self.opts.labels.iter().cloned());
            inner.set_labels(Some(labels));
            last.config.set_config(Some(inner));
        }
        let prefix = progress::stage_prefix(self.stages, self.positions[&target]);
        let tag = self.opts.tags.first().map(String::as_str);
        if let Some(line) = progress::commit_line(&prefix, tag, self.cached) {
            (self.out)(&line);
        }
        let write = WriteOptions {
            names: &self.opts.tags,
            format: self.opts.format,
            annotations: &self.opts.annotations,
            omit_history: self.opts.omit_history,
        };
        Ok(last.write(self.store, &write)?.0)
    }

    fn expand_global(&self, ins: &Instruction, word: &str) -> Result<String> {
        let lookup = |n: &str| self.scope.global(n);
        crate::expand::expand(word, self.file.escape, &lookup).map_err(|m| self.fail(ins, m))
    }

    fn fail(&self, ins: &Instruction, message: impl Into<String>) -> BuildError {
        step_err(&self.file.file, ins, message)
    }

    /// Attach the instruction to an error that does not name it yet (the error kept whole).
    fn at(&self, ins: &Instruction, e: BuildError) -> BuildError {
        self.doing(ins, None, e)
    }

    /// Attach the instruction and what it was doing to `e`, kept as the source.
    fn doing(&self, ins: &Instruction, doing: Option<String>, e: BuildError) -> BuildError {
        match e {
            e @ (BuildError::Step { .. }
            | BuildError::StepFailed { .. }
            | BuildError::RunFailed { .. }) => e,
            e => BuildError::StepFailed {
                file: self.file.file.clone(),
                line: ins.span.line,
                instruction: ins.text.clone(),
                doing,
                source: Box::new(e),
            },
        }
    }

    /// `[i/k] STEP n/m: TEXT` for step `step` of stage `index`'s `total`.
    fn announce(&mut self, index: usize, step: usize, total: usize, text: &str) {
        let pos = self.positions.get(&index).copied().unwrap_or(1);
        let line = progress::step_line(self.stages, pos, step, total, text);
        (self.out)(&line);
        self.emit(StepEvent::StepStarted {
            stage: pos,
            stages: self.stages,
            step,
            steps: total,
            instruction: text.to_string(),
        });
    }

    /// After a step, with `--layers`: `--> Using cache <id>` if its result came from the
    /// cache, and `--> <id>` unless it is the last step of the target stage.
    fn step_done(&mut self, image: &ImageState, last: bool) -> Result<()> {
        if !self.opts.layers {
            return Ok(());
        }
        let id = image.id()?;
        if self.cached {
            (self.out)(&format!("--> Using cache {id}"));
        }
        if !last {
            (self.out)(&progress::short_id_line(&id));
        }
        Ok(())
    }

    fn stage(&mut self, index: usize) -> Result<ImageState> {
        let stage = &self.plan.stages[index];
        let total = 1 + stage.steps.len();
        let from_text = match &stage.from.kind {
            Kind::From { image, alias } => self
                .expand_global(&stage.from, image)
                .map(|name| progress::from_text(&name, alias.as_deref()))
                .unwrap_or_else(|_| stage.from.text.clone()),
            _ => stage.from.text.clone(),
        };
        self.announce(index, 1, total, &from_text);
        let started = std::time::Instant::now();
        self.cached = false;
        let mut image = self.from(stage).map_err(|e| self.at(&stage.from, e))?;
        image.timestamp = self.opts.timestamp;
        image.mark_from();
        // As Docker: a SHELL of the base image stays in force.
        let shell = image
            .extras
            .shell()
            .unwrap_or_else(|| vec!["/bin/sh".into(), "-c".into()]);
        let mut st = StageCtx {
            index,
            image,
            args: Vec::new(),
            shell,
            cmd_set: false,
        };
        self.onbuild_triggers(&mut st, &stage.from)?;
        self.step_finished(index, 1, started, st.image.layers.len(), &st.image)?;
        for (k, ins) in stage.steps.iter().enumerate() {
            self.announce(index, k + 2, total, &ins.text);
            let (started, before) = (std::time::Instant::now(), st.image.layers.len());
            self.cached = false;
            self.step_one(&mut st, ins).map_err(|e| self.at(ins, e))?;
            let last = Some(index) == self.target && k + 1 == stage.steps.len();
            self.step_done(&st.image, last)
                .map_err(|e| self.at(ins, e))?;
            self.step_finished(index, k + 2, started, before, &st.image)
                .map_err(|e| self.at(ins, e))?;
        }
        // Other stages start from it or copy from it; the target is written at the end.
        if Some(index) != self.target {
            self.store_base(&mut st.image)?;
        }
        Ok(st.image)
    }

    /// Run the base image's ONBUILD triggers right after FROM (errors name the FROM line);
    /// they are not inherited further.
    fn onbuild_triggers(&mut self, st: &mut StageCtx, from: &Instruction) -> Result<()> {
        let triggers = st.image.extras.onbuild();
        st.image.extras.set_onbuild(Vec::new());
        for text in triggers {
            let parsed = crate::parse(&self.file.file, &text)
                .map_err(|e| self.fail(from, format!("ONBUILD trigger {text:?}: {e}")))?;
            for mut ins in parsed.instructions {
                ins.span = from.span;
                self.say(&format!("--> ONBUILD {text}"));
                self.step_one(st, &ins)
                    .map_err(|e| self.fail(from, format!("ONBUILD trigger: {e}")))?;
            }
        }
        Ok(())
    }

    fn from(&mut self, stage: &Stage) -> Result<ImageState> {
        let Kind::From { image, .. } = &stage.from.kind else {
            return Err(BuildError::Invalid("not a FROM".into()));
        };
        if let Some(flag) = stage.from.flags.iter().find(|f| f.name != "platform") {
            return Err(self.fail(&stage.from, format!("unknown flag --{}", flag.name)));
        }
        if let Some(p) = stage.from.flag("platform") {
            let p = self.expand_global(&stage.from, p)?;
            crate::platform::check_from_flag(&p, &self.opts.pull_options.platform)
                .map_err(|m| self.fail(&stage.from, m))?;
        }
        let target = &self.opts.pull_options.platform;
        let foreign = crate::platform::is_foreign(target);
        let name = self.expand_global(&stage.from, image)?;
        if name.is_empty() {
            return Err(self.fail(&stage.from, "empty image name after expansion"));
        }
        if name == "scratch" {
            let mut state = ImageState::scratch()?;
            if foreign {
                crate::platform::stamp(&mut state.config, target);
            }
            return Ok(state);
        }
        if let Some(dep) = self.plan.find(&name, stage.index) {
            return self
                .done
                .get(&dep)
                .cloned()
                .ok_or_else(|| self.fail(&stage.from, format!("stage {name:?} was not built")));
        }
        let mut pulled = false;
        let image = match decide(self.store, &name, self.opts.pull)? {
            Decision::Local(img) => *img,
            Decision::MissingNeverPull => {
                return Err(self.fail(
                    &stage.from,
                    format!("image {name:?} is not in the local store and --pull=never"),
                ))
            }
            Decision::Pull => {
                pulled = true;
                self.pull_base(stage, &name)?
            }
        };
        let mut state = ImageState::from_image(self.store, &image)?;
        let matches =
            |s: &ImageState| crate::platform::same(&crate::platform::of_config(&s.config), target);
        if foreign && !matches(&state) && !pulled && self.opts.pull != PullPolicy::Never {
            // A local image of another platform: the build's platform's from the registry.
            let image = self.pull_base(stage, &name)?;
            state = ImageState::from_image(self.store, &image)?;
        }
        if foreign {
            if !matches(&state) {
                let have = crate::platform::describe(&crate::platform::of_config(&state.config));
                let want = crate::platform::describe(target);
                return Err(self.fail(
                    &stage.from,
                    format!("image {name:?} is {have}, not the build's platform {want}"),
                ));
            }
            crate::platform::stamp(&mut state.config, target);
        }
        Ok(state)
    }

    /// Pull FROM's image (the build's platform's instance of a list).
    fn pull_base(&mut self, stage: &Stage, name: &str) -> Result<ImageRecord> {
        self.say(&format!("Pulling {name}"));
        berth_registry::pull::pull(self.store, name, &self.opts.pull_options, &|_| {})
            .map_err(|e| self.doing(&stage.from, Some(format!("pulling {name}")), e.into()))
    }

    /// Expand `word` in the stage's scope: ENV first, then the stage's ARGs.
    fn expand(&self, st: &StageCtx, ins: &Instruction, word: &str) -> Result<String> {
        let env = st.image.inner().env().clone().unwrap_or_default();
        let lookup = |n: &str| scope::lookup(&env, &st.args, n);
        crate::expand::expand(word, self.file.escape, &lookup).map_err(|m| self.fail(ins, m))
    }

    fn step_one(&mut self, st: &mut StageCtx, ins: &Instruction) -> Result<()> {
        let before = match &ins.kind {
            // Their created times come with their layers (`fs_step_on`).
            Kind::Run(_) | Kind::Copy { .. } | Kind::Add { .. } => None,
            _ => Some(st.image.clone()),
        };
        self.step_kind(st, ins)?;
        if let Some(before) = before {
            self.cached |= self.metadata_time(&before, &mut st.image, &ins.text)?;
        }
        Ok(())
    }

    fn step_kind(&mut self, st: &mut StageCtx, ins: &Instruction) -> Result<()> {
        let nop = format!("/bin/sh -c #(nop) {}", ins.text);
        match &ins.kind {
            Kind::Run(form) => self.run_step(st, ins, form),
            Kind::Copy { sources, dest } => self.copy_step(st, ins, sources, dest, false),
            Kind::Add { sources, dest } => self.copy_step(st, ins, sources, dest, true),
            Kind::Arg(list) => {
                for (name, default) in list {
                    let default = match default {
                        Some(d) => Some(self.expand(st, ins, d)?),
                        None => None,
                    };
                    let value = self.scope.stage_arg(name, default);
                    st.args.push((name.clone(), value));
                }
                // As Docker and Buildah: a stage's ARG is an empty-layer history entry.
                st.image.history_entry(&nop, true)
            }
            Kind::Shell(shell) => {
                st.shell = shell.clone();
                st.image.extras.set_shell(shell);
                st.image.history_entry(&nop, true)
            }
            Kind::Maintainer(m) => {
                st.image.config.set_author(Some(m.clone()));
                st.image.history_entry(&nop, true)
            }
            Kind::Onbuild(trigger) => {
                let mut all = st.image.extras.onbuild();
                all.push(trigger.text.clone());
                st.image.extras.set_onbuild(all);
                st.image.history_entry(&nop, true)
            }
            Kind::Healthcheck(form) => {
                let flags: Vec<(String, String)> = ins
                    .flags
                    .iter()
                    .map(|f| (f.name.clone(), f.value.clone().unwrap_or_default()))
                    .collect();
                st.image
                    .extras
                    .set_healthcheck(form.as_ref(), &flags)
                    .map_err(|m| self.fail(ins, m))?;
                st.image.history_entry(&nop, true)
            }
            kind => {
                let mut inner = st.image.inner();
                let x = |w: &str| self.expand(st, ins, w).map_err(|e| e.to_string());
                metadata::apply(&mut inner, kind, &st.shell, &x).map_err(|m| self.fail(ins, m))?;
                match kind {
                    Kind::Cmd(_) => st.cmd_set = true,
                    Kind::Entrypoint(_) if !st.cmd_set => {
                        inner.set_cmd(None);
                    }
                    _ => {}
                }
                match (kind, inner.working_dir().clone()) {
                    (Kind::Workdir(_), Some(dir)) => {
                        let user = inner.user().clone().unwrap_or_default();
                        st.image.config.set_config(Some(inner));
                        if !self.make_workdir(st, &dir, &user, &nop)? {
                            st.image.history_entry(&nop, true)?;
                        }
                        Ok(())
                    }
                    _ => st.image.set_inner(inner, &nop),
                }
            }
        }
    }

    /// Prepare a snapshot over the stage's image, let `work` change it, and commit the
    /// changes as a layer (for `always_layer`, or when anything changed). Returns whether
    /// a layer was made.
    ///
    /// With a `cache_key` (and `--layers`), a recorded result is reused instead of running
    /// `work`, and a new result is recorded.
    fn fs_step(
        &mut self,
        st: &mut StageCtx,
        created_by: &str,
        always_layer: bool,
        cache_key: Option<String>,
        work: impl FnOnce(&Snapshot) -> Result<()>,
    ) -> Result<bool> {
        self.fs_step_on(st, created_by, always_layer, cache_key, true, work)
    }

    /// [`Self::fs_step`]; with `on_parent` false the snapshot starts empty instead of over
    /// the stage's image (`COPY --link`: a layer made without the parent's contents).
    fn fs_step_on(
        &mut self,
        st: &mut StageCtx,
        created_by: &str,
        always_layer: bool,
        cache_key: Option<String>,
        on_parent: bool,
        work: impl FnOnce(&Snapshot) -> Result<()>,
    ) -> Result<bool> {
        let cache_key = cache_key.filter(|_| self.opts.layers);
        if let Some(key) = cache_key.as_ref().filter(|_| !self.opts.no_cache) {
            if self.cached_layer(st, key, created_by)? {
                return Ok(true);
            }
        }
        if on_parent {
            self.store_base(&mut st.image)?;
        }
        let key = snapshot_key()?;
        let parent = st.image.base.as_ref().filter(|_| on_parent);
        let snap = self.store.prepare_snapshot(&key, parent)?;
        let guard = SnapGuard {
            store: self.store,
            snap,
        };
        work(&guard.snap)?;
        let changed = std::fs::read_dir(&guard.snap.upper)
            .map_err(|e| BuildError::io(&guard.snap.upper, e))?
            .next()
            .is_some();
        let layer = always_layer || changed;
        if layer {
            st.image
                .commit_upper(self.store, &guard.snap.upper, created_by)?;
            if let (Some(key), Some((layer, diff_id))) = (&cache_key, st.image.last_layer()) {
                let created = st.image.last_created();
                cache::save(
                    self.store,
                    key,
                    &cache::Entry {
                        layer,
                        diff_id,
                        created,
                    },
                );
            }
        }
        drop(guard);
        if let (Some(key), true) = (&cache_key, layer) {
            self.push_cache(st, key)?;
        }
        Ok(layer)
    }

    /// Record `image` as an intermediate image if its layers are not stored as one yet
    /// (removed after the build).
    fn store_base(&mut self, image: &mut ImageState) -> Result<()> {
        let made = image.store_base(self.store)?;
        self.intermediates.extend(made);
        Ok(())
    }

    /// Create the WORKDIR in the rootfs if missing, the directories it makes owned by the
    /// USER in force (`user`), as Buildah and BuildKit; returns whether that made a layer.
    fn make_workdir(
        &mut self,
        st: &mut StageCtx,
        dir: &str,
        user: &str,
        created_by: &str,
    ) -> Result<bool> {
        let rel = clean_rel(dir).unwrap_or_default();
        if rel.as_os_str().is_empty() {
            return Ok(false);
        }
        let mut key = cache::KeyBuilder::new(&st.image, self.opts.timestamp);
        key.part(b"WORKDIR")
            .part(dir.as_bytes())
            .part(user.as_bytes());
        self.fs_step(st, created_by, false, Some(key.finish()), |snap| {
            let _mounts = mount_all(snap)?;
            let fail = |e: String| BuildError::Invalid(format!("creating WORKDIR {dir}: {e}"));
            let owner = match user {
                "" => (0, 0),
                spec => berth_run::user::resolve_user(&snap.mountpoint, spec)
                    .map(|u| (u.uid, u.gid))
                    .map_err(|e| fail(format!("USER {spec}: {e}")))?,
            };
            crate::copy::make_dirs(&snap.mountpoint, &rel, owner)
                .map_err(|e| fail(e.to_string()))?;
            Ok(())
        })
    }
}

/// Secret ids and the files holding their values.
type SecretFiles = Vec<(String, PathBuf)>;

/// Write each secret to a 0400 file in a private (0700) temporary directory under `runroot`.
fn write_secrets(
    runroot: &std::path::Path,
    secrets: &[Secret],
) -> Result<(Option<tempfile::TempDir>, SecretFiles)> {
    if secrets.is_empty() {
        return Ok((None, Vec::new()));
    }
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    std::fs::create_dir_all(runroot).map_err(|e| BuildError::io(runroot, e))?;
    let dir = tempfile::Builder::new()
        .prefix("build-secrets-")
        .tempdir_in(runroot)
        .map_err(|e| BuildError::io(runroot, e))?;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700))
        .map_err(|e| BuildError::io(dir.path(), e))?;
    let mut files = Vec::new();
    for (i, Secret { id, value }) in secrets.iter().enumerate() {
        let path = dir.path().join(format!("secret-{i}"));
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o400)
            .open(&path)
            .map_err(|e| BuildError::io(&path, e))?;
        std::io::Write::write_all(&mut f, value).map_err(|e| BuildError::io(&path, e))?;
        files.push((id.clone(), path));
    }
    Ok((Some(dir), files))
}

/// An error at `ins` in `file`.
fn step_err(file: &str, ins: &Instruction, message: impl Into<String>) -> BuildError {
    BuildError::Step {
        file: file.to_string(),
        line: ins.span.line,
        instruction: ins.text.clone(),
        message: message.into(),
    }
}
