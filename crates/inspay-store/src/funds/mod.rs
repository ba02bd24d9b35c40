//! Products, policies, premium payments and refunds (issue 5): the business the standard
//! protects, stored so that every state change commits with its balanced ledger transfer, its
//! audit entry and, where a channel must act, its outbox row, in one transaction.

mod claims;
mod evidence;
mod lifecycle;
mod outbox;
mod payments;
mod payout_accounts;
mod payouts;
mod policies;
mod refunds;
mod statements;

pub use claims::{
    ApprovalRecord, CLAIMS_LISTED_MAX, Claim, ClaimStep, DESCRIPTION_CHARS_MAX, DecisionRecord,
    NewClaim, NewDecision, PartySignature, SecondVerdict,
};
pub use evidence::ChannelEvidence;
pub use lifecycle::{AGEING_POLICIES_PER_RUN_MAX, Aged};
pub use outbox::{OUTBOX_LIST_ROWS_MAX, OutboxItem, OutboxKind, OutboxRow};
pub use payments::{BeginPayment, Payment, PaymentMethod, PaymentSettled, SettleOrder};
pub use payout_accounts::{NewPayoutAccount, PAYOUT_ACCOUNTS_LIVE_MAX, PayoutAccount};
pub use payouts::Payout;
pub use policies::{Instalment, InstalmentStatus, NewProduct, Policy, Product};
pub use refunds::{Cancellation, NewRefund, Refund, RefundReason};
pub use statements::{ReconciliationRun, STATEMENT_LINES_MAX, StatementLine};

use crate::StoreError;
use inspay_core::funds::{ClaimError, ContradictoryOutcome, RefundError};
use inspay_core::policy::{IllegalPolicyTransition, TermsError};

/// Why a fund operation was refused or failed. Every refusal names the rule, never a stored
/// personal value.
#[derive(Debug, thiserror::Error)]
pub enum FundsError {
    /// The database failed, or a stored row failed its integrity check.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The object does not exist, or is not the caller's (the two are not told apart, so
    /// ids cannot be probed).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The product's terms are invalid.
    #[error(transparent)]
    Terms(#[from] TermsError),
    /// The product is no longer sold.
    #[error("the product is withdrawn from sale")]
    ProductWithdrawn,
    /// Another product has this code.
    #[error("a product with this code exists")]
    ProductCodeTaken,
    /// The policy's state does not allow the step.
    #[error(transparent)]
    Policy(#[from] IllegalPolicyTransition),
    /// The premium is already paid or no longer due.
    #[error("the premium is not due")]
    InstalmentNotDue,
    /// A payment of this premium is already running; its outcome decides.
    #[error("a payment of this premium is in progress")]
    PaymentInProgress,
    /// The refund breaks a refund rule.
    #[error(transparent)]
    Refund(#[from] RefundError),
    /// The claim step breaks a claim rule (state, amount, cover, maker-checker).
    #[error(transparent)]
    Claim(#[from] ClaimError),
    /// The claim cannot be filed or moved as asked; the text names the rule.
    #[error("{0}")]
    ClaimRefused(&'static str),
    /// A claim on the policy is open; it is decided (and paid) before the policy can end.
    #[error("a claim on this policy is still open: it must be decided and paid first")]
    ClaimOpen,
    /// A per-customer limit on stored objects is reached; the text names it.
    #[error("the limit on {0} is reached")]
    Limit(&'static str),
    /// The channel reported an outcome contradicting the recorded one.
    #[error(transparent)]
    Contradiction(#[from] ContradictoryOutcome),
}

/// Whether a database error is a unique-constraint violation.
pub(crate) fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(database) if database.is_unique_violation())
}

/// A record MAC over `parts` as stored text.
pub(crate) fn mac_text(
    keyring: &inspay_kms::Keyring,
    parts: &[Vec<u8>],
) -> Result<String, StoreError> {
    let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    Ok(keyring.record_mac(&refs)?.to_text())
}

/// Checks a stored record MAC; `what` names the kind of row in the error.
pub(crate) fn check_mac(
    keyring: &inspay_kms::Keyring,
    parts: &[Vec<u8>],
    mac: &str,
    what: &str,
) -> Result<(), StoreError> {
    let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    let intact = match inspay_kms::sealed::Sealed::parse(mac) {
        Ok(sealed) => keyring.verify_record_mac(&refs, &sealed)?,
        Err(_) => false,
    };
    if intact {
        Ok(())
    } else {
        Err(StoreError::Integrity(format!(
            "{what} was changed outside inspay (its record MAC does not match); restore it from \
             backup and investigate (clause 5.6.1-b)"
        )))
    }
}
