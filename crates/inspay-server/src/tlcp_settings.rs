//! `[tlcp]`: the national-cryptography listener (clauses 5.6.2-a1 and 5.5.1.5, issue 9).
//!
//! TLCP (GB/T 38636-2020) with separate SM2 signing and encryption certificates, and on the
//! same port TLS 1.3 with `TLS_SM4_GCM_SM3` (RFC 8998). Off unless `address` is set. These
//! settings parse in every build; a build without the `tlcp` feature refuses to start when
//! `address` is set, rather than silently serving without the listener.

use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::PathBuf;

/// The four TLCP suites by their names in GB/T 38636.
pub const TLCP_SUITE_NAMES: [&str; 4] = [
    "ECDHE_SM4_GCM_SM3",
    "ECC_SM4_GCM_SM3",
    "ECDHE_SM4_CBC_SM3",
    "ECC_SM4_CBC_SM3",
];

/// The TLCP listener.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlcpSettings {
    /// Where the TLCP listener binds, for example `0.0.0.0:8446`. None (the default): no TLCP
    /// listener.
    pub address: Option<SocketAddr>,
    /// PEM: the server's SM2 signing certificate, then any intermediate CA certificates.
    /// The four certificate and key files are given together or not at all; without them
    /// the development profile generates a development CA and pair under
    /// `<data_dir>/dev-tlcp/` and the production profile refuses to start.
    pub sign_certificate_file: Option<PathBuf>,
    /// PEM (PKCS#8): the signing certificate's SM2 private key.
    pub sign_private_key_file: Option<PathBuf>,
    /// PEM: the server's SM2 encryption certificate (keyEncipherment/keyAgreement).
    pub enc_certificate_file: Option<PathBuf>,
    /// PEM (PKCS#8): the encryption certificate's SM2 private key.
    pub enc_private_key_file: Option<PathBuf>,
    /// The suites offered, in the server's order of preference, by their GB/T 38636 names.
    /// Empty (the default): `ECC_SM4_GCM_SM3` and `ECC_SM4_CBC_SM3`, and with mutual
    /// authentication the ECDHE suites first. The ECDHE suites use the client's encryption
    /// key, so they need `require_client_certificate`.
    pub suites: Vec<String>,
    /// Mutual authentication: refuse a client that presents no certificate pair issued by
    /// `client_ca_file`. A registered application whose client certificate is on record
    /// (`inspay apps register --client-certificate`) must present that signing certificate.
    pub require_client_certificate: bool,
    /// PEM: the CA certificate(s) that issue client certificates. With it and without
    /// `require_client_certificate`, a client certificate is asked for but not required. The
    /// development profile falls back to the development CA.
    pub client_ca_file: Option<PathBuf>,
    /// Also accept TLS 1.3 with `TLS_SM4_GCM_SM3` on the same port (the ClientHello decides).
    /// True by default; TLS 1.2 and international suites are refused either way.
    pub tls13_sm: bool,
}

impl Default for TlcpSettings {
    fn default() -> Self {
        TlcpSettings {
            address: None,
            sign_certificate_file: None,
            sign_private_key_file: None,
            enc_certificate_file: None,
            enc_private_key_file: None,
            suites: Vec::new(),
            require_client_certificate: false,
            client_ca_file: None,
            tls13_sm: true,
        }
    }
}

