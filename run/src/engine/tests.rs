//! The engine's lifecycle logic (stop, kill, refresh, remove, launch, finish, exec) against
//! the recording fake runtime: real child processes stand in for containers, so no root, no
//! rootfs and no runtime binary are needed.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use berth_image_store::Store;

use super::{Engine, ExecRequest};
use crate::container::{Container, NewContainer, State};
use crate::error::RunError;
use crate::options::RunOptions;
use crate::process::alive;
use crate::reap::{become_subreaper, wait_child};
use crate::runtime::fake::{quiet, Behaviour, Call, FakeRuntime};
use crate::runtime::OciRuntime;
use crate::volumes::Volumes;

/// A pid that is never alive (no monitor).
const GONE: u32 = u32::MAX - 1;

struct Fixture {
    dir: tempfile::TempDir,
    store: Store,
    fake: FakeRuntime,
}

impl Fixture {
    fn new(behaviour: Behaviour) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("store")).unwrap();
        Fixture {
            dir,
            store,
            fake: FakeRuntime::new(behaviour),
        }
    }

    fn engine(&self) -> Engine<'_> {
        Engine::new(&self.store, &self.dir.path().join("run"))
            .unwrap()
            .with_runtime(Arc::new(self.fake.clone()))
    }
}

/// A `created` record named `name` with `options` and the default spec.
fn record(engine: &Engine<'_>, id: &str, options: &RunOptions, auto_remove: bool) -> Container {
    let spec = oci_spec::runtime::Spec::default();
    engine
        .records()
        .insert(&NewContainer {
            id,
            name: &format!("name-{id}"),
            image_id: None,
            image_name: "busybox",
            command: &[],
            options,
            spec: &spec,
            runtime: "fake",
            auto_remove,
            labels: &[],
        })
        .unwrap();
    engine.records().get(id).unwrap()
}

/// A record running the fake's process (no monitor), and the process's pid.
fn running(fx: &Fixture, engine: &Engine<'_>, id: &str, options: &RunOptions) -> (Container, u32) {
    become_subreaper();
    record(engine, id, options, false);
    let pid = fx.fake.create(id, Path::new("/"), quiet(), None).unwrap();
    engine.records().set_running(id, pid, GONE).unwrap();
    (engine.records().get(id).unwrap(), pid)
}

fn create_call(id: &str) -> Call {
    Call::Create {
        id: id.to_string(),
        console: false,
    }
}

fn delete_call(id: &str) -> Call {
    Call::Delete {
        id: id.to_string(),
        force: true,
    }
}

#[test]
fn stop_sends_the_stop_signal_and_records_the_exit() {
    let fx = Fixture::new(Behaviour::default());
    let engine = fx.engine();
    let (c, pid) = running(&fx, &engine, "c1", &RunOptions::default());
    let stopped = engine.stop(&c, Duration::from_secs(5)).unwrap().unwrap();
    assert_eq!(stopped.state, State::Exited);
    assert_eq!(
        fx.fake.calls(),
        [
            create_call("c1"),
            Call::Kill("c1".into(), libc::SIGTERM),
            delete_call("c1")
        ]
    );
    assert_eq!(wait_child(pid), Some(128 + libc::SIGTERM));
}

#[test]
fn stop_uses_the_containers_stop_signal() {
    let fx = Fixture::new(Behaviour::default());
    let engine = fx.engine();
    let opts = RunOptions {
        stop_signal: Some(libc::SIGINT),
        ..RunOptions::default()
    };
    let (c, pid) = running(&fx, &engine, "c2", &opts);
    engine.stop(&c, Duration::from_secs(5)).unwrap();
    assert!(fx
        .fake
        .calls()
        .contains(&Call::Kill("c2".into(), libc::SIGINT)));
    assert_eq!(wait_child(pid), Some(128 + libc::SIGINT));
}

#[test]
fn stop_escalates_to_sigkill_when_the_signal_is_ignored() {
    let fx = Fixture::new(Behaviour {
        ignored: vec![libc::SIGTERM],
        ..Behaviour::default()
    });
    let engine = fx.engine();
    let (c, pid) = running(&fx, &engine, "c3", &RunOptions::default());
    let stopped = engine
        .stop(&c, Duration::from_millis(200))
        .unwrap()
        .unwrap();
    assert_eq!(stopped.state, State::Exited);
    let kills: Vec<Call> = fx
        .fake
        .calls()
        .into_iter()
        .filter(|c| matches!(c, Call::Kill(..)))
        .collect();
    assert_eq!(
        kills,
        [
            Call::Kill("c3".into(), libc::SIGTERM),
            Call::Kill("c3".into(), libc::SIGKILL)
        ]
    );
    assert_eq!(wait_child(pid), Some(128 + libc::SIGKILL));
}

