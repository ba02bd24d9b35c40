//! Claims for customers (理赔, issue 5 item 3; clause 5.6.2-d2): binding a verified payout
//! account, filing a signed claim, reading one's claims with their payouts, and sending a
//! refused payout again.
//!
//! A payout account is added at the enhanced level (a step-up for `payout-account-add`): the
//! number arrives encrypted, the bank verifies it against the customer's legal name, ID number
//! and mobile, and only then is it stored (sealed, shown masked). A claim is signed by the
//! claimant over the document of [`inspay_protocol::claims`], with a device key or the
//! signing application's key, and names the request's idempotency key so one signature files
//! one claim.

use crate::auth::{Caller, Need, Operation, RouteSpec};
use crate::error::{ApiError, ErrorCode};
use crate::extract::ApiJson;
use crate::payments::claims::{Signer, bind_payout_account, verify_party};
use crate::payments::risk::{self, FundOperation};
use crate::protocol::SignedBy;
use crate::risk::assess::Operation as RiskOperation;
use crate::risk::gate::{self, FUND_CHANNEL, Gate, OnStepUp, RequestSource};
use crate::risk::holds::HeldOperation;
use crate::routes::OperationClass;
use crate::routes::support::field;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use inspay_core::calendar::{date_at_ms, date_text, parse_date};
use inspay_core::ids::{ClaimId, PolicyId};
use inspay_core::money::Amount;
use inspay_core::sensitive::CardNumber;
use inspay_identity::authorization::Permission;
use inspay_protocol::claims::ClaimDocument;
use inspay_risk::pack::OperationKind as RiskKind;
use inspay_store::credential_keys::KeyKind;
use inspay_store::funds::{Claim, NewClaim, Payout, PayoutAccount};
use schemars::{JsonSchema, SchemaGenerator};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// Route declarations.
pub const SPECS: &[RouteSpec] = &[
    RouteSpec {
        method: "POST",
        path: "/v1/me/payout-accounts",
        class: OperationClass::FundTransaction,
        need: Need::Enhanced(Operation::PayoutAccountAdd),
        permission: Some(Permission::PayoutAccountChangeOwn),
        summary: "Adds a bank account for claim payouts (number encrypted); the bank verifies it is the caller's first.",
        body: Some(SchemaGenerator::subschema_for::<AddAccountRequest>),
        response: Some(SchemaGenerator::subschema_for::<PayoutAccountView>),
        success: &[201],
    },
    RouteSpec {
        method: "GET",
        path: "/v1/me/payout-accounts",
        class: OperationClass::InformationQuery,
        need: Need::Full,
        permission: Some(Permission::PayoutAccountChangeOwn),
        summary: "Lists the caller's verified payout accounts (masked).",
        body: None,
        response: Some(SchemaGenerator::subschema_for::<PayoutAccountList>),
        success: &[200],
    },
    RouteSpec {
        method: "DELETE",
        path: "/v1/me/payout-accounts/{payout_account_id}",
        class: OperationClass::InformationCollection,
        need: Need::Full,
        permission: Some(Permission::PayoutAccountChangeOwn),
        summary: "Removes one of the caller's payout accounts (refused while a payout to it is under way).",
        body: None,
        response: None,
        success: &[204],
    },
    RouteSpec {
        method: "POST",
        path: "/v1/claims",
        class: OperationClass::FundTransaction,
        need: Need::Full,
        permission: Some(Permission::ClaimSubmitOwn),
        summary: "Files a claim on an active policy, signed by the claimant over the claim document.",
        body: Some(SchemaGenerator::subschema_for::<FileRequest>),
        response: Some(SchemaGenerator::subschema_for::<ClaimView>),
        success: &[201],
    },
    RouteSpec {
        method: "GET",
        path: "/v1/me/claims",
        class: OperationClass::InformationQuery,
        need: Need::Full,
        permission: Some(Permission::ClaimReadOwn),
        summary: "Lists the caller's claims with their payouts, newest first.",
        body: None,
        response: Some(SchemaGenerator::subschema_for::<ClaimList>),
        success: &[200],
    },
    RouteSpec {
        method: "GET",
        path: "/v1/me/claims/{claim_id}",
        class: OperationClass::InformationQuery,
        need: Need::Full,
        permission: Some(Permission::ClaimReadOwn),
        summary: "One of the caller's claims with its payouts.",
        body: None,
        response: Some(SchemaGenerator::subschema_for::<ClaimView>),
        success: &[200],
    },
    RouteSpec {
        method: "POST",
        path: "/v1/me/claims/{claim_id}/payout",
        class: OperationClass::FundTransaction,
        need: Need::Full,
        permission: Some(Permission::ClaimSubmitOwn),
        summary: "Sends an approved claim's refused payout again, to a verified payout account.",
        body: Some(SchemaGenerator::subschema_for::<PayoutRequest>),
        response: Some(SchemaGenerator::subschema_for::<ClaimView>),
        success: &[202],
    },
];

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/v1/me/payout-accounts",
            post(add_account).get(list_accounts),
        )
        .route(
            "/v1/me/payout-accounts/{payout_account_id}",
            axum::routing::delete(remove_account),
        )
        .route("/v1/claims", post(file))
        .route("/v1/me/claims", get(list))
        .route("/v1/me/claims/{claim_id}", get(one))
        .route("/v1/me/claims/{claim_id}/payout", post(restart_payout))
}

