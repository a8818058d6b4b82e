//! The Containerfile parser: directives, comments, continuations, heredocs, instruction
//! arguments (`berth_build::parse`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = berth_build::parse("Containerfile", text);
    }
});
