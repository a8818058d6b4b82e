//! [`berth_layers::atomic_file`] and [`berth_layers::private_dir`] under different umasks.
//! Its own test binary: the umask is process-wide, so no other test may run beside it.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use berth_layers::atomic_file::write_atomically;
use berth_layers::private_dir::ensure_private_dir;
use rustix::fs::Mode;

fn mode_of(p: &Path) -> u32 {
    std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
}

#[test]
fn modes_do_not_depend_on_the_umask() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("f");
    // A umask that strips owner bits, none at all, and the usual one.
    for umask in [0o277, 0o000, 0o022] {
        let old = rustix::process::umask(Mode::from_raw_mode(umask));
        let mut results = Vec::new();
        for mode in [0o600, 0o644] {
            let _ = std::fs::remove_file(&p);
            results.push((mode, write_atomically(&p, b"x", mode).map(|_| mode_of(&p))));
        }
        let dir = d.path().join(format!("root-{umask:o}/sub"));
        let made = ensure_private_dir(&dir).map(|_| mode_of(&dir));
        rustix::process::umask(old);
        for (mode, got) in results {
            assert_eq!(got.unwrap(), mode, "umask {umask:o}");
        }
        assert_eq!(made.unwrap(), 0o700, "umask {umask:o}");
    }
}
