//! Sign-in with two independent factors (clauses 5.2.1.2, 5.3.1.2, 5.2.3).
//!
//! 1. `POST /v1/sign-in` with the login name and a knowledge factor (password or gesture).
//!    After a failed attempt for that name, a CAPTCHA is also needed. Every refusal (unknown
//!    name, wrong secret, locked, closed) is the same 401 after the same hashing work.
//! 2. The second factor, within the flow's time limit, on the flow the first step returned:
//!    an SMS code (`/sms` to send it, with a CAPTCHA; `/sms-code` to check it), or a device key
//!    or staff certificate (`/key-challenge`, then `/key` with the signature).
//!
//! The flow's stage lives in the database; a step that is replayed, skipped or out of order
//! ends the flow. A completed flow starts a session with a fresh token.
//!
//! Every sign-in gets a risk decision (issue 6 item 2; [`crate::risk::login`] explains the
//! order and what each verdict does): a source the built-in rules refuse is answered
//! `INSPAY-RISK-001` before the secret is checked; after a right secret, a risky sign-in needs
//! more than the usual two factors. The first step's answer names what (`step_up`), never why:
//! `device-key` (only the device key completes it) or `id-number` (the device key completes it;
//! after an SMS code, step 3 asks the ID number from registration,
//! `POST /v1/sign-in/{flow_id}/identity`).

use crate::auth::{LEVEL_DORMANT, LEVEL_FULL, LEVEL_INITIAL_PASSWORD, Need, RouteSpec};
use crate::error::{ApiError, ErrorCode};
use crate::extract::ApiJson;
use crate::risk::login::{Attempt, ClientIp, DeviceId, Requirement, requirement_of_flow};
use crate::routes::OperationClass;
use crate::routes::support::{
    CaptchaReply, Rid, base64, base64_field, check_id, field, knowledge_factor,
    registered_id_number, registration_data_failed, require_captcha, send_code,
};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use inspay_core::sensitive::{IdNumber, Masked, PersonalField};
use inspay_identity::login_name::LoginName;
use inspay_identity::otp::{OneTimeCode, OtpPurpose};
use inspay_identity::secret_hash::SecretKind;
use inspay_identity::sign_in_flow::{Factor, FlowError, Stage, Step};
use inspay_risk::decision::Verdict;
use inspay_store::accounts::{AccountSummary, Population, SignIn, SignInStep};
use inspay_store::credential_keys::{KeyKind, KeyProof};
use inspay_store::one_time_codes::CodeCheck;
use inspay_store::risk::SignInOutcome;
use inspay_store::sign_in_flows::StoredFlow;
use schemars::{JsonSchema, SchemaGenerator};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

const CLASS: OperationClass = OperationClass::InformationQuery;

