//! The session itself (clauses 5.2.1.2, 5.3.3.3, 5.6.5-c): sign-out (this session or all),
//! its state, resuming after the background limit, and the identity check a dormant account
//! needs (registration data as the extra factor).

use crate::auth::{Caller, LEVEL_DORMANT, LEVEL_FULL, LEVEL_INITIAL_PASSWORD, Need, RouteSpec};
use crate::error::{ApiError, ErrorCode};
use crate::extract::ApiJson;
use crate::routes::OperationClass;
use crate::routes::support::{
    field, knowledge_factor, registered_id_number, registration_data_failed,
};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use inspay_core::sensitive::IdNumber;
use inspay_store::sessions::{EndReason, RESUME_PREFIX};
use schemars::{JsonSchema, SchemaGenerator};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

const CLASS: OperationClass = OperationClass::InformationQuery;

/// Route declarations.
pub const SPECS: &[RouteSpec] = &[
    RouteSpec {
        method: "GET",
        path: "/v1/session",
        class: CLASS,
        need: Need::AnySession,
        permission: None,
        summary: "The current session: its account and level.",
        body: None,
        response: Some(SchemaGenerator::subschema_for::<SessionState>),
        success: &[200],
    },
    RouteSpec {
        method: "POST",
        path: "/v1/sign-out",
        class: CLASS,
        need: Need::AnySession,
        permission: None,
        summary: "Signs out: ends this session.",
        body: None,
        response: None,
        success: &[204],
    },
    RouteSpec {
        method: "POST",
        path: "/v1/sign-out/all",
        class: CLASS,
        need: Need::AnySession,
        permission: None,
        summary: "Signs out everywhere: ends every session of the account.",
        body: None,
        response: None,
        success: &[204],
    },
    RouteSpec {
        method: "POST",
        path: "/v1/session/resume",
        class: CLASS,
        need: Need::AnySession,
        permission: None,
        summary: "Re-authenticates after the background limit with the password or gesture; returns a new token.",
        body: Some(SchemaGenerator::subschema_for::<Resume>),
        response: Some(SchemaGenerator::subschema_for::<Reissued>),
        success: &[200],
    },
    RouteSpec {
        method: "POST",
        path: "/v1/session/verify-identity",
        class: CLASS,
        need: Need::AnySession,
        permission: None,
        summary: "The extra factor of an account back after the dormant period: the ID number given at registration.",
        body: Some(SchemaGenerator::subschema_for::<VerifyIdentity>),
        response: Some(SchemaGenerator::subschema_for::<Reissued>),
        success: &[200],
    },
];

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/session", get(current))
        .route("/v1/sign-out", post(sign_out))
        .route("/v1/sign-out/all", post(sign_out_all))
        .route("/v1/session/resume", post(resume))
        .route("/v1/session/verify-identity", post(verify_identity))
}

/// The session's account and level.
#[derive(Serialize, JsonSchema)]
struct SessionState {
    account_id: String,
    level: String,
}

async fn current(Extension(caller): Extension<Caller>) -> Json<SessionState> {
    Json(SessionState {
        account_id: caller.account_id,
        level: caller.level,
    })
}

async fn sign_out(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<StatusCode, ApiError> {
    state
        .store
        .session_end(&caller.session, &caller.request_id, state.now_ms())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn sign_out_all(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<StatusCode, ApiError> {
    state
        .store
        .sessions_end_account(
            &caller.account_id,
            EndReason::Logout,
            &caller.request_id,
            state.now_ms(),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Exactly one of `password` or `gesture`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "ResumeRequest")]
struct Resume {
    #[schemars(with = "Option<String>")]
    password: Option<Zeroizing<String>>,
    #[schemars(with = "Option<String>")]
    gesture: Option<Zeroizing<String>>,
}

/// A new session token, replacing the one presented.
#[derive(Serialize, JsonSchema)]
#[schemars(rename = "SessionReissued")]
struct Reissued {
    session_token: String,
    level: String,
}

/// Re-authenticates after the background limit with the login password or the gesture. A
/// new token replaces the old one.
async fn resume(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(request): ApiJson<Resume>,
) -> Result<Json<Reissued>, ApiError> {
    let Some(level) = caller.level.strip_prefix(RESUME_PREFIX) else {
        return Err(ApiError::new(ErrorCode::FlowEnded)
            .detail("this session does not need to resume; carry on"));
    };
    let (kind, secret) = knowledge_factor(request.password.as_ref(), request.gesture.as_ref())?;
    let now = state.now_ms();
    let right = state
        .store
        .secret_verify(
            &caller.account_id,
            kind,
            &secret,
            &state.lockout(),
            &caller.request_id,
            now,
        )
        .await?;
    if !right {
        return Err(ApiError::new(ErrorCode::SignInFailed));
    }
    reissue(&state, &caller, level, now).await
}

async fn reissue(
    state: &AppState,
    caller: &Caller,
    level: &str,
    now: i64,
) -> Result<Json<Reissued>, ApiError> {
    let token = state
        .store
        .session_reissue(&caller.session, level, &caller.request_id, now)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::AuthenticationRequired))?;
    Ok(Json(Reissued {
        session_token: token.expose().to_string(),
        level: level.to_string(),
    }))
}

/// The ID number given at registration.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "VerifyIdentityRequest")]
struct VerifyIdentity {
    #[schemars(with = "String")]
    id_number: Zeroizing<String>,
}

/// The extra factor for an account back after the dormant period: the ID number given at
/// registration. A wrong one counts toward the lockout.
async fn verify_identity(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(request): ApiJson<VerifyIdentity>,
) -> Result<Json<Reissued>, ApiError> {
    if caller.level != LEVEL_DORMANT {
        return Err(ApiError::new(ErrorCode::FlowEnded)
            .detail("this session does not need an identity check"));
    }
    let typed: IdNumber = field("id_number", &request.id_number)?;
    let now = state.now_ms();
    let account = state.store.account_summary(&caller.account_id).await?;
    let person_id = account.person_id.ok_or_else(|| {
        ApiError::new(ErrorCode::FlowEnded).detail(
            "staff accounts back after the dormant period are confirmed by a security officer \
             (inspay users reactivate); then sign in again",
        )
    })?;
    let person = state.store.person_get(&state.keyring(), &person_id).await?;
    if !registered_id_number(&person, &typed) {
        registration_data_failed(&state, &caller.account_id, &caller.request_id, now).await?;
        return Err(ApiError::new(ErrorCode::VerificationFailed));
    }
    state
        .store
        .dormancy_cleared(&caller.account_id, &caller.request_id, now)
        .await?;
    let level = if account.must_change_password {
        LEVEL_INITIAL_PASSWORD
    } else {
        LEVEL_FULL
    };
    reissue(&state, &caller, level, now).await
}
