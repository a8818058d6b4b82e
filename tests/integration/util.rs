//! Test harness: a temp dir holding a store root and a canary, a command builder for the
//! binary, a busybox base image, and cleanup of mounts even when a test fails.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sha2::{Digest as _, Sha256};
use tempfile::TempDir;

/// One test's world: `dir/store` is the store root, `dir/canary` must never change.
pub struct TestEnv {
    pub dir: TempDir,
    pub root: PathBuf,
}

impl TestEnv {
    pub fn new() -> TestEnv {
        let dir = tempfile::Builder::new()
            .prefix("berth-it-")
            .tempdir()
            .expect("temp dir");
        let root = dir.path().join("store");
        let canary = dir.path().join("canary");
        fs::create_dir_all(&canary).unwrap();
        fs::write(canary.join("keep"), b"canary").unwrap();
        TestEnv { dir, root }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// A berth command on this test's store.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_berth"));
        cmd.arg("--root").arg(&self.root).args(args);
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().expect("spawn berth")
    }

    /// Run and require success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        success_stdout(args, self.run(args))
    }

    /// Run and require failure with `code`; returns stderr, which must be one line.
    pub fn fails(&self, args: &[&str], code: i32) -> String {
        let out = self.run(args);
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        assert_eq!(
            out.status.code(),
            Some(code),
            "berth {args:?}: expected exit {code}\nstdout: {}\nstderr: {stderr}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert_eq!(
            stderr.trim_end().lines().count(),
            1,
            "berth {args:?}: error should be one line, got: {stderr}"
        );
        stderr
    }

    /// The canary next to the store is untouched, and no entry named in [`HOSTILE_NAMES`]
    /// appeared where a hostile path would land: anywhere in the test dir (the store, the
    /// run root, the canary; not inside a layer's, snapshot's or volume's own root) or
    /// directly in a directory above it, up to `/`.
    /// A test that makes a file of such a name itself must name it otherwise.
    pub fn assert_canary(&self) {
        let mut landed = Vec::new();
        hostile_names_under(self.dir.path(), &mut landed);
        for dir in self.dir.path().ancestors().skip(1) {
            for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
                if is_hostile_name(&entry.file_name()) {
                    landed.push(entry.path());
                }
            }
        }
        assert!(landed.is_empty(), "hostile input landed: {landed:?}");
        let canary = self.path("canary");
        let entries: Vec<_> = fs::read_dir(&canary)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            entries,
            vec![std::ffi::OsString::from("keep")],
            "canary dir changed"
        );
        assert_eq!(fs::read(canary.join("keep")).unwrap(), b"canary");
    }

    /// `system check` passes.
    pub fn assert_check_clean(&self) {
        let out = self.run(&["system", "check"]);
        assert!(
            out.status.success(),
            "system check found damage:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Import the busybox base image under `name`; returns its id.
    pub fn import_busybox(&self, name: &str) -> String {
        let tar = self.busybox_tar();
        self.ok(&["import", tar.to_str().unwrap(), name])
            .trim()
            .to_string()
    }

    /// A rootfs tarball of Debian's static busybox with its applet links, built once per test.
    pub fn busybox_tar(&self) -> PathBuf {
        let path = self.path("busybox-rootfs.tar");
        if !path.exists() {
            write_busybox_tar(&path);
        }
        path
    }
}

impl Drop for TestEnv {
    fn drop(&mut self) {
        end_pause_processes(self.dir.path());
        unmount_under(self.dir.path());
    }
}

/// The pid files of the pause processes a plain user's berth (and podman, in the parity
/// tests) keep under a test's own `XDG_RUNTIME_DIR` (`xdg/` for `rootless::as_user`, `run/`
/// for the rootless harness): each holds a user namespace open and would outlive the test.
const PAUSE_PID_FILES: &[&str] = &[
    "xdg/berth/pause.pid",
    "run/berth/pause.pid",
    "xdg/libpod/tmp/pause.pid",
];

/// The pid a pid file names (its first word), if the file is there and holds one.
pub(crate) fn pid_in(file: &Path) -> Option<i32> {
    let text = fs::read_to_string(file).ok()?;
    text.split_whitespace().next()?.parse().ok()
}

/// End the pause processes this test's commands started, by the pid their files name, and
/// only when that pid still runs a pause program (never a reused pid).
fn end_pause_processes(dir: &Path) {
    for rel in PAUSE_PID_FILES {
        let Some(pid) = pid_in(&dir.join(rel)) else {
            continue;
        };
        let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline);
        if pid > 1 && (cmdline.contains("userns-pause") || cmdline.contains("catatonit")) {
            // SAFETY: kill(2) on a pause process this test's commands started (its pid file
            // is under the test's own directory, its command line checked above).
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
    }
}

fn parent_of(pid: u32) -> Option<u32> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("PPid:"))
        .and_then(|v| v.trim().parse().ok())
}

