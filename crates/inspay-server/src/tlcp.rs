//! The TLCP listener's channel (feature `tlcp`; clauses 5.6.2-a1, 5.6.2-a3 and 5.5.1.5):
//! TLCP (GB/T 38636-2020) with SM2 signing and encryption certificates and, on the same port,
//! TLS 1.3 with `TLS_SM4_GCM_SM3`, through [`inspay_tlcp`]. Settings are
//! [`crate::tlcp_settings::TlcpSettings`].
//!
//! The operator gives the four certificate and key files; without them the development
//! profile generates a development SM2 CA and server pair under `<data_dir>/dev-tlcp/` (the
//! layout `inspay certs` writes, so `inspay certs issue --ca <data_dir>/dev-tlcp` issues
//! client pairs the listener trusts) and the production profile refuses to start. Every
//! certificate read is checked for weak algorithms, and the production profile refuses
//! development certificates.

use crate::config::{Profile, Settings};
use crate::listener::{Handshake, client_certificate};
use crate::startup::ClientCertificate;
use anyhow::Context;
use inspay_tlcp::certs::{
    CaFiles, CertPair, DevelopmentCa, PairFiles, Role, SubjectName, Validity, is_development,
};
use inspay_tlcp::{Suite, TlcpAcceptor, TlcpServerConfig, TlcpStream};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use tokio::net::TcpStream;

/// The name of the server pair in the development directory.
pub const DEVELOPMENT_SERVER_PAIR: &str = "server";

/// How long a generated development server pair is valid (as the rustls listener's).
const DEVELOPMENT_PAIR_DAYS: u32 = 397;

/// A TLCP acceptor and where its certificates came from.
pub struct TlcpListenerIdentity {
    /// The acceptor for the listener.
    pub acceptor: TlcpAcceptor,
    /// Whether the development pair is in use.
    pub development: bool,
    /// The development CA file clients trust, when generated.
    pub development_ca: Option<PathBuf>,
}

impl Handshake for TlcpAcceptor {
    type Stream = TlcpStream<TcpStream>;
    const NAME: &'static str = "TLCP";

    async fn handshake(
        &self,
        tcp: TcpStream,
    ) -> Result<(Self::Stream, Option<ClientCertificate>), String> {
        let secured = self.accept(tcp).await.map_err(|error| error.to_string())?;
        tracing::debug!(
            protocol = secured.protocol_version(),
            suite = secured.cipher_name().unwrap_or("unknown"),
            "TLCP listener: handshake done"
        );
        let client = secured
            .peer_sign_certificate_der()
            .map(|der| client_certificate(&der));
        Ok((secured, client))
    }
}

/// Loads (or in development generates) the TLCP certificates and builds the acceptor.
pub fn listener_identity(settings: &Settings) -> anyhow::Result<TlcpListenerIdentity> {
    let tlcp = &settings.tlcp;
    let production = settings.profile == Profile::Production;
    let (pair, development_ca) = match tlcp.files() {
        Some(files) => {
            let files = PairFiles {
                sign_certificate: files.sign_certificate.to_path_buf(),
                sign_key: files.sign_private_key.to_path_buf(),
                enc_certificate: files.enc_certificate.to_path_buf(),
                enc_key: files.enc_private_key.to_path_buf(),
            };
            for certificate in [&files.sign_certificate, &files.enc_certificate] {
                crate::tls::read_certificates(certificate)?;
            }
            (files.read()?, None)
        }
        None if production => anyhow::bail!(
            "configuration refused: tlcp: the production profile needs the operator's TLCP \
             certificates and keys (clause 5.6.2-a3)"
        ),
        None => {
            let dir = settings.data_dir.join("dev-tlcp");
            let pair = development_pair(&dir, tlcp.address.map(|address| address.ip()))?;
            (pair, Some(CaFiles::in_dir(&dir).certificate))
        }
    };
    let development =
        is_development(&pair.sign.certificate_pem) || is_development(&pair.enc.certificate_pem);
    if development && production {
        anyhow::bail!(
            "configuration refused: tlcp.sign_certificate_file: the production profile refuses a \
             development certificate (clause 5.6.2-a3)"
        );
    }
    let client_ca_file = tlcp.client_ca_file.clone().or_else(|| {
        development_ca
            .clone()
            .filter(|_| settings.profile == Profile::Development)
    });
    let client_ca_pem = match &client_ca_file {
        Some(path) => {
            crate::tls::read_certificates(path)?;
            Some(
                std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read {}", path.display()))?,
            )
        }
        None => None,
    };
    let suites = tlcp
        .suite_names()
        .into_iter()
        .map(|name| {
            Suite::parse(name).with_context(|| format!("tlcp.suites: '{name}' is not a TLCP suite"))
        })
        .collect::<anyhow::Result<Vec<Suite>>>()?;
    let config = TlcpServerConfig {
        sign_cert_chain_pem: pair.sign.certificate_pem,
        sign_key_pem: pair.sign.key,
        enc_cert_pem: pair.enc.certificate_pem,
        enc_key_pem: pair.enc.key,
        client_ca_pem,
        require_client_cert: tlcp.require_client_certificate,
        suites,
        tls13_sm: tlcp.tls13_sm,
        alpn_protocols: vec!["h2".into(), "http/1.1".into()],
    };
    let acceptor = TlcpAcceptor::new(&config).context("the TLCP listener cannot start")?;
    Ok(TlcpListenerIdentity {
        acceptor,
        development,
        development_ca: development_ca.filter(|_| development),
    })
}

/// The development CA and server pair in `dir`, made once and kept so that clients can trust
/// the CA across restarts. The pair names localhost, 127.0.0.1, ::1 and the listener's own
/// address when it is a specific one.
fn development_pair(dir: &Path, listen_ip: Option<IpAddr>) -> anyhow::Result<CertPair> {
    let ca_files = CaFiles::in_dir(dir);
    let pair_files = PairFiles::in_dir(dir, DEVELOPMENT_SERVER_PAIR);
    if ca_files.exist() && pair_files.exist() {
        return Ok(pair_files.read()?);
    }
    let ca = if ca_files.exist() {
        ca_files.load()?
    } else {
        let ca = DevelopmentCa::generate("inspay TLCP development CA")?;
        ca_files.write(&ca)?;
        ca
    };
    let mut names = vec![
        SubjectName::Dns("localhost".into()),
        SubjectName::Ip(IpAddr::from([127, 0, 0, 1])),
        SubjectName::Ip(IpAddr::from(std::net::Ipv6Addr::LOCALHOST)),
    ];
    if let Some(ip) = listen_ip.filter(|ip| !ip.is_unspecified() && !ip.is_loopback()) {
        names.push(SubjectName::Ip(ip));
    }
    let pair = ca.issue_pair(
        "inspay TLCP server",
        &names,
        Role::Server,
        Validity::days_from_now(DEVELOPMENT_PAIR_DAYS),
    )?;
    pair_files.write(&pair)?;
    tracing::info!(
        directory = %dir.display(),
        "generated a development TLCP CA and server pair (refused by the production profile)"
    );
    Ok(pair)
}
