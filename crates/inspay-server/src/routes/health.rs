//! Liveness and readiness probes.

use crate::error::{ApiError, ErrorCode};
use crate::routes::OperationClass;
use crate::state::AppState;
use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde_json::{Value, json};

/// Class of the probes: they reveal nothing but liveness.
pub const CLASS: OperationClass = OperationClass::InformationQuery;

/// Route declarations.
pub const SPECS: &[crate::auth::RouteSpec] = &[
    crate::auth::RouteSpec {
        method: "GET",
        path: "/health/live",
        class: CLASS,
        need: crate::auth::Need::Public,
        permission: None,
    },
    crate::auth::RouteSpec {
        method: "GET",
        path: "/health/ready",
        class: CLASS,
        need: crate::auth::Need::Public,
        permission: None,
    },
];

/// The probe routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/health/live", get(live))
        .route("/health/ready", get(ready))
}

/// The process is up.
async fn live() -> Json<Value> {
    Json(json!({ "status": "live" }))
}

/// The process can serve: the database answers and keys are loaded.
async fn ready(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    state
        .store
        .ping()
        .await
        .map_err(|error| ApiError::new(ErrorCode::DatabaseUnavailable).cause(error))?;
    let keys = state.keyring();
    if inspay_kms::KeyPurpose::ALL
        .into_iter()
        .any(|purpose| keys.active_version(purpose).is_none())
    {
        return Err(
            ApiError::new(ErrorCode::KeysUnavailable).cause("a key purpose has no active key")
        );
    }
    Ok(Json(json!({ "status": "ready" })))
}
