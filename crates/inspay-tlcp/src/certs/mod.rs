//! SM2 certificates: a development CA that issues TLCP sign/enc pairs, the development marker,
//! and PEM helpers.
//!
//! Development certificates carry [`DEVELOPMENT_MARKER`] in their subject, as the rustls
//! listener's do, so that the production profile can refuse them with [`is_development`].
//! Private keys are held in [`PrivateKeyPem`], which zeroizes its memory on drop and never
//! prints its contents.

mod describe;
mod files;
mod issue;
pub(crate) mod pem;

use std::fmt;
use std::net::IpAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use zeroize::Zeroizing;

pub use describe::{CertificateSummary, describe};
pub use files::{CaFiles, PairFiles};
pub use issue::DevelopmentCa;
pub use pem::{
    is_development, read_certificate_file, read_private_key_file, write_certificate_file,
    write_private_key_file,
};

/// The subject marker of development certificates (the same text as the rustls listener's).
pub const DEVELOPMENT_MARKER: &str = "inspay DEVELOPMENT";

/// A PEM private key (PKCS#8). The text is zeroized on drop and is never printed by `Debug`.
#[derive(Clone)]
pub struct PrivateKeyPem(Zeroizing<String>);

impl PrivateKeyPem {
    /// Wraps PEM text (for example read from a file with owner-only permissions).
    pub fn new(pem: String) -> Self {
        PrivateKeyPem(Zeroizing::new(pem))
    }

    /// The PEM text, to hand to the crypto library or to write to a private file.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PrivateKeyPem {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("PrivateKeyPem(<redacted>)")
    }
}

/// A certificate and its private key, both PEM.
#[derive(Debug, Clone)]
pub struct CertifiedKey {
    /// The certificate, PEM.
    pub certificate_pem: String,
    /// The private key, PEM (PKCS#8).
    pub key: PrivateKeyPem,
}

/// The two certificates a TLCP endpoint needs: one for signatures and one for key exchange.
#[derive(Debug, Clone)]
pub struct CertPair {
    /// The sign certificate (keyUsage digitalSignature and nonRepudiation) and its key.
    pub sign: CertifiedKey,
    /// The enc certificate (keyUsage keyEncipherment, dataEncipherment, keyAgreement) and key.
    pub enc: CertifiedKey,
}

/// A name a certificate is issued for (subjectAltName entry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubjectName {
    /// A DNS name, for example `localhost`.
    Dns(String),
    /// An IP address, for example `127.0.0.1`.
    Ip(IpAddr),
}

/// Which side of a connection a certificate pair is for (extendedKeyUsage).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// extendedKeyUsage serverAuth.
    Server,
    /// extendedKeyUsage clientAuth.
    Client,
}

/// The validity period of an issued certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Validity {
    not_before: SystemTime,
    not_after: SystemTime,
}

/// How far back `not_before` is set by [`Validity::days_from_now`], so that a peer whose clock
/// is a little behind still accepts a freshly issued certificate.
const CLOCK_SKEW_ALLOWANCE: Duration = Duration::from_secs(60 * 60);

const DAY: Duration = Duration::from_secs(86_400);

impl Validity {
    /// Valid from an hour ago until `days` days from now.
    pub fn days_from_now(days: u32) -> Self {
        let now = SystemTime::now();
        Validity {
            not_before: now.checked_sub(CLOCK_SKEW_ALLOWANCE).unwrap_or(UNIX_EPOCH),
            not_after: now + DAY * days,
        }
    }

    /// Valid between two instants; both may lie in the past (an expired certificate for tests).
    /// Refused if `not_after` is not after `not_before`.
    pub fn between(not_before: SystemTime, not_after: SystemTime) -> Option<Self> {
        (not_after > not_before).then_some(Validity {
            not_before,
            not_after,
        })
    }

    /// The start of the period.
    pub fn not_before(&self) -> SystemTime {
        self.not_before
    }

    /// The end of the period.
    pub fn not_after(&self) -> SystemTime {
        self.not_after
    }
}
