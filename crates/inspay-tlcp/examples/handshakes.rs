//! Handshakes per second over loopback: TLCP (ECC and ECDHE suites) and TLS 1.3 with
//! TLS_SM4_GCM_SM3, each for a fixed time, to compare with the rustls listener.
//!
//! `cargo run --release --example handshakes -- [seconds per case, default 3] [concurrent
//! clients, default 2]`. Each handshake is a new TCP connection, a full handshake (no session
//! resumption) with mutual authentication off, and one byte echoed so that both sides have
//! finished.

use std::error::Error;
use std::time::{Duration, Instant};

use inspay_tlcp::certs::{DevelopmentCa, Role, SubjectName, Validity};
use inspay_tlcp::{
    Protocol, Suite, TlcpAcceptor, TlcpClientConfig, TlcpConnector, TlcpServerConfig,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

type AnyError = Box<dyn Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), AnyError> {
    let mut arguments = std::env::args().skip(1);
    let seconds: u64 = arguments.next().map_or(Ok(3), |text| text.parse())?;
    let clients: usize = arguments.next().map_or(Ok(2), |text| text.parse())?;
    let ca = DevelopmentCa::generate("bench CA")?;
    let ca_pem = ca.certificate_pem()?;
    let names = [SubjectName::Dns("localhost".into())];
    let server = ca.issue_pair(
        "localhost",
        &names,
        Role::Server,
        Validity::days_from_now(1),
    )?;
    let client_pair = ca.issue_pair("bench", &[], Role::Client, Validity::days_from_now(1))?;
    let cases = [
        (
            "TLCP ECC_SM4_GCM_SM3",
            Protocol::Tlcp,
            Suite::EccSm4GcmSm3,
            false,
        ),
        (
            "TLCP ECDHE_SM4_GCM_SM3 (mutual)",
            Protocol::Tlcp,
            Suite::EcdheSm4GcmSm3,
            true,
        ),
        (
            "TLS 1.3 TLS_SM4_GCM_SM3",
            Protocol::Tls13Sm,
            Suite::EccSm4GcmSm3,
            false,
        ),
    ];
    println!("{seconds} s per case, {clients} concurrent clients");
    for (label, protocol, suite, mutual) in cases {
        let acceptor = TlcpAcceptor::new(&TlcpServerConfig {
            sign_cert_chain_pem: server.sign.certificate_pem.clone(),
            sign_key_pem: server.sign.key.clone(),
            enc_cert_pem: server.enc.certificate_pem.clone(),
            enc_key_pem: server.enc.key.clone(),
            client_ca_pem: mutual.then(|| ca_pem.clone()),
            require_client_cert: mutual,
            suites: vec![suite],
            tls13_sm: protocol == Protocol::Tls13Sm,
            alpn_protocols: Vec::new(),
        })?;
        let connector = TlcpConnector::new(&TlcpClientConfig {
            ca_pem: ca_pem.clone(),
            client_pair: mutual.then(|| client_pair.clone()),
            protocol,
            suites: vec![suite],
            alpn_protocols: Vec::new(),
        })?;
        let count = run(acceptor, connector, Duration::from_secs(seconds), clients).await?;
        let rate = count as f64 / seconds as f64;
        println!("{label:<34} {count:>7} handshakes  {rate:>8.1} /s");
    }
    Ok(())
}

async fn run(
    acceptor: TlcpAcceptor,
    connector: TlcpConnector,
    duration: Duration,
    clients: usize,
) -> Result<u64, AnyError> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let server = tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if let Ok(mut stream) = acceptor.accept(tcp).await {
                    let mut byte = [0u8; 1];
                    if stream.read_exact(&mut byte).await.is_ok() {
                        let _ = stream.write_all(&byte).await;
                        let _ = stream.shutdown().await;
                    }
                }
            });
        }
    });
    let deadline = Instant::now() + duration;
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let connector = connector.clone();
        tasks.push(tokio::spawn(async move {
            let mut count = 0u64;
            while Instant::now() < deadline {
                let tcp = TcpStream::connect(address).await?;
                tcp.set_nodelay(true)?;
                let mut stream = connector.connect(tcp, "localhost").await?;
                stream.write_all(b"x").await?;
                let mut byte = [0u8; 1];
                stream.read_exact(&mut byte).await?;
                count += 1;
            }
            Ok::<u64, AnyError>(count)
        }));
    }
    let mut total = 0;
    for task in tasks {
        total += task.await??;
    }
    server.abort();
    Ok(total)
}
