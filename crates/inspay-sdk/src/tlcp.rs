//! The national-cryptography channel (feature `tlcp`, clause 5.6.2-a1): TLCP (GB/T 38636-2020)
//! or TLS 1.3 with `TLS_SM4_GCM_SM3` (RFC 8998), to the server's TLCP listener.
//!
//! Choose it with [`ClientBuilder::tlcp`]; the rest of the SDK does not change. Requests are
//! signed, sensitive fields sealed, answers verified and retries made exactly as over TLS: only
//! the bytes under HTTP travel another way. The HTTP client is hyper's pooled client over
//! [`inspay_tlcp::TlcpConnector`] (Tongsuo), speaking HTTP/2 when the server picks `h2` by
//! ALPN and HTTP/1.1 otherwise.
//!
//! Everything needed to configure the channel is re-exported here, so that an integrator needs
//! no direct dependency on `inspay-tlcp`: [`Protocol`], [`CertPair`] and, to read the pair
//! `inspay certs issue` writes, [`PairFiles`] (and the whole [`certs`] module).

use std::error::Error as StdError;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Uri;
use hyper_util::client::legacy::connect::{Connected, Connection};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use inspay_tlcp::{Suite, TlcpClientConfig, TlcpConnector, TlcpStream};
use tokio::net::TcpStream;

pub use inspay_tlcp::certs;
pub use inspay_tlcp::certs::{CertPair, CertifiedKey, PairFiles, PrivateKeyPem};
pub use inspay_tlcp::{Protocol, TlcpError};

use crate::client::ClientBuilder;
use crate::error::{Error, TransportKind};
use crate::transport::{Answer, Outbound, append_chunk};

/// How long an idle pooled connection is kept (as reqwest's default).
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);

/// What the TLCP channel trusts, presents and speaks. Give it to [`ClientBuilder::tlcp`].
#[derive(Clone)]
pub struct TlcpOptions {
    /// The CA certificate(s), PEM, that issued the server's SM2 certificates (for a development
    /// server, its `data/dev-tlcp/ca.pem`). Only these are trusted.
    pub ca_pem: String,
    /// The application's sign/enc certificate pair, for a listener that requires mutual
    /// authentication (`tlcp.require_client_certificate`); read it with [`PairFiles::read`].
    /// TLS 1.3 presents the sign certificate only.
    pub client_pair: Option<CertPair>,
    /// TLCP, or TLS 1.3 with SM suites (the listener accepts both on one port).
    pub protocol: Protocol,
}

impl std::fmt::Debug for TlcpOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlcpOptions")
            .field("ca_pem_bytes", &self.ca_pem.len())
            .field(
                "client_pair",
                &self.client_pair.as_ref().map(|_| "<configured>"),
            )
            .field("protocol", &self.protocol)
            .finish()
    }
}

impl TlcpOptions {
    /// Trusts `ca_pem` (PEM of the CA that issued the server's SM2 certificates), speaks TLCP,
    /// presents no client pair. Change the public fields for the rest, for example
    /// `TlcpOptions { protocol: Protocol::Tls13Sm, ..TlcpOptions::new(ca_pem) }`.
    pub fn new(ca_pem: impl Into<String>) -> Self {
        TlcpOptions {
            ca_pem: ca_pem.into(),
            client_pair: None,
            protocol: Protocol::Tlcp,
        }
    }

    /// `tlcp` or `tls13-sm`.
    pub(crate) fn name(&self) -> &'static str {
        protocol_name(self.protocol)
    }

    /// The checked connector: the CA must parse, the client pair pass its checks.
    fn connector(&self) -> Result<TlcpConnector, Error> {
        let config = TlcpClientConfig {
            ca_pem: self.ca_pem.clone(),
            client_pair: self.client_pair.clone(),
            protocol: self.protocol,
            // Key agreement (forward secrecy) first; the connector leaves the ECDHE suites out
            // when there is no client pair.
            suites: Suite::ALL.to_vec(),
            alpn_protocols: vec!["h2".to_string(), "http/1.1".to_string()],
        };
        TlcpConnector::new(&config)
            .map_err(|error| Error::Config(format!("the TLCP options are refused: {error}")))
    }
}

fn protocol_name(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::Tlcp => "tlcp",
        Protocol::Tls13Sm => "tls13-sm",
    }
}

