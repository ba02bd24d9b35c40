//! Double-entry ledger rules (clause 5.3.1.3, issue 5 item 5): the accounts, which side each
//! grows on, the bounds their balances may not cross, and the balanced transfer every business
//! event posts.
//!
//! The rules live here, without I/O; the store applies a [`Transfer`] in the same database
//! transaction as the state change it records, and refuses it (rolling everything back) when a
//! balance would cross its bound. A [`Transfer`] cannot be built unbalanced, and its postings
//! carry [`Amount`]s, so a zero or negative posting cannot be expressed.
//!
//! | account | normal side | bound | holds |
//! |---|---|---|---|
//! | `channel_clearing` | debit | none | money held for the insurer at the payment channel |
//! | `customer_funds:<customer>` | credit | ≥ 0 | money received from a customer, not yet applied |
//! | `premium_income` | credit | ≥ 0 | premiums earned (less refunded premiums) |
//! | `claims_expense` | debit | ≥ 0 | claims approved |
//! | `claims_payable:<customer>` | credit | ≥ 0 | approved claims not yet paid out |
//! | `refunds_payable:<customer>` | credit | ≥ 0 | refunds approved, not yet sent |
//! | `outbound_in_flight` | credit | ≥ 0 | payouts and refunds sent to the channel, outcome unknown |
//! | `channel_fees` | debit | ≥ 0 | fees the channel charges |
//!
//! The clearing account has no bound: the insurer funds its settlement account at the channel
//! outside this system, so claim payouts may run ahead of the premiums collected through it.

use crate::money::{Amount, Money};
use core::fmt;

/// The most postings one transfer may hold.
pub const TRANSFER_POSTINGS_MAX: usize = 8;

/// A kind of ledger account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AccountKind {
    /// Money at the payment channel (asset).
    ChannelClearing,
    /// One customer's received but unapplied money (liability).
    CustomerFunds,
    /// Earned premiums (income).
    PremiumIncome,
    /// Approved claims (expense).
    ClaimsExpense,
    /// One customer's approved, unpaid claims (liability).
    ClaimsPayable,
    /// One customer's approved, unsent refunds (liability).
    RefundsPayable,
    /// Payouts and refunds handed to the channel whose outcome is not yet known.
    OutboundInFlight,
    /// Channel fees (expense).
    ChannelFees,
}

/// Which side of an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// Left: grows assets and expenses.
    Debit,
    /// Right: grows liabilities and income.
    Credit,
}

impl Side {
    /// `"debit"` or `"credit"`, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Debit => "debit",
            Side::Credit => "credit",
        }
    }

    /// Parses the stored form.
    pub fn parse(text: &str) -> Option<Side> {
        match text {
            "debit" => Some(Side::Debit),
            "credit" => Some(Side::Credit),
            _ => None,
        }
    }
}

impl AccountKind {
    const ALL: [AccountKind; 8] = [
        AccountKind::ChannelClearing,
        AccountKind::CustomerFunds,
        AccountKind::PremiumIncome,
        AccountKind::ClaimsExpense,
        AccountKind::ClaimsPayable,
        AccountKind::RefundsPayable,
        AccountKind::OutboundInFlight,
        AccountKind::ChannelFees,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            AccountKind::ChannelClearing => "channel_clearing",
            AccountKind::CustomerFunds => "customer_funds",
            AccountKind::PremiumIncome => "premium_income",
            AccountKind::ClaimsExpense => "claims_expense",
            AccountKind::ClaimsPayable => "claims_payable",
            AccountKind::RefundsPayable => "refunds_payable",
            AccountKind::OutboundInFlight => "outbound_in_flight",
            AccountKind::ChannelFees => "channel_fees",
        }
    }

    /// The side on which the balance grows.
    pub fn normal_side(self) -> Side {
        match self {
            AccountKind::ChannelClearing
            | AccountKind::ClaimsExpense
            | AccountKind::ChannelFees => Side::Debit,
            _ => Side::Credit,
        }
    }

    /// Whether the balance (on the normal side) may go below zero.
    pub fn may_go_negative(self) -> bool {
        self == AccountKind::ChannelClearing
    }

    /// Whether each customer has an account of this kind, rather than one for the insurer.
    pub fn per_customer(self) -> bool {
        matches!(
            self,
            AccountKind::CustomerFunds | AccountKind::ClaimsPayable | AccountKind::RefundsPayable
        )
    }
}

/// A ledger account: a kind, and for per-customer kinds the customer (account id) it belongs to.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccountRef {
    kind: AccountKind,
    holder: Option<String>,
}