/// A claim id from a path: malformed is "not found".
pub(crate) fn claim_id(raw: &str) -> Result<ClaimId, ApiError> {
    ClaimId::parse(raw).map_err(|_| ApiError::new(ErrorCode::NotFound))
}

/// The request's idempotency key, as the claim document names it.
pub(crate) fn idempotency_key(headers: &HeaderMap) -> Result<String, ApiError> {
    headers
        .get(inspay_protocol::IDEMPOTENCY_HEADER)
        .and_then(|value| value.to_str().ok())
        .filter(|key| !key.is_empty() && key.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_string)
        .ok_or_else(|| ApiError::new(ErrorCode::IdempotencyKeyRequired))
}

/// A payout account to add: the number encrypted to the server's field-transport key.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct AddAccountRequest {
    #[schemars(with = "String")]
    account_number: Zeroizing<String>,
}

/// A verified payout account.
#[derive(Serialize, JsonSchema)]
pub(crate) struct PayoutAccountView {
    id: String,
    account: String,
    verified_at_ms: i64,
}

fn account_view(account: &PayoutAccount) -> PayoutAccountView {
    PayoutAccountView {
        id: account.id.clone(),
        account: account.account_masked.clone(),
        verified_at_ms: account.verified_at_ms,
    }
}

/// The caller's payout accounts.
#[derive(Serialize, JsonSchema)]
struct PayoutAccountList {
    payout_accounts: Vec<PayoutAccountView>,
}

async fn add_account(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(request): ApiJson<AddAccountRequest>,
) -> Result<(StatusCode, Json<PayoutAccountView>), ApiError> {
    let number = field::<CardNumber>("account_number", &request.account_number)?;
    drop(request);
    let account =
        bind_payout_account(&state, &caller.account_id, number, &caller.request_id).await?;
    Ok((StatusCode::CREATED, Json(account_view(&account))))
}

async fn list_accounts(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<PayoutAccountList>, ApiError> {
    let accounts = state
        .store
        .payout_accounts(&state.keyring(), &caller.account_id)
        .await?;
    Ok(Json(PayoutAccountList {
        payout_accounts: accounts.iter().map(account_view).collect(),
    }))
}

async fn remove_account(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(raw_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    if uuid::Uuid::parse_str(&raw_id).is_err() {
        return Err(ApiError::new(ErrorCode::NotFound));
    }
    let removed = state
        .store
        .payout_account_remove(
            &state.keyring(),
            &caller.account_id,
            &raw_id,
            &caller.request_id,
            state.now_ms(),
        )
        .await?;
    if removed {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::new(ErrorCode::NotFound))
    }
}

/// Which key signed the claim document.
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
enum SignedWith {
    /// A device key of the claimant's account (its id).
    DeviceKey(String),
    /// The client application's key that signs the request.
    Application,
}

/// A claim, with the claimant's signature over its document.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct FileRequest {
    policy_id: String,
    claimed_fen: i64,
    /// `YYYY-MM-DD`.
    incident_on: String,
    /// What happened, at most 500 characters.
    description: String,
    payout_account_id: String,
    signed_with: SignedWith,
    /// Base64 of the DER SM2 signature over the claim document.
    signature: String,
}

