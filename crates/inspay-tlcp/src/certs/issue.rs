//! Issuing SM2/SM3 development certificates with the crypto library's X.509 builder.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use openssl::asn1::{Asn1Integer, Asn1Object, Asn1OctetString, Asn1Time};
use openssl::bn::{BigNum, BigNumContext, MsbOption};
use openssl::ec::{EcGroup, EcKey, PointConversionForm};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::x509::extension::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAlternativeName,
};
use openssl::x509::{X509, X509Builder, X509Extension, X509Name, X509NameBuilder};

use super::pem::{certificate_to_pem, private_key_from_pem, private_key_to_pem};
use super::{
    CertPair, CertifiedKey, DEVELOPMENT_MARKER, PrivateKeyPem, Role, SubjectName, Validity,
};
use crate::TlcpError;

/// How long a development CA is valid.
const CA_VALIDITY_DAYS: u32 = 5 * 365;

/// Bits of randomness in a serial number (RFC 5280 allows up to 20 octets; 127 bits with the top
/// bit set keeps it positive and 16 octets long).
const SERIAL_BITS: i32 = 127;

/// A development certificate authority: an SM2 key and a self-signed SM2-with-SM3 certificate
/// whose subject carries [`DEVELOPMENT_MARKER`]. Not for production: everything it issues
/// carries the marker too, and [`super::is_development`] finds it.
pub struct DevelopmentCa {
    certificate: X509,
    key: PKey<Private>,
}

impl fmt::Debug for DevelopmentCa {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("DevelopmentCa")
            .field("subject", &self.certificate.subject_name())
            .field("key", &"<redacted>")
            .finish()
    }
}

impl DevelopmentCa {
    /// Generates a CA named `common_name`, valid for five years, with basicConstraints CA and
    /// keyUsage keyCertSign and cRLSign.
    pub fn generate(common_name: &str) -> Result<Self, TlcpError> {
        let key = sm2_key()?;
        let name = subject(common_name, None)?;
        let mut builder = X509::builder()?;
        start(
            &mut builder,
            &name,
            &name,
            &key,
            Validity::days_from_now(CA_VALIDITY_DAYS),
        )?;
        builder.append_extension(BasicConstraints::new().critical().ca().build()?)?;
        builder.append_extension(
            KeyUsage::new()
                .critical()
                .key_cert_sign()
                .crl_sign()
                .build()?,
        )?;
        builder.append_extension(subject_key_identifier(&key)?)?;
        builder.sign(&key, MessageDigest::sm3())?;
        Ok(DevelopmentCa {
            certificate: builder.build(),
            key,
        })
    }

    /// Loads a CA written earlier with [`Self::certificate_pem`] and [`Self::key_pem`], so that
    /// clients can keep trusting it across restarts.
    pub fn from_pem(certificate_pem: &str, key: &PrivateKeyPem) -> Result<Self, TlcpError> {
        let certificate =
            X509::from_pem(certificate_pem.as_bytes()).map_err(|error| TlcpError::Pem {
                what: "the development CA certificate",
                reason: crate::error::reasons(&error),
            })?;
        let key = private_key_from_pem(key, "the development CA key")?;
        if !certificate.public_key()?.public_eq(&key) {
            return Err(TlcpError::Config(
                "the development CA key does not belong to its certificate".into(),
            ));
        }
        Ok(DevelopmentCa { certificate, key })
    }

    /// The CA certificate, PEM: what peers must trust.
    pub fn certificate_pem(&self) -> Result<String, TlcpError> {
        certificate_to_pem(&self.certificate)
    }

    /// The CA private key, PEM, for storing it in a file with owner-only permissions.
    pub fn key_pem(&self) -> Result<PrivateKeyPem, TlcpError> {
        private_key_to_pem(&self.key)
    }

    /// Issues a TLCP sign/enc pair for `common_name` and `names` (subjectAltName), for a server
    /// or a client. Each certificate gets its own SM2 key. `validity` may lie in the past, to
    /// test that expired certificates are refused.
    pub fn issue_pair(
        &self,
        common_name: &str,
        names: &[SubjectName],
        role: Role,
        validity: Validity,
    ) -> Result<CertPair, TlcpError> {
        Ok(CertPair {
            sign: self.issue(common_name, names, role, validity, Usage::Sign)?,
            enc: self.issue(common_name, names, role, validity, Usage::Enc)?,
        })
    }

