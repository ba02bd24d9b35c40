//! Registration, the privacy notice and password reset (clauses 6.1.3 to 6.1.5, 5.2.4,
//! 5.2.4.2-e).
//!
//! Registration: `GET /v1/privacy-notice`; `POST /v1/registration/sms` (mobile and CAPTCHA)
//! sends a code bound to a fresh registration id and that number; `POST /v1/registration`
//! carries the code, the personal data, the login password and the person's answer to every
//! purpose of the notice. The consent is checked first: without a valid answer nothing is
//! stored. Then the password policy (with the person's own data), then the code.
//!
//! Reset: `POST /v1/password-reset/sms` (mobile and CAPTCHA) answers the same whether or not
//! the number has an account; `POST /v1/password-reset` needs the code and the ID number given
//! at registration, and the new password.

use crate::auth::{LEVEL_FULL, Need, RouteSpec};
use crate::error::{ApiError, ErrorCode};
use crate::extract::ApiJson;
use crate::notice;
use crate::routes::OperationClass;
use crate::routes::sign_in::SessionStarted;
use crate::routes::support::{
    CaptchaReply, Rid, check_id, field, issue_code, mobile_binding, registered_id_number,
    registration_data_failed, require_captcha, send_code, weak,
};
use crate::sms::SmsMessage;
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use inspay_core::sensitive::{Exposed, IdNumber, LegalName, MobileNumber};
use inspay_identity::login_name::LoginName;
use inspay_identity::otp::{OneTimeCode, OtpPurpose};
use inspay_identity::password_policy::{LoginPasswordPolicy, PersonalData};
use inspay_identity::secret_hash::{SecretHash, SecretKind};
use inspay_store::credentials::ChangeRefused;
use inspay_store::one_time_codes::CodeCheck;
use inspay_store::persons::NewPerson;
use schemars::{JsonSchema, SchemaGenerator};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use zeroize::Zeroizing;

/// Route declarations.
pub const SPECS: &[RouteSpec] = &[
    RouteSpec {
        method: "GET",
        path: "/v1/privacy-notice",
        class: OperationClass::InformationQuery,
        need: Need::Public,
        permission: None,
        summary: "The current privacy notice: its version, full text and every purpose.",
        body: None,
        response: Some(SchemaGenerator::subschema_for::<NoticeResponse>),
        success: &[200],
    },
    RouteSpec {
        method: "POST",
        path: "/v1/registration/sms",
        class: OperationClass::InformationCollection,
        need: Need::Public,
        permission: None,
        summary: "Registration step one: the answer to the notice, the mobile number and a CAPTCHA; sends a code.",
        body: Some(SchemaGenerator::subschema_for::<RegistrationCodeRequest>),
        response: Some(SchemaGenerator::subschema_for::<CodeSent>),
        success: &[202],
    },
    RouteSpec {
        method: "POST",
        path: "/v1/registration",
        class: OperationClass::InformationCollection,
        need: Need::Public,
        permission: None,
        summary: "Registration: the code, personal data, login password and consent; creates the account and a session.",
        body: Some(SchemaGenerator::subschema_for::<Register>),
        response: Some(SchemaGenerator::subschema_for::<Registered>),
        success: &[201],
    },
    RouteSpec {
        method: "POST",
        path: "/v1/password-reset/sms",
        class: OperationClass::InformationCollection,
        need: Need::Public,
        permission: None,
        summary: "Password reset step one: the mobile number and a CAPTCHA; answers alike whether or not it has an account.",
        body: Some(SchemaGenerator::subschema_for::<CodeRequest>),
        response: Some(SchemaGenerator::subschema_for::<CodeSent>),
        success: &[202],
    },
    RouteSpec {
        method: "POST",
        path: "/v1/password-reset",
        class: OperationClass::InformationCollection,
        need: Need::Public,
        permission: None,
        summary: "Password reset: the code, the ID number given at registration and the new password.",
        body: Some(SchemaGenerator::subschema_for::<Reset>),
        response: Some(SchemaGenerator::subschema_for::<ResetDone>),
        success: &[200],
    },
];

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/privacy-notice", get(privacy_notice))
        .route("/v1/registration/sms", post(registration_sms))
        .route("/v1/registration", post(register))
        .route("/v1/password-reset/sms", post(reset_sms))
        .route("/v1/password-reset", post(reset))
}

/// The privacy notice.
#[derive(Serialize, JsonSchema)]
#[schemars(rename = "PrivacyNotice")]
struct NoticeResponse {
    /// The version a consent answer names.
    version: &'static str,
    /// The full text, as published.
    text: String,
    /// Every purpose, each to be answered.
    #[schemars(with = "Vec<PurposeSchema>")]
    purposes: &'static [notice::PurposeText],
}

