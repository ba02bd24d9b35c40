//! Claims for staff (issue 5 item 3; clauses 5.3.2.2, 5.6.1-d, 5.6.2-d2): the queue of
//! claims waiting for a step, one claim with its description and the verification of its
//! signatures, the adjuster's signed decision and the second approver's signed approval.
//!
//! Every route checks the data scope on the claim itself (an adjuster reaches the claims
//! assigned to them; a finance officer every claim), and a claim out of scope is "not found".
//! The adjuster signs the decision document with their registered staff key; a decision above
//! `payments.large_claim_fen` waits for a second approver with `payout.approve`, who must be
//! someone else and signs the decision again. The final approval posts the claim, starts its
//! payout and asks the risk check first.

use crate::auth::{Caller, Need, RouteSpec};
use crate::error::{ApiError, ErrorCode};
use crate::extract::ApiJson;
use crate::payments::claims::{
    SignatureCheck, Signer, keys_registered, stored_claim_document, stored_decision_document,
    verify_claim, verify_party,
};
use crate::payments::risk::{self, FundOperation};
use crate::risk::assess::Operation as RiskOperation;
use crate::risk::gate::{self, Gate, OnStepUp, RequestSource, STAFF_CHANNEL};
use crate::risk::holds::{HeldOperation, KeptSignature};
use crate::routes::OperationClass;
use crate::routes::claims::{ClaimView, claim_id, claim_view};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use inspay_core::funds::{ClaimStatus, Decision};
use inspay_core::ids::ClaimId;
use inspay_core::money::{Amount, Money};
use inspay_identity::authorization::Permission;
use inspay_protocol::claims::{ClaimVerdict, approval_document, decision_document};
use inspay_risk::pack::OperationKind as RiskKind;
use inspay_store::audit::{AuditEvent, Outcome};
use inspay_store::authorization::Target;
use inspay_store::credential_keys::KeyKind;
use inspay_store::funds::{Claim, NewDecision, SecondVerdict};
use schemars::{JsonSchema, SchemaGenerator};
use serde::{Deserialize, Serialize};

/// Route declarations.
pub const SPECS: &[RouteSpec] = &[
    RouteSpec {
        method: "GET",
        path: "/v1/claim-queue/{status}",
        class: OperationClass::InformationQuery,
        need: Need::Full,
        permission: Some(Permission::ClaimRead),
        summary: "Claims waiting for a step (status filed or awaiting-second-approval) within the caller's scope, oldest first.",
        body: None,
        response: Some(SchemaGenerator::subschema_for::<Queue>),
        success: &[200],
    },
    RouteSpec {
        method: "GET",
        path: "/v1/claims/{claim_id}",
        class: OperationClass::InformationQuery,
        need: Need::Full,
        permission: Some(Permission::ClaimRead),
        summary: "One claim in the caller's scope, with its description, payouts and the verification of every signature.",
        body: None,
        response: Some(SchemaGenerator::subschema_for::<StaffClaimView>),
        success: &[200],
    },
    RouteSpec {
        method: "POST",
        path: "/v1/claims/{claim_id}/decision",
        class: OperationClass::FundTransaction,
        need: Need::Full,
        permission: Some(Permission::ClaimAssess),
        summary: "The adjuster's decision, signed with their staff key: approve an amount (within the claim and the remaining cover) or reject.",
        body: Some(SchemaGenerator::subschema_for::<DecisionRequest>),
        response: Some(SchemaGenerator::subschema_for::<ClaimView>),
        success: &[200],
    },
    RouteSpec {
        method: "POST",
        path: "/v1/claims/{claim_id}/approval",
        class: OperationClass::FundTransaction,
        need: Need::Full,
        permission: Some(Permission::PayoutApprove),
        summary: "The second approver's verdict on a large claim, signed with their staff key (never the adjuster): confirm starts the payout, reject rejects the claim.",
        body: Some(SchemaGenerator::subschema_for::<ApprovalRequest>),
        response: Some(SchemaGenerator::subschema_for::<ClaimView>),
        success: &[200],
    },
];

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/claim-queue/{status}", get(queue))
        .route("/v1/claims/{claim_id}", get(one))
        .route("/v1/claims/{claim_id}/decision", post(decide))
        .route("/v1/claims/{claim_id}/approval", post(approve))
}

