//! `inspay bench channel` (issue 9): the TLCP listener beside the HTTPS (rustls) listener of
//! the same server, in the same run. Two measures, each in rounds that take every channel in
//! turn (so drift on the machine hits all alike), reported as medians over rounds and as
//! ratios to HTTPS:
//!
//! * **new connections per second**: TCP connect, the full handshake, one `GET /health/live`
//!   and close, with `--concurrency` loops at once. HTTPS is rustls TLS 1.3 (X25519, ECDSA
//!   P-256 certificate); TLCP is ECC_SM4_GCM_SM3 (SM2 signing and encryption certificates,
//!   SM2 key transport); TLS 1.3 SM is TLS_SM4_GCM_SM3 (curveSM2, sm2sig_sm3).
//! * **signed requests per second** over kept-alive connections through the SDK: the signed
//!   fund request of `inspay bench api` (SM2 signature and verification both ways), over
//!   HTTPS and over TLCP.

use super::api::{median, one};
use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use inspay_tlcp::{Protocol, Suite, TlcpClientConfig, TlcpConnector};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

/// `inspay bench channel` options.
#[derive(Debug, clap::Args)]
pub struct ChannelArgs {
    /// Seconds each channel is measured in each round.
    #[arg(long, default_value_t = 3)]
    pub seconds: u64,
    /// Rounds; each round measures every channel once, in turn.
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
    /// Connections (or requests) in flight at once.
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
}

/// The channels whose handshakes are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Handshake {
    Https,
    Tlcp,
    Tls13Sm,
}

impl Handshake {
    const ALL: [Handshake; 3] = [Handshake::Https, Handshake::Tlcp, Handshake::Tls13Sm];

    fn name(self) -> &'static str {
        match self {
            Handshake::Https => "HTTPS TLS 1.3 (rustls)",
            Handshake::Tlcp => "TLCP ECC_SM4_GCM_SM3",
            Handshake::Tls13Sm => "TLS 1.3 TLS_SM4_GCM_SM3",
        }
    }
}

/// What a connection loop needs to reach both listeners.
struct Dialer {
    https: SocketAddr,
    tlcp: SocketAddr,
    rustls: tokio_rustls::TlsConnector,
    tlcp_client: TlcpConnector,
    tls13_client: TlcpConnector,
}

impl Dialer {
    /// One new connection: connect, handshake, `GET /health/live`, read the answer to the end.
    async fn connection(&self, channel: Handshake) -> Result<()> {
        let address = match channel {
            Handshake::Https => self.https,
            Handshake::Tlcp | Handshake::Tls13Sm => self.tlcp,
        };
        let tcp = TcpStream::connect(address).await?;
        tcp.set_nodelay(true)?;
        match channel {
            Handshake::Https => {
                let name = rustls::pki_types::ServerName::try_from("localhost")?;
                exchange(self.rustls.connect(name, tcp).await?).await
            }
            Handshake::Tlcp => exchange(self.tlcp_client.connect(tcp, "localhost").await?).await,
            Handshake::Tls13Sm => {
                exchange(self.tls13_client.connect(tcp, "localhost").await?).await
            }
        }
    }
}

