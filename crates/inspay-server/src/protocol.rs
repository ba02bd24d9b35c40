//! The signed protocol at the edge (clauses 5.4.2.1, 5.6.2-c, 5.6.2-d1, 5.6.2-e, 4-a, 6.4.5).
//!
//! [`verify_request`] runs on every route before the session check: it reads the
//! `Authorization: INSPAY-SM2-SM3 ...` header, rebuilds the canonical request from the method,
//! target and body bytes actually received, finds the registered application and the key the
//! serial names, and refuses, each with its own stable code: a missing header, a malformed
//! one, an unknown application, a suspended or revoked one, an unknown serial, a revoked key,
//! a signature that does not verify (a body changed by one byte lands here), a timestamp
//! outside the window, a nonce already used (checked in the shared database, so two nodes
//! never both accept one request), a route above the application's class, a missing or wrong
//! client certificate, and an SDK older than the application's minimum.
//!
//! Every answer is then signed ([`sign_response`]) over its status, the server's timestamp and
//! nonce, the request's nonce and the body. Fund-transaction requests, and every other signed
//! request that changes something (any method but GET), are kept with the request's signature
//! and the signed answer as evidence ([`inspay_store::request_evidence`]).
//! [`sign_unsigned`] signs what never reached a route (unknown paths, edge refusals).
//!
//! Sensitive fields the client encrypted are opened after the signature is verified
//! ([`fields`]). A request with an `Idempotency-Key` (required on fund-transaction routes)
//! claims it before it runs; a retry with the same key and request gets the first answer,
//! with a different request a conflict.
//!
//! Routes exempt from request signing ([`unsigned_allowed`]): the health probes, which load
//! balancers call, the protocol's own public-key document, which a client needs before it
//! can verify anything, and the OpenAPI description. Their answers are still signed.

use crate::auth::spec_for;
use crate::defence::{self, ClientAddr, Seen};
use crate::error::{ApiError, ErrorCode};
use crate::routes::OperationClass;
use crate::startup::ClientCertificate;
use crate::state::AppState;
use axum::body::{Body, Bytes};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use inspay_kms::KeyPurpose;
use inspay_protocol::SDK_HEADER;
use inspay_protocol::authorization::{SCHEME, SignedHeader};
use inspay_protocol::canonical::CanonicalRequest;
use inspay_protocol::response::{
    CanonicalResponse, NONCE_HEADER, SERIAL_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER,
};
use inspay_store::client_apps::{AppClass, AppStatus, parse_version};
use inspay_store::idempotency::{Claim, StoredAnswer};
use inspay_store::protocol_writes::Admission;
use inspay_store::request_evidence::Evidence;
use inspay_store::request_nonces::NonceCheck;
use serde::{Deserialize, Serialize};

pub mod fields;

pub use fields::FieldEncryptionMode;

/// Whether unsigned requests are accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SignatureMode {
    /// Every request to a non-exempt route must be signed (the default; production requires it).
    Required,
    /// Unsigned requests are served as before (development only); signed ones are verified.
    Optional,
}

/// Protocol settings (`[protocol]`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProtocolSettings {
    /// `required` (default) or `optional` (development profile only).
    pub signatures: SignatureMode,
    /// How far a request's timestamp may be from the server's clock, seconds (clause 5.6.2-e:
    /// at most 300).
    pub window_s: i64,
    /// Longest SDK report kept, as `name/major.minor.patch`.
    pub sdk_chars_max: usize,
    /// `required` (default): sensitive fields must arrive encrypted to the server's
    /// field-transport key; `optional` (development profile only) accepts them in clear.
    pub field_encryption: FieldEncryptionMode,
    /// How long a node keeps an application and key it read, ms (0: read on every request).
    /// A suspension, revocation or key revocation takes effect on every node within this time.
    pub app_cache_ms: i64,
}

/// The longest `app_cache_ms` allowed.
pub const APP_CACHE_MS_MAX: i64 = 5_000;

/// Applications and keys read for requests, kept for [`ProtocolSettings::app_cache_ms`] so a
/// busy application costs one read a second per node, not one per request.
#[derive(Debug, Default)]
pub struct AppCache {
    entries: std::sync::Mutex<std::collections::HashMap<(String, u32), CachedApp>>,
}

/// When an application and key were read, and what was found.
type CachedApp = (i64, Option<inspay_store::client_apps::AppKeyLookup>);

