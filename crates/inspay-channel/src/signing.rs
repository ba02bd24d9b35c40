//! The channel protocol's signatures (clause 5.6.2-d1): SM2-with-SM3 under the default user
//! id over canonical strings, carried in `X-Channel-*` headers.
//!
//! ```text
//! request:  METHOD \n PATH \n TIMESTAMP \n NONCE \n hex(SM3(BODY)) \n
//! answer:   STATUS \n TIMESTAMP \n NONCE \n REQUEST_NONCE \n hex(SM3(BODY)) \n
//! ```
//!
//! `PATH` is the path (and query, if any) exactly as on the request line; `TIMESTAMP` unix
//! seconds in decimal; `NONCE` 16 to 64 characters of `A-Z a-z 0-9 _ -`; `STATUS` the
//! three-digit HTTP status; `REQUEST_NONCE` the nonce of the request answered (`-` if it had
//! no usable one), so an answer can never pass for the answer to another request; the digest
//! is lower-case hex of the body bytes exactly as sent. Every line ends with `\n`.

use crate::error::ChannelError;
use crate::order::{AnswerEvidence, ChannelAnswer, is_token};
use axum::http::{HeaderMap, HeaderValue};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use inspay_crypto::CryptoError;
use inspay_crypto::sm2::{Sm2PrivateKey, Sm2PublicKey, Sm2Signature};
use inspay_crypto::sm3::sm3;

/// What signs our requests: a key held here, or a key manager that keeps its keys to itself
/// (the server signs with its KMS `channel-signing` key and never hands the key out).
pub trait RequestSigner: Send + Sync {
    /// The SM2-with-SM3 signature (default user id) over `message`.
    fn sign_message(&self, message: &[u8]) -> Result<Sm2Signature, CryptoError>;
}

impl RequestSigner for Sm2PrivateKey {
    fn sign_message(&self, message: &[u8]) -> Result<Sm2Signature, CryptoError> {
        self.sign(message)
    }
}

/// Header naming the merchant (requests only).
pub const MERCHANT_HEADER: &str = "x-channel-merchant";
/// Header with the sender's unix seconds.
pub const TIMESTAMP_HEADER: &str = "x-channel-timestamp";
/// Header with the sender's nonce.
pub const NONCE_HEADER: &str = "x-channel-nonce";
/// Header with the signature, base64 of DER.
pub const SIGNATURE_HEADER: &str = "x-channel-signature";
/// Header with the answered request's nonce, on asynchronous notifications only (a direct
/// answer's receiver knows its own nonce).
pub const REQUEST_NONCE_HEADER: &str = "x-channel-request-nonce";
/// How far a timestamp may be from the receiver's clock, either way, seconds.
pub const WINDOW_S: i64 = 300;
/// Shortest nonce, characters.
pub const NONCE_CHARS_MIN: usize = 16;
/// Longest nonce, characters.
pub const NONCE_CHARS_MAX: usize = 64;
/// Longest base64 signature accepted (a DER SM2 signature is at most 72 bytes).
pub const SIGNATURE_BASE64_CHARS_MAX: usize = 128;
/// What stands for the request nonce when the request had no usable one.
pub const NO_REQUEST_NONCE: &str = "-";

/// The canonical string of a request.
pub fn request_string(
    method: &str,
    path: &str,
    timestamp_s: i64,
    nonce: &str,
    body: &[u8],
) -> String {
    format!(
        "{method}\n{path}\n{timestamp_s}\n{nonce}\n{}\n",
        hex::encode(sm3(body))
    )
}

/// The canonical string of an answer to the request whose nonce is `request_nonce`.
pub fn answer_string(
    status: u16,
    timestamp_s: i64,
    nonce: &str,
    request_nonce: &str,
    body: &[u8],
) -> String {
    format!(
        "{status}\n{timestamp_s}\n{nonce}\n{request_nonce}\n{}\n",
        hex::encode(sm3(body))
    )
}

/// Signs a canonical string; the result is base64 of the DER signature.
pub fn sign(key: &Sm2PrivateKey, canonical: &str) -> Result<String, CryptoError> {
    key.sign(canonical.as_bytes())
        .map(|signature| BASE64.encode(signature.to_der()))
}