    fn issue(
        &self,
        common_name: &str,
        names: &[SubjectName],
        role: Role,
        validity: Validity,
        usage: Usage,
    ) -> Result<CertifiedKey, TlcpError> {
        let key = sm2_key()?;
        let name = subject(common_name, Some(usage.unit()))?;
        let mut builder = X509::builder()?;
        start(
            &mut builder,
            &name,
            self.certificate.subject_name(),
            &key,
            validity,
        )?;
        builder.append_extension(BasicConstraints::new().critical().build()?)?;
        builder.append_extension(usage.key_usage()?)?;
        let mut extended = ExtendedKeyUsage::new();
        match role {
            Role::Server => extended.server_auth(),
            Role::Client => extended.client_auth(),
        };
        builder.append_extension(extended.build()?)?;
        if !names.is_empty() {
            let mut alternative = SubjectAlternativeName::new();
            for name in names {
                match name {
                    SubjectName::Dns(dns) => alternative.dns(dns),
                    SubjectName::Ip(ip) => alternative.ip(&ip.to_string()),
                };
            }
            let context = builder.x509v3_context(Some(&self.certificate), None);
            let extension = alternative.build(&context)?;
            builder.append_extension(extension)?;
        }
        builder.append_extension(subject_key_identifier(&key)?)?;
        // The issuer's own identifier, copied from its certificate (computed there with SM3).
        let context = builder.x509v3_context(Some(&self.certificate), None);
        let aki = AuthorityKeyIdentifier::new().keyid(true).build(&context)?;
        builder.append_extension(aki)?;
        builder.sign(&self.key, MessageDigest::sm3())?;
        Ok(CertifiedKey {
            certificate_pem: certificate_to_pem(&builder.build())?,
            key: private_key_to_pem(&key)?,
        })
    }
}

/// What a leaf certificate's key is for.
#[derive(Clone, Copy)]
enum Usage {
    Sign,
    Enc,
}

impl Usage {
    fn unit(self) -> &'static str {
        match self {
            Usage::Sign => "TLCP sign",
            Usage::Enc => "TLCP enc",
        }
    }

    fn key_usage(self) -> Result<openssl::x509::X509Extension, TlcpError> {
        let extension = match self {
            Usage::Sign => KeyUsage::new()
                .critical()
                .digital_signature()
                .non_repudiation()
                .build()?,
            Usage::Enc => KeyUsage::new()
                .critical()
                .key_encipherment()
                .data_encipherment()
                .key_agreement()
                .build()?,
        };
        Ok(extension)
    }
}

/// A fresh SM2 key. `PKey::ec_gen("SM2")` would give a key of type EC, which then fails to sign
/// with SM3; a key on the SM2 group wrapped by `from_ec_key` has type SM2.
/// Bytes of a key identifier: 160 bits, as RFC 5280 and RFC 7093 make them.
const KEY_IDENTIFIER_BYTES: usize = 20;

/// The subjectKeyIdentifier extension of `key`: the leftmost 160 bits of the SM3 digest of its
/// public key as the certificate carries it (RFC 7093, method 1, with SM3 in place of SHA-256).
/// The engine's own method hashes with SHA-1, which inspay uses nowhere (clause 5.5.1.2).
fn subject_key_identifier(key: &PKey<Private>) -> Result<X509Extension, TlcpError> {
    let identifier = key_identifier(key)?;
    // The extension's value is the DER of an OCTET STRING holding the identifier.
    let mut der = vec![0x04, KEY_IDENTIFIER_BYTES as u8];
    der.extend_from_slice(&identifier);
    let value = Asn1OctetString::new_from_bytes(&der)?;
    let oid = Asn1Object::from_str("2.5.29.14")?;
    Ok(X509Extension::new_from_der(&oid, false, &value)?)
}

