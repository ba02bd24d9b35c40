//! The server's public keys for the signed protocol (clause 5.6.2-d1): the response-signing
//! keys, by serial, that clients verify answers with. Callable unsigned (a client needs it
//! before it can verify anything); its answer is signed like every other. Clients should pin
//! the keys they receive out of band (the operator exports them with `inspay keys export`) and
//! use this document only to learn of a new serial during a rotation.

use crate::routes::OperationClass;
use crate::state::AppState;
use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use inspay_kms::{KeyPurpose, KeyState};
use serde_json::{Value, json};

/// The path.
pub const PATH: &str = "/v1/protocol/keys";

/// Route declarations.
pub const SPECS: &[crate::auth::RouteSpec] = &[crate::auth::RouteSpec {
    method: "GET",
    path: PATH,
    class: OperationClass::InformationQuery,
    need: crate::auth::Need::Public,
    permission: None,
}];

/// The route.
pub fn router() -> Router<AppState> {
    Router::new().route(PATH, get(keys))
}

/// The response-signing public keys that may still verify, newest first, and which one signs
/// now.
async fn keys(State(state): State<AppState>) -> Json<Value> {
    let keyring = state.keyring();
    let active = keyring.active_version(KeyPurpose::ResponseSigning);
    let mut keys: Vec<Value> = keyring
        .entries()
        .filter(|entry| entry.purpose == KeyPurpose::ResponseSigning)
        .filter(|entry| matches!(entry.state, KeyState::Active | KeyState::DecryptOnly))
        .filter_map(|entry| {
            let public = entry.material.as_ref()?.public_key()?;
            Some(json!({
                "serial": entry.version,
                "state": entry.state.name(),
                "algorithm": "SM2-with-SM3",
                "public_key_pem": public.to_spki_pem(),
                "fingerprint": format!("sm3:{}", public.fingerprint()),
            }))
        })
        .collect();
    keys.reverse();
    Json(json!({
        "response_signing": { "active_serial": active, "keys": keys },
    }))
}
