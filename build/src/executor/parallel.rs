//! `--jobs N`: independent stages built at once. Stages run in waves: every needed stage
//! whose dependencies (`FROM <stage>`, `COPY --from=<stage>`) are built is ready, and up to
//! N ready stages run on their own threads, each with a builder of its own (the finished
//! stages, its own intermediates, its stage's `STEP` numbers) sharing the
//! store and the output. A failed stage fails the build once its wave has ended.

use std::collections::HashMap;
use std::sync::Mutex;

use berth_image_store::ImageRecord;

use super::Builder;
use crate::error::{BuildError, Result};
use crate::image::ImageState;

/// A stage's result, its intermediates, and whether its last step came from the cache.
type StageResult = (usize, Result<ImageState>, Vec<ImageRecord>, bool);

impl Builder<'_> {
    pub(super) fn stages_in_parallel(
        &mut self,
        needed: &[usize],
        deps: &HashMap<usize, Vec<usize>>,
    ) -> Result<()> {
        let mut todo = needed.to_vec();
        let out = Mutex::new(&mut *self.out);
        while !todo.is_empty() {
            let ready: Vec<usize> = todo
                .iter()
                .copied()
                .filter(|i| deps[i].iter().all(|d| self.done.contains_key(d)))
                .take(self.opts.jobs)
                .collect();
            if ready.is_empty() {
                return Err(BuildError::Invalid(
                    "the stages depend on each other in a loop".into(),
                ));
            }
            todo.retain(|i| !ready.contains(i));
            let (store, file, opts, plan) = (self.store, self.file, self.opts, self.plan);
            let (scope, done, ignore) = (&self.scope, &self.done, &self.ignore);
            let (secret_files, out) = (&self.secret_files, &out);
            let (stages, positions) = (self.stages, &self.positions);
            let (target, remote) = (self.target, self.remote);
            let results: Vec<StageResult> = std::thread::scope(|s| {
                let handles: Vec<_> = ready
                    .iter()
                    .map(|&i| {
                        s.spawn(move || {
                            let mut print = |line: &str| {
                                let mut o = out.lock().unwrap_or_else(|p| p.into_inner());
                                (*o)(line)
                            };
                            let mut b = Builder {
                                store,
                                file,
                                opts,
                                plan,
                                out: &mut print,
                                scope: scope.clone(),
                                done: done.clone(),
                                intermediates: Vec::new(),
                                ignore: ignore.clone(),
                                stages,
                                positions: positions.clone(),
                                cached: false,
                                secret_files: secret_files.clone(),
                                target,
                                remote,
                            };
                            let result = b.stage(i);
                            (i, result, b.intermediates, b.cached)
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().expect("a stage thread panicked"))
                    .collect()
            });
            let mut failed = None;
            for (i, result, made, cached) in results {
                self.intermediates.extend(made);
                if Some(i) == self.target {
                    self.cached = cached;
                }
                match result {
                    Ok(image) => {
                        self.done.insert(i, image);
                    }
                    Err(e) => failed = failed.or(Some(e)),
                }
            }
            if let Some(e) = failed {
                return Err(e);
            }
        }
        Ok(())
    }
}
