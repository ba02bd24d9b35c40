//! What the identity routes share: CAPTCHA checks, sending one-time codes, parsing fields.

use crate::edge::RequestId;
use crate::error::{ApiError, ErrorCode};
use crate::sms::{SmsError, SmsMessage};
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use inspay_core::sensitive::{Exposed, FieldKind, MobileNumber, PersonalField};
use inspay_identity::captcha::CaptchaAnswer;
use inspay_identity::gesture::Gesture;
use inspay_identity::otp::{OneTimeCode, OtpPurpose};
use inspay_identity::password_policy::PasswordRejection;
use inspay_identity::secret_hash::SecretKind;
use inspay_store::one_time_codes::IssueRefused;
use inspay_store::persons::Person;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// The request id of the current request.
pub struct Rid(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Rid {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Rid(parts
            .extensions
            .get::<RequestId>()
            .map(|id| id.0.clone())
            .unwrap_or_default()))
    }
}

/// A CAPTCHA answer as a request carries it.
#[derive(Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CaptchaReply {
    /// The id from `GET /v1/captcha`.
    pub id: String,
    /// What the person read.
    #[schemars(with = "String")]
    pub answer: Zeroizing<String>,
}

/// Redeems a CAPTCHA: single use whatever the outcome. Missing, wrong or expired answers are
/// one error (clause 5.2.1.1-e).
pub async fn require_captcha(
    state: &AppState,
    reply: Option<&CaptchaReply>,
    now_ms: i64,
) -> Result<(), ApiError> {
    let refused = || ApiError::new(ErrorCode::CaptchaRequired);
    let Some(reply) = reply else {
        return Err(refused());
    };
    let Ok(answer) = CaptchaAnswer::parse(&reply.answer) else {
        // The CAPTCHA is spent even when the answer is malformed.
        state.store.captcha_discard(&reply.id).await?;
        return Err(refused());
    };
    if state
        .store
        .captcha_redeem(&state.keyring(), &reply.id, &answer, now_ms)
        .await?
    {
        Ok(())
    } else {
        Err(refused())
    }
}

/// Issues a one-time code and sends it. Rate limits give 429 with `Retry-After`; a gateway
/// failure gives 503. The code goes only into the text message.
pub async fn send_code(
    state: &AppState,
    mobile: &MobileNumber,
    purpose: OtpPurpose,
    binding: &str,
    request_id: &str,
    now_ms: i64,
) -> Result<(), ApiError> {
    let code = issue_code(state, mobile, purpose, binding, now_ms).await?;
    deliver(state, mobile, &code, purpose, request_id).await
}

/// Issues a one-time code (counted toward the number's send limits) without sending it.
pub async fn issue_code(
    state: &AppState,
    mobile: &MobileNumber,
    purpose: OtpPurpose,
    binding: &str,
    now_ms: i64,
) -> Result<OneTimeCode, ApiError> {
    let policy = state.otp();
    let issued = state
        .store
        .otp_issue(&state.keyring(), mobile, purpose, binding, &policy, now_ms)
        .await?;
    match issued {
        Ok(code) => Ok(code),
        Err(IssueRefused::RateLimited { retry_after_s }) => {
            Err(ApiError::new(ErrorCode::TooManyRequests)
                .detail("a code was sent to this number recently or too often today")
                .retry_after(retry_after_s))
        }
    }
}

/// Sends an issued code by SMS.
pub async fn deliver(
    state: &AppState,
    mobile: &MobileNumber,
    code: &OneTimeCode,
    purpose: OtpPurpose,
    request_id: &str,
) -> Result<(), ApiError> {
    let message = SmsMessage::one_time_code(
        mobile.clone(),
        code,
        purpose,
        state.otp().ttl_s,
        request_id.to_string(),
    );
    match state.sms.send(&message).await {
        Ok(()) => Ok(()),
        Err(SmsError::Rejected(status)) => Err(ApiError::new(ErrorCode::SmsUnavailable)
            .cause(format!("gateway rejected the message: {status}"))),
        Err(error) => Err(ApiError::new(ErrorCode::SmsUnavailable).cause(error)),
    }
}

/// Parses a personal field, naming the field (never its value) when it is wrong.
pub fn field<F: PersonalField>(name: &str, raw: &str) -> Result<F, ApiError> {
    F::parse(raw)
        .map_err(|error| ApiError::new(ErrorCode::InvalidField).detail(format!("{name}: {error}")))
}

/// A weak-secret refusal naming the rule.
pub fn weak(rejection: PasswordRejection) -> ApiError {
    ApiError::new(ErrorCode::WeakSecret).detail(rejection.to_string())
}

