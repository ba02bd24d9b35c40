//! What each data key is for. A key is bound to one purpose for life (clause 5.5.2.1): the
//! purpose is part of the associated data its wrapping is sealed with.

use core::fmt;
use inspay_crypto::Algorithm;

/// The purpose a data key is bound to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeyPurpose {
    /// Encrypts personal fields at rest (SM4-GCM).
    FieldEncryption,
    /// Computes blind indexes for equality look-ups of encrypted fields (HMAC-SM3).
    BlindIndex,
    /// Computes record MACs that detect changes made outside the application (HMAC-SM3).
    RecordMac,
    /// Signs audit-log checkpoints (SM2).
    AuditSigning,
    /// Signs API responses (SM2).
    ResponseSigning,
    /// Decrypts sensitive fields the clients encrypt to the server (SM2 encryption, C1C3C2).
    FieldTransport,
    /// Signs our requests to payment channels (SM2); the channel holds the public half.
    ChannelSigning,
    /// Signs the requests the web client (the server's own pages) makes to the API (SM2); the
    /// public half is registered as the `inspay-web` client application.
    WebSigning,
}

impl KeyPurpose {
    /// Every purpose.
    pub const ALL: [KeyPurpose; 8] = [
        KeyPurpose::FieldEncryption,
        KeyPurpose::BlindIndex,
        KeyPurpose::RecordMac,
        KeyPurpose::AuditSigning,
        KeyPurpose::ResponseSigning,
        KeyPurpose::FieldTransport,
        KeyPurpose::ChannelSigning,
        KeyPurpose::WebSigning,
    ];

    /// The stable name used in storage, configuration and the CLI.
    pub const fn name(self) -> &'static str {
        match self {
            KeyPurpose::FieldEncryption => "field-encryption",
            KeyPurpose::BlindIndex => "blind-index",
            KeyPurpose::RecordMac => "record-mac",
            KeyPurpose::AuditSigning => "audit-signing",
            KeyPurpose::ResponseSigning => "response-signing",
            KeyPurpose::FieldTransport => "field-transport",
            KeyPurpose::ChannelSigning => "channel-signing",
            KeyPurpose::WebSigning => "web-signing",
        }
    }

    /// Parses a purpose name.
    pub fn parse(name: &str) -> Option<KeyPurpose> {
        KeyPurpose::ALL
            .into_iter()
            .find(|purpose| purpose.name() == name)
    }

    /// The algorithm keys of this purpose use.
    pub const fn algorithm(self) -> Algorithm {
        match self {
            KeyPurpose::FieldEncryption => Algorithm::Sm4Gcm,
            KeyPurpose::BlindIndex | KeyPurpose::RecordMac => Algorithm::HmacSm3,
            KeyPurpose::AuditSigning
            | KeyPurpose::ResponseSigning
            | KeyPurpose::ChannelSigning
            | KeyPurpose::WebSigning => Algorithm::Sm2Sm3,
            KeyPurpose::FieldTransport => Algorithm::Sm2Encrypt,
        }
    }

    /// Default scheduled rotation period in days. Encryption and MAC keys rotate quarterly;
    /// signing and transport keys, whose public halves partners pin, yearly.
    pub const fn rotation_days_default(self) -> u32 {
        match self {
            // Nobody outside pins the web client's key: the server registers each new version.
            KeyPurpose::FieldEncryption
            | KeyPurpose::BlindIndex
            | KeyPurpose::RecordMac
            | KeyPurpose::WebSigning => 90,
            KeyPurpose::AuditSigning
            | KeyPurpose::ResponseSigning
            | KeyPurpose::FieldTransport
            | KeyPurpose::ChannelSigning => 365,
        }
    }

    /// Whether keys of this purpose have a public half to export.
    pub const fn is_asymmetric(self) -> bool {
        matches!(
            self,
            KeyPurpose::AuditSigning
                | KeyPurpose::ResponseSigning
                | KeyPurpose::FieldTransport
                | KeyPurpose::ChannelSigning
                | KeyPurpose::WebSigning
        )
    }
}

impl fmt::Display for KeyPurpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
