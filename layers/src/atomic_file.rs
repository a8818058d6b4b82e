//! Host files berth writes whole and replaces atomically (auth.json, policy.json, bundles,
//! caches, archives): the one implementation every crate uses.
//!
//! [`AtomicFile::create`] opens the parent directory once and creates a temporary file in it
//! with `O_CREAT|O_EXCL|O_NOFOLLOW` under an unpredictable name ([`TEMP_PREFIX`] and 64
//! random bits from the kernel), retrying on `EEXIST`: a name another user planted (a
//! symlink, a file, a fifo) is never opened, only skipped. The file gets its final mode when it
//! is created, set exactly with `fchmod` (independent of the umask) before a byte is
//! written, and is never made wider afterwards. An existing regular target keeps its mode when
//! that is tighter (the final mode is the requested one masked by the old one); a symlink at
//! the target's name is replaced, not followed. [`AtomicFile::commit`] fsyncs the file,
//! renames it over the target relative to the same directory descriptor, and fsyncs the
//! directory; dropping an uncommitted file removes the temporary name.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, Write};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, Mode, OFlags};

/// How every temporary name starts; leftovers of a killed process are recognized by it.
pub const TEMP_PREFIX: &str = ".berth-tmp-";

/// How many names are tried before giving up (each collision is 1 in 2^64 unless planted).
const ATTEMPTS: usize = 64;

/// A file being written beside its target; visible under the target's name only after
/// [`AtomicFile::commit`].
pub struct AtomicFile {
    dir: OwnedFd,
    file: Option<File>,
    temp: OsString,
    name: OsString,
    path: PathBuf,
}

impl AtomicFile {
    /// Start replacing `path` (its parent directory must exist) with a file of mode `mode`
    /// (masked by the mode of an existing regular file at `path`).
    pub fn create(path: &Path, mode: u32) -> io::Result<AtomicFile> {
        AtomicFile::create_named(path, mode, &mut temp_name)
    }

    /// [`AtomicFile::create`] with temporary names from `next_name`.
    fn create_named(
        path: &Path,
        mode: u32,
        next_name: &mut dyn FnMut() -> io::Result<OsString>,
    ) -> io::Result<AtomicFile> {
        let name = path
            .file_name()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file name"))?
            .to_os_string();
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let dir = rustix::fs::open(
            parent,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        let mode = final_mode(&dir, &name, mode)?;
        for _ in 0..ATTEMPTS {
            let temp = next_name()?;
            let flags =
                OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
            match rustix::fs::openat(&dir, temp.as_os_str(), flags, Mode::from_raw_mode(mode)) {
                Ok(fd) => {
                    let this = AtomicFile {
                        dir,
                        file: Some(File::from(fd)),
                        temp,
                        name,
                        path: path.to_path_buf(),
                    };
                    // The umask can only have narrowed the mode: set it exactly (on error,
                    // dropping `this` removes the name).
                    rustix::fs::fchmod(this.as_file(), Mode::from_raw_mode(mode))?;
                    return Ok(this);
                }
                Err(rustix::io::Errno::EXIST) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!(
                "{ATTEMPTS} temporary names in {} were taken",
                parent.display()
            ),
        ))
    }

    /// The target's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The open temporary file (for writers that need a `File`, such as a tar builder).
    pub fn as_file(&self) -> &File {
        self.file
            .as_ref()
            .expect("an uncommitted AtomicFile holds its file")
    }

    /// Fsync, rename over the target, fsync the directory.
    pub fn commit(mut self) -> io::Result<()> {
        let file = self
            .file
            .take()
            .expect("an uncommitted AtomicFile holds its file");
        file.sync_all()?;
        drop(file);
        rustix::fs::renameat(&self.dir, &self.temp, &self.dir, &self.name)?;
        self.temp = OsString::new();
        rustix::fs::fsync(&self.dir)?;
        Ok(())
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self.file.as_mut() {
            Some(f) => f.write(buf),
            None => Err(io::Error::other("atomic file already committed")),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self.file.as_mut() {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if !self.temp.is_empty() {
            let _ = rustix::fs::unlinkat(&self.dir, &self.temp, AtFlags::empty());
        }
    }
}

/// Replace `path` with `bytes` atomically, mode `mode` (see [`AtomicFile::create`]).
pub fn write_atomically(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let mut f = AtomicFile::create(path, mode)?;
    f.write_all(bytes)?;
    f.commit()
}

/// Whether `name` is one of [`AtomicFile`]'s temporary names (a leftover once no writer runs).
pub fn is_temp_name(name: &OsStr) -> bool {
    name.as_encoded_bytes().starts_with(TEMP_PREFIX.as_bytes())
}

/// `mode` masked by the mode of the regular file already at `name` (not following a symlink).
fn final_mode(dir: &OwnedFd, name: &OsStr, mode: u32) -> io::Result<u32> {
    let mode = mode & 0o7777;
    match rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st)
            if rustix::fs::FileType::from_raw_mode(st.st_mode)
                == rustix::fs::FileType::RegularFile =>
        {
            Ok(mode & st.st_mode & 0o7777)
        }
        Ok(_) | Err(rustix::io::Errno::NOENT) => Ok(mode),
        Err(e) => Err(e.into()),
    }
}

/// [`TEMP_PREFIX`] and 16 hex digits from the kernel's random pool.
fn temp_name() -> io::Result<OsString> {
    Ok(format!("{TEMP_PREFIX}{:016x}", random_u64()?).into())
}

/// 64 random bits from `getrandom(2)`: unpredictable to another user, unlike a pid or a time.
pub fn random_u64() -> io::Result<u64> {
    let mut buf = [0u8; 8];
    let mut filled = 0;
    while filled < buf.len() {
        match rustix::rand::getrandom(&mut buf[filled..], rustix::rand::GetRandomFlags::empty()) {
            Ok(n) => filled += n,
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(u64::from_ne_bytes(buf))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{symlink, PermissionsExt};

    fn mode_of(p: &Path) -> u32 {
        std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
    }

    fn names_in(d: &Path) -> Vec<OsString> {
        let mut names: Vec<_> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn writes_the_requested_mode() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("auth.json");
        write_atomically(&p, b"{}\n", 0o600).unwrap();
        assert_eq!(mode_of(&p), 0o600);
        assert_eq!(std::fs::read(&p).unwrap(), b"{}\n");
        let q = d.path().join("policy.json");
        write_atomically(&q, b"{}\n", 0o644).unwrap();
        assert_eq!(mode_of(&q), 0o644);
    }

    #[test]
    fn an_existing_target_keeps_a_tighter_mode_and_loses_a_wider_one() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("policy.json");
        std::fs::write(&p, "old").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        write_atomically(&p, b"new", 0o644).unwrap();
        assert_eq!(mode_of(&p), 0o600);
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o666)).unwrap();
        write_atomically(&p, b"newer", 0o600).unwrap();
        assert_eq!(mode_of(&p), 0o600);
        assert_eq!(std::fs::read(&p).unwrap(), b"newer");
    }

