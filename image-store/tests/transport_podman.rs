//! Interop with Podman: archives `podman save` writes load into berth with the same image id
//! and names, and `podman load` reads what berth saves. Skipped when `podman` is not installed.

mod transport_support;

use std::path::Path;
use std::process::Command;

use berth_image_store::transports::{load, save, ArchiveFormat, SaveItem};
use tempfile::TempDir;
use transport_support::*;

struct Podman {
    dir: TempDir,
}

impl Podman {
    fn new() -> Option<Podman> {
        if Command::new("podman").arg("--version").output().is_err() {
            eprintln!("podman not installed; skipping");
            return None;
        }
        Some(Podman {
            dir: tempfile::tempdir().unwrap(),
        })
    }

    fn run(&self, args: &[&str]) -> String {
        let root = self.dir.path().join("root");
        let run = self.dir.path().join("run");
        let out = Command::new("podman")
            .arg("--root")
            .arg(&root)
            .arg("--runroot")
            .arg(&run)
            .args(["--storage-driver", "vfs"])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "podman {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    fn id(&self, name: &str) -> String {
        self.run(&["image", "inspect", "--format", "{{.Id}}", name])
    }
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn podman_archives_load_into_berth_and_berth_archives_load_into_podman() {
    let Some(pm) = Podman::new() else { return };
    let work = tempfile::tempdir().unwrap();
    let rootfs = work.path().join("rootfs.tar");
    std::fs::write(&rootfs, layer_tar(&[("hello", b"hi\n")])).unwrap();
    pm.run(&["import", p(&rootfs), "localhost/pm:latest"]);
    pm.run(&["tag", "localhost/pm:latest", "localhost/pm2:latest"]);
    let id = pm.id("localhost/pm:latest");

    let oci = work.path().join("pm-oci.tar");
    let docker = work.path().join("pm-docker.tar");
    let multi = work.path().join("pm-multi.tar");
    pm.run(&[
        "save",
        "--format",
        "oci-archive",
        "-o",
        p(&oci),
        "localhost/pm:latest",
    ]);
    pm.run(&[
        "save",
        "--format",
        "docker-archive",
        "-o",
        p(&docker),
        "localhost/pm:latest",
    ]);
    pm.run(&[
        "save",
        "-m",
        "--format",
        "docker-archive",
        "-o",
        p(&multi),
        "localhost/pm:latest",
        "localhost/pm2:latest",
    ]);

    for archive in [&oci, &docker] {
        let (_d, st) = store();
        let loaded = load(&st, archive).unwrap();
        assert_eq!(loaded.len(), 1, "{}", archive.display());
        assert_eq!(loaded[0].id.to_string(), format!("sha256:{id}"));
        assert_eq!(loaded[0].names, ["localhost/pm:latest"]);
    }
    let (_d, st) = store();
    load(&st, &multi).unwrap();
    assert_eq!(
        all_names(&st),
        ["localhost/pm2:latest", "localhost/pm:latest"]
    );
    let image = st.lookup_image("localhost/pm2:latest").unwrap();
    assert_eq!(image.id.to_string(), format!("sha256:{id}"));

    // And back: podman loads what berth writes.
    let (dir, src) = store();
    let mine = make_image(&src, "berth", &["localhost/mine:latest"]);
    for (format, file) in [
        (ArchiveFormat::OciArchive, "mine-oci.tar"),
        (ArchiveFormat::DockerArchive, "mine-docker.tar"),
    ] {
        let out = dir.path().join(file);
        let item = SaveItem {
            image: mine.clone(),
            name: Some("localhost/mine:latest".into()),
        };
        save(&src, &[item], format, &out).unwrap();
        pm.run(&["rmi", "-i", "-f", "localhost/mine:latest"]);
        pm.run(&["load", "-i", p(&out)]);
        assert_eq!(
            pm.id("localhost/mine:latest"),
            mine.id.digest(),
            "{format:?}"
        );
    }
}
