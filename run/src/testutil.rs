//! Records for tests, here and in the front ends' (hidden from the docs).

use chrono::DateTime;

use crate::container::{Container, State};
use crate::options::RunOptions;

/// A container record `web` in `state`, made from `localhost/bb:1`, running
/// `echo hello world this is long` with a bind mount, an anonymous volume, a named volume and
/// an anonymous volume with options; created at a fixed time with nanoseconds.
pub fn container(state: State) -> Container {
    let options = RunOptions {
        volumes: ["/host:/data:ro", "/anon", "named:/n:ro", "/cache:z"]
            .map(|v| v.parse().expect("a valid -v"))
            .to_vec(),
        ..Default::default()
    };
    Container {
        id: "0123456789abcdef".into(),
        name: "web".into(),
        image_id: Some(
            "sha256:abababababababababababababababababababababababababababababababab"
                .parse()
                .expect("a digest"),
        ),
        image_name: "localhost/bb:1".into(),
        snapshot: String::new(),
        command: ["echo", "hello", "world", "this", "is", "long"]
            .map(String::from)
            .to_vec(),
        options,
        spec: oci_spec::runtime::Spec::default().into(),
        runtime: String::new(),
        auto_remove: false,
        labels: Vec::new(),
        created: DateTime::from_timestamp(1_796_663_567, 872_770_000).unwrap_or_default(),
        state,
        pid: None,
        pid_start: None,
        monitor_pid: None,
        monitor_start: None,
        exit_code: None,
        error: None,
        started: None,
        finished: None,
    }
}