/// The schema of [`notice::PurposeText`] as it serializes (that type lives outside the
/// routes); the `purpose_schema_matches_the_notice` test keeps the two in step.
#[derive(JsonSchema)]
#[schemars(
    rename = "NoticePurpose",
    description = "One purpose of the privacy notice."
)]
#[allow(dead_code)]
struct PurposeSchema {
    /// Stable id.
    id: String,
    /// Needed to provide the service.
    required: bool,
    /// What is collected and why, in Chinese.
    description_zh: String,
    /// The same in English.
    description_en: String,
}

async fn privacy_notice() -> Json<NoticeResponse> {
    Json(NoticeResponse {
        version: notice::VERSION,
        text: notice::text(),
        purposes: notice::PURPOSES,
    })
}

/// The mobile number and a CAPTCHA (required).
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "PasswordResetCodeRequest")]
struct CodeRequest {
    #[schemars(with = "String")]
    mobile: Zeroizing<String>,
    captcha: Option<CaptchaReply>,
}

/// A code was sent (or, for a reset, the answer is the same as if it had been).
#[derive(Serialize, JsonSchema)]
struct CodeSent {
    /// Registration or reset id, to send back with the code.
    id: String,
    expires_in_s: u32,
}

fn code_binding(kind: &str, id: &str, mobile_index: &str) -> String {
    format!("{kind}:{id}:{mobile_index}")
}

/// The mobile number, a CAPTCHA (required) and the answer to the notice.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RegistrationCodeRequest {
    #[schemars(with = "String")]
    mobile: Zeroizing<String>,
    captcha: Option<CaptchaReply>,
    consent: Consent,
}

/// Sends the registration code. The mobile number is personal data: the person's answer to
/// the notice comes first, so nothing is collected before consent (clause 6.1.4); the answer
/// is recorded when the account is created.
async fn registration_sms(
    State(state): State<AppState>,
    Rid(request_id): Rid,
    ApiJson(request): ApiJson<RegistrationCodeRequest>,
) -> Result<(StatusCode, Json<CodeSent>), ApiError> {
    let now = state.now_ms();
    check_consent(&request.consent.notice_version, &request.consent.choices)?;
    let mobile: MobileNumber = field("mobile", &request.mobile)?;
    require_captcha(&state, request.captcha.as_ref(), now).await?;
    let id = uuid::Uuid::now_v7().to_string();
    let binding = code_binding("registration", &id, &mobile_binding(&state, &mobile)?);
    send_code(
        &state,
        &mobile,
        OtpPurpose::Registration,
        &binding,
        &request_id,
        now,
    )
    .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(CodeSent {
            id,
            expires_in_s: state.otp().ttl_s,
        }),
    ))
}

/// The person's answer to the privacy notice.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "ConsentAnswer")]
struct Consent {
    /// The notice version answered.
    notice_version: String,
    /// Every purpose id, granted or not.
    choices: BTreeMap<String, bool>,
}

/// The registration.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "RegistrationRequest")]
struct Register {
    /// The id from `POST /v1/registration/sms`.
    registration_id: String,
    #[schemars(with = "String")]
    code: Zeroizing<String>,
    #[schemars(with = "String")]
    mobile: Zeroizing<String>,
    #[schemars(with = "String")]
    legal_name: Zeroizing<String>,
    #[schemars(with = "String")]
    id_number: Zeroizing<String>,
    #[schemars(with = "String")]
    password: Zeroizing<String>,
    consent: Consent,
}

/// The new account and its first session.
#[derive(Serialize, JsonSchema)]
struct Registered {
    account_id: String,
    #[serde(flatten)]
    session: SessionStarted,
}

/// Checks a consent answer against the current notice.
pub fn check_consent(
    notice_version: &str,
    choices: &BTreeMap<String, bool>,
) -> Result<Vec<(String, bool)>, ApiError> {
    if notice_version != notice::VERSION {
        return Err(ApiError::new(ErrorCode::ConsentRequired).detail(format!(
            "answer the current notice, version {}",
            notice::VERSION
        )));
    }
    notice::notice()
        .accept(choices)
        .map_err(|error| ApiError::new(ErrorCode::ConsentRequired).detail(error.to_string()))
}

