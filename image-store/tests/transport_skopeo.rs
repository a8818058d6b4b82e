//! Interop with skopeo: archives berth writes are read by skopeo, and what skopeo writes from
//! them loads back into berth with the same image id. Skipped when `skopeo` is not installed.

mod transport_support;

use std::path::Path;
use std::process::Command;

use berth_image_store::transports::{load, save, ArchiveFormat, SaveItem};
use transport_support::*;

fn skopeo(args: &[&str]) -> Option<String> {
    let out = match Command::new("skopeo").args(args).output() {
        Ok(o) => o,
        Err(_) => return None,
    };
    assert!(
        out.status.success(),
        "skopeo {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn have_skopeo() -> bool {
    let ok = Command::new("skopeo").arg("--version").output().is_ok();
    if !ok {
        eprintln!("skopeo not installed; skipping");
    }
    ok
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn skopeo_reads_berth_archives_and_berth_reads_skopeo_output() {
    if !have_skopeo() {
        return;
    }
    let (dir, src) = store();
    let image = make_image(&src, "sk", &["localhost/sk:latest"]);
    let item = SaveItem {
        image: image.clone(),
        name: Some("localhost/sk:latest".into()),
    };
    let oci = dir.path().join("sk-oci.tar");
    let docker = dir.path().join("sk-docker.tar");
    save(
        &src,
        std::slice::from_ref(&item),
        ArchiveFormat::OciArchive,
        &oci,
    )
    .unwrap();
    save(&src, &[item], ArchiveFormat::DockerArchive, &docker).unwrap();

    // skopeo inspects both; the image id it reports for docker-archive is the config digest.
    let raw = skopeo(&["inspect", "--raw", &format!("oci-archive:{}", p(&oci))]).unwrap();
    assert!(raw.contains(image.id.digest()), "{raw}");
    let cfg = skopeo(&[
        "inspect",
        "--config",
        &format!("docker-archive:{}", p(&docker)),
    ])
    .unwrap();
    assert!(cfg.contains("diff_ids"), "{cfg}");

    // skopeo rewrites them in each format; berth loads the results with the same id.
    let from_oci = dir.path().join("from-oci-docker.tar");
    skopeo(&[
        "copy",
        &format!("oci-archive:{}", p(&oci)),
        &format!("docker-archive:{}:localhost/sk:v2", p(&from_oci)),
    ])
    .unwrap();
    let layout = dir.path().join("layout");
    skopeo(&[
        "copy",
        &format!("docker-archive:{}", p(&docker)),
        &format!("oci:{}:v3", p(&layout)),
    ])
    .unwrap();
    let from_docker = dir.path().join("from-docker-oci.tar");
    skopeo(&[
        "copy",
        &format!("docker-archive:{}", p(&docker)),
        &format!("oci-archive:{}:localhost/sk:v4", p(&from_docker)),
    ])
    .unwrap();

    let (_d2, dst) = store();
    let a = load(&dst, &from_oci).unwrap();
    assert_eq!(a[0].id, image.id);
    assert_eq!(a[0].names, ["localhost/sk:v2"]);
    // docker-archive → oci: skopeo converts the config (re-serializes it, compresses the
    // layers), so the id changes; the layers' content must not.
    let b = load(&dst, &layout).unwrap();
    assert!(
        b[0].names.is_empty(),
        "a bare tag names nothing: {:?}",
        b[0].names
    );
    let want = src.image_config(&image).unwrap();
    let got = dst.image_config(&b[0]).unwrap();
    assert_eq!(got.rootfs().diff_ids(), want.rootfs().diff_ids());
    let c = load(&dst, &from_docker).unwrap();
    assert_eq!(c[0].names, ["localhost/sk:v4"]);
    let got = dst.image_config(&c[0]).unwrap();
    assert_eq!(got.rootfs().diff_ids(), want.rootfs().diff_ids());
    assert!(dst
        .lookup_image("localhost/sk:v2")
        .is_ok_and(|i| i.id == image.id));
}
