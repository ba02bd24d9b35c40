//! The signed-in person's own account (clauses 5.2.2.2-c2, 5.2.4, 5.2.1.1, 6.1.4, 6.1.5,
//! 5.6.5-a4): profile (masked), full display after a step-up (audited), the login password,
//! the transaction password, the gesture, device keys, consents, and closing the account.

use crate::auth::{Caller, Need, Operation, RouteSpec};
use crate::error::{ApiError, ErrorCode};
use crate::extract::ApiJson;
use crate::notice;
use crate::routes::OperationClass;
use crate::routes::registration::check_consent;
use crate::routes::support::{FullDisplayRequest, FullValues, base64_field, check_id, weak};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post, put};
use axum::{Extension, Json, Router};
use inspay_core::sensitive::{Masked, PersonalField, TransactionPassword};
use inspay_crypto::sm2::Sm2PublicKey;
use inspay_identity::authorization::Permission;
use inspay_identity::gesture::Gesture;
use inspay_identity::password_policy::{
    LoginPasswordPolicy, PersonalData, check_transaction_password,
};
use inspay_identity::secret_hash::{SecretHash, SecretKind};
use inspay_store::audit::{AuditEvent, AuditValue, Outcome};
use inspay_store::credentials::ChangeRefused;
use inspay_store::keys::Actor;
use inspay_store::persons::Person;
use schemars::{JsonSchema, SchemaGenerator};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use zeroize::Zeroizing;

const QUERY: OperationClass = OperationClass::InformationQuery;
const COLLECT: OperationClass = OperationClass::InformationCollection;

/// Route declarations.
pub const SPECS: &[RouteSpec] = &[
    RouteSpec {
        method: "GET",
        path: "/v1/me",
        class: QUERY,
        need: Need::Full,
        permission: None,
        summary: "The signed-in person's profile, personal fields masked, and enrolled factors.",
        body: None,
        response: Some(SchemaGenerator::subschema_for::<Profile>),
        success: &[200],
    },
    RouteSpec {
        method: "POST",
        path: "/v1/me/full-display",
        class: QUERY,
        need: Need::Enhanced(Operation::FullDisplay),
        permission: Some(Permission::ProfileReadOwn),
        summary: "Shows the person's own fields in full after a fresh step-up; audited.",
        body: Some(SchemaGenerator::subschema_for::<FullDisplayRequest>),
        response: Some(SchemaGenerator::subschema_for::<FullValues>),
        success: &[200],
    },
    RouteSpec {
        method: "POST",
        path: "/v1/me/password",
        class: COLLECT,
        need: Need::PasswordChange,
        permission: None,
        summary: "Changes the login password (with a step-up, or in an initial-password session); ends every session.",
        body: Some(SchemaGenerator::subschema_for::<ChangePassword>),
        response: Some(SchemaGenerator::subschema_for::<SecretChanged>),
        success: &[200],
    },
    RouteSpec {
        method: "PUT",
        path: "/v1/me/transaction-password",
        class: COLLECT,
        need: Need::Enhanced(Operation::TransactionPassword),
        permission: Some(Permission::ProfileUpdateOwn),
        summary: "Sets or changes the 6-digit transaction password.",
        body: Some(SchemaGenerator::subschema_for::<SecretUpdate>),
        response: Some(SchemaGenerator::subschema_for::<SecretChanged>),
        success: &[200],
    },
    RouteSpec {
        method: "PUT",
        path: "/v1/me/gesture",
        class: COLLECT,
        need: Need::Enhanced(Operation::Gesture),
        permission: Some(Permission::ProfileUpdateOwn),
        summary: "Enrols or changes the gesture pattern.",
        body: Some(SchemaGenerator::subschema_for::<SecretUpdate>),
        response: Some(SchemaGenerator::subschema_for::<SecretChanged>),
        success: &[200],
    },
    RouteSpec {
        method: "GET",
        path: "/v1/me/devices",
        class: QUERY,
        need: Need::Full,
        permission: Some(Permission::ProfileReadOwn),
        summary: "The account's device keys and certificates.",
        body: None,
        response: Some(SchemaGenerator::subschema_for::<Vec<Device>>),
        success: &[200],
    },
    RouteSpec {
        method: "POST",
        path: "/v1/me/devices",
        class: COLLECT,
        need: Need::Enhanced(Operation::DeviceEnrol),
        permission: Some(Permission::ProfileUpdateOwn),
        summary: "Enrols a device key (public key only).",
        body: Some(SchemaGenerator::subschema_for::<EnrolDevice>),
        response: Some(SchemaGenerator::subschema_for::<Enrolled>),
        success: &[201],
    },
    RouteSpec {
        method: "DELETE",
        path: "/v1/me/devices/{key_id}",
        class: COLLECT,
        need: Need::Full,
        permission: Some(Permission::ProfileUpdateOwn),
        summary: "Revokes a device key.",
        body: None,
        response: None,
        success: &[204],
    },
    RouteSpec {
        method: "GET",
        path: "/v1/me/consents",
        class: QUERY,
        need: Need::Full,
        permission: Some(Permission::ProfileReadOwn),
        summary: "The person's current answer to every purpose of the privacy notice.",
        body: None,
        response: Some(SchemaGenerator::subschema_for::<Consents>),
        success: &[200],
    },
    RouteSpec {
        method: "PUT",
        path: "/v1/me/consents",
        class: COLLECT,
        need: Need::Full,
        permission: Some(Permission::ProfileUpdateOwn),
        summary: "Grants or withdraws optional purposes of the privacy notice.",
        body: Some(SchemaGenerator::subschema_for::<ConsentUpdate>),
        response: Some(SchemaGenerator::subschema_for::<Consents>),
        success: &[200],
    },
    RouteSpec {
        method: "POST",
        path: "/v1/me/close",
        class: COLLECT,
        need: Need::Enhanced(Operation::AccountClose),
        permission: Some(Permission::ProfileUpdateOwn),
        summary: "Closes the account: sessions and device keys end now; personal data is erased after the retention period.",
        body: None,
        response: Some(SchemaGenerator::subschema_for::<ClosedResponse>),
        success: &[200],
    },
];

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/me", get(profile))
        .route("/v1/me/full-display", post(full_display))
        .route("/v1/me/password", post(change_password))
        .route("/v1/me/transaction-password", put(transaction_password))
        .route("/v1/me/gesture", put(gesture))
        .route("/v1/me/devices", get(devices).post(enrol_device))
        .route("/v1/me/devices/{key_id}", delete(revoke_device))
        .route("/v1/me/consents", get(consents).put(update_consents))
        .route("/v1/me/close", post(close))
}

