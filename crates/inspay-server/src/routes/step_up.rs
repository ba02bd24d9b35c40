//! Step-up (clauses 5.1-b, 5.3.3.4-a): an enhanced-level operation needs a fresh second
//! factor at the moment it is done. The client asks for a challenge for one operation
//! (`POST /v1/step-up`: an SMS code, or a challenge for a device key or staff certificate),
//! answers it (`POST /v1/step-up/verify`), and receives a proof that is good for that one
//! operation in this session, once, for a short time. The operation's request carries the
//! proof in the `X-Inspay-Step-Up` header. Wrong answers count toward the lockout.

use crate::auth::{Caller, Need, Operation, RouteSpec};
use crate::error::{ApiError, ErrorCode};
use crate::extract::ApiJson;
use crate::routes::OperationClass;
use crate::routes::sign_in::{ChallengeIssued, key_error};
use crate::routes::support::{
    CaptchaReply, base64, base64_field, check_id, require_captcha, send_code,
};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Extension, Json, Router};
use inspay_core::sensitive::{Masked, PersonalField};
use inspay_identity::otp::{OneTimeCode, OtpPurpose};
use inspay_identity::sign_in_flow::Factor;
use inspay_store::credential_keys::{KeyKind, KeyProof};
use inspay_store::one_time_codes::CodeCheck;
use schemars::{JsonSchema, SchemaGenerator};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// Route declarations.
pub const SPECS: &[RouteSpec] = &[
    RouteSpec {
        method: "POST",
        path: "/v1/step-up",
        class: OperationClass::InformationQuery,
        need: Need::Full,
        permission: None,
        summary: "Starts a step-up for one operation: sends an SMS code (202) or issues a key challenge (200).",
        body: Some(SchemaGenerator::subschema_for::<Begin>),
        response: Some(SchemaGenerator::subschema_for::<Begun>),
        success: &[200, 202],
    },
    RouteSpec {
        method: "POST",
        path: "/v1/step-up/verify",
        class: OperationClass::InformationQuery,
        need: Need::Full,
        permission: None,
        summary: "Answers a step-up; returns a single-use proof for the operation, sent in X-Inspay-Step-Up.",
        body: Some(SchemaGenerator::subschema_for::<Verify>),
        response: Some(SchemaGenerator::subschema_for::<Proof>),
        success: &[200],
    },
];

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/step-up", post(begin))
        .route("/v1/step-up/verify", post(verify))
}

/// A step-up for one operation.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "StepUpRequest")]
struct Begin {
    /// The operation: password-change, transaction-password, gesture, device-enrol,
    /// full-display, account-close or mobile-change.
    operation: String,
    /// `sms-code` (needs `captcha`), `device-key` or `certificate` (need `key_id`).
    method: String,
    key_id: Option<String>,
    captcha: Option<CaptchaReply>,
}

/// The code sent, or the challenge to sign.
#[derive(Serialize, JsonSchema)]
#[serde(untagged)]
#[schemars(rename = "StepUpBegun")]
enum Begun {
    Sms {
        method: &'static str,
        #[schemars(with = "String")]
        sent_to: Masked,
        expires_in_s: u32,
    },
    Key(ChallengeIssued),
}

fn operation(name: &str) -> Result<Operation, ApiError> {
    Operation::parse(name).ok_or_else(|| {
        ApiError::new(ErrorCode::InvalidField).detail(format!(
            "operation: one of {}",
            Operation::ALL.map(Operation::name).join(", ")
        ))
    })
}

/// Binds a code or challenge to this session and operation.
fn binding(caller: &Caller, operation: Operation) -> String {
    format!("{}|{}", caller.session.digest(), operation.name())
}

fn key_purpose(operation: Operation) -> String {
    format!("step-up:{}", operation.name())
}