/// Most entries kept; past it the cache starts afresh.
const APP_CACHE_ENTRIES_MAX: usize = 10_000;

impl AppCache {
    /// The application and key, from the cache if fresh, else from the store.
    pub async fn lookup(
        &self,
        state: &AppState,
        app_id: &str,
        serial: u32,
        now_ms: i64,
    ) -> Result<Option<inspay_store::client_apps::AppKeyLookup>, inspay_store::StoreError> {
        let ttl = state.settings.protocol.app_cache_ms;
        let key = (app_id.to_string(), serial);
        if ttl > 0 {
            let entries = match self.entries.lock() {
                Ok(guard) => guard,
                Err(poisoned) => poisoned.into_inner(),
            };
            if let Some((fetched, found)) = entries.get(&key)
                && now_ms - fetched < ttl
                && now_ms >= *fetched
            {
                return Ok(found.clone());
            }
        }
        let found = state.store.client_app_key(app_id, serial).await?;
        if ttl > 0 {
            let mut entries = match self.entries.lock() {
                Ok(guard) => guard,
                Err(poisoned) => poisoned.into_inner(),
            };
            if entries.len() >= APP_CACHE_ENTRIES_MAX {
                entries.clear();
            }
            entries.insert(key, (now_ms, found.clone()));
        }
        Ok(found)
    }
}

impl Default for ProtocolSettings {
    fn default() -> Self {
        ProtocolSettings {
            signatures: SignatureMode::Required,
            window_s: inspay_protocol::WINDOW_S,
            sdk_chars_max: inspay_store::client_apps::SDK_CHARS_MAX,
            field_encryption: FieldEncryptionMode::Required,
            app_cache_ms: 1_000,
        }
    }
}

/// The application that signed the request, for handlers.
#[derive(Debug, Clone)]
pub struct SignedBy {
    /// Application id.
    pub app_id: String,
    /// Its class.
    pub class: AppClass,
    /// The key serial that signed.
    pub serial: u32,
}

/// Marks a response whose signature headers are already set.
#[derive(Debug, Clone, Copy)]
struct Signed;

/// Marks a web page or asset for a browser ([`crate::web`]): browsers do not check response
/// signatures, so the SM2 signature is not spent on them.
#[derive(Debug, Clone, Copy)]
pub struct BrowserPage;

/// Where the OpenAPI description is published.
pub const OPENAPI_PATH: &str = "/v1/openapi.json";

/// Whether a route may be called without a request signature (its answer is still signed).
pub fn unsigned_allowed(path: &str) -> bool {
    path.starts_with("/health/")
        || path == crate::routes::protocol_keys::PATH
        || path == OPENAPI_PATH
}

fn app_class(class: OperationClass) -> AppClass {
    match class {
        OperationClass::InformationQuery => AppClass::InformationQuery,
        OperationClass::InformationCollection => AppClass::InformationCollection,
        OperationClass::FundTransaction => AppClass::FundTransaction,
    }
}

/// An SDK report and the version in it, if it has one.
type SdkReport = (String, Option<(u32, u32, u32)>);

/// The SDK report, if it has the documented shape `name/major.minor.patch`.
fn sdk_report(request: &Request, max: usize) -> Option<SdkReport> {
    let text = request.headers().get(SDK_HEADER)?.to_str().ok()?;
    let ok = !text.is_empty()
        && text.len() <= max
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/'));
    if !ok {
        return None;
    }
    let version = text.rsplit_once('/').and_then(|(_, v)| parse_version(v));
    Some((text.to_string(), version))
}

/// What the verification learnt, for signing and evidence after the handler.
struct Verified {
    header: SignedHeader,
    canonical: CanonicalRequest,
    sdk: Option<String>,
    keep_evidence: bool,
    /// The idempotency key this request holds, if it claimed one.
    idempotency_key: Option<String>,
}

/// What the verification decided.
enum Outcome {
    /// Run the route with this request.
    Proceed(Request, Option<Verified>),
    /// An earlier request with the same idempotency key was answered: answer the same.
    Replay(StoredAnswer, Verified),
}

/// Characters and length of an idempotency key: 16 to 64 of `A-Z a-z 0-9 - _`.
fn valid_idempotency_key(key: &str) -> bool {
    (16..=64).contains(&key.len())
        && key
            .bytes()
            .all(inspay_protocol::authorization::is_token_char)
}