    #[test]
    fn a_symlink_at_the_target_is_replaced_not_followed() {
        let d = tempfile::tempdir().unwrap();
        let victim = d.path().join("victim");
        std::fs::write(&victim, "keep").unwrap();
        std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o644)).unwrap();
        let p = d.path().join("auth.json");
        symlink(&victim, &p).unwrap();
        write_atomically(&p, b"secret", 0o600).unwrap();
        assert_eq!(std::fs::read(&victim).unwrap(), b"keep");
        assert_eq!(mode_of(&victim), 0o644);
        assert!(std::fs::symlink_metadata(&p).unwrap().is_file());
        assert_eq!(std::fs::read(&p).unwrap(), b"secret");
        assert_eq!(mode_of(&p), 0o600);
    }

    #[test]
    fn planted_temporary_names_are_skipped_not_opened() {
        let d = tempfile::tempdir().unwrap();
        let victim = d.path().join("victim");
        std::fs::write(&victim, "keep").unwrap();
        // The first names tried are taken: a symlink to the victim, a dangling symlink (which
        // O_CREAT without O_EXCL would create the target of), a plain file.
        symlink(&victim, d.path().join(".t1")).unwrap();
        symlink(d.path().join("created-through"), d.path().join(".t2")).unwrap();
        std::fs::write(d.path().join(".t3"), "theirs").unwrap();
        let mut names = [".t1", ".t2", ".t3", ".t4"].into_iter().map(OsString::from);
        let p = d.path().join("auth.json");
        let mut f = AtomicFile::create_named(&p, 0o600, &mut || Ok(names.next().unwrap())).unwrap();
        assert_eq!(f.temp, ".t4");
        f.write_all(b"secret").unwrap();
        f.commit().unwrap();
        assert_eq!(std::fs::read(&victim).unwrap(), b"keep");
        assert_eq!(std::fs::read(d.path().join(".t3")).unwrap(), b"theirs");
        assert_eq!(std::fs::read(&p).unwrap(), b"secret");
        assert_eq!(mode_of(&p), 0o600);
        assert_eq!(
            names_in(d.path()),
            [".t1", ".t2", ".t3", "auth.json", "victim"].map(OsString::from)
        );
    }

    #[test]
    fn gives_up_when_every_name_is_taken() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join(".taken"), "").unwrap();
        let err = AtomicFile::create_named(&d.path().join("f"), 0o600, &mut || {
            Ok(OsString::from(".taken"))
        })
        .err()
        .unwrap();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert!(err.to_string().contains("temporary names"), "{err}");
    }

    #[test]
    fn dropped_uncommitted_leaves_nothing_and_names_differ() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("x");
        let mut a = AtomicFile::create(&p, 0o600).unwrap();
        let b = AtomicFile::create(&p, 0o600).unwrap();
        assert_ne!(a.temp, b.temp);
        assert!(is_temp_name(&a.temp) && is_temp_name(&b.temp));
        a.write_all(b"half").unwrap();
        drop(a);
        drop(b);
        assert!(names_in(d.path()).is_empty());
    }
}
