//! The verbs that need no new process: `start`, `state`, `kill` and `delete` of a container
//! whose state lives in `<root>/<id>`.

use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::path::Path;

use libcontainer::container::{Container, ContainerStatus};
use libcontainer::notify_socket::NOTIFY_FILE;
use libcontainer::signal::Signal;

use crate::{Error, Result};

/// The container `id`'s state, loaded and refreshed (a dead init reads as `stopped`).
fn load(root: &Path, id: &str) -> Result<Container> {
    let dir = root.join(id);
    if !dir.join("state.json").exists() {
        return Err(Error(format!("container {id} does not exist")));
    }
    let mut c = Container::load(dir).map_err(|e| Error::chain("load state", &e))?;
    c.refresh_status()
        .map_err(|e| Error::chain("refresh state", &e))?;
    Ok(c)
}

/// Whether a state directory exists for `id`.
pub fn exists(root: &Path, id: &str) -> bool {
    root.join(id).join("state.json").exists()
}

/// Let the created container's process run its command: what libcontainer's
/// `Container::start` does, without its `chdir` (process-wide, so two threads starting
/// containers at once could each reach the other's socket) and without poststart hooks
/// (berth's specs have none; `berth oci-runtime start` runs them). The socket is reached
/// through the state directory's descriptor, so its path never exceeds a socket address.
pub fn start(root: &Path, id: &str) -> Result<()> {
    let mut c = load(root, id)?;
    if !c.can_start() {
        return Err(Error(format!(
            "container {id} cannot be started: it is {:?}",
            c.status()
        )));
    }
    let dir = root.join(id);
    let handle = std::fs::File::open(&dir).map_err(|e| Error::chain("start", &e))?;
    let socket = format!("/proc/self/fd/{}/{NOTIFY_FILE}", handle.as_raw_fd());
    let mut stream = UnixStream::connect(&socket)
        .map_err(|e| Error::chain(&format!("start: {}/{NOTIFY_FILE}", dir.display()), &e))?;
    stream
        .write_all(b"start container")
        .map_err(|e| Error::chain("start", &e))?;
    c.set_status(ContainerStatus::Running)
        .save()
        .map_err(|e| Error::chain("start: save state", &e))
}

/// `berth oci-runtime start`: libcontainer's own start, hooks included (a single-threaded
/// process may `chdir`).
pub fn start_with_hooks(root: &Path, id: &str) -> Result<()> {
    load(root, id)?
        .start()
        .map_err(|e| Error::chain("start", &e))
}

/// `(status, pid)`: status is `creating`, `created`, `running`, `paused` or `stopped`; the
/// pid is 0 once stopped.
pub fn state(root: &Path, id: &str) -> Result<(String, u32)> {
    let c = load(root, id)?;
    let status = match c.status() {
        ContainerStatus::Creating => "creating",
        ContainerStatus::Created => "created",
        ContainerStatus::Running => "running",
        ContainerStatus::Stopped => "stopped",
        ContainerStatus::Paused => "paused",
    };
    let pid = match c.status() {
        ContainerStatus::Stopped => 0,
        _ => c.pid().map(|p| p.as_raw() as u32).unwrap_or(0),
    };
    Ok((status.to_string(), pid))
}

/// Send `signal` (a number) to the container's init process.
pub fn kill(root: &Path, id: &str, signal: i32) -> Result<()> {
    let sig = Signal::try_from(signal).map_err(|e| Error::chain("kill", &e))?;
    kill_with(root, id, sig)
}

/// Send `signal` to the container's init process.
pub fn kill_with(root: &Path, id: &str, signal: Signal) -> Result<()> {
    load(root, id)?
        .kill(signal, false)
        .map_err(|e| Error::chain("kill", &e))
}

/// Forget the container (killing its processes first when `force`); an unknown container is
/// not an error, and a state directory without a state (a `create` killed early) is removed.
pub fn delete(root: &Path, id: &str, force: bool) -> Result<()> {
    if !exists(root, id) {
        let dir = root.join(id);
        return match std::fs::remove_dir_all(&dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(Error::chain(&dir.display().to_string(), &e))
            }
            _ => Ok(()),
        };
    }
    load(root, id)?
        .delete(force)
        .map_err(|e| Error::chain("delete", &e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_and_half_made_containers() {
        let d = tempfile::tempdir().unwrap();
        assert!(state(d.path(), "x")
            .unwrap_err()
            .0
            .contains("does not exist"));
        delete(d.path(), "x", true).unwrap();
        // A create killed before it saved a state leaves a directory: delete clears it.
        std::fs::create_dir_all(d.path().join("y")).unwrap();
        std::fs::write(d.path().join("y/notify.sock"), b"").unwrap();
        delete(d.path(), "y", false).unwrap();
        assert!(!d.path().join("y").exists());
    }
}
