//! A step's result from a cache, and recording it: the local index ([`crate::cache`]) first,
//! then the `--cache-from` repositories ([`crate::registry_cache`]); after a step, `--cache-to`.
//! A layer step's result is its layer and time; a metadata step's (ENV, LABEL…) only its time.

use super::{Builder, StageCtx};
use crate::cache;
use crate::error::Result;
use crate::image::{ImageState, WriteOptions};

impl Builder<'_> {
    /// Append the cached layer of step `key`, if the local cache or a `--cache-from`
    /// repository has it (with `--cache-to`, a local hit is pushed). Returns whether it did.
    pub(super) fn cached_layer(
        &mut self,
        st: &mut StageCtx,
        key: &str,
        created_by: &str,
    ) -> Result<bool> {
        if let Some(hit) = cache::lookup(self.store, key, self.opts.cache_ttl) {
            self.cached = true;
            st.image
                .append_layer(hit.layer.clone(), &hit.diff_id, created_by)?;
            // The step's time comes with its result; an entry without one gets this one.
            match (&hit.created, self.opts.timestamp) {
                (Some(created), None) => st.image.set_last_created(created),
                (None, _) => {
                    let created = st.image.last_created();
                    cache::save(self.store, key, &cache::Entry { created, ..hit });
                }
                (Some(_), Some(_)) => {}
            }
            self.push_cache(st, key)?;
            return Ok(true);
        }
        let remote = self.remote;
        let hit = remote.lookup(self.store, key, &st.image, &mut |l| self.say(l));
        let Some(hit) = hit else {
            return Ok(false);
        };
        self.cached = true;
        st.image
            .append_layer(hit.layer.clone(), &hit.diff_id, created_by)?;
        if let (Some(created), None) = (&hit.created, self.opts.timestamp) {
            st.image.set_last_created(created);
        }
        let created = st.image.last_created();
        cache::save(self.store, key, &cache::Entry { created, ..hit });
        Ok(true)
    }

    /// With `--cache-to`: record the state after step `key` as an image and push it as
    /// `REPO:<key>` ([`crate::registry_cache`]).
    pub(super) fn push_cache(&mut self, st: &mut StageCtx, key: &str) -> Result<()> {
        if !self.remote.pushes() {
            return Ok(());
        }
        self.store_base(&mut st.image)?;
        if let Some(image) = st.image.base.clone() {
            let (remote, store) = (self.remote, self.store);
            remote.push(store, &image, key, &mut |l| self.say(l));
        }
        Ok(())
    }

    /// A metadata step's created time is part of its cached result: taken from the cache on a
    /// hit (the local index, else a `--cache-from` repository), recorded on a miss (and pushed
    /// with `--cache-to`: its state as an image). A step that made a layer (WORKDIR) got its
    /// time with the layer. With `--timestamp` every time is that one: nothing to look up.
    /// Returns whether a cache had the step.
    pub(super) fn metadata_time(
        &mut self,
        before: &ImageState,
        after: &mut ImageState,
        text: &str,
    ) -> Result<bool> {
        let added = after.config.history().as_ref().map_or(0, Vec::len)
            > before.config.history().as_ref().map_or(0, Vec::len);
        let last_empty = after
            .config
            .history()
            .as_ref()
            .and_then(|h| h.last())
            .is_some_and(|h| h.empty_layer() == Some(true));
        if !self.opts.layers || self.opts.timestamp.is_some() || !added || !last_empty {
            return Ok(false);
        }
        let key = cache::KeyBuilder::metadata(before, after, text);
        let local = (!self.opts.no_cache)
            .then(|| cache::lookup_created(self.store, &key, self.opts.cache_ttl))
            .flatten();
        if let Some(created) = &local {
            after.set_last_created(created);
        } else if !self.opts.no_cache {
            let remote = self.remote;
            let hit = remote.lookup_created(self.store, &key, after, &mut |l| self.say(l));
            if let Some(created) = hit {
                after.set_last_created(&created);
                cache::save_created(self.store, &key, &created);
                return Ok(true);
            }
        }
        if let (None, Some(created)) = (&local, after.last_created()) {
            cache::save_created(self.store, &key, &created);
        }
        // A miss or a local hit is pushed (as Buildah's), never a remote hit.
        if self.remote.pushes() {
            let (image, made) = after.write(self.store, &WriteOptions::default())?;
            if made {
                self.intermediates.push(image.clone());
            }
            let (remote, store) = (self.remote, self.store);
            remote.push(store, &image, &key, &mut |l| self.say(l));
        }
        Ok(local.is_some())
    }
}