/// A payout of a claim.
#[derive(Serialize, JsonSchema)]
pub(crate) struct PayoutView {
    id: String,
    amount_fen: i64,
    status: &'static str,
    payout_account_id: String,
    failure_code: Option<String>,
    created_at_ms: i64,
    settled_at_ms: Option<i64>,
}

/// A claim as its claimant and staff see it.
#[derive(Serialize, JsonSchema)]
pub(crate) struct ClaimView {
    pub(crate) id: String,
    policy_id: String,
    claimant_account_id: String,
    claimed_fen: i64,
    incident_on: String,
    status: &'static str,
    approved_fen: Option<i64>,
    payout_account_id: String,
    claimant_signer: String,
    decided_by: Option<String>,
    second_approver: Option<String>,
    created_at_ms: i64,
    updated_at_ms: i64,
    payouts: Vec<PayoutView>,
}

pub(crate) fn claim_view(claim: &Claim, payouts: &[Payout]) -> ClaimView {
    ClaimView {
        id: claim.id.to_string(),
        policy_id: claim.policy_id.to_string(),
        claimant_account_id: claim.claimant_account_id.clone(),
        claimed_fen: claim.claimed.fen(),
        incident_on: date_text(claim.incident_on),
        status: claim.status.as_str(),
        approved_fen: claim.approved.map(Amount::fen),
        payout_account_id: claim.payout_account_id.clone(),
        claimant_signer: claim.claimant_signature.signer.clone(),
        decided_by: claim
            .decision
            .as_ref()
            .map(|decision| decision.adjuster_account_id.clone()),
        second_approver: claim
            .approval
            .as_ref()
            .map(|approval| approval.approver_account_id.clone()),
        created_at_ms: claim.created_at_ms,
        updated_at_ms: claim.updated_at_ms,
        payouts: payouts
            .iter()
            .map(|payout| PayoutView {
                id: payout.id.to_string(),
                amount_fen: payout.amount.fen(),
                status: payout.status.as_str(),
                payout_account_id: payout.payout_account_id.clone(),
                failure_code: payout.failure_code.clone(),
                created_at_ms: payout.created_at_ms,
                settled_at_ms: payout.settled_at_ms,
            })
            .collect(),
    }
}

/// The caller's claims.
#[derive(Serialize, JsonSchema)]
struct ClaimList {
    claims: Vec<ClaimView>,
}

async fn file(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    signed: Option<Extension<SignedBy>>,
    headers: HeaderMap,
    ApiJson(request): ApiJson<FileRequest>,
) -> Result<(StatusCode, Json<ClaimView>), ApiError> {
    let invalid = |detail: &'static str| ApiError::new(ErrorCode::InvalidField).detail(detail);
    let policy_id =
        PolicyId::parse(&request.policy_id).map_err(|_| invalid("policy_id: not a policy id"))?;
    let claimed = Amount::from_fen(request.claimed_fen)
        .map_err(|_| invalid("claimed_fen: a positive amount in fen"))?;
    let incident_on = parse_date(&request.incident_on)
        .ok_or_else(|| invalid("incident_on: a date, YYYY-MM-DD"))?;
    if request.description.trim().is_empty()
        || request.description.chars().count() > inspay_store::funds::DESCRIPTION_CHARS_MAX
    {
        return Err(invalid("description: 1 to 500 characters"));
    }
    if uuid::Uuid::parse_str(&request.payout_account_id).is_err() {
        return Err(invalid("payout_account_id: not a payout account id"));
    }
    let key = idempotency_key(&headers)?;
    let incident_text = date_text(incident_on);
    let document = ClaimDocument {
        policy_id: policy_id.as_str(),
        claimant: &caller.account_id,
        claimed_fen: claimed.fen(),
        incident_on: &incident_text,
        description: &request.description,
        payout_account_id: &request.payout_account_id,
        idempotency_key: &key,
    }
    .to_bytes();
    let signer = match &request.signed_with {
        SignedWith::DeviceKey(id) => Signer::AccountKey(id.clone()),
        SignedWith::Application => Signer::Application,
    };
    let signature = verify_party(
        &state,
        &caller.account_id,
        &signer,
        KeyKind::DeviceKey,
        signed.as_ref().map(|Extension(signed)| signed),
        &document,
        &request.signature,
    )
    .await?;
    let now = state.now_ms();
    let claim = state
        .store
        .claim_file(
            &state.keyring(),
            NewClaim {
                policy_id: &policy_id,
                claimant: &caller.account_id,
                claimed,
                incident_on,
                description: &request.description,
                payout_account_id: &request.payout_account_id,
                idempotency_key: &key,
                signature,
                today: date_at_ms(now),
            },
            &caller.request_id,
            now,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(claim_view(&claim, &[]))))
}

