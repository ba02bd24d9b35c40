//! The client: configuration, signing, sending, verifying, retrying.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use inspay_crypto::sm2::{Sm2PrivateKey, Sm2PublicKey};
use inspay_protocol::authorization::{APP_ID_CHARS_MAX, SignedHeader, is_token_char};
use inspay_protocol::canonical::CanonicalRequest;
use inspay_protocol::response::ResponseError;
use inspay_protocol::{IDEMPOTENCY_HEADER, SDK_HEADER, SESSION_HEADER};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue};
use reqwest::{Method, Url};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use zeroize::Zeroizing;

use crate::error::{Error, TransportKind, api_error};
use crate::fields::{FieldNonce, SecretJson, has_sensitive, seal_all};
use crate::keys::{KEYS_PATH, ServerKeys, parse_document};
use crate::retry::{Failure, RetryPolicy, plan_retry};
use crate::transport::{ChannelConfig, Outbound, Transport};
use crate::verify::{ResponseEvidence, verify};

/// What the SDK reports in `X-Inspay-Sdk`: `inspay-sdk-rust/<version>`.
pub const SDK_ID: &str = concat!("inspay-sdk-rust/", env!("CARGO_PKG_VERSION"));
/// The path that issues one-time field nonces.
pub const FIELD_NONCE_PATH: &str = "/v1/protocol/field-nonce";
/// Header that carries a step-up proof.
pub const STEP_UP_HEADER: &str = "x-inspay-step-up";

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A fresh request nonce: 24 characters of base64url (18 random bytes).
fn new_nonce() -> Result<String, Error> {
    let bytes: [u8; 18] = inspay_crypto::random::bytes()
        .map_err(|_| Error::Encryption("no randomness for a request nonce"))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// A fresh idempotency key: 32 lower-case hex characters (16 random bytes). Generate one
/// yourself and pass it with [`RequestBuilder::idempotency_key`] when you may need to send the
/// same logical call again later (after a crash, or after the SDK's own retries gave up).
pub fn new_idempotency_key() -> Result<String, Error> {
    let bytes: [u8; 16] = inspay_crypto::random::bytes()
        .map_err(|_| Error::Encryption("no randomness for an idempotency key"))?;
    Ok(hex::encode(bytes))
}

/// The system clock, unix seconds.
fn now_s() -> Result<i64, Error> {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()
        .and_then(|since| i64::try_from(since.as_secs()).ok())
        .ok_or_else(|| Error::Config("the system clock is before 1970".to_string()))
}

fn parse_base(base_url: &str) -> Result<Url, Error> {
    let url = Url::parse(base_url)
        .map_err(|_| Error::Config("the base URL is not a valid URL".to_string()))?;
    if url.scheme() != "https" {
        return Err(Error::Config("the base URL must be https://".to_string()));
    }
    if url.query().is_some()
        || url.fragment().is_some()
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return Err(Error::Config(
            "the base URL must have no credentials, query or fragment".to_string(),
        ));
    }
    Ok(url)
}

/// `base` joined with `path` (which starts with `/` and may hold a query).
fn join(base: &Url, path: &str) -> Result<Url, Error> {
    if !path.starts_with('/') || path.contains('#') {
        return Err(Error::Config(
            "a request path must start with / and have no fragment".to_string(),
        ));
    }
    let text = format!("{}{path}", base.as_str().trim_end_matches('/'));
    Url::parse(&text).map_err(|_| Error::Config("the request path is not valid".to_string()))
}

/// The request target as sent on the request line, which the signature covers.
fn target_of(url: &Url) -> String {
    match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_string(),
    }
}

/// A header value the HTTP stack marks sensitive (never in its logs).
fn secret_header(value: &str, what: &str) -> Result<HeaderValue, Error> {
    let mut header = HeaderValue::from_str(value)
        .map_err(|_| Error::Config(format!("the {what} is not a valid header value")))?;
    header.set_sensitive(true);
    Ok(header)
}