async fn register(
    State(state): State<AppState>,
    Rid(request_id): Rid,
    ApiJson(request): ApiJson<Register>,
) -> Result<(StatusCode, Json<Registered>), ApiError> {
    let now = state.now_ms();
    // Consent before anything is collected (clause 6.1.4).
    let choices = check_consent(&request.consent.notice_version, &request.consent.choices)?;
    let mobile: MobileNumber = field("mobile", &request.mobile)?;
    let legal_name: LegalName = field("legal_name", &request.legal_name)?;
    let id_number: IdNumber = field("id_number", &request.id_number)?;
    let personal = PersonalData {
        name: Some(&legal_name),
        mobile: Some(&mobile),
        id_number: Some(&id_number),
        username: None,
    };
    LoginPasswordPolicy::default()
        .check(&request.password, &personal)
        .map_err(weak)?;
    check_id("registration_id", &request.registration_id)?;
    let code = OneTimeCode::parse(&request.code)
        .map_err(|error| ApiError::new(ErrorCode::InvalidField).detail(format!("code: {error}")))?;
    let keyring = state.keyring();
    let binding = code_binding(
        "registration",
        &request.registration_id,
        &mobile_binding(&state, &mobile)?,
    );
    let check = state
        .store
        .otp_check(
            &keyring,
            OtpPurpose::Registration,
            &binding,
            &code,
            &state.otp(),
            now,
        )
        .await?;
    if check != CodeCheck::Accepted {
        return Err(ApiError::new(ErrorCode::VerificationFailed));
    }
    let login_name = LoginName::customer(mobile.expose()).map_err(|error| {
        ApiError::new(ErrorCode::InvalidField).detail(format!("mobile: {error}"))
    })?;
    if state
        .store
        .account_find(&keyring, &login_name)
        .await?
        .is_some()
    {
        return Err(ApiError::new(ErrorCode::Conflict)
            .detail("this mobile number already has an account: sign in or reset the password"));
    }
    let hash = SecretHash::new(
        SecretKind::LoginPassword,
        request.password.as_bytes(),
        state.settings.identity.password_iterations,
    )
    .map_err(|error| ApiError::new(ErrorCode::Internal).cause(error))?;
    // The person, the account and the consent answer: one transaction, all or nothing.
    let account_id = state
        .store
        .customer_register(
            &keyring,
            &NewPerson {
                legal_name,
                mobile,
                id_number,
            },
            &login_name,
            &hash,
            notice::VERSION,
            &choices,
            &request_id,
            now,
        )
        .await?;
    // Two factors were just proved (the code: possession of the number; the new password),
    // so registration opens the first session.
    let policy = state.session_policy();
    let (token, _) = state
        .store
        .session_start(&account_id, LEVEL_FULL, &policy, &request_id, now)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(Registered {
            account_id,
            session: SessionStarted {
                session_token: token.expose().to_string(),
                level: LEVEL_FULL,
                required_next: None,
                idle_timeout_s: policy.idle_s,
                absolute_timeout_s: policy.absolute_s,
                other_sessions_active: 0,
                other_sessions_ended: 0,
            },
        }),
    ))
}

async fn reset_sms(
    State(state): State<AppState>,
    Rid(request_id): Rid,
    ApiJson(request): ApiJson<CodeRequest>,
) -> Result<(StatusCode, Json<CodeSent>), ApiError> {
    let now = state.now_ms();
    let mobile: MobileNumber = field("mobile", &request.mobile)?;
    require_captcha(&state, request.captcha.as_ref(), now).await?;
    let id = uuid::Uuid::now_v7().to_string();
    let login_name = LoginName::customer(mobile.expose()).map_err(|error| {
        ApiError::new(ErrorCode::InvalidField).detail(format!("mobile: {error}"))
    })?;
    // The same answer whether or not the number has an account (clause 5.2.3.3): a code is
    // issued and counted toward the number's send limits either way, so the limits answer
    // alike; only an account's owner is sent it, and a gateway failure is logged, not
    // answered, since only real accounts reach the gateway.
    let binding = code_binding("reset", &id, &mobile_binding(&state, &mobile)?);
    let code = issue_code(&state, &mobile, OtpPurpose::PasswordReset, &binding, now).await?;
    if state
        .store
        .account_find(&state.keyring(), &login_name)
        .await?
        .is_some_and(|account| account.status == "active")
    {
        // Sent in the background: waiting for the gateway here would make the answer slower
        // for numbers that have an account.
        let message = SmsMessage::one_time_code(
            mobile,
            &code,
            OtpPurpose::PasswordReset,
            state.otp().ttl_s,
            request_id,
        );
        let sms = state.sms.clone();
        tokio::spawn(async move {
            if let Err(error) = sms.send(&message).await {
                tracing::error!(error = %error, "password-reset text not sent");
            }
        });
    }
    Ok((
        StatusCode::ACCEPTED,
        Json(CodeSent {
            id,
            expires_in_s: state.otp().ttl_s,
        }),
    ))
}

