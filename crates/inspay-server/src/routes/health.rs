//! Liveness and readiness probes.

use crate::error::{ApiError, ErrorCode};
use crate::routes::OperationClass;
use crate::state::AppState;
use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use schemars::{JsonSchema, SchemaGenerator};
use serde::Serialize;

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
        summary: "Liveness probe: the process is up.",
        body: None,
        response: Some(SchemaGenerator::subschema_for::<Status>),
        success: &[200],
    },
    crate::auth::RouteSpec {
        method: "GET",
        path: "/health/ready",
        class: CLASS,
        need: crate::auth::Need::Public,
        permission: None,
        summary: "Readiness probe: the database answers and every key purpose has an active key.",
        body: None,
        response: Some(SchemaGenerator::subschema_for::<Status>),
        success: &[200],
    },
];

/// The probe routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/health/live", get(live))
        .route("/health/ready", get(ready))
}

/// A probe's answer.
#[derive(Serialize, JsonSchema)]
#[schemars(rename = "ProbeStatus")]
struct Status {
    /// `live` or `ready`.
    status: &'static str,
}

/// The process is up.
async fn live() -> Json<Status> {
    Json(Status { status: "live" })
}

/// The process can serve: the database answers and keys are loaded.
async fn ready(State(state): State<AppState>) -> Result<Json<Status>, ApiError> {
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
    Ok(Json(Status { status: "ready" }))
}
