//! Held operations (issue 6 item 6; clause 5.3.3.1): what a hold keeps of the operation, and
//! the worker that resumes released staff operations exactly once.
//!
//! A staff claim decision or approval is resumed by the server: the staff member's signature
//! over the decision document was verified before the hold, and is kept (with the public key
//! and its name) to be stored with the claim when the decision is applied. Customers'
//! operations are not resumed behind their back: a payment needs the card (never stored) and
//! the customer's presence; their release lets the customer's next attempt through once.
//!
//! Exactly once: the release is a conditional update (one officer, once); one node at a time
//! holds the lease to resume; and should a node die after the decision was applied but before
//! the hold was marked resumed, the next node finds the claim already decided by the same
//! person and marks the hold resumed without applying anything twice (the claim's state
//! machine refuses a second decision in any case).

use crate::state::AppState;
use inspay_core::funds::Decision;
use inspay_core::ids::ClaimId;
use inspay_core::money::{Amount, Money};
use inspay_store::StoreError;
use inspay_store::funds::{FundsError, NewDecision, PartySignature, SecondVerdict};
use inspay_store::risk::{RiskHoldRow, RiskHoldState};
use serde::{Deserialize, Serialize};

/// How often each node looks for released holds to resume.
pub const RESUME_INTERVAL_MS: u64 = 1_000;

/// How long one node may take to resume a hold before another may try.
const RESUME_LEASE_MS: i64 = 60_000;

/// A staff signature kept to be stored with the decision when it is applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeptSignature {
    /// Which key (`staff-key:<id>`).
    pub signer: String,
    /// The public key, hex SEC1.
    pub public_key: String,
    /// The SM2 signature, base64 DER.
    pub signature: String,
}

impl From<&PartySignature> for KeptSignature {
    fn from(signature: &PartySignature) -> Self {
        Self {
            signer: signature.signer.clone(),
            public_key: signature.public_key.clone(),
            signature: signature.signature.clone(),
        }
    }
}

impl From<&KeptSignature> for PartySignature {
    fn from(kept: &KeptSignature) -> Self {
        PartySignature {
            signer: kept.signer.clone(),
            public_key: kept.public_key.clone(),
            signature: kept.signature.clone(),
        }
    }
}

/// What a hold keeps of the operation: ids, amounts and signatures, never personal data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum HeldOperation {
    /// A customer pays premium `number` of a policy.
    PremiumPayment {
        /// The policy.
        policy_id: String,
        /// The instalment.
        number: u32,
    },
    /// A customer cancels a policy.
    Cancellation {
        /// The policy.
        policy_id: String,
    },
    /// A claimant sends a failed payout to another account.
    PayoutRestart {
        /// The claim.
        claim_id: String,
        /// The payout account it goes to now (the one the decision was taken on).
        payout_account_id: String,
    },
    /// An adjuster approves an amount (the payout starts, or waits for a second approver).
    ClaimDecision {
        /// The claim.
        claim_id: String,
        /// The adjuster.
        adjuster: String,
        /// The approved amount in fen.
        approved_fen: i64,
        /// The adjuster's signature over the decision document.
        signature: KeptSignature,
    },
    /// A second approver confirms a large claim's approval (the payout starts).
    ClaimApproval {
        /// The claim.
        claim_id: String,
        /// The approver.
        approver: String,
        /// The approver's signature over the approval document.
        signature: KeptSignature,
    },
}

impl HeldOperation {
    /// The operation's stable name.
    pub fn name(&self) -> &'static str {
        match self {
            HeldOperation::PremiumPayment { .. } => "premium_payment",
            HeldOperation::Cancellation { .. } => "cancellation",
            HeldOperation::PayoutRestart { .. } => "payout_restart",
            HeldOperation::ClaimDecision { .. } => "claim_decision",
            HeldOperation::ClaimApproval { .. } => "claim_approval",
        }
    }

    /// The operation's identity: at most one hold is open for it.
    pub fn subject(&self) -> String {
        match self {
            HeldOperation::PremiumPayment { policy_id, number } => {
                format!("premium:{policy_id}:{number}")
            }
            HeldOperation::Cancellation { policy_id } => format!("cancel:{policy_id}"),
            HeldOperation::PayoutRestart { claim_id, .. }
            | HeldOperation::ClaimDecision { claim_id, .. }
            | HeldOperation::ClaimApproval { claim_id, .. } => format!("claim:{claim_id}"),
        }
    }

    /// Whether the server resumes it on release (staff operations), rather than the
    /// customer's next attempt.
    pub fn resumable(&self) -> bool {
        matches!(
            self,
            HeldOperation::ClaimDecision { .. } | HeldOperation::ClaimApproval { .. }
        )
    }
}

