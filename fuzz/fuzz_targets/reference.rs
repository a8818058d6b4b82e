//! Image references: the one Docker reference parser, and the store's name rules (with the
//! `store` feature).
#![no_main]

use berth_layers::reference::{ParsedReference, Reference};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let _ = ParsedReference::parse(s);
    if let Ok(r) = Reference::parse_normalized(s) {
        // Its text form parses back to the same reference.
        let again =
            Reference::parse_normalized(&r.to_string()).expect("a printed reference parses");
        assert_eq!(again, r);
    }
    let _ = Reference::parse_docker(s);
    let _ = Reference::parse_canonical(s);
    #[cfg(feature = "store")]
    {
        let _ = berth_image_store::names::normalize_local(s);
        let _ = berth_image_store::names::normalize_docker(s);
    }
});
