//! PEM conversions and files, and the development marker check.

use std::io::{self, Write};
use std::path::Path;

use openssl::pkey::{Id, PKey, Private};
use openssl::x509::X509;

use super::{DEVELOPMENT_MARKER, PrivateKeyPem};
use crate::TlcpError;
use crate::error::reasons;

/// Whether the first certificate in `certificate_pem` carries [`DEVELOPMENT_MARKER`] in any
/// subject attribute. Text that is not a PEM certificate is not a development certificate.
pub fn is_development(certificate_pem: &str) -> bool {
    let Ok(certificate) = X509::from_pem(certificate_pem.as_bytes()) else {
        return false;
    };
    certificate.subject_name().entries().any(|entry| {
        entry
            .data()
            .to_string()
            .is_ok_and(|text| text.contains(DEVELOPMENT_MARKER))
    })
}

/// Reads a PEM certificate (or chain) file.
pub fn read_certificate_file(path: &Path) -> io::Result<String> {
    std::fs::read_to_string(path)
}

/// Reads a PEM private key file into zeroizing memory.
pub fn read_private_key_file(path: &Path) -> io::Result<PrivateKeyPem> {
    std::fs::read_to_string(path).map(PrivateKeyPem::new)
}

/// Writes a PEM certificate file (readable by all, like any certificate).
pub fn write_certificate_file(path: &Path, certificate_pem: &str) -> io::Result<()> {
    std::fs::write(path, certificate_pem)
}

/// Writes a PEM private key file that only its owner can read or write (mode 0600 on Unix),
/// replacing any existing file.
pub fn write_private_key_file(path: &Path, key: &PrivateKeyPem) -> io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        options.mode(0o600);
        let mut file = options.open(path)?;
        // An existing file keeps its mode on open; tighten it before writing the key.
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        file.write_all(key.expose().as_bytes())?;
        file.sync_all()
    }
    #[cfg(not(unix))]
    {
        let mut file = options.open(path)?;
        file.write_all(key.expose().as_bytes())?;
        file.sync_all()
    }
}

/// One certificate as PEM.
pub(crate) fn certificate_to_pem(certificate: &X509) -> Result<String, TlcpError> {
    let bytes = certificate.to_pem()?;
    String::from_utf8(bytes).map_err(|_| TlcpError::Crypto("PEM output is not UTF-8".into()))
}

/// All certificates of a PEM text, leaf first; refuses an empty text.
pub(crate) fn certificates_from_pem(pem: &str, what: &'static str) -> Result<Vec<X509>, TlcpError> {
    let chain = X509::stack_from_pem(pem.as_bytes()).map_err(|error| TlcpError::Pem {
        what,
        reason: reasons(&error),
    })?;
    if chain.is_empty() {
        return Err(TlcpError::Pem {
            what,
            reason: "no certificate found".into(),
        });
    }
    Ok(chain)
}

/// A private key as PKCS#8 PEM in zeroizing memory.
pub(crate) fn private_key_to_pem(key: &PKey<Private>) -> Result<PrivateKeyPem, TlcpError> {
    let bytes = zeroize::Zeroizing::new(key.private_key_to_pem_pkcs8()?);
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| TlcpError::Crypto("PEM output is not UTF-8".into()))?;
    Ok(PrivateKeyPem::new(text.to_string()))
}

/// Parses a PEM private key. An SM2 key may decode as a generic EC key on the SM2 curve; it is
/// rewrapped so that it has type SM2, which SM2 signing and TLCP need.
pub(crate) fn private_key_from_pem(
    key: &PrivateKeyPem,
    what: &'static str,
) -> Result<PKey<Private>, TlcpError> {
    // The reason strings of a failed parse name the decoder, never the input.
    let parsed =
        PKey::private_key_from_pem(key.expose().as_bytes()).map_err(|error| TlcpError::Pem {
            what,
            reason: reasons(&error),
        })?;
    match parsed.id() {
        Id::SM2 => Ok(parsed),
        Id::EC => {
            let ec = parsed.ec_key()?;
            let on_sm2 = ec.group().curve_name() == Some(openssl::nid::Nid::SM2);
            if !on_sm2 {
                return Err(not_sm2(what));
            }
            Ok(PKey::from_ec_key(ec)?)
        }
        _ => Err(not_sm2(what)),
    }
}

fn not_sm2(what: &'static str) -> TlcpError {
    TlcpError::Config(format!("{what} is not an SM2 key; TLCP needs SM2 keys"))
}
