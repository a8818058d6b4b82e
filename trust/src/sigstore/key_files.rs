//! `generate-sigstore-key`'s two files: `PREFIX.private` (the encrypted private key, mode 0600)
//! and `PREFIX.pub` (mode 0644), neither overwritten. [`KeyPairFiles::new`] refuses an existing
//! file before the front end asks for a passphrase; [`KeyPairFiles::generate`] writes the pair
//! and, when the public key cannot be written, removes the private one again.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use super::generate_key_pair;
use crate::error::TrustError;

/// Where a key pair goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPairFiles {
    pub private: PathBuf,
    pub public: PathBuf,
}

impl KeyPairFiles {
    /// `PREFIX.private` and `PREFIX.pub`; an error when either exists.
    pub fn new(prefix: &Path) -> Result<Self, TrustError> {
        let prefix = prefix.display().to_string();
        let files = KeyPairFiles {
            private: PathBuf::from(format!("{prefix}.private")),
            public: PathBuf::from(format!("{prefix}.pub")),
        };
        for path in [&files.private, &files.public] {
            if path.exists() {
                return Err(TrustError::Exists { path: path.clone() });
            }
        }
        Ok(files)
    }

    /// Make a new key pair (see [`generate_key_pair`]) and write both files, each created new.
    pub fn generate(&self, passphrase: &[u8]) -> Result<(), TrustError> {
        let (private_pem, public_pem) =
            generate_key_pair(passphrase).map_err(TrustError::KeyGeneration)?;
        write_new(&self.private, &private_pem, 0o600)?;
        if let Err(e) = write_new(&self.public, &public_pem, 0o644) {
            let _ = std::fs::remove_file(&self.private);
            return Err(e);
        }
        Ok(())
    }
}

fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<(), TrustError> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(|source| TrustError::Create {
            path: path.to_path_buf(),
            source,
        })?;
    f.write_all(bytes).map_err(|source| TrustError::Write {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;
    use crate::sigstore::{SigstorePrivateKey, SigstorePublicKey};

    #[test]
    fn writes_a_pair_that_signs_and_refuses_to_overwrite_it() {
        let dir = tempfile::tempdir().unwrap();
        let files = KeyPairFiles::new(&dir.path().join("k")).unwrap();
        assert_eq!(files.private, dir.path().join("k.private"));
        files.generate(b"pw").unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&files.private), 0o600);
        let private = std::fs::read(&files.private).unwrap();
        let key = SigstorePrivateKey::from_encrypted_pem(&private, b"pw").unwrap();
        let public = SigstorePublicKey::from_pem(&std::fs::read(&files.public).unwrap()).unwrap();
        public.verify(b"x", &key.sign(b"x")).unwrap();
        let again = KeyPairFiles::new(&dir.path().join("k")).unwrap_err();
        assert!(again
            .to_string()
            .contains("already exists; refusing to overwrite it"));
    }

    #[test]
    fn a_failed_public_key_leaves_no_private_key() {
        let dir = tempfile::tempdir().unwrap();
        let files = KeyPairFiles {
            private: dir.path().join("k.private"),
            public: dir.path().join("missing/k.pub"),
        };
        let err = files.generate(b"pw").unwrap_err();
        assert!(err.to_string().starts_with("creating "), "{err}");
        assert!(!files.private.exists());
    }
}
