//! The cipher suites and protocols this crate allows, and nothing else.

/// A TLCP cipher suite (GB/T 38636-2020, table 2), named as in the standard; `tongsuo_name`
/// gives Tongsuo's name for its cipher list.
///
/// The `Ecdhe*` suites derive the premaster secret from both sides' encryption keys, so the
/// client must present a sign and an enc certificate: they work only with mutual
/// authentication (see [`Suite::needs_client_certificate`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Suite {
    /// `ECC_SM4_GCM_SM3` (0xE0, 0x53): SM2 key transport, SM4-GCM, SM3.
    EccSm4GcmSm3,
    /// `ECC_SM4_CBC_SM3` (0xE0, 0x13): SM2 key transport, SM4-CBC with HMAC-SM3.
    EccSm4CbcSm3,
    /// `ECDHE_SM4_GCM_SM3` (0xE0, 0x51): SM2 key agreement, SM4-GCM, SM3.
    EcdheSm4GcmSm3,
    /// `ECDHE_SM4_CBC_SM3` (0xE0, 0x11): SM2 key agreement, SM4-CBC with HMAC-SM3.
    EcdheSm4CbcSm3,
}

impl Suite {
    /// All four suites, GCM first, key agreement (forward secrecy) before key transport.
    pub const ALL: [Suite; 4] = [
        Suite::EcdheSm4GcmSm3,
        Suite::EccSm4GcmSm3,
        Suite::EcdheSm4CbcSm3,
        Suite::EccSm4CbcSm3,
    ];

    /// The suites usable without client certificates.
    pub const WITHOUT_CLIENT_CERTIFICATE: [Suite; 2] = [Suite::EccSm4GcmSm3, Suite::EccSm4CbcSm3];

    /// The name in GB/T 38636.
    pub fn standard_name(self) -> &'static str {
        match self {
            Suite::EccSm4GcmSm3 => "ECC_SM4_GCM_SM3",
            Suite::EccSm4CbcSm3 => "ECC_SM4_CBC_SM3",
            Suite::EcdheSm4GcmSm3 => "ECDHE_SM4_GCM_SM3",
            Suite::EcdheSm4CbcSm3 => "ECDHE_SM4_CBC_SM3",
        }
    }

    /// The name in Tongsuo's cipher lists (also what [`crate::TlcpStream::cipher_name`] returns).
    pub fn tongsuo_name(self) -> &'static str {
        match self {
            Suite::EccSm4GcmSm3 => "ECC-SM2-SM4-GCM-SM3",
            Suite::EccSm4CbcSm3 => "ECC-SM2-SM4-CBC-SM3",
            Suite::EcdheSm4GcmSm3 => "ECDHE-SM2-SM4-GCM-SM3",
            Suite::EcdheSm4CbcSm3 => "ECDHE-SM2-SM4-CBC-SM3",
        }
    }

    /// Parses either the standard or Tongsuo's name.
    pub fn parse(name: &str) -> Option<Suite> {
        Suite::ALL
            .into_iter()
            .find(|suite| suite.standard_name() == name || suite.tongsuo_name() == name)
    }

    /// Whether the suite needs the client's sign and enc certificates (the ECDHE suites).
    pub fn needs_client_certificate(self) -> bool {
        matches!(self, Suite::EcdheSm4GcmSm3 | Suite::EcdheSm4CbcSm3)
    }
}

/// Tongsuo's cipher list for `suites`, in the given order.
pub(crate) fn cipher_list(suites: &[Suite]) -> String {
    suites
        .iter()
        .map(|suite| suite.tongsuo_name())
        .collect::<Vec<_>>()
        .join(":")
}

/// The single TLS 1.3 suite allowed (RFC 8998).
pub const TLS13_SM_SUITE: &str = "TLS_SM4_GCM_SM3";

/// The key exchange group for TLS 1.3 (RFC 8998 `curveSM2`).
pub(crate) const TLS13_SM_GROUP: &str = "SM2";

/// The TLS 1.3 signature scheme (RFC 8998 `sm2sig_sm3`).
pub(crate) const TLS13_SM_SIGALG: &str = "sm2sig_sm3";

/// Which protocol a client speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// TLCP, GB/T 38636-2020 (NTLS 1.1), with a sign and an enc certificate per side.
    Tlcp,
    /// TLS 1.3 with `TLS_SM4_GCM_SM3` and SM2 signatures and key exchange only (RFC 8998).
    Tls13Sm,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both naming schemes parse to the same suite, and only the ECDHE suites need client certs.
    #[test]
    fn names_round_trip() {
        for suite in Suite::ALL {
            assert_eq!(Suite::parse(suite.standard_name()), Some(suite));
            assert_eq!(Suite::parse(suite.tongsuo_name()), Some(suite));
        }
        assert_eq!(Suite::parse("ECDHE-RSA-AES128-GCM-SHA256"), None);
        for suite in Suite::WITHOUT_CLIENT_CERTIFICATE {
            assert!(!suite.needs_client_certificate());
        }
    }
}
