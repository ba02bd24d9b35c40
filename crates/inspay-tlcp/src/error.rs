//! The one error type of the crate.
//!
//! Messages say what failed and what to check. They are built from OpenSSL's reason strings and
//! certificate subjects only: no key material, no PEM text and no application data ever goes
//! into an error.

use std::io;

use openssl::error::ErrorStack;
use openssl::ssl::HandshakeError;
use openssl::x509::X509VerifyResult;

/// Why a TLCP or TLS 1.3 (SM) configuration, handshake or certificate operation failed.
#[derive(Debug, thiserror::Error)]
pub enum TlcpError {
    /// The configuration is refused before any connection is made.
    #[error("TLCP configuration refused: {0}")]
    Config(String),
    /// A PEM input could not be parsed.
    #[error("{what} is not valid PEM: {reason}; check that the file holds what its name says")]
    Pem {
        /// Which input (for example "the server sign certificate").
        what: &'static str,
        /// OpenSSL's reason.
        reason: String,
    },
    /// The peer's certificate chain or name did not verify.
    #[error(
        "certificate verify failed: {reason}; check that the peer's certificate is issued by the \
         configured CA, is within its validity period and names the host that was dialled"
    )]
    CertificateVerify {
        /// OpenSSL's verification result, for example "certificate has expired".
        reason: String,
    },
    /// The server requires a client certificate and the client presented none.
    #[error(
        "the client presented no certificate and mutual authentication is required; configure a \
         client sign and enc certificate issued by the server's client CA"
    )]
    NoClientCertificate,
    /// The peer aborted the handshake with an alert.
    #[error(
        "the peer refused the handshake ({alert}); check the peer's log: usually its CA does not \
         trust our certificate, or it requires a certificate or a suite we did not offer"
    )]
    PeerAlert {
        /// The alert, as OpenSSL names it (for example "tlsv1 alert unknown ca").
        alert: String,
    },
    /// No protocol version or cipher suite is acceptable to both sides.
    #[error(
        "no protocol version or cipher suite in common ({reason}); this listener speaks only \
         TLCP with SM2/SM4/SM3 suites and, if enabled, TLS 1.3 with TLS_SM4_GCM_SM3"
    )]
    NoCommonSuite {
        /// OpenSSL's reason.
        reason: String,
    },
    /// The handshake failed for another reason.
    #[error("TLCP handshake failed: {0}")]
    Handshake(String),
    /// The peer closed the connection before the handshake finished.
    #[error("the peer closed the connection during the handshake")]
    ClosedDuringHandshake,
    /// A certificate or key file could not be read or written.
    #[error("{path}: {source}; check the path and its permissions")]
    File {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        source: io::Error,
    },
    /// A socket operation failed.
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
    /// The crypto library failed outside a handshake (key generation, certificate building).
    #[error("crypto library error: {0}")]
    Crypto(String),
}

impl From<ErrorStack> for TlcpError {
    fn from(stack: ErrorStack) -> Self {
        TlcpError::Crypto(reasons(&stack))
    }
}

/// The reasons of an OpenSSL error stack, joined; OpenSSL reasons never carry key material.
pub(crate) fn reasons(stack: &ErrorStack) -> String {
    let list: Vec<String> = stack
        .errors()
        .iter()
        .map(|error| {
            let reason = error.reason().unwrap_or("unknown reason");
            match error.function() {
                Some(function) => format!("{function}: {reason}"),
                None => reason.to_string(),
            }
        })
        .collect();
    if list.is_empty() {
        "no detail from the crypto library".to_string()
    } else {
        list.join("; ")
    }
}

/// Classifies a failed handshake into the clearest variant.
pub(crate) fn classify_handshake<S>(error: &HandshakeError<S>) -> TlcpError {
    match error {
        HandshakeError::SetupFailure(stack) => TlcpError::Handshake(reasons(stack)),
        HandshakeError::Failure(mid) | HandshakeError::WouldBlock(mid) => {
            let verify = mid.ssl().verify_result();
            let detail = mid
                .error()
                .ssl_error()
                .map(reasons)
                .unwrap_or_else(|| mid.error().to_string());
            classify(verify, &detail)
        }
    }
}

fn classify(verify: X509VerifyResult, detail: &str) -> TlcpError {
    let lower = detail.to_ascii_lowercase();
    if verify != X509VerifyResult::OK || lower.contains("certificate verify failed") {
        return TlcpError::CertificateVerify {
            reason: verify.error_string().to_string(),
        };
    }
    if lower.contains("peer did not return a certificate")
        || lower.contains("no certificates returned")
    {
        return TlcpError::NoClientCertificate;
    }
    if lower.contains("no shared cipher")
        || lower.contains("unsupported protocol")
        || lower.contains("no protocols available")
        || lower.contains("no suitable")
        || lower.contains("wrong version number")
        || lower.contains("no ciphers available")
    {
        return TlcpError::NoCommonSuite {
            reason: detail.to_string(),
        };
    }
    if lower.contains("unexpected eof") {
        return TlcpError::ClosedDuringHandshake;
    }
    if let Some(alert) = alert_name(detail) {
        return TlcpError::PeerAlert { alert };
    }
    TlcpError::Handshake(detail.to_string())
}

/// The alert text of a reason such as "ssl3_read_bytes: sslv3 alert bad certificate".
fn alert_name(detail: &str) -> Option<String> {
    detail
        .split("; ")
        .map(|part| part.rsplit(": ").next().unwrap_or(part))
        .find(|reason| reason.contains(" alert "))
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The classifier maps OpenSSL's reasons for a missing client certificate to the clear error.
    #[test]
    fn missing_client_certificate_is_named() {
        let error = classify(
            X509VerifyResult::OK,
            "tls_process_client_certificate_ntls: peer did not return a certificate",
        );
        assert!(matches!(error, TlcpError::NoClientCertificate));
    }

    /// An alert from the peer is reported with its name.
    #[test]
    fn alerts_are_named() {
        let error = classify(
            X509VerifyResult::OK,
            "ssl3_read_bytes: tlsv1 alert unknown ca",
        );
        match error {
            TlcpError::PeerAlert { alert } => assert_eq!(alert, "tlsv1 alert unknown ca"),
            other => panic!("unexpected {other:?}"),
        }
    }
}
