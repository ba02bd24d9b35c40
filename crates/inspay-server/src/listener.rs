//! The accept loop every listener shares: handshake under a time limit, HTTP/1.1 or HTTP/2
//! (ALPN) through hyper, the client's address and certificate put on each request, and
//! graceful shutdown.
//!
//! The secure channel is whatever implements [`Handshake`]: rustls (`tokio_rustls::TlsAcceptor`,
//! TLS 1.2/1.3) or, with the `tlcp` feature, TLCP and TLS 1.3 with SM suites
//! ([`crate::tlcp`]). Nothing after the handshake knows which one carried the request: the
//! router sees the same [`ClientCertificate`] extension from both.

use crate::startup::ClientCertificate;
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

/// A secure-channel handshake on an accepted TCP connection.
pub trait Handshake: Clone + Send + Sync + 'static {
    /// The protected stream.
    type Stream: AsyncRead + AsyncWrite + Unpin + Send + 'static;

    /// The protocol family, for log lines ("TLS", "TLCP").
    const NAME: &'static str;

    /// Runs the server side of the handshake; on success also returns the client's
    /// certificate (its signing certificate for TLCP), if it presented one. The error is a
    /// sentence for the log: it names no key and no application data.
    fn handshake(
        &self,
        tcp: TcpStream,
    ) -> impl Future<Output = Result<(Self::Stream, Option<ClientCertificate>), String>> + Send;
}

/// The SM3 fingerprint of a DER certificate, as registered applications name theirs
/// (`inspay apps register --client-certificate`).
pub fn client_certificate(der: &[u8]) -> ClientCertificate {
    ClientCertificate {
        fingerprint_sm3: hex::encode(inspay_crypto::sm3::sm3(der)),
    }
}

impl Handshake for tokio_rustls::TlsAcceptor {
    type Stream = tokio_rustls::server::TlsStream<TcpStream>;
    const NAME: &'static str = "TLS";

    async fn handshake(
        &self,
        tcp: TcpStream,
    ) -> Result<(Self::Stream, Option<ClientCertificate>), String> {
        let tls = self.accept(tcp).await.map_err(|error| error.to_string())?;
        let client = tls
            .get_ref()
            .1
            .peer_certificates()
            .and_then(|chain| chain.first())
            .map(|leaf| client_certificate(leaf.as_ref()));
        Ok((tls, client))
    }
}

/// Serves `router` on `listener` until `shutdown`, then waits for in-flight requests up to
/// the grace period.
pub async fn serve<H: Handshake>(
    listener: TcpListener,
    acceptor: H,
    router: Router,
    limits: crate::config::Limits,
    trusted_proxies: Arc<Vec<crate::defence::Network>>,
    shutdown: CancellationToken,
) {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_millis(limits.header_read_timeout_ms))
        .max_buf_size(limits.head_bytes_max)
        .max_headers(limits.headers_count_max);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(u32::try_from(limits.head_bytes_max).unwrap_or(u32::MAX));
    let handshake_timeout = Duration::from_millis(limits.handshake_timeout_ms);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(error = %error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = shutdown.cancelled() => break,
        };
        let acceptor = acceptor.clone();
        let router = router.clone();
        let builder = builder.clone();
        let trusted_proxies = trusted_proxies.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let handshake = tokio::time::timeout(handshake_timeout, acceptor.handshake(stream));
            let (secured, client) = match handshake.await {
                Ok(Ok(secured)) => secured,
                Ok(Err(error)) => {
                    tracing::info!(peer = %peer.ip(), error = %error, "{} handshake refused", H::NAME);
                    return;
                }
                Err(_) => {
                    tracing::info!(peer = %peer.ip(), "{} handshake timed out", H::NAME);
                    return;
                }
            };
            let service = hyper::service::service_fn(
                move |mut request: hyper::Request<hyper::body::Incoming>| {
                    let address = crate::defence::client_address(
                        peer.ip(),
                        request.headers(),
                        &trusted_proxies,
                    );
                    request
                        .extensions_mut()
                        .insert(crate::defence::ClientAddr(address));
                    if let Some(client) = &client {
                        request.extensions_mut().insert(client.clone());
                    }
                    router.clone().oneshot(request.map(axum::body::Body::new))
                },
            );
            let connection = builder.serve_connection_with_upgrades(TokioIo::new(secured), service);
            if let Err(error) = watcher.watch(connection.into_owned()).await {
                tracing::debug!(error = %error, "connection ended with an error");
            }
        });
    }
    drop(listener);
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(Duration::from_millis(limits.shutdown_grace_ms)) => {
            tracing::warn!("shutdown grace period elapsed with requests still in flight");
        }
    }
}
