//! The channel an exchange travels: TLS through reqwest and rustls (the default) or, with the
//! `tlcp` feature, TLCP or TLS 1.3 with SM suites through [`crate::tlcp`].
//!
//! Everything above this module (signing, sealing sensitive fields, verifying answers,
//! retrying) is the same whatever the channel: it hands an [`Outbound`] request to
//! [`Transport::exchange`] and gets back the whole answer, or an [`Error::Transport`] whose
//! [`crate::TransportKind`] the retry policy reads.

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::{Method, Url};
use rustls::pki_types::CertificateDer;

use crate::error::Error;

/// Longest answer body read, bytes (the server signs at most 4 MiB).
pub(crate) const ANSWER_BYTES_MAX: usize = 8 * 1024 * 1024;

/// Appends a chunk of an answer body, refusing to grow past [`ANSWER_BYTES_MAX`].
pub(crate) fn append_chunk(body: &mut Vec<u8>, chunk: &[u8]) -> Result<(), Error> {
    if body.len() + chunk.len() > ANSWER_BYTES_MAX {
        return Err(Error::Decode(format!(
            "the answer is longer than {ANSWER_BYTES_MAX} bytes"
        )));
    }
    body.extend_from_slice(chunk);
    Ok(())
}

/// What the builder configures about the channel.
#[derive(Clone)]
pub(crate) struct ChannelConfig {
    /// CAs trusted for the server's TLS certificate (the reqwest/rustls channel).
    pub(crate) roots: Vec<CertificateDer<'static>>,
    /// The TLCP channel, when chosen with [`crate::ClientBuilder::tlcp`].
    #[cfg(feature = "tlcp")]
    pub(crate) tlcp: Option<crate::tlcp::TlcpOptions>,
    /// The time-out of one attempt, from connecting to the last byte of the answer.
    pub(crate) timeout: Duration,
    /// The time-out of connecting (TCP and the handshake).
    pub(crate) connect_timeout: Duration,
}

impl ChannelConfig {
    /// The channel's name, for `Debug`.
    pub(crate) fn name(&self) -> &'static str {
        #[cfg(feature = "tlcp")]
        if let Some(tlcp) = &self.tlcp {
            return tlcp.name();
        }
        "tls"
    }
}

impl std::fmt::Debug for ChannelConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut debug = f.debug_struct("Channel");
        debug
            .field("kind", &self.name())
            .field("trusted_cas", &self.roots.len());
        #[cfg(feature = "tlcp")]
        if let Some(tlcp) = &self.tlcp {
            debug.field("tlcp", tlcp);
        }
        debug
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .finish()
    }
}

/// One request, ready for the wire: signed, its sensitive fields sealed.
pub(crate) struct Outbound {
    pub(crate) method: Method,
    pub(crate) url: Url,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Option<Vec<u8>>,
}

/// A whole answer: status, headers, body.
pub(crate) type Answer = (u16, HeaderMap, Vec<u8>);

/// An HTTP client over the configured channel. Pools connections; cheap to clone.
#[derive(Clone)]
pub(crate) enum Transport {
    /// TLS through reqwest and rustls.
    Tls(reqwest::Client),
    /// TLCP or TLS 1.3 (SM) through hyper and inspay-tlcp.
    #[cfg(feature = "tlcp")]
    Tlcp(Box<crate::tlcp::TlcpTransport>),
}

impl Transport {
    /// The client for `config`.
    pub(crate) fn new(config: &ChannelConfig) -> Result<Transport, Error> {
        #[cfg(feature = "tlcp")]
        if let Some(tlcp) = &config.tlcp {
            if !config.roots.is_empty() {
                return Err(Error::Config(
                    "trust_ca_pem configures the TLS channel; over TLCP the trusted CA is \
                     TlcpOptions::ca_pem: drop the trust_ca_pem call"
                        .to_string(),
                ));
            }
            return Ok(Transport::Tlcp(Box::new(crate::tlcp::TlcpTransport::new(
                tlcp,
                config.timeout,
                config.connect_timeout,
            )?)));
        }
        Ok(Transport::Tls(http_client(
            &config.roots,
            config.timeout,
            config.connect_timeout,
        )?))
    }

    /// The channel's name, for `Debug`.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Transport::Tls(_) => "tls",
            #[cfg(feature = "tlcp")]
            Transport::Tlcp(tlcp) => tlcp.name(),
        }
    }

    /// Sends `request` and reads the whole answer (at most [`ANSWER_BYTES_MAX`] bytes).
    pub(crate) async fn exchange(&self, request: Outbound) -> Result<Answer, Error> {
        match self {
            Transport::Tls(http) => {
                let mut builder = http
                    .request(request.method, request.url)
                    .headers(request.headers);
                if let Some(body) = request.body {
                    builder = builder.body(body);
                }
                let answer = builder.send().await.map_err(Error::transport)?;
                read(answer).await
            }
            #[cfg(feature = "tlcp")]
            Transport::Tlcp(tlcp) => tlcp.exchange(request).await,
        }
    }
}

fn http_client(
    roots: &[CertificateDer<'static>],
    timeout: Duration,
    connect_timeout: Duration,
) -> Result<reqwest::Client, Error> {
    if roots.is_empty() {
        return Err(Error::Config(
            "no trusted CA: call trust_ca_pem with the CA that issued the server's certificate"
                .to_string(),
        ));
    }
    let mut store = rustls::RootCertStore::empty();
    for root in roots {
        store.add(root.clone()).map_err(|_| {
            Error::Config("a CA certificate is not usable as a trust anchor".to_string())
        })?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|_| Error::Config("the TLS provider has no safe protocol version".to_string()))?
        .with_root_certificates(store)
        .with_no_client_auth();
    // A preconfigured TLS set-up keeps its own ALPN list: without it the server can only pick
    // HTTP/1.1, one connection per request in flight. Offering h2 lets one connection carry
    // them all.
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    reqwest::Client::builder()
        .use_preconfigured_tls(config)
        .https_only(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .connect_timeout(connect_timeout)
        .build()
        .map_err(|error| {
            Error::Config(format!(
                "the HTTP client could not be built: {}",
                error.without_url()
            ))
        })
}

/// Reads a whole reqwest answer, up to [`ANSWER_BYTES_MAX`].
async fn read(mut answer: reqwest::Response) -> Result<Answer, Error> {
    let status = answer.status().as_u16();
    let headers = answer.headers().clone();
    let mut body = Vec::new();
    while let Some(chunk) = answer.chunk().await.map_err(Error::transport)? {
        append_chunk(&mut body, &chunk)?;
    }
    Ok((status, headers, body))
}
