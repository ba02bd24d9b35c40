//! Loading and checking an endpoint's sign/enc certificates and keys, and the settings every
//! context gets.

use openssl::pkey::{PKey, Private};
use openssl::ssl::{SslContextBuilder, SslMode, SslOptions};
use openssl::x509::store::X509StoreBuilder;
use openssl::x509::{X509, X509KeyUsage};

use crate::TlcpError;
use crate::certs::PrivateKeyPem;
use crate::certs::pem::{certificates_from_pem, private_key_from_pem};

/// A parsed and checked sign/enc identity.
pub(crate) struct Identity {
    /// The sign certificate, then its intermediates.
    pub(crate) sign_chain: Vec<X509>,
    pub(crate) sign_key: PKey<Private>,
    pub(crate) enc_certificate: X509,
    pub(crate) enc_key: PKey<Private>,
}

/// Whose identity is loaded, for error messages.
#[derive(Clone, Copy)]
pub(crate) enum Side {
    Server,
    Client,
}

impl Side {
    fn name(self) -> &'static str {
        match self {
            Side::Server => "server",
            Side::Client => "client",
        }
    }
}

impl Identity {
    /// Parses the four PEM inputs and checks that each key belongs to its certificate and that
    /// the key usages fit (which also catches swapped sign and enc certificates).
    pub(crate) fn load(
        side: Side,
        sign_chain_pem: &str,
        sign_key: &PrivateKeyPem,
        enc_certificate_pem: &str,
        enc_key: &PrivateKeyPem,
    ) -> Result<Self, TlcpError> {
        let (sign_what, enc_what, sign_key_what, enc_key_what) = match side {
            Side::Server => (
                "the server sign certificate",
                "the server enc certificate",
                "the server sign key",
                "the server enc key",
            ),
            Side::Client => (
                "the client sign certificate",
                "the client enc certificate",
                "the client sign key",
                "the client enc key",
            ),
        };
        let sign_chain = certificates_from_pem(sign_chain_pem, sign_what)?;
        let enc_certificate = certificates_from_pem(enc_certificate_pem, enc_what)?.remove(0);
        let identity = Identity {
            sign_key: private_key_from_pem(sign_key, sign_key_what)?,
            enc_key: private_key_from_pem(enc_key, enc_key_what)?,
            sign_chain,
            enc_certificate,
        };
        identity.check(side)?;
        Ok(identity)
    }

    /// The sign certificate.
    pub(crate) fn sign_certificate(&self) -> &X509 {
        // `load` refuses an empty chain.
        &self.sign_chain[0]
    }

    fn check(&self, side: Side) -> Result<(), TlcpError> {
        let who = side.name();
        let sign_usage = self.sign_certificate().key_usage();
        let enc_usage = self.enc_certificate.key_usage();
        let signs = |usage: Option<X509KeyUsage>| {
            usage.is_none_or(|usage| usage.contains(X509KeyUsage::DIGITAL_SIGNATURE))
        };
        let encrypts = |usage: Option<X509KeyUsage>| {
            usage.is_none_or(|usage| {
                usage.intersects(X509KeyUsage::KEY_ENCIPHERMENT | X509KeyUsage::KEY_AGREEMENT)
            })
        };
        if !signs(sign_usage) && signs(enc_usage) && encrypts(sign_usage) {
            return Err(TlcpError::Config(format!(
                "the {who} sign and enc certificates are swapped: the certificate given as sign \
                 has an encryption keyUsage and the one given as enc a signature keyUsage"
            )));
        }
        if !signs(sign_usage) {
            return Err(TlcpError::Config(format!(
                "the {who} sign certificate's keyUsage lacks digitalSignature"
            )));
        }
        if !encrypts(enc_usage) {
            return Err(TlcpError::Config(format!(
                "the {who} enc certificate's keyUsage lacks keyEncipherment and keyAgreement"
            )));
        }
        if !self
            .sign_certificate()
            .public_key()?
            .public_eq(&self.sign_key)
        {
            return Err(TlcpError::Config(format!(
                "the {who} sign key does not belong to the sign certificate"
            )));
        }
        if !self.enc_certificate.public_key()?.public_eq(&self.enc_key) {
            return Err(TlcpError::Config(format!(
                "the {who} enc key does not belong to the enc certificate"
            )));
        }
        Ok(())
    }

    /// Installs the identity for TLCP (sign and enc) and, with `tls13`, also as the TLS 1.3
    /// certificate (the sign certificate: TLS 1.3 uses one certificate for signatures).
    pub(crate) fn install(
        &self,
        builder: &mut SslContextBuilder,
        tls13: bool,
    ) -> Result<(), TlcpError> {
        builder.set_sign_certificate(self.sign_certificate())?;
        builder.set_sign_private_key(&self.sign_key)?;
        builder.set_enc_certificate(&self.enc_certificate)?;
        builder.set_enc_private_key(&self.enc_key)?;
        if tls13 {
            builder.set_certificate(self.sign_certificate())?;
            builder.set_private_key(&self.sign_key)?;
        }
        for intermediate in self.sign_chain.iter().skip(1) {
            builder.add_extra_chain_cert(intermediate.clone())?;
        }
        Ok(())
    }
}

/// The options every context here gets.
///
/// `DONT_INSERT_EMPTY_FRAGMENTS` works around a Tongsuo 8.5.0 bug: NTLS's version number
/// (0x0101) is below TLS 1.0's, so the record layer turns on the CBC empty-fragment
/// countermeasure and then undersizes its buffer, and the first application-data write fails
/// with `tls_prepare_for_encryption_default: internal error`. TLCP records carry explicit IVs,
/// so the countermeasure is not needed. Renegotiation is refused (it is the only way a write
/// could wait for the peer, and it has a history of attacks); compression is off (CRIME).
pub(crate) fn common_settings(builder: &mut SslContextBuilder) {
    builder.set_options(
        SslOptions::DONT_INSERT_EMPTY_FRAGMENTS
            | SslOptions::NO_RENEGOTIATION
            | SslOptions::NO_COMPRESSION,
    );
    builder.set_mode(SslMode::ACCEPT_MOVING_WRITE_BUFFER);
}

/// A verification store holding the CA certificates of `pem`.
pub(crate) fn trust_store(
    builder: &mut SslContextBuilder,
    pem: &str,
    what: &'static str,
) -> Result<Vec<X509>, TlcpError> {
    let authorities = certificates_from_pem(pem, what)?;
    let mut store = X509StoreBuilder::new()?;
    for authority in &authorities {
        store.add_cert(authority.clone())?;
    }
    builder.set_verify_cert_store(store.build())?;
    Ok(authorities)
}

/// ALPN protocol names in wire format (each prefixed by its length).
pub(crate) fn alpn_wire(protocols: &[String]) -> Result<Vec<u8>, TlcpError> {
    let mut wire = Vec::new();
    for protocol in protocols {
        let length = u8::try_from(protocol.len())
            .ok()
            .filter(|length| *length > 0)
            .ok_or_else(|| {
                TlcpError::Config(format!("ALPN protocol {protocol:?} must be 1 to 255 bytes"))
            })?;
        wire.push(length);
        wire.extend_from_slice(protocol.as_bytes());
    }
    Ok(wire)
}
