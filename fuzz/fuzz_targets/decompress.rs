//! gzip and zstd streams (codec by magic, `berth_layers::compression::decompress`), read to
//! the end or 64 MiB, whichever comes first.
#![no_main]

use std::io::{BufReader, Read};

use berth_layers::compression::decompress;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok((_, reader)) = decompress(BufReader::new(data)) else {
        return;
    };
    let _ = std::io::copy(&mut reader.take(64 << 20), &mut std::io::sink());
});
