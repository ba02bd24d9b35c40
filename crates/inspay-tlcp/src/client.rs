//! The client side: [`TlcpClientConfig`] and [`TlcpConnector`].

use openssl::ssl::{SslConnector, SslMethod, SslVersion};
use tokio::io::{AsyncRead, AsyncWrite};

use crate::certs::CertPair;
use crate::identity::{Identity, Side, alpn_wire, common_settings, trust_store};
use crate::suite::{TLS13_SM_GROUP, TLS13_SM_SIGALG, TLS13_SM_SUITE, cipher_list};
use crate::transport::MemoryTransport;
use crate::{Protocol, Suite, TlcpError, TlcpStream};

/// What a client trusts, presents and offers.
#[derive(Debug, Clone)]
pub struct TlcpClientConfig {
    /// CA certificates the server's certificates must chain to, PEM.
    pub ca_pem: String,
    /// The client's sign/enc pair for mutual authentication (TLS 1.3 uses the sign part only).
    pub client_pair: Option<CertPair>,
    /// TLCP or TLS 1.3 with SM suites.
    pub protocol: Protocol,
    /// TLCP suites offered, in order of preference (ignored for TLS 1.3). Without
    /// `client_pair` the ECDHE suites are left out, since they need the client's enc key.
    pub suites: Vec<Suite>,
    /// ALPN protocols offered (for example `["http/1.1"]`). Empty: no ALPN.
    pub alpn_protocols: Vec<String>,
}

/// Connects to TLCP (or TLS 1.3 SM) servers, verifying the server's certificate chain against
/// the configured CA and its name against the name dialled. Cheap to clone.
#[derive(Clone)]
pub struct TlcpConnector {
    connector: SslConnector,
}

impl std::fmt::Debug for TlcpConnector {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("TlcpConnector")
            .finish_non_exhaustive()
    }
}

impl TlcpConnector {
    /// Checks `config` and builds the connector. Refused: no suite left to offer, an unusable
    /// CA file, or a client pair that fails the checks of the server's identity (keys match,
    /// key usages fit).
    pub fn new(config: &TlcpClientConfig) -> Result<Self, TlcpError> {
        let identity = config
            .client_pair
            .as_ref()
            .map(|pair| {
                Identity::load(
                    Side::Client,
                    &pair.sign.certificate_pem,
                    &pair.sign.key,
                    &pair.enc.certificate_pem,
                    &pair.enc.key,
                )
            })
            .transpose()?;
        let mut builder = match config.protocol {
            Protocol::Tlcp => {
                let mut builder = SslConnector::builder(SslMethod::ntls_client())?;
                builder.enable_ntls();
                let suites = offered_suites(&config.suites, identity.is_some())?;
                builder.set_cipher_list(&cipher_list(&suites))?;
                builder
            }
            Protocol::Tls13Sm => {
                let mut builder = SslConnector::builder(SslMethod::tls_client())?;
                builder.set_min_proto_version(Some(SslVersion::TLS1_3))?;
                builder.set_max_proto_version(Some(SslVersion::TLS1_3))?;
                builder.set_ciphersuites(TLS13_SM_SUITE)?;
                builder.set_groups_list(TLS13_SM_GROUP)?;
                builder.set_sigalgs_list(TLS13_SM_SIGALG)?;
                builder
            }
        };
        common_settings(&mut builder);
        trust_store(&mut builder, &config.ca_pem, "the CA certificate file")?;
        if let Some(identity) = &identity {
            identity.install(&mut builder, config.protocol == Protocol::Tls13Sm)?;
        }
        if !config.alpn_protocols.is_empty() {
            builder.set_alpn_protos(&alpn_wire(&config.alpn_protocols)?)?;
        }
        Ok(TlcpConnector {
            connector: builder.build(),
        })
    }

    /// Runs the client handshake over `io` with the server named `server_name` (a DNS name,
    /// sent as SNI and checked against the certificate, or an IP address, checked only). Bound
    /// it with `tokio::time::timeout`.
    pub async fn connect<S>(&self, io: S, server_name: &str) -> Result<TlcpStream<S>, TlcpError>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let configuration = self.connector.configure()?;
        let start = configuration.connect(server_name, MemoryTransport::default());
        TlcpStream::handshake(start, io).await
    }
}

fn offered_suites(suites: &[Suite], has_client_pair: bool) -> Result<Vec<Suite>, TlcpError> {
    let offered: Vec<Suite> = suites
        .iter()
        .copied()
        .filter(|suite| has_client_pair || !suite.needs_client_certificate())
        .collect();
    if offered.is_empty() {
        return Err(TlcpError::Config(
            "no TLCP suite to offer: the ECDHE suites need a client sign and enc certificate; \
             configure a client pair or offer ECC_SM4_GCM_SM3 or ECC_SM4_CBC_SM3"
                .into(),
        ));
    }
    Ok(offered)
}
