//! `run_ephemeral` over a snapshot the test prepared, as a build step would (root and runc
//! needed; skipped otherwise).

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::Stdio;

use berth_image_store::import::{import_directory, ImportOptions};
use berth_image_store::Store;
use berth_run::ephemeral::{run_ephemeral, Ephemeral};
use berth_run::process::find_binary;
use berth_run::runtime::{ContainerStdio, TtySink};
use berth_run::RunOptions;

fn busybox_dir(dir: &Path) {
    fs::create_dir_all(dir.join("bin")).unwrap();
    fs::create_dir_all(dir.join("etc")).unwrap();
    fs::copy("/bin/busybox", dir.join("bin/busybox")).unwrap();
    for applet in ["sh", "echo", "cat"] {
        symlink("busybox", dir.join("bin").join(applet)).unwrap();
    }
    fs::write(dir.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n").unwrap();
}

#[test]
fn a_build_step_runs_over_its_snapshot() {
    if !berth_image_store::store::is_host_root()
        || find_binary("runc").is_none()
        || !Path::new("/bin/busybox").exists()
    {
        eprintln!("skipped: needs root, runc and /bin/busybox");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let rootfs = tmp.path().join("rootfs");
    busybox_dir(&rootfs);
    let store = Store::open(&tmp.path().join("store")).unwrap();
    let image = import_directory(&store, &rootfs, &ImportOptions::default()).unwrap();
    let config = store.image_config(&image).unwrap();
    let snap = store.prepare_snapshot("step-1", Some(&image)).unwrap();
    let out_path = tmp.path().join("out");
    let out = fs::File::create(&out_path).unwrap();
    let options = RunOptions {
        command: vec![
            "sh".into(),
            "-c".into(),
            "echo built > /made; echo step-ran; exit 4".into(),
        ],
        ..RunOptions::default()
    };
    let runroot = tmp.path().join("run");
    let code = run_ephemeral(
        &snap,
        &Ephemeral {
            image: &config,
            options: &options,
            // The embedded runtime needs the berth binary; this test binary is not it.
            runtime: Some("runc"),
            runroot: &runroot,
            store_root: store.root(),
        },
        ContainerStdio {
            stdin: Stdio::null(),
            stdout: Stdio::from(out.try_clone().unwrap()),
            stderr: Stdio::from(out),
            tty: TtySink::User { interactive: false },
        },
    )
    .unwrap();
    assert_eq!(code, Some(4));
    assert_eq!(fs::read_to_string(&out_path).unwrap(), "step-ran\n");
    // The step's change is in the snapshot's upper dir, and nothing stays mounted.
    assert_eq!(
        fs::read_to_string(snap.upper.join("made")).unwrap(),
        "built\n"
    );
    assert!(!berth_image_store::mount::is_mounted(&snap.mountpoint));
    assert_eq!(fs::read_dir(runroot.join("containers")).unwrap().count(), 0);
    store.remove_snapshot("step-1").unwrap();
}
