//! Staff certificates: parsing and the checks made before one is registered.

use super::{CERTIFICATE_PEM_BYTES_MAX, DIGIT_RUN_MAX, LABEL_CHARS_MAX};
use crate::StoreError;
use inspay_crypto::algorithm::weak_signature_oid_name;
use inspay_crypto::sm2::Sm2PublicKey;
use x509_cert::Certificate;
use x509_cert::der::DecodePem;
use x509_cert::der::asn1::ObjectIdentifier;
use x509_cert::ext::pkix::KeyUsage;
use x509_cert::spki::SubjectPublicKeyInfoOwned;
use x509_cert::time::Time;

/// Longest certificate subject kept, in characters.
const SUBJECT_CHARS_MAX: usize = 256;
/// id-ecPublicKey (RFC 5480), the algorithm of an SM2 key in SPKI.
const OID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
/// sm2p256v1 (GM/T 0006), the curve parameter of an SM2 key.
const OID_CURVE_SM2: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.156.10197.1.301");

/// The certificate fields kept with a key.
#[derive(Debug)]
pub(super) struct CertificateFields {
    pub(super) serial: String,
    pub(super) subject: String,
    pub(super) not_before_ms: i64,
    pub(super) not_after_ms: i64,
}

/// A certificate subject as kept: runs of more than [`DIGIT_RUN_MAX`] digits (with an ID
/// number's trailing `X`) replaced, control characters replaced, cut to
/// [`SUBJECT_CHARS_MAX`] characters. Some issuers put the holder's ID number in the subject.
fn subject_display(subject: &str) -> String {
    let mut out = String::new();
    let mut run = String::new();
    let mut after_long_run = false;
    // `None` marks the end, so a digit run at the very end is flushed too.
    for c in subject.chars().map(Some).chain(std::iter::once(None)) {
        if let Some(digit) = c.filter(char::is_ascii_digit) {
            run.push(digit);
            continue;
        }
        if !run.is_empty() {
            after_long_run = run.len() > DIGIT_RUN_MAX;
            out.push_str(if after_long_run { "[redacted]" } else { &run });
            run.clear();
        }
        let check_letter = after_long_run && matches!(c, Some('X' | 'x'));
        after_long_run = false;
        match c {
            None => break,
            Some(_) if check_letter => {}
            Some(c) if c.is_control() => out.push('?'),
            Some(c) => out.push(c),
        }
    }
    out.chars().take(SUBJECT_CHARS_MAX).collect()
}

/// The label a certificate gets: its subject, cut to [`LABEL_CHARS_MAX`] characters.
pub(super) fn certificate_label(subject: &str) -> String {
    let label: String = subject.chars().take(LABEL_CHARS_MAX).collect();
    if label.is_empty() {
        "certificate".to_string()
    } else {
        label
    }
}

fn unix_ms(time: Time) -> Result<i64, StoreError> {
    i64::try_from(time.to_unix_duration().as_millis())
        .map_err(|_| StoreError::Refused("the certificate validity is out of range"))
}

/// The SM2 key of a certificate: id-ecPublicKey with the sm2p256v1 curve, a point on it.
fn sm2_key(spki: &SubjectPublicKeyInfoOwned) -> Result<Sm2PublicKey, StoreError> {
    let curve = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|parameters| parameters.decode_as::<ObjectIdentifier>().ok());
    if spki.algorithm.oid != OID_EC_PUBLIC_KEY || curve != Some(OID_CURVE_SM2) {
        return Err(StoreError::Refused(
            "the certificate key is not an SM2 key (id-ecPublicKey on curve sm2p256v1)",
        ));
    }
    spki.subject_public_key
        .as_bytes()
        .and_then(|point| Sm2PublicKey::from_sec1(point).ok())
        .ok_or(StoreError::Refused(
            "the certificate key is not a point on the SM2 curve",
        ))
}

/// Parses and checks a staff certificate at `now_ms`: one PEM X.509 certificate, an SM2 key,
/// a signature algorithm that clause 5.5.1.2 allows, a key usage (if stated) that includes
/// digital signatures, and `now_ms` within its validity.
pub(super) fn parse_certificate(
    pem: &str,
    now_ms: i64,
) -> Result<(Sm2PublicKey, CertificateFields), StoreError> {
    if pem.len() > CERTIFICATE_PEM_BYTES_MAX {
        return Err(StoreError::Refused("the certificate is larger than 16 KiB"));
    }
    let certificate = Certificate::from_pem(pem.as_bytes()).map_err(|_| {
        StoreError::Refused("the certificate could not be parsed as a PEM X.509 certificate")
    })?;
    if weak_signature_oid_name(&certificate.signature_algorithm().oid.to_string()).is_some() {
        return Err(StoreError::Refused(
            "the certificate is signed with an algorithm clause 5.5.1.2 forbids",
        ));
    }
    let tbs = certificate.tbs_certificate();
    let public_key = sm2_key(tbs.subject_public_key_info())?;
    let usage = tbs
        .get_extension::<KeyUsage>()
        .map_err(|_| StoreError::Refused("the certificate key usage could not be parsed"))?;
    if let Some((_, usage)) = usage
        && !usage.digital_signature()
    {
        return Err(StoreError::Refused(
            "the certificate key usage does not allow digital signatures",
        ));
    }
    let not_before_ms = unix_ms(tbs.validity().not_before)?;
    let not_after_ms = unix_ms(tbs.validity().not_after)?;
    if not_before_ms > not_after_ms {
        return Err(StoreError::Refused(
            "the certificate validity period is empty",
        ));
    }
    if now_ms < not_before_ms {
        return Err(StoreError::Refused("the certificate is not yet valid"));
    }
    if now_ms > not_after_ms {
        return Err(StoreError::Refused("the certificate has expired"));
    }
    let fields = CertificateFields {
        serial: hex::encode(tbs.serial_number().as_bytes()),
        subject: subject_display(&tbs.subject().to_string()),
        not_before_ms,
        not_after_ms,
    };
    Ok((public_key, fields))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An ID or mobile number in a certificate subject is replaced before the subject is kept
    /// (it shows in listings and Debug output); short numbers, text and the end of the
    /// subject are handled.
    /// req: 5.6.1-a5
    #[test]
    fn subject_numbers_are_replaced() {
        assert_eq!(
            subject_display("CN=Wang,serialNumber=11010119900101123X,O=inspay"),
            "CN=Wang,serialNumber=[redacted],O=inspay"
        );
        assert_eq!(
            subject_display("CN=13812345678"),
            "CN=[redacted]",
            "a run at the very end is flushed"
        );
        assert_eq!(
            subject_display("CN=Desk 42,OU=Claims 2026"),
            "CN=Desk 42,OU=Claims 2026"
        );
        assert_eq!(subject_display("CN=a\u{0}b\nc"), "CN=a?b?c");
        assert_eq!(subject_display(&"x".repeat(500)).chars().count(), 256);
        assert_eq!(certificate_label(""), "certificate");
        assert_eq!(certificate_label(&"y".repeat(100)).chars().count(), 64);
    }
}
