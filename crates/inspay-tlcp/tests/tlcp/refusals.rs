//! Refused handshakes and refused configurations, each with the clear error.

use std::time::{Duration, SystemTime};

use inspay_tlcp::certs::{Role, Validity};
use inspay_tlcp::{Protocol, Suite, TlcpAcceptor, TlcpError};

use crate::support::{
    client_config, connect, pki, pki_with_server_validity, server_config, server_names,
    server_result, spawn_echo,
};

/// A server requiring mutual authentication refuses a client without a certificate, saying
/// so; the client learns of it through the server's alert.
/// req: 5.5.1.1
#[tokio::test]
async fn missing_client_certificate_is_refused() {
    let pki = pki();
    let acceptor =
        TlcpAcceptor::new(&server_config(&pki, &[Suite::EccSm4GcmSm3], true)).expect("acceptor");
    let (address, server) = spawn_echo(acceptor, 1).await;
    let client = client_config(&pki, Protocol::Tlcp, false);
    let client_error = connect(&client, address, "localhost")
        .await
        .expect_err("refused");
    let server_error = server_result(server).await.expect_err("refused");
    eprintln!("client: {client_error}\nserver: {server_error}");
    assert!(
        matches!(server_error, TlcpError::NoClientCertificate),
        "{server_error}"
    );
    assert!(
        server_error
            .to_string()
            .contains("the client presented no certificate and mutual authentication is required")
    );
    assert!(
        matches!(client_error, TlcpError::PeerAlert { .. }),
        "{client_error}"
    );
}

/// A client refuses a server whose certificate comes from a CA it does not trust.
/// req: 5.5.1.1
#[tokio::test]
async fn server_certificate_from_another_ca_is_refused() {
    let pki = pki();
    let other = crate::support::pki();
    let config = server_config(&pki, &Suite::WITHOUT_CLIENT_CERTIFICATE, false);
    let (address, server) = spawn_echo(TlcpAcceptor::new(&config).expect("acceptor"), 1).await;
    let client = client_config(&other, Protocol::Tlcp, false);
    let error = connect(&client, address, "localhost")
        .await
        .expect_err("refused");
    eprintln!(
        "client: {error}\nserver: {:?}",
        server_result(server).await.expect_err("refused")
    );
    assert!(
        matches!(error, TlcpError::CertificateVerify { .. }),
        "{error}"
    );
}

/// A server refuses a client certificate from a CA other than its client CA.
/// req: 5.5.1.1
#[tokio::test]
async fn client_certificate_from_another_ca_is_refused() {
    let pki = pki();
    let other = crate::support::pki();
    let acceptor = TlcpAcceptor::new(&server_config(&pki, &Suite::ALL, true)).expect("acceptor");
    let (address, server) = spawn_echo(acceptor, 1).await;
    let mut client = client_config(&pki, Protocol::Tlcp, false);
    client.client_pair = Some(other.client.clone());
    let client_error = connect(&client, address, "localhost")
        .await
        .expect_err("refused");
    let server_error = server_result(server).await.expect_err("refused");
    eprintln!("client: {client_error}\nserver: {server_error}");
    assert!(
        matches!(server_error, TlcpError::CertificateVerify { .. }),
        "{server_error}"
    );
    assert!(
        matches!(client_error, TlcpError::PeerAlert { .. }),
        "{client_error}"
    );
}

/// A client refuses an expired server certificate, naming the expiry.
/// req: 5.5.1.1
#[tokio::test]
async fn expired_server_certificate_is_refused() {
    let now = SystemTime::now();
    let day = Duration::from_secs(86_400);
    let expired = Validity::between(now - day * 30, now - day).expect("period");
    let pki = pki_with_server_validity(expired);
    let config = server_config(&pki, &Suite::WITHOUT_CLIENT_CERTIFICATE, false);
    let (address, server) = spawn_echo(TlcpAcceptor::new(&config).expect("acceptor"), 1).await;
    let error = connect(
        &client_config(&pki, Protocol::Tlcp, false),
        address,
        "localhost",
    )
    .await
    .expect_err("refused");
    match &error {
        TlcpError::CertificateVerify { reason } => assert!(reason.contains("expired"), "{reason}"),
        other => panic!("unexpected {other}"),
    }
    eprintln!(
        "client: {error}\nserver: {}",
        server_result(server).await.expect_err("refused")
    );
}