async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S) -> Result<()> {
    stream
        .write_all(b"GET /health/live HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await?;
    stream.flush().await?;
    let mut answer = Vec::with_capacity(512);
    stream.read_to_end(&mut answer).await?;
    if !answer.starts_with(b"HTTP/1.1 200") {
        bail!("the server did not answer 200");
    }
    Ok(())
}

/// Runs the benchmark.
pub fn run(args: &ChannelArgs) -> Result<()> {
    if args.concurrency == 0 || args.seconds == 0 || args.rounds == 0 {
        bail!("--concurrency, --seconds and --rounds must be at least 1");
    }
    crate::commands::runtime()?.block_on(measure(args))
}

async fn measure(args: &ChannelArgs) -> Result<()> {
    let steps = args.rounds * (Handshake::ALL.len() + 2);
    let bar = ProgressBar::new(steps as u64 + 1).with_style(
        ProgressStyle::with_template("{msg:34} {bar:40} {pos}/{len} {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message("starting the server");
    let server = super::server::BenchServer::start("channel", None, |settings| {
        settings.tlcp.address = "127.0.0.1:0".parse().ok();
    })
    .await?;
    let (tlcp, tlcp_ca) = server
        .tlcp
        .clone()
        .context("the benchmark server has no TLCP listener")?;
    let https_ca =
        std::fs::read_to_string(&server.https_ca).context("cannot read the development CA")?;
    let dialer = Arc::new(Dialer {
        https: server.https,
        tlcp,
        rustls: rustls_connector(&https_ca)?,
        tlcp_client: TlcpConnector::new(&tlcp_config(&tlcp_ca, Protocol::Tlcp))?,
        tls13_client: TlcpConnector::new(&tlcp_config(&tlcp_ca, Protocol::Tls13Sm))?,
    });
    let tlcp_sdk = server.tlcp_client(&tlcp_ca).await?;
    bar.inc(1);
    let slice = Duration::from_secs(args.seconds);
    let mut handshakes: Vec<Vec<f64>> = vec![Vec::new(); Handshake::ALL.len()];
    let mut signed: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    let mut errors = 0usize;
    for round in 0..args.rounds {
        for (index, channel) in Handshake::ALL.into_iter().enumerate() {
            bar.set_message(format!("round {}: {}", round + 1, channel.name()));
            let dialer = dialer.clone();
            let (rate, failed) = load(args.concurrency, slice, move || {
                let dialer = dialer.clone();
                async move { dialer.connection(channel).await }
            })
            .await?;
            handshakes[index].push(rate);
            errors += failed;
            bar.inc(1);
        }
        for (index, client) in [&server.client, &tlcp_sdk].into_iter().enumerate() {
            bar.set_message(format!(
                "round {}: signed requests over {}",
                round + 1,
                ["HTTPS", "TLCP"][index]
            ));
            let client = Arc::new(client.clone());
            let (rate, failed) = load(args.concurrency, slice, move || {
                let client = client.clone();
                async move { one(&client, true).await }
            })
            .await?;
            signed[index].push(rate);
            errors += failed;
            bar.inc(1);
        }
    }
    bar.finish_and_clear();
    server.stop().await;

    println!(
        "inspay bench channel: {} rounds of {} s per channel, {} in flight, {} cores",
        args.rounds,
        args.seconds,
        args.concurrency,
        std::thread::available_parallelism().map_or(1, usize::from)
    );
    println!();
    println!("new connections/s (connect, handshake, GET /health/live, close), median of rounds:");
    let https = median(handshakes[0].clone());
    let rows: Vec<(&str, f64)> = Handshake::ALL
        .into_iter()
        .zip(&handshakes)
        .map(|(channel, rates)| (channel.name(), median(rates.clone())))
        .collect();
    table(&rows, https);
    println!();
    println!("signed fund requests/s over kept-alive connections (SDK), median of rounds:");
    let signed_rows = [
        ("over HTTPS (rustls)", median(signed[0].clone())),
        ("over TLCP (ECC_SM4_GCM_SM3)", median(signed[1].clone())),
    ];
    table(&signed_rows, signed_rows[0].1);
    println!();
    println!(
        "errors: {errors}; every figure is this process's client and server together on one \
         machine (loopback), so the ratios, not the absolute rates, carry over"
    );
    if errors > 0 {
        bail!(
            "{errors} connections or requests failed; run with RUST_LOG unset and check the server log"
        );
    }
    Ok(())
}

/// Prints rows with the rate, the ratio to `reference` and a bar.
fn table(rows: &[(&str, f64)], reference: f64) {
    let widest = rows.iter().map(|(_, rate)| *rate).fold(0.0, f64::max);
    println!("  {:<30} {:>10} {:>9}", "channel", "per second", "vs first");
    for (name, rate) in rows {
        let width = if widest > 0.0 {
            (rate / widest * 40.0).round() as usize
        } else {
            0
        };
        println!(
            "  {name:<30} {rate:>10.0} {:>8.2}x  {}",
            rate / reference,
            "#".repeat(width)
        );
    }
}

/// Runs `concurrency` loops of `task` for `duration`; returns completions per second and
/// failures.
async fn load<F, Fut>(concurrency: usize, duration: Duration, task: F) -> Result<(f64, usize)>
where
    F: Fn() -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = Result<()>> + Send,
{
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let task = task.clone();
        tasks.push(tokio::spawn(async move {
            let (mut done, mut failed) = (0usize, 0usize);
            while Instant::now() < deadline {
                match task().await {
                    Ok(()) => done += 1,
                    Err(_) => failed += 1,
                }
            }
            (done, failed)
        }));
    }
    let (mut done, mut failed) = (0usize, 0usize);
    for task in tasks {
        let (own_done, own_failed) = task.await.context("a load task stopped")?;
        done += own_done;
        failed += own_failed;
    }
    Ok((done as f64 / started.elapsed().as_secs_f64(), failed))
}

fn tlcp_config(ca_pem: &str, protocol: Protocol) -> TlcpClientConfig {
    TlcpClientConfig {
        ca_pem: ca_pem.to_string(),
        client_pair: None,
        protocol,
        suites: vec![Suite::EccSm4GcmSm3],
        alpn_protocols: vec!["http/1.1".into()],
    }
}

/// rustls with its defaults (TLS 1.3 first, X25519), trusting the development CA.
fn rustls_connector(ca_pem: &str) -> Result<tokio_rustls::TlsConnector> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for certificate in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(certificate.context("the development CA is not PEM")?)?;
    }
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsConnector::from(Arc::new(config)))
}