#[test]
fn kill_signals_the_process_when_the_runtime_lost_track() {
    let fx = Fixture::new(Behaviour {
        fail_kill: true,
        ..Behaviour::default()
    });
    let engine = fx.engine();
    let (c, pid) = running(&fx, &engine, "c4", &RunOptions::default());
    engine.kill(&c, libc::SIGKILL).unwrap();
    assert_eq!(wait_child(pid), Some(128 + libc::SIGKILL));
    // The process is gone too: nothing to signal, and not an error.
    engine.kill(&c, libc::SIGKILL).unwrap();
    let created = record(&engine, "c5", &RunOptions::default(), false);
    let err = engine.kill(&created, libc::SIGTERM).unwrap_err();
    assert!(matches!(err, RunError::FailedPrecondition(_)), "{err}");
}

#[test]
fn a_container_whose_monitor_and_process_died_reads_as_exited() {
    let fx = Fixture::new(Behaviour {
        process: "exit 0".to_string(),
        ..Behaviour::default()
    });
    let engine = fx.engine();
    let (c, pid) = running(&fx, &engine, "c6", &RunOptions::default());
    assert_eq!(wait_child(pid), Some(0));
    assert_eq!(c.state, State::Running);
    let now = engine.get("c6").unwrap();
    assert_eq!(now.state, State::Exited);
    assert_eq!(now.exit_code, None);
    assert!(now.error.unwrap().contains("died unexpectedly"));
    assert_eq!(fx.fake.calls().last(), Some(&delete_call("c6")));
    // Saved: the next look finds it exited without releasing it again.
    let calls = fx.fake.calls().len();
    assert_eq!(engine.list().unwrap()[0].state, State::Exited);
    assert_eq!(fx.fake.calls().len(), calls);
}

#[test]
fn remove_refuses_a_running_container_unless_forced() {
    let fx = Fixture::new(Behaviour::default());
    let engine = fx.engine();
    let vols = Volumes::open(fx.store.root()).unwrap();
    let anon = vols.create(None).unwrap();
    let opts = RunOptions {
        named_volumes: vec![anon.name.clone()],
        anonymous_volumes: vec![anon.name.clone()],
        ..RunOptions::default()
    };
    let (c, pid) = running(&fx, &engine, "c7", &opts);
    assert_eq!(engine.volume_users(&anon.name).unwrap(), ["name-c7"]);
    let err = engine.remove(&c, false).unwrap_err();
    assert!(err.to_string().contains("rm -f"), "{err}");
    assert!(alive(Some(pid), None));
    engine.remove_with(&c, true, true).unwrap();
    assert!(matches!(
        engine.get("c7"),
        Err(RunError::NoSuchContainer(_))
    ));
    assert!(fx
        .fake
        .calls()
        .contains(&Call::Kill("c7".into(), libc::SIGTERM)));
    assert_eq!(wait_child(pid), Some(128 + libc::SIGTERM));
    assert!(vols.list().unwrap().iter().all(|v| v.name != anon.name));
}

#[test]
fn launch_creates_starts_and_records_the_container_running() {
    become_subreaper();
    let fx = Fixture::new(Behaviour {
        process: "exit 7".to_string(),
        ..Behaviour::default()
    });
    let engine = fx.engine();
    let c = record(&engine, "c8", &RunOptions::default(), false);
    let bundle = engine.bundle_dir(&c.id);
    let (pid, tty) = engine.launch(&c, &fx.fake, &bundle, quiet(), None).unwrap();
    assert!(tty.is_none());
    let now = engine.records().get("c8").unwrap();
    assert_eq!((now.state, now.pid), (State::Running, Some(pid)));
    // A stale runtime state is deleted before create.
    assert_eq!(
        fx.fake.calls(),
        [
            delete_call("c8"),
            create_call("c8"),
            Call::Start("c8".into())
        ]
    );
    let code = wait_child(pid);
    assert_eq!(code, Some(7));
    engine.finish(&now, code).unwrap();
    let done = engine.records().get("c8").unwrap();
    assert_eq!((done.state, done.exit_code), (State::Exited, Some(7)));
    assert_eq!(fx.fake.calls().last(), Some(&delete_call("c8")));
}

