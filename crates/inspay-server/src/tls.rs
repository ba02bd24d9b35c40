//! TLS for the listeners (clauses 5.6.2-a1 to a3, 5.5.1.2): rustls with the *ring* provider,
//! TLS 1.3 and TLS 1.2 with ECDHE key exchange and AEAD suites only, an optional listener that
//! requires client certificates, and certificate checks that refuse weak algorithms.
//!
//! In development the server generates a CA and a server certificate under
//! `<data_dir>/dev-tls/`, with "DEVELOPMENT" in their subject; the production profile refuses
//! any certificate carrying that marker.

use crate::config::{Profile, Settings};
use inspay_crypto::algorithm::{check_name, check_rsa_modulus_bits, weak_signature_oid_name};
use rustls::ServerConfig;
use rustls::crypto::CryptoProvider;
use rustls::server::WebPkiClientVerifier;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The subject marker of development certificates.
pub const DEVELOPMENT_MARKER: &str = "inspay DEVELOPMENT";

/// Suites allowed: ECDHE (TLS 1.2) or TLS 1.3 key exchange, AEAD ciphers only.
const ALLOWED_SUITES: [&str; 9] = [
    "TLS13_AES_256_GCM_SHA384",
    "TLS13_AES_128_GCM_SHA256",
    "TLS13_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
];

/// Names of the suites that may be configured.
pub fn allowed_suite_names() -> &'static [&'static str] {
    &ALLOWED_SUITES
}

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}; check the path in the configuration")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A certificate or key is refused.
    #[error("{path}: {reason} (clause {clause})")]
    Refused {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
        /// The clause.
        clause: &'static str,
    },
    /// rustls refused the configuration.
    #[error("TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
    /// The client verifier could not be built.
    #[error("client certificate verifier: {0}")]
    Verifier(String),
    /// Generating development material failed.
    #[error("generating the development certificate: {0}")]
    Generate(String),
}

/// The provider: *ring*, restricted to the allowed suites (and to `subset` if non-empty).
pub fn provider(subset: &[String]) -> CryptoProvider {
    let mut provider = rustls::crypto::ring::default_provider();
    provider.cipher_suites.retain(|suite| {
        let name = suite.suite().as_str().unwrap_or("");
        ALLOWED_SUITES.contains(&name) && (subset.is_empty() || subset.iter().any(|s| s == name))
    });
    provider
}

/// Certificates and key for the server, after checks.
pub struct ServerIdentity {
    /// Chain, leaf first.
    pub chain: Vec<CertificateDer<'static>>,
    /// Private key.
    pub key: PrivateKeyDer<'static>,
    /// Whether this is the generated development certificate.
    pub development: bool,
    /// The development CA certificate file, when generated (for clients to trust).
    pub development_ca: Option<PathBuf>,
}

/// Loads the operator's certificate, or in development generates (once) a development CA and
/// server certificate.
pub fn server_identity(settings: &Settings) -> Result<ServerIdentity, TlsError> {
    match (
        &settings.tls.certificate_file,
        &settings.tls.private_key_file,
    ) {
        (Some(certificate), Some(key)) => {
            let chain = read_certificates(certificate)?;
            let development = chain.first().is_some_and(|leaf| subject_has_marker(leaf));
            if development && settings.profile == Profile::Production {
                return Err(TlsError::Refused {
                    path: certificate.clone(),
                    reason: "the production profile refuses a development certificate".into(),
                    clause: "5.6.2-a3",
                });
            }
            Ok(ServerIdentity {
                chain,
                key: read_key(key)?,
                development,
                development_ca: None,
            })
        }
        _ => development_identity(&settings.data_dir.join("dev-tls")),
    }
}

/// Reads a PEM certificate file and checks each certificate's algorithms.
pub fn read_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bytes = std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.into(),
        source,
    })?;
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<_, _>>()
        .map_err(|_| refused(path, "not a PEM certificate file", "5.6.2-a1"))?;
    if chain.is_empty() {
        return Err(refused(path, "no certificate found", "5.6.2-a1"));
    }
    for certificate in &chain {
        check_certificate(certificate).map_err(|reason| refused(path, &reason, "5.5.1.2"))?;
    }
    Ok(chain)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let bytes = std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.into(),
        source,
    })?;
    PrivateKeyDer::from_pem_slice(&bytes)
        .map_err(|_| refused(path, "not a PEM private key", "5.6.2-a1"))
}

fn refused(path: &Path, reason: &str, clause: &'static str) -> TlsError {
    TlsError::Refused {
        path: path.into(),
        reason: reason.into(),
        clause,
    }
}

const OID_RSA_ENCRYPTION: &str = "1.2.840.113549.1.1.1";