/// Configures a [`Client`]. Start with [`Client::builder`].
pub struct ClientBuilder {
    base_url: String,
    app_id: Option<String>,
    key: Option<(u32, Sm2PrivateKey)>,
    /// TLS roots or TLCP, and the time-outs.
    pub(crate) channel: ChannelConfig,
    server_keys: BTreeMap<u32, Sm2PublicKey>,
    retry: RetryPolicy,
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("base_url", &self.base_url)
            .field("app_id", &self.app_id)
            .field("key_serial", &self.key.as_ref().map(|(serial, _)| *serial))
            .field("channel", &self.channel)
            .field("server_key_serials", &self.server_keys.keys())
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// The application id the operator registered (`inspay apps register`).
    pub fn app_id(mut self, app_id: impl Into<String>) -> Self {
        self.app_id = Some(app_id.into());
        self
    }

    /// The application's SM2 signing key and the serial the server registered its public key
    /// under.
    pub fn key(mut self, serial: u32, key: Sm2PrivateKey) -> Self {
        self.key = Some((serial, key));
        self
    }

    /// Trusts the CA certificate(s) in this PEM for the server's TLS certificate. Required:
    /// the SDK trusts no platform roots, only the CAs you name (for a development server, its
    /// `data/dev-tls/ca.pem`). Repeatable.
    pub fn trust_ca_pem(mut self, pem: &str) -> Result<Self, Error> {
        let certificates: Vec<CertificateDer<'static>> =
            CertificateDer::pem_slice_iter(pem.as_bytes())
                .collect::<Result<_, _>>()
                .map_err(|_| Error::Config("the CA PEM could not be parsed".to_string()))?;
        if certificates.is_empty() {
            return Err(Error::Config("the CA PEM holds no certificate".to_string()));
        }
        let mut check = rustls::RootCertStore::empty();
        for certificate in &certificates {
            check.add(certificate.clone()).map_err(|_| {
                Error::Config("a CA certificate is not usable as a trust anchor".to_string())
            })?;
        }
        self.channel.roots.extend(certificates);
        Ok(self)
    }

    /// Pins one of the server's response-signing public keys under its serial. Repeatable:
    /// pin every serial that may sign (during a rotation, the old and the new). Answers signed
    /// with a serial not pinned here are refused.
    pub fn server_key(mut self, serial: u32, key: Sm2PublicKey) -> Self {
        self.server_keys.insert(serial, key);
        self
    }

    /// Pins a server response-signing key given as an SPKI PEM (as `inspay keys export-public response-signing`
    /// writes it).
    pub fn server_key_pem(self, serial: u32, pem: &str) -> Result<Self, Error> {
        let key = Sm2PublicKey::from_spki_pem(pem).map_err(|_| {
            Error::Config("the server key PEM is not an SM2 public key".to_string())
        })?;
        Ok(self.server_key(serial, key))
    }

    /// Pins every key of a fetched key document (see [`ClientBuilder::fetch_server_keys`]).
    pub fn server_keys(mut self, keys: &ServerKeys) -> Self {
        for key in &keys.keys {
            self.server_keys.insert(key.serial, key.public_key.clone());
        }
        self
    }