/// Names the tests' hostile inputs give what they try to create outside a root
/// (`../escape`, `../evil`, `d/pwned` through a symlink, `…/climbed`, `…/dotdot`).
pub const HOSTILE_NAMES: &[&str] = &["escape", "evil", "pwned", "climbed", "dotdot"];

fn is_hostile_name(name: &std::ffi::OsStr) -> bool {
    HOSTILE_NAMES.iter().any(|h| name == *h)
}

/// Directories that are a root of their own (a layer's `diff`, a snapshot's `upper`, `work`
/// and `merged`, a volume's `_data`, a bundle's `rootfs`): a hostile name resolved in-root may
/// rightly land inside one, so they are not searched.
const ROOTS: &[&str] = &["diff", "upper", "work", "merged", "_data", "rootfs"];

/// Every path under `dir` (not following symlinks, not inside [`ROOTS`]) whose name is
/// hostile.
fn hostile_names_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if is_hostile_name(&entry.file_name()) {
            out.push(path.clone());
        }
        let root = ROOTS.iter().any(|r| entry.file_name() == *r);
        if !root && entry.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            hostile_names_under(&path, out);
        }
    }
}

/// Something that makes berth commands (a store with its run root, its environment):
/// `run` and `ok` come with `cmd`.
pub trait BerthCmd {
    /// A berth command with `args`.
    fn cmd(&self, args: &[&str]) -> Command;

    fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().expect("spawn berth")
    }

    /// Run and require success; returns stdout.
    fn ok(&self, args: &[&str]) -> String {
        success_stdout(args, self.run(args))
    }
}

