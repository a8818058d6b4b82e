//! policy.json (containers-policy.json(5)).
#![no_main]

use berth_trust::policy::{Policy, PolicySource};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = Policy::parse(data, PolicySource::Default);
});
