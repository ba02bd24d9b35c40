//! The fund rules of premiums, claims, payouts and refunds (clause 5.3.1.3): no payment or
//! payout of one obligation twice, a payout never above the approved amount, an approval never
//! above the remaining cover, refunds never above what was paid, and state machines that
//! refuse illegal moves.

use crate::money::{Amount, Money};

/// Where a channel order (a premium payment, a payout or a refund) stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderStatus {
    /// Sent, or about to be sent, to the channel; the outcome is not known yet.
    Pending,
    /// The channel moved the money.
    Succeeded,
    /// The channel did not move the money (refused, or never received it).
    Failed,
}

/// What the channel said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelOutcome {
    /// The money moved.
    Succeeded,
    /// The money did not move.
    Failed,
}

/// What applying an outcome does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settlement {
    /// The order moves to this state: post its ledger transfer now.
    Changed(OrderStatus),
    /// The order already had this outcome (a duplicate answer or notification): do nothing.
    AlreadySo,
}

/// An outcome that contradicts the one already recorded: the channel said both "moved" and
/// "not moved". Never applied; raised as an alert for reconciliation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the channel reported {outcome:?} for an order already {recorded:?}")]
pub struct ContradictoryOutcome {
    /// What is recorded.
    pub recorded: OrderStatus,
    /// What arrived.
    pub outcome: ChannelOutcome,
}

impl OrderStatus {
    /// Applies the channel's answer: a pending order settles once; the same answer again is a
    /// no-op (so a duplicated notification posts nothing twice); the opposite answer is refused.
    pub fn settle(self, outcome: ChannelOutcome) -> Result<Settlement, ContradictoryOutcome> {
        match (self, outcome) {
            (OrderStatus::Pending, ChannelOutcome::Succeeded) => {
                Ok(Settlement::Changed(OrderStatus::Succeeded))
            }
            (OrderStatus::Pending, ChannelOutcome::Failed) => {
                Ok(Settlement::Changed(OrderStatus::Failed))
            }
            (OrderStatus::Succeeded, ChannelOutcome::Succeeded)
            | (OrderStatus::Failed, ChannelOutcome::Failed) => Ok(Settlement::AlreadySo),
            (recorded, outcome) => Err(ContradictoryOutcome { recorded, outcome }),
        }
    }

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Pending => "pending",
            OrderStatus::Succeeded => "succeeded",
            OrderStatus::Failed => "failed",
        }
    }

    /// Parses the stored name.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "pending" => Some(OrderStatus::Pending),
            "succeeded" => Some(OrderStatus::Succeeded),
            "failed" => Some(OrderStatus::Failed),
            _ => None,
        }
    }
}

/// Why a refund is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RefundError {
    /// More than what is left to refund of the payment.
    #[error("the refund exceeds the refundable amount of {refundable}")]
    ExceedsRefundable {
        /// What may still be refunded.
        refundable: Money,
    },
    /// Only a payment the channel completed can be refunded.
    #[error("only a succeeded payment can be refunded")]
    PaymentNotSucceeded,
}

/// Checks a refund against its payment: `committed` is every refund of it that succeeded or is
/// still pending (a pending refund may yet succeed, so it counts). The caller holds the
/// payment's row lock while it checks and inserts, so concurrent refunds are serialised.
pub fn check_refund(
    payment: OrderStatus,
    paid: Amount,
    committed: Money,
    requested: Amount,
) -> Result<(), RefundError> {
    if payment != OrderStatus::Succeeded {
        return Err(RefundError::PaymentNotSucceeded);
    }
    let refundable = paid.money().checked_sub(committed).unwrap_or(Money::ZERO);
    if requested.money() > refundable {
        return Err(RefundError::ExceedsRefundable { refundable });
    }
    Ok(())
}

/// Where a claim stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClaimStatus {
    /// Filed by the claimant, waiting for an adjuster.
    Filed,
    /// Approved above the large-payout threshold; a second approver must confirm.
    AwaitingSecondApproval,
    /// Approved; the payout may start.
    Approved,
    /// Rejected.
    Rejected,
    /// The payout is with the channel.
    PayoutPending,
    /// Paid out.
    Paid,
}

