//! Variable expansion in instruction arguments and heredocs (`berth_build::expand`): the
//! first byte picks the escape character, the rest is the word; `$A`…`$C` are set.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((first, rest)) = data.split_first() else {
        return;
    };
    let Ok(word) = std::str::from_utf8(rest) else {
        return;
    };
    let escape = if first & 1 == 0 { '\\' } else { '`' };
    let lookup = |name: &str| match name {
        "A" => Some("a value".to_string()),
        "B" => Some(String::new()),
        "C" => Some("*?[x]/".repeat(3)),
        _ => None,
    };
    let _ = berth_build::expand::expand(word, escape, &lookup);
    let _ = berth_build::expand::expand_text(word, escape, &lookup);
});
