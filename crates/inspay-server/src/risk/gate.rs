//! The gate every fund operation passes before it executes (issue 6 items 1, 3 and 6;
//! clauses 5.3.3.1, 5.3.3.4): it asks the engine ([`assess`]) and turns the verdict into what
//! the route does.
//!
//! - allow: the operation runs;
//! - step-up: the operation runs once the caller proves the named factor (or a stronger one);
//! - review: the operation is held ([`crate::risk::holds`]) and the caller gets 202
//!   `INSPAY-RISK-002` with the hold's id; a second attempt while it waits gets the same hold;
//! - deny: 403 `INSPAY-RISK-001`, with a vague message (clause 5.2.3.3) — the reasons are for
//!   staff, in the recorded decision.
//!
//! A hold a risk officer released lets the operation through once: a staff claim decision is
//! resumed by the server itself; a customer's payment or cancellation goes through at the
//! customer's next attempt, which consumes the release.

use crate::error::{ApiError, ErrorCode};
use crate::risk::assess::{Learning, Operation, assess_deferred, learn};
use crate::risk::holds::HeldOperation;
use crate::state::AppState;
use inspay_risk::decision::{StepUpFactor, Verdict};
use inspay_store::risk::{NewRiskHold, RiskHoldState};

/// The channel fund operations come through: the signed API of a registered client
/// application (the web console of issue 7 will name its own).
pub const FUND_CHANNEL: &str = "app";

/// The channel of staff decisions.
pub const STAFF_CHANNEL: &str = "staff";

/// Where a request came from, for the engine's `edge.*` facts: the client's address (as the
/// listener set it) and the application that signed it, if any.
#[derive(Debug, Clone)]
pub struct RequestSource {
    /// The client's address (unspecified outside a listener).
    pub ip: std::net::IpAddr,
    /// The signing application.
    pub app_id: Option<String>,
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for RequestSource {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(RequestSource {
            ip: parts.extensions.get::<crate::defence::ClientAddr>().map_or(
                std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
                |addr| addr.0,
            ),
            app_id: parts
                .extensions
                .get::<crate::protocol::SignedBy>()
                .map(|signed| signed.app_id.clone()),
        })
    }
}

/// What the route does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Passage {
    /// Go ahead.
    Allow,
    /// Go ahead once the caller proves this factor (or a stronger one).
    StepUp(StepUpFactor),
    /// Go ahead: a risk officer released this operation after review.
    Released,
}

/// What a step-up verdict means for an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnStepUp {
    /// The caller is asked for the factor ([`Passage::StepUp`]).
    Ask,
    /// Already met: the route took a fresh step-up, or the staff member signed the operation
    /// with their staff key (a certificate, stronger than any factor the engine names).
    Met,
    /// The route has no step-up of its own: the operation is held for review instead.
    Review,
}

/// An operation that passed the gate. Call [`Passed::went_ahead`] once it has run: only then
/// does the model learn it (an attempt that stopped at the step-up or at the bank teaches
/// nothing).
#[derive(Debug)]
#[must_use = "call went_ahead once the operation ran, so the model learns it"]
pub struct Passed {
    /// What the route does next.
    pub passage: Passage,
    learning: Option<Learning>,
}

impl Passed {
    /// The operation ran: learn it into the customer's history and baselines. A failure to
    /// learn is logged; the operation stands (the next training learns it from the records).
    pub async fn went_ahead(self, state: &AppState) {
        if let Some(learning) = self.learning
            && let Err(error) = learn(state, &learning).await
        {
            tracing::warn!(
                target: "inspay::risk",
                error = %error,
                "an operation that went ahead was not learned; the next training will"
            );
        }
    }
}

/// An operation at the gate.
pub struct Gate<'a> {
    /// What the engine decides on.
    pub operation: Operation<'a>,
    /// Who asks (the customer, or the staff member acting).
    pub requested_by: &'a str,
    /// What a hold keeps to resume or recognise the operation.
    pub held: HeldOperation,
    /// What a step-up verdict means here.
    pub on_step_up: OnStepUp,
}

/// What the engine needs to know about a claim payout: the product, when the payout account
/// was bound, and how long after the policy's start the claim was filed.
#[derive(Debug, Clone)]
pub struct PayoutFacts {
    /// The policy's product.
    pub product: String,
    /// When the payout account was bound (unix ms), if it is one of the claimant's.
    pub payout_account_bound_at_ms: Option<i64>,
    /// A start time such that "now minus it" is the days between the policy's start and the
    /// claim's filing (the engine measures ages from the decision's time).
    pub policy_started_at_ms: i64,
}

