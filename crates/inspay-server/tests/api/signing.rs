//! A test HTTP client that signs every request as a registered application would (the
//! `INSPAY-SM2-SM3` Authorization header over the canonical request), with the server's own
//! clock so tests that move that clock stay inside the timestamp window. It has the
//! `reqwest` builder methods the tests use, so `app.client.post(url).json(..).send()` reads as
//! before. A request that sets its own `Authorization` header (`basic_auth`) or comes from a
//! client made with [`SigningClient::unsigned`] goes out unsigned.
//!
//! Like the SDK, it encrypts the sensitive fields of a JSON body (card, ID and mobile numbers,
//! passwords...) to the server's field-transport key with a one-time field nonce before it
//! signs; the nonce is issued through the store directly, to keep the tests quick.

#![allow(dead_code)]

use base64::Engine;
use inspay_crypto::sm2::Sm2PrivateKey;
use inspay_protocol::authorization::SignedHeader;
use inspay_protocol::canonical::CanonicalRequest;
use inspay_protocol::{SDK_HEADER, SESSION_HEADER};
use inspay_server::state::AppState;
use std::sync::Arc;

/// The application the test harness registers on every test server.
pub const TEST_APP_ID: &str = "test-app";
/// The SDK the test client reports.
pub const TEST_SDK: &str = "inspay-test/1.0.0";

/// Who signs: an application id, its key serial and private key, and the server whose clock
/// the timestamps follow.
pub struct Signer {
    pub app_id: String,
    pub serial: u32,
    pub key: Sm2PrivateKey,
    pub state: AppState,
}