/// Why a hold could not be resumed now (it stays leased and is retried).
#[derive(Debug, thiserror::Error)]
pub enum ResumeError {
    /// The database or the keys.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Reading the claim failed.
    #[error(transparent)]
    Funds(#[from] FundsError),
    /// The hold cannot be resumed by the server.
    #[error("{0}")]
    Unusable(&'static str),
}

/// How resuming one hold ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resumed {
    /// The operation was applied (now, or by an earlier attempt).
    Applied(String),
    /// The operation can no longer be applied; the reason is for staff.
    NoLongerApplies(String),
}

/// Resumes one leased hold and records how it ended.
pub async fn resume(state: &AppState, hold: &RiskHoldRow) -> Result<Resumed, ResumeError> {
    let held: HeldOperation = serde_json::from_str(&hold.payload)
        .map_err(|_| ResumeError::Unusable("a risk hold's payload does not parse"))?;
    let keyring = state.keyring();
    let now = state.now_ms();
    let applied = match &held {
        HeldOperation::ClaimDecision {
            claim_id,
            adjuster,
            approved_fen,
            signature,
        } => {
            let claim_id = ClaimId::parse(claim_id)
                .map_err(|_| ResumeError::Unusable("a held claim id does not parse"))?;
            let amount = Amount::from_fen(*approved_fen)
                .map_err(|_| ResumeError::Unusable("a held amount is not positive"))?;
            let large =
                Money::from_fen(state.settings.payments.large_claim_fen).unwrap_or(Money::ZERO);
            let result = state
                .store
                .claim_decide(
                    &keyring,
                    NewDecision {
                        claim_id: &claim_id,
                        adjuster,
                        decision: Decision::Approve(amount),
                        signature: signature.into(),
                        large_threshold: large,
                    },
                    &hold.id,
                    now,
                )
                .await;
            match result {
                Ok(step) => Ok(format!("claim decided: {}", step.claim.status.as_str())),
                Err(error) => {
                    let claim = state.store.claim(&keyring, &claim_id, None).await?;
                    if claim
                        .decision
                        .as_ref()
                        .is_some_and(|decision| decision.adjuster_account_id == *adjuster)
                    {
                        Ok("claim already decided by this resume".to_string())
                    } else {
                        Err(error)
                    }
                }
            }
        }
        HeldOperation::ClaimApproval {
            claim_id,
            approver,
            signature,
        } => {
            let claim_id = ClaimId::parse(claim_id)
                .map_err(|_| ResumeError::Unusable("a held claim id does not parse"))?;
            let result = state
                .store
                .claim_second_approval(
                    &keyring,
                    SecondVerdict {
                        claim_id: &claim_id,
                        approver,
                        confirm: true,
                        signature: signature.into(),
                    },
                    &hold.id,
                    now,
                )
                .await;
            match result {
                Ok(step) => Ok(format!("claim approved: {}", step.claim.status.as_str())),
                Err(error) => {
                    let claim = state.store.claim(&keyring, &claim_id, None).await?;
                    if claim
                        .approval
                        .as_ref()
                        .is_some_and(|approval| approval.approver_account_id == *approver)
                    {
                        Ok("claim already approved by this resume".to_string())
                    } else {
                        Err(error)
                    }
                }
            }
        }
        HeldOperation::PremiumPayment { .. }
        | HeldOperation::Cancellation { .. }
        | HeldOperation::PayoutRestart { .. } => {
            return Err(ResumeError::Unusable(
                "a customer's held operation is not resumed by the server",
            ));
        }
    };
    let (state_after, resumed) = match applied {
        Ok(outcome) => (RiskHoldState::Resumed, Resumed::Applied(outcome)),
        // The claim moved on while it was held (withdrawn, rejected, decided by someone
        // else, cover used up): a failure of the operation, not of the worker.
        Err(FundsError::Store(store)) => return Err(ResumeError::Store(store)),
        Err(error) => (
            RiskHoldState::Failed,
            Resumed::NoLongerApplies(error.to_string()),
        ),
    };
    let outcome = match &resumed {
        Resumed::Applied(text) | Resumed::NoLongerApplies(text) => text.clone(),
    };
    state
        .store
        .risk_hold_finish(&keyring, &hold.id, state_after, &outcome, now)
        .await?;
    Ok(resumed)
}

/// Resumes every released staff hold this node can lease (the background job).
pub async fn resume_released(state: AppState) {
    let keyring = state.keyring();
    let leased = match state
        .store
        .risk_holds_lease(&keyring, state.now_ms(), RESUME_LEASE_MS, 20)
        .await
    {
        Ok(leased) => leased,
        Err(error) => {
            tracing::warn!(error = %error, "released risk holds not leased; the next tick retries");
            return;
        }
    };
    for hold in leased {
        match resume(&state, &hold).await {
            Ok(Resumed::Applied(outcome)) => tracing::info!(
                target: "inspay::risk",
                hold = %hold.id,
                operation = %hold.operation,
                outcome = %outcome,
                "released operation resumed"
            ),
            Ok(Resumed::NoLongerApplies(outcome)) => tracing::warn!(
                target: "inspay::risk",
                hold = %hold.id,
                operation = %hold.operation,
                outcome = %outcome,
                "released operation no longer applies"
            ),
            Err(error) => tracing::warn!(
                target: "inspay::risk",
                hold = %hold.id,
                error = %error,
                "released operation not resumed; retried when its lease runs out"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hold's payload round-trips and refuses fields it does not know.
    #[test]
    fn payloads_round_trip_and_are_strict() {
        let held = HeldOperation::ClaimDecision {
            claim_id: "c".into(),
            adjuster: "a".into(),
            approved_fen: 100,
            signature: KeptSignature {
                signer: "staff-key:k".into(),
                public_key: "04".into(),
                signature: "MEU=".into(),
            },
        };
        let text = serde_json::to_string(&held).expect("json");
        assert_eq!(
            serde_json::from_str::<HeldOperation>(&text).expect("parse"),
            held
        );
        assert!(held.resumable());
        assert_eq!(held.subject(), "claim:c");
        let premium = HeldOperation::PremiumPayment {
            policy_id: "p".into(),
            number: 2,
        };
        assert!(!premium.resumable());
        assert_eq!(premium.subject(), "premium:p:2");
        assert!(
            serde_json::from_str::<HeldOperation>(
                r#"{"kind":"cancellation","policy_id":"p","card":"x"}"#
            )
            .is_err()
        );
    }
}
