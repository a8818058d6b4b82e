//! `WWW-Authenticate` challenges as the registry client reads them.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = berth_registry::client::fuzzing::www_authenticate(s);
    }
});
