//! registries.d (YAML): one file in a scratch directory per input.
#![no_main]

use berth_trust::registries_d::RegistriesD;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().expect("scratch dir");
    std::fs::write(dir.path().join("fuzz.yaml"), data).expect("write input");
    if let Ok(d) = RegistriesD::parse_dir(dir.path()) {
        let _ = format!("{d:?}");
    }
});