/// Why an account reference or a transfer is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    /// The account code is not one the ledger knows.
    #[error("unknown ledger account")]
    UnknownAccount,
    /// Debits and credits differ.
    #[error("the transfer is unbalanced: debits {debits_fen} fen, credits {credits_fen} fen")]
    Unbalanced {
        /// Total debits.
        debits_fen: i64,
        /// Total credits.
        credits_fen: i64,
    },
    /// Fewer than two or more than [`TRANSFER_POSTINGS_MAX`] postings.
    #[error("a transfer holds 2 to {TRANSFER_POSTINGS_MAX} postings")]
    PostingCount,
    /// A balance would cross its bound.
    #[error("the balance of {account} would go below zero")]
    BelowBound {
        /// The account, as stored.
        account: String,
    },
}

impl AccountRef {
    /// The insurer's account of a kind that is not per customer.
    pub fn insurer(kind: AccountKind) -> Result<Self, LedgerError> {
        if kind.per_customer() {
            return Err(LedgerError::UnknownAccount);
        }
        Ok(Self { kind, holder: None })
    }

    /// A customer's account of a per-customer kind.
    pub fn customer(kind: AccountKind, customer: &str) -> Result<Self, LedgerError> {
        if !kind.per_customer() || customer.is_empty() || customer.contains(':') {
            return Err(LedgerError::UnknownAccount);
        }
        Ok(Self {
            kind,
            holder: Some(customer.to_string()),
        })
    }

    /// Parses the stored code: `premium_income` or `claims_payable:<customer>`.
    pub fn parse(code: &str) -> Result<Self, LedgerError> {
        let (name, holder) = match code.split_once(':') {
            Some((name, holder)) => (name, Some(holder)),
            None => (code, None),
        };
        let kind = AccountKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == name)
            .ok_or(LedgerError::UnknownAccount)?;
        match holder {
            Some(holder) => Self::customer(kind, holder),
            None => Self::insurer(kind),
        }
    }

    /// The stored code.
    pub fn code(&self) -> String {
        match &self.holder {
            Some(holder) => format!("{}:{holder}", self.kind.as_str()),
            None => self.kind.as_str().to_string(),
        }
    }

    /// The kind.
    pub fn kind(&self) -> AccountKind {
        self.kind
    }

    /// The customer, for per-customer accounts.
    pub fn holder(&self) -> Option<&str> {
        self.holder.as_deref()
    }

    /// The change a posting makes to this account's balance (on its normal side).
    pub fn delta_fen(&self, side: Side, amount: Amount) -> i64 {
        if side == self.kind.normal_side() {
            amount.fen()
        } else {
            -amount.fen()
        }
    }

    /// The balance after a change, or the bound it would cross.
    pub fn apply(&self, balance_fen: i64, delta_fen: i64) -> Result<i64, LedgerError> {
        let next = balance_fen + delta_fen;
        if next < 0 && !self.kind.may_go_negative() {
            return Err(LedgerError::BelowBound {
                account: self.code(),
            });
        }
        Ok(next)
    }
}

impl fmt::Debug for AccountRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.code())
    }
}

/// One side of a transfer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posting {
    /// The account.
    pub account: AccountRef,
    /// Debit or credit.
    pub side: Side,
    /// How much.
    pub amount: Amount,
}

/// What a transfer records, stored with it so every entry traces to its business event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LedgerEvent {
    /// A premium came in through the channel and was applied to its instalment.
    PremiumReceived,
    /// Money came in that no instalment needed (a duplicate capture): held for the customer.
    OverpaymentReceived,
    /// A claim was approved.
    ClaimApproved,
    /// A refund of premium was approved (a cancellation).
    PremiumRefundApproved,
    /// A refund of unapplied money was approved (an overpayment).
    OverpaymentRefundApproved,
    /// A payout or refund was handed to the channel; its outcome is not yet known.
    OutboundStarted,
    /// The channel confirmed a payout or refund.
    OutboundSettled,
    /// The channel refused or never made a payout or refund: it goes back where it came from.
    OutboundVoided,
    /// A refund was withdrawn after the channel refused it.
    RefundReversed,
}

impl LedgerEvent {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            LedgerEvent::PremiumReceived => "premium_received",
            LedgerEvent::OverpaymentReceived => "overpayment_received",
            LedgerEvent::ClaimApproved => "claim_approved",
            LedgerEvent::PremiumRefundApproved => "premium_refund_approved",
            LedgerEvent::OverpaymentRefundApproved => "overpayment_refund_approved",
            LedgerEvent::OutboundStarted => "outbound_started",
            LedgerEvent::OutboundSettled => "outbound_settled",
            LedgerEvent::OutboundVoided => "outbound_voided",
            LedgerEvent::RefundReversed => "refund_reversed",
        }
    }
}