impl ClientBuilder {
    /// Talks to the server over TLCP (or TLS 1.3 with SM suites) instead of TLS: to the
    /// server's TLCP listener (`[tlcp] address`), trusting only `options.ca_pem`. The base URL
    /// stays `https://host:port`, with the TLCP listener's port; the host is checked against
    /// the server's certificate. Do not call [`ClientBuilder::trust_ca_pem`] as well: it
    /// configures the TLS channel. Needs the `tlcp` feature.
    ///
    /// [`ClientBuilder::build`] and [`ClientBuilder::fetch_server_keys`] refuse (as
    /// [`Error::Config`]) options whose CA PEM cannot be used or whose client pair fails its
    /// checks (keys match their certificates, key usages fit). A handshake that fails
    /// (the server's certificate is not issued by the CA, the server requires a client pair
    /// and none is configured, ...) is an [`Error::Transport`] of kind
    /// [`TransportKind::Connection`] whose message says what failed.
    ///
    /// ```no_run
    /// use inspay_sdk::tlcp::{PairFiles, Protocol, TlcpOptions};
    ///
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let key = inspay_sdk::Sm2PrivateKey::from_pkcs8_pem(&std::fs::read_to_string("app-key.pem")?)?;
    /// let options = TlcpOptions {
    ///     ca_pem: std::fs::read_to_string("data/dev-tlcp/ca.pem")?,
    ///     // Only for a listener that requires mutual authentication: the pair that
    ///     // `inspay certs issue` wrote for this application.
    ///     client_pair: Some(PairFiles::in_dir("certs".as_ref(), "portal-app").read()?),
    ///     protocol: Protocol::Tlcp,
    /// };
    /// let builder = inspay_sdk::Client::builder("https://localhost:8446")
    ///     .app_id("portal-app")
    ///     .key(1, key)
    ///     .tlcp(options);
    /// // Pin the keys your operator exports in production, as over TLS.
    /// let server_keys = builder.fetch_server_keys().await?;
    /// let client = builder.server_keys(&server_keys).build()?;
    /// let answer = client.get("/v1/protocol/keys").send().await?;
    /// # let _ = answer;
    /// # Ok(())
    /// # }
    /// ```
    pub fn tlcp(mut self, options: TlcpOptions) -> Self {
        self.channel.tlcp = Some(options);
        self
    }
}

/// What went wrong on the TLCP channel, in words that name no key and no URL.
#[derive(Debug, Clone)]
pub(crate) struct ChannelError {
    kind: TransportKind,
    message: String,
}

impl std::fmt::Display for ChannelError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl StdError for ChannelError {}

impl ChannelError {
    fn into_error(self) -> Error {
        Error::Transport {
            kind: self.kind,
            source: Box::new(self),
        }
    }
}

/// `error` and its sources, joined with `: `.
fn chain(error: &(dyn StdError + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// A hyper error as the SDK's transport error: a malformed answer is `Other`, a time-out
/// `Timeout`, anything else (closed, reset, truncated) a broken connection.
fn from_hyper(error: &hyper::Error) -> Error {
    let kind = if error.is_timeout() {
        TransportKind::Timeout
    } else if error.is_parse() || error.is_parse_status() || error.is_user() {
        TransportKind::Other
    } else {
        TransportKind::Connection
    };
    ChannelError {
        kind,
        message: chain(error),
    }
    .into_error()
}

/// The client's error: the dialer's own when connecting failed, else hyper's.
fn from_client(error: &hyper_util::client::legacy::Error) -> Error {
    let mut source = error.source();
    while let Some(cause) = source {
        if let Some(dial) = cause.downcast_ref::<ChannelError>() {
            return dial.clone().into_error();
        }
        if let Some(hyper_error) = cause.downcast_ref::<hyper::Error>() {
            return from_hyper(hyper_error);
        }
        source = cause.source();
    }
    let kind = if error.is_connect() {
        TransportKind::Connection
    } else {
        TransportKind::Other
    };
    ChannelError {
        kind,
        message: chain(error),
    }
    .into_error()
}

/// The HTTP client over TLCP: pooled, HTTP/1.1 or HTTP/2 by ALPN.
#[derive(Clone)]
pub(crate) struct TlcpTransport {
    client: hyper_util::client::legacy::Client<Dialer, Full<Bytes>>,
    protocol: Protocol,
    timeout: Duration,
}

impl TlcpTransport {
    pub(crate) fn new(
        options: &TlcpOptions,
        timeout: Duration,
        connect_timeout: Duration,
    ) -> Result<TlcpTransport, Error> {
        let dialer = Dialer {
            connector: options.connector()?,
            protocol: options.protocol,
            client_pair: options.client_pair.is_some(),
            connect_timeout,
        };
        let client = hyper_util::client::legacy::Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .build(dialer);
        Ok(TlcpTransport {
            client,
            protocol: options.protocol,
            timeout,
        })
    }

    pub(crate) fn name(&self) -> &'static str {
        protocol_name(self.protocol)
    }

    /// Sends `request` and reads the whole answer, all within the attempt's time-out.
    pub(crate) async fn exchange(&self, request: Outbound) -> Result<Answer, Error> {
        let uri = Uri::try_from(request.url.as_str())
            .map_err(|_| Error::Config("the request URL is not valid".to_string()))?;
        let mut outgoing = hyper::Request::builder()
            .method(request.method)
            .uri(uri)
            .body(Full::new(Bytes::from(request.body.unwrap_or_default())))
            .map_err(|_| Error::Config("the request could not be built".to_string()))?;
        *outgoing.headers_mut() = request.headers;
        match tokio::time::timeout(self.timeout, self.round_trip(outgoing)).await {
            Ok(answer) => answer,
            Err(_) => Err(ChannelError {
                kind: TransportKind::Timeout,
                message: format!(
                    "no complete answer within the time-out ({} ms)",
                    self.timeout.as_millis()
                ),
            }
            .into_error()),
        }
    }

    async fn round_trip(&self, request: hyper::Request<Full<Bytes>>) -> Result<Answer, Error> {
        let answer = self
            .client
            .request(request)
            .await
            .map_err(|error| from_client(&error))?;
        let (parts, mut incoming) = answer.into_parts();
        let mut body = Vec::new();
        while let Some(frame) = incoming.frame().await {
            let frame = frame.map_err(|error| from_hyper(&error))?;
            if let Ok(data) = frame.into_data() {
                append_chunk(&mut body, &data)?;
            }
        }
        Ok((parts.status.as_u16(), parts.headers, body))
    }
}

/// Dials TCP and runs the TLCP (or TLS 1.3 SM) handshake, within the connect time-out.
#[derive(Clone)]
pub(crate) struct Dialer {
    connector: TlcpConnector,
    protocol: Protocol,
    client_pair: bool,
    connect_timeout: Duration,
}

type Dialing = Pin<Box<dyn Future<Output = Result<TlcpConnection, ChannelError>> + Send>>;

impl tower_service::Service<Uri> for Dialer {
    type Response = TlcpConnection;
    type Error = ChannelError;
    type Future = Dialing;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let dialer = self.clone();
        Box::pin(async move { dialer.dial(uri).await })
    }
}

