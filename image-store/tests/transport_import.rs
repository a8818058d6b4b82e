//! `import_rootfs`: a rootfs tarball → a one-layer image with the requested changes.

mod transport_support;

use std::collections::HashMap;

use berth_image_store::import::{host_arch, import_rootfs, ImportOptions};
use std::io::BufReader;

use berth_layers::compression::decompress;
use berth_layers::digest::digest_reader;
use berth_layers::{Compression, LayerOptions};
use transport_support::*;

#[test]
fn import_with_changes_builds_the_expected_config() {
    let (_dir, st) = store();
    let rootfs = layer_tar(&[
        ("bin/hello", b"#!/bin/sh\necho hi\n"),
        ("etc/motd", b"hi\n"),
    ]);
    let options = ImportOptions {
        name: Some("imported".into()),
        changes: vec![
            r#"CMD ["/bin/hello","--loud"]"#.into(),
            "ENV FOO=bar".into(),
            "EXPOSE 8080".into(),
            "LABEL org.example=yes".into(),
            "WORKDIR /srv".into(),
        ],
        message: Some("from a tarball".into()),
        layer: LayerOptions {
            compression: Compression::None,
            ..LayerOptions::default()
        },
    };
    let image = import_rootfs(&st, &rootfs[..], &options).unwrap();
    assert_eq!(image.names, ["localhost/imported:latest"]);

    let config = st.image_config(&image).unwrap();
    assert_eq!(config.architecture().to_string(), host_arch());
    assert_eq!(config.os().to_string(), "linux");
    // An uncompressed layer: its diff_id is the digest of the blob itself.
    let manifest = st.image_manifest(&image).unwrap();
    assert_eq!(
        config.rootfs().diff_ids(),
        &[manifest.layers()[0].digest().to_string()]
    );
    let c = config.config().clone().unwrap();
    assert_eq!(c.cmd().clone().unwrap(), ["/bin/hello", "--loud"]);
    let env = c.env().clone().unwrap();
    assert!(
        env.iter().any(|e| e.starts_with("PATH=/usr/local/sbin")),
        "{env:?}"
    );
    assert!(env.contains(&"FOO=bar".to_string()), "{env:?}");
    assert_eq!(c.exposed_ports().clone().unwrap(), ["8080/tcp"]);
    assert_eq!(
        c.labels().clone().unwrap(),
        HashMap::from([("org.example".to_string(), "yes".to_string())])
    );
    assert_eq!(c.working_dir().as_deref(), Some("/srv"));
    let history = config.history().clone().unwrap();
    assert_eq!(history[0].comment().as_deref(), Some("from a tarball"));

    assert_eq!(manifest.layers().len(), 1);
    assert!(st.content().contains(manifest.layers()[0].digest()));
}

#[test]
fn import_gzip_layer_without_name() {
    let (_dir, st) = store();
    let rootfs = layer_tar(&[("a", b"a")]);
    let image = import_rootfs(&st, &rootfs[..], &ImportOptions::default()).unwrap();
    assert!(image.names.is_empty());
    let manifest = st.image_manifest(&image).unwrap();
    assert_eq!(
        manifest.layers()[0].media_type().to_string(),
        "application/vnd.oci.image.layer.v1.tar+gzip"
    );
    let config = st.image_config(&image).unwrap();
    let blob = st.content().open(manifest.layers()[0].digest()).unwrap();
    let (codec, plain) = decompress(BufReader::new(blob)).unwrap();
    assert_eq!(codec, Compression::Gzip);
    let (diff_id, _) = digest_reader(plain).unwrap();
    assert_eq!(config.rootfs().diff_ids(), &[diff_id.to_string()]);
    // The re-encoded layer still holds the file.
    let blob = st.content().open(manifest.layers()[0].digest()).unwrap();
    let (_, plain) = decompress(BufReader::new(blob)).unwrap();
    let mut archive = tar::Archive::new(plain);
    let names: Vec<String> = archive
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().display().to_string())
        .collect();
    assert_eq!(names, ["a"]);
}

#[test]
fn import_refuses_an_unknown_change_by_name() {
    let (_dir, st) = store();
    let rootfs = layer_tar(&[("a", b"a")]);
    let options = ImportOptions {
        changes: vec!["RUN echo no".into()],
        ..ImportOptions::default()
    };
    let err = import_rootfs(&st, &rootfs[..], &options)
        .unwrap_err()
        .to_string();
    assert!(err.contains("RUN echo no"), "{err}");
    assert!(st.list_images().unwrap().is_empty());
}
