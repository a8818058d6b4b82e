//! Manifests, indexes and configs: the one gate (`check_document`, `check_image`), the
//! parsers behind it, and the content check of a blob's first bytes.
#![no_main]

use berth_layers::document::{check_document, check_image, Declared};
use berth_layers::media_type::{check_head, KnownMediaType};
use libfuzzer_sys::fuzz_target;
use oci_spec::image::{ImageConfiguration, ImageIndex, ImageManifest};

const TYPES: [&str; 4] = [
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/json",
];

fuzz_target!(|data: &[u8]| {
    let Some((first, body)) = data.split_first() else {
        return;
    };
    let declared: Vec<Declared> = Declared::content_type(Some(TYPES[(*first as usize) % 4]))
        .into_iter()
        .collect();
    if check_document(body, &declared).is_ok() {
        let _ = check_image(body);
    }
    let _ = check_document(body, &[]);
    let _ = ImageManifest::from_reader(body);
    let _ = ImageIndex::from_reader(body);
    let _ = ImageConfiguration::from_reader(body);
    for name in TYPES {
        let _ = check_head(name, body);
    }
    if let Some(k) = KnownMediaType::parse("application/vnd.oci.image.layer.v1.tar") {
        let _ = k.check_head(body);
    }
});