impl TlcpSettings {
    /// The four certificate and key files, when all are given.
    pub fn files(&self) -> Option<TlcpFiles<'_>> {
        Some(TlcpFiles {
            sign_certificate: self.sign_certificate_file.as_deref()?,
            sign_private_key: self.sign_private_key_file.as_deref()?,
            enc_certificate: self.enc_certificate_file.as_deref()?,
            enc_private_key: self.enc_private_key_file.as_deref()?,
        })
    }

    /// The suites to offer, by name, in order: the configured ones or the defaults.
    pub fn suite_names(&self) -> Vec<&str> {
        if !self.suites.is_empty() {
            return self.suites.iter().map(String::as_str).collect();
        }
        TLCP_SUITE_NAMES
            .into_iter()
            .filter(|name| self.require_client_certificate || !name.starts_with("ECDHE"))
            .collect()
    }

    /// Refuses what cannot work or would break a clause; `production` is the profile.
    /// Returns the offending setting and the reason.
    pub fn check(&self, production: bool) -> Result<(), (&'static str, String)> {
        if self.address.is_none() {
            return Ok(());
        }
        if !cfg!(feature = "tlcp") {
            return Err((
                "tlcp.address",
                "this build has no TLCP listener; build inspay with its default features \
                 (the `tlcp` feature) or remove tlcp.address"
                    .into(),
            ));
        }
        let given = [
            &self.sign_certificate_file,
            &self.sign_private_key_file,
            &self.enc_certificate_file,
            &self.enc_private_key_file,
        ]
        .iter()
        .filter(|file| file.is_some())
        .count();
        if given != 0 && given != 4 {
            return Err((
                "tlcp.sign_certificate_file",
                "give all four of tlcp.sign_certificate_file, tlcp.sign_private_key_file, \
                 tlcp.enc_certificate_file and tlcp.enc_private_key_file, or none (development \
                 certificates)"
                    .into(),
            ));
        }
        if production && given == 0 {
            return Err((
                "tlcp.sign_certificate_file",
                "the production profile needs the operator's TLCP signing and encryption \
                 certificates and keys (it refuses development ones); `inspay certs --help` \
                 shows how to read or make them"
                    .into(),
            ));
        }
        if production && self.require_client_certificate && self.client_ca_file.is_none() {
            return Err((
                "tlcp.client_ca_file",
                "mutual authentication needs the CA that issues client certificates".into(),
            ));
        }
        for name in &self.suites {
            if !TLCP_SUITE_NAMES.contains(&name.as_str()) {
                return Err((
                    "tlcp.suites",
                    format!(
                        "'{name}' is not a TLCP suite; choose from {}",
                        TLCP_SUITE_NAMES.join(", ")
                    ),
                ));
            }
            if name.starts_with("ECDHE") && !self.require_client_certificate {
                return Err((
                    "tlcp.suites",
                    format!(
                        "{name} uses the client's encryption key, so it needs \
                         tlcp.require_client_certificate = true; otherwise offer only \
                         ECC_SM4_GCM_SM3 and ECC_SM4_CBC_SM3"
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// The operator's TLCP certificate and key files.
#[derive(Debug, Clone, Copy)]
pub struct TlcpFiles<'a> {
    /// Signing certificate (and chain).
    pub sign_certificate: &'a std::path::Path,
    /// Its key.
    pub sign_private_key: &'a std::path::Path,
    /// Encryption certificate.
    pub enc_certificate: &'a std::path::Path,
    /// Its key.
    pub enc_private_key: &'a std::path::Path,
}

#[cfg(all(test, feature = "tlcp"))]
mod tests {
    use super::*;

    fn on() -> TlcpSettings {
        TlcpSettings {
            address: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
            ..TlcpSettings::default()
        }
    }

    /// The defaults offer only the key-transport suites; mutual authentication adds ECDHE
    /// first (forward secrecy).
    /// req: 5.6.2-a1
    #[test]
    fn default_suites_follow_mutual_authentication() {
        let mut settings = on();
        assert_eq!(
            settings.suite_names(),
            ["ECC_SM4_GCM_SM3", "ECC_SM4_CBC_SM3"]
        );
        settings.require_client_certificate = true;
        assert_eq!(settings.suite_names(), TLCP_SUITE_NAMES);
    }

    /// Half-given files, unknown or international suites, ECDHE without mutual
    /// authentication, and production without the operator's certificates are refused.
    /// req: 5.6.2-a3
    #[test]
    fn refusals_name_the_setting() {
        let off = TlcpSettings::default();
        assert!(off.tls13_sm, "TLS 1.3 SM is on by default");
        assert!(off.check(true).is_ok(), "no listener, nothing to check");
        let mut half = on();
        half.sign_certificate_file = Some("sign.pem".into());
        assert_eq!(
            half.check(false).expect_err("half the files").0,
            "tlcp.sign_certificate_file"
        );
        let mut foreign = on();
        foreign.suites = vec!["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256".into()];
        assert_eq!(
            foreign.check(false).expect_err("a foreign suite").0,
            "tlcp.suites"
        );
        let mut ecdhe = on();
        ecdhe.suites = vec!["ECDHE_SM4_GCM_SM3".into()];
        assert!(
            ecdhe
                .check(false)
                .expect_err("ECDHE without mutual authentication")
                .1
                .contains("require_client_certificate")
        );
        ecdhe.require_client_certificate = true;
        assert!(ecdhe.check(false).is_ok());
        assert_eq!(
            on().check(true).expect_err("production without files").0,
            "tlcp.sign_certificate_file"
        );
    }
}