/// Verifies a request's signature (see the module documentation), runs the route, and signs
/// the answer.
pub async fn verify_request(
    State(state): State<AppState>,
    matched: Option<MatchedPath>,
    request: Request,
    next: Next,
) -> Response {
    let path = matched.as_ref().map_or("", MatchedPath::as_str).to_string();
    let received_at_ms = state.now_ms();
    // The body is read before anything is decided, so a refusal never leaves it unread on an
    // HTTP/1.1 connection the client means to use again.
    let version = request.version();
    let (parts, body) = request.into_parts();
    let body = match axum::body::to_bytes(body, state.settings.limits.body_bytes_max).await {
        Ok(body) => body,
        Err(_) => {
            let mut refused = ApiError::new(ErrorCode::BodyTooLarge).into_response();
            crate::edge::close_after(version, &mut refused);
            return sign_response(&state, None, refused).await.0;
        }
    };
    let request = Request::from_parts(parts, Body::from(body));
    let (request, verified) = match verify(&state, &path, request, received_at_ms).await {
        Ok(Outcome::Proceed(request, verified)) => (request, verified),
        Ok(Outcome::Replay(answer, verified)) => {
            let mut response = Response::new(Body::from(answer.body));
            *response.status_mut() = axum::http::StatusCode::from_u16(answer.status)
                .unwrap_or(axum::http::StatusCode::OK);
            if let Some(value) = answer
                .content_type
                .as_deref()
                .and_then(|value| HeaderValue::from_str(value).ok())
            {
                response.headers_mut().insert(header::CONTENT_TYPE, value);
            }
            response
                .headers_mut()
                .insert("idempotent-replayed", HeaderValue::from_static("true"));
            return sign_response(&state, Some(verified.canonical.nonce()), response)
                .await
                .0;
        }
        Err(error) => return sign_response(&state, None, error.into_response()).await.0,
    };
    let response = next.run(request).await;
    let Some(verified) = verified else {
        return sign_response(&state, None, response).await.0;
    };
    let (response, answer) = match &verified.idempotency_key {
        Some(key) => remember(&state, &verified.header.app_id, key, response).await,
        None => (response, None),
    };
    let (response, parts) = sign_response(&state, Some(verified.canonical.nonce()), response).await;
    let evidence = match parts {
        Some(parts) if verified.keep_evidence => Some(Evidence {
            id: uuid::Uuid::now_v7().to_string(),
            app_id: verified.header.app_id.clone(),
            serial: verified.header.serial,
            account_id: response
                .extensions()
                .get::<crate::auth::CallerAccount>()
                .map(|caller| caller.0.clone()),
            method: verified.canonical.method().to_string(),
            target: verified.canonical.target().to_string(),
            timestamp_s: verified.header.timestamp_s,
            nonce: verified.header.nonce.clone(),
            body_sm3: verified.canonical.body_sm3_hex().to_string(),
            signature: base64::engine::general_purpose::STANDARD
                .encode(&verified.header.signature_der),
            sdk: verified.sdk.clone(),
            response_status: response.status().as_u16(),
            response_timestamp_s: parts.timestamp_s,
            response_nonce: parts.nonce,
            response_body_sm3: parts.body_sm3,
            response_serial: parts.serial,
            response_signature: parts.signature,
            received_at_ms,
        }),
        _ => None,
    };
    let idempotent = match (&verified.idempotency_key, answer) {
        (Some(key), Some(answer)) => Some((verified.header.app_id.clone(), key.clone(), answer)),
        _ => None,
    };
    if (evidence.is_some() || idempotent.is_some())
        && let Err(error) = state.writes().complete((evidence, idempotent)).await
    {
        // The operation already happened; the answer goes out, and the gap is loud. An
        // idempotency key left in progress makes a retry wait rather than run twice.
        tracing::error!(
            error = %error,
            app_id = %verified.header.app_id,
            "request evidence or the idempotent answer was not kept"
        );
    }
    response
}

/// Reads the answer for the idempotency key, to keep with the evidence; after a server failure
/// gives the key back instead, so a retry runs.
async fn remember(
    state: &AppState,
    app_id: &str,
    key: &str,
    response: Response,
) -> (Response, Option<StoredAnswer>) {
    let (parts, body) = response.into_parts();
    let body = match axum::body::to_bytes(body, RESPONSE_BYTES_MAX).await {
        Ok(body) => body,
        Err(error) => {
            let _ = state.store.idempotency_release(app_id, key).await;
            let refused = ApiError::new(ErrorCode::Internal)
                .cause(format!("response body unreadable: {error}"))
                .into_response();
            return (refused, None);
        }
    };
    if parts.status.is_server_error() {
        if let Err(error) = state.store.idempotency_release(app_id, key).await {
            tracing::error!(error = %error, app_id, "the idempotency key was not released");
        }
        return (Response::from_parts(parts, Body::from(body)), None);
    }
    let answer = StoredAnswer {
        status: parts.status.as_u16(),
        content_type: parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .map(str::to_string),
        body: body.to_vec(),
    };
    (Response::from_parts(parts, Body::from(body)), Some(answer))
}