/// Refuses certificates signed with MD5 or SHA-1, and RSA keys under 3072 bits.
pub fn check_certificate(certificate: &CertificateDer<'_>) -> Result<(), String> {
    use x509_cert::der::Decode;
    let parsed = x509_cert::Certificate::from_der(certificate.as_ref())
        .map_err(|_| "a certificate could not be parsed".to_string())?;
    let signature_oid = parsed.signature_algorithm().oid.to_string();
    if let Some(name) = weak_signature_oid_name(&signature_oid) {
        check_name(name).map_err(|error| error.to_string())?;
    }
    let spki = &parsed.tbs_certificate().subject_public_key_info();
    if spki.algorithm.oid.to_string() == OID_RSA_ENCRYPTION {
        let bits = rsa_modulus_bits(spki.subject_public_key.raw_bytes())
            .ok_or_else(|| "an RSA public key could not be parsed".to_string())?;
        check_rsa_modulus_bits(bits).map_err(|error| error.to_string())?;
    }
    Ok(())
}

/// The modulus size of a PKCS#1 RSAPublicKey.
fn rsa_modulus_bits(der: &[u8]) -> Option<usize> {
    use x509_cert::der::asn1::UintRef;
    use x509_cert::der::{Decode, Reader, SliceReader};
    let mut reader = SliceReader::new(der).ok()?;
    reader
        .sequence(|inner: &mut SliceReader<'_>| {
            let modulus = UintRef::decode(inner)?;
            let _exponent = UintRef::decode(inner)?;
            Ok::<_, x509_cert::der::Error>(modulus.as_bytes().to_vec())
        })
        .ok()
        .map(|modulus| {
            let leading = modulus
                .first()
                .map_or(0, |byte| byte.leading_zeros() as usize);
            modulus.len() * 8 - leading
        })
}

fn subject_has_marker(certificate: &CertificateDer<'_>) -> bool {
    use x509_cert::der::Decode;
    x509_cert::Certificate::from_der(certificate.as_ref())
        .map(|parsed| {
            parsed
                .tbs_certificate()
                .subject()
                .to_string()
                .contains(DEVELOPMENT_MARKER)
        })
        .unwrap_or(false)
}

/// Builds the rustls configuration for a listener; with `client_ca` the listener requires a
/// client certificate signed by one of those CAs.
pub fn server_config(
    settings: &Settings,
    identity: &ServerIdentity,
    client_ca: Option<&[CertificateDer<'static>]>,
) -> Result<Arc<ServerConfig>, TlsError> {
    let provider = Arc::new(provider(&settings.tls.cipher_suites));
    let versions: &[&rustls::SupportedProtocolVersion] = match settings.tls.min_version.as_str() {
        "1.3" => &[&rustls::version::TLS13],
        _ => &[&rustls::version::TLS13, &rustls::version::TLS12],
    };
    let builder =
        ServerConfig::builder_with_provider(provider.clone()).with_protocol_versions(versions)?;
    let builder = match client_ca {
        Some(cas) => {
            let mut roots = rustls::RootCertStore::empty();
            for ca in cas {
                roots
                    .add(ca.clone())
                    .map_err(|error| TlsError::Verifier(error.to_string()))?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|error| TlsError::Verifier(error.to_string()))?;
            builder.with_client_cert_verifier(Arc::new(AllowListClientVerifier(verifier)))
        }
        None => builder.with_no_client_auth(),
    };
    let mut config = builder.with_single_cert(identity.chain.clone(), identity.key.clone_key())?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    // The server's suite order (TLS 1.3 first, then the strongest AEAD) decides, not the
    // client's: a client preferring a weaker allowed suite does not get it.
    config.ignore_client_order = true;
    Ok(Arc::new(config))
}

/// How long a generated development server certificate is valid.
pub const DEVELOPMENT_CERTIFICATE_DAYS: i64 = 397;

/// Days since 1970-01-01, UTC.
fn days_since_epoch() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| {
            i64::try_from(since.as_secs() / 86_400).unwrap_or(0)
        })
}

/// The year, month and day `days` after 1970-01-01 (civil-from-days, Howard Hinnant's algorithm).
fn ymd(days: i64) -> (i32, u8, u8) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (
        i32::try_from(year).unwrap_or(1970),
        u8::try_from(month).unwrap_or(1),
        u8::try_from(day).unwrap_or(1),
    )
}