/// A balanced group of postings, applied all together or not at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    event: LedgerEvent,
    postings: Vec<Posting>,
}

impl Transfer {
    /// Checks the postings balance and their count is within bounds.
    pub fn new(event: LedgerEvent, postings: Vec<Posting>) -> Result<Self, LedgerError> {
        if !(2..=TRANSFER_POSTINGS_MAX).contains(&postings.len()) {
            return Err(LedgerError::PostingCount);
        }
        let total = |side: Side| -> i64 {
            postings
                .iter()
                .filter(|posting| posting.side == side)
                .map(|posting| posting.amount.fen())
                .sum()
        };
        let (debits_fen, credits_fen) = (total(Side::Debit), total(Side::Credit));
        if debits_fen != credits_fen {
            return Err(LedgerError::Unbalanced {
                debits_fen,
                credits_fen,
            });
        }
        Ok(Self { event, postings })
    }

    /// The business event.
    pub fn event(&self) -> LedgerEvent {
        self.event
    }

    /// The postings, in order.
    pub fn postings(&self) -> &[Posting] {
        &self.postings
    }

    /// A premium received through the channel and applied: it passes through the customer's
    /// account so the customer's statement shows it, and ends as premium income.
    pub fn premium_received(customer: &str, amount: Amount) -> Result<Self, LedgerError> {
        let funds = AccountRef::customer(AccountKind::CustomerFunds, customer)?;
        Self::new(
            LedgerEvent::PremiumReceived,
            vec![
                debit(AccountRef::insurer(AccountKind::ChannelClearing)?, amount),
                credit(funds.clone(), amount),
                debit(funds, amount),
                credit(AccountRef::insurer(AccountKind::PremiumIncome)?, amount),
            ],
        )
    }

    /// Money received that nothing was due for: held in the customer's account until refunded.
    pub fn overpayment_received(customer: &str, amount: Amount) -> Result<Self, LedgerError> {
        Self::new(
            LedgerEvent::OverpaymentReceived,
            vec![
                debit(AccountRef::insurer(AccountKind::ChannelClearing)?, amount),
                credit(
                    AccountRef::customer(AccountKind::CustomerFunds, customer)?,
                    amount,
                ),
            ],
        )
    }

    /// An approved claim becomes a debt to the claimant.
    pub fn claim_approved(customer: &str, amount: Amount) -> Result<Self, LedgerError> {
        Self::new(
            LedgerEvent::ClaimApproved,
            vec![
                debit(AccountRef::insurer(AccountKind::ClaimsExpense)?, amount),
                credit(
                    AccountRef::customer(AccountKind::ClaimsPayable, customer)?,
                    amount,
                ),
            ],
        )
    }

    /// An approved premium refund (a cancellation) reduces premium income.
    pub fn premium_refund_approved(customer: &str, amount: Amount) -> Result<Self, LedgerError> {
        Self::new(
            LedgerEvent::PremiumRefundApproved,
            vec![
                debit(AccountRef::insurer(AccountKind::PremiumIncome)?, amount),
                credit(
                    AccountRef::customer(AccountKind::RefundsPayable, customer)?,
                    amount,
                ),
            ],
        )
    }

    /// An approved refund of unapplied money (an overpayment).
    pub fn overpayment_refund_approved(
        customer: &str,
        amount: Amount,
    ) -> Result<Self, LedgerError> {
        Self::new(
            LedgerEvent::OverpaymentRefundApproved,
            vec![
                debit(
                    AccountRef::customer(AccountKind::CustomerFunds, customer)?,
                    amount,
                ),
                credit(
                    AccountRef::customer(AccountKind::RefundsPayable, customer)?,
                    amount,
                ),
            ],
        )
    }

    /// A payout (from `claims_payable`) or refund (from `refunds_payable`) handed to the
    /// channel: the debt moves to in-flight until the channel's answer is known.
    pub fn outbound_started(from: &AccountRef, amount: Amount) -> Result<Self, LedgerError> {
        Self::outbound_from(from)?;
        Self::new(
            LedgerEvent::OutboundStarted,
            vec![
                debit(from.clone(), amount),
                credit(AccountRef::insurer(AccountKind::OutboundInFlight)?, amount),
            ],
        )
    }

    /// The channel confirmed the payout or refund: the money left the clearing account.
    pub fn outbound_settled(amount: Amount) -> Result<Self, LedgerError> {
        Self::new(
            LedgerEvent::OutboundSettled,
            vec![
                debit(AccountRef::insurer(AccountKind::OutboundInFlight)?, amount),
                credit(AccountRef::insurer(AccountKind::ChannelClearing)?, amount),
            ],
        )
    }

