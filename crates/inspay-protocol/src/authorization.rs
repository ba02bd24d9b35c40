//! The `Authorization` header of a signed request (clause 5.6.2-c), in the shape WeChat Pay API
//! v3 integrators know:
//!
//! ```text
//! Authorization: INSPAY-SM2-SM3 app_id="app_01",serial="3",timestamp="1764100000",
//!                nonce="k3J9x0Qm2b7T5nYw",signature="MEUCIQ...base64 DER..."
//! ```
//!
//! (one line; wrapped here). Every field appears exactly once, in any order, as `name="value"`
//! separated by commas (spaces after commas allowed); no other field is accepted. Each refusal
//! has its own [`HeaderError`], so the server can answer it with its own stable code and a
//! fuzzer can check that no input makes the parser panic.

use base64::Engine;
use inspay_crypto::sm2::{Sm2PrivateKey, Sm2PublicKey, Sm2Signature};

use crate::canonical::CanonicalRequest;

/// The scheme name.
pub const SCHEME: &str = "INSPAY-SM2-SM3";
/// Shortest nonce.
pub const NONCE_CHARS_MIN: usize = 16;
/// Longest nonce.
pub const NONCE_CHARS_MAX: usize = 64;
/// Longest application id.
pub const APP_ID_CHARS_MAX: usize = 64;
/// Longest header value accepted at all, in bytes.
pub const HEADER_BYTES_MAX: usize = 1_024;
/// Longest DER SM2 signature (two 33-byte integers and their framing).
pub const SIGNATURE_DER_BYTES_MAX: usize = 72;

/// Why a header is refused. Messages name the rule, never the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    /// Longer than [`HEADER_BYTES_MAX`] or not printable ASCII.
    #[error("the Authorization header is too long or not printable ASCII")]
    Shape,
    /// Another scheme than `INSPAY-SM2-SM3`.
    #[error("the Authorization scheme must be INSPAY-SM2-SM3")]
    Scheme,
    /// A part is not `name="value"`.
    #[error("each part of the Authorization header must be name=\"value\"")]
    Syntax,
    /// A field the scheme does not have.
    #[error("the Authorization header has a field the scheme does not define")]
    UnknownField,
    /// A field given twice.
    #[error("a field of the Authorization header is given twice")]
    DuplicateField,
    /// A required field is missing.
    #[error(
        "the Authorization header lacks a required field (app_id, serial, timestamp, nonce, signature)"
    )]
    MissingField,
    /// `app_id` has the wrong length or characters.
    #[error("app_id must be 1 to {APP_ID_CHARS_MAX} characters of A-Z a-z 0-9 - _")]
    AppId,
    /// `serial` is not a positive decimal number.
    #[error("serial must be a positive decimal number")]
    Serial,
    /// `timestamp` is not unix seconds.
    #[error("timestamp must be unix seconds in decimal")]
    Timestamp,
    /// `nonce` has the wrong length or characters.
    #[error("nonce must be {NONCE_CHARS_MIN} to {NONCE_CHARS_MAX} characters of A-Z a-z 0-9 - _")]
    Nonce,
    /// `signature` is not base64 of a DER SM2 signature.
    #[error("signature must be the base64 of a DER-encoded SM2 signature")]
    Signature,
}

/// A parsed `Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHeader {
    /// The registered application.
    pub app_id: String,
    /// Which of the application's keys signed.
    pub serial: u32,
    /// Unix seconds, as signed.
    pub timestamp_s: i64,
    /// The request's nonce, as signed.
    pub nonce: String,
    /// The DER signature.
    pub signature_der: Vec<u8>,
}

/// Characters of ids and nonces: `A-Z a-z 0-9 - _`.
pub fn is_token_char(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_'
}

fn decimal(text: &str, max_len: usize) -> Option<i64> {
    let ok = !text.is_empty()
        && text.len() <= max_len
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    if ok { text.parse().ok() } else { None }
}

