//! Where an image layout is written: [`LayoutSink`], files by relative path with known sizes,
//! into a directory ([`DirSink`], `oci:`) or as tar members ([`TarSink`], `oci-archive:`, and
//! `docker-archive:` for its own members).

use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use crate::error::{Result, StoreError};

/// Where a layout is written: files by relative path with known sizes.
pub trait LayoutSink {
    /// Write `size` bytes from `reader` as the file `path` (relative, `/`-separated).
    fn add(&mut self, path: &str, size: u64, reader: &mut dyn Read) -> io::Result<()>;
    /// Complete the output.
    fn finish(&mut self) -> io::Result<()>;
}

/// A layout written into a directory.
pub struct DirSink {
    root: PathBuf,
}

impl DirSink {
    /// Write into `root` (created if missing).
    pub fn new(root: &Path) -> Result<DirSink> {
        fs::create_dir_all(root.join("blobs/sha256"))
            .map_err(|e| StoreError::io(root.join("blobs/sha256"), e))?;
        Ok(DirSink {
            root: root.to_path_buf(),
        })
    }
}

impl LayoutSink for DirSink {
    fn add(&mut self, path: &str, size: u64, reader: &mut dyn Read) -> io::Result<()> {
        let target = self.root.join(path);
        let mut file = File::create(&target)?;
        let result = io::copy(reader, &mut file).and_then(|n| {
            if n == size {
                file.sync_all()
            } else {
                Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{path}: expected {size} bytes, got {n}"),
                ))
            }
        });
        if result.is_err() {
            let _ = fs::remove_file(&target);
        }
        result
    }

    fn finish(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A layout (or any set of files) written as tar members, deterministic headers.
pub struct TarSink {
    builder: tar::Builder<BufWriter<File>>,
}

impl TarSink {
    /// Write a tar stream into `file`.
    pub fn new(file: File) -> TarSink {
        TarSink {
            builder: tar::Builder::new(BufWriter::new(file)),
        }
    }
}

impl LayoutSink for TarSink {
    fn add(&mut self, path: &str, size: u64, reader: &mut dyn Read) -> io::Result<()> {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_size(size);
        header.set_mode(0o644);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(0);
        self.builder.append_data(&mut header, path, reader)
    }

    fn finish(&mut self) -> io::Result<()> {
        self.builder.finish()?;
        let out = self.builder.get_mut();
        out.flush()?;
        out.get_ref().sync_all()
    }
}
