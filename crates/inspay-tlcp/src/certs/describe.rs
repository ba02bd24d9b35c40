//! What a certificate says, for operators (`inspay certs show`) and for checks before a
//! listener starts: names, validity, algorithms and key usages, read by the crypto library.

use openssl::asn1::Asn1Time;
use openssl::nid::Nid;
use openssl::x509::{X509, X509ExtendedKeyUsage, X509KeyUsage, X509NameRef};

use super::DEVELOPMENT_MARKER;
use super::pem::certificates_from_pem;
use crate::TlcpError;

/// One certificate of a PEM file, described.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateSummary {
    /// The subject, as `CN=..., O=..., OU=...`.
    pub subject: String,
    /// The issuer, in the same form.
    pub issuer: String,
    /// Start of validity, as the library prints it (`Nov 27 07:00:00 2026 GMT`).
    pub not_before: String,
    /// End of validity.
    pub not_after: String,
    /// Whether the end of validity has passed.
    pub expired: bool,
    /// Whether the start of validity is still to come.
    pub not_yet_valid: bool,
    /// The signature algorithm (for example `SM2-with-SM3`).
    pub signature_algorithm: String,
    /// The public key type (`SM2`, `EC`, `RSA`...).
    pub key_type: String,
    /// keyUsage bits present, by their RFC 5280 names; empty when the extension is absent.
    pub key_usage: Vec<&'static str>,
    /// extendedKeyUsage purposes recognised (`serverAuth`, `clientAuth`).
    pub extended_key_usage: Vec<&'static str>,
    /// subjectAltName DNS names and IP addresses.
    pub names: Vec<String>,
    /// Whether the subject carries the development marker.
    pub development: bool,
    /// The certificate, DER (for fingerprints).
    pub der: Vec<u8>,
}

/// Describes every certificate of a PEM text, in order.
pub fn describe(pem: &str) -> Result<Vec<CertificateSummary>, TlcpError> {
    certificates_from_pem(pem, "the certificate file")?
        .iter()
        .map(summary)
        .collect()
}

fn summary(certificate: &X509) -> Result<CertificateSummary, TlcpError> {
    let now = Asn1Time::days_from_now(0)?;
    let subject = name_text(certificate.subject_name());
    let key_type = match certificate.public_key()?.id() {
        openssl::pkey::Id::SM2 => "SM2".to_string(),
        openssl::pkey::Id::EC => {
            let key = certificate.public_key()?.ec_key()?;
            match key.group().curve_name() {
                Some(Nid::SM2) => "SM2".to_string(),
                Some(curve) => format!("EC ({})", curve.short_name().unwrap_or("unknown curve")),
                None => "EC".to_string(),
            }
        }
        openssl::pkey::Id::RSA => "RSA".to_string(),
        other => format!("key type {}", other.as_raw()),
    };
    Ok(CertificateSummary {
        development: subject.contains(DEVELOPMENT_MARKER),
        subject,
        issuer: name_text(certificate.issuer_name()),
        not_before: certificate.not_before().to_string(),
        not_after: certificate.not_after().to_string(),
        expired: certificate.not_after() < now,
        not_yet_valid: certificate.not_before() > now,
        signature_algorithm: certificate
            .signature_algorithm()
            .object()
            .nid()
            .long_name()
            .unwrap_or("unknown")
            .to_string(),
        key_type,
        key_usage: key_usage(certificate.key_usage()),
        extended_key_usage: extended_key_usage(certificate.extended_key_usage()),
        names: certificate
            .subject_alt_names()
            .map(|names| {
                names
                    .iter()
                    .filter_map(|name| {
                        name.dnsname().map(str::to_string).or_else(|| {
                            name.ipaddress().and_then(|bytes| match bytes.len() {
                                4 => <[u8; 4]>::try_from(bytes)
                                    .ok()
                                    .map(|octets| std::net::IpAddr::from(octets).to_string()),
                                16 => <[u8; 16]>::try_from(bytes)
                                    .ok()
                                    .map(|octets| std::net::IpAddr::from(octets).to_string()),
                                _ => None,
                            })
                        })
                    })
                    .collect()
            })
            .unwrap_or_default(),
        der: certificate.to_der()?,
    })
}