    /// The retry policy (default: 3 attempts, 100 ms then 200 ms apart).
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// The time-out of one attempt, from connecting to the last byte of the answer (default
    /// 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.channel.timeout = timeout;
        self
    }

    /// The time-out of connecting, the TLS or TLCP handshake included (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.channel.connect_timeout = timeout;
        self
    }

    /// Fetches the server's response-signing keys from `GET /v1/protocol/keys`, over TLS (or
    /// TLCP) to the trusted CA, checking that each key's fingerprint matches it and that the
    /// document is signed by one of the keys it lists.
    ///
    /// **Trust on first use; pin the keys in production.** This proves only that whoever
    /// answered holds the keys it lists, not that it is your inspay server. Compare the
    /// fingerprints with the ones your operator gives you out of band (or load the PEMs they
    /// export with [`ClientBuilder::server_key_pem`]), and pin them; use this call only for
    /// development and to learn of a new serial during a rotation.
    pub async fn fetch_server_keys(&self) -> Result<ServerKeys, Error> {
        let base = parse_base(&self.base_url)?;
        let transport = Transport::new(&self.channel)?;
        let mut headers = HeaderMap::new();
        headers.insert(SDK_HEADER, HeaderValue::from_static(SDK_ID));
        let (status, headers, body) = transport
            .exchange(Outbound {
                method: Method::GET,
                url: join(&base, KEYS_PATH)?,
                headers,
                body: None,
            })
            .await?;
        if !(200..300).contains(&status) {
            return Err(api_error(status, &body));
        }
        let keys = parse_document(&body)?;
        let listed: BTreeMap<u32, Sm2PublicKey> = keys
            .keys
            .iter()
            .map(|key| (key.serial, key.public_key.clone()))
            .collect();
        verify(&listed, status, &headers, None, &body, now_s()?)?;
        Ok(keys)
    }

    /// Builds the client. Needs the application id, its key, a trusted CA and at least one
    /// pinned server key.
    pub fn build(self) -> Result<Client, Error> {
        let base = parse_base(&self.base_url)?;
        let app_id = self
            .app_id
            .ok_or_else(|| Error::Config("app_id is required".to_string()))?;
        if app_id.is_empty()
            || app_id.len() > APP_ID_CHARS_MAX
            || !app_id.bytes().all(is_token_char)
        {
            return Err(Error::Config(format!(
                "app_id must be 1 to {APP_ID_CHARS_MAX} characters of A-Z a-z 0-9 - _"
            )));
        }
        let (key_serial, key) = self.key.ok_or_else(|| {
            Error::Config("the application's signing key is required".to_string())
        })?;
        if key_serial == 0 {
            return Err(Error::Config("key serials start at 1".to_string()));
        }
        if self.server_keys.is_empty() {
            return Err(Error::Config(
                "pin at least one server response-signing key (server_key, server_key_pem, or server_keys with fetch_server_keys)"
                    .to_string(),
            ));
        }
        if self.retry.max_attempts == 0 {
            return Err(Error::Config(
                "the retry policy needs at least one attempt".to_string(),
            ));
        }
        let transport = Transport::new(&self.channel)?;
        Ok(Client {
            inner: Arc::new(Inner {
                base,
                transport,
                app_id,
                key_serial,
                key,
                server_keys: self.server_keys,
                retry: self.retry,
            }),
        })
    }
}

/// An inspay API client: signs every request with the application's SM2 key, encrypts
/// sensitive fields, verifies every answer against the pinned server keys, and retries only
/// what is safe to retry. Cheap to clone (shared inside).
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    base: Url,
    transport: Transport,
    app_id: String,
    key_serial: u32,
    key: Sm2PrivateKey,
    server_keys: BTreeMap<u32, Sm2PublicKey>,
    retry: RetryPolicy,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.base.as_str())
            .field("app_id", &self.inner.app_id)
            .field("key_serial", &self.inner.key_serial)
            .field("channel", &self.inner.transport.name())
            .field("server_key_serials", &self.inner.server_keys.keys())
            .field("retry", &self.inner.retry)
            .finish_non_exhaustive()
    }
}

/// A failed attempt: the error to return, and what the retry policy sees.
struct Failed {
    error: Error,
    failure: Failure,
}

impl From<Error> for Failed {
    fn from(error: Error) -> Failed {
        let failure = match &error {
            Error::Transport { kind, .. } => match kind {
                TransportKind::Connection => Failure::Connection,
                TransportKind::Timeout => Failure::Timeout,
                TransportKind::Other => Failure::Other,
            },
            Error::Api { status, .. } => Failure::Status(*status),
            _ => Failure::Other,
        };
        Failed { error, failure }
    }
}

/// One signed exchange's request side.
struct Outgoing<'a> {
    method: &'a Method,
    path: &'a str,
    body: Option<&'a [u8]>,
    idempotency_key: Option<&'a str>,
    session: Option<&'a str>,
    step_up: Option<&'a str>,
}

impl Client {
    /// Starts configuring a client for the server at `base_url` (`https://host:port`, with an
    /// optional path prefix).
    pub fn builder(base_url: impl Into<String>) -> ClientBuilder {
        ClientBuilder {
            base_url: base_url.into(),
            app_id: None,
            key: None,
            channel: ChannelConfig {
                roots: Vec::new(),
                #[cfg(feature = "tlcp")]
                tlcp: None,
                timeout: DEFAULT_TIMEOUT,
                connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            },
            server_keys: BTreeMap::new(),
            retry: RetryPolicy::default(),
        }
    }