/// Route declarations: all public (the flow id and the factors are the credentials).
pub const SPECS: &[RouteSpec] = &[
    RouteSpec {
        method: "POST",
        path: "/v1/sign-in",
        class: CLASS,
        need: Need::Public,
        permission: None,
        summary: "First sign-in step: the login name and a knowledge factor (password or gesture); starts a sign-in flow.",
        body: Some(SchemaGenerator::subschema_for::<FirstFactor>),
        response: Some(SchemaGenerator::subschema_for::<FlowStarted>),
        success: &[200],
    },
    RouteSpec {
        method: "POST",
        path: "/v1/sign-in/{flow_id}/sms",
        class: CLASS,
        need: Need::Public,
        permission: None,
        summary: "Sends the sign-in SMS code of a flow to the account's mobile number (needs a CAPTCHA).",
        body: Some(SchemaGenerator::subschema_for::<SmsSend>),
        response: Some(SchemaGenerator::subschema_for::<SmsSent>),
        success: &[202],
    },
    RouteSpec {
        method: "POST",
        path: "/v1/sign-in/{flow_id}/sms-code",
        class: CLASS,
        need: Need::Public,
        permission: None,
        summary: "Second sign-in step by SMS code: completes the flow and starts a session (200), or asks for the extra factor a risky sign-in needs (202).",
        body: Some(SchemaGenerator::subschema_for::<SmsCode>),
        response: Some(SchemaGenerator::subschema_for::<Completion>),
        success: &[200, 202],
    },
    RouteSpec {
        method: "POST",
        path: "/v1/sign-in/{flow_id}/key-challenge",
        class: CLASS,
        need: Need::Public,
        permission: None,
        summary: "Issues a challenge for a device key or staff certificate to sign.",
        body: Some(SchemaGenerator::subschema_for::<KeyChallengeRequest>),
        response: Some(SchemaGenerator::subschema_for::<ChallengeIssued>),
        success: &[200],
    },
    RouteSpec {
        method: "POST",
        path: "/v1/sign-in/{flow_id}/key",
        class: CLASS,
        need: Need::Public,
        permission: None,
        summary: "Second sign-in step by key: checks the signed challenge, completes the flow and starts a session.",
        body: Some(SchemaGenerator::subschema_for::<KeyAnswer>),
        response: Some(SchemaGenerator::subschema_for::<Completion>),
        success: &[200, 202],
    },
    RouteSpec {
        method: "POST",
        path: "/v1/sign-in/{flow_id}/identity",
        class: CLASS,
        need: Need::Public,
        permission: None,
        summary: "Third sign-in step, when the risk engine asks for it after an SMS code: the ID number given at registration; starts a session.",
        body: Some(SchemaGenerator::subschema_for::<IdentityAnswer>),
        response: Some(SchemaGenerator::subschema_for::<SessionStarted>),
        success: &[200],
    },
];

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/sign-in", post(first_factor))
        .route("/v1/sign-in/{flow_id}/sms", post(sms_send))
        .route("/v1/sign-in/{flow_id}/sms-code", post(sms_code))
        .route("/v1/sign-in/{flow_id}/key-challenge", post(key_challenge))
        .route("/v1/sign-in/{flow_id}/key", post(key_answer))
        .route("/v1/sign-in/{flow_id}/identity", post(identity))
}

/// The first sign-in step: exactly one of `password` or `gesture`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "SignInRequest")]
struct FirstFactor {
    /// A customer's mobile number, or a staff login name with `staff: true`.
    #[schemars(with = "String")]
    login_name: Zeroizing<String>,
    /// Whether this is a staff sign-in.
    #[serde(default)]
    staff: bool,
    #[schemars(with = "Option<String>")]
    password: Option<Zeroizing<String>>,
    #[schemars(with = "Option<String>")]
    gesture: Option<Zeroizing<String>>,
    /// Needed after a failed attempt for this name.
    captcha: Option<CaptchaReply>,
    /// The app's own id for this installation (16 to 64 letters, digits, `-` or `_`, the same
    /// on every sign-in from it), so the risk engine can tell a new device. The server keeps
    /// only its HMAC. Browsers leave it out.
    device_id: Option<String>,
}

/// A sign-in flow waiting for its second factor.
#[derive(Serialize, JsonSchema)]
#[schemars(rename = "SignInFlowStarted")]
struct FlowStarted {
    flow_id: String,
    /// The second factors this account can use.
    next: &'static [&'static str],
    expires_in_s: i64,
    /// Present when this sign-in needs more than usual: `device-key` (only the device key
    /// completes it) or `id-number` (the device key completes it; after an SMS code, the ID
    /// number from registration too).
    #[serde(skip_serializing_if = "Option::is_none")]
    step_up: Option<&'static str>,
}

fn refused() -> ApiError {
    ApiError::new(ErrorCode::SignInFailed)
}