/// Whether `signature_base64` is `key`'s signature over `canonical`.
pub fn verify(key: &Sm2PublicKey, canonical: &str, signature_base64: &str) -> bool {
    if signature_base64.len() > SIGNATURE_BASE64_CHARS_MAX {
        return false;
    }
    let Ok(der) = BASE64.decode(signature_base64) else {
        return false;
    };
    let Ok(signature) = Sm2Signature::from_der(&der) else {
        return false;
    };
    key.verify(canonical.as_bytes(), &signature).is_ok()
}

/// A fresh nonce: 32 lower-case hex characters from the OS CSPRNG.
pub fn new_nonce() -> Result<String, CryptoError> {
    inspay_crypto::random::bytes::<16>().map(hex::encode)
}

/// Whether `text` is a well-formed nonce.
pub fn is_nonce(text: &str) -> bool {
    text.len() >= NONCE_CHARS_MIN && is_token(text, NONCE_CHARS_MAX)
}

/// Unix seconds now, from the system clock. Signature windows always use real time: the
/// business clock of the simulator only decides settlement days.
pub fn unix_now_s() -> i64 {
    crate::date::system_now_ms().div_euclid(1000)
}

/// The timestamp, nonce and signature read from `X-Channel-*` headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureHeaders {
    /// Unix seconds.
    pub timestamp_s: i64,
    /// The sender's nonce.
    pub nonce: String,
    /// Base64 of the DER signature.
    pub signature_base64: String,
}

impl SignatureHeaders {
    /// Reads the three headers strictly: a missing or malformed one gives `None`.
    pub fn read(headers: &HeaderMap) -> Option<SignatureHeaders> {
        let text = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
        let timestamp = text(TIMESTAMP_HEADER)?;
        let timestamp_ok = (1..=12).contains(&timestamp.len())
            && timestamp.bytes().all(|byte| byte.is_ascii_digit())
            && !(timestamp.len() > 1 && timestamp.starts_with('0'));
        let nonce = text(NONCE_HEADER)?;
        let signature_base64 = text(SIGNATURE_HEADER)?;
        if !timestamp_ok || !is_nonce(nonce) || signature_base64.len() > SIGNATURE_BASE64_CHARS_MAX
        {
            return None;
        }
        Some(SignatureHeaders {
            timestamp_s: timestamp.parse().ok()?,
            nonce: nonce.to_string(),
            signature_base64: signature_base64.to_string(),
        })
    }

    /// Writes the three headers.
    pub fn write(&self, headers: &mut HeaderMap) {
        let value = |text: &str| {
            // Digits, token characters and base64 are always valid header values.
            HeaderValue::from_str(text).unwrap_or(HeaderValue::from_static("-"))
        };
        headers.insert(TIMESTAMP_HEADER, value(&self.timestamp_s.to_string()));
        headers.insert(NONCE_HEADER, value(&self.nonce));
        headers.insert(SIGNATURE_HEADER, value(&self.signature_base64));
    }
}

/// Signs a request at a chosen time with a chosen nonce and returns its four headers. The
/// client calls it with the current time and a fresh nonce; tests use it to build stale and
/// replayed requests.
pub fn sign_request(
    key: &dyn RequestSigner,
    merchant_id: &str,
    method: &str,
    path: &str,
    timestamp_s: i64,
    nonce: &str,
    body: &[u8],
) -> Result<HeaderMap, CryptoError> {
    let canonical = request_string(method, path, timestamp_s, nonce, body);
    let signed = SignatureHeaders {
        timestamp_s,
        nonce: nonce.to_string(),
        signature_base64: BASE64.encode(key.sign_message(canonical.as_bytes())?.to_der()),
    };
    let mut headers = HeaderMap::new();
    signed.write(&mut headers);
    let merchant = HeaderValue::from_str(merchant_id)
        .map_err(|_| CryptoError::Encoding("merchant id header"))?;
    headers.insert(MERCHANT_HEADER, merchant);
    Ok(headers)
}

/// Whether evidence kept from an answer still verifies under the channel's key.
pub fn verify_evidence(key: &Sm2PublicKey, evidence: &AnswerEvidence) -> bool {
    let canonical = answer_string(
        evidence.status,
        evidence.timestamp_s,
        &evidence.nonce,
        &evidence.request_nonce,
        evidence.body.as_bytes(),
    );
    verify(key, &canonical, &evidence.signature_base64)
}

