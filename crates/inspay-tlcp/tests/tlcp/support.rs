//! Shared helpers: a test PKI, configurations, an echo server and a client.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use inspay_tlcp::certs::{CertPair, DevelopmentCa, Role, SubjectName, Validity};
use inspay_tlcp::{
    Protocol, Suite, TlcpAcceptor, TlcpClientConfig, TlcpConnector, TlcpError, TlcpServerConfig,
    TlcpStream,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// The bound on every handshake and exchange in the tests, so that a bug hangs no test.
pub const STEP_TIMEOUT: Duration = Duration::from_secs(20);

/// A CA with a server pair (localhost, 127.0.0.1) and a client pair.
pub struct Pki {
    pub ca: DevelopmentCa,
    pub ca_pem: String,
    pub server: CertPair,
    pub client: CertPair,
}

pub fn server_names() -> Vec<SubjectName> {
    vec![
        SubjectName::Dns("localhost".into()),
        SubjectName::Ip(IpAddr::V4(Ipv4Addr::LOCALHOST)),
    ]
}

pub fn pki() -> Pki {
    pki_with_server_validity(Validity::days_from_now(30))
}

pub fn pki_with_server_validity(validity: Validity) -> Pki {
    let ca = DevelopmentCa::generate("inspay test SM2 CA").expect("CA");
    let server = ca
        .issue_pair("localhost", &server_names(), Role::Server, validity)
        .expect("server pair");
    let client = ca
        .issue_pair("client-1", &[], Role::Client, Validity::days_from_now(30))
        .expect("client pair");
    Pki {
        ca_pem: ca.certificate_pem().expect("CA PEM"),
        ca,
        server,
        client,
    }
}

/// A server configuration; with `require_client`, client certificates from the same CA.
pub fn server_config(pki: &Pki, suites: &[Suite], require_client: bool) -> TlcpServerConfig {
    TlcpServerConfig {
        sign_cert_chain_pem: pki.server.sign.certificate_pem.clone(),
        sign_key_pem: pki.server.sign.key.clone(),
        enc_cert_pem: pki.server.enc.certificate_pem.clone(),
        enc_key_pem: pki.server.enc.key.clone(),
        client_ca_pem: require_client.then(|| pki.ca_pem.clone()),
        require_client_cert: require_client,
        suites: suites.to_vec(),
        tls13_sm: false,
        alpn_protocols: Vec::new(),
    }
}

/// A client configuration trusting `pki`'s CA, presenting its client pair if `with_pair`.
pub fn client_config(pki: &Pki, protocol: Protocol, with_pair: bool) -> TlcpClientConfig {
    TlcpClientConfig {
        ca_pem: pki.ca_pem.clone(),
        client_pair: with_pair.then(|| pki.client.clone()),
        protocol,
        suites: Suite::ALL.to_vec(),
        alpn_protocols: Vec::new(),
    }
}

/// What the server saw of one connection.
#[derive(Debug)]
pub struct ServerSide {
    pub protocol: &'static str,
    pub cipher: Option<&'static str>,
    pub peer_sign_der: Option<Vec<u8>>,
    pub echoed_bytes: usize,
}

/// Accepts `connections` connections; each handshakes, echoes until close_notify and closes.
pub async fn spawn_echo(
    acceptor: TlcpAcceptor,
    connections: usize,
) -> (SocketAddr, JoinHandle<Vec<Result<ServerSide, TlcpError>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let handle = tokio::spawn(async move {
        let mut tasks = Vec::new();
        for _ in 0..connections {
            let (tcp, _) = listener.accept().await.expect("accept");
            let acceptor = acceptor.clone();
            tasks.push(tokio::spawn(async move { echo(&acceptor, tcp).await }));
        }
        let mut results = Vec::new();
        for task in tasks {
            results.push(task.await.expect("server task"));
        }
        results
    });
    (address, handle)
}

async fn echo(acceptor: &TlcpAcceptor, tcp: TcpStream) -> Result<ServerSide, TlcpError> {
    let mut stream = tokio::time::timeout(STEP_TIMEOUT, acceptor.accept(tcp))
        .await
        .map_err(|_| TlcpError::Handshake("server handshake timed out".into()))??;
    let mut side = ServerSide {
        protocol: stream.protocol_version(),
        cipher: stream.cipher_name(),
        peer_sign_der: stream.peer_sign_certificate_der(),
        echoed_bytes: 0,
    };
    let mut buf = vec![0u8; 8192];
    loop {
        let count = stream.read(&mut buf).await?;
        if count == 0 {
            break;
        }
        stream.write_all(&buf[..count]).await?;
        side.echoed_bytes += count;
    }
    stream.shutdown().await?;
    Ok(side)
}

/// The server's single result.
pub async fn server_result(
    handle: JoinHandle<Vec<Result<ServerSide, TlcpError>>>,
) -> Result<ServerSide, TlcpError> {
    let mut results = tokio::time::timeout(STEP_TIMEOUT, handle)
        .await
        .expect("server finished")
        .expect("server task");
    assert_eq!(results.len(), 1);
    results.remove(0)
}

/// Connects with `config` to `address` as `server_name`.
pub async fn connect(
    config: &TlcpClientConfig,
    address: SocketAddr,
    server_name: &str,
) -> Result<TlcpStream, TlcpError> {
    let connector = TlcpConnector::new(config)?;
    let tcp = TcpStream::connect(address).await?;
    tokio::time::timeout(STEP_TIMEOUT, connector.connect(tcp, server_name))
        .await
        .map_err(|_| TlcpError::Handshake("client handshake timed out".into()))?
}

/// Sends `payload` while reading the echo concurrently, then closes with close_notify and
/// checks that the server closes with close_notify too (end of stream, not an error).
pub async fn echo_round_trip(stream: TlcpStream, payload: &[u8]) -> Vec<u8> {
    let (mut reader, mut writer) = tokio::io::split(stream);
    let write = async {
        writer.write_all(payload).await.expect("write");
        writer.flush().await.expect("flush");
    };
    let read = async {
        let mut echoed = vec![0u8; payload.len()];
        reader.read_exact(&mut echoed).await.expect("read echo");
        echoed
    };
    let ((), echoed) = tokio::time::timeout(STEP_TIMEOUT, async { tokio::join!(write, read) })
        .await
        .expect("exchange in time");
    writer.shutdown().await.expect("close_notify");
    let mut rest = Vec::new();
    let count = tokio::time::timeout(STEP_TIMEOUT, reader.read_to_end(&mut rest))
        .await
        .expect("close in time")
        .expect("orderly close");
    assert_eq!(count, 0, "no bytes after the echo");
    echoed
}

/// DER of a PEM certificate.
pub fn der(pem: &str) -> Vec<u8> {
    openssl::x509::X509::from_pem(pem.as_bytes())
        .expect("PEM")
        .to_der()
        .expect("DER")
}