async fn first_factor(
    State(state): State<AppState>,
    Rid(request_id): Rid,
    ClientIp(client): ClientIp,
    ApiJson(request): ApiJson<FirstFactor>,
) -> Result<Json<FlowStarted>, ApiError> {
    let now = state.now_ms();
    let name = if request.staff {
        LoginName::staff(&request.login_name)
    } else {
        LoginName::customer(&request.login_name)
    }
    .map_err(|error| {
        ApiError::new(ErrorCode::InvalidField).detail(format!("login_name: {error}"))
    })?;
    let device = request
        .device_id
        .as_deref()
        .map(DeviceId::parse)
        .transpose()
        .map_err(|rule| {
            ApiError::new(ErrorCode::InvalidField).detail(format!("device_id: {rule}"))
        })?;
    let (kind, secret) = knowledge_factor(request.password.as_ref(), request.gesture.as_ref())?;
    let factor = match kind {
        SecretKind::Gesture => Factor::Gesture,
        _ => Factor::Password,
    };
    let keyring = state.keyring();
    // After a failure for this name (whether or not an account has it), a CAPTCHA first.
    if state.store.name_failures(&keyring, &name).await? > 0 {
        require_captcha(&state, request.captcha.as_ref(), now).await?;
    }
    let attempt = Attempt::begin(&state, &keyring, &name, client, device.as_ref(), now).await?;
    // Before the secret is checked: a source the built-in rules refuse gets one answer,
    // whatever the name and the secret (crate::risk::login explains the order).
    if attempt.screened_out(&state.settings.risk.login) {
        return Err(attempt.refuse_early(&state, &name, now).await?);
    }
    let outcome = state
        .store
        .secret_sign_in(
            &keyring,
            &name,
            kind,
            &secret,
            SignInStep::First,
            &state.lockout(),
            &request_id,
            now,
        )
        .await?;
    let SignIn::Accepted {
        account_id,
        must_change_password,
        dormant,
    } = outcome
    else {
        state
            .store
            .name_failure_record(&keyring, &name, true, now)
            .await?;
        attempt
            .record(&state, None, SignInOutcome::Failed, None, None, None, now)
            .await?;
        return Err(refused());
    };
    let assessment = attempt.decide_accepted(&state, &account_id, now).await?;
    if assessment.decision.verdict == Verdict::Deny {
        // Answered exactly like a wrong secret, with the same trace (a CAPTCHA next time), so
        // the answer does not confirm the password.
        state
            .store
            .name_failure_record(&keyring, &name, true, now)
            .await?;
        attempt
            .denied_after_secret(&state, &account_id, &assessment.id, now)
            .await?;
        return Err(refused());
    }
    state
        .store
        .name_failure_record(&keyring, &name, false, now)
        .await?;
    let requirement = Requirement::of(assessment.decision.verdict, request.staff);
    let flow_id = state
        .store
        .sign_in_flow_start(&account_id, factor, dormant, must_change_password, now)
        .await?;
    attempt
        .record(
            &state,
            Some(&account_id),
            SignInOutcome::Started,
            Some(&flow_id),
            Some(&assessment.id),
            requirement,
            now,
        )
        .await?;
    Ok(Json(FlowStarted {
        flow_id,
        next: match (request.staff, requirement) {
            (true, _) => &["certificate"],
            (false, Some(Requirement::DeviceKey)) => &["device-key"],
            (false, _) => &["sms-code", "device-key"],
        },
        expires_in_s: state.settings.identity.sign_in_flow_ttl_s,
        step_up: requirement.map(Requirement::name),
    }))
}

/// A flow that can take its second step now, or the flow-ended error.
async fn live_flow(state: &AppState, flow_id: &str, now_ms: i64) -> Result<StoredFlow, ApiError> {
    let ended = || ApiError::new(ErrorCode::FlowEnded);
    if uuid::Uuid::parse_str(flow_id).is_err() {
        return Err(ended());
    }
    let flow = state
        .store
        .sign_in_flow_get(flow_id)
        .await?
        .ok_or_else(ended)?;
    let expired =
        now_ms.div_euclid(1000) - flow.flow.started_s >= state.settings.identity.sign_in_flow_ttl_s;
    match flow.flow.stage {
        Stage::AwaitingSecond { .. } if !expired => Ok(flow),
        _ => Err(ended()),
    }
}

/// Sends the sign-in code; the CAPTCHA is required.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "SignInSmsRequest")]
struct SmsSend {
    captcha: Option<CaptchaReply>,
}

/// Where the code went (masked) and how long it is valid.
#[derive(Serialize, JsonSchema)]
struct SmsSent {
    #[schemars(with = "String")]
    sent_to: Masked,
    expires_in_s: u32,
}

async fn sms_send(
    State(state): State<AppState>,
    Rid(request_id): Rid,
    Path(flow_id): Path<String>,
    ApiJson(request): ApiJson<SmsSend>,
) -> Result<(StatusCode, Json<SmsSent>), ApiError> {
    let now = state.now_ms();
    let flow = live_flow(&state, &flow_id, now).await?;
    sms_allowed(&state, &flow.id).await?;
    require_captcha(&state, request.captcha.as_ref(), now).await?;
    let account = state.store.account_summary(&flow.account_id).await?;
    let person_id = match (account.population, account.person_id) {
        (Population::Customer, Some(person_id)) => person_id,
        _ => {
            return Err(ApiError::new(ErrorCode::InvalidField)
                .detail("this account signs in with its certificate, not a text message"));
        }
    };
    let person = state.store.person_get(&state.keyring(), &person_id).await?;
    send_code(
        &state,
        &person.mobile,
        OtpPurpose::Login,
        &flow.id,
        &request_id,
        now,
    )
    .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(SmsSent {
            sent_to: person.mobile.masked(),
            expires_in_s: state.otp().ttl_s,
        }),
    ))
}

