//! The Go-template formatter of `--format` (src/template.rs, in the binary crate, included
//! here by path): parse, then render against a fixed record.
#![no_main]

/// The binary's `out!` (print on stdout with its closed-pipe policy), which `list` uses;
/// here the text is made and dropped.
macro_rules! out {
    ($($arg:tt)*) => { drop(format!($($arg)*)) };
}

#[path = "../../src"]
mod cli {
    #[allow(dead_code, unused_imports)]
    pub mod template;
}
use cli::template;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(format) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(t) = template::Template::parse(format, "fuzz") else {
        return;
    };
    let record = serde_json::json!({
        "ID": "0123456789ab", "Names": ["a", "b"], "Size": 1234, "Labels": {"k": "v"},
        "State": {"Running": true, "Pid": 7}, "Empty": [], "Null": null, "F": 1.5
    });
    let _ = t.render_value(&record, "fuzz");
    let _ = t.render_map(&record, "fuzz");
});