/// Refuses a query string: no route takes query parameters, and unknown input is refused
/// rather than ignored (clause 5.4.2.2).
fn refuse_query(uri: &axum::http::Uri) -> Result<(), ApiError> {
    match uri.query() {
        Some(query) if !query.is_empty() => Err(ApiError::new(ErrorCode::MalformedRequest)
            .detail("this operation takes no query parameters")),
        _ => Ok(()),
    }
}

/// A security event seen while verifying a request.
fn seen<'s>(
    client: Option<std::net::IpAddr>,
    route: &'s str,
    kind: &'static str,
    app_id: Option<&'s str>,
    detail: &'static str,
) -> Seen<'s> {
    Seen {
        kind,
        app_id,
        account_id: None,
        client,
        route: Some(route),
        detail,
    }
}

async fn verify(
    state: &AppState,
    path: &str,
    request: Request,
    now_ms: i64,
) -> Result<Outcome, ApiError> {
    let settings = &state.settings.protocol;
    let authorization = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .filter(|value| value.starts_with(SCHEME))
        .map(str::to_string);
    let Some(authorization) = authorization else {
        if unsigned_allowed(path) || settings.signatures == SignatureMode::Optional {
            refuse_query(request.uri())?;
            return Ok(Outcome::Proceed(request, None));
        }
        return Err(ApiError::new(ErrorCode::SignatureMissing).detail(
            "see docs/integrator-guide.md section 10.2, \"Signing a request\"; the SDK does it for you",
        ));
    };
    let header = SignedHeader::parse(&authorization).map_err(|error| {
        ApiError::new(ErrorCode::SignatureHeaderMalformed).detail(error.to_string())
    })?;
    let now_s = now_ms.div_euclid(1000);
    if (now_s - header.timestamp_s).abs() > settings.window_s {
        return Err(
            ApiError::new(ErrorCode::TimestampOutsideWindow).detail(format!(
                "the server's time is {now_s} (unix seconds); the window is ±{} s",
                settings.window_s
            )),
        );
    }
    let sdk = sdk_report(&request, settings.sdk_chars_max);
    let (parts, body) = request.into_parts();
    let target = parts.uri.path_and_query().map_or_else(
        || parts.uri.path().to_string(),
        |pq| pq.as_str().to_string(),
    );
    let body = axum::body::to_bytes(body, state.settings.limits.body_bytes_max)
        .await
        .map_err(|_| ApiError::new(ErrorCode::BodyTooLarge))?;
    let canonical = CanonicalRequest::new(
        parts.method.as_str(),
        &target,
        header.timestamp_s,
        &header.nonce,
        &body,
    )
    .map_err(|error| {
        ApiError::new(ErrorCode::SignatureHeaderMalformed).detail(error.to_string())
    })?;
    let client = parts.extensions.get::<ClientAddr>().map(|addr| addr.0);
    let Some(lookup) = state
        .app_cache()
        .lookup(state, &header.app_id, header.serial, now_ms)
        .await?
    else {
        defence::record(
            state,
            seen(
                client,
                path,
                "unknown-application",
                None,
                "a request named an application that is not registered",
            ),
        )
        .await;
        return Err(ApiError::new(ErrorCode::UnknownApplication));
    };
    let app = lookup.app;
    if app.status != AppStatus::Active {
        return Err(
            ApiError::new(ErrorCode::ApplicationNotActive).cause(format!(
                "application {} is {}",
                app.id,
                app.status.name()
            )),
        );
    }
    let key = lookup
        .key
        .ok_or_else(|| ApiError::new(ErrorCode::UnknownKeySerial))?;
    if key.revoked_at_ms.is_some() {
        return Err(ApiError::new(ErrorCode::KeyRevoked));
    }
    if !header.verifies(&key.public_key, &canonical) {
        defence::record(
            state,
            seen(
                client,
                path,
                "signature-invalid",
                Some(&app.id),
                "a request signature did not verify",
            ),
        )
        .await;
        return Err(ApiError::new(ErrorCode::SignatureInvalid));
    }
    refuse_query(&parts.uri)?;
    if let Err(refusal) = defence::limit(
        state,
        "app",
        &app.id,
        state.settings.protection.app_per_minute,
    )
    .await
    {
        defence::record(
            state,
            seen(
                client,
                path,
                "rate-limited",
                Some(&app.id),
                "the per-application request limit was reached",
            ),
        )
        .await;
        return Err(refusal);
    }
    if defence::injection_shaped(&String::from_utf8_lossy(&body)) {
        defence::record(
            state,
            seen(
                client,
                path,
                "injection-shaped-input",
                Some(&app.id),
                "a signed request body looks like an injection attempt",
            ),
        )
        .await;
    }
    let route_class = spec_for(&parts.method, path).map(|spec| app_class(spec.class));
    if let Some(route_class) = route_class
        && route_class > app.class
    {
        return Err(ApiError::new(ErrorCode::ClassNotAllowed).detail(format!(
            "this operation is {}; the application is registered for {}",
            route_class.name(),
            app.class.name()
        )));
    }
    if let Some(expected) = &app.tls_fingerprint {
        let presented = parts
            .extensions
            .get::<ClientCertificate>()
            .map(|certificate| certificate.fingerprint_sm3.as_str());
        if presented != Some(expected.as_str()) {
            return Err(ApiError::new(ErrorCode::ClientCertificateRequired));
        }
    }
    if let Some(minimum) = app.sdk_version_min.as_deref().and_then(parse_version) {
        let reported = sdk.as_ref().and_then(|(_, version)| *version);
        if reported.is_none_or(|version| version < minimum) {
            let (major, minor, patch) = minimum;
            return Err(ApiError::new(ErrorCode::UpdateRequired).detail(format!(
                "the oldest supported SDK version is {major}.{minor}.{patch}; send it as {SDK_HEADER}: name/version"
            )));
        }
    }
    let fund = route_class == Some(AppClass::FundTransaction);
    // Evidence of every fund-transaction request and of every other request that changes
    // something (anything but GET).
    let keep_evidence = fund || parts.method != axum::http::Method::GET;
    let idempotency_key =
        match parts.headers.get(inspay_protocol::IDEMPOTENCY_HEADER) {
            None if fund => {
                return Err(ApiError::new(ErrorCode::IdempotencyKeyRequired).detail(format!(
                "send a fresh {} header (16 to 64 of A-Z a-z 0-9 - _) and reuse it on retries",
                inspay_protocol::IDEMPOTENCY_HEADER
            )));
            }
            None => None,
            Some(value) => {
                let key = value
                    .to_str()
                    .ok()
                    .filter(|key| valid_idempotency_key(key))
                    .ok_or_else(|| {
                        ApiError::new(ErrorCode::MalformedRequest)
                            .detail("the Idempotency-Key must be 16 to 64 of A-Z a-z 0-9 - _")
                    })?;
                Some(key.to_string())
            }
        };
    // Encrypted fields are opened in memory first; their field nonce is consumed with the
    // request's own nonce and idempotency claim, in one commit, before the route runs.
    let (body, field_nonce) = fields::open_fields(state, body)?;
    let claim = idempotency_key
        .as_ref()
        .map(|key| inspay_store::idempotency::ClaimJob {
            app_id: app.id.clone(),
            key: key.clone(),
            method: parts.method.as_str().to_string(),
            target: canonical.target().to_string(),
            body: zeroize::Zeroizing::new(body.to_vec()),
            now_ms,
        });
    let admitted = state
        .writes()
        .admit(Admission {
            nonce: (
                app.id.clone(),
                header.nonce.clone(),
                header.timestamp_s,
                settings.window_s,
                now_ms,
            ),
            field_nonce,
            claim,
        })
        .await?;
    match admitted.nonce {
        NonceCheck::Accepted => {}
        NonceCheck::OutsideWindow => return Err(ApiError::new(ErrorCode::TimestampOutsideWindow)),
        NonceCheck::Replayed => {
            defence::record(
                state,
                seen(
                    client,
                    path,
                    "nonce-replayed",
                    Some(&app.id),
                    "a signed request was sent again",
                ),
            )
            .await;
            return Err(ApiError::new(ErrorCode::NonceReplayed));
        }
    }
    let sdk_text = sdk.map(|(text, _)| text);
    if let Err(error) = state
        .store
        .client_app_seen(&app, sdk_text.as_deref(), now_ms)
        .await
    {
        tracing::warn!(error = %error, "could not record the application's SDK report");
    }
    if let Some(Err(refusal)) = admitted.field_nonce {
        return Err(fields::field_nonce_refused(refusal));
    }
    let verified = Verified {
        header,
        canonical,
        sdk: sdk_text,
        keep_evidence,
        idempotency_key,
    };
    match admitted.claim {
        None | Some(Claim::Claimed) => {}
        Some(Claim::Replay(answer)) => return Ok(Outcome::Replay(answer, verified)),
        Some(Claim::Mismatch) => return Err(ApiError::new(ErrorCode::IdempotencyKeyMismatch)),
        Some(Claim::InProgress) => {
            return Err(ApiError::new(ErrorCode::IdempotencyInProgress).retry_after(1));
        }
    }
    let mut request = Request::from_parts(parts, Body::from(body));
    request.extensions_mut().insert(SignedBy {
        app_id: app.id.clone(),
        class: app.class,
        serial: verified.header.serial,
    });
    Ok(Outcome::Proceed(request, Some(verified)))
}