/// The leftmost 160 bits of SM3 over the uncompressed public point of `key`.
pub(crate) fn key_identifier(key: &PKey<Private>) -> Result<Vec<u8>, TlcpError> {
    let ec = key.ec_key()?;
    let mut context = BigNumContext::new()?;
    let point =
        ec.public_key()
            .to_bytes(ec.group(), PointConversionForm::UNCOMPRESSED, &mut context)?;
    let digest = openssl::hash::hash(MessageDigest::sm3(), &point)?;
    Ok(digest[..KEY_IDENTIFIER_BYTES].to_vec())
}

pub(crate) fn sm2_key() -> Result<PKey<Private>, TlcpError> {
    let group = EcGroup::from_curve_name(Nid::SM2)?;
    Ok(PKey::from_ec_key(EcKey::generate(&group)?)?)
}

fn subject(common_name: &str, unit: Option<&str>) -> Result<X509Name, TlcpError> {
    let mut builder = X509NameBuilder::new()?;
    builder.append_entry_by_text("C", "CN")?;
    builder.append_entry_by_text("O", &format!("{DEVELOPMENT_MARKER} (not for production)"))?;
    if let Some(unit) = unit {
        builder.append_entry_by_text("OU", unit)?;
    }
    builder.append_entry_by_text("CN", common_name)?;
    Ok(builder.build())
}

/// Version, serial, names, key and validity: what every certificate here starts with.
fn start(
    builder: &mut X509Builder,
    subject: &X509Name,
    issuer: &openssl::x509::X509NameRef,
    key: &PKey<Private>,
    validity: Validity,
) -> Result<(), TlcpError> {
    builder.set_version(2)?;
    let serial = serial()?;
    builder.set_serial_number(&serial)?;
    builder.set_subject_name(subject)?;
    builder.set_issuer_name(issuer)?;
    builder.set_pubkey(key)?;
    let not_before = asn1_time(validity.not_before())?;
    let not_after = asn1_time(validity.not_after())?;
    builder.set_not_before(&not_before)?;
    builder.set_not_after(&not_after)?;
    Ok(())
}

fn serial() -> Result<Asn1Integer, TlcpError> {
    let mut number = BigNum::new()?;
    number.rand(SERIAL_BITS, MsbOption::ONE, false)?;
    Ok(number.to_asn1_integer()?)
}

fn asn1_time(instant: SystemTime) -> Result<Asn1Time, TlcpError> {
    let seconds = instant
        .duration_since(UNIX_EPOCH)
        .map_err(|_| TlcpError::Config("a validity date lies before 1970".into()))?
        .as_secs();
    let seconds = i64::try_from(seconds)
        .map_err(|_| TlcpError::Config("a validity date is out of range".into()))?;
    Ok(Asn1Time::from_unix(seconds)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Key identifiers are SM3-based, not the engine's SHA-1 default: a leaf's subject key
    /// identifier is the leftmost 160 bits of SM3 over its public point, and its authority key
    /// identifier is the CA's own.
    /// req: 5.5.1.2
    #[test]
    fn key_identifiers_are_sm3_based() {
        let ca = DevelopmentCa::generate("inspay test CA").expect("CA");
        let pair = ca
            .issue_pair(
                "server.test",
                &[SubjectName::Dns("server.test".into())],
                Role::Server,
                Validity::days_from_now(1),
            )
            .expect("pair");
        let leaf = X509::from_pem(pair.sign.certificate_pem.as_bytes()).expect("leaf");
        let key = private_key_from_pem(&pair.sign.key, "sign key").expect("key");
        let expected = key_identifier(&key).expect("identifier");
        assert_eq!(
            leaf.subject_key_id().expect("SKI").as_slice(),
            expected.as_slice()
        );
        let ca_certificate =
            X509::from_pem(ca.certificate_pem().expect("pem").as_bytes()).expect("CA certificate");
        let ca_identifier = ca_certificate.subject_key_id().expect("CA SKI").as_slice();
        assert_eq!(
            ca_identifier,
            key_identifier(&ca.key).expect("CA id").as_slice()
        );
        assert_eq!(
            leaf.authority_key_id().expect("AKI").as_slice(),
            ca_identifier
        );
    }
}
