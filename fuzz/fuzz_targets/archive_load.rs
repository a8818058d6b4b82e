//! docker-archive and oci-archive loading (`load_stream`, format detected) into a fresh
//! store per input.
#![no_main]

use berth_image_store::transports::load_stream;
use berth_image_store::Store;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().expect("scratch dir");
    let store = Store::open(&dir.path().join("store")).expect("store");
    let _ = load_stream(&store, data, "fuzz input");
});
