//! Reading side of `cp`: an inode (opened `O_PATH` without following it) and, for a
//! directory, everything below it → tar entries.
//!
//! Nothing here resolves a path: children are opened relative to their directory's fd, one
//! name at a time, with `O_NOFOLLOW`, and regular files are re-opened through that `O_PATH`
//! fd (pathrs `Handle::reopen`), so a container swapping a directory for a symlink, or a file
//! for a device node, while the copy runs cannot make it read anything but what it stat'ed.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::io::{self, Read, Write};
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use pathrs::flags::OpenFlags;
use pathrs::Handle;
use rustix::fs::{FileType, OFlags, Stat};

use super::error::{perr, CopyError};
use super::xattrs;

/// A tar stream being written from in-root handles.
pub(crate) struct TarOut<W: Write> {
    builder: tar::Builder<W>,
    /// (dev, ino) of files with several links → the first name written.
    links: HashMap<(u64, u64), PathBuf>,
}

impl<W: Write> TarOut<W> {
    pub(crate) fn new(out: W) -> Self {
        let mut builder = tar::Builder::new(out);
        builder.follow_symlinks(false);
        TarOut {
            builder,
            links: HashMap::new(),
        }
    }

    /// Finish the archive (end blocks) and give the writer back.
    pub(crate) fn finish(self) -> Result<W, CopyError> {
        self.builder
            .into_inner()
            .map_err(|e| CopyError::io("tar stream", e))
    }

    /// Write `h` as `name` and, when it is a directory, its contents below `name`.
    pub(crate) fn tree(&mut self, h: &Handle, name: &Path) -> Result<(), CopyError> {
        let st = stat(h, name)?;
        self.entry(h, &st, name)?;
        if FileType::from_raw_mode(st.st_mode) == FileType::Directory {
            self.children(h, name)?;
        }
        Ok(())
    }

    /// Write the contents of directory `h` below `prefix` (empty: at the top of the stream).
    pub(crate) fn children(&mut self, h: &Handle, prefix: &Path) -> Result<(), CopyError> {
        let dir = h
            .reopen(OpenFlags::O_RDONLY | OpenFlags::O_DIRECTORY)
            .map_err(|e| perr(prefix, "open directory", e))?;
        let mut names: Vec<Vec<u8>> = Vec::new();
        let mut iter = rustix::fs::Dir::read_from(&dir)
            .map_err(|e| CopyError::io(prefix, io::Error::from(e)))?;
        for ent in iter.by_ref() {
            let ent = ent.map_err(|e| CopyError::io(prefix, io::Error::from(e)))?;
            let n = ent.file_name().to_bytes();
            if n != b"." && n != b".." {
                names.push(n.to_vec());
            }
        }
        names.sort();
        for n in names {
            let child_name = prefix.join(OsStr::from_bytes(&n));
            // One component, not followed: cannot leave this directory.
            let fd = match rustix::fs::openat(
                &dir,
                OsStr::from_bytes(&n),
                OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                rustix::fs::Mode::empty(),
            ) {
                Ok(fd) => fd,
                // Removed since the listing: skip it, as tar does.
                Err(rustix::io::Errno::NOENT) => continue,
                Err(e) => return Err(CopyError::io(&child_name, e.into())),
            };
            self.tree(&Handle::from_fd(fd), &child_name)?;
        }
        Ok(())
    }

    /// The PAX records of `h`'s extended attributes, ahead of its entry.
    fn xattrs(&mut self, h: &Handle, name: &Path) -> Result<(), CopyError> {
        let attrs = xattrs::read(&h.as_fd()).map_err(|e| CopyError::io(name, e))?;
        let records = xattrs::pax_records(&attrs, &name.to_string_lossy());
        self.builder
            .append_pax_extensions(records.iter().map(|(k, v)| (k.as_str(), *v)))
            .map_err(|e| CopyError::io(name, e))
    }

    fn entry(&mut self, h: &Handle, st: &Stat, name: &Path) -> Result<(), CopyError> {
        let ft = FileType::from_raw_mode(st.st_mode);
        let mut header = tar::Header::new_gnu();
        header.set_mode(st.st_mode & 0o7777);
        header.set_uid(u64::from(st.st_uid));
        header.set_gid(u64::from(st.st_gid));
        header.set_mtime(st.st_mtime.max(0) as u64);
        header.set_size(0);
        let io_err = |e: io::Error| CopyError::io(name, e);
        match ft {
            FileType::Directory => {
                self.xattrs(h, name)?;
                header.set_entry_type(tar::EntryType::Directory);
                let mut dname = name.as_os_str().as_bytes().to_vec();
                dname.push(b'/');
                self.builder
                    .append_data(&mut header, OsStr::from_bytes(&dname), io::empty())
                    .map_err(io_err)?;
            }
            FileType::RegularFile => {
                let key = (st.st_dev, st.st_ino);
                if st.st_nlink > 1 {
                    if let Some(first) = self.links.get(&key) {
                        header.set_entry_type(tar::EntryType::Link);
                        let first = first.clone();
                        return self
                            .builder
                            .append_link(&mut header, name, first)
                            .map_err(io_err);
                    }
                    self.links.insert(key, name.to_path_buf());
                }
                self.xattrs(h, name)?;
                let file = h
                    .reopen(OpenFlags::O_RDONLY)
                    .map_err(|e| perr(name, "open", e))?;
                let size = st.st_size.max(0) as u64;
                header.set_entry_type(tar::EntryType::Regular);
                header.set_size(size);
                // A file that shrinks while it is read is padded, one that grows is cut: the
                // header's size is what the stream holds.
                let data = Exact {
                    inner: file.take(size),
                    left: size,
                };
                self.builder
                    .append_data(&mut header, name, data)
                    .map_err(io_err)?;
            }
            FileType::Symlink => {
                let target = rustix::fs::readlinkat(h.as_fd(), "", Vec::new())
                    .map_err(|e| CopyError::io(name, io::Error::from(e)))?;
                header.set_entry_type(tar::EntryType::Symlink);
                self.builder
                    .append_link(&mut header, name, OsStr::from_bytes(target.as_bytes()))
                    .map_err(io_err)?;
            }
            FileType::Fifo | FileType::CharacterDevice | FileType::BlockDevice => {
                header.set_entry_type(match ft {
                    FileType::Fifo => tar::EntryType::Fifo,
                    FileType::CharacterDevice => tar::EntryType::Char,
                    _ => tar::EntryType::Block,
                });
                if ft != FileType::Fifo {
                    header
                        .set_device_major(rustix::fs::major(st.st_rdev))
                        .map_err(io_err)?;
                    header
                        .set_device_minor(rustix::fs::minor(st.st_rdev))
                        .map_err(io_err)?;
                }
                self.builder
                    .append_data(&mut header, name, io::empty())
                    .map_err(io_err)?;
            }
            // Sockets and unknown types are not archived (as tar).
            _ => tracing::warn!(path = %name.display(), "skipping a socket"),
        }
        Ok(())
    }
}

/// fstat of a handle.
pub(crate) fn stat(h: &Handle, name: &Path) -> Result<Stat, CopyError> {
    rustix::fs::fstat(h).map_err(|e| CopyError::io(name, e.into()))
}

/// A reader of exactly `left` bytes: zeros after a premature end.
struct Exact<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Read for Exact<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            return Ok(0);
        }
        let want = buf.len().min(self.left as usize);
        let mut n = self.inner.read(&mut buf[..want])?;
        if n == 0 {
            buf[..want].fill(0);
            n = want;
        }
        self.left -= n as u64;
        Ok(n)
    }
}
