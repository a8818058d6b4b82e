//! PAX extended header records (`berth_layers::pax::records`); what parses is written back
//! and read again the same.
#![no_main]

use berth_layers::pax;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(records) = pax::records(data).collect::<Result<Vec<_>, _>>() else {
        return;
    };
    let owned: Vec<(Vec<u8>, Vec<u8>)> = records
        .iter()
        .map(|(k, v)| (k.to_vec(), v.to_vec()))
        .collect();
    let body = pax::body(&owned);
    let again: Vec<(Vec<u8>, Vec<u8>)> = pax::records(&body)
        .map(|r| r.map(|(k, v)| (k.to_vec(), v.to_vec())))
        .collect::<Result<_, _>>()
        .expect("a written body reads back");
    assert_eq!(again, owned);
});
