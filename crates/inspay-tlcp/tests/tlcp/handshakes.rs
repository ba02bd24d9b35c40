//! Successful TLCP handshakes: every suite, with and without client certificates, by name and
//! by IP address, and ALPN.

use inspay_tlcp::{PROTOCOL_TLCP, Protocol, Suite, TlcpAcceptor, TlcpError};

use crate::support::{
    client_config, connect, der, echo_round_trip, pki, server_config, server_result, spawn_echo,
};

/// Each of the four TLCP suites of GB/T 38636 completes a mutually authenticated handshake,
/// carries data both ways and closes with close_notify; the server sees the client's sign
/// certificate as the peer identity.
/// req: 5.6.2-a1
/// req: 5.5.1.1
#[tokio::test]
async fn every_tlcp_suite_with_mutual_authentication() {
    let pki = pki();
    for suite in Suite::ALL {
        let acceptor = TlcpAcceptor::new(&server_config(&pki, &[suite], true)).expect("acceptor");
        let (address, server) = spawn_echo(acceptor, 1).await;
        let mut config = client_config(&pki, Protocol::Tlcp, true);
        config.suites = vec![suite];
        let stream = connect(&config, address, "localhost")
            .await
            .expect("handshake");
        assert_eq!(stream.protocol_version(), PROTOCOL_TLCP);
        assert_eq!(stream.cipher_name(), Some(suite.tongsuo_name()));
        assert_eq!(
            stream.peer_sign_certificate_der(),
            Some(der(&pki.server.sign.certificate_pem))
        );
        let echoed = echo_round_trip(stream, b"ping over TLCP").await;
        assert_eq!(echoed, b"ping over TLCP");
        let side = server_result(server).await.expect("server side");
        assert_eq!(side.protocol, PROTOCOL_TLCP);
        assert_eq!(side.cipher, Some(suite.tongsuo_name()));
        assert_eq!(
            side.peer_sign_der,
            Some(der(&pki.client.sign.certificate_pem)),
            "the server sees the client's sign certificate ({suite:?})"
        );
    }
}

/// The two ECC suites (SM2 key transport) also work without client certificates when the
/// server does not require them; the server then sees no peer identity.
/// req: 5.6.2-a1
#[tokio::test]
async fn ecc_suites_without_client_certificate() {
    let pki = pki();
    for suite in Suite::WITHOUT_CLIENT_CERTIFICATE {
        let acceptor = TlcpAcceptor::new(&server_config(&pki, &[suite], false)).expect("acceptor");
        let (address, server) = spawn_echo(acceptor, 1).await;
        let config = client_config(&pki, Protocol::Tlcp, false);
        let stream = connect(&config, address, "localhost")
            .await
            .expect("handshake");
        assert_eq!(stream.cipher_name(), Some(suite.tongsuo_name()));
        assert_eq!(echo_round_trip(stream, b"hello").await, b"hello");
        let side = server_result(server).await.expect("server side");
        assert_eq!(side.peer_sign_der, None);
    }
}

/// The client checks the server's name: an IP address in the subjectAltName is accepted, a
/// name the certificate does not carry is refused with a certificate verification error.
/// req: 5.5.1.1
#[tokio::test]
async fn server_name_is_verified() {
    let pki = pki();
    let config = server_config(&pki, &Suite::WITHOUT_CLIENT_CERTIFICATE, false);
    let acceptor = TlcpAcceptor::new(&config).expect("acceptor");
    let (address, server) = spawn_echo(acceptor.clone(), 1).await;
    let client = client_config(&pki, Protocol::Tlcp, false);
    let stream = connect(&client, address, "127.0.0.1").await.expect("by IP");
    assert_eq!(echo_round_trip(stream, b"ip").await, b"ip");
    server_result(server).await.expect("server side");

    let (address, server) = spawn_echo(acceptor, 1).await;
    let error = connect(&client, address, "pay.example.com")
        .await
        .expect_err("wrong name refused");
    assert!(
        matches!(error, TlcpError::CertificateVerify { .. }),
        "{error}"
    );
    assert!(server_result(server).await.is_err());
}

/// ALPN works over TLCP: the server picks its preferred protocol among those offered.
#[tokio::test]
async fn alpn_is_negotiated_over_tlcp() {
    let pki = pki();
    let mut config = server_config(&pki, &Suite::WITHOUT_CLIENT_CERTIFICATE, false);
    config.alpn_protocols = vec!["h2".into(), "http/1.1".into()];
    let acceptor = TlcpAcceptor::new(&config).expect("acceptor");
    let (address, server) = spawn_echo(acceptor, 1).await;
    let mut client = client_config(&pki, Protocol::Tlcp, false);
    client.alpn_protocols = vec!["http/1.1".into()];
    let stream = connect(&client, address, "localhost")
        .await
        .expect("handshake");
    assert_eq!(stream.alpn_protocol(), Some(&b"http/1.1"[..]));
    echo_round_trip(stream, b"x").await;
    server_result(server).await.expect("server side");
}
