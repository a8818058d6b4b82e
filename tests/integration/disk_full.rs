//! Full disks (issue 19 item 4): the store on a small tmpfs made by the test, filled but for a
//! little room. A pull, build, import, commit or run that runs out of space fails with one
//! line naming ENOSPC ("no space left on device") and a path on that disk, records nothing
//! (images and containers as before, `system check` clean), leaves no partial file that
//! `system prune` does not reclaim, and succeeds once the space is free again.

use std::fs;
use std::path::PathBuf;
use std::process::Command;

use crate::registry_harness::{berth_in, isolate, Registry};
use crate::util::{success_stdout, BerthCmd, TestEnv};

/// A test store whose root is on a size-capped tmpfs at `<test dir>/disk`.
struct SmallDisk {
    env: TestEnv,
    disk: PathBuf,
    runroot: PathBuf,
}

impl BerthCmd for SmallDisk {
    fn cmd(&self, args: &[&str]) -> Command {
        berth_in(&self.env, &self.runroot, args)
    }
}

impl SmallDisk {
    fn new(size_mib: u64) -> SmallDisk {
        let mut env = TestEnv::new();
        let disk = env.path("disk");
        fs::create_dir_all(&disk).unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size_mib}m,mode=0700")])
            .arg("tmpfs")
            .arg(&disk)
            .output()
            .expect("run mount");
        assert!(out.status.success(), "mount tmpfs: {out:?}");
        env.root = disk.join("store");
        let runroot = env.path("run");
        let d = SmallDisk { env, disk, runroot };
        d.ok(&["images"]);
        d
    }

    /// Bytes free on the disk.
    fn avail(&self) -> u64 {
        let out = Command::new("df")
            .args(["--output=avail", "-B1"])
            .arg(&self.disk)
            .output()
            .expect("run df");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .nth(1)
            .and_then(|l| l.trim().parse().ok())
            .expect("df output")
    }

    /// Fill the disk but for `leave` bytes (a file beside the store).
    fn fill(&self, leave: u64) {
        let free = self.avail();
        let len = free.saturating_sub(leave) as usize;
        fs::write(self.disk.join("filler"), vec![0u8; len]).unwrap();
    }

    /// Give the space back.
    fn free(&self) {
        fs::remove_file(self.disk.join("filler")).unwrap();
    }

    /// What the store records: images and containers.
    fn recorded(&self) -> (String, String) {
        (
            self.ok(&["images", "-q", "--no-trunc"]),
            self.ok(&["ps", "-aq", "--no-trunc"]),
        )
    }

    /// With the disk filled but for `leave` bytes, `args` fails for lack of space: exit 125,
    /// one error line naming ENOSPC and a path on the disk; once the space is freed, nothing
    /// is recorded, the store checks clean, and `system prune` leaves no partial file.
    fn assert_out_of_space(&self, leave: u64, args: &[&str]) {
        let before = self.recorded();
        let snapshots_before = self.snapshots();
        self.fill(leave);
        let out = self.run(args);
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        assert_eq!(out.status.code(), Some(125), "berth {args:?}: {stderr}");
        let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("Error:")).collect();
        assert_eq!(errors.len(), 1, "berth {args:?}: one error line: {stderr}");
        let line = errors[0];
        eprintln!("berth {}: {line}", args[0]);
        assert!(
            line.to_lowercase().contains("no space left on device"),
            "berth {args:?}: the error should say ENOSPC: {line}"
        );
        assert!(
            line.contains(self.disk.to_str().unwrap()),
            "berth {args:?}: the error should name the path on the full disk: {line}"
        );
        self.free();
        assert_eq!(self.recorded(), before, "berth {args:?} recorded something");
        let out = self.run(&["system", "check"]);
        assert!(
            out.status.success(),
            "berth {args:?} left damage: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        self.ok(&["system", "prune", "-f"]);
        let partial = self.partial_files();
        assert!(
            partial.is_empty(),
            "partial files left after prune: {partial:?}"
        );
        assert_eq!(self.snapshots(), snapshots_before, "snapshots left");
    }

    fn snapshots(&self) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(self.env.root.join("snapshots"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .collect();
        v.sort();
        v
    }

    /// Ingest files, layers being unpacked, spools of loads and saves.
    fn partial_files(&self) -> Vec<PathBuf> {
        let mut out: Vec<PathBuf> = fs::read_dir(self.env.root.join("ingest"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        for dir in [self.env.root.join("overlay"), self.env.root.clone()] {
            for e in fs::read_dir(dir).unwrap() {
                let name = e
                    .as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .to_string();
                if ["tmp-", "load-", "save-"]
                    .iter()
                    .any(|p| name.starts_with(p))
                {
                    out.push(e.unwrap().path());
                }
            }
        }
        out
    }

    /// A tarball of busybox plus `mib` MiB of incompressible bytes in `/big`.
    fn big_tar(&self, mib: usize) -> PathBuf {
        let path = self.env.path(&format!("big-{mib}.tar"));
        let base = self.env.busybox_tar();
        let mut b = tar::Builder::new(fs::File::create(&path).unwrap());
        let mut a = tar::Archive::new(fs::File::open(base).unwrap());
        for e in a.entries().unwrap() {
            let mut e = e.unwrap();
            let mut h = e.header().clone();
            let name = e.path().unwrap().to_path_buf();
            if h.entry_type().is_symlink() {
                let target = e.link_name().unwrap().unwrap().to_path_buf();
                b.append_link(&mut h, &name, &target).unwrap();
            } else {
                b.append_data(&mut h, &name, &mut e).unwrap();
            }
        }
        let data = noise(mib << 20);
        let mut h = tar::Header::new_gnu();
        h.set_mode(0o644);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(1_700_000_000);
        h.set_size(data.len() as u64);
        b.append_data(&mut h, "big", &data[..]).unwrap();
        b.into_inner().unwrap();
        path
    }
}

/// `len` bytes that do not compress.
fn noise(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

const ROOM: u64 = 2 << 20;

#[test]
fn import_on_a_full_disk() {
    let d = SmallDisk::new(32);
    let tar = d.big_tar(8);
    d.assert_out_of_space(ROOM, &["import", tar.to_str().unwrap(), "big"]);
    d.ok(&["import", tar.to_str().unwrap(), "big"]);
    d.env.assert_check_clean();
}

#[test]
fn run_on_a_full_disk() {
    let d = SmallDisk::new(40);
    let tar = d.big_tar(8);
    d.ok(&["import", tar.to_str().unwrap(), "big"]);
    // The layer is unpacked on the first run: there is no room for it.
    d.assert_out_of_space(ROOM, &["run", "--rm", "big", "true"]);
    d.ok(&["run", "--rm", "big", "true"]);
    d.env.assert_check_clean();
}

#[test]
fn commit_on_a_full_disk() {
    let d = SmallDisk::new(40);
    d.env.import_busybox("busybox");
    let id = d.ok(&["create", "--name", "harden-b-df", "busybox", "true"]);
    // The container's change: a file in its snapshot's upper dir, too big for the room left.
    let upper = d.env.root.join("snapshots").join(id.trim()).join("upper");
    fs::write(upper.join("big"), noise(8 << 20)).unwrap();
    d.assert_out_of_space(ROOM, &["commit", "-q", "harden-b-df", "committed"]);
    d.ok(&["commit", "-q", "harden-b-df", "committed"]);
    d.ok(&["rm", "harden-b-df"]);
    d.env.assert_check_clean();
}

#[test]
fn build_on_a_full_disk() {
    let d = SmallDisk::new(40);
    d.env.import_busybox("busybox");
    let ctx = d.env.path("ctx");
    fs::create_dir_all(&ctx).unwrap();
    fs::write(ctx.join("Containerfile"), "FROM busybox\nCOPY big /big\n").unwrap();
    fs::write(ctx.join("big"), noise(8 << 20)).unwrap();
    let ctx = ctx.to_str().unwrap();
    d.assert_out_of_space(ROOM, &["build", "-q", "-t", "built", ctx]);
    d.ok(&["build", "-q", "-t", "built", ctx]);
    d.env.assert_check_clean();
}

#[test]
fn pull_on_a_full_disk() {
    let reg = Registry::start();
    let d = SmallDisk::new(40);
    // The image, pushed from a store on the ordinary disk.
    let src = TestEnv::new();
    let tar = d.big_tar(8);
    src.ok(&["import", tar.to_str().unwrap(), "big"]);
    let remote = reg.image("df/big:1");
    let mut push = src.cmd(&["push", "-q", "--tls-verify=false", "big", &remote]);
    isolate(&src, &mut push);
    success_stdout(&["push"], push.output().unwrap());
    d.assert_out_of_space(ROOM, &["pull", "-q", "--tls-verify=false", &remote]);
    d.ok(&["pull", "-q", "--tls-verify=false", &remote]);
    d.env.assert_check_clean();
}

#[test]
fn no_room_left_for_the_database() {
    let d = SmallDisk::new(16);
    d.env.import_busybox("busybox");
    // Not a block free: the database itself cannot grow (SQLite's "disk I/O error").
    d.assert_out_of_space(0, &["run", "--rm", "busybox", "true"]);
    d.assert_out_of_space(0, &["tag", "busybox", "harden-b-df"]);
    d.ok(&["run", "--rm", "busybox", "true"]);
    d.env.assert_check_clean();
}
