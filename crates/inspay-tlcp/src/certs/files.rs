//! The file layout that `inspay certs` writes and the server's development material uses: a
//! CA as `ca.pem` and `ca-key.pem`, and each sign/enc pair as four files named after it.
//! Keys are written owner-only (0600).

use std::io;
use std::path::{Path, PathBuf};

use super::pem::{read_certificate_file, read_private_key_file, write_private_key_file};
use super::{CertPair, CertifiedKey, DevelopmentCa};
use crate::TlcpError;

fn file_error(path: &Path) -> impl FnOnce(io::Error) -> TlcpError + '_ {
    move |source| TlcpError::File {
        path: path.to_path_buf(),
        source,
    }
}

/// The files of a CA: `<dir>/ca.pem` (what peers trust) and `<dir>/ca-key.pem` (owner-only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaFiles {
    /// The CA certificate, PEM.
    pub certificate: PathBuf,
    /// The CA private key, PEM.
    pub key: PathBuf,
}

impl CaFiles {
    /// `ca.pem` and `ca-key.pem` in `dir`.
    pub fn in_dir(dir: &Path) -> Self {
        CaFiles {
            certificate: dir.join("ca.pem"),
            key: dir.join("ca-key.pem"),
        }
    }

    /// Whether both files exist.
    pub fn exist(&self) -> bool {
        self.certificate.exists() && self.key.exists()
    }

    /// Writes `ca`, creating the directory; the key file is owner-only.
    pub fn write(&self, ca: &DevelopmentCa) -> Result<(), TlcpError> {
        create_parent(&self.certificate)?;
        write_private_key_file(&self.key, &ca.key_pem()?).map_err(file_error(&self.key))?;
        std::fs::write(&self.certificate, ca.certificate_pem()?)
            .map_err(file_error(&self.certificate))
    }

    /// Loads the CA, checking that the key belongs to the certificate.
    pub fn load(&self) -> Result<DevelopmentCa, TlcpError> {
        let certificate =
            read_certificate_file(&self.certificate).map_err(file_error(&self.certificate))?;
        let key = read_private_key_file(&self.key).map_err(file_error(&self.key))?;
        DevelopmentCa::from_pem(&certificate, &key)
    }
}

/// The four files of a sign/enc pair named `name` in a directory: `<name>-sign.pem`,
/// `<name>-sign-key.pem`, `<name>-enc.pem` and `<name>-enc-key.pem`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairFiles {
    /// The sign certificate (and any chain after it), PEM.
    pub sign_certificate: PathBuf,
    /// Its key, PEM.
    pub sign_key: PathBuf,
    /// The enc certificate, PEM.
    pub enc_certificate: PathBuf,
    /// Its key, PEM.
    pub enc_key: PathBuf,
}

impl PairFiles {
    /// The files of pair `name` in `dir`.
    pub fn in_dir(dir: &Path, name: &str) -> Self {
        PairFiles {
            sign_certificate: dir.join(format!("{name}-sign.pem")),
            sign_key: dir.join(format!("{name}-sign-key.pem")),
            enc_certificate: dir.join(format!("{name}-enc.pem")),
            enc_key: dir.join(format!("{name}-enc-key.pem")),
        }
    }

    /// The four paths, for listing.
    pub fn paths(&self) -> [&Path; 4] {
        [
            &self.sign_certificate,
            &self.sign_key,
            &self.enc_certificate,
            &self.enc_key,
        ]
    }

    /// Whether all four files exist.
    pub fn exist(&self) -> bool {
        self.paths().iter().all(|path| path.exists())
    }

    /// Writes `pair`, creating the directory; key files are owner-only.
    pub fn write(&self, pair: &CertPair) -> Result<(), TlcpError> {
        create_parent(&self.sign_certificate)?;
        write_private_key_file(&self.sign_key, &pair.sign.key)
            .map_err(file_error(&self.sign_key))?;
        write_private_key_file(&self.enc_key, &pair.enc.key).map_err(file_error(&self.enc_key))?;
        std::fs::write(&self.sign_certificate, &pair.sign.certificate_pem)
            .map_err(file_error(&self.sign_certificate))?;
        std::fs::write(&self.enc_certificate, &pair.enc.certificate_pem)
            .map_err(file_error(&self.enc_certificate))
    }

    /// Reads the pair (not yet checked: the acceptor or connector checks it when built).
    pub fn read(&self) -> Result<CertPair, TlcpError> {
        let read = |certificate: &Path, key: &Path| -> Result<CertifiedKey, TlcpError> {
            Ok(CertifiedKey {
                certificate_pem: read_certificate_file(certificate)
                    .map_err(file_error(certificate))?,
                key: read_private_key_file(key).map_err(file_error(key))?,
            })
        };
        Ok(CertPair {
            sign: read(&self.sign_certificate, &self.sign_key)?,
            enc: read(&self.enc_certificate, &self.enc_key)?,
        })
    }
}

fn create_parent(path: &Path) -> Result<(), TlcpError> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => {
            std::fs::create_dir_all(dir).map_err(file_error(dir))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::certs::{Role, SubjectName, Validity};

    /// A CA and a pair written and read back are the same, and key files are owner-only.
    #[test]
    fn written_material_reads_back() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let ca = DevelopmentCa::generate("inspay test CA").expect("CA");
        let ca_files = CaFiles::in_dir(&dir.path().join("nested"));
        ca_files.write(&ca).expect("write the CA");
        let loaded = ca_files.load().expect("load the CA");
        assert_eq!(
            loaded.certificate_pem().expect("PEM"),
            ca.certificate_pem().expect("PEM")
        );
        let pair = loaded
            .issue_pair(
                "client-1",
                &[SubjectName::Dns("client-1".into())],
                Role::Client,
                Validity::days_from_now(1),
            )
            .expect("pair");
        let files = PairFiles::in_dir(dir.path(), "client-1");
        assert!(!files.exist());
        files.write(&pair).expect("write the pair");
        assert!(files.exist());
        let read = files.read().expect("read the pair");
        assert_eq!(read.sign.certificate_pem, pair.sign.certificate_pem);
        assert_eq!(read.enc.key.expose(), pair.enc.key.expose());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            for key in [&ca_files.key, &files.sign_key, &files.enc_key] {
                let mode = std::fs::metadata(key)
                    .expect("metadata")
                    .permissions()
                    .mode();
                assert_eq!(mode & 0o777, 0o600, "{}", key.display());
            }
        }
        let missing = PairFiles::in_dir(dir.path(), "nobody")
            .read()
            .expect_err("no such pair");
        assert!(missing.to_string().contains("nobody-sign.pem"), "{missing}");
    }
}
