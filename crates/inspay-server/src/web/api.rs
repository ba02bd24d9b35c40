//! The pages' way into the API: a signed request through the API router, in process.
//!
//! The web client is the registered client application [`APP_ID`] (fund-transaction class).
//! Its key is the KMS `web-signing` key, so it has the KMS lifecycle (rotation, suspension,
//! destruction) and never leaves the key manager; the public half of each version is
//! registered with the application as the next key serial the first time that version signs
//! ([`WebApi::serial_for`]). Each call is built exactly as an outside client builds one
//! (canonical request, SM2 signature over it, fresh nonce, the server's time, the SDK header,
//! the session token in `X-Inspay-Session`) and carries the browser's address, so rate
//! limits, risk facts and the administration allow-list see the person, not the server. The
//! answer's signature is not checked: it never left the process.

use crate::defence::ClientAddr;
use crate::edge::REQUEST_ID;
use crate::state::AppState;
use crate::web::visit::Visit;
use axum::Router;
use axum::body::Body;
use axum::http::{HeaderValue, Method, Request, StatusCode, header};
use inspay_kms::KeyPurpose;
use inspay_protocol::authorization::SignedHeader;
use inspay_protocol::canonical::CanonicalRequest;
use inspay_store::StoreError;
use inspay_store::client_apps::{AppClass, NewClientApp};
use inspay_store::keys::Actor;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tower::ServiceExt;
use zeroize::Zeroizing;

/// The web client's application id.
pub const APP_ID: &str = "inspay-web";
/// What the web client reports as its SDK.
pub const SDK: &str = concat!("inspay-web/", env!("CARGO_PKG_VERSION"));
/// Largest API answer the pages read.
const ANSWER_BYTES_MAX: usize = 4 * 1024 * 1024;

/// Marks a request the pages made in process: the browser's request was already counted
/// against the per-address limit, so this one is not counted again.
#[derive(Debug, Clone, Copy)]
pub struct InProcess;

/// The API, as the pages call it.
#[derive(Clone)]
pub struct WebApi {
    router: Router,
    /// KMS version of the web-signing key -> the application's key serial.
    serials: Arc<Mutex<HashMap<u32, u32>>>,
}

/// One API call.
pub struct Call {
    method: Method,
    path: String,
    body: Option<Vec<u8>>,
    session: Option<Zeroizing<String>>,
    step_up: Option<String>,
    idempotency_key: Option<String>,
}

impl Call {
    /// A GET.
    pub fn get(path: impl Into<String>) -> Call {
        Call {
            method: Method::GET,
            path: path.into(),
            body: None,
            session: None,
            step_up: None,
            idempotency_key: None,
        }
    }

    /// A request with a JSON body.
    pub fn with_json(method: Method, path: impl Into<String>, body: &Value) -> Call {
        Call {
            method,
            path: path.into(),
            body: Some(serde_json::to_vec(body).unwrap_or_default()),
            session: None,
            step_up: None,
            idempotency_key: None,
        }
    }

    /// A DELETE.
    pub fn delete(path: impl Into<String>) -> Call {
        Call {
            method: Method::DELETE,
            ..Call::get(path)
        }
    }

    /// A POST without a body.
    pub fn post_empty(path: impl Into<String>) -> Call {
        Call {
            method: Method::POST,
            path: path.into(),
            body: None,
            session: None,
            step_up: None,
            idempotency_key: None,
        }
    }

    /// A POST with a JSON body.
    pub fn post(path: impl Into<String>, body: &Value) -> Call {
        Call::with_json(Method::POST, path, body)
    }

    /// With the visitor's session, if they have one.
    pub fn session_of(mut self, visit: &Visit) -> Call {
        self.session = visit.session.clone();
        self
    }

    /// With a session token.
    pub fn session(mut self, token: &str) -> Call {
        self.session = Some(Zeroizing::new(token.to_string()));
        self
    }

    /// With a step-up proof.
    pub fn step_up(mut self, proof: Option<&str>) -> Call {
        self.step_up = proof.map(str::to_string);
        self
    }

    /// With an idempotency key (fund operations need one; a retry uses the same).
    pub fn idempotency_key(mut self, key: &str) -> Call {
        self.idempotency_key = Some(key.to_string());
        self
    }
}

/// What the API answered.
#[derive(Debug)]
pub struct Answer {
    /// The status.
    pub status: StatusCode,
    /// The JSON body (`Null` when there was none).
    pub body: Value,
}

impl Answer {
    /// Whether the call succeeded (2xx), a held operation (202 with a problem) excepted.
    pub fn ok(&self) -> bool {
        self.status.is_success() && self.code().is_none()
    }

    /// The stable error code of a problem answer.
    pub fn code(&self) -> Option<&str> {
        self.body.get("code").and_then(Value::as_str)
    }

    /// The problem's reference, for the page to show.
    pub fn reference(&self) -> Option<&str> {
        self.body.get("reference").and_then(Value::as_str)
    }

    /// The body as a type.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, WebFault> {
        // The error's category only: its message can quote a value of the answer, and some
        // answers (a full display) hold personal data.
        serde_json::from_value(self.body.clone()).map_err(|error| {
            WebFault(format!(
                "unexpected API answer from a {} call: {:?} error",
                self.status,
                error.classify()
            ))
        })
    }
}

/// Something that should not happen between the pages and the API (the page shows the
/// generic error with the request id; the cause goes to the log only).
#[derive(Debug)]
pub struct WebFault(pub String);