/// Verifies an asynchronous notification (an answer the channel POSTs to the merchant's
/// notify URL, signed as a `200` answer to the original request, whose nonce travels in
/// [`REQUEST_NONCE_HEADER`]) and returns the answer it carries, with its evidence.
/// A notification older or newer than [`WINDOW_S`] around `now_s` is refused. Receiving the
/// same notification twice is normal: apply it idempotently by order id.
pub fn verify_notification(
    key: &Sm2PublicKey,
    headers: &HeaderMap,
    body: &[u8],
    now_s: i64,
) -> Result<ChannelAnswer, ChannelError> {
    let signed = SignatureHeaders::read(headers).ok_or(ChannelError::BadSignature)?;
    let request_nonce = headers
        .get(REQUEST_NONCE_HEADER)
        .and_then(|value| value.to_str().ok())
        .filter(|nonce| is_nonce(nonce))
        .ok_or(ChannelError::BadSignature)?;
    if (signed.timestamp_s - now_s).abs() > WINDOW_S {
        return Err(ChannelError::BadSignature);
    }
    let evidence = check_answer(key, 200, &signed, request_nonce, body)?;
    crate::wire::parse_answer(body, Some(evidence))
}

/// Checks an answer's signature against the nonce of the request it answers and returns the
/// evidence to keep.
pub(crate) fn check_answer(
    key: &Sm2PublicKey,
    status: u16,
    signed: &SignatureHeaders,
    request_nonce: &str,
    body: &[u8],
) -> Result<AnswerEvidence, ChannelError> {
    let canonical = answer_string(
        status,
        signed.timestamp_s,
        &signed.nonce,
        request_nonce,
        body,
    );
    if !verify(key, &canonical, &signed.signature_base64) {
        return Err(ChannelError::BadSignature);
    }
    let body = String::from_utf8(body.to_vec())
        .map_err(|_| ChannelError::Protocol("the answer is not UTF-8".to_string()))?;
    Ok(AnswerEvidence {
        status,
        timestamp_s: signed.timestamp_s,
        nonce: signed.nonce.clone(),
        request_nonce: request_nonce.to_string(),
        body,
        signature_base64: signed.signature_base64.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_strings_have_the_documented_shape() {
        assert_eq!(
            request_string("POST", "/v1/pay", 1_700_000_000, "n0", b""),
            "POST\n/v1/pay\n1700000000\nn0\n\
             1ab21d8355cfa17f8e61194831e81a8f22bec8c728fefb747ed035eb5082aa2b\n"
        );
        assert!(answer_string(200, 1, "a", "-", b"{}").starts_with("200\n1\na\n-\n"));
    }

    #[test]
    fn signatures_verify_only_for_their_string_and_key() {
        let key = Sm2PrivateKey::generate().expect("key");
        let other = Sm2PrivateKey::generate().expect("key");
        let signature = sign(&key, "abc").expect("sign");
        assert!(verify(key.public_key(), "abc", &signature));
        assert!(!verify(key.public_key(), "abd", &signature));
        assert!(!verify(other.public_key(), "abc", &signature));
        assert!(!verify(key.public_key(), "abc", "not base64!"));
    }

    #[test]
    fn headers_are_read_strictly() {
        let key = Sm2PrivateKey::generate().expect("key");
        let nonce = new_nonce().expect("nonce");
        let headers = sign_request(&key, "m1", "GET", "/v1/keys", 5, &nonce, b"").expect("sign");
        assert_eq!(
            SignatureHeaders::read(&headers).map(|signed| signed.timestamp_s),
            Some(5)
        );
        for (name, value) in [
            (TIMESTAMP_HEADER, "05"),
            (TIMESTAMP_HEADER, "-5"),
            (NONCE_HEADER, "short"),
            (NONCE_HEADER, "has space in the nonce value"),
        ] {
            let mut bad = headers.clone();
            bad.insert(name, HeaderValue::from_static(value));
            assert_eq!(SignatureHeaders::read(&bad), None, "{name}: {value}");
        }
    }
}