impl ClaimStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            ClaimStatus::Filed => "filed",
            ClaimStatus::AwaitingSecondApproval => "awaiting_second_approval",
            ClaimStatus::Approved => "approved",
            ClaimStatus::Rejected => "rejected",
            ClaimStatus::PayoutPending => "payout_pending",
            ClaimStatus::Paid => "paid",
        }
    }

    /// Parses the stored name.
    pub fn parse(text: &str) -> Option<Self> {
        [
            ClaimStatus::Filed,
            ClaimStatus::AwaitingSecondApproval,
            ClaimStatus::Approved,
            ClaimStatus::Rejected,
            ClaimStatus::PayoutPending,
            ClaimStatus::Paid,
        ]
        .into_iter()
        .find(|status| status.as_str() == text)
    }

    /// Whether the claim's approved amount counts against the policy's cover.
    pub fn holds_cover(self) -> bool {
        matches!(
            self,
            ClaimStatus::AwaitingSecondApproval
                | ClaimStatus::Approved
                | ClaimStatus::PayoutPending
                | ClaimStatus::Paid
        )
    }
}

/// An adjuster's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Pay this much.
    Approve(Amount),
    /// Pay nothing.
    Reject,
}

/// Why a claim step is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ClaimError {
    /// The step does not apply in the claim's state.
    #[error("a claim that is {} cannot take this step", .0.as_str())]
    IllegalStep(ClaimStatus),
    /// The approved amount is above what was claimed.
    #[error("the approved amount exceeds the claimed amount")]
    AboveClaimed,
    /// The approved amount is above the policy's remaining cover.
    #[error("the approved amount exceeds the remaining cover of {remaining}")]
    AboveCover {
        /// What the policy may still pay.
        remaining: Money,
    },
    /// The second approver is the adjuster (maker-checker, clause 5.3.2.2).
    #[error("the second approval must come from someone other than the adjuster")]
    SameApprover,
}

/// The adjuster's assessment: approving up to the claimed amount and the remaining cover;
/// above `large_threshold` the claim waits for a second approver.
pub fn assess(
    status: ClaimStatus,
    claimed: Amount,
    remaining_cover: Money,
    decision: Decision,
    large_threshold: Money,
) -> Result<ClaimStatus, ClaimError> {
    if status != ClaimStatus::Filed {
        return Err(ClaimError::IllegalStep(status));
    }
    let Decision::Approve(amount) = decision else {
        return Ok(ClaimStatus::Rejected);
    };
    if amount > claimed {
        return Err(ClaimError::AboveClaimed);
    }
    if amount.money() > remaining_cover {
        return Err(ClaimError::AboveCover {
            remaining: remaining_cover,
        });
    }
    if amount.money() > large_threshold {
        Ok(ClaimStatus::AwaitingSecondApproval)
    } else {
        Ok(ClaimStatus::Approved)
    }
}

/// The second approval of a large claim, by someone other than the adjuster.
pub fn second_approval(
    status: ClaimStatus,
    adjuster: &str,
    approver: &str,
) -> Result<ClaimStatus, ClaimError> {
    if status != ClaimStatus::AwaitingSecondApproval {
        return Err(ClaimError::IllegalStep(status));
    }
    if adjuster == approver {
        return Err(ClaimError::SameApprover);
    }
    Ok(ClaimStatus::Approved)
}

/// The second approver rejects a large claim instead (maker-checker: the checker may refuse),
/// by someone other than the adjuster; the claim stops holding cover.
pub fn second_rejection(
    status: ClaimStatus,
    adjuster: &str,
    approver: &str,
) -> Result<ClaimStatus, ClaimError> {
    second_approval(status, adjuster, approver).map(|_| ClaimStatus::Rejected)
}

/// The payout starts: only from `Approved`, so one claim is never paid out twice at once.
pub fn payout_started(status: ClaimStatus) -> Result<ClaimStatus, ClaimError> {
    match status {
        ClaimStatus::Approved => Ok(ClaimStatus::PayoutPending),
        other => Err(ClaimError::IllegalStep(other)),
    }
}

/// The payout's outcome: paid, or back to `Approved` so it can be sent again (to a corrected
/// account) after the channel refused it.
pub fn payout_settled(
    status: ClaimStatus,
    outcome: ChannelOutcome,
) -> Result<ClaimStatus, ClaimError> {
    match (status, outcome) {
        (ClaimStatus::PayoutPending, ChannelOutcome::Succeeded) => Ok(ClaimStatus::Paid),
        (ClaimStatus::PayoutPending, ChannelOutcome::Failed) => Ok(ClaimStatus::Approved),
        (other, _) => Err(ClaimError::IllegalStep(other)),
    }
}

/// The cover left on a policy: its cover less every other claim's approved amount that still
/// holds cover.
pub fn remaining_cover(cover: Amount, held: &[Money]) -> Money {
    let held: Money = held
        .iter()
        .copied()
        .sum::<Option<Money>>()
        .unwrap_or(Money::MAX);
    cover.money().checked_sub(held).unwrap_or(Money::ZERO)
}

#[cfg(test)]
mod tests;
