//! The server's public keys for the signed protocol (clause 5.6.2-d1): the response-signing
//! keys, by serial, that clients verify answers with. Callable unsigned (a client needs it
//! before it can verify anything); its answer is signed like every other. Clients should pin
//! the keys they receive out of band (the operator exports them with `inspay keys export-public response-signing`) and
//! use this document only to learn of a new serial during a rotation.

use crate::routes::OperationClass;
use crate::state::AppState;
use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use inspay_kms::{KeyPurpose, KeyState};
use schemars::{JsonSchema, SchemaGenerator};
use serde::Serialize;

/// The path.
pub const PATH: &str = "/v1/protocol/keys";

/// Route declarations.
pub const SPECS: &[crate::auth::RouteSpec] = &[crate::auth::RouteSpec {
    method: "GET",
    path: PATH,
    class: OperationClass::InformationQuery,
    need: crate::auth::Need::Public,
    permission: None,
    summary: "The server's response-signing public keys, by serial, and which one signs now.",
    body: None,
    response: Some(SchemaGenerator::subschema_for::<KeysDocument>),
    success: &[200],
}];

/// The route.
pub fn router() -> Router<AppState> {
    Router::new().route(PATH, get(keys))
}

// Fields are in alphabetical order, as they were when this answer was built as a JSON value,
// so the bytes clients see did not change.

/// The key document.
#[derive(Serialize, JsonSchema)]
struct KeysDocument {
    /// The keys that sign the server's answers.
    response_signing: ResponseSigning,
}

/// The response-signing keys.
#[derive(Serialize, JsonSchema)]
struct ResponseSigning {
    /// The serial that signs now.
    active_serial: Option<u32>,
    /// The keys that may still verify, newest first.
    keys: Vec<PublishedKey>,
}

/// One response-signing public key.
#[derive(Serialize, JsonSchema)]
struct PublishedKey {
    /// `SM2-with-SM3`.
    algorithm: &'static str,
    /// `sm3:` and the SM3 fingerprint of the key.
    fingerprint: String,
    /// The SM2 public key, SPKI PEM.
    public_key_pem: String,
    /// The key serial, as answers name it in `X-Inspay-Serial`.
    serial: u32,
    /// `active` or `decrypt-only`.
    state: &'static str,
}

/// The response-signing public keys that may still verify, newest first, and which one signs
/// now.
async fn keys(State(state): State<AppState>) -> Json<KeysDocument> {
    let keyring = state.keyring();
    let active = keyring.active_version(KeyPurpose::ResponseSigning);
    let mut keys: Vec<PublishedKey> = keyring
        .entries()
        .filter(|entry| entry.purpose == KeyPurpose::ResponseSigning)
        .filter(|entry| matches!(entry.state, KeyState::Active | KeyState::DecryptOnly))
        .filter_map(|entry| {
            let public = entry.material.as_ref()?.public_key()?;
            Some(PublishedKey {
                algorithm: "SM2-with-SM3",
                fingerprint: format!("sm3:{}", public.fingerprint()),
                public_key_pem: public.to_spki_pem(),
                serial: entry.version,
                state: entry.state.name(),
            })
        })
        .collect();
    keys.reverse();
    Json(KeysDocument {
        response_signing: ResponseSigning {
            active_serial: active,
            keys,
        },
    })
}