#[test]
fn finish_removes_an_auto_remove_container() {
    let fx = Fixture::new(Behaviour::default());
    let engine = fx.engine();
    let c = record(&engine, "c9", &RunOptions::default(), true);
    engine.finish(&c, Some(0)).unwrap();
    assert!(matches!(
        engine.records().get("c9"),
        Err(RunError::NoSuchContainer(_))
    ));
}

#[test]
fn a_failed_start_kills_the_created_process() {
    become_subreaper();
    let fx = Fixture::new(Behaviour {
        fail_start: Some("boom".to_string()),
        ..Behaviour::default()
    });
    let engine = fx.engine();
    let c = record(&engine, "c10", &RunOptions::default(), false);
    let bundle = engine.bundle_dir(&c.id);
    let err = engine
        .launch(&c, &fx.fake, &bundle, quiet(), None)
        .err()
        .unwrap();
    assert!(err.to_string().contains("boom"), "{err}");
    let pid = fx.fake.pid("c10").unwrap();
    // Killed and reaped: not even a zombie is left.
    assert!(!Path::new(&format!("/proc/{pid}")).exists());
    assert_eq!(engine.records().get("c10").unwrap().state, State::Created);
}

/// A record that reads as running: this test process stands in for its init.
fn running_as_self(engine: &Engine<'_>, id: &str) -> Container {
    record(engine, id, &RunOptions::default(), false);
    let me = std::process::id();
    engine.records().set_running(id, me, GONE).unwrap();
    crate::bundle::create_dir(&engine.bundle_dir(id)).unwrap();
    engine.records().get(id).unwrap()
}

#[test]
fn exec_runs_the_command_with_the_containers_process() {
    let fx = Fixture::new(Behaviour {
        exec_script: "exit 3".to_string(),
        ..Behaviour::default()
    });
    let engine = fx.engine();
    let c = running_as_self(&engine, "c11");
    let req = ExecRequest {
        command: vec!["echo".into(), "hi".into()],
        env: vec!["TERM=dumb".into(), "A=1".into()],
        workdir: Some("/tmp".into()),
        ..ExecRequest::default()
    };
    assert_eq!(engine.exec(&c, &req).unwrap(), Some(3));
    let Some(Call::Exec { id, args, env, cwd }) = fx.fake.calls().pop() else {
        panic!("no exec: {:?}", fx.fake.calls());
    };
    assert_eq!((id.as_str(), cwd.as_str()), ("c11", "/tmp"));
    assert_eq!(args, ["echo", "hi"]);
    // The container's environment, with the request's values winning.
    assert!(env.iter().any(|e| e.starts_with("PATH=")), "{env:?}");
    assert!(env.contains(&"TERM=dumb".to_string()), "{env:?}");
    assert!(!env.contains(&"TERM=xterm".to_string()), "{env:?}");
    assert!(env.contains(&"A=1".to_string()));
    // The process file and the log are removed.
    let left: Vec<_> = std::fs::read_dir(engine.bundle_dir("c11"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn exec_failures_keep_podmans_exit_codes() {
    let fx = Fixture::new(Behaviour {
        exec_script: "exit 1".to_string(),
        exec_log: Some(
            r#"{"level":"error","msg":"exec: \"nosuch\": executable file not found in $PATH"}"#
                .to_string(),
        ),
        ..Behaviour::default()
    });
    let engine = fx.engine();
    let c = running_as_self(&engine, "c12");
    let req = ExecRequest {
        command: vec!["nosuch".into()],
        ..ExecRequest::default()
    };
    let err = engine.exec(&c, &req).unwrap_err();
    assert_eq!(err.exit_code(), 127, "{err}");
}

#[test]
fn exec_is_refused_before_the_runtime_is_asked() {
    let fx = Fixture::new(Behaviour::default());
    let engine = fx.engine();
    let created = record(&engine, "c13", &RunOptions::default(), false);
    let req = ExecRequest {
        command: vec!["true".into()],
        ..ExecRequest::default()
    };
    let err = engine.exec(&created, &req).unwrap_err();
    assert!(matches!(err, RunError::StateImproper(_)), "{err}");
    let c = running_as_self(&engine, "c14");
    let relative = ExecRequest {
        workdir: Some("tmp".into()),
        ..req.clone()
    };
    assert!(engine.exec(&c, &relative).is_err());
    let empty = ExecRequest::default();
    assert!(engine.exec(&c, &empty).is_err());
    assert!(fx.fake.calls().is_empty(), "{:?}", fx.fake.calls());
}