    /// A refund the channel refused is withdrawn: the approval is reversed, so the money is
    /// again premium income (`from_premium`) or again held for the customer. Together with
    /// [`Transfer::outbound_voided`] this undoes the refund entirely (clause 5.3.4).
    pub fn refund_reversed(
        customer: &str,
        from_premium: bool,
        amount: Amount,
    ) -> Result<Self, LedgerError> {
        let back_to = if from_premium {
            AccountRef::insurer(AccountKind::PremiumIncome)?
        } else {
            AccountRef::customer(AccountKind::CustomerFunds, customer)?
        };
        Self::new(
            LedgerEvent::RefundReversed,
            vec![
                debit(
                    AccountRef::customer(AccountKind::RefundsPayable, customer)?,
                    amount,
                ),
                credit(back_to, amount),
            ],
        )
    }

    /// The channel did not move the money: the debt returns to the account it came from
    /// (compensation, clause 5.3.4).
    pub fn outbound_voided(to: &AccountRef, amount: Amount) -> Result<Self, LedgerError> {
        Self::outbound_from(to)?;
        Self::new(
            LedgerEvent::OutboundVoided,
            vec![
                debit(AccountRef::insurer(AccountKind::OutboundInFlight)?, amount),
                credit(to.clone(), amount),
            ],
        )
    }

    fn outbound_from(account: &AccountRef) -> Result<(), LedgerError> {
        match account.kind() {
            AccountKind::ClaimsPayable | AccountKind::RefundsPayable => Ok(()),
            _ => Err(LedgerError::UnknownAccount),
        }
    }
}

fn debit(account: AccountRef, amount: Amount) -> Posting {
    Posting {
        account,
        side: Side::Debit,
        amount,
    }
}

fn credit(account: AccountRef, amount: Amount) -> Posting {
    Posting {
        account,
        side: Side::Credit,
        amount,
    }
}

/// One account's totals as the ledger check reads them from storage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountTotals {
    /// The account code.
    pub code: String,
    /// Sum of its debit entries.
    pub debits_fen: i64,
    /// Sum of its credit entries.
    pub credits_fen: i64,
    /// The balance kept on the account row.
    pub balance_fen: i64,
}

/// What the ledger check found wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Discrepancy {
    /// Total debits and credits differ across the ledger.
    Unbalanced {
        /// Σ debits.
        debits_fen: i64,
        /// Σ credits.
        credits_fen: i64,
    },
    /// An account's kept balance is not the sum of its entries.
    BalanceMismatch {
        /// The account.
        code: String,
        /// What the entries add up to.
        entries_fen: i64,
        /// What the account row says.
        balance_fen: i64,
    },
    /// A balance is past its bound.
    BelowBound {
        /// The account.
        code: String,
    },
    /// An account code the ledger does not know.
    UnknownAccount {
        /// The code.
        code: String,
    },
}

/// Proves Σdebits = Σcredits and that every kept balance equals the sum of its entries and
/// respects its bound; returns every discrepancy found (empty when the ledger is sound).
pub fn check_ledger(accounts: &[AccountTotals]) -> Vec<Discrepancy> {
    let mut found = Vec::new();
    let debits_fen: i64 = accounts.iter().map(|account| account.debits_fen).sum();
    let credits_fen: i64 = accounts.iter().map(|account| account.credits_fen).sum();
    if debits_fen != credits_fen {
        found.push(Discrepancy::Unbalanced {
            debits_fen,
            credits_fen,
        });
    }
    for account in accounts {
        let Ok(reference) = AccountRef::parse(&account.code) else {
            found.push(Discrepancy::UnknownAccount {
                code: account.code.clone(),
            });
            continue;
        };
        let entries_fen = match reference.kind().normal_side() {
            Side::Debit => account.debits_fen - account.credits_fen,
            Side::Credit => account.credits_fen - account.debits_fen,
        };
        if entries_fen != account.balance_fen {
            found.push(Discrepancy::BalanceMismatch {
                code: account.code.clone(),
                entries_fen,
                balance_fen: account.balance_fen,
            });
        }
        if account.balance_fen < 0 && !reference.kind().may_go_negative() {
            found.push(Discrepancy::BelowBound {
                code: account.code.clone(),
            });
        }
    }
    found
}

/// The total a set of postings moves, per side (for reports).
pub fn side_total(postings: &[Posting], side: Side) -> Money {
    postings
        .iter()
        .filter(|posting| posting.side == side)
        .map(|posting| posting.amount.money())
        .sum::<Option<Money>>()
        .unwrap_or(Money::MAX)
}

#[cfg(test)]
mod tests;
