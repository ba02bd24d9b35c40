//! TLS 1.3 with TLS_SM4_GCM_SM3 (RFC 8998) on the TLCP listener, and nothing weaker.

use std::net::SocketAddr;

use inspay_tlcp::{
    PROTOCOL_TLCP, PROTOCOL_TLS13, Protocol, Suite, TLS13_SM_SUITE, TlcpAcceptor, TlcpError,
};
use openssl::ssl::{SslConnector, SslMethod, SslVerifyMode, SslVersion};

use crate::support::{
    client_config, connect, der, echo_round_trip, pki, server_config, server_result, spawn_echo,
};

/// One listener with `tls13_sm` serves a TLS 1.3 client with TLS_SM4_GCM_SM3 and a TLCP
/// client, each with data both ways, without client certificates.
/// req: 5.6.2-a1
#[tokio::test]
async fn tls13_sm_and_tlcp_on_one_listener() {
    let pki = pki();
    let mut config = server_config(&pki, &Suite::WITHOUT_CLIENT_CERTIFICATE, false);
    config.tls13_sm = true;
    let acceptor = TlcpAcceptor::new(&config).expect("acceptor");
    let (address, server) = spawn_echo(acceptor, 2).await;

    let tls13 = connect(
        &client_config(&pki, Protocol::Tls13Sm, false),
        address,
        "localhost",
    )
    .await
    .expect("TLS 1.3 handshake");
    assert_eq!(tls13.protocol_version(), PROTOCOL_TLS13);
    assert_eq!(tls13.cipher_name(), Some(TLS13_SM_SUITE));
    assert_eq!(echo_round_trip(tls13, b"tls13").await, b"tls13");

    let tlcp = connect(
        &client_config(&pki, Protocol::Tlcp, false),
        address,
        "localhost",
    )
    .await
    .expect("TLCP handshake");
    assert_eq!(tlcp.protocol_version(), PROTOCOL_TLCP);
    assert_eq!(echo_round_trip(tlcp, b"tlcp").await, b"tlcp");

    let results = server.await.expect("server");
    let protocols: Vec<&str> = results
        .iter()
        .map(|result| result.as_ref().expect("server side").protocol)
        .collect();
    assert_eq!(protocols, [PROTOCOL_TLS13, PROTOCOL_TLCP]);
}

/// TLS 1.3 SM with mutual authentication: the server sees the client's sign certificate.
/// req: 5.6.2-a1
/// req: 5.5.1.1
#[tokio::test]
async fn tls13_sm_with_client_certificate() {
    let pki = pki();
    let mut config = server_config(&pki, &Suite::ALL, true);
    config.tls13_sm = true;
    let (address, server) = spawn_echo(TlcpAcceptor::new(&config).expect("acceptor"), 1).await;
    let stream = connect(
        &client_config(&pki, Protocol::Tls13Sm, true),
        address,
        "localhost",
    )
    .await
    .expect("handshake");
    assert_eq!(stream.protocol_version(), PROTOCOL_TLS13);
    assert_eq!(echo_round_trip(stream, b"mutual").await, b"mutual");
    let side = server_result(server).await.expect("server side");
    assert_eq!(
        side.peer_sign_der,
        Some(der(&pki.client.sign.certificate_pem))
    );
}

/// Runs a blocking engine client with `configure` applied and returns whether it connected.
async fn foreign_client(
    address: SocketAddr,
    configure: fn(&mut openssl::ssl::SslConnectorBuilder),
) -> bool {
    tokio::task::spawn_blocking(move || {
        let mut builder = SslConnector::builder(SslMethod::tls_client()).expect("builder");
        builder.set_verify(SslVerifyMode::NONE);
        configure(&mut builder);
        let tcp = std::net::TcpStream::connect(address).expect("connect");
        let configuration = builder.build().configure().expect("configure");
        configuration
            .verify_hostname(false)
            .connect("localhost", tcp)
            .is_ok()
    })
    .await
    .expect("client thread")
}