/// The signature values of a signed response, for evidence.
pub struct ResponseParts {
    /// Server timestamp.
    pub timestamp_s: i64,
    /// Server nonce.
    pub nonce: String,
    /// SM3 of the body, hex.
    pub body_sm3: String,
    /// Response-signing key version.
    pub serial: u32,
    /// Signature, base64 DER.
    pub signature: String,
}

/// Longest response body signed; longer ones are answered with an error instead (no route
/// returns one).
const RESPONSE_BYTES_MAX: usize = 4 * 1024 * 1024;

/// Signs a response (see [`inspay_protocol::response`]). When no response-signing key is
/// usable, the answer goes out unsigned with the error logged: clients that verify refuse it.
pub async fn sign_response(
    state: &AppState,
    request_nonce: Option<&str>,
    response: Response,
) -> (Response, Option<ResponseParts>) {
    let (mut parts, body) = response.into_parts();
    let body: Bytes = match axum::body::to_bytes(body, RESPONSE_BYTES_MAX).await {
        Ok(body) => body,
        Err(error) => {
            let refused = ApiError::new(ErrorCode::Internal)
                .cause(format!("response body unreadable: {error}"))
                .into_response();
            return Box::pin(sign_response(state, request_nonce, refused)).await;
        }
    };
    let timestamp_s = state.now_ms().div_euclid(1000);
    let nonce = match inspay_crypto::random::bytes::<18>() {
        Ok(bytes) => base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes),
        Err(error) => {
            tracing::error!(error = %error, "no randomness for a response nonce");
            return (Response::from_parts(parts, Body::from(body)), None);
        }
    };
    let canonical = CanonicalResponse::new(
        parts.status.as_u16(),
        timestamp_s,
        &nonce,
        request_nonce,
        &body,
    );
    let signed = match state
        .keyring()
        .sign(KeyPurpose::ResponseSigning, &canonical.to_bytes())
    {
        Ok(signed) => signed,
        Err(error) => {
            tracing::error!(error = %error, "response not signed: no usable response-signing key");
            return (Response::from_parts(parts, Body::from(body)), None);
        }
    };
    let signature = base64::engine::general_purpose::STANDARD.encode(&signed.bytes);
    let headers = &mut parts.headers;
    for (name, value) in [
        (TIMESTAMP_HEADER, timestamp_s.to_string()),
        (NONCE_HEADER, nonce.clone()),
        (SERIAL_HEADER, signed.key_version.to_string()),
        (SIGNATURE_HEADER, signature.clone()),
    ] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    parts.extensions.insert(Signed);
    let out = ResponseParts {
        timestamp_s,
        nonce,
        body_sm3: canonical.body_sm3_hex().to_string(),
        serial: signed.key_version,
        signature,
    };
    (Response::from_parts(parts, Body::from(body)), Some(out))
}

/// Signs answers that did not come through a route (unknown paths, methods, edge refusals,
/// time-outs, panics).
pub async fn sign_unsigned(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let response = next.run(request).await;
    if response.extensions().get::<Signed>().is_some()
        || response.extensions().get::<BrowserPage>().is_some()
    {
        return response;
    }
    sign_response(&state, None, response).await.0
}