/// Gathers [`PayoutFacts`] for paying `claim` to `payout_account_id` at `now_ms`.
pub async fn payout_facts(
    state: &AppState,
    claim: &inspay_store::funds::Claim,
    payout_account_id: &str,
    now_ms: i64,
) -> Result<PayoutFacts, ApiError> {
    let keyring = state.keyring();
    let policy = state.store.policy(&keyring, &claim.policy_id, None).await?;
    let accounts = state
        .store
        .payout_accounts(&keyring, &claim.claimant_account_id)
        .await?;
    let bound = accounts
        .iter()
        .find(|account| account.id == payout_account_id)
        .map(|account| account.verified_at_ms.max(account.created_at_ms));
    let started = inspay_core::calendar::day_start_ms(policy.start_on);
    Ok(PayoutFacts {
        product: policy.product_id.to_string(),
        payout_account_bound_at_ms: bound,
        policy_started_at_ms: started + (now_ms - claim.created_at_ms).max(0),
    })
}

/// The answer for an operation waiting in the review queue.
pub fn held_error(hold_id: &str) -> ApiError {
    ApiError::new(ErrorCode::RiskHeld).detail(format!(
        "held for review as {hold_id}; the outcome will be sent to you"
    ))
}

/// The answer for a denied operation: the same for every reason.
pub fn denied_error() -> ApiError {
    ApiError::new(ErrorCode::RiskDenied)
}

/// Passes `gate` at `now_ms`: decides, records, and holds or refuses as the verdict says.
pub async fn pass(state: &AppState, gate: &Gate<'_>, now_ms: i64) -> Result<Passed, ApiError> {
    let keyring = state.keyring();
    let subject = gate.held.subject();
    let payload = serde_json::to_string(&gate.held)
        .map_err(|error| ApiError::new(ErrorCode::Internal).cause(error))?;
    if let Some(open) = state.store.risk_hold_open_for(&keyring, &subject).await? {
        // A release lets through the operation that was reviewed: the same customer, the same
        // parameters.
        match open.state {
            RiskHoldState::Released
                if !open.resumable
                    && open.account_id == gate.operation.account_id
                    && open.payload == payload =>
            {
                state
                    .store
                    .risk_hold_finish(
                        &keyring,
                        &open.id,
                        RiskHoldState::Consumed,
                        "the customer's next attempt went ahead",
                        now_ms,
                    )
                    .await?;
                tracing::info!(
                    target: "inspay::risk",
                    hold = %open.id,
                    operation = %open.operation,
                    "a released hold let the operation through"
                );
                return Ok(Passed {
                    passage: Passage::Released,
                    learning: None,
                });
            }
            // The customer now asks something else of the same operation (a payout restart
            // to another account than the one reviewed): the release does not cover it. The
            // released hold is ended, and the new attempt is decided afresh below.
            RiskHoldState::Released
                if !open.resumable && open.account_id == gate.operation.account_id =>
            {
                state
                    .store
                    .risk_hold_finish(
                        &keyring,
                        &open.id,
                        RiskHoldState::Failed,
                        "superseded: the customer's next attempt differed from the reviewed one",
                        now_ms,
                    )
                    .await?;
            }
            _ => return Err(held_error(&open.id)),
        }
    }
    let assessment = assess_deferred(state, &gate.operation, now_ms).await?;
    let passed = |passage| Passed {
        passage,
        learning: assessment.learning.clone(),
    };
    match assessment.decision.verdict {
        Verdict::Allow => Ok(passed(Passage::Allow)),
        Verdict::StepUp(factor) if gate.on_step_up == OnStepUp::Ask => {
            Ok(passed(Passage::StepUp(factor)))
        }
        Verdict::StepUp(_) if gate.on_step_up == OnStepUp::Met => Ok(passed(Passage::Allow)),
        Verdict::Deny => Err(denied_error()),
        Verdict::StepUp(_) | Verdict::Review => {
            let id = uuid::Uuid::now_v7().to_string();
            let hold = state
                .store
                .risk_hold_open(
                    &keyring,
                    NewRiskHold {
                        id: &id,
                        decision_id: &assessment.id,
                        operation: gate.held.name(),
                        account_id: gate.operation.account_id,
                        subject: &subject,
                        requested_by: gate.requested_by,
                        payload: &payload,
                        resumable: gate.held.resumable(),
                        at_ms: now_ms,
                    },
                )
                .await?;
            tracing::warn!(
                target: "inspay::risk_alert",
                hold = %hold.id,
                decision = %assessment.id,
                operation = gate.held.name(),
                "operation held for review"
            );
            Err(held_error(&hold.id))
        }
    }
}