/// The SMS code received.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "SignInSmsCodeRequest")]
struct SmsCode {
    #[schemars(with = "String")]
    code: Zeroizing<String>,
}

/// What a completed sign-in returns.
#[derive(Serialize, JsonSchema)]
pub struct SessionStarted {
    /// The bearer token (shown once; the server keeps only its digest).
    pub session_token: String,
    /// The session level: `two-factor`, `initial-password` or `dormant`.
    pub level: &'static str,
    /// What the client must do next, if anything.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub required_next: Option<&'static str>,
    /// Idle limit.
    pub idle_timeout_s: i64,
    /// Absolute limit.
    pub absolute_timeout_s: i64,
    /// Other sessions of the account still live (policy "notify").
    pub other_sessions_active: u64,
    /// Other sessions ended (policy "sign-out-older").
    pub other_sessions_ended: u64,
}

/// What the second step answers: a session, or (202) the extra factor a risky sign-in still
/// needs.
#[derive(Serialize, JsonSchema)]
#[serde(untagged)]
#[schemars(rename = "SignInCompletion")]
enum Completion {
    Session(SessionStarted),
    Extra(ExtraFactor),
}

/// One more factor before the session: the risk engine asked for it.
#[derive(Serialize, JsonSchema)]
#[schemars(rename = "SignInExtraFactor")]
struct ExtraFactor {
    flow_id: String,
    /// `["id-number"]`: `POST /v1/sign-in/{flow_id}/identity`.
    next: &'static [&'static str],
    /// Time left on the flow.
    expires_in_s: i64,
}

async fn complete(
    state: &AppState,
    flow_id: &str,
    step: Step,
    request_id: &str,
    now_ms: i64,
) -> Result<(StatusCode, Json<Completion>), ApiError> {
    let outcome = state
        .store
        .sign_in_flow_step(
            flow_id,
            step,
            state.settings.identity.sign_in_flow_ttl_s,
            &state.lockout(),
            request_id,
            now_ms,
        )
        .await?;
    let flow = match outcome {
        Ok(flow) => flow,
        Err(FlowError::Failed) => return Err(refused()),
        Err(_) => return Err(ApiError::new(ErrorCode::FlowEnded)),
    };
    let account = state.store.account_summary(&flow.account_id).await?;
    let second = match flow.flow.stage {
        Stage::Complete { second, .. } => Some(second),
        _ => None,
    };
    // The extra factor of a risky sign-in, unless the device key (the strongest factor a
    // customer holds) was the second one, or the account is dormant (its own identity check
    // is the same factor and comes next anyway).
    let requirement = requirement_of_flow(state, &flow.id).await?;
    let extra_due = requirement.is_some()
        && second != Some(Factor::DeviceKey)
        && !flow.dormant
        && account.population == Population::Customer;
    let store = &state.store;
    if extra_due {
        if !store
            .risk_sign_in_advance(
                &flow.id,
                SignInOutcome::Started,
                SignInOutcome::AwaitingExtra,
                now_ms,
            )
            .await?
        {
            return Err(ApiError::new(ErrorCode::FlowEnded));
        }
        let ttl_s = state.settings.identity.sign_in_flow_ttl_s;
        return Ok((
            StatusCode::ACCEPTED,
            Json(Completion::Extra(ExtraFactor {
                flow_id: flow.id,
                next: &["id-number"],
                expires_in_s: (flow.flow.started_s + ttl_s - now_ms.div_euclid(1000)).max(0),
            })),
        ));
    }
    if !flow.dormant {
        // The device and region become known to the account. A dormant account's do once
        // its identity check passes and it signs in again.
        store
            .risk_sign_in_advance(
                &flow.id,
                SignInOutcome::Started,
                SignInOutcome::Completed,
                now_ms,
            )
            .await?;
    }
    let session = start_session(state, &flow, &account, request_id, now_ms).await?;
    Ok((StatusCode::OK, Json(Completion::Session(session))))
}

