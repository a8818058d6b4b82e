//! registries.conf (TOML, v2 and v1 forms): parsed and merged, then a short and a full name
//! resolved through it.
#![no_main]

use std::path::Path;

use berth_registry::config::RegistriesConf;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut conf = RegistriesConf::default();
    if conf.merge_str(text, Path::new("fuzz.conf")).is_err() {
        return;
    }
    for name in ["busybox", "example.com/a/b:1", "localhost/x"] {
        if let Ok(r) = berth_layers::reference::Reference::parse_normalized(name) {
            let _ = conf.pull_endpoints(&r);
            let _ = conf.push_endpoint(&r);
        }
    }
    let _ = conf.host_insecure("example.com");
});