/// The password reset.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "PasswordResetRequest")]
struct Reset {
    /// The id from `POST /v1/password-reset/sms`.
    reset_id: String,
    #[schemars(with = "String")]
    mobile: Zeroizing<String>,
    #[schemars(with = "String")]
    code: Zeroizing<String>,
    #[schemars(with = "String")]
    id_number: Zeroizing<String>,
    #[schemars(with = "String")]
    new_password: Zeroizing<String>,
}

/// The password was reset.
#[derive(Serialize, JsonSchema)]
#[schemars(rename = "PasswordResetDone")]
struct ResetDone {
    sessions_ended: u64,
    next: &'static str,
}

async fn reset(
    State(state): State<AppState>,
    Rid(request_id): Rid,
    ApiJson(request): ApiJson<Reset>,
) -> Result<Json<ResetDone>, ApiError> {
    let now = state.now_ms();
    let mobile: MobileNumber = field("mobile", &request.mobile)?;
    let id_number: IdNumber = field("id_number", &request.id_number)?;
    let code = OneTimeCode::parse(&request.code)
        .map_err(|error| ApiError::new(ErrorCode::InvalidField).detail(format!("code: {error}")))?;
    let keyring = state.keyring();
    let login_name = LoginName::customer(mobile.expose()).map_err(|error| {
        ApiError::new(ErrorCode::InvalidField).detail(format!("mobile: {error}"))
    })?;
    check_id("reset_id", &request.reset_id)?;
    // Before anything is verified, the policy sees only what the request itself carries: a
    // check against the stored name here would tell a stranger whether that name goes with
    // the number (clause 5.2.3.3). The stored name is checked after verification.
    let typed = PersonalData {
        name: None,
        mobile: Some(&mobile),
        id_number: Some(&id_number),
        username: None,
    };
    LoginPasswordPolicy::default()
        .check(&request.new_password, &typed)
        .map_err(weak)?;
    let account = state.store.account_find(&keyring, &login_name).await?;
    let person = match account
        .as_ref()
        .and_then(|account| account.person_id.clone())
    {
        Some(person_id) => Some(state.store.person_get(&keyring, &person_id).await?),
        None => None,
    };
    let binding = code_binding(
        "reset",
        &request.reset_id,
        &mobile_binding(&state, &mobile)?,
    );
    let check = state
        .store
        .otp_check(
            &keyring,
            OtpPurpose::PasswordReset,
            &binding,
            &code,
            &state.otp(),
            now,
        )
        .await?;
    let failed = || ApiError::new(ErrorCode::VerificationFailed);
    let (Some(account), Some(person)) = (account, person) else {
        return Err(failed());
    };
    if check != CodeCheck::Accepted {
        return Err(failed());
    }
    if !registered_id_number(&person, &id_number) {
        registration_data_failed(&state, &account.id, &request_id, now).await?;
        return Err(failed());
    }
    // Verified: now the person's own name counts too.
    let personal = PersonalData {
        name: Some(&person.legal_name),
        ..typed
    };
    LoginPasswordPolicy::default()
        .check(&request.new_password, &personal)
        .map_err(weak)?;
    match state
        .store
        .password_reset(
            &account.id,
            &request.new_password,
            state.settings.identity.password_iterations,
            &request_id,
            now,
        )
        .await?
    {
        Ok(changed) => Ok(Json(ResetDone {
            sessions_ended: changed.sessions_ended,
            next: "sign in with the new password: POST /v1/sign-in",
        })),
        Err(ChangeRefused::Reused) => Err(ApiError::new(ErrorCode::WeakSecret)
            .detail("the new password must differ from the current one and the last 5")),
        Err(_) => Err(ApiError::new(ErrorCode::WeakSecret)
            .detail("the login password must differ from the transaction password")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hand-written schema of a notice purpose names exactly the fields the notice's
    /// purposes serialize with, so the OpenAPI description cannot drift from the answer.
    /// req: 5.4.2.2
    #[test]
    fn purpose_schema_matches_the_notice() {
        let schema = schemars::schema_for!(PurposeSchema);
        let mut declared: Vec<&String> = schema
            .get("properties")
            .and_then(serde_json::Value::as_object)
            .expect("properties")
            .keys()
            .collect();
        declared.sort();
        for purpose in notice::PURPOSES {
            let value = serde_json::to_value(purpose).expect("purpose serializes");
            let mut sent: Vec<&String> = value.as_object().expect("an object").keys().collect();
            sent.sort();
            assert_eq!(declared, sent);
        }
    }
}
