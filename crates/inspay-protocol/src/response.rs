//! Signed responses (clauses 5.6.2-a3, 5.6.2-d1): every answer carries the server's
//! timestamp, a fresh nonce, the serial (version) of its response-signing key and an SM2
//! signature over
//!
//! ```text
//! STATUS \n TIMESTAMP \n NONCE \n REQUEST_NONCE \n hex(SM3(BODY)) \n
//! ```
//!
//! - `STATUS` the three-digit HTTP status;
//! - `TIMESTAMP` the server's unix seconds, `NONCE` its nonce (same rules as a request's);
//! - `REQUEST_NONCE` the nonce of the signed request it answers, or `-` for a request that
//!   carried none (a health probe, or a request refused before its header could be read), so
//!   an answer can never be replayed as the answer to another request;
//! - the lower-case hex SM3 of the body bytes exactly as sent.
//!
//! The values travel in the `X-Inspay-Timestamp`, `X-Inspay-Nonce`, `X-Inspay-Serial` and
//! `X-Inspay-Signature` (base64 DER) headers, as WeChat Pay API v3's `Wechatpay-*` headers do.

use crate::authorization::{
    NONCE_CHARS_MAX, NONCE_CHARS_MIN, SIGNATURE_DER_BYTES_MAX, is_token_char,
};
use base64::Engine;
use inspay_crypto::sm2::{Sm2PublicKey, Sm2Signature};
use inspay_crypto::sm3::sm3;

/// Header with the server's timestamp.
pub const TIMESTAMP_HEADER: &str = "x-inspay-timestamp";
/// Header with the server's nonce.
pub const NONCE_HEADER: &str = "x-inspay-nonce";
/// Header with the response-signing key's serial.
pub const SERIAL_HEADER: &str = "x-inspay-serial";
/// Header with the signature, base64 of DER.
pub const SIGNATURE_HEADER: &str = "x-inspay-signature";
/// What stands for the request nonce when the request had none.
pub const NO_REQUEST_NONCE: &str = "-";

/// The canonical form of a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CanonicalResponse {
    status: u16,
    timestamp_s: i64,
    nonce: String,
    request_nonce: String,
    body_sm3_hex: String,
}

impl CanonicalResponse {
    /// Builds the canonical form of a response to the request with `request_nonce` (`None`:
    /// the request had no nonce).
    pub fn new(
        status: u16,
        timestamp_s: i64,
        nonce: &str,
        request_nonce: Option<&str>,
        body: &[u8],
    ) -> CanonicalResponse {
        CanonicalResponse::from_digest(
            status,
            timestamp_s,
            nonce,
            request_nonce,
            &hex::encode(sm3(body)),
        )
    }

    /// Builds it from the SM3 of the body (lower-case hex), as kept in evidence.
    pub fn from_digest(
        status: u16,
        timestamp_s: i64,
        nonce: &str,
        request_nonce: Option<&str>,
        body_sm3_hex: &str,
    ) -> CanonicalResponse {
        CanonicalResponse {
            status,
            timestamp_s,
            nonce: nonce.to_string(),
            request_nonce: request_nonce.unwrap_or(NO_REQUEST_NONCE).to_string(),
            body_sm3_hex: body_sm3_hex.to_string(),
        }
    }

    /// The bytes the server signs.
    pub fn to_bytes(&self) -> Vec<u8> {
        format!(
            "{}\n{}\n{}\n{}\n{}\n",
            self.status, self.timestamp_s, self.nonce, self.request_nonce, self.body_sm3_hex
        )
        .into_bytes()
    }

    /// The SM3 of the body, lower-case hex.
    pub fn body_sm3_hex(&self) -> &str {
        &self.body_sm3_hex
    }
}

/// Why a response is not accepted by a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ResponseError {
    /// A signature header is missing or malformed.
    #[error(
        "the response lacks a well-formed X-Inspay-Timestamp, -Nonce, -Serial or -Signature header"
    )]
    Headers,
    /// The serial names no key the client trusts.
    #[error("the response is signed with a key serial this client does not trust")]
    UnknownSerial,
    /// The signature does not verify.
    #[error("the response signature does not verify: the answer may have been altered")]
    Signature,
    /// The server's timestamp is too far from the client's clock.
    #[error("the response timestamp is outside the allowed window")]
    Stale,
}

/// The signature headers of a response, as read from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseSignature {
    /// The server's timestamp.
    pub timestamp_s: i64,
    /// The server's nonce.
    pub nonce: String,
    /// The response-signing key's serial.
    pub serial: u32,
    /// The DER signature.
    pub signature_der: Vec<u8>,
}