fn name_text(name: &X509NameRef) -> String {
    name.entries()
        .map(|entry| {
            let field = entry.object().nid().short_name().unwrap_or("?");
            let value = entry.data().to_string().unwrap_or_else(|_| "?".to_string());
            format!("{field}={value}")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn key_usage(bits: Option<X509KeyUsage>) -> Vec<&'static str> {
    let Some(bits) = bits else {
        return Vec::new();
    };
    [
        (X509KeyUsage::DIGITAL_SIGNATURE, "digitalSignature"),
        (X509KeyUsage::NON_REPUDIATION, "nonRepudiation"),
        (X509KeyUsage::KEY_ENCIPHERMENT, "keyEncipherment"),
        (X509KeyUsage::DATA_ENCIPHERMENT, "dataEncipherment"),
        (X509KeyUsage::KEY_AGREEMENT, "keyAgreement"),
        (X509KeyUsage::KEY_CERT_SIGN, "keyCertSign"),
        (X509KeyUsage::CRL_SIGN, "cRLSign"),
    ]
    .into_iter()
    .filter(|(bit, _)| bits.contains(*bit))
    .map(|(_, name)| name)
    .collect()
}

fn extended_key_usage(bits: Option<X509ExtendedKeyUsage>) -> Vec<&'static str> {
    let Some(bits) = bits else {
        return Vec::new();
    };
    [
        (X509ExtendedKeyUsage::SSL_SERVER, "serverAuth"),
        (X509ExtendedKeyUsage::SSL_CLIENT, "clientAuth"),
    ]
    .into_iter()
    .filter(|(bit, _)| bits.contains(*bit))
    .map(|(_, name)| name)
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::certs::{DevelopmentCa, Role, SubjectName, Validity};
    use std::time::{Duration, SystemTime};

    /// A development sign certificate is described as SM2 with SM3, for its names, with the
    /// signing key usages and serverAuth, marked development; an expired one says so.
    /// req: 5.5.1.5
    #[test]
    fn describes_a_development_pair() {
        let ca = DevelopmentCa::generate("inspay test CA").expect("CA");
        let pair = ca
            .issue_pair(
                "server",
                &[
                    SubjectName::Dns("localhost".into()),
                    SubjectName::Ip([127, 0, 0, 1].into()),
                ],
                Role::Server,
                Validity::days_from_now(30),
            )
            .expect("pair");
        let sign = describe(&pair.sign.certificate_pem).expect("describe");
        assert_eq!(sign.len(), 1);
        let sign = &sign[0];
        assert_eq!(sign.key_type, "SM2");
        assert!(
            sign.signature_algorithm.to_lowercase().contains("sm3"),
            "{}",
            sign.signature_algorithm
        );
        assert!(
            sign.key_usage.contains(&"digitalSignature"),
            "{:?}",
            sign.key_usage
        );
        assert!(!sign.key_usage.contains(&"keyEncipherment"));
        assert_eq!(sign.extended_key_usage, ["serverAuth"]);
        assert_eq!(sign.names, ["localhost", "127.0.0.1"]);
        assert!(sign.development && !sign.expired && !sign.not_yet_valid);
        assert!(sign.subject.contains("CN=server"), "{}", sign.subject);
        let enc = &describe(&pair.enc.certificate_pem).expect("describe")[0];
        assert!(
            enc.key_usage.contains(&"keyEncipherment"),
            "{:?}",
            enc.key_usage
        );
        let past = SystemTime::now() - Duration::from_secs(10 * 86_400);
        let expired = ca
            .issue_pair(
                "old",
                &[],
                Role::Client,
                Validity::between(past, past + Duration::from_secs(86_400)).expect("validity"),
            )
            .expect("pair");
        assert!(describe(&expired.sign.certificate_pem).expect("describe")[0].expired);
        assert!(describe("not a certificate").is_err());
    }
}