/// Swapped sign and enc certificates (each with its own key) are refused when the acceptor is
/// built, with a message naming the swap; so is a key that belongs to the other certificate.
#[test]
fn swapped_certificates_are_refused() {
    let pki = pki();
    let mut config = server_config(&pki, &Suite::WITHOUT_CLIENT_CERTIFICATE, false);
    config.sign_cert_chain_pem = pki.server.enc.certificate_pem.clone();
    config.sign_key_pem = pki.server.enc.key.clone();
    config.enc_cert_pem = pki.server.sign.certificate_pem.clone();
    config.enc_key_pem = pki.server.sign.key.clone();
    let error = TlcpAcceptor::new(&config).expect_err("refused");
    eprintln!("swapped: {error}");
    assert!(error.to_string().contains("swapped"), "{error}");

    let mut config = server_config(&pki, &Suite::WITHOUT_CLIENT_CERTIFICATE, false);
    config.sign_key_pem = pki.server.enc.key.clone();
    let error = TlcpAcceptor::new(&config).expect_err("refused");
    assert!(error.to_string().contains("does not belong"), "{error}");
}

/// Configurations that cannot work are refused up front: no suites, ECDHE suites without
/// required client certificates, required client certificates without a client CA, and a
/// client that could offer only ECDHE suites without a client pair.
#[test]
fn unusable_configurations_are_refused() {
    let pki = pki();
    let empty = server_config(&pki, &[], false);
    assert!(matches!(
        TlcpAcceptor::new(&empty),
        Err(TlcpError::Config(_))
    ));
    let ecdhe = server_config(&pki, &[Suite::EcdheSm4GcmSm3], false);
    let error = TlcpAcceptor::new(&ecdhe).expect_err("refused");
    assert!(error.to_string().contains("ECDHE_SM4_GCM_SM3"), "{error}");
    let mut no_ca = server_config(&pki, &Suite::ALL, true);
    no_ca.client_ca_pem = None;
    assert!(TlcpAcceptor::new(&no_ca).is_err());
    let mut client = client_config(&pki, Protocol::Tlcp, false);
    client.suites = vec![Suite::EcdheSm4CbcSm3];
    assert!(inspay_tlcp::TlcpConnector::new(&client).is_err());
    // A client pair whose names are irrelevant is fine; a garbage CA is refused with its name.
    let _ = pki.ca.issue_pair(
        "c",
        &server_names(),
        Role::Client,
        Validity::days_from_now(1),
    );
    let mut garbage = client_config(&pki, Protocol::Tlcp, false);
    garbage.ca_pem = "not a certificate".into();
    let error = inspay_tlcp::TlcpConnector::new(&garbage).expect_err("refused");
    assert!(error.to_string().contains("CA certificate"), "{error}");
}

/// A server whose enc certificate comes from an untrusted CA (its sign certificate being
/// trusted) is refused: the client checks both certificates, so nobody can slip in an enc key
/// of their own to read ECC key transport.
/// req: 5.5.1.1
#[tokio::test]
async fn server_enc_certificate_from_another_ca_is_refused() {
    let pki = pki();
    let other = crate::support::pki();
    let mut config = server_config(&pki, &Suite::WITHOUT_CLIENT_CERTIFICATE, false);
    config.enc_cert_pem = other.server.enc.certificate_pem.clone();
    config.enc_key_pem = other.server.enc.key.clone();
    let (address, server) = spawn_echo(TlcpAcceptor::new(&config).expect("acceptor"), 1).await;
    let outcome = connect(
        &client_config(&pki, Protocol::Tlcp, false),
        address,
        "localhost",
    )
    .await;
    let error = outcome.expect_err("refused");
    eprintln!("client: {error}");
    assert!(
        matches!(error, TlcpError::CertificateVerify { .. }),
        "{error}"
    );
    assert!(server_result(server).await.is_err());
}
