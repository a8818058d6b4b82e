//! Which runtime `--runtime` names, and the default: as root the embedded runtime; rootless
//! crun, else runc (with a one-line notice, as the embedded runtime needs delegated cgroups),
//! else the embedded runtime.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{Result, RunError};
use crate::process::find_binary;

use super::embedded::{EmbeddedRuntime, EMBEDDED};
use super::external::ExternalRuntime;
use super::Runtime;

/// Installed runtimes tried in order rootless, when none is named: the embedded runtime's
/// cgroup manager cannot run without delegated cgroups (this host kind has cgroup v1), while
/// crun runs without any cgroup manager and runc skips cgroups it cannot create.
const ROOTLESS_ORDER: &[&str] = &["crun", "runc"];

/// The runtime `spec` (`embedded`, `runc`, `crun`, or a path to a binary), keeping its state
/// under `runroot/runtime/<name>`; `None` picks the default.
pub fn resolve(spec: Option<&str>, runroot: &Path) -> Result<Runtime> {
    let embedded = || -> Result<Runtime> { Ok(Arc::new(EmbeddedRuntime::new(runroot))) };
    let (name, binary) = match spec {
        Some(EMBEDDED) => return embedded(),
        Some(s) if s.contains('/') => {
            let p = PathBuf::from(s);
            if !p.is_file() {
                return Err(RunError::Invalid(format!("OCI runtime {s}: no such file")));
            }
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_else(|| "runtime".to_string());
            (name, p)
        }
        Some(s) => {
            let p = find_binary(s).ok_or_else(|| {
                RunError::Invalid(format!("OCI runtime {s:?} not found in $PATH"))
            })?;
            (s.to_string(), p)
        }
        None if crate::rootless::is_rootless() => match rootless_default() {
            Some((name, p)) => {
                static NOTICE: std::sync::Once = std::sync::Once::new();
                NOTICE.call_once(|| {
                    eprintln!(
                        "berth: rootless without delegated cgroups: using {name} instead of the embedded runtime"
                    )
                });
                (name, p)
            }
            None => return embedded(),
        },
        None => return embedded(),
    };
    Ok(Arc::new(ExternalRuntime::new(&name, binary, runroot)))
}

/// The first of [`ROOTLESS_ORDER`] installed.
fn rootless_default() -> Option<(String, PathBuf)> {
    ROOTLESS_ORDER
        .iter()
        .find_map(|n| find_binary(n).map(|p| (n.to_string(), p)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_runtimes() {
        let d = tempfile::tempdir().unwrap();
        assert_eq!(
            resolve(Some("embedded"), d.path()).unwrap().name(),
            "embedded"
        );
        let err = resolve(Some("berth-no-such-runtime"), d.path())
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("berth-no-such-runtime"), "{err}");
        assert!(resolve(Some("/nonexistent/crun"), d.path()).is_err());
        let sh = find_binary("sh").unwrap();
        let rt = resolve(Some(sh.to_str().unwrap()), d.path()).unwrap();
        assert_eq!(rt.name(), "sh");
        if !crate::rootless::is_rootless() {
            assert_eq!(resolve(None, d.path()).unwrap().name(), "embedded");
        }
    }
}