async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<ClaimList>, ApiError> {
    let keyring = state.keyring();
    let claims = state
        .store
        .claims_of_claimant(&keyring, &caller.account_id)
        .await?;
    let mut views = Vec::with_capacity(claims.len());
    for claim in &claims {
        let payouts = state.store.payouts_of_claim(&keyring, &claim.id).await?;
        views.push(claim_view(claim, &payouts));
    }
    Ok(Json(ClaimList { claims: views }))
}

async fn one(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(raw_id): Path<String>,
) -> Result<Json<ClaimView>, ApiError> {
    let id = claim_id(&raw_id)?;
    let keyring = state.keyring();
    let claim = state
        .store
        .claim(&keyring, &id, Some(&caller.account_id))
        .await?;
    let payouts = state.store.payouts_of_claim(&keyring, &id).await?;
    Ok(Json(claim_view(&claim, &payouts)))
}

/// Where to send the payout now.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct PayoutRequest {
    payout_account_id: String,
}

async fn restart_payout(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    source_of: RequestSource,
    Path(raw_id): Path<String>,
    ApiJson(request): ApiJson<PayoutRequest>,
) -> Result<(StatusCode, Json<ClaimView>), ApiError> {
    let id = claim_id(&raw_id)?;
    if uuid::Uuid::parse_str(&request.payout_account_id).is_err() {
        return Err(ApiError::new(ErrorCode::InvalidField)
            .detail("payout_account_id: not a payout account id"));
    }
    let keyring = state.keyring();
    let claim = state
        .store
        .claim(&keyring, &id, Some(&caller.account_id))
        .await?;
    let passed = if let Some(amount) = claim.approved {
        let operation = FundOperation::ClaimPayout {
            account_id: &caller.account_id,
            amount,
        };
        let now = state.now_ms();
        risk::check(&state, operation, now).await?;
        // A new destination for money is what account takeover looks for: the engine sees how
        // recently the new account was bound. The route has no step-up of its own, so a
        // step-up verdict holds the restart for review.
        let facts = gate::payout_facts(&state, &claim, &request.payout_account_id, now).await?;
        let gate = Gate {
            operation: RiskOperation {
                amount_fen: amount.fen(),
                product: &facts.product,
                reference: Some(id.as_str()),
                payout_account_bound_at_ms: facts.payout_account_bound_at_ms,
                policy_started_at_ms: Some(facts.policy_started_at_ms),
                client_ip: Some(source_of.ip),
                app_id: source_of.app_id.as_deref(),
                ..RiskOperation::new(RiskKind::ClaimPayout, &caller.account_id, FUND_CHANNEL)
            },
            requested_by: &caller.account_id,
            held: HeldOperation::PayoutRestart {
                claim_id: id.to_string(),
                payout_account_id: request.payout_account_id.clone(),
            },
            on_step_up: OnStepUp::Review,
        };
        Some(gate::pass(&state, &gate, now).await?)
    } else {
        None
    };
    let step = state
        .store
        .claim_payout_restart(
            &keyring,
            &id,
            &caller.account_id,
            &request.payout_account_id,
            &caller.request_id,
            state.now_ms(),
        )
        .await?;
    if let Some(passed) = passed {
        passed.went_ahead(&state).await;
    }
    let payouts = state.store.payouts_of_claim(&keyring, &id).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(claim_view(&step.claim, &payouts)),
    ))
}
