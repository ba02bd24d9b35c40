//! Verification of the server's signature on every answer (clause 5.6.2-d1), with
//! [`inspay_protocol::response::ResponseSignature`].

use std::collections::BTreeMap;

use inspay_crypto::sm2::Sm2PublicKey;
use inspay_protocol::response::{
    NONCE_HEADER, ResponseError, ResponseSignature, SERIAL_HEADER, SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
};
use reqwest::header::HeaderMap;

/// What proves an answer came from the server: keep it beside the business record
/// (non-repudiation, clause 5.6.2-d1). Nothing in it is secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseEvidence {
    /// The HTTP status signed.
    pub status: u16,
    /// The serial of the server key that signed.
    pub serial: u32,
    /// The server's timestamp, unix seconds.
    pub timestamp_s: i64,
    /// The server's nonce.
    pub nonce: String,
    /// The nonce of the request the answer is bound to; `None` only for an error answer the
    /// server gave before it could read the request's signature (such an answer is only ever
    /// surfaced as an [`crate::Error::Api`], never as data).
    pub request_nonce: Option<String>,
    /// The SM3 of the body, lower-case hex.
    pub body_sm3_hex: String,
    /// The signature, base64 of DER.
    pub signature_base64: String,
}

/// Verifies an answer against the pinned keys. An answer bound to no request nonce is accepted
/// only when it is an error (status 400 or above): the server signs its refusals of requests
/// whose signature it could not read that way, and replaying one can at most make a call fail.
pub(crate) fn verify(
    keys: &BTreeMap<u32, Sm2PublicKey>,
    status: u16,
    headers: &HeaderMap,
    request_nonce: Option<&str>,
    body: &[u8],
    now_s: i64,
) -> Result<ResponseEvidence, ResponseError> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .ok_or(ResponseError::Headers)
    };
    let signature = ResponseSignature::parse(
        header(TIMESTAMP_HEADER)?,
        header(NONCE_HEADER)?,
        header(SERIAL_HEADER)?,
        header(SIGNATURE_HEADER)?,
    )?;
    let key = keys
        .get(&signature.serial)
        .ok_or(ResponseError::UnknownSerial)?;
    let window_s = inspay_protocol::WINDOW_S;
    let bound = match signature.verify(key, status, request_nonce, body, now_s, window_s) {
        Ok(()) => request_nonce,
        Err(ResponseError::Signature) if request_nonce.is_some() && status >= 400 => {
            signature.verify(key, status, None, body, now_s, window_s)?;
            None
        }
        Err(error) => return Err(error),
    };
    Ok(ResponseEvidence {
        status,
        serial: signature.serial,
        timestamp_s: signature.timestamp_s,
        signature_base64: signature.signature_base64(),
        nonce: signature.nonce,
        request_nonce: bound.map(str::to_string),
        body_sm3_hex: hex::encode(inspay_crypto::sm3::sm3(body)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use inspay_crypto::sm2::Sm2PrivateKey;
    use inspay_protocol::response::CanonicalResponse;
    use reqwest::header::HeaderValue;

    const SERVER_NONCE: &str = "srv-nonce-0123456789";
    const REQUEST_NONCE: &str = "req-nonce-0123456789";

    fn signed(
        key: &Sm2PrivateKey,
        serial: u32,
        status: u16,
        request_nonce: Option<&str>,
        body: &[u8],
        at: i64,
    ) -> HeaderMap {
        let canonical = CanonicalResponse::new(status, at, SERVER_NONCE, request_nonce, body);
        let signature = key.sign(&canonical.to_bytes()).expect("sign");
        let mut headers = HeaderMap::new();
        for (name, value) in [
            (TIMESTAMP_HEADER, at.to_string()),
            (NONCE_HEADER, SERVER_NONCE.to_string()),
            (SERIAL_HEADER, serial.to_string()),
            (
                SIGNATURE_HEADER,
                base64::engine::general_purpose::STANDARD.encode(signature.to_der()),
            ),
        ] {
            headers.insert(name, HeaderValue::from_str(&value).expect("value"));
        }
        headers
    }

    /// req: 5.6.2-d1
    #[test]
    fn answers_are_accepted_only_when_bound_signed_by_a_pinned_key_and_fresh() {
        let key = Sm2PrivateKey::generate().expect("key");
        let pinned = BTreeMap::from([(3, key.public_key().clone())]);
        let body = br#"{"ok":true}"#;
        let headers = signed(&key, 3, 200, Some(REQUEST_NONCE), body, 1000);
        let evidence =
            verify(&pinned, 200, &headers, Some(REQUEST_NONCE), body, 1010).expect("verifies");
        assert_eq!(evidence.serial, 3);
        assert_eq!(evidence.request_nonce.as_deref(), Some(REQUEST_NONCE));
        assert_eq!(
            verify(
                &pinned,
                200,
                &headers,
                Some(REQUEST_NONCE),
                b"{\"ok\":false}",
                1010
            ),
            Err(ResponseError::Signature)
        );
        assert_eq!(
            verify(
                &pinned,
                200,
                &headers,
                Some("another-nonce-0123"),
                body,
                1010
            ),
            Err(ResponseError::Signature)
        );
        assert_eq!(
            verify(&pinned, 200, &headers, Some(REQUEST_NONCE), body, 1400),
            Err(ResponseError::Stale)
        );
        let other = BTreeMap::from([(4, key.public_key().clone())]);
        assert_eq!(
            verify(&other, 200, &headers, Some(REQUEST_NONCE), body, 1010),
            Err(ResponseError::UnknownSerial)
        );
        let mut missing = headers.clone();
        missing.remove(SIGNATURE_HEADER);
        assert_eq!(
            verify(&pinned, 200, &missing, Some(REQUEST_NONCE), body, 1010),
            Err(ResponseError::Headers)
        );
    }

    /// req: 5.6.2-d1
    #[test]
    fn an_answer_bound_to_no_request_is_accepted_only_as_an_error() {
        let key = Sm2PrivateKey::generate().expect("key");
        let pinned = BTreeMap::from([(1, key.public_key().clone())]);
        let body = br#"{"code":"INSPAY-SIG-007"}"#;
        let refusal = signed(&key, 1, 401, None, body, 1000);
        let evidence =
            verify(&pinned, 401, &refusal, Some(REQUEST_NONCE), body, 1000).expect("an error");
        assert_eq!(evidence.request_nonce, None);
        let data = signed(&key, 1, 200, None, b"{}", 1000);
        assert_eq!(
            verify(&pinned, 200, &data, Some(REQUEST_NONCE), b"{}", 1000),
            Err(ResponseError::Signature)
        );
    }
}