    /// A request with this method to `path` (`/v1/...`, with any query, percent-encoded).
    pub fn request(&self, method: Method, path: impl Into<String>) -> RequestBuilder {
        RequestBuilder {
            client: self.clone(),
            method,
            path: path.into(),
            body: None,
            idempotency: None,
            session: None,
            step_up: None,
        }
    }

    /// A `GET` request.
    pub fn get(&self, path: impl Into<String>) -> RequestBuilder {
        self.request(Method::GET, path)
    }

    /// A `POST` request.
    pub fn post(&self, path: impl Into<String>) -> RequestBuilder {
        self.request(Method::POST, path)
    }

    /// A `PUT` request.
    pub fn put(&self, path: impl Into<String>) -> RequestBuilder {
        self.request(Method::PUT, path)
    }

    /// A `PATCH` request.
    pub fn patch(&self, path: impl Into<String>) -> RequestBuilder {
        self.request(Method::PATCH, path)
    }

    /// A `DELETE` request.
    pub fn delete(&self, path: impl Into<String>) -> RequestBuilder {
        self.request(Method::DELETE, path)
    }

    /// Fetches the server's response-signing keys with a signed request whose answer is
    /// verified with the keys already pinned: how a running client learns of a new serial
    /// during a rotation (pin it with a new client).
    pub async fn fetch_server_keys(&self) -> Result<ServerKeys, Error> {
        let response = self.get(KEYS_PATH).send().await?;
        parse_document(response.bytes())
    }

    /// Verifies an answer's signature headers against the pinned keys: the signature over the
    /// status, the server's timestamp and nonce, `request_nonce` and the body; the key serial;
    /// and the timestamp within 300 s of `now_s`. [`RequestBuilder::send`] does this on every
    /// answer; this is for checking kept evidence or answers received another way.
    pub fn verify_response(
        &self,
        status: u16,
        headers: &HeaderMap,
        request_nonce: Option<&str>,
        body: &[u8],
        now_s: i64,
    ) -> Result<ResponseEvidence, ResponseError> {
        verify(
            &self.inner.server_keys,
            status,
            headers,
            request_nonce,
            body,
            now_s,
        )
    }