/// The profile; personal fields are masked.
#[derive(Serialize, JsonSchema)]
struct Profile {
    account_id: String,
    /// `customer` or `staff`.
    population: &'static str,
    login_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    legal_name: Option<Masked>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    mobile: Option<Masked>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    id_number: Option<Masked>,
    /// The factors enrolled.
    factors: Vec<String>,
    /// The roles held (clause 5.3.2.1), so a client shows only the pages they open.
    roles: Vec<&'static str>,
    /// What the roles allow, by permission name.
    permissions: Vec<&'static str>,
}

async fn person_of(state: &AppState, account_id: &str) -> Result<Option<Person>, ApiError> {
    let account = state.store.account_summary(account_id).await?;
    match account.person_id {
        Some(person_id) => Ok(Some(
            state.store.person_get(&state.keyring(), &person_id).await?,
        )),
        None => Ok(None),
    }
}

/// The person's own data, which a new secret must not resemble (clause 5.2.4.1).
fn personal_data(person: Option<&Person>) -> PersonalData<'_> {
    PersonalData {
        name: person.map(|person| &person.legal_name),
        mobile: person.map(|person| &person.mobile),
        id_number: person.map(|person| &person.id_number),
        username: None,
    }
}

/// Masked fields only (clause 5.2.2.2-c2).
async fn profile(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<Profile>, ApiError> {
    let account = state.store.account_summary(&caller.account_id).await?;
    let person = person_of(&state, &caller.account_id).await?;
    let mut factors = account.secrets.clone();
    let now = state.now_ms();
    for key in state.store.credential_keys_list(&caller.account_id).await? {
        if key.is_live(now) {
            factors.push(key.kind.name().to_string());
        }
    }
    if person.is_some() {
        factors.push("sms-code".into());
    }
    factors.sort();
    factors.dedup();
    let grants = state.store.grants(&caller.account_id).await?;
    Ok(Json(Profile {
        roles: grants.roles().iter().map(|role| role.name()).collect(),
        permissions: inspay_identity::authorization::Permission::ALL
            .iter()
            .filter(|permission| grants.allows(**permission))
            .map(|permission| permission.name())
            .collect(),
        account_id: account.id,
        population: match account.population {
            inspay_store::accounts::Population::Customer => "customer",
            inspay_store::accounts::Population::Staff => "staff",
        },
        login_name: account.login_name_display,
        legal_name: person.as_ref().map(|person| person.legal_name.masked()),
        mobile: person.as_ref().map(|person| person.mobile.masked()),
        id_number: person.as_ref().map(|person| person.id_number.masked()),
        factors,
    }))
}

/// Full display after a fresh step-up; audited with the fields shown (clause 5.2.2.2-c2).
async fn full_display(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(request): ApiJson<FullDisplayRequest>,
) -> Result<Json<FullValues>, ApiError> {
    let person = person_of(&state, &caller.account_id)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound))?;
    let mut shown = FullValues::default();
    let mut names = vec![];
    for kind in request.kinds()? {
        shown.show(kind, &person);
        names.push(kind.name());
    }
    names.sort();
    names.dedup();
    let object = format!("person:{}", person.id);
    state
        .store
        .audit(
            &AuditEvent {
                actor: &format!("account:{}", caller.account_id),
                action: "person.full-display",
                object: &object,
                outcome: Outcome::Success,
                request_id: &caller.request_id,
                details: &[("fields", AuditValue::Text(names.join(",")))],
            },
            state.now_ms(),
        )
        .await?;
    Ok(Json(shown))
}

