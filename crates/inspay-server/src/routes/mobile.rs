//! Changing the bound mobile number (clauses 5.1-b, 5.3.3.4-a): an enhanced-level operation.
//! The person proves who they are with a fresh second factor (a step-up proof for
//! `mobile-change`) and that they hold the new number with a code sent to it; the number is
//! also the customer's login name, so every session ends and the person signs in with the new
//! number.

use crate::auth::{Caller, Need, Operation, RouteSpec};
use crate::error::{ApiError, ErrorCode};
use crate::extract::ApiJson;
use crate::routes::OperationClass;
use crate::routes::support::{CaptchaReply, field, mobile_binding, require_captcha, send_code};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Extension, Json, Router};
use inspay_core::sensitive::{Masked, MobileNumber, PersonalField};
use inspay_identity::authorization::Permission;
use inspay_identity::otp::{OneTimeCode, OtpPurpose};
use inspay_store::one_time_codes::CodeCheck;
use inspay_store::sessions::EndReason;
use schemars::{JsonSchema, SchemaGenerator};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// Route declarations.
pub const SPECS: &[RouteSpec] = &[
    RouteSpec {
        method: "POST",
        path: "/v1/me/mobile/code",
        class: OperationClass::InformationCollection,
        need: Need::Full,
        permission: Some(Permission::ProfileUpdateOwn),
        summary: "Sends a code to the new mobile number (needs a CAPTCHA).",
        body: Some(SchemaGenerator::subschema_for::<CodeRequest>),
        response: Some(SchemaGenerator::subschema_for::<CodeSent>),
        success: &[202],
    },
    RouteSpec {
        method: "POST",
        path: "/v1/me/mobile",
        class: OperationClass::InformationCollection,
        need: Need::Enhanced(Operation::MobileChange),
        permission: Some(Permission::ProfileUpdateOwn),
        summary: "Changes the bound mobile number (the login name) with a step-up and the code; ends every session.",
        body: Some(SchemaGenerator::subschema_for::<ChangeRequest>),
        response: Some(SchemaGenerator::subschema_for::<Changed>),
        success: &[200],
    },
];

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/me/mobile/code", post(send_new_number_code))
        .route("/v1/me/mobile", post(change))
}

/// The code to the new number is bound to this session and that number.
fn binding(state: &AppState, caller: &Caller, mobile: &MobileNumber) -> Result<String, ApiError> {
    Ok(format!(
        "mobile-change:{}:{}",
        caller.session.digest(),
        mobile_binding(state, mobile)?
    ))
}

/// The new number and a CAPTCHA (required).
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "MobileChangeCodeRequest")]
struct CodeRequest {
    #[schemars(with = "String")]
    new_mobile: Zeroizing<String>,
    captcha: Option<CaptchaReply>,
}

/// Where the code went (masked) and how long it is valid.
#[derive(Serialize, JsonSchema)]
#[schemars(rename = "MobileChangeCodeSent")]
struct CodeSent {
    #[schemars(with = "String")]
    sent_to: Masked,
    expires_in_s: u32,
}

async fn send_new_number_code(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(request): ApiJson<CodeRequest>,
) -> Result<(StatusCode, Json<CodeSent>), ApiError> {
    let now = state.now_ms();
    let mobile: MobileNumber = field("new_mobile", &request.new_mobile)?;
    require_captcha(&state, request.captcha.as_ref(), now).await?;
    let binding = binding(&state, &caller, &mobile)?;
    send_code(
        &state,
        &mobile,
        OtpPurpose::ChangeMobile,
        &binding,
        &caller.request_id,
        now,
    )
    .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(CodeSent {
            sent_to: mobile.masked(),
            expires_in_s: state.otp().ttl_s,
        }),
    ))
}

/// The new number and the code sent to it.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "MobileChangeRequest")]
struct ChangeRequest {
    #[schemars(with = "String")]
    new_mobile: Zeroizing<String>,
    #[schemars(with = "String")]
    code: Zeroizing<String>,
}

/// The number was changed.
#[derive(Serialize, JsonSchema)]
#[schemars(rename = "MobileChanged")]
struct Changed {
    #[schemars(with = "String")]
    mobile: Masked,
    sessions_ended: u64,
    next: &'static str,
}

async fn change(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(request): ApiJson<ChangeRequest>,
) -> Result<Json<Changed>, ApiError> {
    let now = state.now_ms();
    let mobile: MobileNumber = field("new_mobile", &request.new_mobile)?;
    let code = OneTimeCode::parse(&request.code)
        .map_err(|error| ApiError::new(ErrorCode::InvalidField).detail(format!("code: {error}")))?;
    let keyring = state.keyring();
    let check = state
        .store
        .otp_check(
            &keyring,
            OtpPurpose::ChangeMobile,
            &binding(&state, &caller, &mobile)?,
            &code,
            &state.otp(),
            now,
        )
        .await?;
    if check != CodeCheck::Accepted {
        return Err(ApiError::new(ErrorCode::VerificationFailed));
    }
    state
        .store
        .person_change_mobile(
            &keyring,
            &caller.account_id,
            &mobile,
            &caller.request_id,
            now,
        )
        .await?;
    let sessions_ended = state
        .store
        .sessions_end_account(
            &caller.account_id,
            EndReason::Revoked,
            &caller.request_id,
            now,
        )
        .await?;
    Ok(Json(Changed {
        mobile: mobile.masked(),
        sessions_ended,
        next: "every session ended: sign in with the new number",
    }))
}
