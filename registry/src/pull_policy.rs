//! `--pull`: when an image a command needs comes from its registry rather than the store.
//! One type, parsed once, and one decision ([`decide`]) used by `run`/`create` (pull on run,
//! [`ensure_image`]) and by build's `FROM`.
//!
//! It lives here, not in berth-run, because deciding needs the store and acting needs
//! [`crate::pull`]; run does not depend on the registry crate and build already does.

use std::str::FromStr;

use berth_image_store::{ImageRecord, Store, StoreError};

use crate::error::Result;
use crate::pull::{pull, PullOptions};
use crate::remote::Progress;

/// Podman's `--pull` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PullPolicy {
    /// Pull only when the image is not in the store (the default).
    #[default]
    Missing,
    /// Always pull: the registry's copy wins.
    Always,
    /// `newer`: as [`PullPolicy::Always`] (berth does not compare creation times).
    Newer,
    /// Never pull: the image must be in the store.
    Never,
}

impl PullPolicy {
    /// Buildah's older boolean form as well (`--pull=true` is `always`, `--pull=false`
    /// `never`), which `build` accepts and `run` does not.
    pub fn parse_with_booleans(s: &str) -> std::result::Result<PullPolicy, String> {
        match s {
            "true" => Ok(PullPolicy::Always),
            "false" => Ok(PullPolicy::Never),
            other => other.parse(),
        }
    }

    /// Whether the store is not even looked at: the registry's copy is fetched.
    pub fn pulls_always(self) -> bool {
        matches!(self, PullPolicy::Always | PullPolicy::Newer)
    }
}

impl FromStr for PullPolicy {
    type Err = String;

    /// `always`, `missing`, `never` or `newer`; the error is the message a user sees.
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        match s {
            "missing" => Ok(PullPolicy::Missing),
            "always" => Ok(PullPolicy::Always),
            "newer" => Ok(PullPolicy::Newer),
            "never" => Ok(PullPolicy::Never),
            other => Err(format!(
                "--pull={other}: use always, missing, never or newer"
            )),
        }
    }
}

/// What `--pull` decides for one image name.
#[derive(Debug)]
pub enum Decision {
    /// The store's image, used as it is.
    Local(Box<ImageRecord>),
    /// To be pulled from its registry.
    Pull,
    /// Not in the store, and the policy forbids pulling.
    MissingNeverPull,
}

/// Decide for `name` under `policy`. A `docker://` name always names the registry's image,
/// so it is never taken from the store.
pub fn decide(
    store: &Store,
    name: &str,
    policy: PullPolicy,
) -> std::result::Result<Decision, StoreError> {
    let local = if policy.pulls_always() || name.starts_with("docker://") {
        None
    } else {
        match store.lookup_image(name) {
            Ok(img) => Some(img),
            Err(StoreError::NotFound(_)) => None,
            Err(e) => return Err(e),
        }
    };
    Ok(match local {
        Some(img) => Decision::Local(Box::new(img)),
        None if policy == PullPolicy::Never => Decision::MissingNeverPull,
        None => Decision::Pull,
    })
}

/// The image `name` as `policy` says: from the store, or pulled (through the trust gate)
/// with `opts`. `None` when it is not in the store and `policy` is `never`.
pub fn ensure_image(
    store: &Store,
    name: &str,
    policy: PullPolicy,
    opts: &PullOptions,
    progress: Progress<'_>,
) -> Result<Option<ImageRecord>> {
    Ok(match decide(store, name, policy)? {
        Decision::Local(img) => Some(*img),
        Decision::MissingNeverPull => None,
        Decision::Pull => {
            let reference = name.strip_prefix("docker://").unwrap_or(name);
            Some(pull(store, reference, opts, progress)?)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parsed_once_with_podmans_words() {
        for (s, p) in [
            ("missing", PullPolicy::Missing),
            ("always", PullPolicy::Always),
            ("newer", PullPolicy::Newer),
            ("never", PullPolicy::Never),
        ] {
            assert_eq!(s.parse::<PullPolicy>(), Ok(p));
            assert_eq!(PullPolicy::parse_with_booleans(s), Ok(p));
        }
        assert_eq!(
            "true".parse::<PullPolicy>(),
            Err("--pull=true: use always, missing, never or newer".to_string())
        );
        assert_eq!(
            PullPolicy::parse_with_booleans("true"),
            Ok(PullPolicy::Always)
        );
        assert_eq!(
            PullPolicy::parse_with_booleans("false"),
            Ok(PullPolicy::Never)
        );
        assert!(PullPolicy::parse_with_booleans("sometimes").is_err());
        assert!(PullPolicy::Newer.pulls_always() && !PullPolicy::Missing.pulls_always());
    }

    #[test]
    fn decides_from_the_store_and_the_policy() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let decide = |name, p| decide(&store, name, p).unwrap();
        assert!(matches!(
            decide("busybox", PullPolicy::Missing),
            Decision::Pull
        ));
        assert!(matches!(
            decide("busybox", PullPolicy::Never),
            Decision::MissingNeverPull
        ));
        assert!(matches!(
            decide("docker://busybox", PullPolicy::Missing),
            Decision::Pull
        ));
        assert!(matches!(
            decide("busybox", PullPolicy::Newer),
            Decision::Pull
        ));
        let none = ensure_image(
            &store,
            "busybox",
            PullPolicy::Never,
            &PullOptions::default(),
            &|_| {},
        )
        .unwrap();
        assert!(none.is_none());
    }
}