/// Starts the session of a completed sign-in, at the level the account's state gives.
async fn start_session(
    state: &AppState,
    flow: &StoredFlow,
    account: &AccountSummary,
    request_id: &str,
    now_ms: i64,
) -> Result<SessionStarted, ApiError> {
    // The dormant check comes first: the initial-password change follows it.
    let (level, required_next) = if flow.dormant && account.population == Population::Customer {
        (
            LEVEL_DORMANT,
            Some("confirm your identity: POST /v1/session/verify-identity"),
        )
    } else if flow.dormant {
        (
            LEVEL_DORMANT,
            Some(
                "ask a security officer to confirm your identity (inspay users reactivate), then sign in again",
            ),
        )
    } else if flow.must_change_password {
        (
            LEVEL_INITIAL_PASSWORD,
            Some("change the initial password: POST /v1/me/password"),
        )
    } else {
        (LEVEL_FULL, None)
    };
    let policy = state.session_policy();
    let (token, started) = state
        .store
        .session_start(&flow.account_id, level, &policy, request_id, now_ms)
        .await?;
    Ok(SessionStarted {
        session_token: token.expose().to_string(),
        level,
        required_next,
        idle_timeout_s: policy.idle_s,
        absolute_timeout_s: policy.absolute_s,
        other_sessions_active: started.others_kept,
        other_sessions_ended: started.others_ended,
    })
}

/// The SMS code cannot complete a flow whose risk decision asked for the device key.
async fn sms_allowed(state: &AppState, flow_id: &str) -> Result<(), ApiError> {
    if requirement_of_flow(state, flow_id).await? == Some(Requirement::DeviceKey) {
        return Err(ApiError::new(ErrorCode::InvalidField).detail(
            "this sign-in needs the device key: POST /v1/sign-in/{flow_id}/key-challenge",
        ));
    }
    Ok(())
}

async fn sms_code(
    State(state): State<AppState>,
    Rid(request_id): Rid,
    Path(flow_id): Path<String>,
    ApiJson(request): ApiJson<SmsCode>,
) -> Result<(StatusCode, Json<Completion>), ApiError> {
    let now = state.now_ms();
    let flow = live_flow(&state, &flow_id, now).await?;
    sms_allowed(&state, &flow.id).await?;
    let code = OneTimeCode::parse(&request.code)
        .map_err(|error| ApiError::new(ErrorCode::InvalidField).detail(format!("code: {error}")))?;
    let check = state
        .store
        .otp_check(
            &state.keyring(),
            OtpPurpose::Login,
            &flow.id,
            &code,
            &state.otp(),
            now,
        )
        .await?;
    let step = match check {
        CodeCheck::Accepted => Step::Verified(Factor::SmsCode),
        CodeCheck::Wrong => Step::Failed(Factor::SmsCode),
        // No live code (never sent, expired, used up, or just used by a concurrent submission
        // of the same code): nothing was guessed, so the flow is left as it is.
        CodeCheck::NoLiveCode => {
            return Err(ApiError::new(ErrorCode::FlowEnded)
                .detail("no live code for this sign-in: send a new one"));
        }
    };
    complete(&state, &flow.id, step, &request_id, now).await
}

/// The device key or certificate to be challenged.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "SignInKeyChallengeRequest")]
struct KeyChallengeRequest {
    key_id: String,
}

/// A challenge for a device key or certificate to sign.
#[derive(Serialize, JsonSchema)]
pub struct ChallengeIssued {
    /// Challenge id.
    pub challenge_id: String,
    /// The exact bytes to sign (SM2 with the default user id), base64.
    pub message_base64: String,
    /// Validity.
    pub expires_in_s: i64,
}

async fn key_challenge(
    State(state): State<AppState>,
    Path(flow_id): Path<String>,
    ApiJson(request): ApiJson<KeyChallengeRequest>,
) -> Result<Json<ChallengeIssued>, ApiError> {
    let now = state.now_ms();
    let flow = live_flow(&state, &flow_id, now).await?;
    check_id("key_id", &request.key_id)?;
    let challenge = state
        .store
        .key_challenge_issue(&flow.account_id, &request.key_id, "sign-in", &flow.id, now)
        .await
        .map_err(key_error)?;
    Ok(Json(ChallengeIssued {
        challenge_id: challenge.id,
        message_base64: base64(&challenge.message),
        expires_in_s: (challenge.expires_at_ms - now).div_euclid(1000),
    }))
}