impl SignedHeader {
    /// Parses a header value.
    pub fn parse(value: &str) -> Result<SignedHeader, HeaderError> {
        if value.len() > HEADER_BYTES_MAX || !value.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
            return Err(HeaderError::Shape);
        }
        let rest = value
            .strip_prefix(SCHEME)
            .and_then(|rest| rest.strip_prefix(' '))
            .ok_or(HeaderError::Scheme)?;
        let mut fields: [Option<&str>; 5] = [None; 5];
        const NAMES: [&str; 5] = ["app_id", "serial", "timestamp", "nonce", "signature"];
        for part in rest.split(',') {
            let part = part.trim_start_matches(' ');
            let (name, quoted) = part.split_once('=').ok_or(HeaderError::Syntax)?;
            let inner = quoted
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .filter(|v| !v.contains('"'))
                .ok_or(HeaderError::Syntax)?;
            let slot = NAMES
                .iter()
                .position(|known| *known == name)
                .ok_or(HeaderError::UnknownField)?;
            if fields[slot].replace(inner).is_some() {
                return Err(HeaderError::DuplicateField);
            }
        }
        let [
            Some(app_id),
            Some(serial),
            Some(timestamp),
            Some(nonce),
            Some(signature),
        ] = fields
        else {
            return Err(HeaderError::MissingField);
        };
        if app_id.is_empty()
            || app_id.len() > APP_ID_CHARS_MAX
            || !app_id.bytes().all(is_token_char)
        {
            return Err(HeaderError::AppId);
        }
        let serial = decimal(serial, 9)
            .filter(|serial| *serial > 0)
            .and_then(|serial| u32::try_from(serial).ok())
            .ok_or(HeaderError::Serial)?;
        let timestamp_s = decimal(timestamp, 12).ok_or(HeaderError::Timestamp)?;
        if !(NONCE_CHARS_MIN..=NONCE_CHARS_MAX).contains(&nonce.len())
            || !nonce.bytes().all(is_token_char)
        {
            return Err(HeaderError::Nonce);
        }
        let signature_der = base64::engine::general_purpose::STANDARD
            .decode(signature)
            .ok()
            .filter(|der| !der.is_empty() && der.len() <= SIGNATURE_DER_BYTES_MAX)
            .filter(|der| Sm2Signature::from_der(der).is_ok())
            .ok_or(HeaderError::Signature)?;
        Ok(SignedHeader {
            app_id: app_id.to_string(),
            serial,
            timestamp_s,
            nonce: nonce.to_string(),
            signature_der,
        })
    }

    /// The header value.
    pub fn format(&self) -> String {
        format!(
            "{SCHEME} app_id=\"{}\",serial=\"{}\",timestamp=\"{}\",nonce=\"{}\",signature=\"{}\"",
            self.app_id,
            self.serial,
            self.timestamp_s,
            self.nonce,
            base64::engine::general_purpose::STANDARD.encode(&self.signature_der)
        )
    }

    /// Signs a canonical request and builds its header.
    pub fn sign(
        key: &Sm2PrivateKey,
        app_id: &str,
        serial: u32,
        request: &CanonicalRequest,
    ) -> Result<SignedHeader, inspay_crypto::CryptoError> {
        let signature = key.sign(&request.to_bytes())?;
        Ok(SignedHeader {
            app_id: app_id.to_string(),
            serial,
            timestamp_s: request.timestamp_s(),
            nonce: request.nonce().to_string(),
            signature_der: signature.to_der(),
        })
    }

    /// Whether the header's signature is `key`'s over `request`, and the header's timestamp
    /// and nonce are the request's (so neither can be swapped after signing).
    pub fn verifies(&self, key: &Sm2PublicKey, request: &CanonicalRequest) -> bool {
        if self.timestamp_s != request.timestamp_s() || self.nonce != request.nonce() {
            return false;
        }
        Sm2Signature::from_der(&self.signature_der)
            .and_then(|signature| key.verify(&request.to_bytes(), &signature))
            .is_ok()
    }
}