/// A client offering only TLS 1.2 with international suites (ECDHE with AES-GCM), or TLS 1.3
/// with only AES-GCM, is refused: the listener offers nothing weaker than the SM suites.
/// req: 5.6.2-a1
#[tokio::test]
async fn international_suites_are_refused() {
    let pki = pki();
    let mut config = server_config(&pki, &Suite::WITHOUT_CLIENT_CERTIFICATE, false);
    config.tls13_sm = true;
    let acceptor = TlcpAcceptor::new(&config).expect("acceptor");

    let (address, server) = spawn_echo(acceptor.clone(), 1).await;
    let connected = foreign_client(address, |builder| {
        builder
            .set_max_proto_version(Some(SslVersion::TLS1_2))
            .expect("max version");
        builder
            .set_cipher_list("ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256")
            .expect("ciphers");
    })
    .await;
    assert!(!connected, "a TLS 1.2 international client must be refused");
    let error = server_result(server).await.expect_err("refused");
    eprintln!("server: {error}");
    assert!(matches!(error, TlcpError::NoCommonSuite { .. }), "{error}");

    let (address, server) = spawn_echo(acceptor, 1).await;
    let connected = foreign_client(address, |builder| {
        builder
            .set_min_proto_version(Some(SslVersion::TLS1_3))
            .expect("min version");
        builder
            .set_ciphersuites("TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384")
            .expect("suites");
    })
    .await;
    assert!(!connected, "a TLS 1.3 AES-only client must be refused");
    let error = server_result(server).await.expect_err("refused");
    eprintln!("server: {error}");
    assert!(matches!(error, TlcpError::NoCommonSuite { .. }), "{error}");
}

/// A listener without `tls13_sm` speaks TLCP only: TLS 1.3 SM clients and TLS 1.2 clients are
/// both refused.
/// req: 5.6.2-a1
#[tokio::test]
async fn tlcp_only_listener_refuses_tls() {
    let pki = pki();
    let config = server_config(&pki, &Suite::WITHOUT_CLIENT_CERTIFICATE, false);
    let acceptor = TlcpAcceptor::new(&config).expect("acceptor");
    let (address, server) = spawn_echo(acceptor.clone(), 1).await;
    let error = connect(
        &client_config(&pki, Protocol::Tls13Sm, false),
        address,
        "localhost",
    )
    .await
    .expect_err("TLS 1.3 refused");
    eprintln!("client: {error}");
    assert!(server_result(server).await.is_err());

    let (address, server) = spawn_echo(acceptor, 1).await;
    let connected = foreign_client(address, |builder| {
        builder
            .set_max_proto_version(Some(SslVersion::TLS1_2))
            .expect("max version");
    })
    .await;
    assert!(!connected, "a TLS 1.2 client must be refused");
    eprintln!(
        "server: {}",
        server_result(server).await.expect_err("refused")
    );
}

/// The server's own listener configuration: TLS 1.3 SM beside TLCP with ALPN and an optional
/// client certificate (client CA given, not required); a TLS 1.3 client without certificate
/// gets TLS 1.3, and one offering ALPN gets `http/1.1`.
/// req: 5.6.2-a1
#[tokio::test]
async fn tls13_sm_with_alpn_and_an_optional_client_certificate() {
    let pki = pki();
    let mut config = server_config(&pki, &Suite::WITHOUT_CLIENT_CERTIFICATE, false);
    config.tls13_sm = true;
    config.client_ca_pem = Some(pki.ca_pem.clone());
    config.alpn_protocols = vec!["h2".into(), "http/1.1".into()];
    let acceptor = TlcpAcceptor::new(&config).expect("acceptor");
    let (address, server) = spawn_echo(acceptor, 2).await;
    let mut client = client_config(&pki, Protocol::Tls13Sm, false);
    client.alpn_protocols = vec!["http/1.1".into()];
    let tls13 = connect(&client, address, "localhost")
        .await
        .expect("TLS 1.3 handshake");
    assert_eq!(tls13.protocol_version(), PROTOCOL_TLS13);
    assert_eq!(tls13.alpn_protocol(), Some(&b"http/1.1"[..]));
    assert_eq!(echo_round_trip(tls13, b"tls13").await, b"tls13");
    let mut client = client_config(&pki, Protocol::Tlcp, false);
    client.alpn_protocols = vec!["http/1.1".into()];
    let tlcp = connect(&client, address, "localhost")
        .await
        .expect("TLCP handshake");
    assert_eq!(tlcp.protocol_version(), PROTOCOL_TLCP);
    assert_eq!(echo_round_trip(tlcp, b"tlcp").await, b"tlcp");
    drop(server);
}
