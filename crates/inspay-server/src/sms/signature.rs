//! The request signature between inspay and the SMS gateway (clauses 5.6.2-c and 5.6.2-e).
//!
//! Every request carries three headers:
//!
//! - `X-Inspay-Timestamp`: unix milliseconds, decimal;
//! - `X-Inspay-Nonce`: 128 random bits as 32 lower-case hex digits, never reused;
//! - `X-Inspay-Signature`: `hmac-sm3=<64 lower-case hex digits>`, the HMAC-SM3 under the
//!   shared key of the string
//!   `"POST\n" + target + "\n" + timestamp + "\n" + nonce + "\n" + hex(SM3(body))`,
//!   where `target` is the request target (path, and `?query` if any) exactly as sent and
//!   `timestamp` and `nonce` are the header values exactly as sent.
//!
//! The gateway accepts a request when the signature verifies, the timestamp is within the
//! window of its clock, and it has not seen the nonce within that window (it keeps the nonces
//! it has seen for the window, across all its nodes).

use axum::http::HeaderMap;
use inspay_crypto::sm3::{constant_time_eq, hmac_sm3, sm3};

/// The timestamp header (unix milliseconds).
pub const HEADER_TIMESTAMP: &str = "x-inspay-timestamp";
/// The nonce header (128 random bits, hex).
pub const HEADER_NONCE: &str = "x-inspay-nonce";
/// The signature header (`hmac-sm3=<hex>`).
pub const HEADER_SIGNATURE: &str = "x-inspay-signature";
/// The prefix of the signature header value.
pub const SIGNATURE_SCHEME: &str = "hmac-sm3=";
/// Random bytes in a nonce.
pub const NONCE_BYTES: usize = 16;
/// Shortest shared key accepted, in bytes (128 bits).
pub const KEY_BYTES_MIN: usize = 16;
/// Longest shared key accepted, in bytes (one SM3 block; longer HMAC keys are hashed first
/// and gain nothing).
pub const KEY_BYTES_MAX: usize = 64;
/// The window a gateway should allow between its clock and the timestamp (clause 5.6.2-e:
/// 300 s).
pub const SIGNATURE_SKEW_MS_DEFAULT: i64 = 300_000;

/// Digits in the decimal form of the largest `i64`.
const TIMESTAMP_DIGITS_MAX: usize = 19;
const SIGNATURE_HEX_CHARS: usize = 2 * inspay_crypto::sm3::DIGEST_LEN;

const _: () = assert!(KEY_BYTES_MIN >= 16 && KEY_BYTES_MIN <= KEY_BYTES_MAX);
const _: () = assert!(NONCE_BYTES >= 16);

/// The signature header value for a request.
pub(super) fn sign(
    key: &[u8],
    target: &str,
    timestamp: &str,
    nonce_hex: &str,
    body: &[u8],
) -> String {
    debug_assert!(key.len() >= KEY_BYTES_MIN);
    let tag = hmac_sm3(
        key,
        canonical(target, timestamp, nonce_hex, body).as_bytes(),
    );
    format!("{SIGNATURE_SCHEME}{}", hex::encode(tag))
}

/// The string that is signed. It holds no secret: the body enters only as its SM3 digest.
fn canonical(target: &str, timestamp: &str, nonce_hex: &str, body: &[u8]) -> String {
    format!(
        "POST\n{target}\n{timestamp}\n{nonce_hex}\n{}",
        hex::encode(sm3(body))
    )
}

/// Checks a request to the SMS gateway: the three headers are present once each and well
/// formed, the timestamp is within `skew_ms` of `now_ms`, and the signature over `path` (the
/// request target as received: path, and `?query` if any) and `body` verifies under `key`
/// (compared in constant time). Nonce reuse is the caller's check: keep the nonces seen
/// within the window and refuse a repeat.
pub fn verify_gateway_signature(
    key: &[u8],
    path: &str,
    headers: &HeaderMap,
    body: &[u8],
    now_ms: i64,
    skew_ms: i64,
) -> bool {
    if !(KEY_BYTES_MIN..=KEY_BYTES_MAX).contains(&key.len()) || skew_ms < 0 {
        return false;
    }
    if !path.starts_with('/') || path.contains(['\n', '\r']) {
        return false;
    }
    let (Some(timestamp), Some(nonce), Some(signature)) = (
        single_header(headers, HEADER_TIMESTAMP),
        single_header(headers, HEADER_NONCE),
        single_header(headers, HEADER_SIGNATURE),
    ) else {
        return false;
    };
    let Some(timestamp_ms) = parse_timestamp(timestamp) else {
        return false;
    };
    if timestamp_ms.abs_diff(now_ms) > skew_ms.unsigned_abs() {
        return false;
    }
    if !is_lower_hex(nonce, 2 * NONCE_BYTES) {
        return false;
    }
    let Some(tag_hex) = signature.strip_prefix(SIGNATURE_SCHEME) else {
        return false;
    };
    if !is_lower_hex(tag_hex, SIGNATURE_HEX_CHARS) {
        return false;
    }
    let Ok(tag) = hex::decode(tag_hex) else {
        return false;
    };
    let expected = hmac_sm3(key, canonical(path, timestamp, nonce, body).as_bytes());
    constant_time_eq(&expected, &tag)
}

/// The value of a header that appears exactly once, as text.
fn single_header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    let mut values = headers.get_all(name).iter();
    let value = values.next()?;
    if values.next().is_some() {
        return None;
    }
    value.to_str().ok()
}

/// Unix milliseconds as plain decimal digits (no sign, no spaces).
fn parse_timestamp(text: &str) -> Option<i64> {
    if text.is_empty()
        || text.len() > TIMESTAMP_DIGITS_MAX
        || !text.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    text.parse().ok()
}

fn is_lower_hex(text: &str, length: usize) -> bool {
    text.len() == length && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}
