//! COPY and ADD steps: flags, the source root (the context, or another stage's or image's
//! rootfs mounted for the step), sources (heredocs, globs, ignore rules, archives for ADD),
//! then [`crate::copy::copy_into`] in the step's snapshot.

use std::path::{Path, PathBuf};

use super::{mount_all, step_err, Builder, SnapGuard, StageCtx};
use crate::ast::Instruction;
use crate::cache::{hash_tree, KeyBuilder};
use crate::copy::archive_kind;
use crate::copy::{clean_rel, copy_into, glob_sources, CopyRequest, Source};
use crate::error::{BuildError, Result};
use crate::ignore::Ignore;
use crate::metadata;
use crate::scope;

impl Builder<'_> {
    pub(super) fn copy_step(
        &mut self,
        st: &mut StageCtx,
        ins: &Instruction,
        sources: &[String],
        dest: &str,
        is_add: bool,
    ) -> Result<()> {
        for f in &ins.flags {
            let known = matches!(
                f.name.as_str(),
                "from" | "chown" | "chmod" | "exclude" | "parents" | "link"
            ) || (is_add && f.name == "checksum");
            if !known {
                return Err(self.fail(ins, format!("--{} is not supported yet", f.name)));
            }
        }
        let mut dest = self.expand(st, ins, dest)?;
        if !dest.starts_with('/') {
            let wd = st.image.inner().working_dir().clone();
            dest = metadata::join_workdir(wd.as_deref(), &dest);
        }
        let mode = match ins.flag("chmod") {
            Some(m) => Some(
                u32::from_str_radix(m, 8)
                    .ok()
                    .filter(|m| *m <= 0o7777)
                    .ok_or_else(|| self.fail(ins, format!("invalid --chmod {m:?}: use octal")))?,
            ),
            None => None,
        };
        let chown = ins
            .flag("chown")
            .map(|c| self.expand(st, ins, c))
            .transpose()?;
        // Where sources come from: the context, or another stage's or image's rootfs.
        let mut other = None;
        let src_root = match ins.flag("from") {
            None => self.opts.context.clone(),
            Some(from) => {
                let from = self.expand(st, ins, from)?;
                let base = self.stage_or_image(st, ins, &from)?;
                let key = super::snapshot_key()?;
                let snap = self.store.prepare_snapshot(&key, base.as_ref())?;
                let guard = SnapGuard {
                    store: self.store,
                    snap,
                };
                let mounts = mount_all(&guard.snap)?;
                let root = guard.snap.mountpoint.clone();
                other = Some((mounts, guard));
                root
            }
        };
        let patterns: Vec<&str> = ins
            .flags
            .iter()
            .filter(|f| f.name == "exclude")
            .filter_map(|f| f.value.as_deref())
            .collect();
        let exclude = (!patterns.is_empty()).then(|| Ignore::parse(&patterns.join("\n")));
        let ignore = match ins.flag("from") {
            None => self.ignore.clone(),
            Some(_) => None,
        };
        // ADD <url>: downloads go to a private directory for the step's duration.
        let downloads = if is_add && sources.iter().any(|s| s.contains("://")) {
            std::fs::create_dir_all(&self.opts.runroot)
                .map_err(|e| BuildError::io(&self.opts.runroot, e))?;
            Some(
                tempfile::Builder::new()
                    .prefix("build-add-")
                    .tempdir_in(&self.opts.runroot)
                    .map_err(|e| BuildError::io(&self.opts.runroot, e))?,
            )
        } else {
            None
        };
        let list = self.copy_sources(
            st,
            ins,
            sources,
            &src_root,
            ignore.as_ref(),
            is_add,
            downloads.as_ref().map(|d| d.path()),
        )?;
        let from_other = ins.flag("from").is_some();
        let created_by = format!("/bin/sh -c #(nop) {}", ins.text);
        let link = ins
            .flag("link")
            .is_some_and(|v| v.is_empty() || v == "true");
        // COPY --link: the parent is only looked at (user names, whether the destination
        // is a directory, the metadata of directories on its path), mounted for the step.
        let parent_view = if link {
            self.store_base(&mut st.image)?;
            let key = super::snapshot_key()?;
            let snap = self.store.prepare_snapshot(&key, st.image.base.as_ref())?;
            let guard = SnapGuard {
                store: self.store,
                snap,
            };
            let mounts = mount_all(&guard.snap)?;
            Some((mounts, guard))
        } else {
            None
        };
        let parent_root = parent_view.as_ref().map(|(_, g)| g.snap.mountpoint.clone());
        let dest_is_dir = parent_root.as_ref().map(|p| {
            let rel = clean_rel(&dest).unwrap_or_default();
            berth_layers::inroot::InRoot::open(p)
                .and_then(|r| r.stat(&rel))
                .ok()
                .flatten()
                .is_some_and(|m| m.kind == rustix::fs::FileType::Directory)
        });
        let file = self.file.file.clone();
        let fail = |m: String| step_err(&file, ins, m);
        let resolve_owner = |users: &Path| -> Result<(u32, u32)> {
            crate::copy::resolve_owner(users, chown.as_deref()).map_err(fail)
        };
        let link_owner = parent_root.as_deref().map(resolve_owner).transpose()?;
        let cache_key = match (link_owner, dest_is_dir) {
            (Some(owner), Some(dir)) => {
                let rules = format!("{owner:?} {dir} {mode:?} {ignore:?} {exclude:?}");
                self.copy_key_link(ins, &list, &dest, &rules)
            }
            _ => self.copy_key(st, ins, &list, &dest, &chown, mode, &ignore, &exclude),
        };
        let fail_ref = &fail;
        let result = self.fs_step_on(st, &created_by, true, cache_key, !link, |snap| {
            let _mounts = mount_all(snap)?;
            let owner = match link_owner {
                Some(owner) => owner,
                None => resolve_owner(&snap.mountpoint)?,
            };
            let req = CopyRequest {
                sources: list,
                dest: dest.clone(),
                owner,
                keep_owner: from_other && chown.is_none(),
                mode,
                ignore,
                exclude,
                parents: ins
                    .flag("parents")
                    .is_some_and(|v| v.is_empty() || v == "true"),
                dest_is_dir,
            };
            copy_into(&snap.mountpoint, &req).map_err(|e| fail_ref(e.to_string()))?;
            if let Some(parent) = &parent_root {
                crate::copy::adopt_parent_dirs(&snap.mountpoint, parent, &dest)
                    .map_err(|e| fail_ref(format!("--link: {e}")))?;
            }
            Ok(())
        });
        drop(parent_view);
        drop(other);
        result.map(|_| ())
    }

    /// The stored image of stage or local image `from` (`None`: a stage with no layers).
    pub(super) fn stage_or_image(
        &self,
        st: &StageCtx,
        ins: &Instruction,
        from: &str,
    ) -> Result<Option<berth_image_store::ImageRecord>> {
        Ok(match self.plan.find(from, st.index) {
            Some(i) => self.done.get(&i).and_then(|s| s.base.clone()),
            None => Some(self.store.lookup_image(from).map_err(|e| {
                self.fail(
                    ins,
                    format!("--from={from}: no such stage or local image: {e}"),
                )
            })?),
        })
    }

    /// The cache key of a COPY/ADD: the parent, the instruction, its resolved options and
    /// the digest of every source (`None` when a source cannot be hashed).
    #[allow(clippy::too_many_arguments)]
    fn copy_key(
        &self,
        st: &StageCtx,
        ins: &Instruction,
        list: &[Source],
        dest: &str,
        chown: &Option<String>,
        mode: Option<u32>,
        ignore: &Option<Ignore>,
        exclude: &Option<Ignore>,
    ) -> Option<String> {
        let mut k = KeyBuilder::new(&st.image, self.opts.timestamp);
        k.part(ins.text.as_bytes()).part(dest.as_bytes());
        k.part(format!("{chown:?} {mode:?} {ignore:?} {exclude:?}").as_bytes());
        hash_sources(&mut k, list)?;
        Some(k.finish())
    }

    /// The cache key of a `COPY --link`: as [`Self::copy_key`] but without the parent;
    /// `rules` holds the resolved options and what the copy read from the parent (the
    /// owner, whether the destination is a directory).
    fn copy_key_link(
        &self,
        ins: &Instruction,
        list: &[Source],
        dest: &str,
        rules: &str,
    ) -> Option<String> {
        let mut k = KeyBuilder::detached(self.opts.timestamp);
        k.part(ins.text.as_bytes()).part(dest.as_bytes());
        k.part(rules.as_bytes());
        hash_sources(&mut k, list)?;
        Some(k.finish())
    }

    /// COPY/ADD sources: heredocs, and paths under `src_root` (expanded, globbed, filtered
    /// by the ignore rules; `..` out of the root refused).
    #[allow(clippy::too_many_arguments)]
    fn copy_sources(
        &self,
        st: &StageCtx,
        ins: &Instruction,
        sources: &[String],
        src_root: &Path,
        ignore: Option<&Ignore>,
        is_add: bool,
        downloads: Option<&Path>,
    ) -> Result<Vec<Source>> {
        let mut list = Vec::new();
        for raw in sources {
            if let Some(name) = raw.strip_prefix("<<") {
                let name = name
                    .trim_start_matches('-')
                    .trim_matches(|c| c == '"' || c == '\'');
                let doc = ins
                    .heredocs
                    .iter()
                    .find(|h| h.name == name)
                    .ok_or_else(|| self.fail(ins, format!("no heredoc named {name:?}")))?;
                let content = if doc.expand {
                    let env = st.image.inner().env().clone().unwrap_or_default();
                    let lookup = |n: &str| scope::lookup(&env, &st.args, n);
                    crate::expand::expand_text(&doc.content, self.file.escape, &lookup)
                        .map_err(|m| self.fail(ins, m))?
                } else {
                    doc.content.clone()
                };
                list.push(Source::Inline {
                    name: name.to_string(),
                    content,
                });
                continue;
            }
            let src = self.expand(st, ins, raw)?;
            if let (true, Some(dir)) = (src.contains("://"), downloads) {
                let sub = PathBuf::from(list.len().to_string());
                std::fs::create_dir(dir.join(&sub)).map_err(|e| BuildError::io(dir, e))?;
                let name = crate::fetch::file_name(&src);
                let retries = berth_registry::retry::RetryPolicy {
                    times: self.opts.pull_options.retry,
                    delay: self.opts.pull_options.retry_delay,
                };
                let at = dir.join(&sub);
                crate::fetch::download(&src, &at, &name, ins.flag("checksum"), retries)
                    .map_err(|e| self.at(ins, e))?;
                list.push(Source::Path {
                    root: dir.to_path_buf(),
                    rel: sub.join(name),
                    shown: src,
                });
                continue;
            }
            let rel = clean_rel(&src).ok_or_else(|| {
                self.fail(ins, format!("{src}: source is outside the build context"))
            })?;
            let mut found =
                glob_sources(src_root, &rel).map_err(|e| self.fail(ins, format!("{src}: {e}")))?;
            if let Some(ig) = ignore {
                // An excluded directory stays a source when a `!` rule re-includes something
                // in it; the copy's walk skips the rest.
                found.retain(|r| {
                    !ig.excluded(r) || (ig.may_reinclude_below(r) && src_root.join(r).is_dir())
                });
            }
            if found.is_empty() {
                return Err(self.fail(
                    ins,
                    format!("{src}: no source files match (or the ignore file excludes them)"),
                ));
            }
            for rel in found {
                if is_add {
                    match archive_kind(src_root, &rel) {
                        Some(true) => {
                            list.push(Source::Archive {
                                root: src_root.to_path_buf(),
                                shown: rel.display().to_string(),
                                rel,
                            });
                            continue;
                        }
                        Some(false) => {
                            return Err(self.fail(
                                ins,
                                format!(
                                "{src}: ADD extracts tar archives that are uncompressed, gzip, \
                                     bzip2 or zstd; this one is xz"
                            ),
                            ))
                        }
                        None => {}
                    }
                }
                list.push(Source::Path {
                    root: src_root.to_path_buf(),
                    shown: rel.display().to_string(),
                    rel,
                });
            }
        }
        Ok(list)
    }
}

/// Hash every source into `k` (`None` when one cannot be hashed).
fn hash_sources(k: &mut KeyBuilder, list: &[Source]) -> Option<()> {
    for src in list {
        match src {
            Source::Inline { name, content } => {
                k.part(name.as_bytes()).part(content.as_bytes());
            }
            Source::Path { root, rel, .. } => {
                k.part(rel.as_os_str().as_encoded_bytes());
                hash_tree(k, root, rel).ok()?;
            }
            Source::Archive { root, rel, .. } => {
                k.part(b"archive");
                hash_tree(k, root, rel).ok()?;
            }
        }
    }
    Some(())
}
