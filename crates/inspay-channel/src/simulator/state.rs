//! The simulator's shared state, the check of every signed request, and signed answers.

use super::bank::{Bank, Refusal};
use super::faults::Faults;
use crate::date::Clock;
use crate::signing::{self, SignatureHeaders};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use inspay_crypto::sm2::{Sm2PrivateKey, Sm2PublicKey};
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::watch;

/// Most nonces remembered inside the window; past it, signed requests are turned away until
/// old ones expire (a flood cannot make the simulator forget a nonce early).
pub const NONCES_MAX: usize = 1_000_000;

/// Proof that a request's merchant, timestamp, signature and nonce were checked. Only
/// [`Shared::authenticate`] makes one, and every signed route needs one to answer.
pub(crate) struct Authenticated {
    nonce: String,
}

impl Authenticated {
    pub(crate) fn nonce(&self) -> &str {
        &self.nonce
    }
}

/// Nonces seen, with the timestamp of their request. An entry can be forgotten once that
/// timestamp is out of the window: a replay would then be refused as stale.
#[derive(Default)]
struct NonceStore(HashMap<String, i64>);

impl NonceStore {
    /// Records a nonce; `Ok(false)` if it was seen before, `Err` if the store is full.
    fn insert(&mut self, nonce: &str, timestamp_s: i64, now_s: i64) -> Result<bool, ()> {
        if self.0.contains_key(nonce) {
            return Ok(false);
        }
        if self.0.len() >= NONCES_MAX {
            self.0
                .retain(|_, seen_s| *seen_s >= now_s - signing::WINDOW_S);
            if self.0.len() >= NONCES_MAX {
                return Err(());
            }
        }
        self.0.insert(nonce.to_string(), timestamp_s);
        Ok(true)
    }
}

/// Everything the handlers share.
pub(crate) struct Shared {
    pub(crate) bank: Mutex<Bank>,
    pub(crate) faults: Faults,
    nonces: Mutex<NonceStore>,
    pub(crate) merchant_id: String,
    merchant_key: Sm2PublicKey,
    channel_key: Sm2PrivateKey,
    pub(crate) clock: Clock,
    pub(crate) utc_offset_s: i32,
    pub(crate) app_id: String,
    pub(crate) notify_url: Option<String>,
    pub(crate) notifier: reqwest::Client,
    hold: Duration,
    shutdown: watch::Receiver<bool>,
}

/// What [`Shared::new`] takes.
pub(crate) struct SharedParts {
    pub(crate) merchant_id: String,
    pub(crate) merchant_key: Sm2PublicKey,
    pub(crate) channel_key: Sm2PrivateKey,
    pub(crate) clock: Clock,
    pub(crate) utc_offset_s: i32,
    pub(crate) app_id: String,
    pub(crate) notify_url: Option<String>,
    pub(crate) notifier: reqwest::Client,
    pub(crate) hold: Duration,
    pub(crate) shutdown: watch::Receiver<bool>,
}

impl Shared {
    pub(crate) fn new(parts: SharedParts) -> Shared {
        Shared {
            bank: Mutex::new(Bank::new(parts.utc_offset_s)),
            faults: Faults::default(),
            nonces: Mutex::new(NonceStore::default()),
            merchant_id: parts.merchant_id,
            merchant_key: parts.merchant_key,
            channel_key: parts.channel_key,
            clock: parts.clock,
            utc_offset_s: parts.utc_offset_s,
            app_id: parts.app_id,
            notify_url: parts.notify_url,
            notifier: parts.notifier,
            hold: parts.hold,
            shutdown: parts.shutdown,
        }
    }

    /// The books. A panic while they were held cannot leave them half-written: every bank
    /// method checks before it writes.
    pub(crate) fn bank(&self) -> MutexGuard<'_, Bank> {
        self.bank
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The channel's public key.
    pub(crate) fn public_key(&self) -> &Sm2PublicKey {
        self.channel_key.public_key()
    }

