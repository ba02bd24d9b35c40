//! The canonical request: the bytes an application signs with SM2-with-SM3 (clause 5.6.2-c).
//!
//! ```text
//! METHOD \n PATH?QUERY \n TIMESTAMP \n NONCE \n hex(SM3(BODY)) \n
//! ```
//!
//! - `METHOD` in upper case (`GET`, `POST`, ...);
//! - `PATH?QUERY` exactly as sent on the request line (percent-encoding untouched; `?QUERY`
//!   only if there is a query);
//! - `TIMESTAMP` in unix seconds, decimal, no sign or leading zeros;
//! - `NONCE` the request's nonce (16 to 64 characters of `A-Z a-z 0-9 - _`);
//! - the lower-case hex SM3 digest of the body bytes exactly as sent (of nothing, for no body).
//!
//! Each line ends with `\n`, the last one too. Binding the digest of the body, not the body,
//! keeps the signed string short and the same for every body size; a body changed by one byte
//! changes the digest.

use crate::authorization::{NONCE_CHARS_MAX, NONCE_CHARS_MIN, is_token_char};
use inspay_crypto::sm3::sm3;

/// Longest path and query accepted, in bytes.
pub const TARGET_BYTES_MAX: usize = 2_048;

/// Why a request cannot be put in canonical form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CanonicalError {
    /// The method is not one of the HTTP methods the API uses.
    #[error("the method must be GET, POST, PUT, PATCH or DELETE")]
    Method,
    /// The target does not start with `/`, is too long, or holds a character outside printable
    /// ASCII.
    #[error(
        "the request target must be an absolute path (and query) of printable ASCII, at most {TARGET_BYTES_MAX} bytes"
    )]
    Target,
    /// The nonce has the wrong length or characters.
    #[error(
        "the nonce must be {NONCE_CHARS_MIN} to {NONCE_CHARS_MAX} characters of A-Z a-z 0-9 - _"
    )]
    Nonce,
    /// The timestamp is negative.
    #[error("the timestamp must be unix seconds, not negative")]
    Timestamp,
}

/// A request in canonical form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CanonicalRequest {
    method: &'static str,
    target: String,
    timestamp_s: i64,
    nonce: String,
    body_sm3_hex: String,
}

impl CanonicalRequest {
    /// Builds the canonical form of a request.
    pub fn new(
        method: &str,
        target: &str,
        timestamp_s: i64,
        nonce: &str,
        body: &[u8],
    ) -> Result<CanonicalRequest, CanonicalError> {
        let method = ["GET", "POST", "PUT", "PATCH", "DELETE"]
            .into_iter()
            .find(|known| *known == method)
            .ok_or(CanonicalError::Method)?;
        let target_ok = target.starts_with('/')
            && target.len() <= TARGET_BYTES_MAX
            && target.bytes().all(|b| (0x21..=0x7e).contains(&b));
        if !target_ok {
            return Err(CanonicalError::Target);
        }
        if timestamp_s < 0 {
            return Err(CanonicalError::Timestamp);
        }
        let nonce_ok = (NONCE_CHARS_MIN..=NONCE_CHARS_MAX).contains(&nonce.len())
            && nonce.bytes().all(is_token_char);
        if !nonce_ok {
            return Err(CanonicalError::Nonce);
        }
        Ok(CanonicalRequest {
            method,
            target: target.to_string(),
            timestamp_s,
            nonce: nonce.to_string(),
            body_sm3_hex: hex::encode(sm3(body)),
        })
    }

    /// Rebuilds the canonical form from the SM3 of the body (lower-case hex), as kept in
    /// evidence, to verify a signature again without the body.
    pub fn from_digest(
        method: &str,
        target: &str,
        timestamp_s: i64,
        nonce: &str,
        body_sm3_hex: &str,
    ) -> Result<CanonicalRequest, CanonicalError> {
        let mut request = CanonicalRequest::new(method, target, timestamp_s, nonce, b"")?;
        request.body_sm3_hex = body_sm3_hex.to_string();
        Ok(request)
    }

    /// The SM3 of the body, lower-case hex.
    pub fn body_sm3_hex(&self) -> &str {
        &self.body_sm3_hex
    }

    /// The method.
    pub fn method(&self) -> &str {
        self.method
    }

    /// The path and query.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// The bytes to sign.
    pub fn to_bytes(&self) -> Vec<u8> {
        format!(
            "{}\n{}\n{}\n{}\n{}\n",
            self.method, self.target, self.timestamp_s, self.nonce, self.body_sm3_hex
        )
        .into_bytes()
    }

    /// The timestamp, unix seconds.
    pub fn timestamp_s(&self) -> i64 {
        self.timestamp_s
    }

    /// The nonce.
    pub fn nonce(&self) -> &str {
        &self.nonce
    }
}
