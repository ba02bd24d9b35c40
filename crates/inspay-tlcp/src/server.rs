//! The server side: [`TlcpServerConfig`] and [`TlcpAcceptor`].

use openssl::ssl::SslVersion;
use openssl::ssl::{AlpnError, Ssl, SslContext, SslContextBuilder, SslMethod, SslVerifyMode};
use tokio::io::{AsyncRead, AsyncWrite};

use crate::certs::PrivateKeyPem;
use crate::identity::{Identity, Side, alpn_wire, common_settings, trust_store};
use crate::suite::{TLS13_SM_GROUP, TLS13_SM_SIGALG, TLS13_SM_SUITE, cipher_list};
use crate::transport::MemoryTransport;
use crate::{Suite, TlcpError, TlcpStream};

/// What a TLCP listener serves.
#[derive(Debug, Clone)]
pub struct TlcpServerConfig {
    /// The server sign certificate, then any intermediates, PEM.
    pub sign_cert_chain_pem: String,
    /// The key of the sign certificate.
    pub sign_key_pem: PrivateKeyPem,
    /// The server enc certificate, PEM.
    pub enc_cert_pem: String,
    /// The key of the enc certificate.
    pub enc_key_pem: PrivateKeyPem,
    /// CA certificates that client certificates must chain to, PEM. Without it no client
    /// certificate is asked for.
    pub client_ca_pem: Option<String>,
    /// Refuse clients that present no certificate (mutual authentication).
    pub require_client_cert: bool,
    /// The TLCP suites offered, in the server's order of preference.
    pub suites: Vec<Suite>,
    /// Also accept TLS 1.3 with `TLS_SM4_GCM_SM3` (RFC 8998) on the same listener; the
    /// ClientHello decides. TLS 1.2 and older and all international suites stay refused.
    pub tls13_sm: bool,
    /// ALPN protocols the server accepts, in its order of preference (for example
    /// `["h2", "http/1.1"]`). Empty: no ALPN.
    pub alpn_protocols: Vec<String>,
}

/// Accepts TLCP (and optionally TLS 1.3 SM) connections with one checked configuration.
/// Cheap to clone; share one per listener.
#[derive(Clone)]
pub struct TlcpAcceptor {
    context: SslContext,
}

impl std::fmt::Debug for TlcpAcceptor {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("TlcpAcceptor")
            .finish_non_exhaustive()
    }
}

impl TlcpAcceptor {
    /// Checks `config` and builds the acceptor.
    ///
    /// Refused: an empty suite list; a sign or enc key that does not belong to its certificate;
    /// a sign certificate without digitalSignature or an enc certificate without
    /// keyEncipherment/keyAgreement (so swapped certificates are caught here); required client
    /// certificates without a client CA; and ECDHE suites unless client certificates are
    /// required, because TLCP's ECDHE key exchange uses the client's enc key and so fails for
    /// every client without one.
    pub fn new(config: &TlcpServerConfig) -> Result<Self, TlcpError> {
        check_policy(config)?;
        let identity = Identity::load(
            Side::Server,
            &config.sign_cert_chain_pem,
            &config.sign_key_pem,
            &config.enc_cert_pem,
            &config.enc_key_pem,
        )?;
        let method = if config.tls13_sm {
            SslMethod::tls_server()
        } else {
            SslMethod::ntls_server()
        };
        let mut builder = SslContextBuilder::new(method)?;
        builder.enable_ntls();
        common_settings(&mut builder);
        builder.set_options(openssl::ssl::SslOptions::CIPHER_SERVER_PREFERENCE);
        builder.set_cipher_list(&cipher_list(&config.suites))?;
        if config.tls13_sm {
            restrict_tls13(&mut builder)?;
        }
        identity.install(&mut builder, config.tls13_sm)?;
        if let Some(client_ca_pem) = &config.client_ca_pem {
            let authorities = trust_store(&mut builder, client_ca_pem, "the client CA")?;
            for authority in &authorities {
                builder.add_client_ca(authority)?;
            }
            let mut mode = SslVerifyMode::PEER;
            if config.require_client_cert {
                mode |= SslVerifyMode::FAIL_IF_NO_PEER_CERT;
            }
            builder.set_verify(mode);
        }
        if !config.alpn_protocols.is_empty() {
            alpn_wire(&config.alpn_protocols)?;
            let ours: Vec<Vec<u8>> = config
                .alpn_protocols
                .iter()
                .map(|protocol| protocol.as_bytes().to_vec())
                .collect();
            builder.set_alpn_select_callback(move |_, theirs| {
                choose_alpn(&ours, theirs).ok_or(AlpnError::NOACK)
            });
        }
        Ok(TlcpAcceptor {
            context: builder.build(),
        })
    }

    /// Runs the server handshake over `io` (usually a `TcpStream`). It takes as long as the
    /// client does: bound it with `tokio::time::timeout`.
    pub async fn accept<S>(&self, io: S) -> Result<TlcpStream<S>, TlcpError>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let ssl = Ssl::new(&self.context)?;
        TlcpStream::handshake(ssl.accept(MemoryTransport::default()), io).await
    }
}

fn check_policy(config: &TlcpServerConfig) -> Result<(), TlcpError> {
    if config.suites.is_empty() {
        return Err(TlcpError::Config(
            "no TLCP suite configured; choose from ECC_SM4_GCM_SM3, ECC_SM4_CBC_SM3, \
             ECDHE_SM4_GCM_SM3 and ECDHE_SM4_CBC_SM3"
                .into(),
        ));
    }
    if config.require_client_cert && config.client_ca_pem.is_none() {
        return Err(TlcpError::Config(
            "client certificates are required but no client CA is configured".into(),
        ));
    }
    if let Some(suite) = config
        .suites
        .iter()
        .find(|suite| suite.needs_client_certificate())
        .filter(|_| !config.require_client_cert)
    {
        return Err(TlcpError::Config(format!(
            "{} needs the client's sign and enc certificates: require client certificates or \
             offer only ECC_SM4_GCM_SM3 and ECC_SM4_CBC_SM3",
            suite.standard_name()
        )));
    }
    Ok(())
}

/// TLS 1.3 only, `TLS_SM4_GCM_SM3` only, SM2 key exchange and SM2-with-SM3 signatures only.
/// TLCP still works: Tongsuo recognises its ClientHello before version negotiation.
fn restrict_tls13(builder: &mut SslContextBuilder) -> Result<(), TlcpError> {
    builder.set_min_proto_version(Some(SslVersion::TLS1_3))?;
    builder.set_max_proto_version(Some(SslVersion::TLS1_3))?;
    builder.set_ciphersuites(TLS13_SM_SUITE)?;
    builder.set_groups_list(TLS13_SM_GROUP)?;
    builder.set_sigalgs_list(TLS13_SM_SIGALG)?;
    Ok(())
}

/// The first of our protocols (in our order) that the client offered, as a slice of the
/// client's list; `None` when there is none or the client's list is malformed.
fn choose_alpn<'a>(ours: &[Vec<u8>], theirs: &'a [u8]) -> Option<&'a [u8]> {
    let mut offered = Vec::new();
    let mut rest = theirs;
    while let Some((&length, tail)) = rest.split_first() {
        let length = usize::from(length);
        if length == 0 || tail.len() < length {
            return None;
        }
        let (protocol, next) = tail.split_at(length);
        offered.push(protocol);
        rest = next;
    }
    ours.iter()
        .find_map(|wanted| offered.iter().copied().find(|protocol| protocol == wanted))
}