    /// Checks the merchant, the timestamp window, the signature and the nonce, in that order
    /// (the nonce last, so only authentic requests fill the store).
    pub(crate) fn authenticate(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Authenticated, Refusal> {
        let unauthorised = |code, message: &str| Refusal::new(401, code, message);
        let merchant = headers
            .get(signing::MERCHANT_HEADER)
            .and_then(|value| value.to_str().ok());
        if merchant != Some(self.merchant_id.as_str()) {
            return Err(unauthorised("MERCHANT_UNKNOWN", "unknown merchant"));
        }
        let signed = SignatureHeaders::read(headers)
            .ok_or_else(|| unauthorised("SIGNATURE_MISSING", "signature headers missing"))?;
        let now_s = signing::unix_now_s();
        if (signed.timestamp_s - now_s).abs() > signing::WINDOW_S {
            return Err(unauthorised(
                "TIMESTAMP_STALE",
                "the timestamp is out of the window",
            ));
        }
        let path = uri
            .path_and_query()
            .map_or(uri.path(), |target| target.as_str());
        let canonical = signing::request_string(
            method.as_str(),
            path,
            signed.timestamp_s,
            &signed.nonce,
            body,
        );
        if !signing::verify(&self.merchant_key, &canonical, &signed.signature_base64) {
            return Err(unauthorised(
                "SIGNATURE_INVALID",
                "the signature does not verify",
            ));
        }
        let mut nonces = self
            .nonces
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match nonces.insert(&signed.nonce, signed.timestamp_s, now_s) {
            Ok(true) => Ok(Authenticated {
                nonce: signed.nonce,
            }),
            Ok(false) => Err(unauthorised("NONCE_REPLAYED", "the nonce was used before")),
            Err(()) => Err(Refusal::new(429, "BUSY", "too many requests in the window")),
        }
    }

    /// An answer signed over `STATUS\nTIMESTAMP\nNONCE\nREQUEST_NONCE\nSM3(BODY)\n`. With
    /// `corrupt`, the signature is made over another body, so it cannot verify.
    pub(crate) fn signed(
        &self,
        status: StatusCode,
        request_nonce: &str,
        body: Vec<u8>,
        content_type: &'static str,
        corrupt: bool,
    ) -> Response {
        let Some(signature) =
            self.signature_headers(status.as_u16(), request_nonce, &body, corrupt)
        else {
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        };
        let mut response = (status, body).into_response();
        signature.write(response.headers_mut());
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        response
    }

    /// The signature headers of an answer; `None` if the random source or signing failed.
    pub(crate) fn signature_headers(
        &self,
        status: u16,
        request_nonce: &str,
        body: &[u8],
        corrupt: bool,
    ) -> Option<SignatureHeaders> {
        let timestamp_s = signing::unix_now_s();
        let nonce = signing::new_nonce().ok()?;
        let signed_body = if corrupt {
            [body, b" "].concat()
        } else {
            body.to_vec()
        };
        let canonical =
            signing::answer_string(status, timestamp_s, &nonce, request_nonce, &signed_body);
        let signature_base64 = signing::sign(&self.channel_key, &canonical).ok()?;
        Some(SignatureHeaders {
            timestamp_s,
            nonce,
            signature_base64,
        })
    }

    /// A signed refusal. A request refused before its nonce was trusted still gets its nonce
    /// echoed if well formed, so its sender can verify the refusal.
    pub(crate) fn refuse(&self, request_nonce: &str, refusal: &Refusal) -> Response {
        let body = serde_json::json!({"code": refusal.code, "message": refusal.message});
        let status = StatusCode::from_u16(refusal.status).unwrap_or(StatusCode::BAD_REQUEST);
        self.signed(
            status,
            request_nonce,
            body.to_string().into_bytes(),
            "application/json",
            false,
        )
    }

    /// Holds a connection without answering until the hold limit or shutdown; what it then
    /// returns is unsigned and reaches nobody who waited.
    pub(crate) async fn hold(&self) -> Response {
        let mut shutdown = self.shutdown.clone();
        tokio::select! {
            _ = tokio::time::sleep(self.hold) => {}
            _ = shutdown.wait_for(|stopping| *stopping) => {}
        }
        StatusCode::SERVICE_UNAVAILABLE.into_response()
    }

    /// Waits `delay`, or less if the simulator shuts down.
    pub(crate) async fn delay(&self, delay: Duration) {
        let mut shutdown = self.shutdown.clone();
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = shutdown.wait_for(|stopping| *stopping) => {}
        }
    }
}

/// The nonce a refusal should bind: the request's, if well formed, else `-`.
pub(crate) fn claimed_nonce(headers: &HeaderMap) -> &str {
    headers
        .get(signing::NONCE_HEADER)
        .and_then(|value| value.to_str().ok())
        .filter(|nonce| signing::is_nonce(nonce))
        .unwrap_or(signing::NO_REQUEST_NONCE)
}