/// The current and the new login password.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "PasswordChangeRequest")]
struct ChangePassword {
    #[schemars(with = "String")]
    current_password: Zeroizing<String>,
    #[schemars(with = "String")]
    new_password: Zeroizing<String>,
}

/// The secret was set or changed.
#[derive(Serialize, JsonSchema)]
struct SecretChanged {
    sessions_ended: u64,
    next: &'static str,
}

fn change_refusal(refusal: ChangeRefused) -> ApiError {
    match refusal {
        ChangeRefused::WrongCurrent | ChangeRefused::Locked => {
            ApiError::new(ErrorCode::VerificationFailed)
                .detail("the current secret is not right (wrong attempts count toward the lock)")
        }
        ChangeRefused::Reused => ApiError::new(ErrorCode::WeakSecret)
            .detail("the new secret must differ from the current one and the last 5"),
        ChangeRefused::SameAsOtherFactor => ApiError::new(ErrorCode::WeakSecret)
            .detail("the login password and the transaction password must differ"),
    }
}

async fn change_password(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(request): ApiJson<ChangePassword>,
) -> Result<Json<SecretChanged>, ApiError> {
    let person = person_of(&state, &caller.account_id).await?;
    let personal = personal_data(person.as_ref());
    LoginPasswordPolicy::default()
        .check(&request.new_password, &personal)
        .map_err(weak)?;
    let changed = state
        .store
        .secret_change(
            &caller.account_id,
            SecretKind::LoginPassword,
            &request.current_password,
            &request.new_password,
            state.settings.identity.password_iterations,
            &state.lockout(),
            &caller.request_id,
            state.now_ms(),
        )
        .await?
        .map_err(change_refusal)?;
    Ok(Json(SecretChanged {
        sessions_ended: changed.sessions_ended,
        next: "every session ended: sign in again with the new password",
    }))
}

/// A new secret; `current` is needed to change one already enrolled.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "SecretUpdateRequest")]
struct SecretUpdate {
    #[schemars(with = "Option<String>")]
    current: Option<Zeroizing<String>>,
    #[schemars(with = "String")]
    new: Zeroizing<String>,
}