    /// Sends one signed request and verifies its answer.
    async fn exchange(&self, out: Outgoing<'_>) -> Result<Response, Failed> {
        let inner = &self.inner;
        let url = join(&inner.base, out.path)?;
        let nonce = new_nonce()?;
        let canonical = CanonicalRequest::new(
            out.method.as_str(),
            &target_of(&url),
            now_s()?,
            &nonce,
            out.body.unwrap_or_default(),
        )
        .map_err(|error| Error::Config(error.to_string()))?;
        let authorization =
            SignedHeader::sign(&inner.key, &inner.app_id, inner.key_serial, &canonical)
                .map_err(|_| Error::Encryption("the request could not be signed"))?
                .format();
        let mut headers = HeaderMap::new();
        headers.insert(SDK_HEADER, HeaderValue::from_static(SDK_ID));
        headers.insert(
            AUTHORIZATION,
            secret_header(&authorization, "Authorization header")?,
        );
        if out.body.is_some() {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        if let Some(key) = out.idempotency_key {
            let value = HeaderValue::from_str(key).map_err(|_| {
                Error::Config("the idempotency key is not a valid header value".to_string())
            })?;
            headers.insert(IDEMPOTENCY_HEADER, value);
        }
        if let Some(token) = out.session {
            headers.insert(SESSION_HEADER, secret_header(token, "session token")?);
        }
        if let Some(proof) = out.step_up {
            headers.insert(STEP_UP_HEADER, secret_header(proof, "step-up proof")?);
        }
        let (status, headers, body) = inner
            .transport
            .exchange(Outbound {
                method: out.method.clone(),
                url,
                headers,
                body: out.body.map(<[u8]>::to_vec),
            })
            .await?;
        let body = Zeroizing::new(body);
        let evidence = verify(
            &inner.server_keys,
            status,
            &headers,
            Some(&nonce),
            &body,
            now_s()?,
        )
        .map_err(|error| Failed {
            error: Error::ResponseSignature(error),
            failure: Failure::Status(status),
        })?;
        if !(200..300).contains(&status) {
            return Err(api_error(status, &body).into());
        }
        Ok(Response {
            status,
            headers,
            body,
            evidence,
            idempotency_key: out.idempotency_key.map(str::to_string),
        })
    }

    /// Asks the server for a one-time field nonce and its field-encryption key.
    async fn field_nonce(&self) -> Result<FieldNonce, Failed> {
        let response = self
            .exchange(Outgoing {
                method: &Method::POST,
                path: FIELD_NONCE_PATH,
                body: Some(b"{}"),
                idempotency_key: None,
                session: None,
                step_up: None,
            })
            .await?;
        Ok(FieldNonce::parse(response.bytes())?)
    }

    /// One attempt of a request: encrypt (with a fresh field nonce), sign (with a fresh nonce
    /// and timestamp), send, verify.
    async fn attempt(
        &self,
        request: &RequestBuilder,
        idempotency_key: Option<&str>,
    ) -> Result<Response, Failed> {
        let body = match &request.body {
            None => None,
            Some(json) => {
                let mut sealed = json.clone();
                if has_sensitive(&sealed.0) {
                    let nonce = self.field_nonce().await?;
                    seal_all(&mut sealed.0, &nonce)?;
                }
                let bytes = serde_json::to_vec(&sealed.0)
                    .map_err(|_| Error::Config("the body cannot be written as JSON".to_string()))?;
                Some(Zeroizing::new(bytes))
            }
        };
        self.exchange(Outgoing {
            method: &request.method,
            path: &request.path,
            body: body.as_ref().map(|body| body.as_slice()),
            idempotency_key,
            session: request.session.as_ref().map(|token| token.as_str()),
            step_up: request.step_up.as_ref().map(|proof| proof.as_str()),
        })
        .await
    }
}

enum Idempotency {
    Generate,
    Given(String),
}

/// A request being built. Send it with [`RequestBuilder::send`].
pub struct RequestBuilder {
    client: Client,
    method: Method,
    path: String,
    body: Option<SecretJson>,
    idempotency: Option<Idempotency>,
    session: Option<Zeroizing<String>>,
    step_up: Option<Zeroizing<String>>,
}

impl std::fmt::Debug for RequestBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let path = match self.path.split_once('?') {
            Some((path, _)) => format!("{path}?<query>"),
            None => self.path.clone(),
        };
        f.debug_struct("RequestBuilder")
            .field("method", &self.method.as_str())
            .field("path", &path)
            .field("body", &self.body.as_ref().map(|_| "<redacted>"))
            .field("idempotent", &self.idempotency.is_some())
            .field("session", &self.session.as_ref().map(|_| "<redacted>"))
            .field("step_up", &self.step_up.as_ref().map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

impl RequestBuilder {
    /// The JSON body. Sensitive fields in it (card number, CVV, expiry, ID number, mobile,
    /// passwords: [`inspay_protocol::fields::SENSITIVE_FIELDS`]) are encrypted to the server
    /// before the request is signed; they must be strings.
    pub fn json<T: serde::Serialize + ?Sized>(mut self, body: &T) -> Result<Self, Error> {
        let value = serde_json::to_value(body)
            .map_err(|_| Error::Config("the body cannot be written as JSON".to_string()))?;
        self.body = Some(SecretJson(value));
        Ok(self)
    }

    /// Marks the request idempotent with a fresh idempotency key, sent as `Idempotency-Key`:
    /// required for fund transactions, and what lets the SDK retry a request that changes
    /// something. Every retry of this call sends the same key.
    pub fn idempotent(mut self) -> Self {
        self.idempotency = Some(Idempotency::Generate);
        self
    }

    /// Uses your own idempotency key (16 to 64 characters of `A-Z a-z 0-9 - _`; see
    /// [`new_idempotency_key`]): send the same key again to repeat a call safely.
    pub fn idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.idempotency = Some(Idempotency::Given(key.into()));
        self
    }

    /// The session token from sign-in, sent as `X-Inspay-Session`.
    pub fn session(mut self, token: &str) -> Self {
        self.session = Some(Zeroizing::new(token.to_string()));
        self
    }

    /// A step-up proof from `POST /v1/step-up/verify`, sent as `X-Inspay-Step-Up`. A proof is
    /// single use.
    pub fn step_up(mut self, proof: &str) -> Self {
        self.step_up = Some(Zeroizing::new(proof.to_string()));
        self
    }

    /// Sends the request: encrypts sensitive fields, signs, sends, verifies the answer, and
    /// retries by the client's [`RetryPolicy`] (only `GET`s and idempotent requests, only on
    /// connection failures, time-outs and `502`/`503`/`504`). A `2xx` answer comes back as a
    /// [`Response`]; any other verified answer as [`Error::Api`].
    pub async fn send(self) -> Result<Response, Error> {
        if self.method == Method::GET && self.body.is_some() {
            return Err(Error::Config("a GET request has no body".to_string()));
        }
        let idempotency_key = match &self.idempotency {
            None => None,
            Some(Idempotency::Generate) => Some(new_idempotency_key()?),
            Some(Idempotency::Given(key)) => {
                if !(16..=64).contains(&key.len()) || !key.bytes().all(is_token_char) {
                    return Err(Error::Config(
                        "an idempotency key must be 16 to 64 characters of A-Z a-z 0-9 - _"
                            .to_string(),
                    ));
                }
                Some(key.clone())
            }
        };
        let replayable = self.method == Method::GET || idempotency_key.is_some();
        let policy = self.client.inner.retry;
        let mut attempt = 1;
        loop {
            match self.client.attempt(&self, idempotency_key.as_deref()).await {
                Ok(response) => return Ok(response),
                Err(failed) => match plan_retry(&policy, attempt, replayable, failed.failure) {
                    Some(delay) => {
                        tokio::time::sleep(delay).await;
                        attempt += 1;
                    }
                    None => return Err(failed.error),
                },
            }
        }
    }
}

/// A verified `2xx` answer.
pub struct Response {
    status: u16,
    headers: HeaderMap,
    body: Zeroizing<Vec<u8>>,
    evidence: ResponseEvidence,
    idempotency_key: Option<String>,
}

impl std::fmt::Debug for Response {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("body_len", &self.body.len())
            .field("evidence", &self.evidence)
            .finish_non_exhaustive()
    }
}

