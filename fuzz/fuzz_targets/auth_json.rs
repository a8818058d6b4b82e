//! auth.json (containers-auth.json(5)): one file per input, then lookups by name. PATH is
//! emptied first, so a `credHelpers` entry never runs a program.
#![no_main]

use berth_registry::auth::AuthFiles;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    static INIT: std::sync::Once = std::sync::Once::new();
    INIT.call_once(|| std::env::set_var("PATH", "/nonexistent"));
    let dir = tempfile::tempdir().expect("scratch dir");
    let path = dir.path().join("auth.json");
    std::fs::write(&path, data).expect("write input");
    let files = AuthFiles::discover(Some(&path));
    for name in ["docker.io/library/busybox", "localhost:5000/a/b", "quay.io"] {
        let _ = files.lookup(name);
    }
});