/// Key look-up failures are one answer: no such live key for this account.
pub fn key_error(error: inspay_store::StoreError) -> ApiError {
    match error {
        inspay_store::StoreError::NotFound(_)
        | inspay_store::StoreError::Conflict(_)
        | inspay_store::StoreError::Refused(_) => ApiError::new(ErrorCode::InvalidField)
            .detail("key_id: no live key with this id for this account"),
        other => other.into(),
    }
}

/// The signed challenge.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "SignInKeyAnswer")]
struct KeyAnswer {
    challenge_id: String,
    /// SM2 signature (default user id) over the challenge message.
    signature_base64: String,
}

async fn key_answer(
    State(state): State<AppState>,
    Rid(request_id): Rid,
    Path(flow_id): Path<String>,
    ApiJson(request): ApiJson<KeyAnswer>,
) -> Result<(StatusCode, Json<Completion>), ApiError> {
    let now = state.now_ms();
    let flow = live_flow(&state, &flow_id, now).await?;
    check_id("challenge_id", &request.challenge_id)?;
    let signature = base64_field("signature_base64", &request.signature_base64)?;
    let proof = state
        .store
        .key_challenge_answer(
            &request.challenge_id,
            "sign-in",
            &flow.id,
            &signature,
            &request_id,
            now,
        )
        .await?;
    let step = match proof {
        KeyProof::Verified {
            account_id, kind, ..
        } if account_id == flow.account_id => Step::Verified(match kind {
            KeyKind::DeviceKey => Factor::DeviceKey,
            KeyKind::Certificate => Factor::Certificate,
        }),
        _ => {
            let staff = state
                .store
                .account_summary(&flow.account_id)
                .await?
                .population
                == Population::Staff;
            Step::Failed(if staff {
                Factor::Certificate
            } else {
                Factor::DeviceKey
            })
        }
    };
    complete(&state, &flow.id, step, &request_id, now).await
}

/// The ID number given at registration.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "SignInIdentityRequest")]
struct IdentityAnswer {
    #[schemars(with = "String")]
    id_number: Zeroizing<String>,
}

/// The extra factor of a risky sign-in after its SMS code: the ID number given at
/// registration, within the flow's time limit, once. A wrong one ends the flow and counts
/// toward the lockout, like a wrong code.
async fn identity(
    State(state): State<AppState>,
    Rid(request_id): Rid,
    Path(flow_id): Path<String>,
    ApiJson(request): ApiJson<IdentityAnswer>,
) -> Result<Json<SessionStarted>, ApiError> {
    let now = state.now_ms();
    let ended = || ApiError::new(ErrorCode::FlowEnded);
    if uuid::Uuid::parse_str(&flow_id).is_err() {
        return Err(ended());
    }
    let flow = state
        .store
        .sign_in_flow_get(&flow_id)
        .await?
        .ok_or_else(ended)?;
    let expired =
        now.div_euclid(1000) - flow.flow.started_s >= state.settings.identity.sign_in_flow_ttl_s;
    let waiting = state
        .store
        .risk_sign_in_of_flow(&flow.id)
        .await?
        .is_some_and(|row| row.outcome == SignInOutcome::AwaitingExtra);
    if expired || !waiting || !matches!(flow.flow.stage, Stage::Complete { .. }) {
        return Err(ended());
    }
    let typed: IdNumber = field("id_number", &request.id_number)?;
    let account = state.store.account_summary(&flow.account_id).await?;
    let person_id = account.person_id.clone().ok_or_else(ended)?;
    let locked = state
        .store
        .account_failures(&account.id)
        .await?
        .is_locked(now.div_euclid(1000));
    let person = state.store.person_get(&state.keyring(), &person_id).await?;
    let same = registered_id_number(&person, &typed);
    if locked || !same {
        state
            .store
            .risk_sign_in_advance(
                &flow.id,
                SignInOutcome::AwaitingExtra,
                SignInOutcome::Ended,
                now,
            )
            .await?;
        if !locked {
            registration_data_failed(&state, &account.id, &request_id, now).await?;
        }
        return Err(refused());
    }
    if !state
        .store
        .risk_sign_in_advance(
            &flow.id,
            SignInOutcome::AwaitingExtra,
            SignInOutcome::Completed,
            now,
        )
        .await?
    {
        return Err(ended());
    }
    Ok(Json(
        start_session(&state, &flow, &account, &request_id, now).await?,
    ))
}
