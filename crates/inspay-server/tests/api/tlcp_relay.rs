//! A client-side TLCP tunnel for the tests, in the manner of a TLCP client gateway: it accepts
//! plain TCP on a loopback port and carries each connection to the server's TLCP listener over
//! its own TLCP connection (Tongsuo's client through `inspay_tlcp`, ALPN `http/1.1`).
//!
//! With `INSPAY_TEST_CHANNEL=tlcp` the harness ([`crate::helpers::spawn_with`]) points every
//! test's URLs at such a tunnel, so the whole API suite runs over the TLCP listener with the
//! test code unchanged (reqwest, which the tests are written against, cannot speak TLCP
//! itself). CI does this in its PostgreSQL pass (.ci/run).

#![allow(dead_code)]

use inspay_tlcp::certs::CertPair;
use inspay_tlcp::{Protocol, Suite, TlcpClientConfig, TlcpConnector};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

/// Whether this run sends the API tests over TLCP (`INSPAY_TEST_CHANNEL=tlcp`).
pub fn channel_is_tlcp() -> bool {
    std::env::var("INSPAY_TEST_CHANNEL").as_deref() == Ok("tlcp")
}

/// A client configuration trusting `ca_pem`, offering what a client of that kind offers.
pub fn client_config(
    ca_pem: &str,
    client_pair: Option<CertPair>,
    protocol: Protocol,
) -> TlcpClientConfig {
    TlcpClientConfig {
        ca_pem: ca_pem.to_string(),
        client_pair,
        protocol,
        suites: Suite::ALL.to_vec(),
        alpn_protocols: vec!["http/1.1".into()],
    }
}

/// A running tunnel.
pub struct TlcpRelay {
    /// Where plain HTTP goes in.
    pub address: SocketAddr,
    stop: CancellationToken,
}

impl Drop for TlcpRelay {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl TlcpRelay {
    /// Starts a tunnel to the TLCP listener at `server`, verifying it as `localhost`.
    pub async fn start(server: SocketAddr, config: &TlcpClientConfig) -> TlcpRelay {
        let connector = TlcpConnector::new(config).expect("TLCP client configuration");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("relay port");
        let address = listener.local_addr().expect("relay address");
        let stop = CancellationToken::new();
        let stopped = stop.clone();
        tokio::spawn(async move {
            loop {
                let plain = tokio::select! {
                    accepted = listener.accept() => match accepted {
                        Ok((plain, _)) => plain,
                        Err(_) => continue,
                    },
                    _ = stopped.cancelled() => return,
                };
                let connector = connector.clone();
                tokio::spawn(async move { carry(plain, server, &connector).await });
            }
        });
        TlcpRelay { address, stop }
    }
}

async fn carry(mut plain: TcpStream, server: SocketAddr, connector: &TlcpConnector) {
    let _ = plain.set_nodelay(true);
    let Ok(tcp) = TcpStream::connect(server).await else {
        return;
    };
    let _ = tcp.set_nodelay(true);
    let secured =
        tokio::time::timeout(Duration::from_secs(20), connector.connect(tcp, "localhost")).await;
    // A refused handshake closes the plain side, which the client sees as a connection error.
    let Ok(Ok(mut secured)) = secured else {
        return;
    };
    let _ = tokio::io::copy_bidirectional(&mut plain, &mut secured).await;
}