impl ResponseSignature {
    /// Parses the four header values.
    pub fn parse(
        timestamp: &str,
        nonce: &str,
        serial: &str,
        signature: &str,
    ) -> Result<ResponseSignature, ResponseError> {
        let digits = |text: &str, len: usize| {
            (!text.is_empty() && text.len() <= len && text.bytes().all(|b| b.is_ascii_digit()))
                .then(|| text.parse::<i64>().ok())
                .flatten()
        };
        let timestamp_s = digits(timestamp, 12).ok_or(ResponseError::Headers)?;
        let serial = digits(serial, 9)
            .and_then(|serial| u32::try_from(serial).ok())
            .filter(|serial| *serial > 0)
            .ok_or(ResponseError::Headers)?;
        if !(NONCE_CHARS_MIN..=NONCE_CHARS_MAX).contains(&nonce.len())
            || !nonce.bytes().all(is_token_char)
        {
            return Err(ResponseError::Headers);
        }
        let signature_der = base64::engine::general_purpose::STANDARD
            .decode(signature)
            .ok()
            .filter(|der| !der.is_empty() && der.len() <= SIGNATURE_DER_BYTES_MAX)
            .ok_or(ResponseError::Headers)?;
        Ok(ResponseSignature {
            timestamp_s,
            nonce: nonce.to_string(),
            serial,
            signature_der,
        })
    }

    /// The signature as base64, for the header.
    pub fn signature_base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(&self.signature_der)
    }

    /// Verifies the signature with `key` over a response with this status and body to the
    /// request with `request_nonce`, and that the server's time is within `window_s` of
    /// `now_s`.
    pub fn verify(
        &self,
        key: &Sm2PublicKey,
        status: u16,
        request_nonce: Option<&str>,
        body: &[u8],
        now_s: i64,
        window_s: i64,
    ) -> Result<(), ResponseError> {
        let canonical =
            CanonicalResponse::new(status, self.timestamp_s, &self.nonce, request_nonce, body);
        self.verify_canonical(key, &canonical)?;
        if (now_s - self.timestamp_s).abs() > window_s {
            return Err(ResponseError::Stale);
        }
        Ok(())
    }

    /// Verifies the signature over an already built canonical response (evidence checks).
    pub fn verify_canonical(
        &self,
        key: &Sm2PublicKey,
        canonical: &CanonicalResponse,
    ) -> Result<(), ResponseError> {
        Sm2Signature::from_der(&self.signature_der)
            .and_then(|signature| key.verify(&canonical.to_bytes(), &signature))
            .map_err(|_| ResponseError::Signature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_bytes_are_exact() {
        let response = CanonicalResponse::new(
            200,
            1_764_100_000,
            "srv-nonce-0123456",
            Some("req-nonce-0123456"),
            b"{}",
        );
        let text = String::from_utf8(response.to_bytes()).expect("ascii");
        assert_eq!(
            text,
            format!(
                "200\n1764100000\nsrv-nonce-0123456\nreq-nonce-0123456\n{}\n",
                hex::encode(sm3(b"{}"))
            )
        );
        let unsigned = CanonicalResponse::new(404, 1, "srv-nonce-0123456", None, b"");
        assert!(
            String::from_utf8(unsigned.to_bytes())
                .expect("ascii")
                .contains("\n-\n")
        );
    }

    #[test]
    fn a_signed_response_verifies_and_any_change_is_caught() {
        let key = inspay_crypto::sm2::Sm2PrivateKey::generate().expect("key");
        let body = br#"{"ok":true}"#;
        let canonical = CanonicalResponse::new(
            200,
            1000,
            "srv-nonce-0123456",
            Some("req-nonce-0123456"),
            body,
        );
        let signature = key.sign(&canonical.to_bytes()).expect("sign");
        let parsed = ResponseSignature::parse(
            "1000",
            "srv-nonce-0123456",
            "1",
            &base64::engine::general_purpose::STANDARD.encode(signature.to_der()),
        )
        .expect("parse");
        let public = key.public_key();
        assert_eq!(
            parsed.verify(public, 200, Some("req-nonce-0123456"), body, 1000, 300),
            Ok(())
        );
        assert_eq!(
            parsed.verify(public, 201, Some("req-nonce-0123456"), body, 1000, 300),
            Err(ResponseError::Signature)
        );
        assert_eq!(
            parsed.verify(public, 200, Some("other-nonce-01234"), body, 1000, 300),
            Err(ResponseError::Signature)
        );
        assert_eq!(
            parsed.verify(
                public,
                200,
                Some("req-nonce-0123456"),
                br#"{"ok":false}"#,
                1000,
                300
            ),
            Err(ResponseError::Signature)
        );
        assert_eq!(
            parsed.verify(public, 200, Some("req-nonce-0123456"), body, 1301, 300),
            Err(ResponseError::Stale)
        );
        for (t, n, s, g) in [
            ("", "srv-nonce-0123456", "1", "AA=="),
            ("1000", "short", "1", "AA=="),
            ("1000", "srv-nonce-0123456", "0", "AA=="),
            ("1000", "srv-nonce-0123456", "1", "not base64!"),
        ] {
            assert_eq!(
                ResponseSignature::parse(t, n, s, g),
                Err(ResponseError::Headers)
            );
        }
    }
}