/// Development material: a CA and a server certificate for localhost and 127.0.0.1, made once
/// and kept under `dir` so that clients can trust the CA across restarts.
fn development_identity(dir: &Path) -> Result<ServerIdentity, TlsError> {
    let generate = |error: rcgen::Error| TlsError::Generate(error.to_string());
    let ca_path = dir.join("ca.pem");
    let cert_path = dir.join("server.pem");
    let key_path = dir.join("server-key.pem");
    if !cert_path.exists() || !key_path.exists() || !ca_path.exists() {
        std::fs::create_dir_all(dir).map_err(|source| TlsError::Read {
            path: dir.into(),
            source,
        })?;
        let ca_key =
            rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(generate)?;
        let mut ca_params =
            rcgen::CertificateParams::new(Vec::<String>::new()).map_err(generate)?;
        ca_params.distinguished_name.push(
            rcgen::DnType::CommonName,
            format!("{DEVELOPMENT_MARKER} CA (not for production)"),
        );
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        // Bounded lives, as a real PKI would give them: the CA five years, the server
        // certificate 397 days (the CA/Browser Forum ceiling).
        let today = days_since_epoch();
        ca_params.not_before = {
            let (year, month, day) = ymd(today - 1);
            rcgen::date_time_ymd(year, month, day)
        };
        ca_params.not_after = {
            let (year, month, day) = ymd(today + 5 * 365);
            rcgen::date_time_ymd(year, month, day)
        };
        let ca_cert = ca_params.self_signed(&ca_key).map_err(generate)?;
        let issuer = rcgen::Issuer::new(ca_params, ca_key);
        let server_key =
            rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(generate)?;
        let mut params =
            rcgen::CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
                .map_err(generate)?;
        params.distinguished_name.push(
            rcgen::DnType::CommonName,
            format!("{DEVELOPMENT_MARKER} server (not for production)"),
        );
        params.not_before = {
            let (year, month, day) = ymd(today - 1);
            rcgen::date_time_ymd(year, month, day)
        };
        params.not_after = {
            let (year, month, day) = ymd(today + DEVELOPMENT_CERTIFICATE_DAYS);
            rcgen::date_time_ymd(year, month, day)
        };
        let server_cert = params.signed_by(&server_key, &issuer).map_err(generate)?;
        write_private(&key_path, server_key.serialize_pem().as_bytes())?;
        write_file(&cert_path, server_cert.pem().as_bytes())?;
        write_file(&ca_path, ca_cert.pem().as_bytes())?;
    }
    let mut chain = read_certificates(&cert_path)?;
    chain.extend(read_certificates(&ca_path)?);
    Ok(ServerIdentity {
        chain,
        key: read_key(&key_path)?,
        development: true,
        development_ca: Some(ca_path),
    })
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), TlsError> {
    std::fs::write(path, bytes).map_err(|source| TlsError::Read {
        path: path.into(),
        source,
    })
}

/// Writes a private key readable by the owner only.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), TlsError> {
    crate::files::write_private(path, bytes, crate::files::Existing::Replace).map_err(|source| {
        TlsError::Read {
            path: path.into(),
            source,
        }
    })
}

/// Client certificate verification: the WebPKI path checks, then the algorithm allow-list on
/// every certificate the client presents (webpki alone accepts RSA keys from 2048 bits).
#[derive(Debug)]
struct AllowListClientVerifier(Arc<dyn rustls::server::danger::ClientCertVerifier>);

impl rustls::server::danger::ClientCertVerifier for AllowListClientVerifier {
    fn offer_client_auth(&self) -> bool {
        self.0.offer_client_auth()
    }

    fn client_auth_mandatory(&self) -> bool {
        self.0.client_auth_mandatory()
    }

    fn root_hint_subjects(&self) -> &[rustls::DistinguishedName] {
        self.0.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: rustls_pki_types::UnixTime,
    ) -> Result<rustls::server::danger::ClientCertVerified, rustls::Error> {
        let verified = self.0.verify_client_cert(end_entity, intermediates, now)?;
        for certificate in std::iter::once(end_entity).chain(intermediates) {
            if let Err(reason) = check_certificate(certificate) {
                tracing::info!(reason = %reason, "client certificate refused by the algorithm allow-list");
                return Err(rustls::Error::InvalidCertificate(
                    rustls::CertificateError::Other(rustls::OtherError(Arc::new(WeakCertificate(
                        reason,
                    )))),
                ));
            }
        }
        Ok(verified)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        certificate: &CertificateDer<'_>,
        signature: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.0
            .verify_tls12_signature(message, certificate, signature)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        certificate: &CertificateDer<'_>,
        signature: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.0
            .verify_tls13_signature(message, certificate, signature)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// Why a presented certificate was refused.
#[derive(Debug)]
struct WeakCertificate(String);

impl std::fmt::Display for WeakCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for WeakCertificate {}

/// An outgoing HTTPS client for a partner service (`what` names it in errors): rustls with the
/// allowed suites and `roots` as trust anchors, `timeout_ms` for connecting and for each
/// request, no redirects, no proxy.
pub fn https_client(
    roots: rustls::RootCertStore,
    timeout_ms: u64,
    what: &str,
) -> anyhow::Result<reqwest::Client> {
    use anyhow::Context as _;
    let provider = std::sync::Arc::new(provider(&[]));
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .with_context(|| format!("TLS protocol versions for {what}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let timeout = std::time::Duration::from_millis(timeout_ms);
    reqwest::Client::builder()
        .use_preconfigured_tls(config)
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .user_agent(concat!("inspay/", env!("CARGO_PKG_VERSION")))
        .build()
        .with_context(|| format!("building the HTTP client for {what}"))
}