/// Reads a claim the caller may use `permission` on; otherwise "not found".
async fn claim_in_scope(
    state: &AppState,
    caller: &Caller,
    permission: Permission,
    id: &ClaimId,
) -> Result<Claim, ApiError> {
    let claim = state.store.claim(&state.keyring(), id, None).await?;
    let target = Target::Claim {
        claim_id: id.as_str(),
        claimant: &claim.claimant_account_id,
    };
    if state
        .store
        .may_access(&caller.account_id, permission, &target)
        .await?
    {
        Ok(claim)
    } else {
        Err(ApiError::new(ErrorCode::NotFound))
    }
}

/// The claims waiting.
#[derive(Serialize, JsonSchema)]
struct Queue {
    claims: Vec<ClaimView>,
}

async fn queue(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(raw_status): Path<String>,
) -> Result<Json<Queue>, ApiError> {
    let status = match raw_status.as_str() {
        "filed" => ClaimStatus::Filed,
        "awaiting-second-approval" => ClaimStatus::AwaitingSecondApproval,
        _ => return Err(ApiError::new(ErrorCode::NotFound)),
    };
    let keyring = state.keyring();
    // The caller's assigned claims first, so a backlog of others never hides them.
    let mut rows = state
        .store
        .claims_in_state(&keyring, status, Some(&caller.account_id))
        .await?;
    rows.extend(state.store.claims_in_state(&keyring, status, None).await?);
    let mut claims: Vec<Claim> = Vec::new();
    for (id, row) in rows {
        match row {
            Ok(claim) if !claims.iter().any(|known| known.id == claim.id) => claims.push(claim),
            Ok(_) => {}
            Err(error) => tracing::error!(
                target: "inspay::security_alert",
                claim = %id,
                error = %error,
                "a claim in the queue fails its integrity check; it is left out (run `inspay claims verify`)"
            ),
        }
    }
    let mut views = Vec::new();
    for claim in &claims {
        let target = Target::Claim {
            claim_id: claim.id.as_str(),
            claimant: &claim.claimant_account_id,
        };
        if state
            .store
            .may_access(&caller.account_id, Permission::ClaimRead, &target)
            .await?
        {
            views.push(claim_view(claim, &[]));
        }
    }
    Ok(Json(Queue { claims: views }))
}

/// A claim for staff: the claim, what happened, and whether every signature verifies with
/// the key stored beside it and that key is the one registered under its name.
#[derive(Serialize, JsonSchema)]
struct StaffClaimView {
    claim: ClaimView,
    description: String,
    signatures: SignatureCheck,
    keys_registered: bool,
    /// The SM3 (hex) of the claim document, which the decision document names.
    claim_document_sm3: String,
}

async fn one(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(raw_id): Path<String>,
) -> Result<Json<StaffClaimView>, ApiError> {
    let id = claim_id(&raw_id)?;
    let claim = claim_in_scope(&state, &caller, Permission::ClaimRead, &id).await?;
    let keyring = state.keyring();
    let payouts = state.store.payouts_of_claim(&keyring, &id).await?;
    // The description may hold health details: every staff reading is audited.
    let actor = format!("account:{}", caller.account_id);
    let object = format!("claim:{id}");
    state
        .store
        .audit(
            &AuditEvent {
                actor: &actor,
                action: "claim.read",
                object: &object,
                outcome: Outcome::Success,
                request_id: &caller.request_id,
                details: &[],
            },
            state.now_ms(),
        )
        .await?;
    let description = state.store.claim_description(&keyring, &id).await?;
    let signatures = verify_claim(&claim);
    let keys_registered = keys_registered(&state.store, &claim).await?;
    let document = stored_claim_document(&claim);
    Ok(Json(StaffClaimView {
        claim: claim_view(&claim, &payouts),
        description: description.to_string(),
        signatures,
        keys_registered,
        claim_document_sm3: hex::encode(inspay_crypto::sm3::sm3(&document)),
    }))
}

