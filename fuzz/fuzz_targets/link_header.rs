//! `Link` headers (tag and catalog pagination): the next URL must stay on the registry.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Some(next) = berth_registry::client::fuzzing::link(s) {
            assert!(
                next.starts_with("https://registry.example:5000/"),
                "a Link left the registry: {next}"
            );
        }
    }
});
