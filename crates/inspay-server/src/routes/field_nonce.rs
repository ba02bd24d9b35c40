//! One-time nonces for client-side field encryption (clauses 5.2.2.1-c/d, 5.6.2-b): a signed
//! request gets a nonce bound to its application, valid 300 s, for one request, with the
//! server's field-transport key to encrypt to. The answer is signed, so the client knows the
//! key is the server's.

use crate::error::{ApiError, ErrorCode};
use crate::protocol::SignedBy;
use crate::routes::OperationClass;
use crate::state::AppState;
use axum::extract::State;
use axum::routing::post;
use axum::{Extension, Json, Router};
use schemars::{JsonSchema, SchemaGenerator};
use serde::Serialize;

/// The path.
pub const PATH: &str = "/v1/protocol/field-nonce";

/// Route declarations.
pub const SPECS: &[crate::auth::RouteSpec] = &[crate::auth::RouteSpec {
    method: "POST",
    path: PATH,
    class: OperationClass::InformationQuery,
    need: crate::auth::Need::Public,
    permission: None,
    summary: "Issues a one-time field nonce and the field-transport key to encrypt sensitive fields to.",
    body: None,
    response: Some(SchemaGenerator::subschema_for::<Issued>),
    success: &[200],
}];

/// The route.
pub fn router() -> Router<AppState> {
    Router::new().route(PATH, post(issue))
}

/// The server's field-transport public key.
#[derive(Serialize, JsonSchema)]
struct TransportKey {
    /// The key serial, as envelopes name it.
    serial: u32,
    /// `SM2-C1C3C2`.
    algorithm: &'static str,
    /// The SM2 public key, SPKI PEM.
    public_key_pem: String,
}

/// A field nonce.
#[derive(Serialize, JsonSchema)]
#[schemars(rename = "FieldNonce")]
struct Issued {
    /// The nonce, for one request of this application.
    nonce: String,
    /// When it expires, Unix seconds.
    expires_at: i64,
    /// The key to encrypt to.
    key: TransportKey,
    /// The field names whose values must arrive encrypted.
    fields: &'static [&'static str],
}

/// Issues a nonce to the signing application. Unsigned requests (development mode) are
/// refused: a nonce belongs to an application.
async fn issue(
    State(state): State<AppState>,
    signed: Option<Extension<SignedBy>>,
) -> Result<Json<Issued>, ApiError> {
    let Some(Extension(signed)) = signed else {
        return Err(ApiError::new(ErrorCode::SignatureMissing)
            .detail("a field nonce is issued to a signed application request"));
    };
    let keyring = state.keyring();
    let (serial, public) = keyring.transport_public_key().map_err(|error| {
        ApiError::new(ErrorCode::KeysUnavailable).cause(format!("field-transport key: {error}"))
    })?;
    let (nonce, expires_at_ms) = state
        .store
        .field_nonce_issue(&signed.app_id, state.now_ms())
        .await?;
    Ok(Json(Issued {
        nonce,
        expires_at: expires_at_ms.div_euclid(1000),
        key: TransportKey {
            serial,
            algorithm: "SM2-C1C3C2",
            public_key_pem: public.to_spki_pem(),
        },
        fields: inspay_protocol::fields::SENSITIVE_FIELDS,
    }))
}