/// Refuses to act on a claim whose stored signatures do not verify or whose keys are not the
/// registered ones: someone changed it outside inspay (its record MAC should have caught
/// that first), and a person must look before money moves.
async fn untampered(state: &AppState, claim: &Claim) -> Result<(), ApiError> {
    if verify_claim(claim).all_valid() && keys_registered(&state.store, claim).await? {
        return Ok(());
    }
    tracing::error!(
        target: "inspay::security_alert",
        claim = %claim.id,
        "a claim's stored signatures do not verify; the decision was refused"
    );
    Err(ApiError::new(ErrorCode::Internal)
        .cause("a claim's stored signatures do not verify (run `inspay claims verify`)"))
}

/// The adjuster's decision and signature over the decision document.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct DecisionRequest {
    /// `approve` or `reject`.
    decision: String,
    /// The amount to pay, with `approve`.
    approved_fen: Option<i64>,
    /// The adjuster's staff key that signed.
    key_id: String,
    /// Base64 of the DER SM2 signature over the decision document.
    signature: String,
}

async fn decide(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    source_of: RequestSource,
    Path(raw_id): Path<String>,
    ApiJson(request): ApiJson<DecisionRequest>,
) -> Result<Json<ClaimView>, ApiError> {
    let id = claim_id(&raw_id)?;
    let (decision, verdict) = match (request.decision.as_str(), request.approved_fen) {
        ("approve", Some(fen)) => {
            let amount = Amount::from_fen(fen).map_err(|_| {
                ApiError::new(ErrorCode::InvalidField)
                    .detail("approved_fen: a positive amount in fen")
            })?;
            (Decision::Approve(amount), ClaimVerdict::Approve(fen))
        }
        ("reject", None) => (Decision::Reject, ClaimVerdict::Reject),
        _ => {
            return Err(ApiError::new(ErrorCode::InvalidField)
                .detail("decision: approve (with approved_fen) or reject (without approved_fen)"));
        }
    };
    let claim = claim_in_scope(&state, &caller, Permission::ClaimAssess, &id).await?;
    untampered(&state, &claim).await?;
    let document = decision_document(
        id.as_str(),
        &stored_claim_document(&claim),
        verdict,
        &caller.account_id,
    );
    let signature = verify_party(
        &state,
        &caller.account_id,
        &Signer::AccountKey(request.key_id.clone()),
        KeyKind::Certificate,
        None,
        &document,
        &request.signature,
    )
    .await?;
    let now = state.now_ms();
    let passed = if let Decision::Approve(amount) = decision {
        let operation = FundOperation::ClaimPayout {
            account_id: &claim.claimant_account_id,
            amount,
        };
        risk::check(&state, operation, now).await?;
        let held = HeldOperation::ClaimDecision {
            claim_id: id.to_string(),
            adjuster: caller.account_id.clone(),
            approved_fen: amount.fen(),
            signature: KeptSignature::from(&signature),
        };
        Some(payout_gate(&state, &caller, &source_of, &claim, amount, held, now).await?)
    } else {
        None
    };
    let keyring = state.keyring();
    let large = Money::from_fen(state.settings.payments.large_claim_fen).unwrap_or(Money::ZERO);
    let step = state
        .store
        .claim_decide(
            &keyring,
            NewDecision {
                claim_id: &id,
                adjuster: &caller.account_id,
                decision,
                signature,
                large_threshold: large,
            },
            &caller.request_id,
            now,
        )
        .await?;
    if let Some(passed) = passed {
        passed.went_ahead(&state).await;
    }
    let payouts = state.store.payouts_of_claim(&keyring, &id).await?;
    Ok(Json(claim_view(&step.claim, &payouts)))
}

