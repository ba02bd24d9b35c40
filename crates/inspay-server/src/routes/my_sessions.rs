//! The customer's own sessions (issue 7: "see and manage sessions"): each live session with
//! when it started and was last used, the one asking marked, and ending any one of them (a
//! device left signed in). Sessions are named by a handle derived from the token digest,
//! never by the token or the digest itself.

use crate::auth::{Caller, Need, RouteSpec};
use crate::error::{ApiError, ErrorCode};
use crate::routes::OperationClass;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::{Extension, Json, Router};
use inspay_identity::authorization::Permission;
use schemars::{JsonSchema, SchemaGenerator};
use serde::Serialize;

/// Route declarations.
pub const SPECS: &[RouteSpec] = &[
    RouteSpec {
        method: "GET",
        path: "/v1/me/sessions",
        class: OperationClass::InformationQuery,
        need: Need::Full,
        permission: Some(Permission::ProfileReadOwn),
        summary: "The caller's live sessions, newest first, the current one marked.",
        body: None,
        response: Some(SchemaGenerator::subschema_for::<Sessions>),
        success: &[200],
    },
    RouteSpec {
        method: "DELETE",
        path: "/v1/me/sessions/{handle}",
        class: OperationClass::InformationCollection,
        need: Need::Full,
        permission: Some(Permission::ProfileUpdateOwn),
        summary: "Ends one of the caller's sessions by its handle.",
        body: None,
        response: None,
        success: &[204],
    },
];

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/me/sessions", get(list))
        .route("/v1/me/sessions/{handle}", delete(end))
}

/// One live session.
#[derive(Serialize, JsonSchema)]
struct SessionView {
    /// Names the session in `DELETE /v1/me/sessions/{handle}`.
    handle: String,
    level: String,
    created_at_ms: i64,
    last_seen_at_ms: i64,
    /// Whether it is the session of this request.
    current: bool,
}

/// The caller's live sessions.
#[derive(Serialize, JsonSchema)]
struct Sessions {
    sessions: Vec<SessionView>,
}

async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<Sessions>, ApiError> {
    let sessions = state
        .store
        .sessions_of(
            &caller.account_id,
            &caller.session,
            &state.session_policy(),
            state.now_ms(),
        )
        .await?;
    Ok(Json(Sessions {
        sessions: sessions
            .into_iter()
            .map(|session| SessionView {
                handle: session.handle,
                level: session.level,
                created_at_ms: session.created_at_ms,
                last_seen_at_ms: session.last_seen_at_ms,
                current: session.current,
            })
            .collect(),
    }))
}

async fn end(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(handle): Path<String>,
) -> Result<StatusCode, ApiError> {
    if handle.len() != 32 || !handle.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::new(ErrorCode::NotFound));
    }
    let ended = state
        .store
        .session_end_by_handle(
            &caller.account_id,
            &handle,
            &caller.request_id,
            state.now_ms(),
        )
        .await?;
    if ended {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::new(ErrorCode::NotFound))
    }
}
