//! The tar layer applier (`apply_layer`) into a scratch root, a fresh temp dir per input;
//! afterwards nothing may exist beside the root in its parent (invariant 4).
#![no_main]

use berth_layers::{apply_layer, ApplyOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().expect("scratch dir");
    let root = dir.path().join("root");
    std::fs::create_dir(&root).expect("root");
    let options = ApplyOptions {
        // No device nodes or owners from fuzz input on a shared machine.
        privileged: false,
        ..ApplyOptions::default()
    };
    let _ = apply_layer(data, &root, &options);
    let beside: Vec<_> = std::fs::read_dir(dir.path())
        .expect("scratch dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(
        beside,
        vec![std::ffi::OsString::from("root")],
        "written outside the root"
    );
});