impl WebApi {
    /// The pages' API over `router` (the API router without the pages).
    pub fn new(router: Router) -> WebApi {
        WebApi {
            router,
            serials: Arc::default(),
        }
    }

    /// Sends one call, signed as [`APP_ID`], on behalf of `visit`.
    pub async fn call(
        &self,
        state: &AppState,
        visit: &Visit,
        call: Call,
    ) -> Result<Answer, WebFault> {
        let body = call.body.unwrap_or_default();
        let timestamp_s = state.now_ms().div_euclid(1000);
        let nonce = crate::web::visit::random_value()
            .map_err(|error| WebFault(format!("no randomness: {error}")))?;
        let canonical =
            CanonicalRequest::new(call.method.as_str(), &call.path, timestamp_s, &nonce, &body)
                .map_err(|error| WebFault(format!("cannot build the request: {error}")))?;
        let keyring = state.keyring();
        let signature = keyring
            .sign(KeyPurpose::WebSigning, &canonical.to_bytes())
            .map_err(|error| WebFault(format!("cannot sign: {error}")))?;
        let serial = self.serial_for(state, signature.key_version).await?;
        let authorization = SignedHeader {
            app_id: APP_ID.to_string(),
            serial,
            timestamp_s,
            nonce,
            signature_der: signature.bytes,
        }
        .format();
        let mut request = Request::builder()
            .method(call.method)
            .uri(&call.path)
            .header(header::AUTHORIZATION, authorization)
            .header(inspay_protocol::SDK_HEADER, SDK)
            .header(header::HOST, "inspay-web.internal");
        if !body.is_empty() {
            request = request.header(header::CONTENT_TYPE, "application/json");
        }
        if let Ok(id) = HeaderValue::from_str(&visit.request_id) {
            request = request.header(&REQUEST_ID, id);
        }
        if let Some(token) = &call.session
            && let Ok(value) = HeaderValue::from_str(token)
        {
            request = request.header(inspay_protocol::SESSION_HEADER, value);
        }
        if let Some(proof) = &call.step_up {
            request = request.header(crate::auth::STEP_UP_HEADER, proof.as_str());
        }
        if let Some(key) = &call.idempotency_key {
            request = request.header(inspay_protocol::IDEMPOTENCY_HEADER, key.as_str());
        }
        let mut request = request
            .body(Body::from(body))
            .map_err(|error| WebFault(format!("cannot build the request: {error}")))?;
        request.extensions_mut().insert(InProcess);
        if let Some(client) = &visit.client {
            request.extensions_mut().insert(ClientAddr(client.0));
        }
        let response = match self.router.clone().oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        };
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), ANSWER_BYTES_MAX)
            .await
            .map_err(|error| WebFault(format!("cannot read the API answer: {error}")))?;
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).map_err(|error| {
                WebFault(format!(
                    "the API answer is not JSON: {:?}",
                    error.classify()
                ))
            })?
        };
        Ok(Answer { status, body })
    }

    /// The application key serial of web-signing key `version`, registering the application
    /// or the key the first time they are needed. Two nodes doing it at once: the second
    /// insert is refused as a duplicate and the node reads what the first wrote.
    async fn serial_for(&self, state: &AppState, version: u32) -> Result<u32, WebFault> {
        if let Some(serial) = self.cached(version) {
            return Ok(serial);
        }
        let serial = enrol(state, version)
            .await
            .map_err(|error| WebFault(format!("cannot register the web client's key: {error}")))?;
        if let Ok(mut serials) = self.serials.lock() {
            serials.insert(version, serial);
        }
        Ok(serial)
    }

    fn cached(&self, version: u32) -> Option<u32> {
        self.serials.lock().ok()?.get(&version).copied()
    }
}

const ENROL: Actor<'static> = Actor {
    actor: "system:web",
    request_id: "web-enrol",
};

/// Registers the web client (first use) or web-signing key `version` with it, and returns the
/// key's serial. A key the operator revoked stays revoked: the pages then fail until the KMS
/// key is rotated.
pub async fn enrol(state: &AppState, version: u32) -> Result<u32, StoreError> {
    let keyring = state.keyring();
    let public = keyring
        .public_key(KeyPurpose::WebSigning, version)
        .map_err(|_| StoreError::Refused("the web-signing key is not usable"))?
        .clone();
    for attempt in 0..2 {
        let apps = state.store.client_apps_list().await?;
        let now = state.now_ms();
        let result = match apps.iter().find(|(app, _)| app.id == APP_ID) {
            Some((_, keys)) => {
                if let Some(key) = keys.iter().find(|key| key.public_key == public) {
                    return Ok(key.serial);
                }
                state
                    .store
                    .client_app_key_add(APP_ID, &public, ENROL, now)
                    .await
            }
            None => state
                .store
                .client_app_register(
                    &NewClientApp {
                        id: APP_ID,
                        name: "inspay web client (the server's own pages)",
                        class: AppClass::FundTransaction,
                        public_key: &public,
                        tls_fingerprint: None,
                        // The pages are served by this very build, so its own version is the
                        // oldest there can be (clause 6.4.5: a minimum is set for every
                        // application, and the self-assessment checks it).
                        sdk_version_min: Some(env!("CARGO_PKG_VERSION")),
                    },
                    ENROL,
                    now,
                )
                .await
                .map(|()| 1),
        };
        match result {
            Err(StoreError::Conflict(_)) if attempt == 0 => continue,
            other => return other,
        }
    }
    Err(StoreError::Refused(
        "the web client could not be registered",
    ))
}