/// Sets (first time) or changes the 6-digit transaction password: never trivial, never the
/// login password (clauses 5.2.1.1-b, 5.2.4.1).
async fn transaction_password(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(request): ApiJson<SecretUpdate>,
) -> Result<Json<SecretChanged>, ApiError> {
    let new = TransactionPassword::parse(&request.new)
        .map_err(|error| ApiError::new(ErrorCode::InvalidField).detail(format!("new: {error}")))?;
    let person = person_of(&state, &caller.account_id).await?;
    let personal = personal_data(person.as_ref());
    check_transaction_password(&new, None, &personal).map_err(weak)?;
    set_or_change(&state, &caller, SecretKind::TransactionPassword, request).await
}

/// Sets or changes the gesture pattern.
async fn gesture(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(request): ApiJson<SecretUpdate>,
) -> Result<Json<SecretChanged>, ApiError> {
    let new = Gesture::parse(&request.new)
        .map_err(|error| ApiError::new(ErrorCode::InvalidField).detail(format!("new: {error}")))?;
    let current = match &request.current {
        Some(current) => Some(
            Gesture::parse(current)
                .map_err(|error| {
                    ApiError::new(ErrorCode::InvalidField).detail(format!("current: {error}"))
                })?
                .canonical(),
        ),
        None => None,
    };
    let request = SecretUpdate {
        current,
        new: new.canonical(),
    };
    set_or_change(&state, &caller, SecretKind::Gesture, request).await
}

async fn set_or_change(
    state: &AppState,
    caller: &Caller,
    kind: SecretKind,
    request: SecretUpdate,
) -> Result<Json<SecretChanged>, ApiError> {
    let now = state.now_ms();
    let hashes = state.store.secret_hashes(&caller.account_id).await?;
    let enrolled = hashes.iter().any(|hash| hash.kind() == kind);
    match (enrolled, request.current) {
        (true, Some(current)) => {
            let changed = state
                .store
                .secret_change(
                    &caller.account_id,
                    kind,
                    &current,
                    &request.new,
                    state.settings.identity.password_iterations,
                    &state.lockout(),
                    &caller.request_id,
                    now,
                )
                .await?
                .map_err(change_refusal)?;
            Ok(Json(SecretChanged {
                sessions_ended: changed.sessions_ended,
                next: "every session ended: sign in again",
            }))
        }
        (true, None) => Err(ApiError::new(ErrorCode::InvalidField)
            .detail("current: needed to change an enrolled secret")),
        (false, _) => {
            if kind == SecretKind::TransactionPassword
                && hashes.iter().any(|hash| {
                    hash.kind() == SecretKind::LoginPassword && hash.verify(request.new.as_bytes())
                })
            {
                return Err(change_refusal(ChangeRefused::SameAsOtherFactor));
            }
            let hash = SecretHash::new(
                kind,
                request.new.as_bytes(),
                state.settings.identity.password_iterations,
            )
            .map_err(|error| ApiError::new(ErrorCode::Internal).cause(error))?;
            state
                .store
                .secret_enrol(&caller.account_id, &hash, &caller.request_id, now)
                .await?;
            Ok(Json(SecretChanged {
                sessions_ended: 0,
                next: "enrolled",
            }))
        }
    }
}

/// A device key or certificate of the account.
#[derive(Serialize, JsonSchema)]
struct Device {
    key_id: String,
    kind: &'static str,
    label: String,
    fingerprint: String,
    created_at_ms: i64,
    last_used_at_ms: Option<i64>,
    live: bool,
}

async fn devices(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<Vec<Device>>, ApiError> {
    let now = state.now_ms();
    let keys = state.store.credential_keys_list(&caller.account_id).await?;
    Ok(Json(
        keys.into_iter()
            .map(|key| Device {
                live: key.is_live(now),
                key_id: key.id,
                kind: key.kind.name(),
                label: key.label,
                fingerprint: key.fingerprint,
                created_at_ms: key.created_at_ms,
                last_used_at_ms: key.last_used_at_ms,
            })
            .collect(),
    ))
}

/// A device key to enrol: the public key only. There is no field for anything biometric:
/// the device checks its owner locally and proves it by signing (clause 5.2.1.1-d3).
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "DeviceEnrolRequest")]
struct EnrolDevice {
    /// SM2 public key: SEC1 point (base64) or SPKI PEM.
    public_key: String,
    label: String,
}