/// The second approver's verdict and signature over the approval document.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ApprovalRequest {
    /// `confirm` (pay the adjuster's approval) or `reject` (reject the claim).
    verdict: String,
    /// The approver's staff key that signed.
    key_id: String,
    /// Base64 of the DER SM2 signature over the approval document.
    signature: String,
}

async fn approve(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    source_of: RequestSource,
    Path(raw_id): Path<String>,
    ApiJson(request): ApiJson<ApprovalRequest>,
) -> Result<Json<ClaimView>, ApiError> {
    let id = claim_id(&raw_id)?;
    let confirm = match request.verdict.as_str() {
        "confirm" => true,
        "reject" => false,
        _ => {
            return Err(ApiError::new(ErrorCode::InvalidField).detail("verdict: confirm or reject"));
        }
    };
    let claim = claim_in_scope(&state, &caller, Permission::PayoutApprove, &id).await?;
    untampered(&state, &claim).await?;
    let claim_document = stored_claim_document(&claim);
    let decision = stored_decision_document(&claim, &claim_document).ok_or_else(|| {
        ApiError::new(ErrorCode::ClaimStateConflict).detail("the claim has no decision yet")
    })?;
    let document = approval_document(id.as_str(), &decision, confirm, &caller.account_id);
    let signature = verify_party(
        &state,
        &caller.account_id,
        &Signer::AccountKey(request.key_id.clone()),
        KeyKind::Certificate,
        None,
        &document,
        &request.signature,
    )
    .await?;
    let now = state.now_ms();
    let passed = if let (true, Some(amount)) = (confirm, claim.approved) {
        let operation = FundOperation::ClaimPayout {
            account_id: &claim.claimant_account_id,
            amount,
        };
        risk::check(&state, operation, now).await?;
        let held = HeldOperation::ClaimApproval {
            claim_id: id.to_string(),
            approver: caller.account_id.clone(),
            signature: KeptSignature::from(&signature),
        };
        Some(payout_gate(&state, &caller, &source_of, &claim, amount, held, now).await?)
    } else {
        None
    };
    let keyring = state.keyring();
    let step = state
        .store
        .claim_second_approval(
            &keyring,
            SecondVerdict {
                claim_id: &id,
                approver: &caller.account_id,
                confirm,
                signature,
            },
            &caller.request_id,
            now,
        )
        .await?;
    if let Some(passed) = passed {
        passed.went_ahead(&state).await;
    }
    let payouts = state.store.payouts_of_claim(&keyring, &id).await?;
    Ok(Json(claim_view(&step.claim, &payouts)))
}

/// The risk gate before a staff decision that starts (or leads to) a claim payout. The staff
/// member signed the decision with their staff key, which meets any step-up the engine asks
/// for; a review verdict holds the signed decision, to be applied when a risk officer
/// releases it.
async fn payout_gate(
    state: &AppState,
    caller: &Caller,
    source_of: &RequestSource,
    claim: &Claim,
    amount: Amount,
    held: HeldOperation,
    now: i64,
) -> Result<gate::Passed, ApiError> {
    let facts = gate::payout_facts(state, claim, &claim.payout_account_id, now).await?;
    let gate = Gate {
        operation: RiskOperation {
            amount_fen: amount.fen(),
            product: &facts.product,
            reference: Some(claim.id.as_str()),
            payout_account_bound_at_ms: facts.payout_account_bound_at_ms,
            policy_started_at_ms: Some(facts.policy_started_at_ms),
            client_ip: Some(source_of.ip),
            app_id: source_of.app_id.as_deref(),
            ..RiskOperation::new(
                RiskKind::ClaimPayout,
                &claim.claimant_account_id,
                STAFF_CHANNEL,
            )
        },
        requested_by: &caller.account_id,
        held,
        on_step_up: OnStepUp::Met,
    };
    gate::pass(state, &gate, now).await
}
