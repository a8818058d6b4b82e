//! Supervising a started container until it exits, in the process that started it (the CLI
//! for `run`/`start -a`, else the container's monitor): mount its rootfs, write its bundle,
//! create and start it through the runtime, wait for its init as a child subreaper, then
//! record the exit and release the rootfs (and remove a `--rm` container).
//!
//! The supervisor makes itself a child subreaper, so once the runtime's `create` has exited
//! the container's init process is its child and `waitpid` gives the exact exit status;
//! [`crate::reap`] does the waiting (each thread for its own pid) and reaps the orphans nobody
//! waits for.

use std::path::Path;
use std::process::Stdio;

use crate::attach::TtySession;
use crate::console::ConsoleSocket;
use crate::container::{Container, State};
use crate::error::{Result, RunError};
use crate::reap::{become_subreaper, wait_child};
use crate::runtime::{start_or_kill, ContainerStdio, OciRuntime, TtySink};
use crate::signals::forward_signals_to;
use berth_network::netns::NetNs;

use super::network::HeldPort;
use super::start_lock::StartLock;
use super::Engine;

/// A launched container: its init's pid and its terminal session.
type Launched = (u32, Option<TtySession>);

impl Engine<'_> {
    /// [`Engine::run_attached`], also waiting for the `drains` (threads copying the
    /// container's output) before the exit is recorded, so a waiter sees all the output.
    /// `restarting` says (once, with the exit code) whether this process starts the
    /// container again (its monitor, `--restart`): the exit is then recorded as one that
    /// is followed by a restart.
    pub(crate) fn supervise(
        &self,
        c: &Container,
        stdio: ContainerStdio,
        drains: Vec<std::thread::JoinHandle<()>>,
        lock: Option<StartLock>,
        restarting: &dyn Fn(Option<i32>) -> bool,
    ) -> Result<Option<i32>> {
        if c.state == State::Running {
            return Err(RunError::FailedPrecondition(format!(
                "container {} is already running",
                c.name
            )));
        }
        become_subreaper();
        let rt = self.runtime_for(c)?;
        let me = std::process::id();
        self.records().set_monitor(&c.id, me)?;
        let started = self.start_process(c, rt.as_ref(), stdio);
        let (pid, held_ports) = match started {
            Ok(pid) => pid,
            Err(e) => {
                self.release(c);
                self.records()
                    .set_start_error(&c.id, &e.to_string(), i32::from(e.exit_code()))?;
                return Err(e);
            }
        };
        let (pid, tty) = pid;
        drop(lock);
        let oom = crate::oom::OomWatch::of_pid(pid);
        let code = wait_child(pid);
        // Read before `finish` has the runtime remove the cgroup.
        let oom_killed = oom.is_some_and(|w| w.fired());
        crate::oom::mark(&self.bundle_dir(&c.id), oom_killed);
        drop(held_ports);
        forward_signals_to(0);
        if let Some(tty) = tty {
            tty.finish(code);
        }
        for d in drains {
            let _ = d.join();
        }
        if restarting(code) {
            self.finish_before_restart(c, code)?;
        } else {
            self.finish(c, code)?;
        }
        Ok(code)
    }

    /// Mount `c`'s rootfs, join its networks ([`Engine::join_network`]: the host ports it
    /// publishes are held until it exits), write its bundle from the recorded spec (mounts
    /// resolved in-root, its own network namespace made or joined), then [`Engine::launch`]
    /// it. On failure the caller's [`Engine::release`] undoes the rest.
    fn start_process(
        &self,
        c: &Container,
        rt: &dyn OciRuntime,
        stdio: ContainerStdio,
    ) -> Result<(Launched, Vec<HeldPort>)> {
        let rootfs = self.mount_rootfs(c)?;
        let mut spec = c.spec.get()?.clone();
        let dir = self.bundle_dir(&c.id);
        crate::bundle::create_dir(&dir)?;
        crate::oom::mark(&dir, false);
        let joined = self.join_network(c, &mut spec)?;
        self.join_namespaces(c, &mut spec)?;
        crate::spec::etc_files::write_and_mount(
            &dir,
            &mut spec,
            &c.options,
            &c.name,
            joined.etc.as_ref(),
        )?;
        crate::secrets::inject::apply(
            &crate::secrets::SecretStore::new(self.store().root()),
            &c.options.secrets,
            &dir,
            &mut spec,
        )?;
        crate::rootfs::prepare_mounts(&rootfs, &mut spec)?;
        if !rt.cgroup_mount_read_only() {
            crate::spec::cgroup::bind_v1_view(&mut spec, &dir)?;
        }
        // Held until the runtime's create has joined it.
        let netns = crate::netns::prepare(&mut spec, &self.bundle_dir(&c.id))?;
        let bundle = self.write_bundle(c, &spec)?;
        Ok((self.launch(c, rt, &bundle, stdio, netns)?, joined.held))
    }

    /// Create and start `c` from its written `bundle` on `rt` (with a terminal when `-t`),
    /// forward signals to it, and record it running; `netns` is kept once the runtime's
    /// `create` has joined it (removed at release). Returns the container's init pid (a child of this subreaper)
    /// and its terminal session.
    pub(crate) fn launch(
        &self,
        c: &Container,
        rt: &dyn OciRuntime,
        bundle: &Path,
        mut stdio: ContainerStdio,
        netns: Option<NetNs>,
    ) -> Result<(u32, Option<TtySession>)> {
        // A runtime state left by a crash would make create fail.
        let _ = rt.delete(&c.id, true);
        let (pid, tty) = if c.options.terminal {
            let sock_path = self
                .runroot()
                .join(format!("console-{}.sock", c.short_id()));
            let sock = ConsoleSocket::bind(&sock_path)?;
            let sink = std::mem::replace(&mut stdio.tty, TtySink::User { interactive: false });
            stdio.stdin = Stdio::null();
            stdio.stdout = Stdio::null();
            let pid = rt.create(&c.id, bundle, stdio, Some(sock.path()))?;
            let master = match sock.receive() {
                Ok(m) => m,
                Err(e) => {
                    let _ = rt.delete(&c.id, true);
                    return Err(e);
                }
            };
            (pid, Some(TtySession::connect(master, sink)?))
        } else {
            (rt.create(&c.id, bundle, stdio, None)?, None)
        };
        self.event(c, "init");
        if let Err(e) = self.hold_for_start(c, pid) {
            let _ = rt.delete(&c.id, true);
            return Err(e);
        }
        // The namespace stays bound at `<bundle>/netns` while the container runs (the embedded
        // runtime's exec joins it by that path); `leave_network` removes it at release.
        if let Some(ns) = netns {
            ns.persist();
        }
        forward_signals_to(pid);
        if let Err(e) = start_or_kill(rt, &c.id, pid) {
            forward_signals_to(0);
            return Err(e);
        }
        self.records().set_running(&c.id, pid, std::process::id())?;
        self.event(c, "start");
        Ok((pid, tty))
    }

    /// Record the exit and release the rootfs; remove the container when `--rm`.
    pub fn finish(&self, c: &Container, code: Option<i32>) -> Result<()> {
        self.release(c);
        self.records().set_exited(&c.id, code, None)?;
        // Named as it is now (a rename while it ran).
        let now = self.records().get(&c.id).unwrap_or_else(|_| c.clone());
        self.died_event(&now, code);
        self.event(&now, "cleanup");
        // A pod's `--exit-policy stop` (issue 17).
        self.stop_pod_if_only_infra(&now);
        if c.auto_remove {
            match self.records().get(&c.id) {
                Ok(now) => self.remove_with(&now, true, true)?,
                // Removed meanwhile (`rm -f` after its monitor had gone).
                Err(RunError::NoSuchContainer(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}
