//! Hostile layers through the CLI: whether `import` or the unpack behind `image mount` refuses
//! them, the error names the entry, nothing lands outside the store, and the store stays
//! consistent.

use std::fs;
use std::path::Path;

use crate::archives::raw_name;
use crate::util::TestEnv;

/// What a hostile tar entry is (modes 0755 unless given).
pub(crate) enum Kind {
    File(&'static [u8]),
    /// A regular file with its own mode (setuid bits included).
    FileMode(&'static [u8], u32),
    Dir,
    /// A directory with its own mode.
    DirMode(u32),
    Symlink(String),
    Hardlink(String),
}

/// Write `entries` (raw names, so `../x` and `.` can be written) as a tar at `path`.
pub(crate) fn hostile_tar(path: &Path, entries: &[(&str, Kind)]) {
    let mut b = tar::Builder::new(fs::File::create(path).unwrap());
    for (name, kind) in entries {
        let mut h = tar::Header::new_gnu();
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(1_700_000_000);
        h.set_mode(0o755);
        h.set_size(0);
        let data: &[u8] = match kind {
            Kind::File(d) | Kind::FileMode(d, _) => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_size(d.len() as u64);
                if let Kind::FileMode(_, mode) = kind {
                    h.set_mode(*mode);
                }
                d
            }
            Kind::Dir | Kind::DirMode(_) => {
                h.set_entry_type(tar::EntryType::Directory);
                if let Kind::DirMode(mode) = kind {
                    h.set_mode(*mode);
                }
                &[]
            }
            Kind::Symlink(t) => {
                h.set_entry_type(tar::EntryType::Symlink);
                h.set_link_name(t).unwrap();
                &[]
            }
            Kind::Hardlink(t) => {
                h.set_entry_type(tar::EntryType::Link);
                let field = &mut h.as_old_mut().linkname;
                field.fill(0);
                field[..t.len()].copy_from_slice(t.as_bytes());
                &[]
            }
        };
        raw_name(&mut h, name);
        h.set_cksum();
        b.append(&h, data).unwrap();
    }
    b.finish().unwrap();
}

/// Import and mount the layer; one of them must fail naming `entry`.
pub(crate) fn assert_refused(env: &TestEnv, entries: &[(&str, Kind)], entry: &str) {
    let tar = env.path("hostile.tar");
    hostile_tar(&tar, entries);
    let import = env.run(&["import", tar.to_str().unwrap(), "hostile"]);
    let stderr = if import.status.success() {
        env.fails(&["image", "mount", "hostile"], 125)
    } else {
        assert_eq!(import.status.code(), Some(125));
        String::from_utf8_lossy(&import.stderr).to_string()
    };
    assert!(
        stderr.contains(entry),
        "error should name {entry:?}: {stderr}"
    );
    env.assert_canary();
    env.assert_check_clean();
}

#[test]
fn dotdot_name_is_refused() {
    let env = TestEnv::new();
    assert_refused(&env, &[("../escape", Kind::File(b"x"))], "../escape");
    assert!(!env.root.join("../escape").exists());
}

#[test]
fn file_through_a_symlink_to_outside_is_refused() {
    let env = TestEnv::new();
    let canary = env.path("canary").to_string_lossy().to_string();
    assert_refused(
        &env,
        &[("d", Kind::Symlink(canary)), ("d/pwned", Kind::File(b"x"))],
        "d/pwned",
    );
    assert!(!env.path("canary/pwned").exists());
}

#[test]
fn hardlink_to_outside_is_refused() {
    let env = TestEnv::new();
    assert_refused(
        &env,
        &[
            ("etc", Kind::Dir),
            (
                "etc/shadow",
                Kind::Hardlink("../../../../etc/shadow".into()),
            ),
        ],
        "etc/shadow",
    );
}

#[test]
fn bare_whiteout_is_refused() {
    let env = TestEnv::new();
    assert_refused(
        &env,
        &[("etc", Kind::Dir), ("etc/.wh.", Kind::File(b""))],
        ".wh.",
    );
}

#[test]
fn whiteout_of_dotdot_is_refused() {
    let env = TestEnv::new();
    assert_refused(
        &env,
        &[("etc", Kind::Dir), ("etc/.wh...", Kind::File(b""))],
        ".wh...",
    );
}

/// An entry name holding terminal escapes reaches the error line escaped (`\x1b`), never as the
/// raw ESC byte that would drive the user's terminal.
#[test]
fn escape_bytes_in_a_refused_name_are_not_printed_raw() {
    let env = TestEnv::new();
    // The second entry's error names its parent, the first entry, as text.
    let name = "\u{1b}[31mred\u{1b}[0m";
    let below = format!("{name}/x");
    let tar = env.path("hostile.tar");
    hostile_tar(
        &tar,
        &[(name, Kind::File(b"x")), (below.as_str(), Kind::File(b"x"))],
    );
    let import = env.run(&["import", tar.to_str().unwrap(), "hostile"]);
    let stderr = if import.status.success() {
        env.run(&["image", "mount", "hostile"]).stderr
    } else {
        import.stderr
    };
    assert!(!stderr.is_empty(), "the layer should be refused");
    assert!(!stderr.contains(&0x1b), "raw ESC in stderr: {stderr:?}");
    let text = String::from_utf8_lossy(&stderr);
    assert!(
        text.contains(r"\x1b[31mred"),
        "error should name the entry: {text}"
    );
    env.assert_canary();
    env.assert_check_clean();
}