/// The blind index of a mobile number, for binding codes to the number they were sent to.
pub fn mobile_binding(state: &AppState, mobile: &MobileNumber) -> Result<String, ApiError> {
    state
        .keyring()
        .blind_index("mobile", mobile.index_form())
        .map(|index| index.to_text())
        .map_err(|error| ApiError::new(ErrorCode::KeysUnavailable).cause(error))
}

/// Decodes standard or URL-safe base64 (with or without padding).
pub fn base64_field(name: &str, raw: &str) -> Result<Vec<u8>, ApiError> {
    use base64::Engine;
    let raw = raw.trim();
    base64::engine::general_purpose::STANDARD
        .decode(raw)
        .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(raw))
        .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(raw))
        .map_err(|_| ApiError::new(ErrorCode::InvalidField).detail(format!("{name}: not base64")))
}

/// Encodes bytes as standard base64.
pub fn base64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A request to show personal fields in full.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FullDisplayRequest {
    /// Field names: `legal_name`, `mobile`, `id_number`.
    pub fields: Vec<String>,
}

impl FullDisplayRequest {
    /// The fields asked for, parsed.
    pub fn kinds(&self) -> Result<Vec<FieldKind>, ApiError> {
        self.fields
            .iter()
            .map(|name| match name.as_str() {
                "legal_name" => Ok(FieldKind::LegalName),
                "mobile" => Ok(FieldKind::MobileNumber),
                "id_number" => Ok(FieldKind::IdNumber),
                _ => Err(ApiError::new(ErrorCode::InvalidField)
                    .detail("fields: each one of legal_name, mobile, id_number")),
            })
            .collect()
    }
}

/// Personal fields shown in full (clause 5.2.2.2-c2), only those asked for. Sent with
/// `Cache-Control: no-store` like every response; wiped when dropped.
#[derive(Serialize, Default, JsonSchema)]
#[schemars(description = "The personal fields asked for, in full.")]
pub struct FullValues {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    legal_name: Option<Zeroizing<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    mobile: Option<Zeroizing<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    id_number: Option<Zeroizing<String>>,
}

impl FullValues {
    /// Adds one of the person's fields in full.
    pub fn show(&mut self, kind: FieldKind, person: &Person) {
        let value = |text: &str| Some(Zeroizing::new(text.to_string()));
        match kind {
            FieldKind::LegalName => self.legal_name = value(person.legal_name.expose()),
            FieldKind::MobileNumber => self.mobile = value(person.mobile.expose()),
            _ => self.id_number = value(person.id_number.expose()),
        }
    }
}

/// The knowledge factor of a request: exactly one of a password or a gesture, as the secret
/// kind and the text its hash is made of.
pub fn knowledge_factor(
    password: Option<&Zeroizing<String>>,
    gesture: Option<&Zeroizing<String>>,
) -> Result<(SecretKind, Zeroizing<String>), ApiError> {
    match (password, gesture) {
        (Some(password), None) => Ok((SecretKind::LoginPassword, password.clone())),
        (None, Some(gesture)) => {
            let gesture = Gesture::parse(gesture).map_err(|error| {
                ApiError::new(ErrorCode::InvalidField).detail(format!("gesture: {error}"))
            })?;
            Ok((SecretKind::Gesture, gesture.canonical()))
        }
        _ => Err(ApiError::new(ErrorCode::InvalidField)
            .detail("send exactly one of password or gesture")),
    }
}

/// Checks that an id a client sends back (flow, challenge, key, registration, reset) has the
/// form the server gives out (a UUID), so nothing else — control characters, NUL, long text —
/// reaches a query.
pub fn check_id(name: &str, raw: &str) -> Result<(), ApiError> {
    if raw.len() == 36 && uuid::Uuid::parse_str(raw).is_ok() {
        Ok(())
    } else {
        Err(ApiError::new(ErrorCode::InvalidField)
            .detail(format!("{name}: not an id this service gave out")))
    }
}

/// Whether `typed` is the ID number `person` registered with, compared in constant time (the
/// registration-data factor: a dormant account's return, a risky sign-in, a password reset).
pub fn registered_id_number(person: &Person, typed: &inspay_core::sensitive::IdNumber) -> bool {
    inspay_crypto::sm3::constant_time_eq(
        person.id_number.index_form().as_bytes(),
        typed.index_form().as_bytes(),
    )
}

/// Counts a wrong registration-data answer toward the account's lockout.
pub async fn registration_data_failed(
    state: &AppState,
    account_id: &str,
    request_id: &str,
    now_ms: i64,
) -> Result<(), ApiError> {
    state
        .store
        .factor_failure(
            account_id,
            "registration-data",
            &state.lockout(),
            request_id,
            now_ms,
        )
        .await?;
    Ok(())
}
