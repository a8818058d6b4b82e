//! berth as a plain user: the store lives under `$HOME/.local/share/berth`, every store
//! command works, and `image mount` needs a user namespace (as `podman image mount` needs
//! `podman unshare`).

use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Output};

use crate::util::{require_tool, TestEnv};

pub(crate) const USER: &str = "berth-rootless";

pub(crate) fn ensure_user() {
    let known = Command::new("id").arg("-u").arg(USER).output().unwrap();
    if !known.status.success() {
        let out = Command::new(require_tool("useradd"))
            .args(["--no-create-home", "--shell", "/bin/sh", USER])
            .output()
            .unwrap();
        // Another test process may have made it meanwhile.
        let again = Command::new("id").arg("-u").arg(USER).output().unwrap();
        assert!(again.status.success(), "useradd failed: {out:?}");
    }
}

/// A test dir the plain user owns (made if missing), with a busybox tarball and a `home/`.
pub(crate) fn user_env() -> TestEnv {
    ensure_user();
    let env = TestEnv::new();
    env.busybox_tar();
    std::fs::create_dir(env.path("home")).unwrap();
    // The user's run root: the test's own, so its pause process is the test's to end
    // (`TestEnv`'s drop), not one shared with every other test's user.
    std::fs::create_dir(env.path("xdg")).unwrap();
    let chown = Command::new("chown")
        .arg("-R")
        .arg(format!("{USER}:"))
        .arg(env.dir.path())
        .status()
        .unwrap();
    assert!(chown.success());
    std::fs::set_permissions(env.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    env
}

/// Run a shell command as the plain user with HOME inside the test dir.
pub(crate) fn as_user(env: &TestEnv, script: &str) -> Output {
    Command::new(require_tool("runuser"))
        .args(["-u", USER, "--", "env", "-i"])
        .arg(format!("HOME={}", env.path("home").display()))
        .arg(format!("XDG_RUNTIME_DIR={}", env.path("xdg").display()))
        .arg("PATH=/usr/sbin:/usr/bin:/sbin:/bin")
        .arg(format!("BERTH={}", env!("CARGO_BIN_EXE_berth")))
        .args(["sh", "-c", script])
        .output()
        .unwrap()
}

pub(crate) fn text(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn a_plain_user_has_a_private_store_and_mounts_in_a_user_namespace() {
    let env = user_env();
    let tar = env.busybox_tar();

    let out = as_user(
        &env,
        &format!(
            "set -e; $BERTH import {} bb >/dev/null; $BERTH images; \
             $BERTH save --format oci-archive -o $HOME/bb.tar bb; $BERTH rmi bb >/dev/null; \
             $BERTH load -i $HOME/bb.tar; $BERTH system check",
            tar.display()
        ),
    );
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("localhost/bb"), "{stdout}");
    let store = env.path("home/.local/share/berth");
    assert!(
        store.join("berth.db").is_file(),
        "the rootless store is under HOME"
    );
    assert_eq!(
        std::fs::metadata(&store).unwrap().permissions().mode() & 0o777,
        0o700
    );

    // Outside a user namespace: one clear line, exit 125.
    let out = as_user(&env, "$BERTH image mount bb");
    assert_eq!(out.status.code(), Some(125), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("user namespace"),
        "{}",
        text(&out)
    );

    // Inside one, it mounts and the image's shell runs.
    let out = as_user(
        &env,
        "unshare -r -m sh -c 'set -e; m=$($BERTH image mount bb); chroot $m /bin/sh -c \"echo rootless ok\"; $BERTH image unmount bb >/dev/null'",
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("rootless ok"),
        "{}",
        text(&out)
    );
}
