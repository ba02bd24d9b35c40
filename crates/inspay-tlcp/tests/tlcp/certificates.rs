//! Development certificates: the marker, key usages, PEM files.

use inspay_tlcp::certs::{
    DEVELOPMENT_MARKER, DevelopmentCa, PrivateKeyPem, is_development, read_private_key_file,
    write_private_key_file,
};
use openssl::x509::{X509, X509KeyUsage};

use crate::support::pki;

/// `is_development` finds the marker in the development CA and in every certificate it
/// issues, and not in a certificate without it nor in text that is no certificate.
#[test]
fn development_marker_is_detected() {
    let pki = pki();
    assert!(is_development(&pki.ca_pem));
    for pem in [
        &pki.server.sign.certificate_pem,
        &pki.server.enc.certificate_pem,
        &pki.client.sign.certificate_pem,
    ] {
        assert!(is_development(pem));
    }
    assert!(!is_development(&plain_certificate()));
    assert!(!is_development("not a certificate"));
}

/// An SM2 self-signed certificate whose subject does not carry the marker.
fn plain_certificate() -> String {
    use openssl::ec::{EcGroup, EcKey};
    use openssl::hash::MessageDigest;
    use openssl::nid::Nid;
    use openssl::pkey::PKey;
    let group = EcGroup::from_curve_name(Nid::SM2).expect("group");
    let key = PKey::from_ec_key(EcKey::generate(&group).expect("key")).expect("pkey");
    let mut name = openssl::x509::X509NameBuilder::new().expect("name");
    name.append_entry_by_text("CN", "pay.example.com")
        .expect("CN");
    let name = name.build();
    let mut builder = X509::builder().expect("builder");
    builder.set_version(2).expect("version");
    builder.set_subject_name(&name).expect("subject");
    builder.set_issuer_name(&name).expect("issuer");
    builder.set_pubkey(&key).expect("key");
    let start = openssl::asn1::Asn1Time::days_from_now(0).expect("time");
    let end = openssl::asn1::Asn1Time::days_from_now(1).expect("time");
    builder.set_not_before(&start).expect("not before");
    builder.set_not_after(&end).expect("not after");
    builder.sign(&key, MessageDigest::sm3()).expect("sign");
    String::from_utf8(builder.build().to_pem().expect("PEM")).expect("UTF-8")
}

/// Issued certificates are SM2-with-SM3, the sign certificate for signatures and the enc
/// certificate for key exchange, each chaining to the CA.
/// req: 5.5.1.1
#[test]
fn pair_has_tlcp_key_usages() {
    let pki = pki();
    let ca = X509::from_pem(pki.ca_pem.as_bytes()).expect("CA");
    let sign = X509::from_pem(pki.server.sign.certificate_pem.as_bytes()).expect("sign");
    let enc = X509::from_pem(pki.server.enc.certificate_pem.as_bytes()).expect("enc");
    let sign_usage = sign.key_usage().expect("keyUsage");
    assert!(sign_usage.contains(X509KeyUsage::DIGITAL_SIGNATURE | X509KeyUsage::NON_REPUDIATION));
    assert!(!sign_usage.intersects(X509KeyUsage::KEY_ENCIPHERMENT));
    let enc_usage = enc.key_usage().expect("keyUsage");
    assert!(enc_usage.contains(
        X509KeyUsage::KEY_ENCIPHERMENT
            | X509KeyUsage::DATA_ENCIPHERMENT
            | X509KeyUsage::KEY_AGREEMENT
    ));
    assert!(!enc_usage.intersects(X509KeyUsage::DIGITAL_SIGNATURE));
    for certificate in [&sign, &enc] {
        assert_eq!(
            certificate.signature_algorithm().object().to_string(),
            "SM2-with-SM3"
        );
        assert!(
            certificate
                .verify(&ca.public_key().expect("CA key"))
                .expect("verify")
        );
        assert!(certificate.subject_alt_names().is_some());
    }
}

/// Keys round-trip through an owner-only file, and neither the key wrapper nor the CA prints
/// key material in `Debug`; a CA reloaded from PEM keeps issuing.
#[test]
fn keys_stay_private() {
    let ca = DevelopmentCa::generate("reload").expect("CA");
    let key = ca.key_pem().expect("key PEM");
    let directory = tempfile::tempdir().expect("tempdir");
    let path = directory.path().join("ca-key.pem");
    write_private_key_file(&path, &key).expect("write");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path)
            .expect("metadata")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let read: PrivateKeyPem = read_private_key_file(&path).expect("read");
    assert_eq!(read.expose(), key.expose());
    assert!(!format!("{read:?}").contains("PRIVATE KEY"));
    assert!(!format!("{ca:?}").contains("PRIVATE KEY"));
    let reloaded =
        DevelopmentCa::from_pem(&ca.certificate_pem().expect("PEM"), &read).expect("reload");
    let pair = reloaded
        .issue_pair(
            "c",
            &[],
            inspay_tlcp::certs::Role::Client,
            inspay_tlcp::certs::Validity::days_from_now(1),
        )
        .expect("issue");
    assert!(pair.sign.certificate_pem.contains("BEGIN CERTIFICATE"));
    assert!(DEVELOPMENT_MARKER.starts_with("inspay"));
}