/// The enrolled key's id.
#[derive(Serialize, JsonSchema)]
#[schemars(rename = "DeviceEnrolled")]
struct Enrolled {
    key_id: String,
}

async fn enrol_device(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(request): ApiJson<EnrolDevice>,
) -> Result<(StatusCode, Json<Enrolled>), ApiError> {
    let bad = || {
        ApiError::new(ErrorCode::InvalidField)
            .detail("public_key: an SM2 public key, SEC1 point in base64 or SPKI PEM")
    };
    let key = if request.public_key.contains("BEGIN PUBLIC KEY") {
        Sm2PublicKey::from_spki_pem(&request.public_key).map_err(|_| bad())?
    } else {
        Sm2PublicKey::from_sec1(&base64_field("public_key", &request.public_key)?)
            .map_err(|_| bad())?
    };
    let key_id = state
        .store
        .device_key_enrol(
            &caller.account_id,
            &key,
            &request.label,
            &caller.request_id,
            state.now_ms(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(Enrolled { key_id })))
}

async fn revoke_device(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(key_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    check_id("key_id", &key_id)?;
    let who_name = format!("account:{}", caller.account_id);
    let revoked = state
        .store
        .credential_key_revoke(
            &caller.account_id,
            &key_id,
            Actor {
                actor: &who_name,
                request_id: &caller.request_id,
            },
            state.now_ms(),
        )
        .await?;
    if revoked {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::new(ErrorCode::NotFound))
    }
}

/// The current answer to the notice, by purpose id.
#[derive(Serialize, JsonSchema)]
struct Consents {
    notice_version: &'static str,
    choices: BTreeMap<String, bool>,
}

async fn consents(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<Consents>, ApiError> {
    Ok(Json(Consents {
        notice_version: notice::VERSION,
        choices: state.store.consent_current(&caller.account_id).await?,
    }))
}

/// A new answer to the notice, by purpose id.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "ConsentUpdateRequest")]
struct ConsentUpdate {
    notice_version: String,
    choices: BTreeMap<String, bool>,
}

/// Records a new answer to the notice. Optional purposes can be granted or withdrawn at any
/// time; a required purpose cannot be withdrawn while the account is open (closing the
/// account is how to stop the service).
async fn update_consents(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(request): ApiJson<ConsentUpdate>,
) -> Result<Json<Consents>, ApiError> {
    let choices = check_consent(&request.notice_version, &request.choices)?;
    let now = state.now_ms();
    let current = state.store.consent_current(&caller.account_id).await?;
    let mut grants = vec![];
    for (purpose, granted) in choices {
        let before = current.get(&purpose).copied().unwrap_or(false);
        if before && !granted {
            state
                .store
                .consent_withdraw(&caller.account_id, &purpose, &caller.request_id, now)
                .await?;
        } else if granted != before || !current.contains_key(&purpose) {
            grants.push((purpose, granted));
        }
    }
    if !grants.is_empty() {
        state
            .store
            .consent_record(
                &caller.account_id,
                notice::VERSION,
                &grants,
                &caller.request_id,
                now,
            )
            .await?;
    }
    consents(State(state), Extension(caller)).await
}

/// The account is closed.
#[derive(Serialize, JsonSchema)]
#[schemars(rename = "AccountClosed")]
struct ClosedResponse {
    sessions_ended: u64,
    keys_revoked: u64,
    erase_after_ms: i64,
}

/// Closes the account: sessions and device keys end now; the personal data is erased, by
/// destroying the person's data key, when the retention period ends (clause 5.6.5-a4).
async fn close(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<ClosedResponse>, ApiError> {
    let who_name = format!("account:{}", caller.account_id);
    let closed = state
        .store
        .account_close(
            &caller.account_id,
            state.settings.identity.closure_retention_days,
            Actor {
                actor: &who_name,
                request_id: &caller.request_id,
            },
            state.now_ms(),
        )
        .await?;
    Ok(Json(ClosedResponse {
        sessions_ended: closed.sessions_ended,
        keys_revoked: closed.keys_revoked,
        erase_after_ms: closed.erase_after_ms,
    }))
}