impl Response {
    /// The HTTP status.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The answer's headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// One header's value, if present and text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    /// The verified body bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.body
    }

    /// The verified body as JSON.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, Error> {
        serde_json::from_slice(&self.body).map_err(|error| Error::decode(&error))
    }

    /// The signature evidence: keep it with the business record.
    pub fn evidence(&self) -> &ResponseEvidence {
        &self.evidence
    }

    /// The nonce of the (last) request this answers.
    pub fn request_nonce(&self) -> Option<&str> {
        self.evidence.request_nonce.as_deref()
    }

    /// The idempotency key the request carried.
    pub fn idempotency_key(&self) -> Option<&str> {
        self.idempotency_key.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// req: 5.6.2-e
    #[test]
    fn nonces_are_fresh_well_formed_and_keys_look_like_uuids() {
        let a = new_nonce().expect("nonce");
        let b = new_nonce().expect("nonce");
        assert_eq!(a.len(), 24);
        assert!(a.bytes().all(is_token_char));
        assert_ne!(a, b);
        let key = new_idempotency_key().expect("key");
        assert_eq!(key.len(), 32);
        assert!(key.bytes().all(|b| b.is_ascii_hexdigit()));
        let now = now_s().expect("clock");
        assert!(now > 1_700_000_000);
    }

    #[test]
    fn targets_keep_the_prefix_and_query_as_sent() {
        let base = parse_base("https://localhost:8443/api/").expect("base");
        let url = join(&base, "/v1/x?a=1&b=%20").expect("join");
        assert_eq!(target_of(&url), "/api/v1/x?a=1&b=%20");
        let root = parse_base("https://localhost:8443").expect("base");
        assert_eq!(
            target_of(&join(&root, "/v1/validate").expect("join")),
            "/v1/validate"
        );
        assert!(join(&root, "v1").is_err());
        assert!(parse_base("http://localhost:8443").is_err());
        assert!(parse_base("https://user:pw@localhost").is_err());
    }
}