/// Wait (up to 10 s: a container's last process may still be exiting) until no process is
/// left under `dir` ([`processes_under`]); fails naming `what` and the processes.
pub fn assert_no_processes_under(dir: &Path, what: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let left = processes_under(dir);
        if left.is_empty() {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{what}: processes left: {left:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// A spawned child killed (SIGKILL) and reaped when dropped, also when the test panics
/// before it would have ended it.
pub struct ChildGuard(pub std::process::Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
        }
        let _ = self.0.wait();
    }
}

/// Require that berth `args` succeeded; returns its stdout.
pub fn success_stdout(args: &[&str], out: Output) -> String {
    assert!(
        out.status.success(),
        "berth {args:?} failed with {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Lazily unmount every mount point under `dir` (deepest first), so a failed test leaves no
/// mounts behind.
pub fn unmount_under(dir: &Path) {
    for p in mounts_under(dir) {
        let _ = Command::new("umount").arg("-l").arg(&p).status();
    }
}

/// The mount points under `dir` in this mount namespace, deepest first (a check that a test
/// left none: nothing is unmounted here).
pub fn mounts_under(dir: &Path) -> Vec<String> {
    let Ok(info) = fs::read_to_string("/proc/self/mountinfo") else {
        return Vec::new();
    };
    let prefix = format!("{}/", dir.to_string_lossy().trim_end_matches('/'));
    let mut points: Vec<String> = info
        .lines()
        .filter_map(|l| l.split(' ').nth(4).map(str::to_string))
        .filter(|p| p.starts_with(&prefix) || *p == prefix[..prefix.len() - 1])
        .collect();
    points.sort_by_key(|p| std::cmp::Reverse(p.len()));
    points
}

/// Processes (pid, command line) whose command line or working directory names `dir`: a
/// berth (or a process it started) still running for a test's root. The calling process
/// and its own children (a service or registry the test runs and stops itself) are not
/// listed.
pub fn processes_under(dir: &Path) -> Vec<(u32, String)> {
    let me = std::process::id();
    let needle = dir.to_string_lossy().to_string();
    let mut out = Vec::new();
    let Ok(proc_dir) = fs::read_dir("/proc") else {
        return out;
    };
    for entry in proc_dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == me || parent_of(pid) == Some(me) {
            continue;
        }
        let Ok(raw) = fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&raw).replace('\0', " ");
        let cwd = fs::read_link(entry.path().join("cwd")).unwrap_or_default();
        if cmdline.contains(&needle) || cwd.starts_with(dir) {
            out.push((pid, cmdline.trim_end().to_string()));
        }
    }
    out
}

fn write_busybox_tar(path: &Path) {
    let busybox = Path::new("/bin/busybox");
    assert!(
        busybox.exists(),
        "/bin/busybox is missing: install Debian's busybox-static (scripts/deps.sh does)"
    );
    let list = Command::new(busybox).arg("--list").output().unwrap();
    let applets = String::from_utf8(list.stdout).unwrap();
    let file = fs::File::create(path).unwrap();
    let mut b = tar::Builder::new(file);
    let dir = |b: &mut tar::Builder<fs::File>, name: &str, mode: u32| {
        let mut h = tar::Header::new_gnu();
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(1_700_000_000);
        h.set_entry_type(tar::EntryType::Directory);
        h.set_mode(mode);
        h.set_size(0);
        h.set_mtime(1_700_000_000);
        b.append_data(&mut h, name, std::io::empty()).unwrap();
    };
    for (d, mode) in [
        ("bin", 0o755),
        ("etc", 0o755),
        ("tmp", 0o1777),
        ("root", 0o700),
    ] {
        dir(&mut b, d, mode);
    }
    let mut h = tar::Header::new_gnu();
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(1_700_000_000);
    h.set_mode(0o755);
    h.set_mtime(1_700_000_000);
    let data = fs::read(busybox).unwrap();
    h.set_size(data.len() as u64);
    b.append_data(&mut h, "bin/busybox", &data[..]).unwrap();
    for applet in applets.lines().filter(|a| *a != "busybox" && !a.is_empty()) {
        let mut h = tar::Header::new_gnu();
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(1_700_000_000);
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_mode(0o777);
        h.set_size(0);
        h.set_mtime(1_700_000_000);
        b.append_link(&mut h, format!("bin/{applet}"), "busybox")
            .unwrap();
    }
    for (name, body) in [
        (
            "etc/passwd",
            "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n",
        ),
        ("etc/group", "root:x:0:\nnogroup:x:65534:\n"),
    ] {
        let mut h = tar::Header::new_gnu();
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(1_700_000_000);
        h.set_mode(0o644);
        h.set_mtime(1_700_000_000);
        h.set_size(body.len() as u64);
        b.append_data(&mut h, name, body.as_bytes()).unwrap();
    }
    b.into_inner().unwrap().flush().unwrap();
}

/// A comparable description of a directory tree: path → (type, mode, uid, gid, content hash
/// or link target). Used to compare unpacked trees from different tools.
pub fn tree_summary(root: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        let rel = p.strip_prefix(root).unwrap().to_string_lossy().to_string();
        let md = fs::symlink_metadata(&p).unwrap();
        let ft = md.file_type();
        let what = if ft.is_symlink() {
            format!("link {}", fs::read_link(&p).unwrap().display())
        } else if ft.is_dir() {
            "dir".to_string()
        } else if ft.is_file() {
            format!(
                "file {}",
                hex::encode(Sha256::digest(fs::read(&p).unwrap()))
            )
        } else {
            format!("special {:o}", md.mode())
        };
        let mode = if ft.is_symlink() {
            0
        } else {
            md.permissions().mode() & 0o7777
        };
        out.insert(
            rel,
            format!("{what} mode={mode:o} uid={} gid={}", md.uid(), md.gid()),
        );
        if ft.is_dir() {
            walk(root, &p, out);
        }
    }
}

/// Whether a command-line tool is present (the tests need it; scripts/deps.sh installs it).
pub fn require_tool(name: &str) -> PathBuf {
    for dir in ["/usr/bin", "/usr/sbin", "/bin", "/sbin", "/usr/local/bin"] {
        let p = Path::new(dir).join(name);
        if p.exists() {
            return p;
        }
    }
    panic!("{name} is not installed: run scripts/deps.sh");
}

/// Run a peer tool and require success; returns stdout.
pub fn run_tool(cmd: &mut Command) -> String {
    let out = cmd.output().expect("spawn tool");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}