async fn begin(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(request): ApiJson<Begin>,
) -> Result<(StatusCode, Json<Begun>), ApiError> {
    let operation = operation(&request.operation)?;
    let now = state.now_ms();
    match request.method.as_str() {
        "sms-code" => {
            require_captcha(&state, request.captcha.as_ref(), now).await?;
            let account = state.store.account_summary(&caller.account_id).await?;
            let person_id = account.person_id.ok_or_else(|| {
                ApiError::new(ErrorCode::InvalidField)
                    .detail("method: this account has no mobile number; use its key")
            })?;
            let person = state.store.person_get(&state.keyring(), &person_id).await?;
            send_code(
                &state,
                &person.mobile,
                OtpPurpose::StepUp,
                &binding(&caller, operation),
                &caller.request_id,
                now,
            )
            .await?;
            Ok((
                StatusCode::ACCEPTED,
                Json(Begun::Sms {
                    method: "sms-code",
                    sent_to: person.mobile.masked(),
                    expires_in_s: state.otp().ttl_s,
                }),
            ))
        }
        "device-key" | "certificate" => {
            let key_id = request.key_id.ok_or_else(|| {
                ApiError::new(ErrorCode::InvalidField).detail("key_id: needed for this method")
            })?;
            check_id("key_id", &key_id)?;
            let challenge = state
                .store
                .key_challenge_issue(
                    &caller.account_id,
                    &key_id,
                    &key_purpose(operation),
                    &binding(&caller, operation),
                    now,
                )
                .await
                .map_err(key_error)?;
            Ok((
                StatusCode::OK,
                Json(Begun::Key(ChallengeIssued {
                    challenge_id: challenge.id,
                    message_base64: base64(&challenge.message),
                    expires_in_s: (challenge.expires_at_ms - now).div_euclid(1000),
                })),
            ))
        }
        _ => Err(ApiError::new(ErrorCode::InvalidField)
            .detail("method: one of sms-code, device-key, certificate")),
    }
}

/// The answer: either `code`, or `challenge_id` and `signature_base64`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "StepUpVerifyRequest")]
struct Verify {
    operation: String,
    #[schemars(with = "Option<String>")]
    code: Option<Zeroizing<String>>,
    challenge_id: Option<String>,
    signature_base64: Option<String>,
}

/// A step-up proof for one operation in this session, single use.
#[derive(Serialize, JsonSchema)]
#[schemars(rename = "StepUpProof")]
struct Proof {
    step_up_token: String,
    operation: &'static str,
    expires_in_s: i64,
}

async fn verify(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(request): ApiJson<Verify>,
) -> Result<Json<Proof>, ApiError> {
    let operation = operation(&request.operation)?;
    let now = state.now_ms();
    let binding = binding(&caller, operation);
    let factor = match (
        &request.code,
        &request.challenge_id,
        &request.signature_base64,
    ) {
        (Some(code), None, None) => {
            let code = OneTimeCode::parse(code).map_err(|error| {
                ApiError::new(ErrorCode::InvalidField).detail(format!("code: {error}"))
            })?;
            let check = state
                .store
                .otp_check(
                    &state.keyring(),
                    OtpPurpose::StepUp,
                    &binding,
                    &code,
                    &state.otp(),
                    now,
                )
                .await?;
            match check {
                CodeCheck::Accepted => Some(Factor::SmsCode),
                CodeCheck::Wrong => None,
                // Nothing live to guess at: refused, not counted.
                CodeCheck::NoLiveCode => {
                    return Err(ApiError::new(ErrorCode::VerificationFailed)
                        .detail("no live code for this operation: ask for a new one"));
                }
            }
        }
        (None, Some(challenge_id), Some(signature)) => {
            check_id("challenge_id", challenge_id)?;
            let signature = base64_field("signature_base64", signature)?;
            let proof = state
                .store
                .key_challenge_answer(
                    challenge_id,
                    &key_purpose(operation),
                    &binding,
                    &signature,
                    &caller.request_id,
                    now,
                )
                .await?;
            match proof {
                KeyProof::Verified {
                    account_id, kind, ..
                } if account_id == caller.account_id => Some(match kind {
                    KeyKind::DeviceKey => Factor::DeviceKey,
                    KeyKind::Certificate => Factor::Certificate,
                }),
                _ => None,
            }
        }
        _ => {
            return Err(ApiError::new(ErrorCode::InvalidField)
                .detail("send either code, or challenge_id and signature_base64"));
        }
    };
    let Some(factor) = factor else {
        let failed = if request.code.is_some() {
            "sms-code"
        } else {
            "device-key"
        };
        state
            .store
            .factor_failure(
                &caller.account_id,
                failed,
                &state.lockout(),
                &caller.request_id,
                now,
            )
            .await?;
        return Err(ApiError::new(ErrorCode::VerificationFailed));
    };
    let ttl_s = state.settings.identity.step_up_ttl_s;
    let token = state
        .store
        .step_up_grant(
            &caller.session,
            &caller.account_id,
            operation.name(),
            factor,
            ttl_s,
            &caller.request_id,
            now,
        )
        .await?;
    Ok(Json(Proof {
        step_up_token: token.expose().to_string(),
        operation: operation.name(),
        expires_in_s: ttl_s,
    }))
}