/// A fresh nonce: 24 URL-safe characters.
pub fn nonce() -> String {
    let bytes: [u8; 18] = inspay_crypto::random::bytes().expect("random");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Replaces every sensitive string field of a JSON object with an envelope.
fn seal_all(value: &mut serde_json::Value, seal: &dyn Fn(&str, &str) -> String) {
    match value {
        serde_json::Value::Object(map) => {
            for (name, inner) in map.iter_mut() {
                match inner {
                    serde_json::Value::String(text)
                        if inspay_protocol::fields::is_sensitive(name)
                            && !inspay_protocol::fields::is_envelope(text) =>
                    {
                        *text = seal(name, text);
                    }
                    serde_json::Value::Array(items)
                        if inspay_protocol::fields::is_sensitive(name) =>
                    {
                        for item in items {
                            if let serde_json::Value::String(text) = item {
                                *text = seal(name, text);
                            } else {
                                seal_all(item, seal);
                            }
                        }
                    }
                    _ => seal_all(inner, seal),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(|item| seal_all(item, seal)),
        _ => {}
    }
}

fn has_sensitive(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::Object(map) => map.iter().any(|(name, inner)| {
            (inspay_protocol::fields::is_sensitive(name)
                && (inner.is_string()
                    || inner
                        .as_array()
                        .is_some_and(|items| items.iter().any(serde_json::Value::is_string))))
                || has_sensitive(inner)
        }),
        serde_json::Value::Array(items) => items.iter().any(has_sensitive),
        _ => false,
    }
}

impl Signer {
    /// The body with its sensitive fields encrypted, if it is a JSON object holding any.
    pub async fn encrypt_fields(&self, body: &[u8]) -> Option<Vec<u8>> {
        let mut value: serde_json::Value = serde_json::from_slice(body).ok()?;
        if !value.is_object() || !has_sensitive(&value) {
            return None;
        }
        let (nonce, _) = self
            .state
            .store
            .field_nonce_issue(&self.app_id, self.state.now_ms())
            .await
            .expect("field nonce");
        let keyring = self.state.keyring();
        let (serial, key) = keyring.transport_public_key().expect("transport key");
        seal_all(&mut value, &|field, text| {
            // A value too long to seal goes in clear, for the server to refuse.
            inspay_protocol::fields::seal(key, serial, &nonce, field, text)
                .unwrap_or_else(|_| text.to_string())
        });
        Some(serde_json::to_vec(&value).expect("json"))
    }

    /// The Authorization header value for a request.
    pub fn header(&self, method: &str, target: &str, body: &[u8]) -> String {
        let now_s = self.state.now_ms().div_euclid(1000);
        self.header_at(method, target, body, now_s, &nonce())
    }

    /// The Authorization header value with a given time and nonce.
    pub fn header_at(
        &self,
        method: &str,
        target: &str,
        body: &[u8],
        timestamp_s: i64,
        nonce: &str,
    ) -> String {
        let canonical =
            CanonicalRequest::new(method, target, timestamp_s, nonce, body).expect("canonical");
        SignedHeader::sign(&self.key, &self.app_id, self.serial, &canonical)
            .expect("sign")
            .format()
    }
}

/// A client that signs.
#[derive(Clone)]
pub struct SigningClient {
    pub inner: reqwest::Client,
    pub signer: Option<Arc<Signer>>,
}

impl SigningClient {
    /// The same client without signing.
    pub fn unsigned(&self) -> SigningClient {
        SigningClient {
            inner: self.inner.clone(),
            signer: None,
        }
    }

    /// A request.
    pub fn request(&self, method: reqwest::Method, url: impl reqwest::IntoUrl) -> Builder {
        Builder {
            inner: self.inner.request(method, url),
            client: self.inner.clone(),
            signer: self.signer.clone(),
            session: None,
        }
    }

    pub fn get(&self, url: impl reqwest::IntoUrl) -> Builder {
        self.request(reqwest::Method::GET, url)
    }

    pub fn post(&self, url: impl reqwest::IntoUrl) -> Builder {
        self.request(reqwest::Method::POST, url)
    }

    pub fn put(&self, url: impl reqwest::IntoUrl) -> Builder {
        self.request(reqwest::Method::PUT, url)
    }

    pub fn delete(&self, url: impl reqwest::IntoUrl) -> Builder {
        self.request(reqwest::Method::DELETE, url)
    }
}

/// A request being built.
pub struct Builder {
    inner: reqwest::RequestBuilder,
    client: reqwest::Client,
    signer: Option<Arc<Signer>>,
    session: Option<String>,
}

impl Builder {
    pub fn header(mut self, key: impl AsRef<str>, value: impl AsRef<str>) -> Builder {
        let name =
            reqwest::header::HeaderName::from_bytes(key.as_ref().as_bytes()).expect("header name");
        let value = reqwest::header::HeaderValue::from_str(value.as_ref()).expect("header value");
        self.inner = self.inner.header(name, value);
        self
    }

    pub fn json<T: serde::Serialize + ?Sized>(mut self, json: &T) -> Builder {
        self.inner = self.inner.json(json);
        self
    }

    pub fn body<T: Into<reqwest::Body>>(mut self, body: T) -> Builder {
        self.inner = self.inner.body(body);
        self
    }

    /// Basic authentication: the request then goes out unsigned.
    pub fn basic_auth(mut self, user: &str, password: Option<&str>) -> Builder {
        self.inner = self.inner.basic_auth(user, password);
        self.signer = None;
        self
    }

    /// The session token: in `X-Inspay-Session` when signing, else as a bearer token.
    pub fn bearer_auth(mut self, token: &str) -> Builder {
        self.session = Some(token.to_string());
        self
    }

    /// Builds, signs and sends.
    pub async fn send(self) -> reqwest::Result<reqwest::Response> {
        let mut request = self.inner.build()?;
        let headers = request.headers_mut();
        if let Some(token) = &self.session {
            if self.signer.is_some() {
                headers.insert(SESSION_HEADER, token.parse().expect("token header"));
            } else {
                headers.insert(
                    reqwest::header::AUTHORIZATION,
                    format!("Bearer {token}").parse().expect("token header"),
                );
            }
        }
        if let Some(signer) = &self.signer
            && !request
                .headers()
                .contains_key(reqwest::header::AUTHORIZATION)
        {
            let url = request.url();
            let target = match url.query() {
                Some(query) => format!("{}?{query}", url.path()),
                None => url.path().to_string(),
            };
            let mut body = request
                .body()
                .and_then(reqwest::Body::as_bytes)
                .unwrap_or_default()
                .to_vec();
            if let Some(sealed) = signer.encrypt_fields(&body).await {
                body = sealed.clone();
                *request.body_mut() = Some(reqwest::Body::from(sealed));
                request
                    .headers_mut()
                    .remove(reqwest::header::CONTENT_LENGTH);
            }
            let value = signer.header(request.method().as_str(), &target, &body);
            let headers = request.headers_mut();
            headers.insert(
                reqwest::header::AUTHORIZATION,
                value.parse().expect("authorization header"),
            );
            if !headers.contains_key(SDK_HEADER) {
                headers.insert(SDK_HEADER, TEST_SDK.parse().expect("sdk header"));
            }
        }
        self.client.execute(request).await
    }
}
