//! What a runtime's failure means: the last error in its JSON log, and Podman's mapping of
//! an exec failure to an error kind (127 command not found, 126 cannot invoke).
//!
//! The one place berth reads meaning from an error's words, and why: an OCI runtime (runc,
//! crun, and berth's own `berth oci-runtime`, run as a separate process) reports a failure
//! only as an exit status and free text in its log; the runtime spec defines no error codes.
//! Podman does the same (`getOCIRuntimeError` in libpod/oci_util.go matches "permission
//! denied", "executable file not found", "no such file or directory"). The text is turned
//! into a kind here, once, as it enters berth; from then on callers ask the kind
//! ([`RunError::exit_code`]), never the message.

use std::fs;
use std::path::Path;

use crate::error::RunError;

/// The last error message in a runtime's JSON log (runc and crun write `{"level":"error",
/// "msg":…}` lines), or its last line.
pub(crate) fn last_error(log: &Path) -> Option<String> {
    let text = fs::read_to_string(log).ok()?;
    let mut last = None;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        match serde_json::from_str::<serde_json::Value>(line) {
            Ok(v) => {
                let level = v.get("level").and_then(|l| l.as_str()).unwrap_or("");
                if matches!(level, "error" | "fatal" | "panic") {
                    if let Some(m) = v.get("msg").and_then(|m| m.as_str()) {
                        last = Some(m.to_string());
                    }
                }
            }
            Err(_) => last = Some(line.to_string()),
        }
    }
    last
}

/// After a runtime's `exec` exited non-zero: the error it logged (mapped to 126/127 when the
/// command could not be run), or `None` when the process itself ran and failed.
pub fn exec_failure(runtime: &str, id: &str, log: &Path) -> Option<RunError> {
    let msg = last_error(log)?;
    Some(
        classify_exec_failure(&msg).unwrap_or_else(|| RunError::Runtime {
            runtime: runtime.to_string(),
            action: "exec".to_string(),
            container: id.to_string(),
            message: msg,
        }),
    )
}

/// Podman's mapping of a runtime's exec failure to an error kind (and so an exit code).
pub fn classify_exec_failure(message: &str) -> Option<RunError> {
    let m = message.to_ascii_lowercase();
    let exec_related =
        m.contains("exec") || m.contains("executable") || m.contains("starting container process");
    if !exec_related {
        return None;
    }
    if m.contains("not found") || m.contains("no such file or directory") {
        Some(RunError::CommandNotFound(message.to_string()))
    } else if m.contains("permission denied")
        || m.contains("operation not permitted")
        || m.contains("is a directory")
        || m.contains("exec format error")
    {
        Some(RunError::CannotInvoke(message.to_string()))
    } else {
        None
    }
}

/// Whether a runtime's `delete` failed only because the container is already gone (its log
/// says the container "does not exist" or is "not found"), which `delete` treats as done.
pub(crate) fn already_gone(message: &str) -> bool {
    message.contains("does not exist") || message.contains("not found")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_failures_map_to_podman_codes() {
        let nf = classify_exec_failure(
            "runc create failed: unable to start container process: exec: \"nosuch\": executable file not found in $PATH",
        );
        assert_eq!(nf.map(|e| e.exit_code()), Some(127));
        let denied = classify_exec_failure(
            "unable to start container process: exec: \"/etc\": permission denied",
        );
        assert_eq!(denied.map(|e| e.exit_code()), Some(126));
        // crun, for a directory as the command.
        let crun = classify_exec_failure("open executable: Operation not permitted");
        assert_eq!(crun.map(|e| e.exit_code()), Some(126));
        assert!(classify_exec_failure("cgroup: something else").is_none());
    }

    #[test]
    fn a_container_already_gone_is_recognised_by_the_runtime_words() {
        assert!(already_gone("container does not exist"));
        assert!(already_gone("delete `abc`: container `abc` not found"));
        assert!(!already_gone("unable to signal init: permission denied"));
    }

    #[test]
    fn json_log_last_error() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("log");
        fs::write(
            &p,
            "{\"level\":\"info\",\"msg\":\"x\"}\n{\"level\":\"error\",\"msg\":\"boom\"}\n",
        )
        .unwrap();
        assert_eq!(last_error(&p).as_deref(), Some("boom"));
    }
}