impl Dialer {
    async fn dial(self, uri: Uri) -> Result<TlcpConnection, ChannelError> {
        let broken = |message: String| ChannelError {
            kind: TransportKind::Connection,
            message,
        };
        if uri.scheme_str() != Some("https") {
            return Err(broken("the TLCP channel needs an https:// URL".to_string()));
        }
        let host = uri
            .host()
            .map(|host| host.trim_start_matches('[').trim_end_matches(']'))
            .filter(|host| !host.is_empty())
            .ok_or_else(|| broken("the URL names no host".to_string()))?
            .to_string();
        let port = uri.port_u16().unwrap_or(443);
        let channel = match self.protocol {
            Protocol::Tlcp => "TLCP",
            Protocol::Tls13Sm => "TLS 1.3 (SM)",
        };
        let connect = async {
            let tcp = TcpStream::connect((host.as_str(), port))
                .await
                .map_err(|error| broken(format!("cannot connect to {host}:{port}: {error}")))?;
            // Requests are small and answered at once: do not wait to fill a segment.
            tcp.set_nodelay(true)
                .map_err(|error| broken(format!("cannot set TCP_NODELAY: {error}")))?;
            let stream = self.connector.connect(tcp, &host).await.map_err(|error| {
                // A listener that requires mutual authentication aborts with an alert.
                let hint = match &error {
                    TlcpError::PeerAlert { .. } | TlcpError::ClosedDuringHandshake
                        if !self.client_pair =>
                    {
                        " (this client presents no certificate pair: if the listener requires \
                         mutual authentication, set TlcpOptions::client_pair)"
                    }
                    _ => "",
                };
                broken(format!(
                    "the {channel} handshake with {host}:{port} failed: {error}{hint}"
                ))
            })?;
            let h2 = stream.alpn_protocol() == Some(b"h2".as_slice());
            Ok(TlcpConnection {
                io: TokioIo::new(stream),
                h2,
            })
        };
        match tokio::time::timeout(self.connect_timeout, connect).await {
            Ok(connected) => connected,
            Err(_) => Err(ChannelError {
                kind: TransportKind::Timeout,
                message: format!(
                    "connecting to {host}:{port} over {channel} took longer than the connect \
                     time-out ({} ms)",
                    self.connect_timeout.as_millis()
                ),
            }),
        }
    }
}

/// An established TLCP connection, as hyper's client reads and writes it.
pub(crate) struct TlcpConnection {
    io: TokioIo<TlcpStream<TcpStream>>,
    h2: bool,
}

impl Connection for TlcpConnection {
    fn connected(&self) -> Connected {
        let connected = Connected::new();
        if self.h2 {
            connected.negotiated_h2()
        } else {
            connected
        }
    }
}

impl hyper::rt::Read for TlcpConnection {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl hyper::rt::Write for TlcpConnection {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_connection<T: hyper::rt::Read + hyper::rt::Write + Connection + Unpin + Send>() {}

    #[test]
    fn the_connection_is_what_hyper_pools() {
        assert_connection::<TlcpConnection>();
    }

    /// A refused CA PEM is a configuration error that quotes no PEM text.
    #[test]
    fn unusable_options_are_configuration_errors() {
        let options = TlcpOptions {
            ca_pem: "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n"
                .to_string(),
            client_pair: None,
            protocol: Protocol::Tlcp,
        };
        let error = crate::Client::builder("https://localhost:8446")
            .app_id("portal-app")
            .key(1, crate::Sm2PrivateKey::generate().expect("key"))
            .server_key(
                1,
                crate::Sm2PrivateKey::generate()
                    .expect("key")
                    .public_key()
                    .clone(),
            )
            .tlcp(options)
            .build()
            .expect_err("no usable CA");
        assert!(matches!(error, Error::Config(_)), "{error:?}");
        assert!(!error.to_string().contains("not base64"), "{error}");
    }
}
